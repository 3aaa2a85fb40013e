"""The trial on the calendar as a discrete-event simulation (SimPy).

The same process as the vectorised twin (:mod:`rplsim.trial.calendar`), event by event, with the
screening and the clinic the twin folds into rates:

* **centres** are processes (the recruitment model's arrival source,
  :func:`rplsim.design.accrual.arrival_source`): each opens at its time
  (:func:`~rplsim.design.accrual.opening_times`) and then sees RPL women at its own rate (a Gamma
  draw around ``recruitment.rpl_women_per_centre_year``, exponential gaps), until recruitment closes;
* **each woman seen** is drawn from the scenario's cohort model (every stratum, in its shares) and
  screened one by one: she completes the work-up (``workup_share``), is eligible by her own stratum
  and previous losses (the trial's population), consents (``consent_share``) and conceives
  (``pregnancy_share``), then waits for her confirmed index pregnancy (exponential,
  ``months_to_pregnancy``);
* **randomisation** is central, not by centre: the next arm of one permuted-block list (the trial's
  allocation and ``block_size``) in the order women are randomised, whatever their centre (the
  analysis is not stratified by centre, and per-centre blocks of 4 at about 15 women a centre would
  leave most centres with an incomplete last block);
* **her pregnancy**: she drops out with probability ``trial.dropout`` (no outcome, treated anyway),
  else her live birth is Bernoulli at her own probability (her covariates through the outcome
  model, plus her arm's log-odds shift: :func:`rplsim.trial.simulation.eligible_log_odds`), known
  when the pregnancy ends (``outcome.live_birth_week`` / ``miscarriage_week``);
* **her infusions** (both arms: the placebo arm is infused on the same schedule, blind) start
  ``protocol.first_dose_delay`` after confirmation and come every ``protocol.ivig_interval`` weeks
  until the pregnancy ends or ``protocol.ivig_last_week``; each needs one of her centre's infusion
  chairs (a SimPy resource of ``clinic.chairs``, for ``clinic.infusion_hours``), so waits emerge,
  and a wait that outlasts the pregnancy or the last week cancels the rest of her course;
* **looks** come as the women's outcome windows close (:func:`rplsim.trial.calendar.window_closes`,
  :func:`~rplsim.trial.calendar.look_target`) and analyse those women; a stop closes recruitment;
  the final look comes with the last randomised woman's outcome, on every outcome.

ASSUMPTIONS (each centre's chairs serve only the trial's women; a woman lost to follow-up is
infused until her pregnancy ends) are the twin's too. With chairs to spare the two engines are
equal in distribution (tested); the twin is the one for power at scale, this one for reading,
for the chairs, and for the event log of one trial.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import simpy
from scipy import special

from rplsim._core.rng import SeedLike, child_generator, child_seed, root_entropy
from rplsim.cohort.generate import BLOCK, cohort_arrays, weight_kg
from rplsim.design.accrual import Accrual, _centre_rates, arrival_source, opening_times
from rplsim.outcome.model import outcome_week
from rplsim.scenario import STRATA, Scenario, TrialParams
from rplsim.stats.registry import get_analysis
from rplsim.timeline.twin import ivig_dose
from rplsim.trial.calendar import (
    CalendarWomen,
    _intervals_needed,
    calendar_look,
    look_target,
    strata_index,
    window_closes,
)
from rplsim.trial.formulas import look_decision, treatment_size
from rplsim.trial.randomisation import arm_assignment
from rplsim.trial.recruitment import scenario_accrual
from rplsim.trial.simulation import TrialDesign, eligible_log_odds, trial_design

__all__ = ["simulate_calendar_des"]

_WEEKS_PER_YEAR = 365.25 / 7
_HOURS_PER_YEAR = 365.25 * 24


class _Seen:
    """The women a trial's centres see, drawn from the cohort model a block at a time."""

    def __init__(self, scenario: Scenario, design: TrialDesign, entropy: int, index: int) -> None:
        self.scenario, self.entropy, self.index = scenario, entropy, index
        self.codes = [STRATA.index(s) for s in design.strata]
        self.min_misc = design.min_misc
        self.lut = strata_index(design.strata)
        self.eligible = np.zeros(0, bool)
        self.eta = np.zeros(0)
        self.dose = np.zeros(0)
        self.stratum = np.zeros(0, np.int64)  # her place among the trial's strata (-1: none)
        self.age = np.zeros(0)
        self.bmi = np.zeros(0)
        self.count = 0

    def next(self) -> int:
        """The next woman seen (her row)."""
        k = self.count
        self.count += 1
        if k >= self.eligible.size:
            block = self.eligible.size // BLOCK
            key = child_seed(self.entropy, "trial-calendar-des-women", self.index, block)
            e = int(key.generate_state(1)[0])
            d = cohort_arrays(self.scenario.cohort, BLOCK, e, full=False)
            ok = np.isin(d["stratum"], self.codes) & (d["previous_miscarriages"] >= self.min_misc)
            dose = ivig_dose(self.scenario.protocol, weight_kg(d["bmi"], d["height_m"]))
            self.eligible = np.concatenate([self.eligible, ok])
            self.eta = np.concatenate([self.eta, eligible_log_odds(self.scenario, d)])
            self.dose = np.concatenate([self.dose, dose])
            self.stratum = np.concatenate([self.stratum, self.lut[d["stratum"]]])
            self.age = np.concatenate([self.age, d["age"]])
            self.bmi = np.concatenate([self.bmi, d["bmi"]])
        return k


