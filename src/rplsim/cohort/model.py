"""The solved, sampling-ready form of a scenario's ``[cohort]`` section.

Every Table 1 cell becomes a bounded law with the cell's mean and SD (truncated normals for
age, BMI and height, maximum-entropy pmfs for the counts: :mod:`rplsim.cohort.distributions`),
and Figure 6A's Th1/Th2 shares are turned into profile weights per band of losses. Solved once
per parameter set and cached; :mod:`rplsim.cohort.generate` draws women from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rplsim.cohort.distributions import DiscretePmf, bounded_for_moments, discrete_maxent
from rplsim.exceptions import CalibrationError, ScenarioError
from rplsim.scenario import (
    KNOWN_CAUSES,
    PROFILES,
    STRATA,
    CohortParams,
    Height,
    Moments,
    PerStratumMoments,
)

__all__ = ["PROFILE_FLAGS", "PROFILE_NAMES", "CohortModel", "cohort_model"]

# Flags (nk, nka, th) of each profile, in PROFILES order, then "none".
PROFILE_FLAGS = np.array(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1], [0, 0, 0]],
    dtype=bool,
)
PROFILE_NAMES: tuple[str, ...] = (*PROFILES, "none")
_TH_PROFILES = PROFILE_FLAGS[:7, 2]


@dataclass(frozen=True)
class CohortModel:
    """The solved, sampling-ready form of a :class:`~rplsim.scenario.CohortParams`.

    Attributes hold per-stratum arrays (index 0..3 = KN, KA, IN, IA) so one fancy-index gives
    every woman her stratum's parameters.
    """

    strata_cdf: np.ndarray  # (4,)
    age: np.ndarray  # (4, 4): mu, sigma, a, b
    bmi: np.ndarray  # (4, 4)
    height: np.ndarray  # (4,): mu, sigma, a, b
    misc_cdf: np.ndarray  # (4, K)
    misc_lo: np.ndarray  # (4,)
    parity_cdf: np.ndarray  # (4, K)
    parity_lo: np.ndarray  # (4,)
    profile_cdf: np.ndarray  # (3, 7): rows KA 2-3 losses, KA >= 4, IA
    cause_cdf: np.ndarray  # (6,)
    misc_band_probs: np.ndarray  # (4, 2): P(2-3), P(>=4) per stratum
    # ((variable, stratum), reason) of each Table 1 SD the support cannot reach: solved once
    # here and reported by the calibration table, never warned.
    unreachable: tuple[tuple[tuple[str, str], str], ...] = ()

    def unreachable_reason(self, variable: str, stratum: str) -> str:
        """Why ``variable``'s SD in ``stratum`` cannot be met ("" when it is)."""
        return dict(self.unreachable).get((variable, stratum), "")


def _tn_row(m: Moments | Height, family: str = "normal") -> np.ndarray:
    """(mu, sigma, a, b) of the solved law; for "lognormal" on the log scale."""
    d = bounded_for_moments(float(m.mean), float(m.sd), float(m.min), float(m.max), family)
    lo, hi = (np.log(d.lo), np.log(d.hi)) if family == "lognormal" else (d.lo, d.hi)
    return np.array([d.mu, d.sigma, (lo - d.mu) / d.sigma, (hi - d.mu) / d.sigma])


def _pmf_table(per: PerStratumMoments) -> tuple[np.ndarray, np.ndarray, list[DiscretePmf]]:
    pmfs = []
    for s in STRATA:
        m = getattr(per, s)
        if float(m.min) != int(m.min) or float(m.max) != int(m.max):
            raise ScenarioError(f"{s}: min == {m.min} / max == {m.max}, must be integers for a count.")
        pmfs.append(discrete_maxent(float(m.mean), float(m.sd), int(m.min), int(m.max)))
    width = max(len(p.support) for p in pmfs)
    cdf = np.ones((4, width))
    for i, p in enumerate(pmfs):
        cdf[i, : len(p.support)] = p.cdf_table()
    lo = np.array([p.support[0] for p in pmfs])
    return cdf, lo, pmfs


def _profile_rows(params: CohortParams, misc_pmfs: list[DiscretePmf]) -> tuple[np.ndarray, np.ndarray]:
    imm = params.immune
    band = np.array(
        [
            [
                sum(pr for k, pr in zip(p.support, p.probs, strict=True) if k <= 3),
                sum(pr for k, pr in zip(p.support, p.probs, strict=True) if k >= 4),
            ]
            for p in misc_pmfs
        ]
    )
    known = np.array(list(imm.profiles_known.shares().values()))
    idio = np.array(list(imm.profiles_idiopathic.shares().values()))
    rows = np.vstack([known, known, idio])
    if imm.th1_th2_known_2_3 is not None:
        # Figure 6A gives P(high Th1/Th2 | known, band) over the whole known group; only KA women
        # can have it, so within KA the Th share of band b is target_b / P(KA | known, b).
        s_kn, s_ka = params.strata.KN, params.strata.KA
        for b, target in enumerate((imm.th1_th2_known_2_3, imm.th1_th2_known_4plus)):
            if target is None:  # the scenario gives both or neither
                continue
            p_ka = s_ka * band[1, b] / (s_kn * band[0, b] + s_ka * band[1, b])
            q = float(target) / p_ka if p_ka > 0 else 0.0
            th_w, other_w = known * _TH_PROFILES, known * ~_TH_PROFILES
            if q > 1 or (q > 0 and th_w.sum() == 0) or (q < 1 and other_w.sum() == 0):
                raise CalibrationError(
                    f"cohort.immune.th1_th2_known_{'2_3' if b == 0 else '4plus'} == {target} "
                    f"needs {q:.3f} of KA women with that many losses to have high Th1/Th2, "
                    "which the profile weights cannot give; lower it or change the weights."
                )
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
    parity_cdf, parity_lo, parity_pmfs = _pmf_table(params.parity)
    unreachable = tuple(
        ((var, s), p.sd_reason)
        for var, pmfs in (("previous_miscarriages", misc_pmfs), ("parity", parity_pmfs))
        for s, p in zip(STRATA, pmfs, strict=True)
        if p.sd_reason
    )
    profile_cdf, band = _profile_rows(params, misc_pmfs)
    causes = np.array([getattr(params.known_causes, c) for c in KNOWN_CAUSES], dtype=float)
    cause_cdf = np.cumsum(causes / causes.sum())
    cause_cdf[-1] = 1.0
    return CohortModel(
        strata_cdf=strata_cdf,
        age=np.vstack([_tn_row(getattr(params.age, s)) for s in STRATA]),
        bmi=np.vstack([_tn_row(getattr(params.bmi, s), params.bmi_family) for s in STRATA]),
        height=_tn_row(params.height),
        misc_cdf=misc_cdf,
        misc_lo=misc_lo,
        parity_cdf=parity_cdf,
        parity_lo=parity_lo,
        profile_cdf=profile_cdf,
        cause_cdf=cause_cdf,
        misc_band_probs=band,
        unreachable=unreachable,
    )


def cohort_model(params: CohortParams) -> CohortModel:
    """Solve the cohort's distributions once (cached per parameter set).

    Raises
    ------
    CalibrationError
        If a Table 1 cell or a Figure 6 share cannot be met by the model.
    """
    return _cohort_model_cached(params)
