"""Exact power of Fisher's exact test, summed over every 2x2 table."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import special

from rplsim._core.validation import check_choice, check_integer
from rplsim._core.vocabulary import ALTERNATIVES
from rplsim.exceptions import InvalidArgumentError

__all__ = ["check_rate", "exact_power"]


def check_rate(name: str, value: float) -> float:
    """``float(value)`` if it is a number in (0, 1), else :class:`InvalidArgumentError`."""
    if not isinstance(value, (int, float, np.floating, np.integer)) or not 0.0 < value < 1.0:
        raise InvalidArgumentError(f"{name} == {value!r}, must be in (0, 1).")
    return float(value)


def _log_binom_coef(n: int) -> NDArray[np.float64]:
    k = np.arange(n + 1)
    out: NDArray[np.float64] = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return out


def exact_power(
    p_control: float,
    p_treatment: float,
    n_control: int,
    n_treatment: int,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> float:
    """Exact power of Fisher's exact test, summed over every possible 2x2 table.

    For each total number of events ``s`` the null (hypergeometric) distribution of the
    control count is tabulated once; the p-value of every table follows from it (two-sided:
    the sum of the probabilities no larger than the observed one, with scipy's relative
    tolerance ``1 + 1e-7``; one-sided: a tail). Power is the binomial probability of the
    tables with ``p <= alpha``. Written by hand because calling ``scipy.stats.fisher_exact``
    on all ``(n_c + 1)(n_t + 1)`` tables is far too slow; the result agrees with it (tested).

    Parameters
    ----------
    p_control, p_treatment : float
        True event rates.
    n_control, n_treatment : int
        Patients per arm.
    alpha : float, default 0.05
        Level; a table is significant if its p-value is ``<= alpha``.
    alternative : {"two-sided", "larger", "smaller"}
        "larger": the treatment rate is larger under H1.

    Returns
    -------
    float

    Raises
    ------
    rplsim.exceptions.InvalidArgumentError
        If an argument is out of range.

    Examples
    --------
    >>> round(exact_power(0.2, 0.8, 10, 10), 4)
    0.6353
    """
    pc = check_rate("p_control", p_control)
    pt = check_rate("p_treatment", p_treatment)
    n1 = check_integer("n_control", n_control, error=InvalidArgumentError)
    n2 = check_integer("n_treatment", n_treatment, error=InvalidArgumentError)
    check_choice("alternative", alternative, ALTERNATIVES)
    total = n1 + n2
    x = np.arange(n1 + 1)[:, None]  # control events
    s = np.arange(total + 1)[None, :]  # total events
    y = s - x
    valid = (y >= 0) & (y <= n2)
    yc = np.clip(y, 0, n2)
    lc1, lc2, lcn = _log_binom_coef(n1), _log_binom_coef(n2), _log_binom_coef(total)
    with np.errstate(invalid="ignore"):
        log_h = lc1[x] + lc2[yc] - lcn[s]
    h = np.where(valid, np.exp(log_h), 0.0)  # hypergeometric pmf of x given s, by column

    if alternative == "two-sided":
        # Offsetting column j by 2j sorts each column within one global sort; then the
        # p-value is the cumulative sum up to the last entry <= the observed pmf.
        offset = 2.0 * np.arange(total + 1)[None, :]
        keys = (h + offset).T.ravel()
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        cums = np.cumsum(h.T.ravel()[order])
        col_start = np.searchsorted(sorted_keys, 2.0 * np.arange(total + 1), side="left")
        idx = np.searchsorted(sorted_keys, (h * (1.0 + 1e-7) + offset).T.ravel(), side="right")
        before = np.where(col_start > 0, cums[np.maximum(col_start - 1, 0)], 0.0)
        pval = (cums[idx - 1] - before[np.arange(total + 1).repeat(n1 + 1)]).reshape(total + 1, n1 + 1).T
    elif alternative == "larger":
        pval = np.cumsum(h, axis=0)  # P(X_control <= x | s)
    else:
        pval = np.cumsum(h[::-1], axis=0)[::-1]  # P(X_control >= x | s)

    log_b1 = lc1 + np.arange(n1 + 1) * math.log(pc) + (n1 - np.arange(n1 + 1)) * math.log1p(-pc)
    log_b2 = lc2 + np.arange(n2 + 1) * math.log(pt) + (n2 - np.arange(n2 + 1)) * math.log1p(-pt)
    prob = np.where(valid, np.exp(log_b1[x] + log_b2[yc]), 0.0)
    # Tolerance as in scipy: floating-point p-values a hair above alpha still count.
    reject = valid & (pval <= alpha * (1.0 + 1e-7))
    return float(np.clip(prob[reject].sum(), 0.0, 1.0))
