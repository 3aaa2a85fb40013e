"""Synthetic RPL cohorts calibrated to Table 1, Figures 2 and 6 of Han et al. 2025.

The generator works in fixed blocks of :data:`BLOCK` women, each drawn from its own keyed
stream (``("cohort", block)`` under the root seed) with a fixed number of draws, so the first
``k`` women of a cohort of ``n`` are the same women as a cohort of ``k`` with the same seed,
whatever ``n``. Within a block everything is vectorised numpy; there is no per-woman loop.

Order of the draws for one woman: stratum → age, BMI, height → previous miscarriages, parity →
immune profile (depends on etiology and, in the known group, on 2–3 vs ≥ 4 losses: Figure 6A)
→ continuous markers conditioned on the profile's flags (so flags are exactly the cut-offs
applied to the values) → known cause → conception mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from rplsim.cohort.distributions import (
    bounded_for_moments,
    discrete_maxent,
    sample_discrete,
    sample_truncnorm,
)
from rplsim.exceptions import CalibrationError, ScenarioError
from rplsim._core.rng import SeedLike, child_generator, root_entropy
from rplsim.scenario import KNOWN_CAUSES, PROFILES, STRATA, CohortParams, Scenario
from rplsim._core.validation import check_integer

__all__ = ["BLOCK", "COLUMNS", "CohortModel", "cohort_model", "generate_cohort"]

BLOCK = 8192
COLUMNS: tuple[str, ...] = (
    "patient_id", "etiology", "immunity", "stratum", "age", "bmi", "height_m", "weight_kg",
    "previous_miscarriages", "parity", "nk_percent", "nk_cytotoxicity_50", "nk_cytotoxicity_25",
    "nk_cytotoxicity_12_5", "th1_th2_ratio", "nk_high", "nk_cytotoxicity_high", "th1_th2_high",
    "immune_profile", "known_cause", "conception",
)
# Flags (nk, nka, th) of each profile, in PROFILES order, then "none".
PROFILE_FLAGS = np.array(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1], [0, 0, 0]],
    dtype=bool,
)
PROFILE_NAMES: tuple[str, ...] = (*PROFILES, "none")
_TH_PROFILES = PROFILE_FLAGS[:7, 2]
_MAX_REJECTION_ROUNDS = 500


@dataclass(frozen=True)
class CohortModel:
    """The solved, sampling-ready form of a :class:`~rplsim.scenario.CohortParams`.

    Attributes hold per-stratum arrays (index 0..3 = KN, KA, IN, IA) so one fancy-index gives
    every woman her stratum's parameters.
    """

    strata_cdf: np.ndarray          # (4,)
    age: np.ndarray                 # (4, 4): mu, sigma, a, b
    bmi: np.ndarray                 # (4, 4)
    height: np.ndarray              # (4,): mu, sigma, a, b
    misc_cdf: np.ndarray            # (4, K)
    misc_lo: np.ndarray             # (4,)
    parity_cdf: np.ndarray          # (4, K)
    parity_lo: np.ndarray           # (4,)
    profile_cdf: np.ndarray         # (3, 7): rows KA 2-3 losses, KA >= 4, IA
    cause_cdf: np.ndarray           # (6,)
    misc_band_probs: np.ndarray     # (4, 2): P(2-3), P(>=4) per stratum


def _tn_row(m: object, family: str = "normal") -> np.ndarray:
    """(mu, sigma, a, b) of the solved law; for "lognormal" on the log scale."""
    d = bounded_for_moments(float(m.mean), float(m.sd), float(m.min), float(m.max),  # type: ignore[attr-defined]
                            family)
    lo, hi = (np.log(d.lo), np.log(d.hi)) if family == "lognormal" else (d.lo, d.hi)
    return np.array([d.mu, d.sigma, (lo - d.mu) / d.sigma, (hi - d.mu) / d.sigma])


def _pmf_table(per: object) -> tuple[np.ndarray, np.ndarray, list]:
    pmfs = []
    for s in STRATA:
        m = getattr(per, s)
        if float(m.min) != int(m.min) or float(m.max) != int(m.max):
            raise ScenarioError(f"{s}: min == {m.min} / max == {m.max}, must be integers for a "
                                "count.")
        pmfs.append(discrete_maxent(float(m.mean), float(m.sd), int(m.min), int(m.max)))
    width = max(len(p.support) for p in pmfs)
    cdf = np.ones((4, width))
    for i, p in enumerate(pmfs):
        cdf[i, : len(p.support)] = p.cdf_table()
    lo = np.array([p.support[0] for p in pmfs])
    return cdf, lo, pmfs


def _profile_rows(params: CohortParams, misc_pmfs: list) -> tuple[np.ndarray, np.ndarray]:
    imm = params.immune
    band = np.array([[sum(pr for k, pr in zip(p.support, p.probs, strict=True) if k <= 3),
                      sum(pr for k, pr in zip(p.support, p.probs, strict=True) if k >= 4)]
                     for p in misc_pmfs])
    known = np.array(list(imm.profiles_known.shares().values()))
    idio = np.array(list(imm.profiles_idiopathic.shares().values()))
    rows = np.vstack([known, known, idio])
    if imm.th1_th2_known_2_3 is not None:
        # Figure 6A gives P(high Th1/Th2 | known, band) over the whole known group; only KA women
        # can have it, so within KA the Th share of band b is target_b / P(KA | known, b).
        s_kn, s_ka = params.strata.KN, params.strata.KA
        for b, target in enumerate((imm.th1_th2_known_2_3, imm.th1_th2_known_4plus)):
            p_ka = s_ka * band[1, b] / (s_kn * band[0, b] + s_ka * band[1, b])
            q = float(target) / p_ka if p_ka > 0 else 0.0
            th_w, other_w = known * _TH_PROFILES, known * ~_TH_PROFILES
            if q > 1 or (q > 0 and th_w.sum() == 0) or (q < 1 and other_w.sum() == 0):
                raise CalibrationError(
                    f"cohort.immune.th1_th2_known_{'2_3' if b == 0 else '4plus'} == {target} "
                    f"needs {q:.3f} of KA women with that many losses to have high Th1/Th2, "
                    "which the profile weights cannot give; lower it or change the weights.")
            row = np.zeros(7)
            if th_w.sum() > 0:
                row += q * th_w / th_w.sum()
            if other_w.sum() > 0:
                row += (1 - q) * other_w / other_w.sum()
            rows[b] = row
    cdf = np.cumsum(rows, axis=1)
    cdf[:, -1] = 1.0
    return cdf, band


@lru_cache(maxsize=64)
def _cohort_model_cached(params: CohortParams) -> CohortModel:
    shares = np.array([getattr(params.strata, s) for s in STRATA], dtype=float)
    strata_cdf = np.cumsum(shares / shares.sum())
    strata_cdf[-1] = 1.0
    misc_cdf, misc_lo, misc_pmfs = _pmf_table(params.previous_miscarriages)
    if misc_lo.min() < 0:
        raise ScenarioError("cohort.previous_miscarriages: min must be >= 0.")
    parity_cdf, parity_lo, _ = _pmf_table(params.parity)
    profile_cdf, band = _profile_rows(params, misc_pmfs)
    causes = np.array([getattr(params.known_causes, c) for c in KNOWN_CAUSES], dtype=float)
    cause_cdf = np.cumsum(causes / causes.sum())
    cause_cdf[-1] = 1.0
    return CohortModel(
        strata_cdf=strata_cdf,
        age=np.vstack([_tn_row(getattr(params.age, s)) for s in STRATA]),
        bmi=np.vstack([_tn_row(getattr(params.bmi, s), params.bmi_family) for s in STRATA]),
        height=_tn_row(params.height),
        misc_cdf=misc_cdf, misc_lo=misc_lo, parity_cdf=parity_cdf, parity_lo=parity_lo,
        profile_cdf=profile_cdf, cause_cdf=cause_cdf, misc_band_probs=band,
    )


def cohort_model(params: CohortParams) -> CohortModel:
    """Solve the cohort's distributions once (cached per parameter set).

    Raises
    ------
    CalibrationError
        If a Table 1 cell or a Figure 6 share cannot be met by the model.
    """
    return _cohort_model_cached(params)


def _lognormal_given_flag(
    u: np.ndarray, median: float, gsd: float, cutoff: float, high: np.ndarray
) -> np.ndarray:
    mu, s = np.log(median), np.log(gsd)
    c = (np.log(cutoff) - mu) / s
    # One call per side of the cut-off with scalar bounds: the same bits as per-woman bounds,
    # without the normal CDF of a bound for every woman.
    z = np.empty(u.size)
    for side, a, b in ((True, c, np.inf), (False, -np.inf, c)):
        idx = np.flatnonzero(high == side)
        if idx.size:
            z[idx] = sample_truncnorm(u[idx], np.float64(mu), np.float64(s), np.float64(a),
                                      np.float64(b))
    x = np.exp(z)
    # A value must land strictly on its side of the cut-off ("abnormal when > cut-off").
    return np.where(high, np.maximum(x, np.nextafter(cutoff, np.inf)), np.minimum(x, cutoff))


def _cytotoxicity_rule(c: np.ndarray, cut: np.ndarray, rule: str) -> np.ndarray:
    above = c > cut
    if rule == "any":
        return above.any(axis=1)
    if rule == "all":
        return above.all(axis=1)
    if rule == "majority":
        return above.sum(axis=1) >= 2
    return above[:, 0]  # "50:1"


def cytotoxicity_high(c50: np.ndarray, c25: np.ndarray, c12: np.ndarray, params: CohortParams
                      ) -> np.ndarray:
    """The high-cytotoxicity flag from the three E:T values by the scenario's rule."""
    imm = params.immune
    cut = np.array([imm.cytotoxicity_50_cutoff, imm.cytotoxicity_25_cutoff,
                    imm.cytotoxicity_12_5_cutoff])
    return _cytotoxicity_rule(np.column_stack([c50, c25, c12]), cut, imm.cytotoxicity_rule)


