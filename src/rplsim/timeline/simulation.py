"""Each woman's index pregnancy as a discrete-event simulation (SimPy), and its vectorised twin.

The protocol of section 2.3: known causes treated before and during pregnancy; pregnancy
confirmed by a β-hCG rise or a gestational sac; IVIG 0.4 g/kg for abnormal cellular immunity,
first right after confirmation (IVF: on the day of oocyte retrieval or embryo transfer), then
every 3–4 weeks until 30 weeks, never after the pregnancy has ended (nor, for a natural
conception, before it was confirmed: a chemical pregnancy ends first and gets none); karyotyping
of the abortus. Women arrive over calendar time at the clinic's accrual rate (the recruitment
model's arrival process, :func:`rplsim.design.accrual.arrival_source`); an infusion needs an
infusion chair (a SimPy resource) for its duration, so chair waits and utilisation emerge.

Each woman's plan (fate, weeks, doses) is drawn by :mod:`rplsim.timeline.twin` from her own
keyed uniforms, so the twin reproduces the SimPy outcomes woman for woman when chairs are ample.

Gestational weeks count from the last menstrual period; conception is at week 2.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import simpy

from rplsim._core.display import Displayed
from rplsim._core.rng import SeedLike
from rplsim.design.accrual import arrival_source, exponential_gaps
from rplsim.outcome.model import FATES
from rplsim.scenario import Scenario
from rplsim.scenario.params import ClinicParams
from rplsim.timeline.twin import (
    _U_ARRIVAL,
    _U_INTERVALS,
    WomanPlan,
    _outcomes_frame,
    _plan,
    _strings,
    dose_uniforms,
    patient_uniforms,
)

__all__ = ["TimelineResult", "clinic_accrual", "simulate_timeline"]

CONCEPTION_WEEK = 2.0
WEEKS_PER_YEAR = 365.25 / 7
HOURS_PER_WEEK = 168.0
#: Weeks between a woman's failed IVF cycles before the index pregnancy, for the event log only.
FAILED_CYCLE_WEEKS = 8.0
# The event and its detail of each known cause's treatment; its start week is the scenario's
# protocol.cause_treatment_week.<cause>.
CAUSE_EVENTS: dict[str, tuple[str, str]] = {
    "chromosomal": ("conservative_care", "genetic counselling, conservative care"),
    "anatomical": ("surgery", "surgical correction before conception"),
    "thyroid": ("levothyroxine_start", "levothyroxine, TSH kept < 2.5 mU/L"),
    "prolactin": ("dopamine_agonist_start", "dopamine agonist"),
    "infection": ("antibiotics", "antibiotics for the confirmed infection"),
    "thrombophilia": ("aspirin_lmwh_start", "aspirin 100 mg + LMWH daily"),
}


def clinic_accrual(scenario: Scenario) -> float:
    """Index pregnancies starting per year at the clinic: ``[clinic] accrual_per_year`` when it is
    given, else the recruitment model's (``[recruitment]``: the women one centre sees who complete
    the work-up and have an index pregnancy there, ``rpl_women_per_centre_year x workup_share x
    pregnancy_share``, the same shares as the trial's screening funnel; the clinic is one centre
    with its ``[clinic] chairs``, as each of the trial's centres is).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> round(clinic_accrual(load_scenario("scenarios/paper.toml")), 1)  # Figure 1: 529 in 14 years
    37.8
    """
    if scenario.clinic.accrual_per_year is not None:
        return float(scenario.clinic.accrual_per_year)
    rec = scenario.recruitment
    return rec.rpl_women_per_centre_year * rec.workup_share * rec.pregnancy_share


@dataclass(frozen=True, repr=False)
class TimelineResult(Displayed):
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
        horizon_weeks, total_ivig_grams, total_ivig_cost, currency``: the infusions and waits on
        the clinic's chairs (the index pregnancies'); the grams and cost of every dose, failed
        IVF cycles' before the index pregnancy included (``outcomes.ivig_infusions`` counts them).

    Examples
    --------
    >>> from rplsim import generate_cohort, load_scenario
    >>> sc = load_scenario("scenarios/paper.toml", {"cohort": {"n": 60}})
    >>> res = simulate_timeline(generate_cohort(sc, seed=1), sc, seed=1)
    >>> len(res.outcomes), res.to_frame().shape, res.clinic["chairs"] > 0
    (60, (60, 14), True)
    """

    events: pd.DataFrame
    outcomes: pd.DataFrame
    clinic: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The outcomes, one row a woman."""
        return self.outcomes

    def _display_title(self) -> str:
        return f"Timeline of {len(self.outcomes):,} pregnancies"

    def _display_rows(self) -> list[tuple[str, str]]:
        o = self.outcomes
        rows = [("pregnancies", f"{len(o):,}, {len(self.events):,} events")]
        if len(o) and "outcome" in o:
            rows.append(("live births", f"{(o['outcome'] == 'live_birth').mean():.1%}"))
        c = self.clinic
        if c:
            rows.append(
                (
                    "infusions",
                    f"{c.get('infusions', 0):,}, {c.get('total_ivig_grams', 0) / 1000:,.1f} kg IVIG",
                )
            )
            rows.append(("chair utilisation", f"{c.get('chair_utilisation', 0):.1%}"))
        return rows

    def plot(self, n: int = 12) -> Any:
        """The first ``n`` women's timelines (a matplotlib Figure, :func:`rplsim.figures.timeline_chart`)."""
        from rplsim.figures import timeline_chart

        return timeline_chart(self.events, self.outcomes, max_patients=n)


