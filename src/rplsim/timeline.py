"""Each woman's index pregnancy as a discrete-event simulation (SimPy), and its vectorised twin.

The protocol of section 2.3: known causes treated before and during pregnancy; pregnancy
confirmed by a β-hCG rise or a gestational sac; IVIG 0.4 g/kg for abnormal cellular immunity,
first right after confirmation (IVF: on the day of oocyte retrieval or embryo transfer), then
every 3–4 weeks until 30 weeks, never after the pregnancy has ended; karyotyping of the
abortus. Women start over calendar time at the clinic's accrual rate; an infusion needs an
infusion chair (a SimPy resource) for its duration, so chair waits and utilisation emerge.

Randomness: every woman has her own row of uniforms, keyed by her ``patient_id`` under the
run's seed (blocks of :data:`rplsim.cohort.BLOCK` ids per stream). Her timeline therefore does
not change when other women are added or the batch size changes, and the twin — which reads
the same rows — reproduces the SimPy outcomes woman for woman when chairs are ample.

Gestational weeks count from the last menstrual period; conception is at week 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import simpy

from .cohort import BLOCK
from .outcome import FATES, live_birth_probability, outcome_model, sample_fates
from .rng import SeedLike, child_generator, root_entropy
from .scenario import Scenario

__all__ = ["N_UNIFORMS", "TimelineResult", "patient_uniforms", "simulate_timeline",
           "simulate_twin"]

N_UNIFORMS = 24
_U_FATE, _U_WEEK, _U_CONF, _U_DELAY, _U_KARYO, _U_EUPLOID, _U_ADHERE, _U_IVFDAY = range(8)
_U_ARRIVAL = 8
_U_INTERVALS = slice(9, 24)  # up to 15 intervals: enough for week 2 to 30 at 2-week spacing
CONCEPTION_WEEK = 2.0
WEEKS_PER_YEAR = 365.25 / 7
HOURS_PER_WEEK = 168.0
# Preconception start of each known cause's treatment, in gestational weeks (negative = before
# the last menstrual period). ASSUMPTION: the paper says "before conception" without timing.
CAUSE_TREATMENT = {
    "chromosomal": ("conservative_care", "genetic counselling, conservative care", 0.0),
    "anatomical": ("surgery", "surgical correction before conception", -12.0),
    "thyroid": ("levothyroxine_start", "levothyroxine, TSH kept < 2.5 mU/L", -8.0),
    "prolactin": ("dopamine_agonist_start", "dopamine agonist", -8.0),
    "infection": ("antibiotics", "antibiotics for the confirmed infection", -6.0),
    "thrombophilia": ("aspirin_lmwh_start", "aspirin 100 mg + LMWH daily", -4.0),
}


@dataclass(frozen=True)
class TimelineResult:
    """What :func:`simulate_timeline` returns.

    Attributes
    ----------
    events : DataFrame
        ``patient_id, gestational_week, calendar_week, event, detail``, one row an event,
        in time order within each woman.
    outcomes : DataFrame
        One row a woman: ``patient_id, stratum, outcome, outcome_week, analysed, on_ivig,
        adherent, conception, ivig_infusions, ivig_grams, ivig_cost, karyotyped, euploid,
        chair_wait_hours``.
    clinic : dict
        ``chairs, infusions, chair_utilisation, mean_wait_hours, max_wait_hours,
        horizon_weeks, total_ivig_grams, total_ivig_cost, currency``.
    """

    events: pd.DataFrame
    outcomes: pd.DataFrame
    clinic: dict = field(default_factory=dict)


def patient_uniforms(seed: SeedLike, patient_ids: np.ndarray, stage: str = "timeline",
                     k: int = N_UNIFORMS) -> np.ndarray:
    """Each woman's own row of ``k`` uniforms, keyed by her id (see the module doc)."""
    ids = np.asarray(patient_ids, dtype=np.int64)
    entropy = root_entropy(seed)
    out = np.empty((ids.size, k))
    blocks = ids // BLOCK
    for b in np.unique(blocks):
        rows = child_generator(entropy, stage, int(b)).random((BLOCK, k))
        sel = blocks == b
        out[sel] = rows[ids[sel] - b * BLOCK]
    return out


