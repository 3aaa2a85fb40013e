"""The vectorised twin of the timeline: each woman's plan and outcome without the clinic queue.

Randomness: every woman has her own row of uniforms, keyed by her ``patient_id`` under the
run's seed (blocks of :data:`rplsim.cohort.BLOCK` ids per stream). Her timeline therefore does
not change when other women are added or the batch size changes, and the twin — which reads
the same rows — reproduces the SimPy outcomes of :mod:`rplsim.timeline.simulation` woman for
woman when chairs are ample.

The IVF dosing day (retrieval or transfer) and the transfer day (3 or 5) are drawn from one
uniform per woman, split by ``protocol.ivf_retrieval_dose_share`` and
``protocol.ivf_day5_transfer_share``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from rplsim._core.rng import SeedLike, child_generator, root_entropy
from rplsim.cohort.generate import BLOCK
from rplsim.outcome.model import FATES, live_birth_probability, outcome_model, sample_fates
from rplsim.scenario import Scenario
from rplsim.scenario.params import ProtocolParams

__all__ = [
    "N_UNIFORMS",
    "WomanPlan",
    "count_infusions",
    "dose_mechanism_on",
    "dose_uniforms",
    "ivig_dose",
    "patient_uniforms",
    "simulate_twin",
]

N_UNIFORMS = 24
_U_FATE, _U_WEEK, _U_CONF, _U_DELAY, _U_KARYO, _U_EUPLOID, _U_ADHERE, _U_IVFDAY = range(8)
_U_ARRIVAL = 8
_U_INTERVALS = slice(9, 24)  # up to 15 intervals: enough for week 2 to 30 at 2-week spacing


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
    cap : float array
        Most index-pregnancy infusions she gets (``inf``: the protocol's; a course that stops
        early: ``protocol.ivig_incomplete_share``).
    failed_cycles : int array
        IVIG doses of her failed IVF cycles before the index pregnancy
        (``protocol.ivf_failed_cycles_mean``).
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
    cap: np.ndarray
    failed_cycles: np.ndarray


def patient_uniforms(
    seed: SeedLike, patient_ids: np.ndarray, stage: str = "timeline", k: int = N_UNIFORMS
) -> np.ndarray:
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
        src = rows[first : last + 1] if last - first == hi - lo - 1 else rows[local]
        if order is None:
            out[lo:hi] = src
        else:
            out[order[lo:hi]] = src
    return out


def _plan(
    cohort: pd.DataFrame,
    scenario: Scenario,
    u: np.ndarray,
    treated: np.ndarray | None = None,
    shift: float | np.ndarray = 0.0,
    u_dose: np.ndarray | None = None,
) -> WomanPlan:
    """Everything about each woman that does not depend on the clinic, vectorised.

    Infusion intervals are not expanded here (only IVIG women need them): see
    :func:`count_infusions`.
    """
    out_p, prot = scenario.outcome, scenario.protocol
    stratum = cohort["stratum"].cat.codes.to_numpy()
    abnormal = (stratum == 1) | (stratum == 3)
    adherent = u[:, _U_ADHERE] < out_p.adherence
    indicated = abnormal if treated is None else np.asarray(treated, bool)
    on_ivig = indicated & adherent
    model = outcome_model(scenario)
    p_live = live_birth_probability(model, cohort, treated=on_ivig | ~abnormal, shift=shift)
    fates = sample_fates(
        out_p, p_live, stratum, u[:, [_U_FATE, _U_WEEK, _U_CONF, _U_KARYO, _U_EUPLOID, _U_IVFDAY]]
    )
    ivf = (cohort["conception"] == "ivf").to_numpy()
    c = prot.confirmation_week
    conf = c.min + u[:, _U_CONF] * (c.max - c.min)
    d = prot.first_dose_delay
    # IVF: retrieval day (conception) or transfer 3 or 5 days later, by the woman's own uniform.
    u_ivf = u[:, _U_IVFDAY]
    transfer_days = 3 + 2 * (u_ivf >= 1 - prot.ivf_day5_transfer_share)
    ivf_day = np.where(
        u_ivf < prot.ivf_retrieval_dose_share,
        prot.ivf_first_dose_week,
        prot.ivf_first_dose_week + transfer_days / 7,
    )
    first = np.where(ivf, ivf_day, conf + d.min + u[:, _U_DELAY] * (d.max - d.min))
    fate = fates["fate"]
    # A natural conception is treated from confirmation on; a chemical pregnancy ends before
    # it, so it gets no infusion (an IVF cycle may: its first dose precedes any test).
    first = np.where(~ivf & (fate == 3), np.inf, first)
    dose = ivig_dose(prot, cohort["weight_kg"].to_numpy(float))
    # "analysed" = the paper's denominator: live births + miscarriages of adherent women.
    analysed = ((fate == 0) | (fate == 1)) & (adherent | ~indicated)
    cap, cycles = _dose_mechanism(prot, stratum, on_ivig, ivf, first, fates["week"], u, u_dose)
    return WomanPlan(
        stratum=stratum,
        on_ivig=on_ivig,
        adherent=adherent | ~indicated,
        ivf=ivf,
        transfer_days=transfer_days,
        conf=conf,
        first=first,
        dose=dose,
        analysed=analysed,
        u=u,
        fate=fates["fate"],
        week=fates["week"],
        karyotyped=fates["karyotyped"],
        euploid=fates["euploid"],
        cap=cap,
        failed_cycles=cycles,
    )


def dose_mechanism_on(prot: ProtocolParams) -> bool:
    """Whether the scenario doses failed IVF cycles or stops some courses early (issue 18)."""
    fc, inc = prot.ivf_failed_cycles_mean, prot.ivig_incomplete_share
    return max(fc.known, fc.idiopathic, inc.known, inc.idiopathic) > 0


def dose_uniforms(
    scenario: Scenario, seed: SeedLike, patient_ids: np.ndarray, stage: str
) -> np.ndarray | None:
    """Each woman's three uniforms of the dose mechanism (failed cycles; whether and where her
    course stops), on their own keyed stream so that every other draw is as without it; ``None``
    when the mechanism is off."""
    if not dose_mechanism_on(scenario.protocol):
        return None
    return patient_uniforms(seed, patient_ids, f"{stage}-dose", k=3)


def _dose_mechanism(
    prot: ProtocolParams, stratum: np.ndarray, on_ivig: np.ndarray, ivf: np.ndarray, first: np.ndarray,
    end: np.ndarray, u: np.ndarray, u_dose: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(cap, failed_cycles) of each woman: the most index-pregnancy infusions she gets and her
    failed IVF cycles' doses. A course that stops early gives ``floor(v x planned)`` of its
    planned infusions (``v`` uniform: 0 to planned - 1); failed cycles are Poisson with the
    stratum's mean, truncated at ``ivf_failed_cycles_max``, for IVF women on IVIG."""
    n = stratum.size
    cap = np.full(n, np.inf)
    cycles = np.zeros(n, np.int64)
    if u_dose is None:
        return cap, cycles
    fc, inc = prot.ivf_failed_cycles_mean, prot.ivig_incomplete_share
    ka, ia = stratum == 1, stratum == 3
    stops = on_ivig & (u_dose[:, 1] < np.where(ka, inc.known, np.where(ia, inc.idiopathic, 0.0)))
    idx = np.flatnonzero(stops)
    planned = count_infusions(first[idx], end[idx], u[idx, _U_INTERVALS], prot)
    low = prot.ivig_incomplete_minimum
    least = np.where(ka[idx], low.known, low.idiopathic)
    # uniform on least .. planned - 1; a course no longer than the least is whole
    cap[idx] = np.where(planned > least, least + np.floor(u_dose[idx, 2] * (planned - least)), np.inf)
    top = prot.ivf_failed_cycles_max
    for mask, mean in ((ka, fc.known), (ia, fc.idiopathic)):
        who = np.flatnonzero(mask & on_ivig & ivf)
        if mean > 0 and who.size:
            cdf = stats.poisson.cdf(np.arange(top + 1), mean)
            cycles[who] = np.searchsorted(cdf / cdf[-1], u_dose[who, 0], side="right").clip(0, top)
    return cap, cycles


