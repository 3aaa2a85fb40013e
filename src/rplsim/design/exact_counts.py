"""Exact power and type-I error of the count path of a fixed trial, by enumeration.

The count path of :func:`rplsim.simulate_power` draws one trial as: the treated count ``T`` of
the ``N = n_control + n_treatment`` randomised women (permuted blocks: every complete block
holds ``round(block * r / (1 + r))`` treated women and the last, incomplete block the first
``rest`` places of a random permutation of one block, a hypergeometric count; simple
randomisation: ``T ~ Binomial(N, r / (1 + r))``), analysed women ``m_t ~ Binomial(T, 1 - d)``
and ``m_c ~ Binomial(N - T, 1 - d)`` (dropout ``d`` completely at random), live births
``x ~ Binomial(m, p)`` per arm (the stratum split of the simulation leaves each arm's total
binomial at the arm's marginal rate). Here that distribution is summed over exactly:

    P(reject) = sum over (m_c, m_t) of P(m_c, m_t) * b_c' R(m_c, m_t) b_t

with ``R`` the rejection matrix of the registered analysis on the ``(x_c, x_t)`` lattice (the
same function and decision rule as the simulation: ``p <= alpha``, NaN never rejects, "in
favour of treatment" = the sign of the effect for two-sided tests) and ``b`` binomial pmfs.
``R`` does not depend on the rates, so one matrix serves power and type-I error.

Each row of ``R`` (fixed ``m_c, m_t, x_c``) is held as two thresholds: the test rejects in favour
of treatment at ``x_t >= U`` and against it at ``x_t <= L`` (Barnard's convexity), so a row sums
to two binomial tails and a design costs O(rows), not O(tables):

- chi2 (pooled z, Farrington-Manning): ``U`` and ``L`` are searched with the registered function
  itself (from a closed-form start, galloping, then bisection, in lockstep over all rows),
  ending on evaluated brackets (no rejection at ``U - 1``, rejection at ``U``); a few random rows
  per search are evaluated whole, and a row that is not an interval sends the call to whole
  matrices. The tests check ``U``, ``L`` against every table of every lattice up to 50 per arm.
- Fisher is not convex (``m_c = 34, m_t = 58, x_c = 1``: rejects at ``x_t = 10``, not 11, from 12
  on): its rows are computed whole, every table of one margin ``K = x_c + x_t`` from one
  hypergeometric distribution (the registered test's log-weights and tie rule; tables whose
  p-value lies within 1e-9 of alpha are decided by the registered function), the thresholds
  read off the runs at both ends and the few rejecting cells outside them kept and summed
  apart.
- any other analysis: whole matrices from the registered function (the reference path).
  Boschloo's test (``rplsim.stats.boschloo``) is one: its p-values come a lattice per
  analysed-size pair, and the pairs' work is checked before the sums start (one line of
  :class:`~rplsim.exceptions.InvalidArgumentError` past about 10 s).

Thresholds are kept between calls by analysis and analysed sizes, so power curves, searches and
other rates reuse them.

Analysed-size pairs and births in the far tails are left out only up to a total probability
``tol``; what is left out is summed and reported as ``max_error``: the exact value lies in
``[value, value + max_error]``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from rplsim._core.validation import check_choice, check_integer
from rplsim._core.vocabulary import ALTERNATIVES
from rplsim.design.exact import check_rate
from rplsim.exceptions import InvalidArgumentError
from rplsim.stats.boschloo import check_work as _check_boschloo_work
from rplsim.stats.fisher import _FISHER_RELTOL
from rplsim.stats.pvalues import Alternative
from rplsim.stats.registry import LookData, count_sign, get_analysis

__all__ = [
    "EXACT_TOLERANCE",
    "MAX_EXACT_CELLS",
    "ExactCounts",
    "analysed_size_distribution",
    "exact_power_counts",
    "randomised_treated_distribution",
]

#: Default bound on the probability left out of the enumeration (``max_error``).
EXACT_TOLERANCE = 1e-12
#: At most this many lattice cells (tables) are evaluated for one call (about 10 s of work);
#: larger designs are refused with a pointer to simulation. (A limit of this module.)
MAX_EXACT_CELLS = 200_000_000
# Tables per call of the analysis function (bounds the work arrays of a batch).
_BATCH_CELLS = 1 << 20
# Cells of rejection matrices kept between calls (two bool matrices each: ~2 bytes a cell).
_CACHE_CELLS = 1 << 25


@dataclass(frozen=True)
class ExactCounts:
    """Exact operating characteristics of a fixed count-path trial.

    Attributes
    ----------
    power : float
        P(reject H0 in favour of treatment) at ``(p_control, p_treatment)``.
    rejection : float
        P(reject H0 at all) at the same rates.
    type1_error : float
        P(reject H0 at all) with the treated arm at ``p_null``.
    n_control, n_treatment : int
        Planned randomised women per arm (the blocks may move the split, see
        ``randomised_treated_mean``).
    randomised_treated_mean : float
        Expected treated women randomised.
    analysed_control_mean, analysed_treatment_mean, analysed_mean : float
        Expected analysed women (after dropout) in each arm and in both arms together.
    pairs, cells : int
        Analysed-size pairs and (x_c, x_t) tables summed over.
    max_error : float
        Largest probability left out of any of the three sums: each exact value lies in
        ``[value, value + max_error]``.
    """

    power: float
    rejection: float
    type1_error: float
    p_control: float
    p_treatment: float
    p_null: float
    n_control: int
    n_treatment: int
    randomised_treated_mean: float
    analysed_control_mean: float
    analysed_treatment_mean: float
    analysed_mean: float
    analysis: str
    alpha: float
    alternative: str
    margin: float
    dropout: float
    block_size: int
    pairs: int
    cells: int
    max_error: float

    def as_dict(self) -> dict[str, Any]:
        """The fields as a flat dict (one row of a table)."""
        return asdict(self)


def randomised_treated_distribution(n_total: int, ratio: float, block_size: int) -> NDArray[np.float64]:
    """P(T = t), t = 0..n_total: the treated count as :func:`rplsim.trial.treated_counts` draws it.

    Parameters
    ----------
    n_total : int
        Randomised women.
    ratio : float
        Treated to control allocation (``n_treatment / n_control`` in the simulation).
    block_size : int
        Permuted blocks of this size; 0 (or less) for simple randomisation.
    """
    p_t = ratio / (1 + ratio)
    t = np.arange(n_total + 1)
    if block_size <= 0:
        return cast(NDArray[np.float64], stats.binom.pmf(t, n_total, p_t))
    t_per_block = round(block_size * p_t)  # as treated_counts computes it
    full, rest = divmod(n_total, block_size)
    out = np.zeros(n_total + 1)
    k = np.arange(rest + 1)
    part = stats.hypergeom.pmf(k, block_size, t_per_block, rest) if rest else np.ones(1)
    out[full * t_per_block + k] = part
    return out


def analysed_size_distribution(
    n_control: int, n_treatment: int, dropout: float, block_size: int, ratio: float | None = None
) -> NDArray[np.float64]:
    """P(m_c, m_t): the joint distribution of analysed women per arm, shape (N + 1, N + 1).

    ``N = n_control + n_treatment``; ``ratio`` defaults to ``n_treatment / n_control``, the
    allocation the simulation randomises with.
    """
    n_total = n_control + n_treatment
    p_t = randomised_treated_distribution(
        n_total, n_treatment / n_control if ratio is None else ratio, block_size
    )
    keep = 1.0 - dropout
    out = np.zeros((n_total + 1, n_total + 1))
    m = np.arange(n_total + 1)
    for t in np.flatnonzero(p_t > 0):
        if dropout == 0:
            out[n_total - t, t] += p_t[t]
            continue
        b_t = stats.binom.pmf(m[: t + 1], t, keep)
        b_c = stats.binom.pmf(m[: n_total - t + 1], n_total - t, keep)
        out[: n_total - t + 1, : t + 1] += p_t[t] * np.outer(b_c, b_t)
    return out


_Matrix = NDArray[np.bool_]
_IntArray = NDArray[np.int64]


def kept_pairs(
    n_control: int, n_treatment: int, dropout: float, block_size: int, ratio: float, tol: float
) -> tuple[_IntArray, _IntArray, NDArray[np.float64]]:
    """The analysed-size pairs ``(m_c, m_t)`` summed over and their probabilities: every pair
    of :func:`analysed_size_distribution` but the least likely, left out up to ``tol / 2`` in all."""
    sizes = analysed_size_distribution(n_control, n_treatment, dropout, block_size, ratio)
    flat = sizes.ravel()
    order = np.argsort(flat, kind="stable")
    dropped = np.cumsum(flat[order])
    n_drop = int(np.searchsorted(dropped, tol / 2, side="right"))
    kept = np.sort(order[n_drop:])
    kept = kept[flat[kept] > 0]
    mc_all, mt_all = np.divmod(kept, sizes.shape[1])
    return mc_all, mt_all, flat[kept]


# Kept between calls: rejection matrices ([good; any], the reference path) and threshold rows
# (first x_c, U, L) of the threshold path, with their cost in cells.
_CACHE: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
_cache_cells = 0
# The registered functions whose rejection regions are monotone in x_t at fixed (m_c, m_t, x_c)
# (Barnard's convexity), so that each row is {x_t <= L} u {x_t >= U}: the pooled z / chi2 and
# the Farrington-Manning score test (Roehmel & Mansmann 1999, Biom J 41:149; checked on every
# lattice up to 60 per arm in the tests). Not Fisher's two-sided test: at m_c = 34, m_t = 58,
# x_c = 1 it rejects at x_t = 10, not at 11, and again from 12 on (alpha 0.05), so Fisher
# takes the whole matrices. Captured at import, so an analysis re-registered under the same
# name takes the whole matrices too.
_CONVEX_FUNCTIONS = (get_analysis("chi2").function,)
_FISHER_FUNCTION = get_analysis("fisher").function
# Boschloo's test costs a lattice of p-values per analysed-size pair (rplsim.stats.boschloo):
# the pairs' work is checked before the enumeration starts.
_BOSCHLOO_FUNCTION = get_analysis("boschloo").function
# Rows per threshold search checked against the whole row by the runtime guard.
_GUARD_ROWS = 24


class _NotConvexError(Exception):
    """A guarded row of the threshold path is not of the form {x_t <= L} u {x_t >= U}."""


def _cache_put(key: Hashable, value: Any, cost: int) -> None:
    global _cache_cells
    old = _CACHE.pop(key, None)
    if old is not None:
        _cache_cells -= old[1]
    _CACHE[key] = (value, cost)
    _cache_cells += cost
    while _cache_cells > _CACHE_CELLS and len(_CACHE) > 1:
        _, (_, size) = _CACHE.popitem(last=False)
        _cache_cells -= size


def _clear_cache() -> None:
    """Forget every kept rejection matrix and threshold (benchmarks time cold runs with it)."""
    global _cache_cells
    _CACHE.clear()
    _cache_cells = 0


def _tails(
    m_values: NDArray[np.int64], rates: Sequence[float], eps: float
) -> tuple[dict[int, list[NDArray[np.float64]]], dict[int, tuple[int, int]]]:
    """Binomial pmfs of each ``m`` at each rate, and the union over rates of the range
    ``lo..hi`` outside which each tail holds at most ``eps``."""
    pmfs: dict[int, list[NDArray[np.float64]]] = {}
    ranges: dict[int, tuple[int, int]] = {}
    for m in m_values.tolist():
        k = np.arange(m + 1)
        vecs = [stats.binom.pmf(k, m, p) for p in rates]
        lo, hi = m, 0
        for v in vecs:
            # Leading (trailing) entries whose cumulative mass stays <= eps are left out.
            lo = min(lo, int(np.searchsorted(np.cumsum(v), eps, side="right")))
            hi = max(hi, m - int(np.searchsorted(np.cumsum(v[::-1]), eps, side="right")))
        lo, hi = min(lo, hi), max(lo, hi)
        pmfs[m] = vecs
        ranges[m] = (lo, hi)
    return pmfs, ranges


def _p_sign(
    function: Any,
    alternative: Alternative,
    margin: float,
    x_c: _IntArray,
    n_c: _IntArray,
    x_t: _IntArray,
    n_t: _IntArray,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(p, sign) of the registered function on a batch of tables; NaN p is 1 (not significant)."""
    # One buffer: the arm counts are its rows and strata_counts (one stratum) a view of it.
    buf = np.empty((4, x_t.size), dtype=np.int64)
    buf[0], buf[1], buf[2], buf[3] = x_t, n_t, x_c, n_c
    data = LookData(
        x_t=buf[0],
        n_t=buf[1],
        x_c=buf[2],
        n_c=buf[3],
        strata_counts=buf.T[:, :, None],
        alternative=alternative,
        margin=margin,
    )
    p, sign = function(data)
    return np.nan_to_num(np.asarray(p, float), nan=1.0), np.asarray(sign, dtype=float)