def _plan(cohort: pd.DataFrame, scenario: Scenario, u: np.ndarray,
          treated: np.ndarray | None = None, shift: float | np.ndarray = 0.0) -> dict:
    """Everything about each woman that does not depend on the clinic, vectorised."""
    out_p, prot = scenario.outcome, scenario.protocol
    stratum = cohort["stratum"].cat.codes.to_numpy()
    abnormal = (stratum == 1) | (stratum == 3)
    adherent = u[:, _U_ADHERE] < out_p.adherence
    indicated = abnormal if treated is None else np.asarray(treated, bool)
    on_ivig = indicated & adherent
    model = outcome_model(scenario)
    p_live = live_birth_probability(model, cohort, treated=on_ivig | ~abnormal, shift=shift)
    fates = sample_fates(out_p, p_live, stratum, u[:, [_U_FATE, _U_WEEK, _U_CONF, _U_KARYO,
                                                       _U_EUPLOID, _U_IVFDAY]])
    ivf = (cohort["conception"] == "ivf").to_numpy()
    c = prot.confirmation_week
    conf = c.min + u[:, _U_CONF] * (c.max - c.min)
    d = prot.first_dose_delay
    # IVF: retrieval day (conception) or transfer 3-5 days later, by the woman's own uniform.
    ivf_day = np.where(u[:, _U_IVFDAY] < 0.5, prot.ivf_first_dose_week,
                       prot.ivf_first_dose_week + (3 + 2 * (u[:, _U_IVFDAY] >= 0.75)) / 7)
    first = np.where(ivf, ivf_day, conf + d.min + u[:, _U_DELAY] * (d.max - d.min))
    iv = prot.ivig_interval
    intervals = iv.min + u[:, _U_INTERVALS] * (iv.max - iv.min)
    dose = prot.ivig_dose_g_per_kg * cohort["weight_kg"].to_numpy(float)
    if prot.dose_rounding_g > 0:
        dose = np.ceil(dose / prot.dose_rounding_g - 1e-9) * prot.dose_rounding_g
    rate = scenario.clinic.accrual_per_year / WEEKS_PER_YEAR
    arrival = np.cumsum(-np.log1p(-u[:, _U_ARRIVAL]) / rate)
    fate = fates["fate"]
    # "analysed" = the paper's denominator: live births + miscarriages of adherent women.
    analysed = ((fate == 0) | (fate == 1)) & (adherent | ~indicated)
    return {"stratum": stratum, "on_ivig": on_ivig, "adherent": adherent | ~indicated,
            "ivf": ivf, "conf": conf, "first": first, "intervals": intervals, "dose": dose,
            "arrival": arrival, "analysed": analysed, **fates}


def _schedule(plan: dict, last_week: float) -> tuple[np.ndarray, np.ndarray]:
    """Infusion weeks without waiting: (times (n, m), given (n, m) bool). The twin's rule."""
    times = plan["first"][:, None] + np.concatenate(
        [np.zeros((plan["first"].size, 1)), np.cumsum(plan["intervals"], axis=1)], axis=1)
    given = (plan["on_ivig"][:, None] & (times < plan["week"][:, None])
             & (times <= last_week + 1e-12))
    return times, given


