"""The outcome model: P(live birth | stratum, age, BMI, losses, immune profile, IVIG) and when.

One model serves the SimPy timeline and the vectorised twin.

Live birth vs miscarriage (among pregnancies that are neither chemical nor stillbirths — the
paper's analysed set, section 2.2) is logistic::

    logit q = b[stratum, profile group] + β_e · (x − x̄_stratum) − treated_shift

with β_e = log of the per-etiology odds ratios of Table 2 (age, BMI, previous miscarriages;
the OR and CI are followed where the printed B disagrees in sign) and the intercepts ``b``
*solved* so that each stratum's rate, averaged over its own covariate distribution, equals
Table 3. The average is computed by quadrature (Gauss–Legendre in probability space for the
truncated normals, exact sums over the losses pmf), so the intercepts are exact, not
Monte-Carlo. Optional immune-profile rates (Figure 3B) get their own intercepts inside IA,
and the rest of IA gets the intercept that keeps the whole stratum at its Table 3 rate.

Without IVIG, an abnormal woman's log-odds drop by ``log(ivig_odds_ratio)`` (a scenario
assumption: the paper treated every abnormal woman). ``untreated_abnormal_lbr`` is turned into
that shift by solving the mean rate of abnormal women.

Other fates, independent of covariates (section 2.2 counts): chemical pregnancy before
confirmation (7 of 476), stillbirth ≥ 20 weeks (3 of 469); weeks from stated distributions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize, special

from rplsim.cohort.distributions import bounded_for_moments, discrete_maxent, truncnorm_for_moments
from rplsim.cohort.model import PROFILE_NAMES, cohort_model
from rplsim.exceptions import CalibrationError, ScenarioError
from rplsim.scenario import STRATA, CohortParams, OutcomeParams, Scenario

__all__ = [
    "COVARIATES",
    "FATES",
    "OutcomeModel",
    "live_birth_probability",
    "outcome_model",
    "outcome_model_cached",
    "outcome_week",
    "sample_fates",
    "shift_for_rate",
]

FATES: tuple[str, ...] = ("live_birth", "miscarriage", "stillbirth", "chemical")
COVARIATES: tuple[str, ...] = ("age", "bmi", "previous_miscarriages")
_GL_NODES = 48
# IA profile groups with their own intercept (Figure 3B), by index in PROFILE_NAMES.
_PROFILE_GROUP = {"nk_nka": PROFILE_NAMES.index("NK+NKa"), "nk_th": PROFILE_NAMES.index("NK+Th")}


@dataclass(frozen=True)
class _Quadrature:
    """Nodes and weights of the covariate distribution of one stratum (sum of weights = 1)."""

    x: np.ndarray  # (m, 3) centred covariates
    w: np.ndarray  # (m,)
    misc: np.ndarray  # (m,) uncentred previous miscarriages (for eligibility filters)


@dataclass(frozen=True)
class OutcomeModel:
    """The solved live-birth model (see the module doc).

    Attributes
    ----------
    beta : ndarray, shape (2, 3)
        Log odds ratios per unit of age, BMI, previous miscarriages; row 0 known, row 1
        idiopathic.
    centre : ndarray, shape (4, 3)
        Covariate means per stratum (Table 1), used to centre.
    intercept : ndarray, shape (4, 8)
        Intercept per stratum and immune profile (index of ``PROFILE_NAMES``).
    ivig_log_or : float or None
        log odds ratio of live birth with vs without IVIG in abnormal immunity; None when the
        scenario does not say (then no abnormal woman may go untreated).
    """

    beta: np.ndarray
    centre: np.ndarray
    intercept: np.ndarray
    ivig_log_or: float | None
    profile_weights: np.ndarray  # (4, 8) share of each profile within each stratum
    quad: tuple[_Quadrature, ...]

    def linear_predictor(self, stratum: np.ndarray, profile: np.ndarray, x: np.ndarray) -> np.ndarray:
        """log-odds of live birth *with* the protocol, for women given by codes and covariates."""
        etio = (stratum >= 2).astype(int)
        xc = x - self.centre[stratum]
        eta: np.ndarray = self.intercept[stratum, profile] + np.einsum("ij,ij->i", xc, self.beta[etio])
        return eta

    def stratum_rate(self, s: int, shift: float = 0.0, misc_min: int = 0) -> tuple[float, float]:
        """(mean live-birth rate, probability mass) of stratum ``s`` restricted to women with
        at least ``misc_min`` previous miscarriages, with ``shift`` added to the log-odds."""
        q = self.quad[s]
        keep = q.misc >= misc_min
        w = q.w * keep
        mass = float(w.sum())
        if mass <= 0:
            return float("nan"), 0.0
        etio = int(s >= 2)
        lin = _lin(q.x, self.beta[etio])
        pw = self.profile_weights[s]
        rate = 0.0
        for g in np.flatnonzero(pw > 0):
            rate += pw[g] * _wmean(w, special.expit(self.intercept[s, g] + lin + shift))
        return rate / mass, mass

    def stratum_rates(self, s: int, shifts: np.ndarray, misc_min: int = 0) -> np.ndarray:
        """:meth:`stratum_rate`'s rate at many shifts at once (NaN when no woman qualifies)."""
        q = self.quad[s]
        w = q.w * (q.misc >= misc_min)
        mass = float(w.sum())
        sh = np.asarray(shifts, dtype=float)
        if mass <= 0:
            return np.full(sh.shape, np.nan)
        lin = _lin(q.x, self.beta[int(s >= 2)])
        pw = self.profile_weights[s]
        rate = np.zeros(sh.shape)
        for g in np.flatnonzero(pw > 0):
            rate += pw[g] * np.sum(
                w[:, None] * special.expit(self.intercept[s, g] + lin[:, None] + sh[None, :]), axis=0
            )
        out: np.ndarray = rate / mass
        return out


