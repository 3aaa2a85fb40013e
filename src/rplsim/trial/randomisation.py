"""Randomisation of a batch of trials: who is treated, and how many women each look sees.

Permuted blocks (``block > 0``) or simple randomisation, drawn per replicate from the block's
generator; the order of the draws is part of the keyed streams, so changing it changes results.
"""

from __future__ import annotations

import numpy as np

__all__ = ["arm_assignment", "look_sizes", "multinomial_rows", "nested_treated_counts", "treated_counts"]


def treated_counts(g: np.random.Generator, r: int, n_total: int, ratio: float, block: int) -> np.ndarray:
    """Treated count per replicate: permuted blocks (``block`` > 0) or simple randomisation."""
    p_t = ratio / (1 + ratio)
    if block <= 0:
        return g.binomial(n_total, p_t, size=r)
    t_per_block = round(block * p_t)
    full, rest = divmod(n_total, block)
    # The last, incomplete block: the first `rest` places of a random permutation of the block.
    partial = (
        g.hypergeometric(t_per_block, block - t_per_block, rest, size=r)
        if rest
        else np.zeros(r, dtype=np.int64)
    )
    return full * t_per_block + partial


def arm_assignment(g: np.random.Generator, r: int, n_total: int, ratio: float, block: int) -> np.ndarray:
    """(r, n_total) bool: treated, in order of enrolment, by permuted blocks or simple."""
    p_t = ratio / (1 + ratio)
    if block <= 0:
        return g.random((r, n_total)) < p_t
    t_per_block = round(block * p_t)
    n_blocks = -(-n_total // block)
    base = np.zeros(block, bool)
    base[:t_per_block] = True
    keys = g.random((r, n_blocks, block))
    order = np.argsort(keys, axis=2)
    return base[order].reshape(r, n_blocks * block)[:, :n_total]


def look_sizes(n_total: int, looks: int) -> np.ndarray:
    """Women enrolled at each look (equally spaced information, the last = all)."""
    return np.ceil(np.arange(1, looks + 1) / looks * n_total - 1e-9).astype(int)


def nested_treated_counts(
    g: np.random.Generator, r: int, sizes: np.ndarray, ratio: float, block: int
) -> np.ndarray:
    """Treated women among the first ``sizes[j]`` enrolled, per replicate: the cumulative sums
    of :func:`arm_assignment` at the looks, from the same draws."""
    n_total = int(sizes[-1])
    if block <= 0:
        return np.cumsum(arm_assignment(g, r, n_total, ratio, block), axis=1)[:, sizes - 1]
    # Every complete permuted block holds exactly t_per_block treated women, so only the block
    # a look falls inside needs sorting (argsort was most of the cost of a sequential block).
    p_t = ratio / (1 + ratio)
    t_per_block = round(block * p_t)  # as arm_assignment computes it
    n_blocks = -(-n_total // block)
    keys = g.random((r, n_blocks, block))
    base = np.zeros(block, bool)
    base[:t_per_block] = True
    out = np.empty((r, sizes.size), dtype=np.int64)
    for j, m in enumerate(sizes):
        full, rest = divmod(int(m), block)
        out[:, j] = full * t_per_block
        if rest:
            order = np.argsort(keys[:, full, :], axis=1)
            out[:, j] += base[order[:, :rest]].sum(axis=1)
    return out


def multinomial_rows(g: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Multinomial counts per row by conditional binomials (much faster than
    ``Generator.multinomial`` on an array of totals)."""
    out = np.empty((n.size, p.size), dtype=np.int64)
    left = n.astype(np.int64)
    rest = 1.0
    for j in range(p.size - 1):
        out[:, j] = g.binomial(left, min(1.0, p[j] / rest)) if rest > 0 else 0
        left = left - out[:, j]
        rest -= p[j]
    out[:, -1] = left
    return out