def simulate_twin(cohort: pd.DataFrame, scenario: Scenario, seed: SeedLike = None, *,
                  treated: np.ndarray | None = None, shift: float | np.ndarray = 0.0,
                  stage: str = "timeline") -> pd.DataFrame:
    """The timeline's outcome distribution, vectorised (no clinic queue, no event log).

    Parameters
    ----------
    cohort : DataFrame
        From :func:`rplsim.generate_cohort`.
    scenario : Scenario
    seed : int, Generator or None
        Root seed (default: the scenario's). With the same seed and stage the twin reads the
        same per-woman uniforms as :func:`simulate_timeline`, so with ample chairs the two agree
        woman for woman.
    treated : bool array, optional
        Who is assigned IVIG (trial arms); default the protocol: abnormal immunity.
    shift : float or array
        Added to each woman's log-odds of live birth (trial arms solved to marginal rates).
    stage : str
        Name of the random stream (a different name gives independent draws).

    Returns
    -------
    DataFrame
        The columns of ``TimelineResult.outcomes`` except ``chair_wait_hours``.
    """
    seed = scenario.seed if seed is None else seed
    u = patient_uniforms(seed, cohort["patient_id"].to_numpy(), stage)
    plan = _plan(cohort, scenario, u, treated, shift)
    _, given = _schedule(plan, scenario.protocol.ivig_last_week)
    n_inf = given.sum(axis=1)
    return _outcomes_frame(cohort, scenario, plan, n_inf, n_inf * plan["dose"])


def _outcomes_frame(cohort: pd.DataFrame, scenario: Scenario, plan: dict, n_inf: np.ndarray,
                    grams: np.ndarray, wait: np.ndarray | None = None) -> pd.DataFrame:
    df = pd.DataFrame({
        "patient_id": cohort["patient_id"].to_numpy(),
        "stratum": cohort["stratum"].to_numpy(),
        "outcome": pd.Categorical.from_codes(plan["fate"].astype(np.int8), categories=list(FATES)),
        "outcome_week": plan["week"],
        "analysed": plan["analysed"],
        "on_ivig": plan["on_ivig"],
        "adherent": plan["adherent"],
        "conception": cohort["conception"].to_numpy(),
        "ivig_infusions": n_inf.astype(np.int64),
        "ivig_grams": grams,
        "ivig_cost": grams * scenario.clinic.ivig_price_per_g,
        "karyotyped": plan["karyotyped"],
        "euploid": plan["euploid"],
    })
    if wait is not None:
        df["chair_wait_hours"] = wait
    return df


