"""The trial on the calendar as a discrete-event simulation (SimPy; issue 17 groundwork).

The same process as the vectorised twin (:mod:`rplsim.trial.calendar`), event by event: each
centre is a process that opens at its time and then sees randomisable women one by one (the
Poisson-gamma model of :mod:`rplsim.design.accrual`: a Gamma rate per centre, exponential gaps);
each woman is a process that waits for her confirmed pregnancy (``months_to_pregnancy``), is
randomised if the trial still recruits (the next arm of the permuted blocks, in order), and, unless
she drops out, waits for her pregnancy to end; each known outcome may trigger a look
(:func:`rplsim.trial.calendar.look_target`), which analyses the known outcomes, and a stop closes
recruitment; the final look comes with the last randomised woman's outcome. It is the engine to
read, extend (infusion chairs per centre, an event log) and check the twin against: the two are
equal in distribution (tested), the twin is the one for power at scale.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
import simpy

from rplsim._core.rng import SeedLike, child_generator, root_entropy
from rplsim.design.accrual import Accrual, _centre_rates, opening_times
from rplsim.outcome.model import outcome_week
from rplsim.scenario import Scenario, TrialParams
from rplsim.stats.pvalues import Alternative
from rplsim.stats.registry import get_analysis, totals_look
from rplsim.trial.calendar import look_target
from rplsim.trial.formulas import look_decision, treatment_size
from rplsim.trial.randomisation import arm_assignment
from rplsim.trial.recruitment import scenario_accrual
from rplsim.trial.simulation import trial_design

__all__ = ["simulate_calendar_des"]

_WEEKS_PER_YEAR = 365.25 / 7


@dataclass
class _Trial:
    """One trial's state while it runs."""

    n: int
    arms: np.ndarray
    p_control: float
    p_treated: float
    trial: TrialParams
    scenario: Scenario
    g: np.random.Generator
    log: list[tuple[float, str, int, int]] | None
    rand: list[float] = field(default_factory=list)
    treated: list[bool] = field(default_factory=list)
    live: list[bool] = field(default_factory=list)
    seen: list[bool] = field(default_factory=list)
    known: list[float] = field(default_factory=list)
    centre: list[int] = field(default_factory=list)
    outcomes: int = 0
    outstanding: int = 0
    closed: bool = False
    decided: bool = False
    look: int = 0
    good: bool = False
    rejected: bool = False
    stop_time: float = math.nan
    looks: list[dict[str, float]] = field(default_factory=list)


def _centre(
    env: simpy.Environment, t: _Trial, c: int, opens: float, rate: float, delay: float
) -> Generator[Any]:
    yield env.timeout(opens)
    if t.log is not None:
        t.log.append((env.now, "centre opens", c, -1))
    while not t.closed:
        yield env.timeout(t.g.exponential(1.0 / rate))
        if t.closed:
            break
        env.process(_woman(env, t, c, delay))


def _woman(env: simpy.Environment, t: _Trial, c: int, delay: float) -> Generator[Any]:
    if delay > 0:
        yield env.timeout(t.g.exponential(delay))
    if t.closed:
        return
    i = len(t.rand)
    if i + 1 >= t.n:
        t.closed = True  # the last planned woman
    treated = bool(t.arms[i])
    seen = bool(t.g.random() >= t.trial.dropout)
    live = bool(t.g.random() < (t.p_treated if treated else t.p_control))
    conf = t.scenario.protocol.confirmation_week
    conf_week = conf.min + t.g.random() * (conf.max - conf.min)
    week = float(outcome_week(t.scenario.outcome, np.array([live]), np.array([t.g.random()]))[0])
    wait = max(week - conf_week, 0.0) / _WEEKS_PER_YEAR
    t.rand.append(env.now)
    t.treated.append(treated)
    t.live.append(live)
    t.seen.append(seen)
    t.centre.append(c)
    t.known.append(env.now + wait if seen else math.inf)
    if t.log is not None:
        t.log.append((env.now, "randomised", c, i))
    if not seen:
        if t.closed and t.outstanding == 0:
            _final(env, t)
        return
    t.outstanding += 1
    yield env.timeout(wait)
    t.outstanding -= 1
    t.outcomes += 1
    if t.log is not None:
        t.log.append((env.now, "outcome known", c, i))
    if t.decided:
        return
    k = t.trial.looks
    if t.look < k - 1 and t.outcomes >= look_target(t.look, k, t.n, t.trial.dropout):
        _analyse(env, t, final=False)
    if not t.decided and t.closed and t.outstanding == 0:
        _final(env, t)


def _final(env: simpy.Environment, t: _Trial) -> None:
    if not t.decided:
        while t.look < t.trial.looks - 1:  # interim targets never reached (many dropouts)
            _analyse(env, t, final=False)
            if t.decided:
                return
        _analyse(env, t, final=True)


