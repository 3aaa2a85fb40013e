"""Recursive numerical integration of group-sequential crossing probabilities.

The score ``S_k = Z_k sqrt(t_k)`` is a Brownian motion with drift ``theta``; the sub-density of
``Z_k`` on the continuation region is carried forward look by look and integrated with
Simpson's rule (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000, ch. 19).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from rplsim.exceptions import ConvergenceError, InvalidArgumentError

# crossing_probabilities is the public function; Recursion, crossing_both, check_fractions,
# solve_brentq and Z_INF are shared with the boundary and design modules of this package.
__all__ = ["crossing_probabilities"]

# Half-width (in standard deviations of Z_k) of the integration range: Phi(-10) ~ 8e-24.
_RANGE_SD = 10.0
# Simpson step on the Z scale, refined when looks are close together (see _grid).
_STEP = 0.04
# A boundary this large is never crossed in double precision.
Z_INF = 38.0


def _grid(lower: float, upper: float, mean: float, step: float) -> NDArray[np.float64]:
    """Odd number of equally spaced Simpson nodes on ``[lower, upper]`` clipped to mean +-10."""
    lo = max(lower, mean - _RANGE_SD)
    hi = min(upper, mean + _RANGE_SD)
    if hi <= lo:
        return np.empty(0)
    m = max(2, math.ceil((hi - lo) / step))
    m += m % 2
    return np.linspace(lo, hi, m + 1)


def _simpson_weights(x: NDArray[np.float64]) -> NDArray[np.float64]:
    if x.size == 0:
        return x
    h = (x[-1] - x[0]) / (x.size - 1)
    w = np.full(x.size, 2.0)
    w[1::2] = 4.0
    w[0] = w[-1] = 1.0
    out: NDArray[np.float64] = w * h / 3.0
    return out


def _norm_pdf(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


class Recursion:
    """Carry the sub-density of ``Z_k`` on the continuation region from look to look."""

    def __init__(self, t: NDArray[np.float64], drift: float) -> None:
        self.t = t
        self.drift = drift
        self.k = 0  # number of looks already processed
        self.nodes = np.empty(0)
        self.weighted = np.empty(0)  # density * Simpson weight at the nodes

    def cross(self, upper: float, lower: float) -> tuple[float, float]:
        """P(not stopped before, Z_k >= upper) and P(not stopped before, Z_k <= lower)."""
        k, t, th = self.k, self.t, self.drift
        if k == 0:
            mean = th * math.sqrt(t[0])
            return float(special.ndtr(mean - upper)), float(special.ndtr(lower - mean))
        if self.nodes.size == 0:
            return 0.0, 0.0
        dt = t[k] - t[k - 1]
        centre = self.nodes * math.sqrt(t[k - 1]) + th * dt
        sd = math.sqrt(dt)
        up = special.ndtr((centre - upper * math.sqrt(t[k])) / sd)
        lo = special.ndtr((lower * math.sqrt(t[k]) - centre) / sd)
        return float(self.weighted @ up), float(self.weighted @ lo)

    def advance(self, upper: float, lower: float) -> None:
        """Move to the next look with continuation region ``(lower, upper)`` at this one."""
        k, t, th = self.k, self.t, self.drift
        mean = th * math.sqrt(t[k])
        x = _grid(lower, upper, mean, self._step_next())
        if x.size == 0:
            dens = np.empty(0)
        elif k == 0:
            dens = _norm_pdf(x - mean)
        elif self.nodes.size == 0:
            dens = np.zeros_like(x)
        else:
            dt = t[k] - t[k - 1]
            sd = math.sqrt(dt)
            arg = (x[:, None] * math.sqrt(t[k]) - self.nodes[None, :] * math.sqrt(t[k - 1]) - th * dt) / sd
            dens = (_norm_pdf(arg) @ self.weighted) * math.sqrt(t[k]) / sd
        self.nodes = x
        self.weighted = dens * _simpson_weights(x)
        self.k += 1

    def _step_next(self) -> float:
        # Nodes at look k must resolve both the kernel that produced the density (sd in z
        # of sqrt(dt_k / t_k)) and the kernel of the next look (sd in y of
        # sqrt(dt_{k+1} / t_k)): keep at least ~12 nodes per sd.
        k, t = self.k, self.t
        step = _STEP
        if k > 0:
            step = min(step, math.sqrt((t[k] - t[k - 1]) / t[k]) / 12.0)
        if k + 1 < t.size:
            step = min(step, math.sqrt((t[k + 1] - t[k]) / t[k]) / 12.0)
        return step


def crossing_both(
    upper: NDArray[np.float64],
    lower: NDArray[np.float64],
    t: NDArray[np.float64],
    drift: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rec = Recursion(t, drift)
    up = np.zeros(t.size)
    lo = np.zeros(t.size)
    for k in range(t.size):
        up[k], lo[k] = rec.cross(upper[k], lower[k])
        if k < t.size - 1:
            rec.advance(upper[k], lower[k])
    return up, lo


def check_fractions(information_fractions: ArrayLike) -> NDArray[np.float64]:
    t = np.asarray(information_fractions, dtype=float)
    if t.ndim != 1 or t.size == 0:
        raise InvalidArgumentError(
            f"information_fractions == {information_fractions!r}, must be a non-empty 1-d sequence."
        )
    if not (np.all(np.isfinite(t)) and t[0] > 0 and np.all(np.diff(t) > 0)):
        raise InvalidArgumentError(
            f"information_fractions == {t.tolist()}, must be strictly increasing and > 0."
        )
    if abs(t[-1] - 1.0) > 1e-12:
        raise InvalidArgumentError(f"information_fractions == {t.tolist()}, must end at 1.")
    t[-1] = 1.0
    return t


def crossing_probabilities(
    efficacy_z: ArrayLike,
    information_fractions: ArrayLike,
    drift: float,
    two_sided: bool,
) -> NDArray[np.float64]:
    """Probability of first crossing the efficacy boundary at each look.

    Parameters
    ----------
    efficacy_z : array_like of float
        Boundary ``c_k`` per look on the Z scale (``np.inf`` for a look with no boundary).
    information_fractions : array_like of float
        ``t_k``, strictly increasing and ending at 1.
    drift : float
        ``theta = E[Z_K]``, the mean of the final Z statistic; ``Z_k`` has mean
        ``theta sqrt(t_k)``. Zero gives the probabilities under H0.
    two_sided : bool
        If true, stop when ``|Z_k| >= c_k``; otherwise when ``Z_k >= c_k``.

    Returns
    -------
    numpy.ndarray
        ``P(first crossing at look k)`` (either side if two-sided), one per look; their sum is
        the overall rejection probability.

    Raises
    ------
    rplsim.exceptions.InvalidArgumentError
        If the lengths differ or the fractions are not increasing to 1.

    Examples
    --------
    >>> p = crossing_probabilities([2.178, 2.178], [0.5, 1.0], 0.0, True)
    >>> round(float(p.sum()), 3)
    0.05
    """
    t = check_fractions(information_fractions)
    c = np.asarray(efficacy_z, dtype=float)
    if c.shape != t.shape:
        raise InvalidArgumentError(
            f"len(efficacy_z) == {c.size}, must equal len(information_fractions) == {t.size}."
        )
    c = np.minimum(c, Z_INF)
    lower = -c if two_sided else np.full(t.size, -np.inf)
    up, lo = crossing_both(c, lower, t, float(drift))
    return up + lo if two_sided else up


def solve_brentq(f: Any, lo: float, hi: float, what: str) -> float:
    try:
        return float(optimize.brentq(f, lo, hi, xtol=1e-10, rtol=1e-12, maxiter=200))
    except (ValueError, RuntimeError) as err:
        raise ConvergenceError(f"could not solve for the {what}: {err}") from err