def _cytotoxicity_given_flag(g: np.random.Generator, params: CohortParams, high: np.ndarray
                             ) -> np.ndarray:
    imm = params.immune
    ln = [imm.cytotoxicity_50, imm.cytotoxicity_25, imm.cytotoxicity_12_5]
    mu = np.log([x.median for x in ln])
    s = np.log([x.gsd for x in ln])
    rho = imm.cytotoxicity_correlation
    chol = np.linalg.cholesky(np.full((3, 3), rho) + (1 - rho) * np.eye(3))
    cut = np.array([imm.cytotoxicity_50_cutoff, imm.cytotoxicity_25_cutoff,
                    imm.cytotoxicity_12_5_cutoff])
    out = np.empty((high.size, 3))
    todo = np.arange(high.size)
    # Rejection on the correlated log-normal: exact conditioning on the rule, whatever it is.
    for _ in range(_MAX_REJECTION_ROUNDS):
        z = g.standard_normal((todo.size, 3)) @ chol.T
        c = np.exp(mu + s * z)
        ok = _cytotoxicity_rule(c, cut, imm.cytotoxicity_rule) == high[todo]
        out[todo[ok]] = c[ok]
        todo = todo[~ok]
        if todo.size == 0:
            return out
    raise CalibrationError(
        "cohort.immune: the cytotoxicity marker distributions almost never meet the "
        f"'{imm.cytotoxicity_rule}' rule on one side of the cut-offs; move their medians nearer "
        "the cut-offs.")


