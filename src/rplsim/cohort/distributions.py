"""Bounded distributions solved so that their *truncated* mean and SD equal a table's.

Table 1 of the paper gives mean, SD and range per stratum. Clipping a normal to the range
would pile mass on the bounds and shift both moments, so instead:

* continuous variables (age, BMI, height, gestational weeks) use a normal truncated to
  [min, max] whose underlying (mu, sigma) are solved (scipy) so that the truncated mean and SD
  are the targets;
* integer variables (previous miscarriages, parity) use the maximum-entropy distribution on
  {min, ..., max} with the target mean and variance, p_k ∝ exp(a k + b k²) — the least
  committal pmf with those two moments. With two support points the mean fixes the variance;
  then the mean is met and the SD miss is reported once, as a row of the calibration table
  (:attr:`DiscretePmf.sd_reason`), not as a warning on every command.

Solutions are cached: a scenario's parameters are solved once per process.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

from rplsim.exceptions import CalibrationError

__all__ = [
    "DiscretePmf",
    "TruncLogNormal",
    "TruncNormal",
    "bounded_for_moments",
    "count_at_most",
    "discrete_maxent",
    "sample_discrete",
    "sample_truncnorm",
    "truncnorm_for_moments",
]


Floats = NDArray[np.float64]
# A parameter of sample_truncnorm: one per element, or one for all (a numpy or Python float).
FloatParam = Floats | np.float64 | float


@dataclass(frozen=True)
class TruncNormal:
    """A normal(mu, sigma) truncated to [lo, hi]."""

    mu: float
    sigma: float
    lo: float
    hi: float

    @property
    def _ab(self) -> tuple[float, float]:
        return (self.lo - self.mu) / self.sigma, (self.hi - self.mu) / self.sigma

    def mean(self) -> float:
        """Mean of the truncated distribution."""
        a, b = self._ab
        return float(stats.truncnorm.mean(a, b, loc=self.mu, scale=self.sigma))

    def sd(self) -> float:
        """SD of the truncated distribution."""
        a, b = self._ab
        return float(stats.truncnorm.std(a, b, loc=self.mu, scale=self.sigma))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function (vectorised)."""
        a, b = self._ab
        return sample_truncnorm(u, np.float64(self.mu), np.float64(self.sigma), np.float64(a), np.float64(b))


def sample_truncnorm(
    u: np.ndarray, mu: FloatParam, sigma: FloatParam, a: FloatParam, b: FloatParam
) -> Floats:
    """Inverse-CDF draws of truncated normals with per-element parameters.

    ``a`` and ``b`` are the standardised bounds. Uses ``ndtr``/``ndtri`` on the tail nearer the
    mass, which keeps precision when a bound lies several SD away.
    """
    pa, pb = special.ndtr(a), special.ndtr(b)
    z = special.ndtri(pa + u * (pb - pa))
    z = np.clip(z, a, b)  # guards round-off at the bounds only
    out: Floats = mu + sigma * z
    return out


@functools.lru_cache(maxsize=512)
def truncnorm_for_moments(mean: float, sd: float, lo: float, hi: float) -> TruncNormal:
    """Solve (mu, sigma) so that N(mu, sigma) truncated to [lo, hi] has this mean and SD.

    Parameters
    ----------
    mean, sd : float
        Targets for the truncated distribution.
    lo, hi : float
        Truncation bounds.

    Returns
    -------
    TruncNormal

    Raises
    ------
    CalibrationError
        If no truncated normal on [lo, hi] has these moments (an SD too large for the range,
        a mean too close to a bound).

    Examples
    --------
    >>> tn = truncnorm_for_moments(32.78, 3.72, 22, 43)
    >>> round(tn.mean(), 6), round(tn.sd(), 6)
    (32.78, 3.72)
    """
    if not lo < mean < hi or sd <= 0:
        raise CalibrationError(f"mean {mean} and SD {sd} impossible on [{lo}, {hi}].")

    def resid(x: np.ndarray) -> np.ndarray:
        mu, log_s = x
        s = math.exp(log_s)
        a, b = (lo - mu) / s, (hi - mu) / s
        with np.errstate(all="ignore"):
            m, v = stats.truncnorm.stats(a, b, loc=mu, scale=s, moments="mv")
        if not (np.isfinite(m) and np.isfinite(v) and v >= 0):
            return np.array([1e6, 1e6])
        return np.array([(m - mean) / sd, (math.sqrt(v) - sd) / sd])

    sol = optimize.least_squares(
        resid, x0=[mean, math.log(sd)], xtol=1e-14, ftol=1e-14, gtol=1e-14, method="lm"
    )
    tn = TruncNormal(float(sol.x[0]), float(math.exp(sol.x[1])), float(lo), float(hi))
    if abs(tn.mean() - mean) > 1e-6 * max(1.0, abs(mean)) or abs(tn.sd() - sd) > 1e-6 * sd:
        raise CalibrationError(
            f"no normal truncated to [{lo}, {hi}] has mean {mean} and SD {sd} "
            f"(best: mean {tn.mean():.4f}, SD {tn.sd():.4f}); widen the range or lower the SD."
        )
    return tn


