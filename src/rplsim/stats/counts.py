"""Tests of two live-birth rates on counts: the pooled z (chi-square) and the Farrington-Manning
non-inferiority score test, batched over replicates."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rplsim.exceptions import InvalidArgumentError
from rplsim.stats._checks import check_alternative, check_counts
from rplsim.stats.farrington_manning import fm_restricted_rates
from rplsim.stats.pvalues import Alternative, wald_p

__all__ = ["z_test_counts"]


def z_test_counts(
    x_t: ArrayLike,
    n_t: ArrayLike,
    x_c: ArrayLike,
    n_c: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
    margin: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two-proportion z test of the live-birth rates, one test per replicate.

    With ``margin == 0`` this is the pooled z test, ``z = (p_t - p_c) / sqrt(p (1 - p)
    (1/n_t + 1/n_c))`` with ``p`` the pooled rate; its two-sided p-value equals that of
    Pearson's chi-square without continuity correction. With ``margin > 0`` it is the
    Farrington-Manning score test of non-inferiority, H0: ``p_t - p_c <= -margin`` against
    H1: ``p_t - p_c > -margin``, with the variance taken at the rates that maximise the
    likelihood under ``p_t - p_c = -margin`` (closed-form cubic root, Farrington & Manning
    1990, Stat Med 9:1447).

    Parameters
    ----------
    x_t, n_t, x_c, n_c : array_like of int
        Live births and women analysed in the treatment and control arms; broadcast
        together, so ``n_t`` and ``n_c`` may be scalars or vary by replicate.
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"``: treatment rate larger than control. Must be ``"larger"`` when
        ``margin > 0``.
    margin : float
        Non-inferiority margin on the risk-difference scale, in [0, 1).

    Returns
    -------
    z : numpy.ndarray
        Test statistics, positive when treatment does better.
    p : numpy.ndarray
        P-values. Tables with no usable variance (an empty arm, or all women in both arms
        with the same outcome when ``margin == 0``) get ``z = 0`` and ``p = 1``.

    Raises
    ------
    InvalidArgumentError
        If counts are negative or exceed ``n``, ``margin`` is outside [0, 1), or
        ``margin > 0`` with an alternative other than ``"larger"``.

    Examples
    --------
    >>> z, p = z_test_counts([60, 50], 100, [50, 50], 100, alternative="larger")
    >>> z.round(4).tolist(), p.round(4).tolist()
    ([1.4213, 0.0], [0.0776, 0.5])
    >>> z, p = z_test_counts(55, 100, 60, 100, alternative="larger", margin=0.15)
    >>> round(float(p), 4)
    0.0741
    """
    check_alternative(alternative)
    if not 0.0 <= margin < 1.0:
        raise InvalidArgumentError(f"margin == {margin}, must be in [0, 1).")
    if margin > 0 and alternative != "larger":
        raise InvalidArgumentError(
            f"alternative == {alternative!r} with margin == {margin}, must be 'larger': "
            "the non-inferiority test is one-sided."
        )
    xt, nt, xc, nc = check_counts(x_t, n_t, x_c, n_c)
    with np.errstate(divide="ignore", invalid="ignore"):
        pt = xt / nt
        pc = xc / nc
        if margin == 0:
            pooled = (xt + xc) / (nt + nc)
            var = pooled * (1.0 - pooled) * (1.0 / nt + 1.0 / nc)
            diff = pt - pc
        else:
            pt0, pc0 = fm_restricted_rates(pt, pc, nc / nt, -margin)
            var = pt0 * (1.0 - pt0) / nt + pc0 * (1.0 - pc0) / nc
            diff = pt - pc + margin
        ok = (nt > 0) & (nc > 0) & (var > 0)
        z = np.where(ok, diff / np.sqrt(np.where(ok, var, 1.0)), 0.0)
    p = np.where(ok, wald_p(z, alternative), 1.0)
    return z, p