def _truncnorm_by_stratum(u: np.ndarray, table: np.ndarray, stratum: np.ndarray
                          ) -> np.ndarray:
    """``sample_truncnorm`` with each woman's stratum row of ``table`` (mu, sigma, a, b).

    One call per stratum with scalar parameters: the same arithmetic element by element as
    one call with per-woman parameters (so the same bits), but the normal CDF of the bounds
    is taken 4 times instead of twice a woman, which was a third of a block's cost.
    """
    out = np.empty(u.size)
    for s in range(table.shape[0]):
        idx = np.flatnonzero(stratum == s)
        if idx.size:
            mu, sigma, a, b = (np.float64(x) for x in table[s])
            out[idx] = sample_truncnorm(u[idx], mu, sigma, a, b)
    return out


def _block(params: CohortParams, model: CohortModel, g: np.random.Generator,
           strata_cdf: np.ndarray, *, full: bool = True) -> dict:
    # full=False is the trial's fast path: only stratum, age, BMI, losses and immune profile,
    # without the marker draws (the cytotoxicity rejection sampling is most of a block's
    # cost). All five come from `u`, drawn first, so they are bit-identical either way.
    n = BLOCK
    u = g.random((n, 9))
    stratum = np.searchsorted(strata_cdf, u[:, 0], side="right").clip(0, 3)
    age = _truncnorm_by_stratum(u[:, 1], model.age, stratum)
    bmi = _truncnorm_by_stratum(u[:, 2], model.bmi, stratum)
    if params.bmi_family == "lognormal":
        bmi = np.exp(bmi)
    misc = sample_discrete(u[:, 4], model.misc_cdf, model.misc_lo, stratum)
    abnormal = (stratum == 1) | (stratum == 3)
    prow = np.where(stratum == 3, 2, np.where(misc >= 4, 1, 0))
    prof = (u[:, 6, None] >= model.profile_cdf[prow]).sum(axis=1).clip(0, 6)
    prof = np.where(abnormal, prof, 7)
    out = {"stratum": stratum, "age": age, "bmi": bmi, "previous_miscarriages": misc,
           "profile": prof}
    if not full:
        return out
    out["parity"] = sample_discrete(u[:, 5], model.parity_cdf, model.parity_lo, stratum)
    known = stratum <= 1
    cause = np.searchsorted(model.cause_cdf, u[:, 7], side="right").clip(0, 5)
    out["cause"] = np.where(known, cause, len(KNOWN_CAUSES))
    out["ivf"] = u[:, 8] < params.ivf_share
    h = model.height
    out["height_m"] = sample_truncnorm(u[:, 3], h[0], h[1], h[2], h[3])
    flags = PROFILE_FLAGS[prof]
    imm = params.immune
    um = g.random((n, 2))
    nk = _lognormal_given_flag(um[:, 0], imm.nk_percent.median, imm.nk_percent.gsd,
                               imm.nk_cutoff, flags[:, 0])
    th = _lognormal_given_flag(um[:, 1], imm.th1_th2.median, imm.th1_th2.gsd,
                               imm.th1_th2_cutoff, flags[:, 2])
    cyto = _cytotoxicity_given_flag(g, params, flags[:, 1])
    out.update(nk_percent=nk, c50=cyto[:, 0], c25=cyto[:, 1], c12=cyto[:, 2],
               th1_th2_ratio=th)
    return out


