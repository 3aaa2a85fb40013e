"""rplsim.calibration.rows: one calibration row, independent of the order of its replicates."""

from __future__ import annotations

import math

import numpy as np

from rplsim.calibration.rows import order_free_mean_sd, row


def _orders_that_move_numpy(values: np.ndarray) -> list[np.ndarray]:
    """Permutations of ``values`` whose numpy mean differs in the last bits (so the test bites)."""
    rng = np.random.default_rng(13)
    out = []
    for _ in range(50):
        p = rng.permutation(values)
        if float(p.mean()) != float(values.mean()):
            out.append(p)
    return out


def test_row_does_not_depend_on_the_order_of_the_replicates() -> None:
    """issue 13: the last digits of calibration.csv moved between runs. A row's mean, SD and
    tolerance are now exactly rounded sums (math.fsum), so any order of the same replicate
    values (threads, processes, another SIMD kernel) gives the same floats; numpy's pairwise
    mean, which the row used before, differs for some of these orders."""
    values = np.random.default_rng(2025).lognormal(3.0, 1.2, 1000)
    moved = _orders_that_move_numpy(values)
    assert moved, "no permutation moved numpy's mean: the test would not bite"
    first = row("x", "test", 20.0, values)
    for p in moved:
        assert row("x", "test", 20.0, p) == first
        assert row("x", "test", 20.0, p, skewed=True) == row("x", "test", 20.0, values, skewed=True)


def test_order_free_mean_sd_matches_the_textbook() -> None:
    """Against the statistics module (exact rational arithmetic on the floats)."""
    import statistics

    v = np.random.default_rng(1).normal(5.0, 2.0, 257)
    mean, sd = order_free_mean_sd(v)
    assert math.isclose(mean, statistics.fmean(v.tolist()), rel_tol=1e-15)
    assert math.isclose(sd, statistics.stdev(v.tolist()), rel_tol=1e-13)
    assert order_free_mean_sd(np.array([4.0])) == (4.0, 0.0)
    assert all(math.isnan(x) for x in order_free_mean_sd(np.array([])))