# The quadrature sums avoid BLAS (``@``): a threaded BLAS splits a dot product across threads,
# so its last bits depend on the thread count, and on a busy machine its thread hand-off made
# each 20,000-node sum take ~20 ms instead of ~20 µs. numpy's pairwise sum is deterministic.
def _lin(x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """``x @ beta`` for covariate rows ``x`` (m, 3), summed in a fixed order."""
    lin: np.ndarray = x[:, 0] * beta[0] + x[:, 1] * beta[1] + x[:, 2] * beta[2]
    return lin


def _wmean(w: np.ndarray, values: np.ndarray) -> float:
    """``w @ values`` by numpy's pairwise summation."""
    return float(np.sum(w * values))


def _quadrature(params: CohortParams, s: str) -> _Quadrature:
    u, wu = np.polynomial.legendre.leggauss(_GL_NODES)
    u, wu = (u + 1) / 2, wu / 2
    parts = []
    for var, family in (("age", "normal"), ("bmi", params.bmi_family)):
        m = getattr(getattr(params, var), s)
        law = bounded_for_moments(float(m.mean), float(m.sd), float(m.min), float(m.max), family)
        parts.append(law.ppf(u))
    m = params.previous_miscarriages.__getattribute__(s)
    pmf = discrete_maxent(float(m.mean), float(m.sd), int(m.min), int(m.max))
    k = np.asarray(pmf.support, float)
    pk = np.asarray(pmf.probs)
    a, b, c = np.meshgrid(parts[0], parts[1], k, indexing="ij")
    wa, wb, wc = np.meshgrid(wu, wu, pk, indexing="ij")
    x = np.column_stack([a.ravel(), b.ravel(), c.ravel()])
    centre = np.array([getattr(params, v).__getattribute__(s).mean for v in COVARIATES])
    return _Quadrature(x=x - centre, w=(wa * wb * wc).ravel(), misc=c.ravel())


def _solve_intercept(lin: np.ndarray, w: np.ndarray, target: float, what: str) -> float:
    if not 0 < target < 1:
        raise CalibrationError(
            f"{what}: a live-birth rate of {target:.4f} cannot be met; it must be in (0, 1)."
        )

    def f(b: float) -> float:
        return _wmean(w, special.expit(b + lin)) - target

    return float(optimize.brentq(f, -40, 40, xtol=1e-13))


def _profile_weights(params: CohortParams) -> np.ndarray:
    cm = cohort_model(params)
    out = np.zeros((4, 8))
    out[0, 7] = out[2, 7] = 1.0
    # KA: profile mix depends on the losses band; mix the two band rows by the band mass.
    band = cm.misc_band_probs[1]
    rows = np.diff(np.concatenate([np.zeros((3, 1)), cm.profile_cdf], axis=1), axis=1)
    out[1, :7] = band[0] * rows[0] + band[1] * rows[1]
    out[3, :7] = rows[2]
    return out


@lru_cache(maxsize=64)
def outcome_model_cached(cohort: CohortParams, outcome: OutcomeParams) -> OutcomeModel:
    """Solve the outcome model from its two sections (cached per parameter pair).

    :func:`outcome_model` for callers that hold the sections rather than a whole
    :class:`~rplsim.scenario.Scenario` (the trial re-solves it for an arm's eligible cohort).

    Parameters
    ----------
    cohort : CohortParams
        The ``[cohort]`` section (covariate distributions, strata, immune profiles).
    outcome : OutcomeParams
        The ``[outcome]`` section (target rates, odds ratios, IVIG effect).

    Returns
    -------
    OutcomeModel
        The same (cached) object for equal arguments; treat it as read-only.

    Raises
    ------
    CalibrationError
        If a target rate cannot be met.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> sc = load_scenario("scenarios/paper.toml")  # doctest: +SKIP
    >>> outcome_model_cached(sc.cohort, sc.outcome) is outcome_model(sc)  # doctest: +SKIP
    True
    """
    beta = np.log(
        [
            [getattr(outcome.odds_ratios_known, v) for v in COVARIATES],
            [getattr(outcome.odds_ratios_idiopathic, v) for v in COVARIATES],
        ]
    )
    centre = np.array([[getattr(getattr(cohort, v), s).mean for v in COVARIATES] for s in STRATA])
    quad = tuple(_quadrature(cohort, s) for s in STRATA)
    pw = _profile_weights(cohort)
    intercept = np.zeros((4, 8))
    for i, s in enumerate(STRATA):
        q = quad[i]
        lin = _lin(q.x, beta[int(i >= 2)])
        target = float(getattr(outcome.lbr, s))
        if s == "IA" and outcome.profile_lbr is not None and outcome.use_profile_lbr:
            fixed = {}
            for name, g in _PROFILE_GROUP.items():
                r = getattr(outcome.profile_lbr, name)
                if r is not None and pw[i, g] > 0:
                    fixed[g] = _solve_intercept(lin, q.w, float(r), f"outcome.profile_lbr.{name}")
            w_fixed = sum(pw[i, g] for g in fixed)
            rate_fixed = sum(pw[i, g] * _wmean(q.w, special.expit(b + lin)) for g, b in fixed.items())
            rest = (target - rate_fixed) / (1 - w_fixed) if w_fixed < 1 else None
            if rest is None or not 0 < rest < 1:
                raise CalibrationError(
                    f"outcome.profile_lbr: with these subgroup rates the other IA women would "
                    f"need a live-birth rate of {rest}, impossible; change the subgroup rates "
                    "or outcome.lbr.IA."
                )
            b_rest = _solve_intercept(lin, q.w, rest, "outcome.lbr.IA (other profiles)")
            intercept[i, :] = b_rest
            for g, b in fixed.items():
                intercept[i, g] = b
        else:
            intercept[i, :] = _solve_intercept(lin, q.w, target, f"outcome.lbr.{s}")
    model = OutcomeModel(
        beta=beta, centre=centre, intercept=intercept, ivig_log_or=None, profile_weights=pw, quad=quad
    )
    if outcome.ivig_odds_ratio is not None:
        log_or = float(np.log(outcome.ivig_odds_ratio))
    elif outcome.untreated_abnormal_lbr is not None:
        shares = np.array([cohort.strata.KA, cohort.strata.IA])
        log_or = -shift_for_rate(
            model, (1, 3), shares, outcome.untreated_abnormal_lbr, what="outcome.untreated_abnormal_lbr"
        )
    else:
        log_or = None
    return OutcomeModel(
        beta=beta, centre=centre, intercept=intercept, ivig_log_or=log_or, profile_weights=pw, quad=quad
    )


def outcome_model(scenario: Scenario) -> OutcomeModel:
    """Solve the scenario's outcome model (cached per parameter set).

    Raises
    ------
    CalibrationError
        If a target rate cannot be met (e.g. subgroup rates that leave the rest of IA outside
        (0, 1)).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> m = outcome_model(load_scenario("scenarios/paper.toml"))
    >>> [round(float(m.stratum_rate(s)[0]), 3) for s in range(4)]  # KN, KA, IN, IA; Table 3
    [0.814, 0.835, 0.801, 0.78]
    """
    return outcome_model_cached(scenario.cohort, scenario.outcome)


# The private name trial/ used before it was published; kept for one release.
_outcome_model_cached = outcome_model_cached


def shift_for_rate(
    model: OutcomeModel,
    strata: tuple[int, ...],
    weights: np.ndarray,
    target: float,
    *,
    misc_min: int = 0,
    what: str = "rate",
) -> float:
    """The log-odds shift that makes the mean live-birth rate of a population equal ``target``.

    The population is the union of ``strata`` (codes 0..3) in proportions ``weights``
    (stratum shares), restricted to women with ≥ ``misc_min`` previous miscarriages. Used for
    the untreated rate of abnormal women and for a trial arm's marginal rate.
    """
    if not 0 < target < 1:
        raise CalibrationError(f"{what} == {target}, must be in (0, 1).")

    def mean_rate(shift: float) -> float:
        num = den = 0.0
        for s, wt in zip(strata, weights, strict=True):
            r, mass = model.stratum_rate(s, shift, misc_min)
            if mass > 0:
                num += wt * mass * r
                den += wt * mass
        if den <= 0:
            raise CalibrationError(f"{what}: no woman in the population (misc_min {misc_min}).")
        return num / den - target

    return float(optimize.brentq(mean_rate, -40, 40, xtol=1e-12))


def live_birth_probability(
    model: OutcomeModel,
    cohort: pd.DataFrame,
    treated: np.ndarray | None = None,
    shift: float | np.ndarray = 0.0,
) -> np.ndarray:
    """P(live birth | analysed pregnancy) for each woman of ``cohort``.

    Parameters
    ----------
    model : OutcomeModel
    cohort : DataFrame
        Rows from :func:`rplsim.generate_cohort`.
    treated : bool array, optional
        Whether each woman gets the protocol's IVIG. Default: the protocol (all abnormal women
        are treated). An abnormal woman with ``treated`` False loses ``ivig_log_or``.
    shift : float or array
        Added to the log-odds (trial arms solved to marginal rates).

    Raises
    ------
    ScenarioError
        If an abnormal woman is untreated and the scenario gives no IVIG effect.

    Examples
    --------
    >>> from rplsim import generate_cohort, load_scenario
    >>> sc = load_scenario("scenarios/paper.toml", {"cohort": {"n": 60}})
    >>> p = live_birth_probability(outcome_model(sc), generate_cohort(sc, seed=1))
    >>> p.shape, bool(((p > 0) & (p < 1)).all())
    ((60,), True)
    """
    stratum = cohort["stratum"].cat.codes.to_numpy()
    profile = cohort["immune_profile"].cat.codes.to_numpy()
    x = cohort[list(COVARIATES)].to_numpy(dtype=float)
    eta = model.linear_predictor(stratum, profile, x) + shift
    if treated is not None:
        abnormal = (stratum == 1) | (stratum == 3)
        untreated = abnormal & ~np.asarray(treated, bool)
        if untreated.any():
            if model.ivig_log_or is None:
                raise ScenarioError(
                    "outcome.untreated_abnormal_lbr / outcome.ivig_odds_ratio: abnormal women go "
                    "untreated here, so one of the two is required (the paper has no untreated "
                    "abnormal group: state your assumption)."
                )
            eta = eta - untreated * model.ivig_log_or
    p: np.ndarray = special.expit(eta)
    return p


def _weeks(u: np.ndarray, spec: object) -> np.ndarray:
    tn = truncnorm_for_moments(spec.mean, spec.sd, spec.min, spec.max)  # type: ignore[attr-defined]
    return tn.ppf(u)


def outcome_week(outcome: OutcomeParams, live: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The gestational week a confirmed pregnancy ends, from one uniform each: a live birth's
    from ``live_birth_week``, any other end's from ``miscarriage_week`` (the week laws
    :func:`sample_fates` uses; a stillbirth, 3 in 469 (Section 2.2), is drawn as a loss).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> o = load_scenario("scenarios/paper.toml").outcome
    >>> w = outcome_week(o, np.array([True, False]), np.array([0.5, 0.5]))
    >>> bool(w[0] > 36 > 12 > w[1])
    True
    """
    live = np.asarray(live, bool)
    week = np.empty(live.shape)
    week[live] = _weeks(u[live], outcome.live_birth_week)
    week[~live] = _weeks(u[~live], outcome.miscarriage_week)
    return week


def sample_fates(
    outcome: OutcomeParams, p_live: np.ndarray, stratum: np.ndarray, u: np.ndarray
) -> dict[str, np.ndarray]:
    """Turn uniforms into fates, vectorised: the one sampler both paths use.

    Parameters
    ----------
    outcome : OutcomeParams
    p_live : ndarray
        P(live birth | analysed) per woman.
    stratum : ndarray of int
        Stratum codes (0..3).
    u : ndarray, shape (n, 6)
        Uniforms: fate, fate week, (unused), karyotyped, euploid, spare.

    Returns
    -------
    dict
        ``fate`` (index into :data:`FATES`), ``week`` (gestational week the pregnancy ends),
        ``karyotyped`` and ``euploid`` (bool; False unless a karyotyped miscarriage).
    """
    pc, ps = outcome.chemical_rate, outcome.stillbirth_rate
    f = u[:, 0]
    chem = f < pc
    still = ~chem & (f < pc + (1 - pc) * ps)
    # Rescale the same uniform for the live-birth draw so the three choices use one number.
    g = (f - pc - (1 - pc) * ps) / ((1 - pc) * (1 - ps))
    live = ~chem & ~still & (g < p_live)
    fate = np.ones(f.size, dtype=np.int64)
    fate[live] = 0
    fate[still] = 2
    fate[chem] = 3
    wk = u[:, 1]
    miscarriage = fate == 1
    # Each week distribution only for the rows that end that way (elementwise, so the values
    # are those of evaluating it for everyone).
    week = np.empty(f.size)
    week[live] = _weeks(wk[live], outcome.live_birth_week)
    week[miscarriage] = _weeks(wk[miscarriage], outcome.miscarriage_week)
    sb, cw = outcome.stillbirth_week, outcome.chemical_week
    week[still] = sb.min + wk[still] * (sb.max - sb.min)
    week[chem] = cw.min + wk[chem] * (cw.max - cw.min)
    k_share = np.array([getattr(outcome.karyotype_share, s) for s in STRATA])[stratum]
    e_share = np.array([getattr(outcome.euploid_share, s) for s in STRATA])[stratum]
    karyo = miscarriage & (u[:, 3] < k_share)
    euploid = karyo & (u[:, 4] < e_share)
    return {"fate": fate, "week": week, "karyotyped": karyo, "euploid": euploid}