def _categorical(codes: np.ndarray, categories: tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(categories))


def generate_cohort(scenario: Scenario | CohortParams, n: int | None = None,
                    seed: SeedLike = None, *, strata: tuple[str, ...] | None = None
                    ) -> pd.DataFrame:
    """Generate a synthetic RPL cohort, one row a woman.

    Parameters
    ----------
    scenario : Scenario or CohortParams
        The scenario (its ``[cohort]`` section is used) or the cohort section itself.
    n : int, optional
        Number of women; ``None`` means the scenario's ``cohort.n`` (466 for the paper).
    seed : int, Generator, SeedSequence or None
        Root seed; ``None`` means the scenario's seed (a ``CohortParams`` has none: fresh
        entropy). The first ``k`` rows do not depend on ``n``.
    strata : tuple of str, optional
        Draw only women of these strata (e.g. ``("KA", "IA")`` for a trial in abnormal
        immunity): exactly the cohort's distribution conditioned on the stratum, since every
        other draw is made given the stratum. ``None``: all strata in the scenario's shares.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`. ``etiology`` is "known" | "idiopathic", ``immunity`` "normal" |
        "abnormal", ``stratum`` "KN" | "KA" | "IN" | "IA" (categoricals), ages in years, BMI in
        kg/m², height in m, weight in kg, markers in their units, flags boolean,
        ``immune_profile`` one of the seven combinations or "none", ``known_cause`` a cause or
        "none", ``conception`` "natural" | "ivf".

    Raises
    ------
    ScenarioError
        If ``n`` is not a positive integer.
    CalibrationError
        If the scenario's targets cannot be met by the model.

    Examples
    --------
    >>> from rplsim import load_scenario, generate_cohort
    >>> df = generate_cohort(load_scenario("scenarios/paper.toml"), n=1000, seed=1)  # doctest: +SKIP
    >>> df.stratum.value_counts(normalize=True).round(2)  # doctest: +SKIP
    """
    params = scenario.cohort if isinstance(scenario, Scenario) else scenario
    if not isinstance(params, CohortParams):
        raise TypeError(f"scenario is a {type(scenario).__name__}, must be a Scenario or "
                        "CohortParams.")
    if n is None:
        n = params.n
    n = check_integer("n", n)
    if seed is None and isinstance(scenario, Scenario):
        seed = scenario.seed
    return _frame(_cohort_arrays(params, n, root_entropy(seed), strata), params)


