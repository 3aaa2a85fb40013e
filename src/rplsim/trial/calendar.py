"""The trial on the calendar, vectorised: the twin of the SimPy engine (:mod:`rplsim.trial.calendar_des`).

Each simulated trial randomises its planned women in the order the multi-centre recruitment model
(:mod:`rplsim.design.accrual`, the scenario's ``[recruitment]`` as
:func:`rplsim.trial.recruitment.scenario_accrual` reads it) brings them, at their confirmed index
pregnancy. The women seen at the centres are screened one by one in the SimPy engine; here the
screening is the thinning it amounts to (a Poisson process thinned by independent screens is a
Poisson process at the randomised share of the rate, and the women who pass are i.i.d. from the
cohort model given eligibility): each randomised woman is drawn from the scenario's cohort model
given the trial's eligibility (:func:`rplsim.trial.simulation.eligible_arrays`: strata, previous
losses, immune profile, age, BMI, height), so her live-birth probability is her own (the outcome
model's covariates plus her arm's log-odds shift, as on the patient path) and so is her IVIG dose
(``protocol.ivig_dose_g_per_kg`` times her weight). Arms come from one central permuted-block list
(the trial's allocation and ``block_size``) in randomisation order, not by centre. A woman drops
out with probability ``trial.dropout`` (no outcome ever); her outcome is known when the pregnancy
ends: at ``outcome.live_birth_week`` for a live birth, ``outcome.miscarriage_week`` otherwise,
after randomisation at ``protocol.confirmation_week`` (about 8 months for a birth).

**Treatment**: every randomised woman is infused on the protocol's schedule (the placebo arm
too, blind): the first infusion ``protocol.first_dose_delay`` after confirmation (a trial that
randomises at a confirmed pregnancy cannot dose at oocyte retrieval, as the paper's IVF women
were), then every ``protocol.ivig_interval`` weeks while the pregnancy lasts and up to
``protocol.ivig_last_week`` (:func:`rplsim.timeline.twin.count_infusions`, the timeline's rule).
ASSUMPTION: a woman lost to follow-up is infused until her pregnancy ends. Each trial reports its
IVIG infusions, grams and cost (``clinic.ivig_price_per_g``) and its placebo infusions; infusion
chairs do not bind here (the SimPy engine queues for them).

**Looks by information, on complete outcome windows**: a woman's window closes when her
pregnancy has surely ended (:func:`window_closes`); look ``k`` of ``K`` comes when ``ceil(k M /
K)`` windows have closed, ``M`` the planned outcomes ``ceil(N (1 - dropout))`` (:func:`look_target`),
and the analysis (the scenario's, at the boundaries and futility of
:func:`rplsim.trial.formulas.look_thresholds` and :func:`~rplsim.trial.formulas.futility_levels`)
reads those women. At a look the randomised women are the analysed (``observed``), those still
pregnant (``pipeline``), those whose outcome is known but whose window is open (``waiting``) and
those lost to follow-up. Recruitment goes on during the looks; a trial that stops randomises nobody
after the look, and its women still pregnant then are followed to their outcome (the overrun). The
final look comes when the last randomised woman's outcome is known (or her randomisation, if she is
lost), on every outcome. The H1 and null trials share every
draw but the treated women's outcomes (common random numbers).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import special

from rplsim._core.display import Displayed
from rplsim._core.rng import SeedLike, child_generator, child_seed, root_entropy
from rplsim._core.validation import check_integer
from rplsim.cohort.generate import weight_kg
from rplsim.design.accrual import Accrual, simulate_randomisation_times
from rplsim.exceptions import InvalidArgumentError
from rplsim.outcome.model import outcome_week
from rplsim.scenario import STRATA, Scenario, TrialParams
from rplsim.stats.pvalues import Alternative
from rplsim.stats.registry import LookData, get_analysis, totals_look
from rplsim.timeline.twin import count_infusions, ivig_dose
from rplsim.trial.formulas import analytic_n_per_arm, look_decision, treatment_size
from rplsim.trial.pool import cap_workers, map_block_chunks
from rplsim.trial.power import wilson_interval
from rplsim.trial.randomisation import arm_assignment
from rplsim.trial.recruitment import scenario_accrual
from rplsim.trial.simulation import REPLICATE_BLOCK, eligible_arrays, eligible_log_odds, trial_design

__all__ = [
    "SAMPLE_TRIALS",
    "CalendarResult",
    "CalendarWomen",
    "calendar_applies",
    "calendar_blocks",
    "calendar_look",
    "look_target",
    "simulate_calendar",
    "strata_index",
    "window_closes",
]

_WEEKS_PER_YEAR = 365.25 / 7
#: Trials whose whole calendar a :class:`CalendarResult` keeps (for the recruitment picture).
SAMPLE_TRIALS = 400


@dataclass(frozen=True, repr=False)
class CalendarResult(Displayed):
    """Operating characteristics of the trial on the calendar (:func:`simulate_calendar`).

    Attributes
    ----------
    power, power_ci, type1_error, type1_ci
        Rejections in favour of IVIG under H1, any rejection under H0, with Wilson 95% CIs.
    n_control, n_treatment : int
        Planned randomised women per arm.
    replicates : int
    trials : pandas.DataFrame
        One row per simulated trial under H1: ``recruitment_years`` (first randomisation to the
        last), ``recruitment_end_years`` (start to the last randomisation: what
        :func:`rplsim.find_centres` counts), ``duration_years`` (start to the deciding analysis),
        ``randomised``, ``analysed`` (women with an outcome, the overrun's included), ``overrun``
        (randomised without an outcome at a stop), ``stopped_at_look``, ``rejected`` and per look
        ``look{k}_years``, ``look{k}_randomised``, ``look{k}_observed`` (analysed),
        ``look{k}_pipeline`` (still pregnant), ``look{k}_waiting`` (outcome known, window open; NaN
        for a look a stopped trial never reaches), and the trial's
        ``ivig_infusions``, ``placebo_infusions``, ``ivig_grams`` and ``ivig_cost``.
    seconds : float
    randomised_times, known_times : numpy.ndarray
        The first trials' (up to :data:`SAMPLE_TRIALS`) randomisation and outcome-known times in
        years, (S, N) in randomisation order (``inf``: no outcome, or not randomised: a trial
        that stopped randomises nobody after its look), for the recruitment picture.
    accrual : Accrual
        The recruitment model the trials were drawn from.

    Examples
    --------
    >>> from rplsim import load_scenario, simulate_calendar
    >>> res = simulate_calendar(load_scenario("scenarios/futility.toml"), replicates=1024)
    >>> res.n_control, "look2_pipeline" in res.to_frame().columns
    (94, True)
    """

    power: float
    power_ci: tuple[float, float]
    type1_error: float
    type1_ci: tuple[float, float]
    n_control: int
    n_treatment: int
    replicates: int
    trials: pd.DataFrame
    seconds: float
    randomised_times: np.ndarray | None = None
    known_times: np.ndarray | None = None
    accrual: Accrual | None = None

    @property
    def years_to_recruit(self) -> tuple[float, float]:
        """Median and 90th percentile of the years from the first centre's opening to the last
        randomisation (``recruitment_end_years``; a trial stopped at a look recruits no more):
        the one figure for how long recruitment takes that the report and protocol give."""
        t = self.trials.recruitment_end_years
        return float(t.median()), float(t.quantile(0.9))

    def overrun_by_look(self) -> list[float]:
        """Mean overrun of the trials that stop at each look: the women randomised but still
        pregnant that a stop there leaves to follow up (NaN where no trial stops; 0 at the last)."""
        t = self.trials
        k = sum(1 for c in t.columns if c.endswith("_pipeline"))
        stops = [t.stopped_at_look == j for j in range(1, k + 1)]
        return [float(t.overrun[s].mean()) if s.any() else math.nan for s in stops]

    def summary_table(self) -> pd.DataFrame:
        """``calendar.csv``: quantiles of recruitment and duration, expected randomised, analysed
        and overrun, IVIG and placebo infusions, IVIG grams and cost, and per look its time, women
        randomised, observed and in the pipeline, P(stopping there) and the overrun of a trial
        that stops there, with power and type-I error (``quantity, value``)."""
        t = self.trials
        rows: list[tuple[str, float]] = [("power", self.power), ("type1_error", self.type1_error)]
        for col in ("recruitment_years", "recruitment_end_years", "duration_years"):
            rows += [(f"{col}_q{q}", float(np.quantile(t[col], q / 100))) for q in (10, 50, 90)]
            rows.append((f"{col}_mean", float(t[col].mean())))
        rows += [(f"{c}_mean", float(t[c].mean())) for c in ("randomised", "analysed", "overrun")]
        rows += [
            (f"{c}_mean", float(t[c].mean()))
            for c in ("ivig_infusions", "placebo_infusions", "ivig_grams", "ivig_cost")
            if c in t
        ]
        k = sum(1 for c in t.columns if c.endswith("_pipeline"))
        for j in range(1, k + 1):
            rows += [
                (f"look{j}_years_median", float(t[f"look{j}_years"].median())),
                (f"look{j}_randomised_mean", float(t[f"look{j}_randomised"].mean())),
                (f"look{j}_observed_mean", float(t[f"look{j}_observed"].mean())),
                (f"look{j}_pipeline_mean", float(t[f"look{j}_pipeline"].mean())),
                (f"look{j}_waiting_mean", float(t[f"look{j}_waiting"].mean())),
                (f"look{j}_stop_probability", float(np.mean(t.stopped_at_look == j))),
                (f"look{j}_overrun_mean", self.overrun_by_look()[j - 1]),
            ]
        return pd.DataFrame(rows, columns=["quantity", "value"])

    def _display_title(self) -> str:
        return f"The trial on the calendar ({self.replicates:,} simulated trials)"

    def _display_rows(self) -> list[tuple[str, str]]:
        t = self.trials
        return [
            ("power", f"{self.power:.4f} (95% CI {self.power_ci[0]:.4f}-{self.power_ci[1]:.4f})"),
            ("type-I error", f"{self.type1_error:.4f}"),
            ("recruitment", f"median {t.recruitment_years.median():.2f} years"),
            ("duration", f"median {t.duration_years.median():.2f} years to the deciding analysis"),
            (
                "IVIG",
                f"{t.ivig_grams.mean() / 1000:,.1f} kg in {t.ivig_infusions.mean():,.0f} infusions a trial "
                f"(mean), {t.placebo_infusions.mean():,.0f} placebo infusions",
            ),
        ]

    def to_frame(self) -> pd.DataFrame:
        """The per-trial table."""
        return self.trials


def look_target(j: int, looks: int, n: int, dropout: float) -> int:
    """Outcomes known at interim look ``j`` (0-based): the ``(j + 1) / looks`` fraction of the
    planned outcomes, ``ceil(n (1 - dropout))`` (a trial with fewer outcomes than that looks when
    its last one is known).

    Examples
    --------
    >>> [look_target(j, 3, 168, 0.1) for j in range(2)]
    [51, 102]
    """
    planned = math.ceil(n * (1 - dropout) - 1e-9)
    return max(1, math.ceil((j + 1) * planned / looks - 1e-9))


def calendar_applies(scenario: Scenario) -> bool:
    """Whether ``rplsim run`` puts the scenario's trial on the calendar: more than one centre, or
    centres that vary, open over time or wait for a pregnancy (one centre at once is the paper's
    setting, whose years ``feasibility`` already gives). Not for a re-estimation design, whose n
    depends on its pilot (:func:`simulate_calendar` says so)."""
    rec = scenario.recruitment
    return (
        scenario.trial is not None
        and scenario.trial.reestimation is None
        and (
            rec.centres > 1
            or rec.months_to_pregnancy > 0
            or rec.activation_months > 0
            or rec.centre_rate_cv > 0
        )
    )


def calendar_blocks(
    scenario: Scenario, accrual: Accrual, n_c: int, n_t: int, blocks: list[int], entropy: int
) -> dict[str, np.ndarray]:
    """The calendar trials of ``blocks`` (keyed streams of :data:`REPLICATE_BLOCK` trials each):
    per-trial arrays, H1 and (suffix ``0``) the null."""
    parts: dict[str, list[np.ndarray]] = {}
    for b in blocks:
        for k, v in _block(scenario, accrual, n_c, n_t, b, entropy).items():
            parts.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in parts.items()}


def strata_index(strata: tuple[str, ...]) -> np.ndarray:
    """Each cohort stratum code's place among the trial's ``strata`` (-1: not eligible).

    Examples
    --------
    >>> strata_index(("KA", "IA")).tolist()
    [-1, 0, -1, 1]
    """
    lut = np.full(len(STRATA), -1, np.int64)
    lut[[STRATA.index(s) for s in strata]] = np.arange(len(strata))
    return lut


@dataclass(frozen=True)
class CalendarWomen:
    """The randomised women's own data a look may need, (R, N) arrays in randomisation order:
    each one's eligible stratum (0 to ``n_strata - 1``, the order of the trial's strata; CMH), and
    her age and BMI (the logistic analysis's covariates)."""

    strata: np.ndarray
    n_strata: int
    age: np.ndarray
    bmi: np.ndarray

    @classmethod
    def of(cls, scenario: Scenario, w: dict[str, np.ndarray], shape: tuple[int, int]) -> CalendarWomen:
        """From cohort arrays (:func:`~rplsim.trial.simulation.eligible_arrays` draws)."""
        strata = trial_design(scenario).strata
        return cls(
            strata=strata_index(strata)[w["stratum"]].reshape(shape), n_strata=len(strata),
            age=np.asarray(w["age"], float).reshape(shape), bmi=np.asarray(w["bmi"], float).reshape(shape),
        )  # fmt: skip


def calendar_look(
    trial: TrialParams, obs: np.ndarray, treated: np.ndarray, live: np.ndarray, women: CalendarWomen
) -> LookData:
    """One look of calendar trials (R, N): the women analysed at it (``obs``: complete windows, or
    every outcome at the final look), their arms and outcomes, per eligible stratum, with the
    patient data (design matrix ``1, treated, age, BMI`` centred on the trials' means: the
    treatment's test does not depend on the centring) when the analysis needs them. The one
    builder both engines use."""
    analysis = get_analysis(trial.analysis)
    patients: dict[str, np.ndarray] = {}
    if analysis.path == "patients":
        age, bmi = women.age, women.bmi
        X = np.stack([np.ones_like(age), treated.astype(float), age - age.mean(), bmi - bmi.mean()], axis=2)
        patients = {"X": X, "y": live.astype(float), "mask": ~obs}
    return totals_look(
        obs, treated, live, cast(Alternative, trial.alternative), trial.margin or 0.0,
        strata=women.strata, n_strata=women.n_strata, **patients,
    )  # fmt: skip


def window_closes(scenario: Scenario, rand: np.ndarray, conf_week: np.ndarray) -> np.ndarray:
    """When each woman's outcome window closes (years): randomised at gestational week
    ``conf_week``, her pregnancy has ended by ``outcome.live_birth_week.max`` whatever its
    outcome. An interim look counts and analyses only the women whose window has closed: the
    outcomes known by then would over-represent losses (known at about 9 weeks) against births
    (about 38), and bias the arms' rates against a non-inferiority margin."""
    last = scenario.outcome.live_birth_week.max
    out: np.ndarray = rand + np.maximum(last - conf_week, 0.0) / _WEEKS_PER_YEAR
    return out


def _intervals_needed(scenario: Scenario) -> int:
    """Infusion intervals a course can hold: from the earliest first dose to the last week."""
    prot = scenario.protocol
    earliest = prot.confirmation_week.min + prot.first_dose_delay.min
    return max(1, min(60, math.ceil((prot.ivig_last_week - earliest) / prot.ivig_interval.min)))


def _block(
    scenario: Scenario, accrual: Accrual, n_c: int, n_t: int, b: int, entropy: int
) -> dict[str, np.ndarray]:
    trial = scenario.require_trial()
    design = trial_design(scenario)
    prot = scenario.protocol
    r, n = REPLICATE_BLOCK, n_c + n_t
    g = child_generator(entropy, "trial-calendar", b)
    rand = simulate_randomisation_times(accrual, n, r, g)  # (r, n), years, in order
    treated = arm_assignment(g, r, n, n_t / n_c, trial.block_size)
    u_drop, u_live, u_week, u_conf, u_first = g.random((5, r, n))
    u_iv = g.random((r, n, _intervals_needed(scenario)))
    # the women randomised: i.i.d. from the cohort model given eligibility (the thinning of the
    # women seen by the screening is independent of when they arrive)
    pop = int(child_seed(entropy, "trial-calendar-women", b).generate_state(1)[0])
    w = eligible_arrays(scenario, r * n, pop)
    women = CalendarWomen.of(scenario, w, (r, n))
    eta = eligible_log_odds(scenario, w).reshape(r, n)
    dose = ivig_dose(prot, weight_kg(w["bmi"], w["height_m"])).reshape(r, n)
    seen = u_drop >= trial.dropout
    conf, delay = prot.confirmation_week, prot.first_dose_delay
    conf_week = conf.min + u_conf * (conf.max - conf.min)
    first = conf_week + delay.min + u_first * (delay.max - delay.min)
    closes = np.where(seen, window_closes(scenario, rand, conf_week), np.inf)
    out: dict[str, np.ndarray] = {}
    for suffix, shift_t in (("", design.shift_treatment), ("0", design.shift_null)):
        live = u_live < special.expit(eta + np.where(treated, shift_t, design.shift_control))
        weeks = outcome_week(scenario.outcome, live.ravel(), u_week.ravel()).reshape(r, n)
        known = np.where(seen, rand + np.maximum(weeks - conf_week, 0.0) / _WEEKS_PER_YEAR, np.inf)
        res = _decide_on_calendar(trial, rand, (known, closes), live, treated, seen, women)
        n_inf = count_infusions(first, weeks, u_iv, prot)
        res.update(_treatment(scenario, res["randomised"], treated, n_inf, dose))
        out.update({f"{k}{suffix}": v for k, v in res.items()})
        if not suffix:  # the H1 trials' calendars, for the pictures
            out["rand"], out["known"] = rand, known
    return out


def _treatment(
    scenario: Scenario, randomised: np.ndarray, treated: np.ndarray, n_inf: np.ndarray, dose: np.ndarray
) -> dict[str, np.ndarray]:
    """Each trial's infusions (IVIG and placebo) and IVIG grams and cost, over its randomised women."""
    in_trial = np.arange(treated.shape[1])[None, :] < randomised[:, None]
    ivig = np.where(in_trial & treated, n_inf, 0)
    grams = (ivig * dose).sum(axis=1)
    return {
        "ivig_infusions": ivig.sum(axis=1),
        "placebo_infusions": np.where(in_trial & ~treated, n_inf, 0).sum(axis=1),
        "ivig_grams": grams,
        "ivig_cost": grams * scenario.clinic.ivig_price_per_g,
    }


def _decide_on_calendar(
    trial: Any, rand: np.ndarray, times: tuple[np.ndarray, np.ndarray], live: np.ndarray,
    treated: np.ndarray, seen: np.ndarray, women: CalendarWomen,
) -> dict[str, np.ndarray]:  # fmt: skip
    """``times``: each woman's outcome-known time and outcome-window close (``inf``: lost)."""
    known, closes = times
    r, n = rand.shape
    k_looks = trial.looks
    m = seen.sum(axis=1)  # women with an outcome, if nobody stops
    order = np.sort(closes, axis=1)  # window closes in order (inf: dropped out)
    # the last outcome, or the last randomisation if it comes later (its women lost to follow-up)
    last_known = np.where(m > 0, np.max(np.where(seen, known, -np.inf), axis=1), -np.inf)
    final = np.maximum(last_known, rand[:, -1])
    analysis = get_analysis(trial.analysis)
    done = np.zeros(r, bool)
    good = np.zeros(r, bool)
    anyrej = np.zeros(r, bool)
    stop_look = np.full(r, k_looks - 1)
    stop_time = np.full(r, np.nan)
    out: dict[str, np.ndarray] = {}
    for j in range(k_looks):
        if j < k_looks - 1:
            target = look_target(j, k_looks, n, trial.dropout)
            tau = np.minimum(order[np.arange(r), np.maximum(np.minimum(target, m), 1) - 1], final)
        else:
            tau = final
        # complete windows only, until the final look, when every outcome is known
        obs = seen & ((closes <= tau[:, None]) | (tau >= final)[:, None])
        p, sign = analysis.function(calendar_look(trial, obs, treated, live, women))
        p = np.nan_to_num(np.asarray(p, float), nan=1.0)
        sign = np.asarray(sign, float)
        rej, fav, futile = look_decision(trial, p, sign, j, done)
        good |= fav
        anyrej |= rej
        stopping = rej | futile
        # a look a trial never reaches (it stopped before) has no numbers
        gone = np.where(done, np.nan, 1.0)
        out[f"look{j + 1}_years"] = tau * gone
        out[f"look{j + 1}_randomised"] = np.sum(rand <= tau[:, None], axis=1) * gone
        out[f"look{j + 1}_observed"] = obs.sum(axis=1) * gone
        in_by = (rand <= tau[:, None]) & seen
        out[f"look{j + 1}_pipeline"] = np.sum(in_by & (known > tau[:, None]), axis=1) * gone
        out[f"look{j + 1}_waiting"] = np.sum(in_by & (known <= tau[:, None]) & ~obs, axis=1) * gone
        newly = stopping | ((j == k_looks - 1) & ~done)
        stop_look[newly & (j < k_looks - 1)] = j
        stop_time[newly] = tau[newly]
        done |= stopping
    last = stop_look
    stopped_early = last < k_looks - 1
    at_looks = np.stack([out[f"look{j + 1}_randomised"] for j in range(k_looks)], axis=1)
    randomised = np.where(stopped_early, np.nan_to_num(at_looks[np.arange(r), last]), n).astype(np.int64)
    in_trial = np.arange(n)[None, :] < randomised[:, None]
    analysed = np.sum(in_trial & seen, axis=1)
    observed_at_stop = np.sum(in_trial & seen & (known <= stop_time[:, None]), axis=1)
    last_rand = rand[np.arange(r), np.maximum(randomised, 1) - 1]
    out.update(
        good=good, any=anyrej, stopped_at_look=last + 1, duration_years=stop_time,
        recruitment_years=last_rand - rand[:, 0], recruitment_end_years=last_rand,
        randomised=randomised, analysed=analysed,
        overrun=analysed - observed_at_stop,
    )  # fmt: skip
    return out


def simulate_calendar(
    scenario: Scenario,
    n_per_arm: int | None = None,
    replicates: int | None = None,
    seed: SeedLike = None,
    workers: int = 1,
) -> CalendarResult:
    """Power, type-I error and the calendar of the scenario's trial (see the module doc).

    Parameters
    ----------
    scenario : Scenario
        With ``[trial]`` (a superiority or non-inferiority design on the count path's analyses)
        and ``[recruitment]``.
    n_per_arm : int, optional
        Randomised control women (default ``trial.n_per_arm``, else the formula's n inflated for
        dropout).
    replicates : int, optional
        Simulated trials (default ``trial.replicates``), in keyed blocks of 1,024.
    seed : int, optional
        Root seed (default the scenario's).
    workers : int, default 1
        Processes; the same trials for any number (keyed blocks).

    Returns
    -------
    CalendarResult

    Raises
    ------
    InvalidArgumentError
        For a re-estimation design (``[trial.reestimation]``), which the calendar does not model.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> sc = load_scenario("scenarios/paper.toml", {"recruitment": {"centres": 8}})
    >>> res = simulate_calendar(sc, n_per_arm=83, replicates=1024)
    >>> round(float(res.trials.recruitment_years.median()), 1), res.n_control
    (2.6, 83)
    """
    t0 = time.perf_counter()
    trial = scenario.require_trial()
    if trial.reestimation is not None:
        raise InvalidArgumentError(
            "simulate_calendar: the calendar does not model sample-size re-estimation "
            "([trial.reestimation]: the n after the pilot); drop [trial.reestimation] to put the "
            "planned design on the calendar, or use simulate_power for the re-estimated design."
        )
    n_c = check_integer("n_per_arm", n_per_arm or trial.n_per_arm or analytic_n_per_arm(scenario), 2)
    n_t = treatment_size(trial, n_c)
    reps = check_integer("replicates", trial.replicates if replicates is None else replicates)
    entropy = root_entropy(scenario.seed if seed is None else seed)
    blocks = list(range(math.ceil(reps / REPLICATE_BLOCK)))
    head = (scenario, scenario_accrual(scenario), n_c, n_t)
    workers = cap_workers(check_integer("workers", workers, 1), len(blocks), ("block", "blocks"))
    if workers > 1:
        res = map_block_chunks(calendar_blocks, head, (entropy,), blocks, workers, REPLICATE_BLOCK)
    else:
        res = calendar_blocks(*head, blocks, entropy)
    res = {k: v[:reps] for k, v in res.items()}
    sample = min(reps, SAMPLE_TRIALS)
    # the pictures show the women a trial randomised: none after a stop
    rand, known = res["rand"][:sample].copy(), res["known"][:sample].copy()
    never = np.arange(rand.shape[1])[None, :] >= res["randomised"][:sample, None]
    rand[never], known[never] = np.inf, np.inf
    k1, k0 = int(res["good"].sum()), int(res["any0"].sum())
    cols = ["recruitment_years", "recruitment_end_years", "duration_years", "randomised", "analysed"]
    cols += ["overrun", "stopped_at_look"]
    cols += ["ivig_infusions", "placebo_infusions", "ivig_grams", "ivig_cost"]
    cols += [
        f"look{j + 1}_{x}"
        for j in range(trial.looks)
        for x in ("years", "randomised", "observed", "pipeline", "waiting")
    ]
    trials = pd.DataFrame({c: res[c] for c in cols})
    trials["rejected"] = res["good"]
    return CalendarResult(
        power=k1 / reps, power_ci=wilson_interval(k1, reps), type1_error=k0 / reps,
        type1_ci=wilson_interval(k0, reps), n_control=n_c, n_treatment=n_t, replicates=reps,
        trials=trials, seconds=time.perf_counter() - t0,
        randomised_times=rand, known_times=known,
        accrual=head[1],
    )  # fmt: skip
