"""Random 2x2 tables and alternative names shared by the tests of rplsim.stats."""

from __future__ import annotations

import numpy as np

SM_ALT = {"two-sided": "two-sided", "larger": "larger", "smaller": "smaller"}
SCIPY_ALT = {"two-sided": "two-sided", "larger": "greater", "smaller": "less"}


def random_tables(seed: int, size: int, n_max: int = 60) -> tuple[np.ndarray, ...]:
    """Random 2x2 tables with per-replicate arm sizes, plus hand-picked edge cases."""
    rng = np.random.default_rng(seed)
    n_t = rng.integers(1, n_max, size)
    n_c = rng.integers(1, n_max, size)
    x_t = rng.binomial(n_t, rng.uniform(0.05, 0.95, size))
    x_c = rng.binomial(n_c, rng.uniform(0.05, 0.95, size))
    edge = np.array(
        [
            # x_t, n_t, x_c, n_c
            [0, 10, 0, 10],  # no successes
            [10, 10, 10, 10],  # only successes
            [0, 10, 10, 10],
            [10, 10, 0, 10],
            [5, 10, 5, 10],  # equal counts, symmetric null distribution
            [3, 10, 7, 10],
            [0, 0, 3, 5],  # empty arm
            [1, 1, 0, 1],
            [0, 7, 1, 9],
            [20, 40, 20, 40],
        ]
    )
    return tuple(np.concatenate([a, e]) for a, e in zip((x_t, n_t, x_c, n_c), edge.T, strict=True))


def nondegenerate(x_t, n_t, x_c, n_c):
    pooled = (x_t + x_c) / (n_t + n_c)
    return (n_t > 0) & (n_c > 0) & (pooled > 0) & (pooled < 1)
