"""Fisher's exact test of two live-birth rates, batched over replicates."""

from __future__ import annotations

from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from rplsim.stats._checks import check_alternative, check_counts
from rplsim.stats.pvalues import Alternative

__all__ = ["fisher_exact_counts"]

# Relative tolerance for "as or less probable than the observed table" in the two-sided Fisher
# test. R's fisher.test uses 1e-7; scipy >= 1.13 uses 1e-14, tighter than the ~1e-13 rounding
# of our log-gamma probabilities, which would miss exact ties (e.g. equal arms).
_FISHER_RELTOL = 1e-7
# Cap on the number of cells of the (unique tables x support) work array in the Fisher test.
_FISHER_MAX_CELLS = 2**21


def fisher_exact_counts(
    x_t: ArrayLike,
    n_t: ArrayLike,
    x_c: ArrayLike,
    n_c: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
) -> NDArray[np.float64]:
    """Fisher's exact test of the live-birth rates, one test per replicate.

    Conditional on both margins, ``x_t`` is hypergeometric under H0. The one-sided p-values
    are its tails; the two-sided p-value sums the probabilities of all tables no more
    probable than the observed one (relative tolerance ``1e-7``, as R's ``fisher.test``).
    Each distinct table is computed once, with the whole null distribution in one array
    operation, so the cost grows with the number of distinct tables, not of replicates.

    Parameters
    ----------
    x_t, n_t, x_c, n_c : array_like of int
        Live births and women analysed per arm; broadcast together.
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"``: treatment rate larger (scipy's ``"greater"`` for the table
        ``[[x_t, n_t - x_t], [x_c, n_c - x_c]]``), ``"smaller"``: scipy's ``"less"``.

    Returns
    -------
    numpy.ndarray
        P-values; 1 when a margin is zero (empty arm, or no or only successes).

    Raises
    ------
    InvalidArgumentError
        If counts are negative, non-integer or exceed ``n``.

    Examples
    --------
    >>> fisher_exact_counts([8, 5], 10, [3, 5], 10).round(4).tolist()
    [0.0698, 1.0]
    >>> fisher_exact_counts(8, 10, 3, 10, alternative="larger").round(4).tolist()
    0.0349
    """
    check_alternative(alternative)
    xt, nt, xc, nc = check_counts(x_t, n_t, x_c, n_c, dtype=np.int64)
    shape = xt.shape
    rows = np.stack([a.ravel() for a in (xt, nt, xt + xc, nt + nc)], axis=1)
    if rows.shape[0] == 0:
        return np.ones(shape)
    uniq, inverse = _unique_rows(rows)
    p_uniq = np.empty(uniq.shape[0])
    # Support of x_t: max(0, n_t - (N - K)) .. min(K, n_t).
    lo = np.maximum(0, uniq[:, 1] - (uniq[:, 3] - uniq[:, 2]))
    hi = np.minimum(uniq[:, 2], uniq[:, 1])
    width = hi - lo + 1
    log_fact = special.gammaln(np.arange(int(uniq[:, 3].max()) + 1) + 1.0)
    order = np.argsort(width, kind="stable")
    w_sorted = width[order]
    start = 0
    while start < order.size:
        # Blocks of rows sorted by support width: the widest (last) row sets the padded
        # block size, kept under _FISHER_MAX_CELLS.
        stops = np.arange(start + 1, order.size + 1)
        cost = (stops - start) * w_sorted[stops - 1]
        stop = int(stops[max(0, int(np.searchsorted(cost, _FISHER_MAX_CELLS, side="right")) - 1)])
        idx = order[start:stop]
        p_uniq[idx] = _fisher_block(uniq[idx], lo[idx], hi[idx], alternative, log_fact)
        start = stop
    return p_uniq[inverse].reshape(shape)


def _unique_rows(rows: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """Distinct rows and the inverse map; a 1-D integer key when it fits, as it sorts faster."""
    span = rows.max(axis=0).astype(np.float64) + 1.0
    if np.prod(span) < 2.0**62:
        key = np.zeros(rows.shape[0], dtype=np.int64)
        for j in range(rows.shape[1]):
            key = key * int(span[j]) + rows[:, j]
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        return rows[first], inverse.ravel()
    uniq, inverse = np.unique(rows, axis=0, return_inverse=True)
    return uniq, inverse.ravel()


def _fisher_block(
    tables: NDArray[np.int64],
    lo: NDArray[np.int64],
    hi: NDArray[np.int64],
    alternative: str,
    log_fact: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Exact p-values for a block of distinct tables ``(x_t, n_t, K, N)``.

    ``log_fact[m]`` is ``log(m!)`` for ``m`` up to the largest ``N``.
    """
    x, n1, k_succ, n_all = (tables[:, j : j + 1] for j in range(4))
    kk = lo[:, None] + np.arange(int((hi - lo).max()) + 1)[None, :]
    valid = kk <= hi[:, None]
    kk = np.where(valid, kk, lo[:, None])
    # Log hypergeometric weights up to a per-table constant, normalised below by their sum;
    # dropping the constant avoids the cancellation of log C(N, n_t).
    logw = -(log_fact[kk] + log_fact[k_succ - kk] + log_fact[n1 - kk] + log_fact[n_all - k_succ - n1 + kk])
    logw = np.where(valid, logw, -np.inf)
    logw_max = logw.max(axis=1, keepdims=True)
    w = np.exp(logw - logw_max)
    total = w.sum(axis=1)
    if alternative == "larger":
        keep = kk >= x
    elif alternative == "smaller":
        keep = kk <= x
    else:
        i_obs = x[:, 0] - lo
        log_obs = logw[np.arange(logw.shape[0]), i_obs][:, None]
        keep = logw <= log_obs + np.log1p(_FISHER_RELTOL)
    p = np.where(keep & valid, w, 0.0).sum(axis=1) / total
    return cast(NDArray[np.float64], np.minimum(p, 1.0))