def simulate_timeline(
    cohort: pd.DataFrame,
    scenario: Scenario,
    seed: SeedLike = None,
    *,
    treated: np.ndarray | None = None,
    events: bool = True,
) -> TimelineResult:
    """Run every woman's index pregnancy through the protocol as a SimPy simulation.

    A woman who waits for a chair gets her infusion late and the next one 3–4 weeks after it;
    if the pregnancy ends or week ``protocol.ivig_last_week`` passes while she waits, that
    infusion (and any later one) is not given.

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
    >>> from rplsim import generate_cohort, load_scenario
    >>> sc = load_scenario("scenarios/paper.toml", {"cohort": {"n": 60}})
    >>> res = simulate_timeline(generate_cohort(sc, seed=1), sc, seed=1)
    >>> res.outcomes.groupby("stratum", observed=True).ivig_grams.mean().round().to_dict()
    {'IA': 143.0, 'IN': 0.0, 'KA': 167.0, 'KN': 0.0}
    """
    seed = scenario.seed if seed is None else seed
    ids = cohort["patient_id"].to_numpy()
    u = patient_uniforms(seed, ids, "timeline")
    plan = _plan(cohort, scenario, u, treated, u_dose=dose_uniforms(scenario, seed, ids, "timeline"))
    run = _ClinicRun(cohort, scenario, plan, events)
    run.run()
    on_chairs = np.asarray(run.n_inf, dtype=np.int64)  # the index pregnancy's, on the clinic's chairs
    n_inf = on_chairs + plan.failed_cycles
    wait = np.asarray(run.wait, dtype=float)
    grams = n_inf * plan.dose
    outcomes = _outcomes_frame(cohort, scenario, plan, n_inf, grams, wait)
    ev = pd.DataFrame(run.log, columns=["patient_id", "gestational_week", "calendar_week", "event", "detail"])
    if len(ev):
        ev = ev.sort_values(["patient_id", "gestational_week"], kind="stable", ignore_index=True)
    horizon = float(run.env.now) if len(cohort) else 0.0
    return TimelineResult(
        events=ev,
        outcomes=outcomes,
        clinic=_clinic_stats(scenario.clinic, run, on_chairs, wait, grams, horizon),
    )


