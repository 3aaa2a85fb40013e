"""The exact power surface of a fixed count-path trial: power at many rate pairs in one pass.

Assurance integrates the exact power of one design over a prior on the two rates, so it needs
that power at a few hundred ``(p_control, p_treatment)`` nodes. :func:`rplsim.design.exact_power_counts`
would redo the whole sum for each; here the design's rejection rows are read once (the same
threshold store, the same registered test) and only the binomial weights change with the rates:

    power(p_c, p_t) = sum over rows r = (m_c, m_t, x_c) of  w(m_c, m_t) b(x_c; m_c, p_c) S(U_r; m_t, p_t)

``S(U; m_t, p) = P(Binomial(m_t, p) >= U)`` depends on the row only through ``(m_t, U)``, a few
thousand keys, so the control side is summed onto those keys first (one weighted ``bincount``
per control rate) and the surface is a contraction of two small arrays: the cost is
``rows x K + keys x K x J`` for ``K`` control rates with ``J`` treated rates each, not
``rows x K x J``. Fisher's few rejecting cells outside the runs are added apart, as in
:mod:`rplsim.design.exact_counts`.

The rows are the union of every control rate's rows (each rate's far tails of births left out up
to ``tol / 4`` a tail), so each node's error bound is the probability its rows miss; the treated
side is summed whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from scipy import special

from rplsim.design.exact_counts import (
    _CONVEX_FUNCTIONS,
    _FISHER_FUNCTION,
    EXACT_TOLERANCE,
    MAX_EXACT_CELLS,
    _exact_power_counts,
    _NotConvexError,
    _threshold_rows,
    check_design,
    extra_cells,
    kept_pairs,
)
from rplsim.exceptions import InvalidArgumentError
from rplsim.stats.pvalues import Alternative

__all__ = ["PowerSurface", "power_surface_counts"]

Array = NDArray[np.float64]
# Rates are clipped into [_EDGE, 1 - _EDGE]: a quadrature node may round to 0 or 1.
_EDGE = 1e-12


@dataclass(frozen=True)
class PowerSurface:
    """Exact power at rate pairs ``(p_control[k], p_treatment[k, j])``.

    Attributes
    ----------
    power : numpy.ndarray, shape (K, J)
        P(reject in favour of treatment) at each pair.
    max_error : float
        Largest probability left out at any pair: each value lies in ``[power, power + max_error]``.
    rows, keys : int
        Rejection rows ``(m_c, m_t, x_c)`` and ``(m_t, threshold)`` keys summed over.
    method : str
        ``"surface"`` (the one-pass sum) or ``"pointwise"`` (one enumeration per pair: analyses
        whose rows are not intervals).
    """

    power: Array
    max_error: float
    rows: int
    keys: int
    method: str


def _log_factorials(m_max: int) -> Array:
    k = np.arange(m_max + 1)
    return cast(Array, special.gammaln(k + 1.0))


def _binomial_rows(m: NDArray[np.int64], p: Array, width: int, log_fact: Array) -> Array:
    """pmf[..., i, k] = P(Binomial(m[i], p[...]) = k), k = 0..width - 1 (0 beyond m), from
    log-factorials: scipy's ``binom.pmf`` per element is about ten times slower here, and the
    values agree to a few ulps."""
    k = np.arange(width)
    valid = k[None, :] <= m[:, None]
    kk = np.minimum(k[None, :], m[:, None])
    log_c = log_fact[m][:, None] - log_fact[kk] - log_fact[m[:, None] - kk]
    lp, lq = np.log(p)[..., None, None], np.log1p(-p)[..., None, None]
    # log pmf = log C + k (log p - log q) + m log q, built in one full-size array (the surface's
    # largest: K x J x rows of m x width).
    out = kk * (lp - lq)
    out += log_c
    out += m[:, None] * lq
    np.exp(out, out=out)
    out *= valid
    return cast(Array, out)


def power_surface_counts(
    p_control: Array,
    p_treatment: Array,
    n_control: int,
    n_treatment: int,
    *,
    analysis: str = "chi2",
    alpha: float = 0.05,
    alternative: str = "two-sided",
    margin: float | None = None,
    dropout: float = 0.0,
    block_size: int = 0,
    allocation_ratio: float | None = None,
    tol: float = EXACT_TOLERANCE,
) -> PowerSurface:
    """Exact power of one count-path trial at many rate pairs (see the module doc).

    Parameters
    ----------
    p_control : array, shape (K,)
        Control rates.
    p_treatment : array, shape (K, J)
        Treated rates: row ``k`` goes with ``p_control[k]``.
    n_control, n_treatment, analysis, alpha, alternative, margin, dropout, block_size, allocation_ratio, tol
        As :func:`rplsim.design.exact_power_counts`.

    Returns
    -------
    PowerSurface

    Examples
    --------
    >>> import numpy as np
    >>> s = power_surface_counts(np.array([0.6]), np.array([[0.6, 0.807]]), 85, 85, dropout=0.1, block_size=4)
    >>> np.round(s.power, 4).tolist()  # at 0.6 vs 0.6 the in-favour half of the type-I error
    [[0.0253, 0.8114]]
    """
    pc = np.clip(np.asarray(p_control, dtype=float), _EDGE, 1 - _EDGE)
    pt = np.clip(np.asarray(p_treatment, dtype=float), _EDGE, 1 - _EDGE)
    if pc.ndim != 1 or pt.ndim != 2 or pt.shape[0] != pc.size or pc.size == 0 or pt.shape[1] == 0:
        raise InvalidArgumentError(
            f"p_control has shape {pc.shape} and p_treatment {pt.shape}: need (K,) and (K, J), K, J >= 1."
        )
    if not (np.all(np.isfinite(pc)) and np.all(np.isfinite(pt))):
        raise InvalidArgumentError("rates must be finite numbers in (0, 1).")
    n_c, n_t, mg, block, entry, ratio = check_design(
        n_control,
        n_treatment,
        analysis,
        alpha,
        alternative,
        margin,
        dropout,
        block_size,
        allocation_ratio,
        tol,
    )
    kw = {
        "analysis": analysis, "alpha": alpha, "alternative": alternative, "margin": mg,
        "dropout": dropout, "block_size": block, "allocation_ratio": ratio, "tol": tol,
    }  # fmt: skip
    if entry.function in _CONVEX_FUNCTIONS or entry.function is _FISHER_FUNCTION:
        try:
            return _surface(pc, pt, n_c, n_t, entry.name, entry.function, float(alpha), alternative, mg,
                            float(dropout), block, ratio, tol)  # fmt: skip
        except _NotConvexError:
            pass
    # Rows that are not intervals (or an analysis not known to be convex): one enumeration a pair.
    power = np.empty(pt.shape)
    err = 0.0
    for k in range(pc.size):
        for j in range(pt.shape[1]):
            res = _exact_power_counts(float(pc[k]), float(pt[k, j]), n_c, n_t, engine="full", **kw)  # type: ignore[arg-type]
            power[k, j] = res.power
            err = max(err, res.max_error)
    return PowerSurface(power=power, max_error=err, rows=0, keys=0, method="pointwise")


def _surface(
    pc: Array,
    pt: Array,
    n_c: int,
    n_t: int,
    name: str,
    function: object,
    alpha: float,
    alternative: str,
    mg: float,
    dropout: float,
    block: int,
    ratio: float,
    tol: float,
) -> PowerSurface:
    mc_all, mt_all, weights = kept_pairs(n_c, n_t, dropout, block, ratio, tol)
    uc, ic = np.unique(mc_all, return_inverse=True)
    ut, it = np.unique(mt_all, return_inverse=True)
    m_max = int(max(uc.max(), ut.max()))
    log_fact = _log_factorials(m_max)
    width_c = int(uc.max()) + 1
    # Each control rate's births: a tail leaves out at most tol / 4; the rows are the union
    # (the lower tail is furthest left at the smallest rate, the upper furthest right at the largest).
    eps = tol / 4
    lo_pmf = _binomial_rows(uc, np.array([pc.min()]), width_c, log_fact)[0]
    hi_pmf = _binomial_rows(uc, np.array([pc.max()]), width_c, log_fact)[0]
    lo_c = (np.cumsum(lo_pmf, axis=1) <= eps).sum(axis=1)
    top = (np.cumsum(hi_pmf[:, ::-1], axis=1) <= eps).sum(axis=1) - (width_c - 1 - uc)
    hi_c = np.maximum(uc - top, lo_c)
    lo_p, hi_p = lo_c[ic], hi_c[ic]
    rows = hi_p - lo_p + 1
    is_fisher = function is _FISHER_FUNCTION
    work = int((rows * (mt_all + 1) if is_fisher else rows * 8).sum())
    if work > MAX_EXACT_CELLS:
        raise InvalidArgumentError(
            f"n_control == {n_c}, n_treatment == {n_t}: the exact power surface needs about {work:,} "
            f"table evaluations (more than {MAX_EXACT_CELLS:,}); simulate this design."
        )
    analysis_key = (name, function, alpha, alternative, mg)
    alt = cast(Alternative, alternative)
    u, low, offs, store = _threshold_rows(analysis_key, mc_all, mt_all, lo_p, hi_p, alpha, alt, mg)
    x_c = np.repeat(lo_p, rows) + offs
    flat_c = np.repeat(ic, rows) * width_c + x_c
    w_r = np.repeat(weights, rows)
    width_t = int(ut.max()) + 2
    it_r = np.repeat(it, rows)
    # Keys (m_t, threshold): at_least[.., it, U] = P(X >= U), U = 0..m_t + 1; at_most at L + 1.
    key_up = it_r * width_t + u
    key_low = it_r * width_t + low + 1
    n_keys = ut.size * width_t
    good_low = alternative != "two-sided"
    extra = extra_cells(store, uc, ut, lo_c, hi_c, mc_all, mt_all, weights)
    if alternative == "two-sided":
        extra = tuple(v[extra[5]] for v in extra)  # type: ignore[assignment]
    # Control rates in chunks: the work arrays are (chunk x rows) and (chunk x J x keys).
    step = max(1, min(pc.size, (1 << 23) // max(int(rows.sum()), pt.shape[1] * n_keys, 1)))
    power = np.empty(pt.shape)
    covered = np.empty(pc.size)
    used_keys = 0
    for k0 in range(0, pc.size, step):
        sl = slice(k0, min(pc.size, k0 + step))
        power[sl], covered[sl], n_used = _chunk(
            pc[sl], pt[sl], uc, ut, width_c, width_t, log_fact, flat_c, w_r, key_up,
            key_low if good_low else None, n_keys, extra,
        )  # fmt: skip
        used_keys = max(used_keys, n_used)
    max_error = float(max(0.0, 1.0 - covered.min()))
    return PowerSurface(
        power=np.minimum(power, 1.0), max_error=max_error, rows=int(rows.sum()), keys=used_keys,
        method="surface",
    )  # fmt: skip


def _chunk(
    pc: Array,
    pt: Array,
    uc: NDArray[np.int64],
    ut: NDArray[np.int64],
    width_c: int,
    width_t: int,
    log_fact: Array,
    flat_c: NDArray[np.int64],
    w_r: Array,
    key_up: NDArray[np.int64],
    key_low: NDArray[np.int64] | None,
    n_keys: int,
    extra: tuple[Any, ...],
) -> tuple[Array, Array, int]:
    """(power (k, J), covered mass (k,), keys used) for a chunk of control rates."""
    # Control side: a[k, r] = w(pair) * b(x_c; m_c, p_c[k]), summed onto the treated keys.
    pmf_c = _binomial_rows(uc, pc, width_c, log_fact)  # (k, Uc, width_c)
    a = pmf_c.reshape(pc.size, -1)[:, flat_c] * w_r[None, :]
    covered = a.sum(axis=1)
    c_up = np.stack([np.bincount(key_up, weights=a[k], minlength=n_keys) for k in range(pc.size)])
    c_low = (
        None
        if key_low is None
        else np.stack([np.bincount(key_low, weights=a[k], minlength=n_keys) for k in range(pc.size)])
    )
    hit = c_up.any(axis=0) if c_low is None else c_up.any(axis=0) | c_low.any(axis=0)
    used = np.flatnonzero(hit)
    pmf_t = _binomial_rows(ut, pt, width_t - 1, log_fact)  # (k, J, Ut, width_t - 1)
    zeros = np.zeros((*pmf_t.shape[:-1], 1))
    kj = pt.shape
    at_least = np.concatenate([np.cumsum(pmf_t[..., ::-1], axis=-1)[..., ::-1], zeros], axis=-1)
    # einsum, not @: BLAS would make the last bits depend on the thread count.
    power = np.einsum("ku,kju->kj", c_up[:, used], at_least.reshape(*kj, n_keys)[..., used])
    if c_low is not None:
        at_most = np.concatenate([zeros, np.cumsum(pmf_t, axis=-1)], axis=-1)
        power = power + np.einsum("ku,kju->kj", c_low[:, used], at_most.reshape(*kj, n_keys)[..., used])
    w_e, ic_e, xc_e, it_e, xt_e, _ = extra
    if w_e.size:
        e_c = w_e[None, :] * pmf_c[:, ic_e, xc_e]  # (k, E)
        power = power + np.einsum("ke,kje->kj", e_c, pmf_t[:, :, it_e, xt_e])
    return power, covered, int(used.size)