def simulate_timeline(cohort: pd.DataFrame, scenario: Scenario, seed: SeedLike = None, *,
                      treated: np.ndarray | None = None, events: bool = True) -> TimelineResult:
    """Run every woman's index pregnancy through the protocol as a SimPy simulation.

    Parameters
    ----------
    cohort : DataFrame
        From :func:`rplsim.generate_cohort`.
    scenario : Scenario
        Uses ``[outcome]``, ``[protocol]`` and ``[clinic]``.
    seed : int, Generator or None
        Root seed; default the scenario's.
    treated : bool array, optional
        Who is assigned IVIG; default the protocol (abnormal immunity).
    events : bool
        Keep the event log (False saves memory for large runs).

    Returns
    -------
    TimelineResult

    Examples
    --------
    >>> sc = load_scenario("scenarios/paper.toml")  # doctest: +SKIP
    >>> res = simulate_timeline(generate_cohort(sc), sc)  # doctest: +SKIP
    >>> res.outcomes.groupby("stratum").ivig_grams.mean()  # doctest: +SKIP
    """
    seed = scenario.seed if seed is None else seed
    u = patient_uniforms(seed, cohort["patient_id"].to_numpy(), "timeline")
    plan = _plan(cohort, scenario, u, treated)
    prot, clinic = scenario.protocol, scenario.clinic
    n = len(cohort)
    env = simpy.Environment()
    chairs = simpy.Resource(env, capacity=clinic.chairs)
    dur = clinic.infusion_hours / HOURS_PER_WEEK
    log: list[tuple] = []
    n_inf = np.zeros(n, dtype=np.int64)
    wait = np.zeros(n)
    busy = [0.0]
    max_wait = [0.0]
    ids = cohort["patient_id"].to_numpy()
    causes = cohort["known_cause"].astype(str).to_numpy()
    strata = cohort["stratum"].astype(str).to_numpy()
    rec = log.append if events else (lambda _row: None)
    fate_names = FATES

    def pregnancy(i: int):  # noqa: ANN202 - a SimPy generator
        pid = ids[i]
        lmp = plan["arrival"][i] - CONCEPTION_WEEK  # calendar week of gestational week 0
        # Events are stamped with their own gestational week; the process itself only needs to
        # be at the right calendar time when it asks for an infusion chair.
        if causes[i] in CAUSE_TREATMENT:
            ev, detail, wk = CAUSE_TREATMENT[causes[i]]
            rec((pid, wk, lmp + wk, ev, detail))
        elif strata[i] == "IN":
            rec((pid, CONCEPTION_WEEK, lmp + CONCEPTION_WEEK, "expectant_management",
                 "emotional support, no drug"))
        yield env.timeout(max(lmp + CONCEPTION_WEEK - env.now, 0.0))
        if plan["ivf"][i]:
            rec((pid, CONCEPTION_WEEK, env.now, "oocyte_retrieval", "IVF cycle"))
            rec((pid, CONCEPTION_WEEK + 3 / 7, lmp + CONCEPTION_WEEK + 3 / 7, "embryo_transfer",
                 "day-3 transfer"))
        rec((pid, CONCEPTION_WEEK, lmp + CONCEPTION_WEEK, "conception",
             "ivf" if plan["ivf"][i] else "natural"))
        end = plan["week"][i]
        fate = int(plan["fate"][i])
        if fate != 3:
            rec((pid, plan["conf"][i], lmp + plan["conf"][i], "confirmation",
                 "beta-hCG rise / gestational sac"))
        if plan["on_ivig"][i]:
            nxt, k = plan["first"][i], 0
            while nxt < end and nxt <= prot.ivig_last_week + 1e-12:
                yield env.timeout(max(lmp + nxt - env.now, 0.0))
                t_req = env.now
                with chairs.request() as req:
                    yield req
                    w = env.now - t_req
                    gw = env.now - lmp
                    if gw >= end:  # the pregnancy ended while she waited
                        break
                    wait[i] += w * HOURS_PER_WEEK
                    max_wait[0] = max(max_wait[0], w * HOURS_PER_WEEK)
                    yield env.timeout(dur)
                    busy[0] += dur
                n_inf[i] += 1
                rec((pid, gw, lmp + gw, "ivig_infusion",
                     f"{plan['dose'][i]:.1f} g (0.4 g/kg), infusion {n_inf[i]}"))
                nxt = gw + plan["intervals"][i, k]
                k += 1
        yield env.timeout(max(lmp + end - env.now, 0.0))
        rec((pid, end, lmp + end, fate_names[fate], ""))
        if plan["karyotyped"][i]:
            kd = prot.karyotype_delay
            rec((pid, end + kd, lmp + end + kd, "karyotype_result",
                 "euploid" if plan["euploid"][i] else "aneuploid"))

    for i in range(n):
        env.process(pregnancy(i))
    env.run()
    grams = n_inf * plan["dose"]
    outcomes = _outcomes_frame(cohort, scenario, plan, n_inf, grams, wait)
    ev = pd.DataFrame(log, columns=["patient_id", "gestational_week", "calendar_week", "event",
                                    "detail"])
    if len(ev):
        ev = ev.sort_values(["patient_id", "gestational_week"], kind="stable",
                            ignore_index=True)
    horizon = float(env.now) if n else 0.0
    infusions = int(n_inf.sum())
    clinic_stats = {
        "chairs": clinic.chairs,
        "infusions": infusions,
        "chair_utilisation": busy[0] / (clinic.chairs * horizon) if horizon > 0 else 0.0,
        "mean_wait_hours": float(wait.sum() / infusions) if infusions else 0.0,
        "max_wait_hours": max_wait[0],
        "horizon_weeks": horizon,
        "total_ivig_grams": float(grams.sum()),
        "total_ivig_cost": float(grams.sum() * clinic.ivig_price_per_g),
        "currency": clinic.currency,
    }
    return TimelineResult(events=ev, outcomes=outcomes, clinic=clinic_stats)
