"""P-values of standard-normal statistics and the rejection rule, batched over replicates."""

from __future__ import annotations

from typing import Literal, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from rplsim._core.validation import check_alpha
from rplsim.stats._checks import check_alternative

__all__ = ["Alternative", "favour_p", "reject", "wald_p"]

Alternative = Literal["two-sided", "larger", "smaller"]


def wald_p(z: ArrayLike, alternative: Alternative = "two-sided") -> NDArray[np.float64]:
    """P-value of a standard-normal test statistic.

    Parameters
    ----------
    z : array_like
        Test statistics, positive when treatment does better than control.
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"`` is H1: treatment effect > 0, so ``p = P(Z >= z)``.

    Returns
    -------
    numpy.ndarray
        P-values, same shape as ``z``; NaN where ``z`` is NaN (a failed fit), which
        :func:`reject` treats as not significant.

    Raises
    ------
    InvalidArgumentError
        If ``alternative`` is not one of the three above.

    Examples
    --------
    >>> float(wald_p(1.959963984540054, "two-sided")).__round__(6)
    0.05
    >>> float(wald_p(0.0, "larger"))
    0.5
    """
    check_alternative(alternative)
    za = np.asarray(z, dtype=np.float64)
    if alternative == "larger":
        return cast(NDArray[np.float64], special.ndtr(-za))
    if alternative == "smaller":
        return cast(NDArray[np.float64], special.ndtr(za))
    return cast(NDArray[np.float64], np.minimum(2.0 * special.ndtr(-np.abs(za)), 1.0))


def reject(p: ArrayLike, alpha: ArrayLike) -> NDArray[np.bool_]:
    """Whether each test rejects H0: ``p <= alpha`` (NaN p-values never reject).

    Parameters
    ----------
    p : array_like
        P-values.
    alpha : float or array_like
        Significance level(s), each in (0, 0.5]; broadcast against ``p``.

    Returns
    -------
    numpy.ndarray of bool

    Raises
    ------
    InvalidArgumentError
        If any ``alpha`` is outside (0, 0.5].

    Examples
    --------
    >>> reject([0.01, 0.05, 0.2, float("nan")], 0.05).tolist()
    [True, True, False, False]
    """
    check_alpha(alpha)
    return np.asarray(p, dtype=np.float64) <= np.asarray(alpha, dtype=np.float64)


def favour_p(p: ArrayLike, sign: ArrayLike, alternative: str) -> NDArray[np.float64]:
    """The one-sided p-value in favour of treatment, for futility rules.

    A one-sided test's p is already in the direction of its alternative; a two-sided one's is
    halved on the side of ``sign > 0`` (treatment better) and ``1 - p / 2`` on the other.

    Examples
    --------
    >>> favour_p(np.array([0.04, 0.04]), np.array([1.0, -1.0]), "two-sided").tolist()
    [0.02, 0.98]
    """
    pv = np.asarray(p, dtype=float)
    if alternative != "two-sided":
        return pv
    out: NDArray[np.float64] = np.where(np.asarray(sign) > 0, pv / 2.0, 1.0 - pv / 2.0)
    return out