def ivig_dose(prot: ProtocolParams, weight_kg: np.ndarray) -> np.ndarray:
    """Grams per infusion: ``protocol.ivig_dose_g_per_kg`` times the weight, rounded up to
    ``protocol.dose_rounding_g`` (vials) when that is set.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> ivig_dose(load_scenario("scenarios/paper.toml").protocol, np.array([56.3])).tolist()
    [22.52]
    """
    dose: np.ndarray = prot.ivig_dose_g_per_kg * np.asarray(weight_kg, float)
    if prot.dose_rounding_g > 0:
        dose = np.ceil(dose / prot.dose_rounding_g - 1e-9) * prot.dose_rounding_g
    return dose


def count_infusions(first: np.ndarray, end: np.ndarray, u: np.ndarray, prot: ProtocolParams) -> np.ndarray:
    """Infusions of each course without waiting for a chair: the protocol's rule, vectorised.

    Infusion ``j`` is at ``first + (interval_1 + ... + interval_j)`` (the sum accumulated left
    to right, interval ``i`` at ``ivig_interval.min + u[..., i - 1] * width``) and is given while
    before the end of the pregnancy (``end``) and not after ``protocol.ivig_last_week``. The
    timeline's SimPy process and the calendar trial's compute the same sums, so with ample
    chairs they agree with this exactly.

    Parameters
    ----------
    first, end : ndarray
        Gestational week of the first infusion (``inf``: none) and of the pregnancy's end.
    u : ndarray, shape ``first.shape + (m,)``
        Uniforms of the next ``m`` intervals (``m + 1`` infusions at most).
    prot : ProtocolParams

    Returns
    -------
    ndarray of int64, the shape of ``first``

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> prot = load_scenario("scenarios/paper.toml").protocol
    >>> count_infusions(np.array([6.0, 6.0]), np.array([39.0, 10.0]), np.full((2, 12), 0.5), prot).tolist()
    [7, 2]
    """
    iv = prot.ivig_interval
    last = prot.ivig_last_week + 1e-12
    first = np.asarray(first, float)
    end = np.asarray(end, float)
    # cumsum adds left to right, as the SimPy process does; the weeks only grow, so the
    # infusions given are a prefix and their number is a count of the weeks that pass.
    t = first[..., None] + np.cumsum(iv.min + u * (iv.max - iv.min), axis=-1)
    given = (t < end[..., None]) & (t <= last)
    ok = (first < end) & (first <= last)
    out: np.ndarray = np.where(ok, 1 + given.sum(axis=-1), 0).astype(np.int64)
    return out


