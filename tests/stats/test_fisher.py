"""Tests of rplsim.stats.fisher: Fisher's exact test.

References (scipy, statsmodels) are computed in the test itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.special
import scipy.stats
from numpy.testing import assert_allclose, assert_array_equal

from rplsim.stats.batched import (
    fisher_exact_counts,
)
from tests.stats._tables import SCIPY_ALT, random_tables

# ---------------------------------------------------------------------------- Fisher


@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_fisher_matches_scipy(alternative):
    x_t, n_t, x_c, n_c = random_tables(5, 300)
    p = fisher_exact_counts(x_t, n_t, x_c, n_c, alternative=alternative)
    ref = np.array(
        [
            scipy.stats.fisher_exact([[a, m - a], [b, k - b]], alternative=SCIPY_ALT[alternative]).pvalue
            for a, m, b, k in zip(x_t, n_t, x_c, n_c, strict=True)
        ]
    )
    assert_allclose(p, ref, rtol=1e-9, atol=1e-300)


def test_fisher_large_arms_and_duplicates_match_scipy():
    rng = np.random.default_rng(6)
    x_t = rng.binomial(100, 0.6, 400)
    x_c = rng.binomial(100, 0.5, 400)
    p = fisher_exact_counts(x_t, 100, x_c, 100)
    for i in range(0, 400, 7):
        ref = scipy.stats.fisher_exact([[x_t[i], 100 - x_t[i]], [x_c[i], 100 - x_c[i]]]).pvalue
        assert_allclose(p[i], ref, rtol=1e-9)
    # Tables repeated across replicates get identical p-values.
    again = fisher_exact_counts(x_t[::-1], 100, x_c[::-1], 100)
    assert_array_equal(again[::-1], p)


def test_fisher_preserves_shape_and_empty_input():
    p = fisher_exact_counts(np.full((2, 3), 4), 10, np.full((2, 3), 6), 10)
    assert p.shape == (2, 3)
    assert fisher_exact_counts(np.array([], int), 10, np.array([], int), 10).shape == (0,)
