"""One calibration row: the paper's value against a statistic's distribution over replicates.

Tolerance (stated in every table): the paper is *one* cohort of its size, so a model that is
right puts the paper's value inside the sampling distribution of a cohort of that size. For
means, SDs and shares the tolerance is the 99% prediction half-width
``z_0.995 · sd_rep · sqrt(1 + 1/R)``, with ``sd_rep`` the SD of the statistic over replicates;
``mc_se = sd_rep / sqrt(R)`` is the Monte-Carlo error of the ``simulated`` column. For extremes
(min, max) and F statistics, whose distributions are skewed, ``within`` asks whether the paper's
value lies in the central 99% of the replicates (empirical quantiles), widened by half the
paper's reporting precision (Table 1 prints ages in whole years and BMI to 0.1 kg/m², so a
printed maximum of 45 covers 45.0-45.5 and one of 39.3 covers 39.25-39.35), and ``tolerance``
is that interval's half-width. A correct model therefore misses about 1% of the targets by
chance. A target the model cannot meet exactly by construction (an SD that a two-point support
does not allow beside the printed mean) says why in its ``reason`` column, once, where the table
is read; ``within`` is still the tolerance check, so such a row is a miss only when the simulated
value is outside the tolerance too (Table 1's parity SDs are not: within the paper's rounding to
0.01 the two moments agree). ``reason`` is empty on every other row.

Order-free statistics: the mean and SD over replicates are sums computed with
:func:`math.fsum` (the correctly rounded sum, whatever the order of the terms), and quantiles
read sorted values, so a row is the same float whether the replicates come in order, are
split over threads or processes, or are summed by another SIMD/BLAS kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "CALIBRATION_COLUMNS",
    "CalibrationRow",
    "grouped_stat",
    "order_free_mean_sd",
    "per_replicate",
    "ratio",
    "row",
]

CALIBRATION_COLUMNS = (
    "target",
    "source",
    "paper",
    "simulated",
    "mc_se",
    "tolerance",
    "within",
    "followed",
    "centre",
    "reason",
)
Z99 = float(stats.norm.ppf(0.995))


@dataclass(frozen=True)
class CalibrationRow:
    """One target of the calibration table (fields in :data:`CALIBRATION_COLUMNS` order)."""

    target: str
    source: str
    paper: float
    simulated: float
    mc_se: float
    tolerance: float
    within: bool
    followed: bool
    centre: float = math.nan  # middle of the band ``within`` is judged on (the figure's zero)
    reason: str = ""


def row(
    target: str,
    source: str,
    paper_value: float,
    values: np.ndarray,
    *,
    skewed: bool = False,
    followed: bool = True,
    precision: float = 0.0,
    reason: str = "",
) -> CalibrationRow:
    """One calibration row from the per-replicate values of a statistic (see module doc).

    Parameters
    ----------
    target, source : str
        What is compared and where the paper gives it.
    paper_value : float
        The paper's value.
    values : numpy.ndarray
        The statistic on each simulated replicate (non-finite values are dropped).
    skewed : bool
        Use the central 99% of the replicates (extremes, F statistics, p values) instead of
        the 99% prediction interval.
    followed : bool
        False on rows showing a reading of a paper conflict that rplsim does not follow.
    precision : float
        The paper's printing precision, widening a skewed interval by half of it.
    reason : str
        Why the model cannot meet this target exactly (e.g. an SD the support cannot reach
        beside the printed mean), shown with the row; ``within`` stays the tolerance check.

    Returns
    -------
    CalibrationRow

    Examples
    --------
    >>> r = row("x", "Table 0", 1.0, np.array([0.9, 1.0, 1.1]))
    >>> r.within, round(r.simulated, 6)
    (True, 1.0)
    >>> row("x", "Table 0", 1.0, np.array([0.9, 1.0, 1.1]), reason="unreachable").reason
    'unreachable'
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    r = v.size
    if r == 0:
        return CalibrationRow(
            target=target,
            source=source,
            paper=paper_value,
            simulated=np.nan,
            mc_se=np.nan,
            tolerance=np.nan,
            within=False,
            followed=followed,
            reason=reason,
        )
    mean, sd = order_free_mean_sd(v)
    if skewed:
        lo, hi = np.quantile(v, [0.005, 0.995])
        lo, hi = lo - precision / 2, hi + precision / 2
        within = bool(lo <= paper_value <= hi)
        tol = float(hi - lo) / 2
        centre = float(hi + lo) / 2
    else:
        tol = Z99 * sd * math.sqrt(1 + 1 / r)
        within = bool(abs(paper_value - mean) <= tol + 1e-12)
        centre = mean
    return CalibrationRow(
        target=target,
        source=source,
        paper=float(paper_value),
        simulated=mean,
        mc_se=sd / math.sqrt(r),
        tolerance=tol,
        within=within,
        followed=followed,
        centre=centre,
        reason=reason,
    )


def order_free_mean_sd(values: np.ndarray) -> tuple[float, float]:
    """Mean and SD (ddof 1; 0 for one value) that do not depend on the order of ``values``.

    Both sums are :func:`math.fsum` (exactly rounded), so any permutation, chunking or kernel
    gives the same two floats (module doc); numpy's pairwise ``mean`` does not.

    Examples
    --------
    >>> order_free_mean_sd(np.array([1.0, 2.0, 3.0]))
    (2.0, 1.0)
    """
    v = np.asarray(values, dtype=float).ravel()
    r = v.size
    if r == 0:
        return math.nan, math.nan
    mean = math.fsum(v.tolist()) / r
    if r == 1:
        return mean, 0.0
    dev = v - mean
    return mean, math.sqrt(math.fsum((dev * dev).tolist()) / (r - 1))


def per_replicate(
    reps: np.ndarray, mask: np.ndarray, n_rep: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Per replicate, the number (or the sum of ``weights``) of women where ``mask`` holds."""
    w = mask.astype(float) if weights is None else np.where(mask, weights, 0.0)
    return np.bincount(reps, weights=w, minlength=n_rep)


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` element-wise, NaN where ``den`` is 0 (no warning)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def grouped_stat(values: np.ndarray, reps: np.ndarray, mask: np.ndarray, n_rep: int, how: str) -> np.ndarray:
    """A pandas aggregate (``how``: "mean", "std", ...) of ``values[mask]`` per replicate, NaN
    for a replicate without such women."""
    s = pd.Series(values[mask]).groupby(reps[mask]).agg(how)
    out: np.ndarray = s.reindex(range(n_rep)).to_numpy(float)
    return out