def _count_infusions(plan: WomanPlan, prot: ProtocolParams) -> np.ndarray:
    """Infusions per woman without waiting (:func:`count_infusions` of the IVIG women, a course
    that stops early cut at its cap), her failed IVF cycles' doses added."""
    n_inf = np.zeros(plan.first.size, dtype=np.int64)
    idx = np.flatnonzero(plan.on_ivig)
    n_inf[idx] = count_infusions(plan.first[idx], plan.week[idx], plan.u[idx, _U_INTERVALS], prot)
    capped: np.ndarray = np.minimum(n_inf, plan.cap).astype(np.int64) + plan.failed_cycles
    return capped


def simulate_twin(
    cohort: pd.DataFrame,
    scenario: Scenario,
    seed: SeedLike = None,
    *,
    treated: np.ndarray | None = None,
    shift: float | np.ndarray = 0.0,
    stage: str = "timeline",
) -> pd.DataFrame:
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

    Examples
    --------
    >>> from rplsim import generate_cohort, load_scenario
    >>> sc = load_scenario("scenarios/paper.toml", {"cohort": {"n": 60}})
    >>> out = simulate_twin(generate_cohort(sc, seed=1), sc, seed=1)
    >>> len(out), "chair_wait_hours" in out.columns
    (60, False)
    """
    seed = scenario.seed if seed is None else seed
    ids = cohort["patient_id"].to_numpy()
    u = patient_uniforms(seed, ids, stage)
    plan = _plan(cohort, scenario, u, treated, shift, dose_uniforms(scenario, seed, ids, stage))
    n_inf = _count_infusions(plan, scenario.protocol)
    return _outcomes_frame(cohort, scenario, plan, n_inf, n_inf * plan.dose)


def _strings(col: pd.Series) -> object:
    """A categorical column as plain strings, by taking from its categories (fast)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        if codes.size == 0 or codes.min() >= 0:
            return col.cat.categories.take(codes).array
    return col.to_numpy()


def _outcomes_frame(
    cohort: pd.DataFrame,
    scenario: Scenario,
    plan: WomanPlan,
    n_inf: np.ndarray,
    grams: np.ndarray,
    wait: np.ndarray | None = None,
) -> pd.DataFrame:
    df = pd.DataFrame(
        {
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
        }
    )
    if wait is not None:
        df["chair_wait_hours"] = wait
    return df