def split_rejections(
    p: NDArray[np.float64], sign: NDArray[np.float64], alternative: str, alpha: float
) -> tuple[_Matrix, _Matrix]:
    """(upper, lower) rejections at level ``alpha`` from p-values and signs (see :func:`_decisions`)."""
    rej = p <= alpha
    if alternative == "two-sided":
        good = rej & (sign > 0)
        return good, rej & ~good
    none = np.zeros_like(rej)
    return (rej, none) if alternative == "larger" else (none, rej)


def _decisions(
    function: Any,
    alternative: Alternative,
    margin: float,
    alpha: float,
    x_c: _IntArray,
    n_c: _IntArray,
    x_t: _IntArray,
    n_t: _IntArray,
) -> tuple[_Matrix, _Matrix]:
    """(upper, lower) rejections of the registered function on a batch of tables.

    As trial.power._analyse and _decide: NaN is not significant, and a rejection counts in
    favour of treatment when the test is one-sided or the sign of the effect is positive.
    ``upper`` is the part expected to be ``{x_t >= U}`` (the rejections in favour of treatment
    for "two-sided" and "larger"), ``lower`` the part expected to be ``{x_t <= L}`` (against
    treatment for "two-sided", every rejection for "smaller"); for the sums, "good" is ``upper``
    (two-sided), ``upper | lower`` (one-sided) and "any" is ``upper | lower``.
    """
    p, sign = _p_sign(function, alternative, margin, x_c, n_c, x_t, n_t)
    return split_rejections(p, sign, alternative, alpha)


