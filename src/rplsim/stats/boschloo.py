"""Boschloo's exact unconditional test: every table of a 2 x 2 lattice at once, and batches of tables.

Boschloo (1970) takes Fisher's one-sided p-value as the statistic and reports the largest
probability, over the common rate pi of the null, of a table at most as extreme:

    p(x1, x2) = sup_pi P_pi(T <= t(x1, x2)),   T = Fisher's one-sided p of a table

with ``x1 ~ Binomial(n1, pi)``, ``x2 ~ Binomial(n2, pi)`` independent. For a sizing enumeration
every table of a lattice needs its p-value, so they are computed together: the tables are sorted
by the statistic once, and for each pi of a grid the null probabilities are summed in that order
(one cumulative sum), so each table's tail is a read at its place. The tails are nested in that
order, so the p-values never decrease along it. The sup is taken over the grid's local maxima
(a tail often has several peaks within what the grid loses, 7.7e-6 apart at 87 x 96), each
refined by the maximum of the quartic through it and two grid points on each side. Against a
16,385-point reference on 18 lattices of 31 to 100 per sample, the largest error is 1.8e-7
(2e-10 at 9 x 11); the first version (one parabola at the best of 257 points) was 7.7e-6 off.

Speed (about 5 ms for one 83 x 83 lattice, a quarter less when capped, on the development
machine):

- Fisher's statistic comes from exact binomial coefficients (Python integers split into a
  53-bit mantissa and an exponent, so no size overflows): within a relative 1e-15 of
  ``scipy.stats.hypergeom.cdf``, which is 20 times slower from 171 women on. A table's null
  probability is its hypergeometric probability given its margin times the margin's binomial.
- Tables whose largest null probability over pi is negligible (the far corners of a large
  lattice), at most :data:`DROPPED_MASS` (1e-10) in all, are left out of the sums: a p-value
  may be low by that much.
- The grid has ``max(193, ceil(15 sqrt(n1 + n2)))`` points (:func:`lattice_grid`: a tail's
  peaks narrow as ``1 / sqrt(n1 + n2)``).
- One lattice serves four: "less" is "greater" with successes and failures exchanged in both
  samples, and exchanging the samples too gives the ``(n2, n1)`` lattice; a two-sided p-value
  needs one-sided ones below 0.5 only, so its lattice stops summing past them ("capped").
  Lattices are kept in an LRU of at most :data:`CACHE_CELLS` p-values, and returned read-only.

Conventions are scipy's ``boschloo_exact`` (one binomial sample per column:
``alternative="greater"`` is H1: p1 > p2; a table whose statistic is within a relative 1e-13 of
another's counts as equal; two-sided is twice the smaller one-sided p-value, clipped to 1).
:func:`boschloo_counts` is the batched test in rplsim's conventions (treated first: "larger" is
H1 treated rate larger, scipy's "greater" with the treated arm as sample 1; an empty arm has
p-value 1, where scipy returns NaN).

Limits (measured on the development machine, 2 cores): a lattice costs ``(n1 + 1) (n2 + 1)``
times its grid cumulative-sum cells, about 4 ns each. :func:`check_work` refuses, in one line
of :class:`~rplsim.exceptions.InvalidArgumentError` pointing to Fisher's or the chi-square test,
more than :data:`MAX_WORK_CELLS` new cells (about 10 s) at once: :func:`boschloo_counts` checks
each call, and the exact enumeration (:func:`rplsim.design.exact_power_counts`) all its
analysed-size pairs before it starts. With 10% dropout, exact power of the paper's design at
83 per arm (1,067 pairs) takes about 3 s, and its exact sample-size search about 9 s; at 120
per arm 9 s, 130 per arm 12 s, and from about 135 per arm it is refused (without dropout a
design has a few pairs: 0.1 s at 300 per arm). A sample has at most :data:`MAX_SAMPLE` women.
Non-inferiority (a margin) is not defined for the test: the registered analysis refuses it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from rplsim.exceptions import InvalidArgumentError
from rplsim.stats._checks import check_alternative, check_counts
from rplsim.stats.pvalues import Alternative

__all__ = [
    "BOSCHLOO_GRID",
    "CACHE_CELLS",
    "DROPPED_MASS",
    "MAX_SAMPLE",
    "MAX_WORK_CELLS",
    "boschloo_counts",
    "boschloo_lattice",
    "check_work",
    "lattice_grid",
]

Array = NDArray[np.float64]

#: Fewest grid points of the common rate pi in (0, 1) over which the sup is taken (then refined);
#: the default grid grows as ``15 sqrt(n1 + n2)`` past it (the width of a tail's peaks in pi
#: shrinks as ``1 / sqrt(n1 + n2)``).
BOSCHLOO_GRID = 193
#: Largest total null probability of the tables left out of the cumulative sums.
DROPPED_MASS = 1e-10
#: P-values (float64) of the one-sided lattices kept between calls (64 MB).
CACHE_CELLS = 1 << 23
#: Cumulative-sum cells (tables x grid points) of new lattices one call may compute (~10 s).
MAX_WORK_CELLS = 2_500_000_000
#: Largest sample (women per column) of a lattice.
MAX_SAMPLE = 2_000
# scipy's tie rule: a statistic within this relative distance of the observed one is as extreme.
_TIE = 1e-13
# Cells of one block of rows of the (tables x grid) work array, and rows per inner block of
# its cumulative sum.
_ROW_CELLS = 1 << 20
_SUM_BLOCK = 32
# The quartic through u = -2..2: coefficients = _QUARTIC @ values.
_QUARTIC = np.linalg.inv(np.vander(np.arange(-2.0, 3.0), 5, increasing=True))
_NEWTON_STEPS = 4

_cache: OrderedDict[tuple[int, int, str, int], Array] = OrderedDict()
_cache_cells = 0
_lock = threading.Lock()


def lattice_grid(n1: int, n2: int) -> int:
    """The default grid of the (n1, n2) lattice: ``max(193, ceil(15 sqrt(n1 + n2)))`` points."""
    return max(BOSCHLOO_GRID, math.ceil(15.0 * math.sqrt(n1 + n2)))


def _comb_parts(n: int) -> tuple[Array, NDArray[np.int64]]:
    """C(n, k) = mantissa * 2**exponent, k = 0..n, the mantissa an integer below 2**53 (exact to
    a relative 2**-52 for any n: Python's integers, no overflow)."""
    mant = np.empty(n + 1)
    expo = np.empty(n + 1, dtype=np.int64)
    for k in range(n + 1):
        c = math.comb(n, k)
        shift = max(c.bit_length() - 53, 0)
        mant[k] = float(c >> shift)
        expo[k] = shift
    return mant, expo


def _fisher_margins(n1: int, n2: int) -> tuple[Array, Array, NDArray[np.int64]]:
    """Per table (flat, ``x1 * (n2 + 1) + x2``): Fisher's one-sided statistic for H1 p1 > p2,
    ``P(X2 <= x2 | x1 + x2)`` (scipy's, to a relative 1e-15), the table's hypergeometric
    probability given its margin, and the margin ``x1 + x2``."""
    m1, e1 = _comb_parts(n1)
    m2, e2 = _comb_parts(n2)
    x1 = np.repeat(np.arange(n1 + 1), n2 + 1)
    x2 = np.tile(np.arange(n2 + 1), n1 + 1)
    k = x1 + x2
    expo = e1[x1] + e2[x2]
    top = np.full(n1 + n2 + 1, np.iinfo(np.int64).min)
    np.maximum.at(top, k, expo)
    weight = np.ldexp(m1[x1] * m2[x2], expo - top[k])  # C(n1, x1) C(n2, x2), scaled per margin
    z = np.zeros((n1 + n2 + 1, n2 + 1))
    z[k, x2] = weight
    np.cumsum(z, axis=1, out=z)
    total = z[k, -1]  # the whole margin
    return z[k, x2] / total, weight / total, k


def _log_binom(n: int, pi: Array) -> Array:
    """log P(K = k), K ~ Binomial(n, pi): shape (n + 1, len(pi))."""
    k = np.arange(n + 1)
    log_c = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    out: Array = log_c[:, None] + k[:, None] * np.log(pi) + (n - k)[:, None] * np.log1p(-pi)
    return out


def _cumsum_rows(x: Array) -> None:
    """In place: the cumulative sum down the rows of a C-contiguous 2-D array (numpy's cumsum
    along the first axis is not vectorised across columns: this is twice as fast)."""
    rows = x.shape[0]
    m = rows // _SUM_BLOCK * _SUM_BLOCK
    done = 1
    if m >= 2 * _SUM_BLOCK:
        y = x[:m].reshape(m // _SUM_BLOCK, _SUM_BLOCK, x.shape[1])
        for i in range(1, _SUM_BLOCK):
            y[:, i] += y[:, i - 1]
        carry = np.cumsum(y[:, -1], axis=0)
        y[1:] += carry[:-1, None, :]
        done = m
    for i in range(max(done, 1), rows):
        x[i] += x[i - 1]


def _refined_max(tail: Array) -> Array:
    """Per row of ``tail`` (one column per grid point): the sup, from the grid local maxima (the
    ends included) that may hold it, each refined by the maximum of the quartic through it and
    two grid points on each side (within one point of it, inside the grid). Several maxima are
    common (a tail is a sum of binomial bumps): their peaks may differ by less than the grid
    loses, so every one is refined that could reach the row's largest grid value: the parabola
    through a grid maximum ``m`` and its neighbours ``l``, ``r`` rises at most ``(2m - l - r) / 8``
    above ``m``; four times that is allowed."""
    n_rows, grid = tail.shape
    flat = tail.ravel()
    rising = flat[1:] > flat[:-1]
    # local maxima: strictly above the left neighbour, not below the right; and both ends
    mark = np.empty(flat.size, dtype=bool)
    mark[0] = mark[-1] = True
    np.greater(rising[:-1], rising[1:], out=mark[1:-1])
    ends = mark.reshape(n_rows, grid)
    ends[:, 0] = True
    ends[:, -1] = True
    at = np.flatnonzero(mark)
    rows = at // grid
    cols = at - rows * grid
    value = flat[at]
    first = np.searchsorted(rows, np.arange(n_rows))
    top = np.maximum.reduceat(value, first)  # a row's largest value is at one of its marks
    left = flat[at - (cols > 0)]
    right = flat[at + (cols < grid - 1)]
    row_top = top[rows]
    keep = (value > left) | (cols == 0)
    keep &= (value >= right) | (cols == grid - 1)
    keep &= value + (2.0 * value - left - right) / 2.0 >= row_top
    # a tail within 1e-9 of 1 is 1 to that accuracy (and flat: its rounding noise has many maxima)
    keep &= row_top <= 1.0 - 1e-9
    at, rows, cols = at[keep], rows[keep], cols[keep]
    if at.size == 0:
        return top
    shift = np.clip(cols, 2, grid - 3) - cols  # the quartic's centre, inside the grid
    centre = at + shift
    c0, c1, c2, c3, c4 = _QUARTIC @ np.stack([flat[centre + d] for d in (-2, -1, 0, 1, 2)])
    a2, a3, a4, b3, b4 = 2.0 * c2, 3.0 * c3, 4.0 * c4, 6.0 * c3, 12.0 * c4
    u = -shift.astype(float)
    lo, hi = np.maximum(u - 1.0, -2.0), np.minimum(u + 1.0, 2.0)
    for _ in range(_NEWTON_STEPS):
        d1 = c1 + u * (a2 + u * (a3 + u * a4))
        d2 = a2 + u * (b3 + u * b4)
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.clip(np.where(d2 < 0, u - d1 / d2, u), lo, hi)
    value = np.nan_to_num(c0 + u * (c1 + u * (c2 + u * (c3 + u * c4))), nan=0.0)
    first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    out = top.copy()
    out[rows[first]] = np.maximum(out[rows[first]], np.maximum.reduceat(value, first))
    return out


def _one_sided(n1: int, n2: int, grid: int, cap: float = np.inf) -> Array:
    """The "greater" lattice; with ``cap``, a p-value known to be at least ``cap`` (from the
    grid, a lower bound of the sup) may be returned as 1 (the sums stop there)."""
    stat, cond, margin = _fisher_margins(n1, n2)
    order = np.argsort(stat, kind="stable")
    # each table's tail: every table whose statistic is at most its own (relative 1e-13: scipy's rule)
    last = np.searchsorted(stat[order], stat * (1 + _TIE), side="right") - 1
    n = n1 + n2
    k_all = np.arange(n + 1)
    # a table's largest null probability over pi is at pi = margin / n
    log_c = special.gammaln(n + 1) - special.gammaln(k_all + 1) - special.gammaln(n - k_all + 1)
    peak_margin = np.exp(log_c + special.xlogy(k_all, k_all / n) + special.xlogy(n - k_all, 1 - k_all / n))
    peak = (cond * peak_margin[margin])[order]
    by_peak = np.sort(peak)
    n_drop = int(np.searchsorted(np.cumsum(by_peak), DROPPED_MASS, side="right"))
    keep = peak > by_peak[n_drop - 1] if n_drop else np.ones(peak.size, dtype=bool)
    kept = np.flatnonzero(keep)
    k_kept = margin[order][kept]
    w_kept = cond[order][kept][:, None]
    pi = (np.arange(grid) + 0.5) / grid
    b_margin = np.exp(_log_binom(n, pi))  # (n + 1, grid)
    best = np.ones(kept.size)
    carry = np.zeros(grid)
    step = _ROW_CELLS // grid
    if cap < np.inf:  # blocks of a quarter at most, to stop early
        step = min(step, -(-kept.size // 4))
    step = max(_SUM_BLOCK, step // _SUM_BLOCK * _SUM_BLOCK)
    for r0 in range(0, kept.size, step):
        r1 = min(kept.size, r0 + step)
        tail = b_margin[k_kept[r0:r1]]
        tail *= w_kept[r0:r1]
        tail[0] += carry
        _cumsum_rows(tail)
        carry = tail[-1]
        best[r0:r1] = _refined_max(tail)
        if carry.max() >= cap:
            break
    # every sorted place: the p-value of the last kept table at or before it; a left-out
    # table's own largest null probability bounds it from below too
    at = np.where(keep, 0.0, peak)
    at[kept] = best
    np.maximum.accumulate(at, out=at)
    out: Array = np.minimum(at[last], 1.0).reshape(n1 + 1, n2 + 1)
    return out


def _cache_get(key: tuple[int, int, str, int]) -> Array | None:
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
        return hit


def _cache_put(key: tuple[int, int, str, int], value: Array) -> None:
    global _cache_cells
    value.setflags(write=False)
    with _lock:
        if key in _cache:
            return
        _cache[key] = value
        _cache_cells += value.size
        while _cache_cells > CACHE_CELLS and len(_cache) > 1:
            _, old = _cache.popitem(last=False)
            _cache_cells -= old.size


def _clear_cache() -> None:
    """Forget every kept lattice (benchmarks time cold runs with it)."""
    global _cache_cells
    with _lock:
        _cache.clear()
        _cache_cells = 0


def _canonical(n1: int, n2: int, grid: int, capped: bool) -> Array:
    """The "greater" lattice for ``n1 <= n2``, kept; ``capped``: p-values of 0.5 and more may
    read 1 (all that a two-sided p-value needs; the sums stop there)."""
    full = _cache_get((n1, n2, "greater", grid))
    if full is not None or not capped:
        if full is None:
            full = _one_sided(n1, n2, grid)
            _cache_put((n1, n2, "greater", grid), full)
        return full
    key = (n1, n2, "greater, from 0.5 as 1", grid)
    hit = _cache_get(key)
    if hit is None:
        hit = _one_sided(n1, n2, grid, cap=0.5)
        _cache_put(key, hit)
    return hit


def _greater(n1: int, n2: int, grid: int, capped: bool = False) -> Array:
    if n1 <= n2:
        return _canonical(n1, n2, grid, capped)
    # exchanging the samples and, in both, successes and failures keeps H1: p1 > p2
    return _canonical(n2, n1, grid, capped)[::-1, ::-1].T


def _check_size(name: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= MAX_SAMPLE:
        raise InvalidArgumentError(f"{name} == {v!r}, must be an integer in [1, {MAX_SAMPLE}].")
    return int(v)


def boschloo_lattice(n1: int, n2: int, alternative: str = "greater", grid: int | None = None) -> Array:
    """Boschloo's p-value of every table ``(x1, x2)``, ``x1`` of ``n1`` and ``x2`` of ``n2``.

    Parameters
    ----------
    n1, n2 : int
        The two samples' sizes (scipy's columns), 1 .. :data:`MAX_SAMPLE`.
    alternative : {"greater", "less", "two-sided"}
        H1: p1 > p2, p1 < p2, or either (twice the smaller one-sided p-value, clipped to 1).
    grid : int, optional
        Points of the null's common rate over which the sup is taken; default
        :func:`lattice_grid` (at least 193).

    Returns
    -------
    numpy.ndarray, shape (n1 + 1, n2 + 1)
        Read-only: the lattices are kept between calls.

    Examples
    --------
    >>> p = boschloo_lattice(10, 10)
    >>> round(float(p[7, 2]), 6)  # scipy.stats.boschloo_exact([[7, 2], [3, 8]], "greater").pvalue
    0.020695
    """
    n1 = _check_size("n1", n1)
    n2 = _check_size("n2", n2)
    if alternative not in ("greater", "less", "two-sided"):
        raise InvalidArgumentError(
            f'alternative == "{alternative}", must be one of "greater", "less", "two-sided".'
        )
    g = lattice_grid(n1, n2) if grid is None else int(grid)
    if g < 5:
        raise InvalidArgumentError(f"grid == {grid!r}, must be at least 5.")
    if alternative == "greater":
        return _greater(n1, n2, g)
    if alternative == "less":
        # "less" is "greater" with successes and failures exchanged in both samples
        return _greater(n1, n2, g)[::-1, ::-1]
    if n1 > n2:
        return boschloo_lattice(n2, n1, alternative, g).T
    key = (n1, n2, alternative, g)
    hit = _cache_get(key)
    if hit is None:
        greater = _canonical(n1, n2, g, capped=True)
        hit = np.minimum(2.0 * np.minimum(greater, greater[::-1, ::-1]), 1.0)
        _cache_put(key, hit)
    return hit


def _work(n1: NDArray[np.int64], n2: NDArray[np.int64]) -> tuple[int, int]:
    """(cells, lattices) of the one-sided lattices of the pairs not yet kept."""
    cells = lattices = 0
    seen: set[tuple[int, int]] = set()
    for a, b in zip(np.minimum(n1, n2).tolist(), np.maximum(n1, n2).tolist(), strict=True):
        if (a, b) in seen:
            continue
        seen.add((a, b))
        g = lattice_grid(a, b)
        if (a, b, "greater", g) not in _cache and (a, b, "greater, from 0.5 as 1", g) not in _cache:
            cells += (a + 1) * (b + 1) * g
            lattices += 1
    return cells, lattices


def check_work(n_t: ArrayLike, n_c: ArrayLike, what: str = "this call") -> None:
    """Raise :class:`InvalidArgumentError` when the lattices of the distinct ``(n_t, n_c)`` pairs
    not yet kept need more than :data:`MAX_WORK_CELLS` cells (about 10 s)."""
    pairs = np.unique(np.stack([np.ravel(n_t), np.ravel(n_c)], axis=1).astype(np.int64), axis=0)
    pairs = pairs[(pairs > 0).all(axis=1)]
    if pairs.size and pairs.max() > MAX_SAMPLE:
        raise InvalidArgumentError(
            f"boschloo: an arm of {int(pairs.max()):,} analysed women, more than {MAX_SAMPLE:,}; "
            'use analysis "fisher" or "chi2".'
        )
    cells, lattices = _work(pairs[:, 0], pairs[:, 1])
    if cells > MAX_WORK_CELLS:
        big = int(pairs.sum(axis=1).max())
        raise InvalidArgumentError(
            f"boschloo: {what} needs {lattices:,} new lattices of up to {big:,} women "
            f"(about {cells / 2.5e8:.0f} s, the limit is {MAX_WORK_CELLS / 2.5e8:.0f} s); use "
            'analysis "fisher" or "chi2", or fewer distinct arm sizes (no dropout, a smaller n).'
        )


_SCIPY_ALTERNATIVE = {"larger": "greater", "smaller": "less", "two-sided": "two-sided"}


def boschloo_counts(
    x_t: ArrayLike,
    n_t: ArrayLike,
    x_c: ArrayLike,
    n_c: ArrayLike,
    alternative: Alternative = "two-sided",
) -> NDArray[np.float64]:
    """Boschloo's exact unconditional test of the live-birth rates, one test per element.

    The elements are grouped by arm sizes ``(n_t, n_c)``; each pair's lattice
    (:func:`boschloo_lattice`, treated as sample 1) is computed once, kept, and read.

    Parameters
    ----------
    x_t, n_t, x_c, n_c : array_like of int
        Live births and women analysed per arm; broadcast together.
    alternative : {"two-sided", "larger", "smaller"}
        ``"larger"``: H1 treatment rate larger (scipy's ``"greater"`` for the table
        ``[[x_t, x_c], [n_t - x_t, n_c - x_c]]``), ``"smaller"``: scipy's ``"less"``.

    Returns
    -------
    numpy.ndarray
        P-values; 1 for an empty arm (where scipy returns NaN).

    Raises
    ------
    InvalidArgumentError
        For counts that are negative, non-integer or exceed ``n``, or lattices too costly
        (:func:`check_work`).

    Examples
    --------
    >>> boschloo_counts([7, 5], 10, [2, 5], 10).round(4).tolist()
    [0.0414, 0.9449]
    >>> round(float(boschloo_counts(7, 10, 2, 10, alternative="larger")), 6)
    0.020695
    """
    check_alternative(alternative)
    xt, nt, xc, nc = check_counts(x_t, n_t, x_c, n_c, dtype=np.int64)
    shape = xt.shape
    xt, nt, xc, nc = (a.ravel() for a in (xt, nt, xc, nc))
    out = np.ones(xt.size)
    live = np.flatnonzero((nt > 0) & (nc > 0))
    if live.size == 0:
        return out.reshape(shape)
    key = nt[live] * (int(nc[live].max()) + 1) + nc[live]
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    pair_t, pair_c = nt[live][first], nc[live][first]
    check_work(pair_t, pair_c)
    side = _SCIPY_ALTERNATIVE[alternative]
    by_pair = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[by_pair], np.arange(uniq.size + 1))
    for i in range(uniq.size):
        idx = live[by_pair[bounds[i] : bounds[i + 1]]]
        lattice = boschloo_lattice(int(pair_t[i]), int(pair_c[i]), side)
        out[idx] = lattice[xt[idx], xc[idx]]
    return cast(NDArray[np.float64], out.reshape(shape))