@dataclass
class _Trial:
    """One trial's state while it runs."""

    n: int
    arms: np.ndarray
    shifts: tuple[float, float]  # log-odds shift of control, treated
    trial: TrialParams
    scenario: Scenario
    g: np.random.Generator
    women: _Seen
    chairs: list[simpy.Resource]
    log: list[tuple[float, str, int, int, str]] | None
    rand: list[float] = field(default_factory=list)
    treated: list[bool] = field(default_factory=list)
    live: list[bool] = field(default_factory=list)
    seen: list[bool] = field(default_factory=list)
    known: list[float] = field(default_factory=list)
    closes: list[float] = field(default_factory=list)  # outcome window's close (inf: lost)
    centre: list[int] = field(default_factory=list)
    row: list[int] = field(default_factory=list)  # her row among the women seen
    information: int = 0  # women whose outcome window has closed
    outstanding: int = 0
    closed: bool = False
    decided: bool = False
    look: int = 0
    good: bool = False
    rejected: bool = False
    stop_time: float = math.nan
    looks: list[dict[str, float]] = field(default_factory=list)
    ivig_infusions: int = 0
    placebo_infusions: int = 0
    ivig_grams: float = 0.0
    wait_hours: float = 0.0
    max_wait_hours: float = 0.0


def _arrive(env: simpy.Environment, t: _Trial, c: int, delay: float) -> None:
    """A woman seen at centre ``c``: drawn from the cohort, screened, and if she passes, her process."""
    rec, g = t.scenario.recruitment, t.g
    k = t.women.next()
    if g.random() >= rec.workup_share or not t.women.eligible[k]:
        return
    if g.random() >= rec.consent_share or g.random() >= rec.pregnancy_share:
        return
    env.process(_woman(env, t, c, k, delay))


def _woman(env: simpy.Environment, t: _Trial, c: int, k: int, delay: float) -> Generator[Any]:
    if delay > 0:
        yield env.timeout(t.g.exponential(delay))
    if t.closed:
        return
    i = len(t.rand)
    if i + 1 >= t.n:
        t.closed = True  # the last planned woman
    treated = bool(t.arms[i])
    g, sc = t.g, t.scenario
    seen = bool(g.random() >= t.trial.dropout)
    live = bool(g.random() < special.expit(t.women.eta[k] + t.shifts[int(treated)]))
    conf, first = sc.protocol.confirmation_week, sc.protocol.first_dose_delay
    conf_week = conf.min + g.random() * (conf.max - conf.min)
    end = float(outcome_week(sc.outcome, np.array([live]), np.array([g.random()]))[0])
    wait = max(end - conf_week, 0.0) / _WEEKS_PER_YEAR
    first_week = conf_week + first.min + g.random() * (first.max - first.min)
    t.rand.append(env.now)
    t.treated.append(treated)
    t.live.append(live)
    t.seen.append(seen)
    t.centre.append(c)
    t.row.append(k)
    t.known.append(env.now + wait if seen else math.inf)
    closes = float(window_closes(sc, np.array(env.now), np.array(conf_week)))
    t.closes.append(closes if seen else math.inf)
    if t.log is not None:
        t.log.append((env.now, "randomised", c, i, "IVIG" if treated else "placebo"))
        if i + 1 >= t.n:
            t.log.append((env.now, "recruitment closes", -1, -1, "all planned women randomised"))
    dose = float(t.women.dose[k]) if treated else 0.0
    env.process(_infusions(env, t, c, i, (conf_week, first_week, end), dose))
    if not seen:
        if t.closed and t.outstanding == 0:
            _final(env, t)
        return
    env.process(_window(env, t, closes))
    t.outstanding += 1
    yield env.timeout(wait)
    t.outstanding -= 1
    if t.log is not None:
        t.log.append((env.now, "outcome known", c, i, "live birth" if live else "loss"))
    if not t.decided and t.closed and t.outstanding == 0:
        _final(env, t)