def _cohort_arrays(params: CohortParams, n: int, entropy: int,
                   strata: tuple[str, ...] | None, *, full: bool = True
                   ) -> dict[str, np.ndarray]:
    """The raw per-woman arrays of :func:`generate_cohort` (``n`` already checked).

    ``full=False`` is the fast path for the trial's patient path: only ``stratum, age, bmi,
    previous_miscarriages, profile``, bit-identical to the full run's for the same entropy.
    """
    model = cohort_model(params)
    strata_cdf = model.strata_cdf
    if strata is not None:
        bad = [s for s in strata if s not in STRATA]
        if bad or not strata:
            raise ScenarioError(f"strata == {strata!r}, must be a non-empty subset of {STRATA}.")
        shares = np.diff(np.concatenate([[0.0], model.strata_cdf]))
        shares = np.where([s in strata for s in STRATA], shares, 0.0)
        if shares.sum() <= 0:
            raise ScenarioError(f"strata == {strata!r}: these strata have share 0 in the scenario.")
        strata_cdf = np.cumsum(shares / shares.sum())
        strata_cdf[-1] = 1.0
    n_blocks = -(-n // BLOCK)
    parts = [_block(params, model, child_generator(entropy, "cohort", b), strata_cdf,
                    full=full)
             for b in range(n_blocks)]
    return {k: np.concatenate([p[k] for p in parts])[:n] for k in parts[0]}


def _frame(d: dict, params: CohortParams) -> pd.DataFrame:
    stratum = d["stratum"]
    flags = PROFILE_FLAGS[d["profile"]]
    cyto_high = cytotoxicity_high(d["c50"], d["c25"], d["c12"], params)
    imm = params.immune
    nk_high = d["nk_percent"] > imm.nk_cutoff
    th_high = d["th1_th2_ratio"] > imm.th1_th2_cutoff
    # Flags are recomputed from the values: they equal the profile's by construction, and
    # computing them from the values is what makes that checkable.
    assert np.array_equal(flags, np.column_stack([nk_high, cyto_high, th_high]))
    weight = d["bmi"] * d["height_m"] ** 2
    # copy=False: the arrays are fresh and ours, so pandas need not copy them into one 2-D
    # block (a second pass over every float column, ~5% of a 10^6-woman cohort).
    return pd.DataFrame(copy=False, data={
        "patient_id": np.arange(stratum.size, dtype=np.int64),
        "etiology": _categorical((stratum >= 2).astype(int), ("known", "idiopathic")),
        "immunity": _categorical(((stratum == 1) | (stratum == 3)).astype(int),
                                 ("normal", "abnormal")),
        "stratum": _categorical(stratum, STRATA),
        "age": d["age"],
        "bmi": d["bmi"],
        "height_m": d["height_m"],
        "weight_kg": weight,
        "previous_miscarriages": d["previous_miscarriages"].astype(np.int64),
        "parity": d["parity"].astype(np.int64),
        "nk_percent": d["nk_percent"],
        "nk_cytotoxicity_50": d["c50"],
        "nk_cytotoxicity_25": d["c25"],
        "nk_cytotoxicity_12_5": d["c12"],
        "th1_th2_ratio": d["th1_th2_ratio"],
        "nk_high": nk_high,
        "nk_cytotoxicity_high": cyto_high,
        "th1_th2_high": th_high,
        "immune_profile": _categorical(d["profile"], PROFILE_NAMES),
        "known_cause": _categorical(d["cause"], (*KNOWN_CAUSES, "none")),
        "conception": _categorical(d["ivf"].astype(int), ("natural", "ivf")),
    })