def _rejection_batch(
    analysis_key: tuple[Any, ...],
    pairs: list[tuple[int, int, tuple[int, int], tuple[int, int]]],
    alpha: float,
    alternative: Alternative,
    margin: float,
) -> list[_Matrix]:
    """Rejection matrices ``[good; any]`` (stacked: shape (2 * n_xc, n_xt)) of the analysis
    on each pair's lattice, evaluated in batches by the registered function itself."""
    function = analysis_key[1]
    out: list[_Matrix] = []
    start = 0
    while start < len(pairs):
        stop, cells = start, 0
        while stop < len(pairs) and (cells == 0 or cells < _BATCH_CELLS):
            _, _, (lc, hc), (lt, ht) = pairs[stop]
            cells += (hc - lc + 1) * (ht - lt + 1)
            stop += 1
        chunk = pairs[start:stop]
        info = np.array(
            [(m_c, m_t, lc, hc - lc + 1, lt, ht - lt + 1) for m_c, m_t, (lc, hc), (lt, ht) in chunk]
        )
        sizes = info[:, 3] * info[:, 5]
        which = np.repeat(np.arange(len(chunk)), sizes)
        offset = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        width = info[which, 5]
        x_c = (info[which, 2] + offset // width).astype(np.int64)
        x_t = (info[which, 4] + offset % width).astype(np.int64)
        n_c = info[which, 0].astype(np.int64)
        n_t = info[which, 1].astype(np.int64)
        upper, lower = _decisions(function, alternative, margin, alpha, x_c, n_c, x_t, n_t)
        rej = upper | lower
        good = upper if alternative == "two-sided" else rej
        at = 0
        for _, _, (lc, hc), (lt, ht) in chunk:
            shape = (hc - lc + 1, ht - lt + 1)
            size = shape[0] * shape[1]
            g = good[at : at + size].reshape(shape)
            a = rej[at : at + size].reshape(shape)
            out.append(np.vstack([g, a]))
            at += size
        start = stop
    return out


def _candidates(
    function: Any,
    alpha: float,
    alternative: str,
    margin: float,
    m_c: _IntArray,
    m_t: _IntArray,
    x_c: _IntArray,
) -> tuple[_IntArray, _IntArray]:
    """First guesses of ``U`` and ``L`` per row: where the pooled z (shifted by the margin,
    and by a continuity correction for Fisher) crosses the normal critical value. Only a start
    for the search, which evaluates the registered function itself."""
    crit = float(stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha))
    # An empty arm (m = 0) gives inf / nan here: clipped below, and the search decides.
    with np.errstate(divide="ignore", invalid="ignore"):
        return _candidates_raw(function, crit, margin, m_c.astype(float), m_t.astype(float), x_c)


def _candidates_raw(
    function: Any,
    crit: float,
    margin: float,
    mc: NDArray[np.float64],
    mt: NDArray[np.float64],
    x_c: _IntArray,
) -> tuple[_IntArray, _IntArray]:
    n = mc + mt
    k = crit**2 * (1.0 / mt + 1.0 / mc)
    a = x_c / mc - margin
    # (x / m_t - a)^2 = k * pooled * (1 - pooled), pooled = (x + x_c) / n: a quadratic in x.
    qa = 1.0 / mt**2 + k / n**2
    qb = -2.0 * a / mt - k * (n - 2.0 * x_c) / n**2
    qc = a**2 - k * x_c * (n - x_c) / n**2
    disc = np.sqrt(np.maximum(qb**2 - 4.0 * qa * qc, 0.0))
    upper = (-qb + disc) / (2.0 * qa)
    lower = (-qb - disc) / (2.0 * qa)
    if function is _FISHER_FUNCTION:
        shift = 0.5 * (1.0 + mt / mc)  # Yates: half a unit of each arm's rate scale
        upper, lower = upper + shift, lower - shift
    u = np.clip(np.nan_to_num(np.ceil(upper), nan=0.0), 0, mt + 1).astype(np.int64)
    lo = np.clip(np.nan_to_num(np.floor(lower), nan=0.0), -1, mt).astype(np.int64)
    return u, lo