def _window(env: simpy.Environment, t: _Trial, closes: float) -> Generator[Any]:
    """Her outcome window closes: one more woman of information, perhaps an interim look."""
    yield env.timeout(max(closes - env.now, 0.0))
    if t.decided:
        return
    t.information += 1
    looks = t.trial.looks
    # while: two looks with one target (fewer planned outcomes than looks) come together
    while not t.decided and t.look < looks - 1:
        if t.information < look_target(t.look, looks, t.n, t.trial.dropout):
            break
        _analyse(env, t, final=False)


def _infusions(
    env: simpy.Environment, t: _Trial, c: int, i: int, weeks: tuple[float, float, float], dose: float
) -> Generator[Any]:
    """Her course, each infusion waiting for a chair at her centre (the timeline's rule)."""
    prot, clinic = t.scenario.protocol, t.scenario.clinic
    conf_week, first, end = weeks
    start = env.now  # randomised at confirmation: gestational week conf_week
    last = prot.ivig_last_week + 1e-12
    lo, width = prot.ivig_interval.min, prot.ivig_interval.max - prot.ivig_interval.min
    u_iv = t.g.random(_intervals_needed(t.scenario)).tolist()
    duration = clinic.infusion_hours / _HOURS_PER_YEAR
    nxt, cum, delay, j = first, 0.0, 0.0, 0
    while nxt < end and nxt <= last:
        yield env.timeout(max(start + (nxt - conf_week) / _WEEKS_PER_YEAR - env.now, 0.0))
        asked = env.now
        with t.chairs[c].request() as req:
            yield req
            w = (env.now - asked) * _WEEKS_PER_YEAR
            if nxt + w >= end or nxt + w > last:  # the pregnancy or the last week passed meanwhile
                break
            t.wait_hours += w * 168.0
            t.max_wait_hours = max(t.max_wait_hours, w * 168.0)
            yield env.timeout(duration)
        if dose > 0:
            t.ivig_infusions += 1
            t.ivig_grams += dose
        else:
            t.placebo_infusions += 1
        if t.log is not None:
            t.log.append((env.now, "infusion", c, i, "IVIG" if dose > 0 else "placebo"))
        if j == len(u_iv):
            break
        cum += lo + u_iv[j] * width
        delay += w
        nxt = first + cum + delay
        j += 1


def _final(env: simpy.Environment, t: _Trial) -> None:
    """Every outcome is known: the looks not yet taken (their windows would close later), then
    the final one, all on the complete data."""
    if not t.decided:
        while t.look < t.trial.looks - 1:
            _analyse(env, t, final=False, complete=True)
            if t.decided:
                return
        _analyse(env, t, final=True, complete=True)


def _analyse(env: simpy.Environment, t: _Trial, *, final: bool, complete: bool = False) -> None:
    trial, j = t.trial, t.look
    # an interim analyses the women whose outcome window has closed (window_closes says why)
    analysed = np.array(t.known if complete else t.closes) <= env.now
    rows, w = np.array(t.row), t.women
    women = CalendarWomen(
        strata=w.stratum[rows][None, :],
        n_strata=len(w.codes),
        age=w.age[rows][None, :],
        bmi=w.bmi[rows][None, :],
    )
    data = calendar_look(
        trial, analysed[None, :], np.array(t.treated)[None, :], np.array(t.live)[None, :], women
    )
    p, sign = get_analysis(trial.analysis).function(data)
    rejs, favs, futiles = look_decision(
        trial, np.nan_to_num(np.asarray(p, float), nan=1.0), np.asarray(sign, float), j
    )
    rej, futile = bool(rejs[0]), bool(futiles[0])
    randomised = sum(1 for r in t.rand if r <= env.now)
    known_t = np.array(t.known)
    seen_by = np.array(t.seen) & (np.array(t.rand) <= env.now)
    t.looks.append(
        {
            "years": env.now,
            "randomised": randomised,
            "observed": int(analysed.sum()),
            "pipeline": int(np.sum(seen_by & (known_t > env.now))),
            "waiting": int(np.sum(seen_by & (known_t <= env.now) & ~analysed)),
        }
    )
    t.look += 1
    if t.log is not None:
        verdict = "rejects H0" if rej else "futile" if futile else "final" if final else "continues"
        t.log.append((env.now, f"look {j + 1}", -1, -1, verdict))
    if (rej or futile or final) and t.log is not None and not t.closed:
        t.log.append((env.now, "recruitment closes", -1, -1, "stopped at the look"))
    if rej or futile or final:
        t.decided = True
        t.closed = True
        t.rejected = bool(rej)
        t.good = bool(favs[0])
        t.stop_time = env.now


