"""The Farrington-Manning restricted maximum-likelihood rates (one implementation for all).

Used by the batched non-inferiority score test (:func:`rplsim.stats.z_test_counts`) on
observed rates and by the sample-size formula (:func:`rplsim.design.fm_restricted_mle`) on
assumed rates.
"""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

__all__ = ["fm_restricted_rates"]


@overload
def fm_restricted_rates(p_t: float, p_c: float, theta: float, delta: float) -> tuple[float, float]: ...


@overload
def fm_restricted_rates(
    p_t: NDArray[Any], p_c: NDArray[Any], theta: NDArray[Any], delta: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]: ...


def fm_restricted_rates(p_t: Any, p_c: Any, theta: Any, delta: float) -> tuple[Any, Any]:
    """Rates maximising the binomial likelihood under ``p_t - p_c = delta``.

    The constrained MLE of ``p_t`` is the middle root of a cubic, in the trigonometric form of
    Farrington & Manning (1990, Stat Med 9:1447, s.2, eq. 5); the other two roots fall
    outside [0, 1]. The root is clipped into ``[max(0, delta), min(1, 1 + delta)]``.

    Parameters
    ----------
    p_t, p_c : float or numpy.ndarray
        Observed (or assumed) rates of the treatment and control arms.
    theta : float or numpy.ndarray
        ``n_c / n_t``.
    delta : float
        The constraint ``p_t - p_c = delta`` (``-margin`` for non-inferiority).

    Returns
    -------
    tuple
        ``(p_t_tilde, p_c_tilde)``: floats for float arguments (computed with :mod:`math`, whose
        ``acos`` rounds differently from numpy's vectorised one), arrays otherwise.

    Examples
    --------
    >>> pt, pc = fm_restricted_rates(0.8, 0.8, 1.0, -0.1)
    >>> round(pc - pt, 12)
    0.1
    """
    a = 1.0 + theta
    b = -(1.0 + theta + p_t + theta * p_c + delta * (theta + 2.0))
    c = delta * delta + delta * (2.0 * p_t + theta + 1.0) + p_t + theta * p_c
    d = -p_t * delta * (1.0 + delta)
    v = b**3 / (27.0 * a**3) - b * c / (6.0 * a * a) + d / (2.0 * a)
    r = b * b / (9.0 * a * a) - c / (3.0 * a)
    lo, hi = max(0.0, delta), min(1.0, 1.0 + delta)
    if all(isinstance(x, (float, int)) for x in (p_t, p_c, theta)):
        u = math.copysign(math.sqrt(max(r, 0.0)), v)
        cos_arg = 1.0 if u == 0 else max(-1.0, min(1.0, v / u**3))
        w = (math.pi + math.acos(cos_arg)) / 3.0
        root = min(max(2.0 * u * math.cos(w) - b / (3.0 * a), lo), hi)
        return root, root - delta
    ua = np.where(v >= 0, 1.0, -1.0) * np.sqrt(np.maximum(r, 0.0))
    cos_arr = np.clip(np.where(ua != 0, v / np.where(ua != 0, ua, 1.0) ** 3, 0.0), -1.0, 1.0)
    wa = (np.pi + np.arccos(cos_arr)) / 3.0
    roots = np.clip(2.0 * ua * np.cos(wa) - b / (3.0 * a), lo, hi)
    return roots, roots - delta