def _thresholds(
    function: Any,
    alpha: float,
    alternative: Alternative,
    margin: float,
    m_c: _IntArray,
    m_t: _IntArray,
    x_c: _IntArray,
) -> tuple[_IntArray, _IntArray]:
    """``U`` and ``L`` per row ``(m_c, m_t, x_c)``: the registered test rejects ``upper``
    exactly at ``x_t >= U`` and ``lower`` exactly at ``x_t <= L`` (``U = m_t + 1``, ``L = -1``:
    never).

    Both are found by a search (from the candidates, galloping, then bisection) in lockstep
    over all rows, each probe a call of the registered function, and end on a bracket it has
    evaluated: ``upper`` false at ``U - 1`` and true at ``U`` (and the mirror for ``L``). That
    the region is one interval each side is the convexity assumption; ``_GUARD_ROWS`` random
    rows are evaluated whole and raise :class:`_NotConvexError` if they disagree.
    """
    rows = m_c.size
    cand_u, cand_l = _candidates(function, alpha, alternative, margin, m_c, m_t, x_c)
    up_on, down_on = alternative != "smaller", alternative != "larger"
    # First round, one call: U's candidate and its left neighbour, L's and its right one.
    cu = np.clip(cand_u, 0, m_t)
    cl = np.clip(cand_l, 0, m_t)
    probes = ([cu - 1, cu] if up_on else []) + ([cl + 1, cl] if down_on else [])
    k = len(probes)
    x = np.minimum(np.maximum(np.concatenate(probes), 0), np.tile(m_t, k))
    upper, lower = _decisions(
        function, alternative, margin, alpha, np.tile(x_c, k), np.tile(m_c, k), x, np.tile(m_t, k)
    )
    # Brackets per side in its own coordinate (upper: x; lower: y = m_t - x), each searching the
    # first true: lo is false (or -1), hi true (or m_t + 1).
    brackets = []
    at = 0
    for on, res, first_probe in ((up_on, upper, cu - 1), (down_on, lower, m_t - cl - 1)):
        if not on:
            brackets.append((m_t, m_t + 1))
            continue
        r1 = res[at : at + rows] & (first_probe >= 0)
        r2 = res[at + rows : at + 2 * rows]
        at += 2 * rows
        if np.any(r1 & ~r2):
            raise _NotConvexError
        p1, p2 = first_probe, first_probe + 1
        brackets.append(
            (np.where(~r2, p2, np.where(~r1, p1, -1)), np.where(r1, p1, np.where(r2, p2, m_t + 1)))
        )
    (lo_u, hi_u), (lo_l, hi_l) = brackets
    left_u = np.flatnonzero(hi_u - lo_u > 1)
    left_l = np.flatnonzero(hi_l - lo_l > 1)
    if left_u.size or left_l.size:
        # The rest (candidate off by more than one): gallop away from it (steps 1, 2, 4, ...)
        # and bisect once bracketed, both sides in lockstep.
        which = np.concatenate([left_u, left_l])
        is_up = np.arange(which.size) < left_u.size
        lo = np.concatenate([lo_u[left_u], lo_l[left_l]])
        hi = np.concatenate([hi_u[left_u], hi_l[left_l]])
        mt_s, mc_s, xc_s = m_t[which], m_c[which], x_c[which]
        last_true = np.concatenate(
            [hi_u[left_u] <= cu[left_u] - 1, hi_l[left_l] <= m_t[left_l] - cl[left_l] - 1]
        )
        step = np.ones(which.size, dtype=np.int64)
        active = np.arange(which.size)
        while active.size:
            a_lo, a_hi = lo[active], hi[active]
            mid = (a_lo + a_hi) // 2
            st = step[active]
            pr = np.where(last_true[active], np.maximum(mid, a_hi - st), np.minimum(mid, a_lo + st))
            step[active] = 2 * st
            up_side = is_up[active]
            m_ta = mt_s[active]
            upper, lower = _decisions(
                function, alternative, margin, alpha, xc_s[active], mc_s[active],
                np.where(up_side, pr, m_ta - pr), m_ta,
            )  # fmt: skip
            r = np.where(up_side, upper, lower)
            hi[active] = np.where(r, pr, a_hi)
            lo[active] = np.where(r, a_lo, pr)
            last_true[active] = r
            active = active[hi[active] - lo[active] > 1]
        hi_u = np.array(hi_u, copy=True)
        hi_l = np.array(hi_l, copy=True)
        hi_u[left_u] = hi[: left_u.size]
        hi_l[left_l] = hi[left_u.size :]
    u = np.asarray(hi_u, dtype=np.int64)
    low = np.asarray(m_t - hi_l, dtype=np.int64)
    _guard(function, alpha, alternative, margin, m_c, m_t, x_c, u, low)
    return u, low


def _guard(
    function: Any,
    alpha: float,
    alternative: Alternative,
    margin: float,
    m_c: _IntArray,
    m_t: _IntArray,
    x_c: _IntArray,
    u: _IntArray,
    low: _IntArray,
) -> None:
    """Evaluate a few whole rows and compare them with their thresholds."""
    if m_c.size == 0:
        return
    rng = np.random.default_rng(m_c.size)
    pick = rng.choice(m_c.size, size=min(_GUARD_ROWS, m_c.size), replace=False)
    widths = m_t[pick] + 1
    which = np.repeat(pick, widths)
    x = np.arange(int(widths.sum())) - np.repeat(np.cumsum(widths) - widths, widths)
    upper, lower = _decisions(function, alternative, margin, alpha, x_c[which], m_c[which], x, m_t[which])
    if not (np.array_equal(upper, x >= u[which]) and np.array_equal(lower, x <= low[which])):
        raise _NotConvexError