def _arrival(env: simpy.Environment, t: _Trial, c: int, delay: float) -> Callable[[int], None]:
    """What centre ``c``'s arrival source calls for each woman it sees."""

    def arrive(_i: int) -> None:
        _arrive(env, t, c, delay)

    return arrive


def _gaps(g: np.random.Generator, rate: float) -> Generator[float]:
    """Exponential gaps of one centre's women seen, drawn as the centre needs them."""
    while True:
        yield float(g.exponential(1.0 / rate))


def _one_trial(
    scenario: Scenario, accrual: Accrual, n_c: int, n_t: int, shifts: tuple[float, float],
    keys: tuple[int, int], log: list[tuple[float, str, int, int, str]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    trial = scenario.require_trial()
    entropy, index = keys
    g = child_generator(entropy, "trial-calendar-des", index)
    n = n_c + n_t
    c = accrual.centres
    rates = _centre_rates(accrual, (c,), g, seen=True)  # women seen: screened one by one below
    arms = arm_assignment(g, 1, n, n_t / n_c, trial.block_size)[0]
    env = simpy.Environment()
    chairs = [simpy.Resource(env, capacity=scenario.clinic.chairs) for _ in range(c)]
    women = _Seen(scenario, trial_design(scenario), entropy, index)
    t = _Trial(n, arms, shifts, trial, scenario, g, women, chairs, log)
    for k, (opens, rate) in enumerate(zip(opening_times(c, accrual.activation), rates, strict=True)):
        if log is not None:
            log.append((float(opens), "centre opens", k, -1, ""))
        env.process(
            arrival_source(env, _gaps(g, float(rate)), _arrival(env, t, k, accrual.delay), opens=float(opens),
                           closed=lambda: t.closed)
        )  # fmt: skip
    env.run()
    if log is not None:
        log.sort(key=lambda row: row[0])
    rand = np.array(t.rand)
    randomised = int(np.sum(rand <= t.stop_time)) if t.rand else 0
    seen = np.array(t.seen[:randomised])
    known = np.array(t.known[:randomised])
    infusions = t.ivig_infusions + t.placebo_infusions
    out: dict[str, Any] = {
        "good": t.good, "any": t.rejected, "rejected": t.good, "stopped_at_look": t.look,
        "duration_years": t.stop_time,
        "recruitment_years": float(rand[randomised - 1] - rand[0]) if randomised else 0.0,
        "recruitment_end_years": float(rand[randomised - 1]) if randomised else 0.0,
        "randomised": randomised, "analysed": int(seen.sum()),
        "overrun": int(np.sum(seen & (known > t.stop_time))),
        "ivig_infusions": t.ivig_infusions, "placebo_infusions": t.placebo_infusions,
        "ivig_grams": t.ivig_grams, "ivig_cost": t.ivig_grams * scenario.clinic.ivig_price_per_g,
        "women_seen": women.count,
        "chair_wait_hours": t.wait_hours / infusions if infusions else 0.0,
        "chair_wait_hours_max": t.max_wait_hours,
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
        Also return the event log of the first trial (``years, event, centre, woman, detail``:
        centre opens; randomised, infusion (detail the arm); outcome known (live birth or
        loss); look k (rejects H0, futile, continues, final); recruitment closes; centre and
        woman -1 where none), in time order.

    Returns
    -------
    pandas.DataFrame, or (DataFrame, DataFrame) with ``log``
        One row per trial with the columns of :attr:`rplsim.CalendarResult.trials` (``rejected``
        and ``good``: rejected in favour of IVIG; ``any``: rejected at all), and ``women_seen``,
        ``chair_wait_hours`` (mean a infusion) and ``chair_wait_hours_max``.

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
    shifts = (design.shift_control, design.shift_null if null else design.shift_treatment)
    accrual = scenario_accrual(scenario)
    entropy = root_entropy(scenario.seed if seed is None else seed)
    rows = []
    events: list[tuple[float, str, int, int, str]] | None = [] if log else None
    for i in range(int(replicates)):
        first_log = events if i == 0 else None
        rows.append(_one_trial(scenario, accrual, n_per_arm, n_t, shifts, (entropy, i), first_log))
    trials = pd.DataFrame(rows)
    if events is None:
        return trials
    return trials, pd.DataFrame(events, columns=["years", "event", "centre", "woman", "detail"])
