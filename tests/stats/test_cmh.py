"""Tests of rplsim.stats.cmh: the Cochran-Mantel-Haenszel test.

References (scipy, statsmodels) are computed in the test itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from statsmodels.stats.contingency_tables import StratifiedTable

from rplsim.exceptions import InvalidArgumentError
from rplsim.stats.batched import (
    cmh_test_counts,
)

# ------------------------------------------------------------------------------- CMH


def test_cmh_matches_statsmodels():
    rng = np.random.default_rng(7)
    n_rep, n_strata = 40, 3
    n_t = rng.integers(2, 30, (n_rep, n_strata))
    n_c = rng.integers(2, 30, (n_rep, n_strata))
    x_t = rng.binomial(n_t, 0.55)
    x_c = rng.binomial(n_c, 0.45)
    stat, p = cmh_test_counts(x_t, n_t, x_c, n_c)
    z, p_larger = cmh_test_counts(x_t, n_t, x_c, n_c, alternative="larger")
    for r in range(n_rep):
        tables = np.array([[x_t[r], n_t[r] - x_t[r]], [x_c[r], n_c[r] - x_c[r]]])
        ref = StratifiedTable(tables).test_null_odds(correction=False)
        assert_allclose(stat[r], ref.statistic, rtol=1e-10)
        assert_allclose(p[r], ref.pvalue, rtol=1e-8, atol=1e-15)
    assert_allclose(z**2, stat, rtol=1e-12)
    # One-sided p of the signed root, checked against the normal tail of statsmodels' chi2.
    assert_allclose(np.where(z > 0, 2 * p_larger, 2 * (1 - p_larger)), p, rtol=1e-8)


def test_cmh_ignores_strata_under_two_women():
    x_t = np.array([[4, 1, 0], [3, 0, 0]])
    n_t = np.array([[10, 1, 0], [8, 0, 1]])
    x_c = np.array([[2, 0, 0], [1, 1, 0]])
    n_c = np.array([[10, 0, 1], [8, 1, 0]])
    stat, p = cmh_test_counts(x_t, n_t, x_c, n_c)
    ref0, p0 = cmh_test_counts(x_t[:, :1], n_t[:, :1], x_c[:, :1], n_c[:, :1])
    assert_array_equal(stat, ref0)
    assert_array_equal(p, p0)


def test_cmh_no_information_and_shape_check():
    stat, p = cmh_test_counts([[0, 0]], [[5, 5]], [[0, 0]], [[5, 5]])
    assert stat[0] == 0.0 and p[0] == 1.0
    with pytest.raises(InvalidArgumentError, match="must be \\(R, S\\)"):
        cmh_test_counts([1, 2], 5, [1, 2], 5)