def _fisher_pairs(
    m_c: _IntArray,
    m_t: _IntArray,
    lo_c: _IntArray,
    hi_c: _IntArray,
    alpha: float,
    alternative: Alternative,
    margin: float,
) -> tuple[_Matrix, _Matrix]:
    """(upper, lower) decisions of the registered Fisher test on every table of each pair's
    rows ``x_c = lo_c..hi_c`` (row-major in (x_c, x_t), pairs concatenated).

    Tables sharing margins share one hypergeometric distribution, so each distribution is
    computed once with every p-value of its support: the same log-weights and tie rule as
    :func:`rplsim.stats.fisher.fisher_exact_counts` (so the tables counted in each p-value are
    the same), summed in another order; tables whose p-value lies within ``1e-9`` of alpha
    are decided again by the registered function itself.
    """
    cells = (hi_c - lo_c + 1) * (m_t + 1)
    starts = np.cumsum(cells) - cells
    upper = np.zeros(int(cells.sum()), dtype=bool)
    lower = np.zeros_like(upper)
    log_fact = special.gammaln(np.arange(int((m_c + m_t).max()) + 1) + 1.0)
    c_tie = np.log1p(_FISHER_RELTOL)
    # Distributions: one per (pair, K = x_c + x_t) the rows meet, support x_t = lo..hi.
    n_k = hi_c + m_t - lo_c + 1
    pair = np.repeat(np.arange(m_c.size), n_k)
    k = lo_c[pair] + np.arange(int(n_k.sum())) - np.repeat(np.cumsum(n_k) - n_k, n_k)
    n1, n_all = m_t[pair], (m_c + m_t)[pair]
    lo = np.maximum(0, k - m_c[pair])
    hi = np.minimum(k, n1)
    width = hi - lo + 1
    order = np.argsort(width, kind="stable")
    w_sorted = width[order]
    at = 0
    while at < order.size:
        # Blocks of distributions sorted by width: the widest (last) sets the padded size,
        # kept under _BATCH_CELLS / 4 cells.
        stops = np.arange(at + 1, order.size + 1)
        cost = (stops - at) * w_sorted[stops - 1]
        stop = int(stops[max(0, int(np.searchsorted(cost, _BATCH_CELLS // 4, side="right")) - 1)])
        idx = order[at:stop]
        at = stop
        w_max = int(width[idx].max())
        kk = lo[idx][:, None] + np.arange(w_max)[None, :]
        valid = kk <= hi[idx][:, None]
        kk = np.where(valid, kk, lo[idx][:, None])
        ks, n1s, ns = k[idx][:, None], n1[idx][:, None], n_all[idx][:, None]
        logw = -(log_fact[kk] + log_fact[ks - kk] + log_fact[n1s - kk] + log_fact[ns - ks - n1s + kk])
        logw = np.where(valid, logw, -np.inf)
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        total = w.sum(axis=1, keepdims=True)
        if alternative == "larger":
            p = np.cumsum(w[:, ::-1], axis=1)[:, ::-1] / total
        elif alternative == "smaller":
            p = np.cumsum(w, axis=1) / total
        else:
            # p(x) = sum of w(y) over logw(y) <= logw(x) + c_tie: the rank of x in the sorted
            # row, extended over the near-ties after it.
            key = np.where(valid, logw, np.inf)
            srt = np.argsort(key, axis=1, kind="stable")
            key_s = np.take_along_axis(key, srt, axis=1)
            cum = np.cumsum(np.take_along_axis(w, srt, axis=1), axis=1)
            rank = np.empty_like(srt)
            np.put_along_axis(rank, srt, np.arange(w_max)[None, :], axis=1)
            thr = logw + c_tie
            last = rank.copy()
            while True:
                nxt = np.minimum(last + 1, w_max - 1)
                more = (nxt > last) & (np.take_along_axis(key_s, nxt, axis=1) <= thr)
                if not more.any():
                    break
                last = np.where(more, nxt, last)
            p = np.take_along_axis(cum, last, axis=1) / total
        p = np.minimum(p, 1.0)
        rows, cols = np.nonzero(valid)
        xt = kk[rows, cols]
        pr = pair[idx][rows]
        xc = k[idx][rows] - xt
        inside = (xc >= lo_c[pr]) & (xc <= hi_c[pr])
        rows, cols, xt, pr, xc = rows[inside], cols[inside], xt[inside], pr[inside], xc[inside]
        pv = p[rows, cols]
        mc_r, mt_r = m_c[pr], m_t[pr]
        rej = pv <= alpha
        near = np.flatnonzero(np.abs(pv - alpha) <= 1e-9)
        if near.size:
            up_n, low_n = _decisions(
                _FISHER_FUNCTION, alternative, margin, alpha, xc[near], mc_r[near], xt[near], mt_r[near]
            )
            rej[near] = up_n | low_n
        if alternative == "two-sided":
            empty = np.zeros((0, 4, 1), dtype=np.int64)  # count_sign reads the arm totals only
            data = LookData(
                x_t=xt,
                n_t=mt_r,
                x_c=xc,
                n_c=mc_r,
                strata_counts=empty,
                alternative=alternative,
                margin=margin,
            )
            good = rej & (count_sign(data) > 0)
            up_v, low_v = good, rej & ~good
        elif alternative == "larger":
            up_v, low_v = rej, np.zeros_like(rej)
        else:
            up_v, low_v = np.zeros_like(rej), rej
        flat = starts[pr] + (xc - lo_c[pr]) * (mt_r + 1) + xt
        upper[flat] = up_v
        lower[flat] = low_v
    return upper, lower


def _rows_from_lattices(
    m_c: _IntArray, m_t: _IntArray, lo_c: _IntArray, hi_c: _IntArray, upper: _Matrix, lower: _Matrix
) -> tuple[_IntArray, _IntArray, _IntArray, _IntArray, _IntArray, _Matrix]:
    """Per row (every x_c of each pair, pairs concatenated): ``U`` = start of the trailing run
    of ``upper``, ``L`` = end of the leading run of ``lower``; and the rejecting cells outside
    both runs (rows that are not intervals) as ``(pair, x_c, x_t, is_upper)``."""
    rows_per = hi_c - lo_c + 1
    row_pair = np.repeat(np.arange(m_c.size), rows_per)
    width = m_t[row_pair] + 1
    row_start = np.cumsum(width) - width
    x_t = np.arange(int(width.sum())) - np.repeat(row_start, width)
    u = np.maximum.reduceat(np.where(upper, -1, x_t), row_start) + 1
    low = np.minimum.reduceat(np.where(lower, width.max() + 1, x_t), row_start)
    low = np.minimum(low, width) - 1
    cell_row = np.repeat(np.arange(row_pair.size), width)
    extra_up = upper & (x_t < u[cell_row])
    extra = np.flatnonzero(extra_up | (lower & (x_t > low[cell_row])))
    x_c = lo_c[row_pair] + np.arange(row_pair.size) - np.repeat(np.cumsum(rows_per) - rows_per, rows_per)
    r = cell_row[extra]
    return u, low, row_pair[r], x_c[r], x_t[extra], extra_up[extra]


class _ThresholdStore:
    """``U`` and ``L`` rows of one analysis for every analysed-size pair seen: one pool of
    rows and a dense index ``(m_c, m_t) -> (offset, first x_c, rows)``, so that a call looks
    all its pairs up at once."""

    def __init__(self) -> None:
        self.offset = np.full((0, 0), -1, dtype=np.int32)
        self.first = np.zeros((0, 0), dtype=np.int32)
        self.count = np.zeros((0, 0), dtype=np.int32)
        self.u = np.zeros(0, dtype=np.int32)
        self.low = np.zeros(0, dtype=np.int32)
        self.used = 0
        # Rejecting cells outside the runs U.., ..L (rows that are not intervals; Fisher):
        # (m_c, m_t, x_c, x_t, is_upper, generation).
        # Each carries the generation of its pair's rows: a pair searched again on more rows
        # gets a new generation, and its older cells no longer count.
        self.extra: list[tuple[_IntArray, _IntArray, _IntArray, _IntArray, _Matrix, _IntArray]] = []
        self.generation = np.zeros((0, 0), dtype=np.int32)
        self.calls = 0

    @property
    def cost(self) -> int:
        return 2 * self.used + 3 * self.offset.size + 5 * sum(e[0].size for e in self.extra)

    def grow(self, m_max: int) -> None:
        old = self.offset.shape[0]
        if m_max < old:
            return
        size = max(m_max + 1, old + old // 4)
        for name, fill in (("offset", -1), ("first", 0), ("count", 0), ("generation", 0)):
            new = np.full((size, size), fill, dtype=np.int32)  # the pool stays < 2**31 (cache bound)
            new[:old, :old] = getattr(self, name)
            setattr(self, name, new)

    def add(
        self, m_c: _IntArray, m_t: _IntArray, first: _IntArray, count: _IntArray, u: _IntArray, low: _IntArray
    ) -> None:
        need = self.used + u.size
        if need > self.u.size:
            size = max(need, 2 * self.u.size)
            self.u = np.concatenate([self.u[: self.used], np.zeros(size - self.used, dtype=np.int32)])
            self.low = np.concatenate([self.low[: self.used], np.zeros(size - self.used, dtype=np.int32)])
        self.u[self.used : need] = u
        self.low[self.used : need] = low
        self.offset[m_c, m_t] = self.used + np.cumsum(count) - count
        self.first[m_c, m_t] = first
        self.count[m_c, m_t] = count
        self.used = need
        self.calls += 1
        self.generation[m_c, m_t] = self.calls


def _threshold_rows(
    analysis_key: tuple[Any, ...],
    m_c: _IntArray,
    m_t: _IntArray,
    lo: _IntArray,
    hi: _IntArray,
    alpha: float,
    alternative: Alternative,
    margin: float,
) -> tuple[NDArray[np.int32], NDArray[np.int32], _IntArray, _ThresholdStore]:
    """``U`` and ``L`` on each pair's rows ``x_c = lo..hi`` (concatenated over the pairs),
    from the store of the analysis (kept between calls) or computed for all missing pairs in
    one search; and each row's ``x_c - lo``."""
    key = ("thresholds", *analysis_key)
    hit = _CACHE.get(key)
    store = hit[0] if hit is not None and hit[1] <= _CACHE_CELLS else _ThresholdStore()
    store.grow(int(max(m_c.max(), m_t.max())))
    off, first, count = store.offset[m_c, m_t], store.first[m_c, m_t], store.count[m_c, m_t]
    seen = off >= 0
    miss = ~(seen & (first <= lo) & (hi < first + count))
    if miss.any():
        # A pair seen on fewer rows is stored again on the union of both ranges.
        new_lo = np.where(seen, np.minimum(lo, first), lo)[miss]
        new_hi = np.where(seen, np.maximum(hi, first + count - 1), hi)[miss]
        n_rows = new_hi - new_lo + 1
        which = np.repeat(np.arange(n_rows.size), n_rows)
        x_c = new_lo[which] + np.arange(int(n_rows.sum())) - (np.cumsum(n_rows) - n_rows)[which]
        mc_m, mt_m = m_c[miss], m_t[miss]
        if analysis_key[1] is _FISHER_FUNCTION:
            # Every row of each new pair from its whole lattice, irregular cells kept aside.
            upper, lower = _fisher_pairs(mc_m, mt_m, new_lo, new_hi, alpha, alternative, margin)
            u, low, e_pair, e_xc, e_xt, e_up = _rows_from_lattices(mc_m, mt_m, new_lo, new_hi, upper, lower)
            store.add(mc_m, mt_m, new_lo, n_rows, u, low)
            if e_pair.size:
                gen = np.full(e_pair.size, store.calls)
                store.extra.append((mc_m[e_pair], mt_m[e_pair], e_xc, e_xt, e_up, gen))
        else:
            # Rows already searched are copied, only the others searched.
            f_m, c_m = first[miss][which], count[miss][which]
            known = seen[miss][which] & (x_c >= f_m) & (x_c < f_m + c_m)
            u = np.empty(x_c.size, dtype=np.int64)
            low = np.empty(x_c.size, dtype=np.int64)
            old = off[miss][which][known] + x_c[known] - f_m[known]
            u[known], low[known] = store.u[old], store.low[old]
            new = ~known
            u[new], low[new] = _thresholds(
                analysis_key[1], alpha, alternative, margin, mc_m[which][new], mt_m[which][new], x_c[new]
            )
            store.add(mc_m, mt_m, new_lo, n_rows, u, low)
        off, first = store.offset[m_c, m_t], store.first[m_c, m_t]
    _cache_put(key, store, store.cost)
    # Each pair's rows, as an offset within the pair (offs) added to a per-pair base.
    counts = hi - lo + 1
    offs = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = np.repeat(off + lo - first, counts) + offs
    return store.u.take(idx), store.low.take(idx), offs, store


def _binomial_table(m_values: _IntArray, p: float) -> NDArray[np.float64]:
    """pmf[i, k] = P(Binomial(m_values[i], p) = k), k = 0..max(m_values) (0 beyond m)."""
    k = np.arange(int(m_values.max()) + 1)
    return cast(NDArray[np.float64], stats.binom.pmf(k[None, :], m_values[:, None], p))


def _sums_thresholds(
    analysis_key: tuple[Any, ...],
    mc_all: _IntArray,
    mt_all: _IntArray,
    weights: NDArray[np.float64],
    rates: tuple[float, float, float],
    tol: float,
    alpha: float,
    alternative: Alternative,
    margin: float,
) -> tuple[float, float, float, float, int]:
    """(power, rejection, type-I error, covered mass, tables) by the threshold path."""
    pc, pt, p0 = rates
    uc, ic = np.unique(mc_all, return_inverse=True)
    ut, it = np.unique(mt_all, return_inverse=True)
    # Control births: each tail of each m_c leaves out at most tol / 4 (Fisher's rows).
    pmf_c = _binomial_table(uc, pc)
    eps = tol / 4
    lo_c = (np.cumsum(pmf_c, axis=1) <= eps).sum(axis=1)
    top = (np.cumsum(pmf_c[:, ::-1], axis=1) <= eps).sum(axis=1) - (int(uc.max()) - uc)
    hi_c = uc - top
    lo_c, hi_c = np.minimum(lo_c, hi_c), np.maximum(lo_c, hi_c)
    lo_p, hi_p = lo_c[ic], hi_c[ic]
    if analysis_key[1] is not _FISHER_FUNCTION:
        # Searched rows: each tail of pair i leaves out at most tol / (4 P w_i), so that
        # sum_i w_i * (both tails) <= tol / 2 still, with fewer rows for the light pairs.
        eps_p = (tol / (4 * weights.size * weights))[:, None]
        lo_p = (np.cumsum(pmf_c, axis=1)[ic] <= eps_p).sum(axis=1)
        top_p = (np.cumsum(pmf_c[:, ::-1], axis=1)[ic] <= eps_p).sum(axis=1) - (int(uc.max()) - mc_all)
        hi_p = mc_all - top_p
        lo_p, hi_p = np.minimum(lo_p, hi_p), np.maximum(lo_p, hi_p)
    rows = hi_p - lo_p + 1
    # The work: about 8 evaluations a row for a search; every table of the rows for Fisher.
    work = int((rows * (mt_all + 1) if analysis_key[1] is _FISHER_FUNCTION else rows * 8).sum())
    if work > MAX_EXACT_CELLS:
        raise InvalidArgumentError(
            f"exact enumeration needs about {work:,} table evaluations (more than "
            f"{MAX_EXACT_CELLS:,}); use simulate_power for a design this large."
        )
    u, low, offs, store = _threshold_rows(
        analysis_key, mc_all, mt_all, lo_p, hi_p, alpha, alternative, margin
    )
    counts = rows
    # Flat indices (faster than 2-D fancy indexing on long row arrays).
    w_row = np.repeat(weights, counts) * pmf_c.take(np.repeat(ic * pmf_c.shape[1] + lo_p, counts) + offs)
    width = int(ut.max()) + 2
    base_t = np.repeat(it * width, counts)
    i_up, i_low = base_t + u, base_t + low + 1
    out = []
    pmfs_t = []
    for p in (pt, p0):
        pmf_t = _binomial_table(ut, p)
        # at_least[i, k] = P(X >= k), k = 0..M + 1; at_most[i, k + 1] = P(X <= k), k = -1..M.
        at_least = np.concatenate(
            [np.cumsum(pmf_t[:, ::-1], axis=1)[:, ::-1], np.zeros((ut.size, 1))], axis=1
        )
        at_most = np.concatenate([np.zeros((ut.size, 1)), np.cumsum(pmf_t, axis=1)], axis=1)
        out.append((at_least.take(i_up), at_most.take(i_low)))
        pmfs_t.append(pmf_t)
    (up1, low1), (up0, low0) = out
    good = up1 if alternative == "two-sided" else up1 + low1
    # einsum, not @: a BLAS dot of long vectors spins up threads (slow on a busy machine).
    power = float(np.einsum("i,i->", w_row, good))
    rejection = float(np.einsum("i,i->", w_row, up1 + low1))
    type1 = float(np.einsum("i,i->", w_row, up0 + low0))
    w_e, ic_e, xc_e, it_e, xt_e, up_e = extra_cells(store, uc, ut, lo_c, hi_c, mc_all, mt_all, weights)
    if w_e.size:
        e_w = w_e * pmf_c[ic_e, xc_e]
        h1 = e_w * pmfs_t[0][it_e, xt_e]
        h0 = e_w * pmfs_t[1][it_e, xt_e]
        power += float(h1[up_e].sum() if alternative == "two-sided" else h1.sum())
        rejection += float(h1.sum())
        type1 += float(h0.sum())
    tables = int((counts * (mt_all + 1)).sum())
    return power, rejection, type1, float(w_row.sum()), tables


def extra_cells(
    store: _ThresholdStore,
    uc: _IntArray,
    ut: _IntArray,
    lo_c: _IntArray,
    hi_c: _IntArray,
    mc_all: _IntArray,
    mt_all: _IntArray,
    weights: NDArray[np.float64],
) -> tuple[NDArray[np.float64], _IntArray, _IntArray, _IntArray, _IntArray, NDArray[np.bool_]]:
    """Fisher's rejecting cells outside the threshold runs, of this call's pairs and rows
    ``lo_c..hi_c`` (per unique ``m_c``, ``uc``): each cell's pair weight, its row in ``uc``, ``x_c``,
    its row in ``ut``, ``x_t``, and whether it rejects in favour of treatment."""
    empty = np.zeros(0, dtype=np.int64)
    if not store.extra:
        return np.zeros(0), empty, empty, empty, empty, np.zeros(0, dtype=bool)
    e_mc, e_mt, e_xc, e_xt, e_up, e_gen = (np.concatenate(a) for a in zip(*store.extra, strict=True))
    current = e_gen == store.generation[e_mc, e_mt]
    e_mc, e_mt, e_xc, e_xt, e_up = (a[current] for a in (e_mc, e_mt, e_xc, e_xt, e_up))
    m_max = max(int(uc.max()), int(ut.max()))
    w2 = np.zeros((m_max + 1, m_max + 1))
    w2[mc_all, mt_all] = weights
    row_c = np.full(m_max + 1, -1)
    row_c[uc] = np.arange(uc.size)
    row_t = np.full(m_max + 1, -1)
    row_t[ut] = np.arange(ut.size)
    ok = (e_mc <= m_max) & (e_mt <= m_max)
    e_mc, e_mt, e_xc, e_xt, e_up = (a[ok] for a in (e_mc, e_mt, e_xc, e_xt, e_up))
    ic_e, it_e = row_c[e_mc], row_t[e_mt]
    ok = (ic_e >= 0) & (it_e >= 0)
    ok[ok] &= (e_xc[ok] >= lo_c[ic_e[ok]]) & (e_xc[ok] <= hi_c[ic_e[ok]])
    ok[ok] &= w2[e_mc[ok], e_mt[ok]] > 0
    return w2[e_mc[ok], e_mt[ok]], ic_e[ok], e_xc[ok], it_e[ok], e_xt[ok], e_up[ok].astype(bool)


def _sums_full(
    analysis_key: tuple[Any, ...],
    mc_all: _IntArray,
    mt_all: _IntArray,
    weights: NDArray[np.float64],
    rates: tuple[float, float, float],
    tol: float,
    alpha: float,
    alternative: Alternative,
    margin: float,
) -> tuple[float, float, float, float, int]:
    """(power, rejection, type-I error, covered mass, tables) from whole rejection matrices
    (the reference path, and the one for analyses not known to be convex)."""
    pc, pt, p0 = rates
    # Births: each tail of each arm may leave out tol / 8 (so at most tol / 2 per pair).
    pmf_c, range_c = _tails(np.unique(mc_all), [pc], tol / 8)
    pmf_t, range_t = _tails(np.unique(mt_all), [pt, p0], tol / 8)
    cells = sum(
        (range_c[a][1] - range_c[a][0] + 1) * (range_t[b][1] - range_t[b][0] + 1)
        for a, b in zip(mc_all.tolist(), mt_all.tolist(), strict=True)
    )
    if cells > MAX_EXACT_CELLS:
        raise InvalidArgumentError(
            f"exact enumeration needs {cells:,} tables (more than {MAX_EXACT_CELLS:,}); use "
            "simulate_power for a design this large."
        )
    todo: list[tuple[int, int, tuple[int, int], tuple[int, int]]] = []
    keys = []
    # This call's matrices are held here: the cache may evict some before they are read.
    mats: dict[Hashable, _Matrix] = {}
    for a, b in zip(mc_all.tolist(), mt_all.tolist(), strict=True):
        key = ("full", *analysis_key, a, b, range_c[a], range_t[b])
        keys.append(key)
        if key in _CACHE:
            mats[key] = _CACHE[key][0]
            _CACHE.move_to_end(key)
        else:
            todo.append((a, b, range_c[a], range_t[b]))
    if analysis_key[1] is _BOSCHLOO_FUNCTION and todo:
        sizes = np.array([item[:2] for item in todo], dtype=np.int64)
        _check_boschloo_work(sizes[:, 1], sizes[:, 0], f"exact power over {len(todo):,} analysed-size pairs")
    for item, mat in zip(todo, _rejection_batch(analysis_key, todo, alpha, alternative, margin), strict=True):
        mats[("full", *analysis_key, *item)] = mat
        _cache_put(("full", *analysis_key, *item), mat, mat.size)
    power = rejection = type1 = covered_h1 = covered_0 = 0.0
    for key, a, b, w in zip(keys, mc_all.tolist(), mt_all.tolist(), weights.tolist(), strict=True):
        mat = mats[key]
        (lc, hc), (lt, ht) = range_c[a], range_t[b]
        bc = pmf_c[a][0][lc : hc + 1]
        bt = np.stack([pmf_t[b][0][lt : ht + 1], pmf_t[b][1][lt : ht + 1]], axis=1)
        v = mat @ bt  # (2 * n_xc, 2): [good; any] x [H1, null]
        k = bc.size
        power += w * float(bc @ v[:k, 0])
        rejection += w * float(bc @ v[k:, 0])
        type1 += w * float(bc @ v[k:, 1])
        mass_c = float(bc.sum())
        covered_h1 += w * mass_c * float(bt[:, 0].sum())
        covered_0 += w * mass_c * float(bt[:, 1].sum())
    return power, rejection, type1, min(covered_h1, covered_0), int(cells)


def _check_inputs(
    n_control: int, n_treatment: int, alpha: float, alternative: str, margin: float | None, dropout: float
) -> tuple[int, int, float]:
    n_c = check_integer("n_control", n_control, 1, error=InvalidArgumentError)
    n_t = check_integer("n_treatment", n_treatment, 1, error=InvalidArgumentError)
    if not 0.0 < alpha < 1.0:
        raise InvalidArgumentError(f"alpha == {alpha!r}, must be in (0, 1).")
    check_choice("alternative", alternative, ALTERNATIVES)
    mg = float(margin or 0.0)
    if not 0.0 <= mg < 1.0:
        raise InvalidArgumentError(f"margin == {margin!r}, must be in [0, 1).")
    if not 0.0 <= dropout < 1.0:
        raise InvalidArgumentError(f"dropout == {dropout!r}, must be in [0, 1).")
    return n_c, n_t, mg


def check_design(
    n_control: int,
    n_treatment: int,
    analysis: str,
    alpha: float,
    alternative: str,
    margin: float | None,
    dropout: float,
    block_size: int,
    allocation_ratio: float | None,
    tol: float,
) -> tuple[int, int, float, int, Any, float]:
    """The checked design arguments of an exact computation: ``(n_c, n_t, margin, block_size,
    the registered analysis, allocation ratio)``; one line of :class:`InvalidArgumentError` for a
    bad one (a patient-path analysis too)."""
    n_c, n_t, mg = _check_inputs(n_control, n_treatment, alpha, alternative, margin, dropout)
    block = check_integer("block_size", block_size, 0, error=InvalidArgumentError)
    if not 0.0 < tol < 1e-3:
        raise InvalidArgumentError(f"tol == {tol!r}, must be in (0, 0.001).")
    entry = get_analysis(analysis)
    if entry.path != "counts":
        raise InvalidArgumentError(
            f'analysis == "{analysis}" reads each woman\'s covariates (the patient path): exact '
            "power is for count-path analyses (chi2, fisher); use simulate_power for this one."
        )
    ratio = n_t / n_c if allocation_ratio is None else float(allocation_ratio)
    if not ratio > 0:
        raise InvalidArgumentError(f"allocation_ratio == {allocation_ratio!r}, must be > 0.")
    return n_c, n_t, mg, block, entry, ratio


def exact_power_counts(
    p_control: float,
    p_treatment: float,
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
    p_null: float | None = None,
    tol: float = EXACT_TOLERANCE,
) -> ExactCounts:
    """Exact power and type-I error of the count path of a fixed trial (see the module doc).

    Parameters
    ----------
    p_control, p_treatment : float
        Live-birth rates of analysed women per arm, in (0, 1).
    n_control, n_treatment : int
        Randomised women per arm, before dropout.
    analysis : str, default "chi2"
        A registered analysis of the count path (``chi2``: pooled z / Pearson chi-square, and
        the Farrington-Manning score test with a margin; ``fisher``: Fisher's exact test with
        R's tie rule; ``cmh`` in one stratum; any registered count analysis, given the arm
        totals as one stratum).
    alpha : float, default 0.05
        A trial rejects when its p-value is ``<= alpha``.
    alternative : {"two-sided", "larger", "smaller"}
    margin : float, optional
        Non-inferiority margin (with ``alternative="larger"``).
    dropout : float, default 0
        Each randomised woman is lost with this probability, independently.
    block_size : int, default 0
        Permuted blocks of this size (the last one incomplete when ``block_size`` does not
        divide ``N``); 0 for simple randomisation.
    allocation_ratio : float, optional
        Treated to control ratio of the randomisation; default ``n_treatment / n_control``,
        as :func:`rplsim.simulate_power` randomises.
    p_null : float, optional
        The treated rate at which ``type1_error`` is computed; default ``p_control`` (and
        ``p_control - margin`` with a margin).
    tol : float, default 1e-12
        Probability that may be left out of each sum (reported as ``max_error``).

    Returns
    -------
    ExactCounts

    Raises
    ------
    rplsim.exceptions.InvalidArgumentError
        For an argument out of range, an analysis of the patient path (logistic: simulate),
        or a design larger than :data:`MAX_EXACT_CELLS` tables.

    Examples
    --------
    >>> res = exact_power_counts(0.6, 0.807, 85, 85, dropout=0.1, block_size=4)
    >>> round(res.power, 4), res.max_error < 1e-11
    (0.8114, True)
    """
    return _exact_power_counts(
        p_control, p_treatment, n_control, n_treatment, analysis=analysis, alpha=alpha,
        alternative=alternative, margin=margin, dropout=dropout, block_size=block_size,
        allocation_ratio=allocation_ratio, p_null=p_null, tol=tol,
    )  # fmt: skip


def _exact_power_counts(
    p_control: float,
    p_treatment: float,
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
    p_null: float | None = None,
    tol: float = EXACT_TOLERANCE,
    engine: str = "auto",
) -> ExactCounts:
    """:func:`exact_power_counts` with a choice of ``engine``: ``"auto"`` (thresholds for the
    analyses known to be convex, whole matrices otherwise or when the guard trips),
    ``"thresholds"`` (raise :class:`_NotConvexError` rather than fall back) or ``"full"`` (the
    reference: every table of every lattice)."""
    pc = check_rate("p_control", p_control)
    pt = check_rate("p_treatment", p_treatment)
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
    p0 = check_rate("p_null", pc - mg if p_null is None else p_null)

    mc_all, mt_all, pair_weights = kept_pairs(n_c, n_t, dropout, block, ratio, tol)
    p_treated = randomised_treated_distribution(n_c + n_t, ratio, block)
    alt = cast(Alternative, alternative)
    analysis_key = (entry.name, entry.function, float(alpha), alternative, mg)
    args = (analysis_key, mc_all, mt_all, pair_weights, (pc, pt, p0), tol, float(alpha), alt, mg)
    power = rejection = type1 = covered = 0.0
    cells = 0
    done = False
    try:
        if engine != "full" and (entry.function in _CONVEX_FUNCTIONS or entry.function is _FISHER_FUNCTION):
            try:
                power, rejection, type1, covered, cells = _sums_thresholds(*args)
                done = True
            except _NotConvexError:
                if engine == "thresholds":
                    raise
        if not done:
            power, rejection, type1, covered, cells = _sums_full(*args)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"n_control == {n_c}, n_treatment == {n_t}: {exc}") from None
    max_error = float(max(0.0, 1.0 - covered))
    t = np.arange(p_treated.size)
    keep = 1.0 - dropout
    treated_mean = float(p_treated @ t)
    return ExactCounts(
        power=float(min(power, 1.0)),
        rejection=float(min(rejection, 1.0)),
        type1_error=float(min(type1, 1.0)),
        p_control=pc,
        p_treatment=pt,
        p_null=p0,
        n_control=n_c,
        n_treatment=n_t,
        randomised_treated_mean=treated_mean,
        analysed_control_mean=(n_c + n_t - treated_mean) * keep,
        analysed_treatment_mean=treated_mean * keep,
        analysed_mean=(n_c + n_t) * keep,
        analysis=entry.name,
        alpha=float(alpha),
        alternative=alternative,
        margin=mg,
        dropout=float(dropout),
        block_size=block,
        pairs=int(mc_all.size),
        cells=int(cells),
        max_error=max_error,
    )
