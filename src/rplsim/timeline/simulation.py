"""Each woman's index pregnancy as a discrete-event simulation (SimPy), and its vectorised twin.

The protocol of section 2.3: known causes treated before and during pregnancy; pregnancy
confirmed by a β-hCG rise or a gestational sac; IVIG 0.4 g/kg for abnormal cellular immunity,
first right after confirmation (IVF: on the day of oocyte retrieval or embryo transfer), then
every 3–4 weeks until 30 weeks, never after the pregnancy has ended (nor, for a natural
conception, before it was confirmed: a chemical pregnancy ends first and gets none); karyotyping
of the abortus. Women start over calendar time at the clinic's accrual rate; an infusion needs an
infusion chair (a SimPy resource) for its duration, so chair waits and utilisation emerge.

Randomness: every woman has her own row of uniforms, keyed by her ``patient_id`` under the
run's seed (blocks of :data:`rplsim.cohort.BLOCK` ids per stream). Her timeline therefore does
not change when other women are added or the batch size changes, and the twin — which reads
the same rows — reproduces the SimPy outcomes woman for woman when chairs are ample.

Gestational weeks count from the last menstrual period; conception is at week 2.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import simpy

from rplsim._core.rng import SeedLike, child_generator, root_entropy
from rplsim.cohort.generate import BLOCK
from rplsim.outcome.model import FATES, live_birth_probability, outcome_model, sample_fates
from rplsim.scenario.model import Scenario
from rplsim.scenario.params import ClinicParams, ProtocolParams

__all__ = ["N_UNIFORMS", "TimelineResult", "patient_uniforms", "simulate_timeline",
           "simulate_twin"]

N_UNIFORMS = 24
_U_FATE, _U_WEEK, _U_CONF, _U_DELAY, _U_KARYO, _U_EUPLOID, _U_ADHERE, _U_IVFDAY = range(8)
_U_ARRIVAL = 8
_U_INTERVALS = slice(9, 24)  # up to 15 intervals: enough for week 2 to 30 at 2-week spacing
CONCEPTION_WEEK = 2.0
WEEKS_PER_YEAR = 365.25 / 7
HOURS_PER_WEEK = 168.0
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
    clinic: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WomanPlan:
    """Everything about each woman that does not depend on the clinic, one array a field.

    Attributes
    ----------
    stratum : int codes (0..3, as ``STRATA``)
    on_ivig, adherent, ivf, analysed : bool arrays
    transfer_days : int array
        Day of the IVF embryo transfer (3 or 5).
    conf, first, dose : float arrays
        Week of confirmation, week of the first infusion (``inf``: none), grams per infusion.
    u : ndarray
        The women's uniforms (:func:`patient_uniforms`).
    fate, week, karyotyped, euploid : arrays
        From :func:`rplsim.outcome.model.sample_fates`.
    """

    stratum: np.ndarray
    on_ivig: np.ndarray
    adherent: np.ndarray
    ivf: np.ndarray
    transfer_days: np.ndarray
    conf: np.ndarray
    first: np.ndarray
    dose: np.ndarray
    analysed: np.ndarray
    u: np.ndarray
    fate: np.ndarray
    week: np.ndarray
    karyotyped: np.ndarray
    euploid: np.ndarray


def patient_uniforms(seed: SeedLike, patient_ids: np.ndarray, stage: str = "timeline",
                     k: int = N_UNIFORMS) -> np.ndarray:
    """Each woman's own row of ``k`` uniforms, keyed by her id (see the module doc).

    Parameters
    ----------
    seed : int, Generator or None
        Root seed.
    patient_ids : array of int
        Non-negative ids, in any order (repeats allowed).
    stage : str
        Name of the stream; another name gives independent rows.
    k : int
        Uniforms per woman. Row ``i`` of block ``b`` is the ``i``-th row of
        ``random((BLOCK, k))`` on stream ``(stage, b)``, so ``k`` is part of the layout.

    Returns
    -------
    ndarray, shape (len(patient_ids), k)
        Column-major (each column contiguous), since callers read it column by column.
    """
    ids = np.asarray(patient_ids, dtype=np.int64).ravel()
    entropy = root_entropy(seed)
    out = np.empty((ids.size, k), order="F")
    if ids.size == 0:
        return out
    # Group the women by block once (sorting only if needed) rather than scanning every id
    # for every block.
    order = None if np.all(ids[1:] >= ids[:-1]) else np.argsort(ids, kind="stable")
    sids = ids if order is None else ids[order]
    blocks = sids // BLOCK
    starts = np.flatnonzero(np.concatenate([[True], blocks[1:] != blocks[:-1]]))
    ends = np.append(starts[1:], ids.size)
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        b = int(blocks[lo])
        rows = child_generator(entropy, stage, b).random((BLOCK, k))
        local = sids[lo:hi] - b * BLOCK
        first, last = int(local[0]), int(local[-1])
        src = rows[first:last + 1] if last - first == hi - lo - 1 else rows[local]
        if order is None:
            out[lo:hi] = src
        else:
            out[order[lo:hi]] = src
    return out


def _plan(cohort: pd.DataFrame, scenario: Scenario, u: np.ndarray,
          treated: np.ndarray | None = None, shift: float | np.ndarray = 0.0) -> WomanPlan:
    """Everything about each woman that does not depend on the clinic, vectorised.

    Infusion intervals are not expanded here (only IVIG women need them): see
    :func:`_intervals`.
    """
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
    # IVF: retrieval day (conception) or transfer 3 or 5 days later, by the woman's own uniform.
    u_ivf = u[:, _U_IVFDAY]
    transfer_days = 3 + 2 * (u_ivf >= 1 - prot.ivf_day5_transfer_share)
    ivf_day = np.where(u_ivf < prot.ivf_retrieval_dose_share, prot.ivf_first_dose_week,
                       prot.ivf_first_dose_week + transfer_days / 7)
    first = np.where(ivf, ivf_day, conf + d.min + u[:, _U_DELAY] * (d.max - d.min))
    fate = fates["fate"]
    # A natural conception is treated from confirmation on; a chemical pregnancy ends before
    # it, so it gets no infusion (an IVF cycle may: its first dose precedes any test).
    first = np.where(~ivf & (fate == 3), np.inf, first)
    dose = prot.ivig_dose_g_per_kg * cohort["weight_kg"].to_numpy(float)
    if prot.dose_rounding_g > 0:
        dose = np.ceil(dose / prot.dose_rounding_g - 1e-9) * prot.dose_rounding_g
    # "analysed" = the paper's denominator: live births + miscarriages of adherent women.
    analysed = ((fate == 0) | (fate == 1)) & (adherent | ~indicated)
    return WomanPlan(stratum=stratum, on_ivig=on_ivig, adherent=adherent | ~indicated, ivf=ivf,
                     transfer_days=transfer_days, conf=conf, first=first, dose=dose,
                     analysed=analysed, u=u, fate=fates["fate"], week=fates["week"],
                     karyotyped=fates["karyotyped"], euploid=fates["euploid"])


def _intervals(u: np.ndarray, prot: ProtocolParams, rows: np.ndarray | slice, j: int) -> np.ndarray:
    """The ``j``-th infusion interval (weeks) of the women ``rows``."""
    iv = prot.ivig_interval
    return iv.min + u[rows, _U_INTERVALS.start + j] * (iv.max - iv.min)


def _count_infusions(plan: WomanPlan, prot: ProtocolParams) -> np.ndarray:
    """Infusions per woman without waiting: the twin's rule.

    Infusion ``j`` is at ``first + (interval_1 + ... + interval_j)`` (the sum accumulated left
    to right) and is given while before the end of the pregnancy and not after the last week.
    :func:`simulate_timeline` computes the same sums, so with ample chairs the two agree
    exactly. Only the women still being infused are carried from one infusion to the next.
    """
    last = prot.ivig_last_week + 1e-12
    n_inf = np.zeros(plan.first.size, dtype=np.int64)
    idx = np.flatnonzero(plan.on_ivig)
    first = plan.first[idx]
    end = plan.week[idx]
    cum = np.zeros(idx.size)
    t = first
    n_int = _U_INTERVALS.stop - _U_INTERVALS.start
    for j in range(n_int + 1):
        ok = (t < end) & (t <= last)
        if not ok.all():
            idx, first, end, cum, t = idx[ok], first[ok], end[ok], cum[ok], t[ok]
        if idx.size == 0:
            break
        n_inf[idx] += 1
        if j == n_int:
            break
        cum = cum + _intervals(plan.u, prot, idx, j)
        t = first + cum
    return n_inf


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
    n_inf = _count_infusions(plan, scenario.protocol)
    return _outcomes_frame(cohort, scenario, plan, n_inf, n_inf * plan.dose)


def _strings(col: pd.Series) -> object:
    """A categorical column as plain strings, by taking from its categories (fast)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        if codes.size == 0 or codes.min() >= 0:
            return col.cat.categories.take(codes).array
    return col.to_numpy()