def _clinic_stats(
    clinic: ClinicParams,
    run: _ClinicRun,
    n_inf: np.ndarray,
    wait: np.ndarray,
    grams: np.ndarray,
    horizon: float,
) -> dict[str, Any]:
    infusions = int(n_inf.sum())
    return {
        "chairs": clinic.chairs,
        "infusions": infusions,
        "chair_utilisation": run.busy / (clinic.chairs * horizon) if horizon > 0 else 0.0,
        "mean_wait_hours": float(wait.sum() / infusions) if infusions else 0.0,
        "max_wait_hours": run.max_wait,
        "horizon_weeks": horizon,
        "total_ivig_grams": float(grams.sum()),
        "total_ivig_cost": float(grams.sum() * clinic.ivig_price_per_g),
        "currency": clinic.currency,
    }


class _ClinicRun:
    """One SimPy run: a process per woman, competing for the infusion chairs."""

    def __init__(self, cohort: pd.DataFrame, scenario: Scenario, plan: WomanPlan, events: bool) -> None:
        prot, clinic = scenario.protocol, scenario.clinic
        self.u = plan.u
        self.gaps = exponential_gaps(self.u[:, _U_ARRIVAL], clinic_accrual(scenario) / WEEKS_PER_YEAR)
        arrival = np.cumsum(self.gaps)
        self.env = simpy.Environment()
        self.chairs = simpy.Resource(self.env, capacity=clinic.chairs)
        self.dur = clinic.infusion_hours / HOURS_PER_WEEK
        self.last_week = prot.ivig_last_week + 1e-12
        self.iv_lo = prot.ivig_interval.min
        self.iv_width = prot.ivig_interval.max - prot.ivig_interval.min
        self.kd = prot.karyotype_delay
        self.dose_text = f"{prot.ivig_dose_g_per_kg:g} g/kg"
        self.cause_week = {c: getattr(prot.cause_treatment_week, c) for c in CAUSE_EVENTS}
        self.log: list[tuple[int, float, float, str, str]] = []
        self.rec: Callable[[tuple[int, float, float, str, str]], None] = (
            self.log.append if events else (lambda _row: None)
        )
        # Python lists: the per-woman process reads scalars, far faster from lists than from numpy.
        n = len(cohort)
        self.n_inf = [0] * n
        self.wait = [0.0] * n
        self.busy = self.max_wait = 0.0
        self.ids = cohort["patient_id"].tolist()
        self.causes = list(_strings(cohort["known_cause"]))  # type: ignore[call-overload]
        self.strata = list(_strings(cohort["stratum"]))  # type: ignore[call-overload]
        self.lmps = (arrival - CONCEPTION_WEEK).tolist()  # calendar week of gestational week 0
        self.ivf, self.tdays = plan.ivf.tolist(), plan.transfer_days.tolist()
        self.conf, self.first = plan.conf.tolist(), plan.first.tolist()
        self.ends, self.fates = plan.week.tolist(), plan.fate.tolist()
        self.on_ivig, self.doses = plan.on_ivig.tolist(), plan.dose.tolist()
        self.karyo, self.euploid = plan.karyotyped.tolist(), plan.euploid.tolist()
        self.cap, self.cycles = plan.cap.tolist(), plan.failed_cycles.tolist()
        self.ivf_week = prot.ivf_first_dose_week

    def run(self) -> None:
        env = self.env
        # women arrive from the recruitment model's source process, each starting her pregnancy
        env.process(arrival_source(env, self.gaps.tolist(), lambda i: env.process(self.pregnancy(i))))
        env.run()

    def pregnancy(self, i: int) -> Generator[simpy.Event, object, None]:
        env, rec = self.env, self.rec
        pid, lmp = self.ids[i], self.lmps[i]
        # Events are stamped with their own gestational week; the process itself only needs to
        # be at the right calendar time when it asks for an infusion chair.
        cause = self.causes[i]
        if cause in CAUSE_EVENTS:
            ev, detail = CAUSE_EVENTS[cause]
            wk = self.cause_week[cause]
            rec((pid, wk, lmp + wk, ev, detail))
        elif self.strata[i] == "IN":
            rec(
                (
                    pid,
                    CONCEPTION_WEEK,
                    lmp + CONCEPTION_WEEK,
                    "expectant_management",
                    "emotional support, no drug",
                )
            )
        yield env.timeout(max(lmp + CONCEPTION_WEEK - env.now, 0.0))
        if self.ivf[i]:
            tw = CONCEPTION_WEEK + self.tdays[i] / 7
            rec((pid, CONCEPTION_WEEK, lmp + CONCEPTION_WEEK, "oocyte_retrieval", "IVF cycle"))
            rec((pid, tw, lmp + tw, "embryo_transfer", f"day-{self.tdays[i]} transfer"))
        for j in range(self.cycles[i], 0, -1):
            # a failed cycle's dose, before she arrives: in her total, not on the clinic's chairs
            # (cycles drawn 8 weeks apart, for the event log only)
            wk = self.ivf_week - FAILED_CYCLE_WEEKS * j
            rec((pid, wk, lmp + wk, "ivig_infusion", f"{self.doses[i]:.1f} g, failed IVF cycle {j} before"))
        rec((pid, CONCEPTION_WEEK, lmp + CONCEPTION_WEEK, "conception", "ivf" if self.ivf[i] else "natural"))
        end, fate = self.ends[i], self.fates[i]
        if fate != 3:
            conf = self.conf[i]
            rec((pid, conf, lmp + conf, "confirmation", "beta-hCG rise / gestational sac"))
        if self.on_ivig[i]:
            yield from self.infusions(i, pid, lmp, end)
        yield env.timeout(max(lmp + end - env.now, 0.0))
        rec((pid, end, lmp + end, FATES[fate], ""))
        if self.karyo[i]:
            kd = self.kd
            rec(
                (
                    pid,
                    end + kd,
                    lmp + end + kd,
                    "karyotype_result",
                    "euploid" if self.euploid[i] else "aneuploid",
                )
            )

    def infusions(self, i: int, pid: int, lmp: float, end: float) -> Generator[simpy.Event, object, None]:
        """Her infusions, each waiting for a chair, until the pregnancy or the last week ends."""
        env, rec, last_week, dur = self.env, self.rec, self.last_week, self.dur
        u_iv = self.u[i, _U_INTERVALS].tolist()
        first = self.first[i]
        # Planned week = first + (sum of intervals so far) + (waits so far), summed as in
        # _count_infusions, so that without waits the weeks are the twin's to the bit.
        nxt, cum, delay, k = first, 0.0, 0.0, 0
        while nxt < end and nxt <= last_week and self.n_inf[i] < self.cap[i]:
            yield env.timeout(max(lmp + nxt - env.now, 0.0))
            t_req = env.now
            with self.chairs.request() as req:
                yield req
                w = env.now - t_req
                gw = nxt + w
                # The pregnancy ended, or the protocol's last week passed, while she waited.
                if gw >= end or gw > last_week:
                    break
                self.wait[i] += w * HOURS_PER_WEEK
                self.max_wait = max(self.max_wait, w * HOURS_PER_WEEK)
                yield env.timeout(dur)
                self.busy += dur
            self.n_inf[i] += 1
            rec(
                (
                    pid,
                    gw,
                    lmp + gw,
                    "ivig_infusion",
                    f"{self.doses[i]:.1f} g ({self.dose_text}), infusion {self.n_inf[i]}",
                )
            )
            if k == len(u_iv):
                break
            cum += self.iv_lo + u_iv[k] * self.iv_width
            delay += w
            nxt = first + cum + delay
            k += 1