def _analyse(env: simpy.Environment, t: _Trial, *, final: bool) -> None:
    trial, j = t.trial, t.look
    known = np.array(t.known) <= env.now
    data = totals_look(
        known[None, :], np.array(t.treated)[None, :], np.array(t.live)[None, :],
        cast(Alternative, trial.alternative), trial.margin or 0.0,
    )  # fmt: skip
    p, sign = get_analysis(trial.analysis).function(data)
    rejs, favs, futiles = look_decision(
        trial, np.nan_to_num(np.asarray(p, float), nan=1.0), np.asarray(sign, float), j
    )
    rej, futile = bool(rejs[0]), bool(futiles[0])
    randomised = sum(1 for r in t.rand if r <= env.now)
    t.looks.append(
        {
            "years": env.now,
            "randomised": randomised,
            "observed": int(known.sum()),
            "pipeline": int(np.sum((np.array(t.rand) <= env.now) & np.array(t.seen) & ~known)),
        }
    )
    if t.log is not None:
        t.log.append((env.now, f"look {j + 1}", -1, -1))
    t.look += 1
    if rej or futile or final:
        t.decided = True
        t.closed = True
        t.rejected = bool(rej)
        t.good = bool(favs[0])
        t.stop_time = env.now


def _one_trial(
    scenario: Scenario, accrual: Accrual, n_c: int, n_t: int, p: tuple[float, float], g: np.random.Generator,
    log: list[tuple[float, str, int, int]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    trial = scenario.require_trial()
    n = n_c + n_t
    c = accrual.centres
    rates = _centre_rates(accrual, (c,), g)
    arms = arm_assignment(g, 1, n, n_t / n_c, trial.block_size)[0]
    t = _Trial(n=n, arms=arms, p_control=p[0], p_treated=p[1], trial=trial, scenario=scenario, g=g, log=log)
    env = simpy.Environment()
    for k, (opens, rate) in enumerate(zip(opening_times(c, accrual.activation), rates, strict=True)):
        env.process(_centre(env, t, k, float(opens), float(rate), accrual.delay))
    env.run()
    rand = np.array(t.rand)
    randomised = int(np.sum(rand <= t.stop_time)) if t.rand else 0
    seen = np.array(t.seen[:randomised])
    known = np.array(t.known[:randomised])
    out: dict[str, Any] = {
        "good": t.good, "any": t.rejected, "stopped_at_look": t.look, "duration_years": t.stop_time,
        "recruitment_years": float(rand[randomised - 1] - rand[0]) if randomised else 0.0,
        "randomised": randomised, "analysed": int(seen.sum()),
        "overrun": int(np.sum(seen & (known > t.stop_time))),
    }  # fmt: skip
    for k, look in enumerate(t.looks):
        out.update({f"look{k + 1}_{key}": v for key, v in look.items()})
    return out


def simulate_calendar_des(
    scenario: Scenario,
    n_per_arm: int,
    replicates: int,
    seed: SeedLike = None,
    *,
    null: bool = False,
    log: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate ``replicates`` trials on the calendar, event by event (see the module doc).

    Parameters
    ----------
    scenario : Scenario
    n_per_arm : int
        Randomised control women.
    replicates : int
        Trials (each its own stream: trial ``i`` is the same whatever ``replicates``).
    seed : int, optional
        Root seed (default the scenario's).
    null : bool, default False
        Both arms at the control rate (the type-I error).
    log : bool, default False
        Also return the event log of the first trial (``years, event, centre, woman``).

    Returns
    -------
    pandas.DataFrame, or (DataFrame, DataFrame) with ``log``
        One row per trial with the columns of :attr:`rplsim.CalendarResult.trials` (``good``:
        rejected in favour of IVIG; ``any``: rejected at all).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> sc = load_scenario("scenarios/multicentre.toml")
    >>> trials, events = simulate_calendar_des(sc, 84, 5, log=True)
    >>> len(trials), events.event.iloc[0], int((events.event == "randomised").sum()) >= 84
    (5, 'centre opens', True)
    """
    trial = scenario.require_trial()
    n_t = treatment_size(trial, n_per_arm)
    design = trial_design(scenario)
    p_c, p_h1, p_0 = design.marginal_rates()
    p_t = p_0 if null else p_h1
    accrual = scenario_accrual(scenario)
    entropy = root_entropy(scenario.seed if seed is None else seed)
    rows = []
    events: list[tuple[float, str, int, int]] | None = [] if log else None
    for i in range(int(replicates)):
        g = child_generator(entropy, "trial-calendar-des", i)
        first_log = events if i == 0 else None
        rows.append(_one_trial(scenario, accrual, n_per_arm, n_t, (p_c, p_t), g, first_log))
    trials = pd.DataFrame(rows)
    if events is None:
        return trials
    return trials, pd.DataFrame(events, columns=["years", "event", "centre", "woman"])