def _outcomes_frame(cohort: pd.DataFrame, scenario: Scenario, plan: WomanPlan, n_inf: np.ndarray,
                    grams: np.ndarray, wait: np.ndarray | None = None) -> pd.DataFrame:
    df = pd.DataFrame({
        "patient_id": cohort["patient_id"].to_numpy(),
        "stratum": _strings(cohort["stratum"]),
        "outcome": pd.Categorical.from_codes(plan.fate.astype(np.int8), categories=list(FATES)),
        "outcome_week": plan.week,
        "analysed": plan.analysed,
        "on_ivig": plan.on_ivig,
        "adherent": plan.adherent,
        "conception": _strings(cohort["conception"]),
        "ivig_infusions": n_inf.astype(np.int64),
        "ivig_grams": grams,
        "ivig_cost": grams * scenario.clinic.ivig_price_per_g,
        "karyotyped": plan.karyotyped,
        "euploid": plan.euploid,
    })
    if wait is not None:
        df["chair_wait_hours"] = wait
    return df


def simulate_timeline(cohort: pd.DataFrame, scenario: Scenario, seed: SeedLike = None, *,
                      treated: np.ndarray | None = None, events: bool = True) -> TimelineResult:
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
    >>> sc = load_scenario("scenarios/paper.toml")  # doctest: +SKIP
    >>> res = simulate_timeline(generate_cohort(sc), sc)  # doctest: +SKIP
    >>> res.outcomes.groupby("stratum").ivig_grams.mean()  # doctest: +SKIP
    """
    seed = scenario.seed if seed is None else seed
    u = patient_uniforms(seed, cohort["patient_id"].to_numpy(), "timeline")
    plan = _plan(cohort, scenario, u, treated)
    run = _ClinicRun(cohort, scenario, plan, events)
    run.run()
    n_inf = np.asarray(run.n_inf, dtype=np.int64)
    wait = np.asarray(run.wait, dtype=float)
    grams = n_inf * plan.dose
    outcomes = _outcomes_frame(cohort, scenario, plan, n_inf, grams, wait)
    ev = pd.DataFrame(run.log, columns=["patient_id", "gestational_week", "calendar_week", "event",
                                        "detail"])
    if len(ev):
        ev = ev.sort_values(["patient_id", "gestational_week"], kind="stable",
                            ignore_index=True)
    horizon = float(run.env.now) if len(cohort) else 0.0
    return TimelineResult(events=ev, outcomes=outcomes,
                          clinic=_clinic_stats(scenario.clinic, run, n_inf, wait, grams, horizon))


def _clinic_stats(clinic: ClinicParams, run: _ClinicRun, n_inf: np.ndarray, wait: np.ndarray,
                  grams: np.ndarray, horizon: float) -> dict[str, Any]:
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

    def __init__(self, cohort: pd.DataFrame, scenario: Scenario, plan: WomanPlan,
                 events: bool) -> None:
        prot, clinic = scenario.protocol, scenario.clinic
        self.u = plan.u
        rate = clinic.accrual_per_year / WEEKS_PER_YEAR
        arrival = np.cumsum(-np.log1p(-self.u[:, _U_ARRIVAL]) / rate)
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
            self.log.append if events else (lambda _row: None))
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

    def run(self) -> None:
        for i in range(len(self.ids)):
            self.env.process(self.pregnancy(i))
        self.env.run()

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
            rec((pid, CONCEPTION_WEEK, lmp + CONCEPTION_WEEK, "expectant_management",
                 "emotional support, no drug"))
        yield env.timeout(max(lmp + CONCEPTION_WEEK - env.now, 0.0))
        if self.ivf[i]:
            tw = CONCEPTION_WEEK + self.tdays[i] / 7
            rec((pid, CONCEPTION_WEEK, lmp + CONCEPTION_WEEK, "oocyte_retrieval", "IVF cycle"))
            rec((pid, tw, lmp + tw, "embryo_transfer", f"day-{self.tdays[i]} transfer"))
        rec((pid, CONCEPTION_WEEK, lmp + CONCEPTION_WEEK, "conception",
             "ivf" if self.ivf[i] else "natural"))
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
            rec((pid, end + kd, lmp + end + kd, "karyotype_result",
                 "euploid" if self.euploid[i] else "aneuploid"))

    def infusions(self, i: int, pid: int, lmp: float, end: float
                  ) -> Generator[simpy.Event, object, None]:
        """Her infusions, each waiting for a chair, until the pregnancy or the last week ends."""
        env, rec, last_week, dur = self.env, self.rec, self.last_week, self.dur
        u_iv = self.u[i, _U_INTERVALS].tolist()
        first = self.first[i]
        # Planned week = first + (sum of intervals so far) + (waits so far), summed as in
        # _count_infusions, so that without waits the weeks are the twin's to the bit.
        nxt, cum, delay, k = first, 0.0, 0.0, 0
        while nxt < end and nxt <= last_week:
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
            rec((pid, gw, lmp + gw, "ivig_infusion",
                 f"{self.doses[i]:.1f} g ({self.dose_text}), infusion {self.n_inf[i]}"))
            if k == len(u_iv):
                break
            cum += self.iv_lo + u_iv[k] * self.iv_width
            delay += w
            nxt = first + cum + delay
            k += 1