@dataclass(frozen=True)
class TruncLogNormal:
    """exp(Y) with Y ~ normal(mu, sigma) truncated to [log lo, log hi]: a right-skewed law on
    [lo, hi] (for BMI, whose right tail a symmetric law cannot reach)."""

    mu: float
    sigma: float
    lo: float
    hi: float

    @property
    def _ab(self) -> tuple[float, float]:
        return ((math.log(self.lo) - self.mu) / self.sigma, (math.log(self.hi) - self.mu) / self.sigma)

    def _raw_moment(self, k: float) -> float:
        a, b = self._ab
        s = self.sigma
        num = special.ndtr(b - k * s) - special.ndtr(a - k * s)
        den = special.ndtr(b) - special.ndtr(a)
        return float(math.exp(k * self.mu + (k * s) ** 2 / 2) * num / den)

    def mean(self) -> float:
        """Mean of the truncated distribution."""
        return self._raw_moment(1.0)

    def sd(self) -> float:
        """SD of the truncated distribution."""
        m1 = self._raw_moment(1.0)
        return float(math.sqrt(max(self._raw_moment(2.0) - m1 * m1, 0.0)))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Quantile function (vectorised)."""
        a, b = self._ab
        return np.exp(
            sample_truncnorm(u, np.float64(self.mu), np.float64(self.sigma), np.float64(a), np.float64(b))
        )


@functools.lru_cache(maxsize=512)
def trunclognorm_for_moments(mean: float, sd: float, lo: float, hi: float) -> TruncLogNormal:
    """Solve a :class:`TruncLogNormal` on [lo, hi] (lo > 0) with this mean and SD.

    Raises
    ------
    CalibrationError
        If no such law has these moments.
    """
    if not 0 < lo < mean < hi or sd <= 0:
        raise CalibrationError(f"mean {mean} and SD {sd} impossible for a log-normal on [{lo}, {hi}].")
    cv = sd / mean

    def resid(x: np.ndarray) -> np.ndarray:
        d = TruncLogNormal(float(x[0]), float(math.exp(x[1])), lo, hi)
        with np.errstate(all="ignore"):
            m, s = d.mean(), d.sd()
        if not (math.isfinite(m) and math.isfinite(s)):
            return np.array([1e6, 1e6])
        return np.array([(m - mean) / sd, (s - sd) / sd])

    s0 = math.sqrt(math.log1p(cv * cv))
    sol = optimize.least_squares(
        resid,
        x0=[math.log(mean) - s0 * s0 / 2, math.log(s0)],
        xtol=1e-14,
        ftol=1e-14,
        gtol=1e-14,
        method="lm",
    )
    d = TruncLogNormal(float(sol.x[0]), float(math.exp(sol.x[1])), float(lo), float(hi))
    if abs(d.mean() - mean) > 1e-6 * mean or abs(d.sd() - sd) > 1e-6 * sd:
        raise CalibrationError(
            f"no log-normal truncated to [{lo}, {hi}] has mean {mean} and SD {sd} "
            f"(best: mean {d.mean():.4f}, SD {d.sd():.4f})."
        )
    return d


def bounded_for_moments(
    mean: float, sd: float, lo: float, hi: float, family: str = "normal"
) -> TruncNormal | TruncLogNormal:
    """The truncated law of ``family`` ("normal" | "lognormal") on [lo, hi] with these moments."""
    if family == "lognormal":
        return trunclognorm_for_moments(mean, sd, lo, hi)
    return truncnorm_for_moments(mean, sd, lo, hi)


@dataclass(frozen=True)
class DiscretePmf:
    """A pmf on the integers ``support``; ``exact_sd`` False when only the mean could be met.

    ``target_sd`` is the SD that was asked for (None when not known).
    """

    support: tuple[int, ...]
    probs: tuple[float, ...]
    exact_sd: bool = True
    target_sd: float | None = None

    @property
    def sd_reason(self) -> str:
        """Why the SD misses its target ("" when it is met): the support cannot reach it.

        Examples
        --------
        >>> print(discrete_maxent(0.11, 0.32, 0, 1).sd_reason)  # doctest: +NORMALIZE_WHITESPACE
        unreachable on the support {0, 1}: a mean of 0.11 fixes the SD at 0.313, not 0.32 (the two
        agree only within the paper's rounding to 0.01: a mean of 0.115 gives 0.319)
        """
        target = self.target_sd
        if self.exact_sd or target is None or abs(self.sd() - target) <= 1e-6 * target:
            return ""
        lo, hi = self.support[0], self.support[-1]
        m = self.mean()
        if len(self.support) != 2:
            bound = "at most" if target > self.sd() else "at least"
            return (
                f"unreachable on the support {{{lo}, ..., {hi}}}: a mean of {m:.4g} allows an SD of "
                f"{bound} {self.sd():.3f}"
            )
        # two points: the mean fixes the SD, span * sqrt(p (1 - p)); Table 1 prints both to
        # 0.01, so say whether a mean within that rounding gives an SD within it
        span = hi - lo

        def sd_at(mean: float) -> float:
            p = (mean - lo) / span
            return span * math.sqrt(max(p * (1 - p), 0.0))

        text = (
            f"unreachable on the support {{{lo}, {hi}}}: a mean of {m:.4g} fixes the SD at "
            f"{self.sd():.3f}, not {target:.3g}"
        )
        nearest = min((m - 0.005, m + 0.005), key=lambda x: abs(sd_at(x) - target))
        if abs(sd_at(nearest) - target) <= 0.005:
            text += (
                f" (the two agree only within the paper's rounding to 0.01: a mean of {nearest:.3g} "
                f"gives {sd_at(nearest):.3f})"
            )
        return text

    def mean(self) -> float:
        """Mean of the pmf."""
        return float(np.dot(self.support, self.probs))

    def sd(self) -> float:
        """SD of the pmf."""
        k = np.asarray(self.support, float)
        p = np.asarray(self.probs)
        return float(math.sqrt(np.dot(p, (k - np.dot(p, k)) ** 2)))

    def cdf_table(self) -> np.ndarray:
        """Cumulative probabilities, last one exactly 1."""
        c = np.cumsum(self.probs)
        c[-1] = 1.0
        return c


@functools.lru_cache(maxsize=512)
def discrete_maxent(mean: float, sd: float, lo: int, hi: int) -> DiscretePmf:
    """Maximum-entropy pmf on {lo, ..., hi} with the given mean and SD.

    Returns the pmf p_k ∝ exp(a·z + b·z²) (z the standardised support) whose mean and variance
    are the targets. If no pmf on the support reaches the SD (two points, or an SD beyond what
    the support allows), the mean is met exactly, the SD as closely as the support allows,
    ``exact_sd`` is False and :attr:`DiscretePmf.sd_reason` says why. It never warns: it is a
    pure function of its arguments, solved once per process (cached), and the miss is reported
    by the calibration table.

    Examples
    --------
    >>> pmf = discrete_maxent(2.89, 1.23, 2, 10)
    >>> round(pmf.mean(), 6), round(pmf.sd(), 6)
    (2.89, 1.23)
    """
    lo, hi = int(lo), int(hi)
    if not lo < mean < hi:
        raise CalibrationError(f"mean {mean} impossible on {{{lo}, ..., {hi}}}.")
    k = np.arange(lo, hi + 1, dtype=float)
    centre, scale = (lo + hi) / 2, max((hi - lo) / 2, 1.0)
    z = (k - centre) / scale

    def pmf(theta: np.ndarray) -> np.ndarray:
        e = theta[0] * z + theta[1] * z**2
        e -= e.max()
        p = np.exp(e)
        probs: np.ndarray = p / p.sum()
        return probs

    def moments(theta: np.ndarray) -> tuple[float, float]:
        p = pmf(theta)
        m = float(p @ k)
        return m, float(math.sqrt(max(float(p @ (k - m) ** 2), 0.0)))

    if len(k) == 2:
        p1 = (mean - lo) / (hi - lo)
        out = DiscretePmf((lo, hi), (1 - p1, p1), exact_sd=False, target_sd=float(sd))
    else:

        def resid(theta: np.ndarray) -> np.ndarray:
            m, s = moments(theta)
            return np.array([(m - mean) / sd, (s - sd) / sd])

        sol = optimize.least_squares(
            resid, x0=[0.0, 0.0], xtol=1e-15, ftol=1e-15, gtol=1e-15, method="lm", max_nfev=5000
        )
        p = pmf(sol.x)
        out = DiscretePmf(tuple(range(lo, hi + 1)), tuple(map(float, p)), target_sd=float(sd))
        m, s = out.mean(), out.sd()
        if abs(m - mean) > 1e-7 * max(1, mean) or abs(s - sd) > 1e-6 * sd:
            # SD out of reach: meet the mean exactly with the closest SD (one-parameter tilt).
            def mean_gap(a: float, b: float) -> float:
                return moments(np.array([a, b]))[0] - mean

            b = float(sol.x[1])
            try:
                a = optimize.brentq(mean_gap, -200, 200, args=(b,), xtol=1e-14)
            except ValueError:
                raise CalibrationError(
                    f"no pmf on {{{lo}, ..., {hi}}} has mean {mean} and SD {sd}."
                ) from None
            p = pmf(np.array([a, b]))
            out = DiscretePmf(
                tuple(range(lo, hi + 1)), tuple(map(float, p)), exact_sd=False, target_sd=float(sd)
            )
    return out


def sample_discrete(
    u: np.ndarray,
    cdf_rows: np.ndarray,
    offsets: np.ndarray,
    row: np.ndarray,
    groups: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Inverse-CDF draws of integers with a per-element pmf.

    Parameters
    ----------
    u : ndarray
        Uniforms on [0, 1).
    cdf_rows : ndarray, shape (R, K)
        Cumulative probabilities of R pmfs, padded with 1 to a common length K.
    offsets : ndarray, shape (R,)
        The smallest value of each pmf's support.
    row : ndarray of int
        Which pmf each element uses, in ``0 .. R - 1`` (not checked: an element of another row
        gets no value).
    groups : list of ndarray, optional
        ``np.flatnonzero(row == r)`` for each r, when the caller already has them.
    """
    # One binary search per pmf: the count of cdf values <= u (what ``(u[:, None] >=
    # cdf_rows[row]).sum(axis=1)`` counts, the same integers), without an (n, K) array of
    # gathered rows, which was a tenth of a cohort block's time.
    if groups is not None and len(groups) != cdf_rows.shape[0]:
        raise ValueError(f"{len(groups)} groups for {cdf_rows.shape[0]} pmf rows.")
    out = np.empty(u.size, dtype=np.int64)
    for r in range(cdf_rows.shape[0]):
        idx = np.flatnonzero(row == r) if groups is None else groups[r]
        if idx.size:
            out[idx] = offsets[r] + count_at_most(cdf_rows[r], u[idx])
    return out


def count_at_most(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """How many of the sorted ``cdf`` values are <= each ``u``: ``np.searchsorted(cdf, u,
    side="right")``, the same integers, for a sorted 1-D ``cdf`` and a 1-D ``u`` without NaN (a
    NaN counts 0 here, ``len(cdf)`` there).

    By one comparison a cdf value: a pmf has a handful of them, and the comparisons are about
    three times faster than numpy's binary search on each element. The values above every
    ``u`` (the padding with 1 of a cdf row, as uniforms are < 1) are not compared.

    Examples
    --------
    >>> count_at_most(np.array([0.2, 0.5, 1.0]), np.array([0.1, 0.2, 0.7])).tolist()
    [0, 1, 2]
    """
    out = np.zeros(u.size, dtype=np.intp)
    if not u.size:
        return out
    top = u.max()
    for c in cdf:
        if c > top:
            break
        out += u >= c
    return out
