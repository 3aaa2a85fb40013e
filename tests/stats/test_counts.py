"""Tests of rplsim.stats.counts: the pooled z test and the Farrington-Manning non-inferiority test.

References (scipy, statsmodels) are computed in the test itself.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.special
import scipy.stats
from numpy.testing import assert_allclose, assert_array_equal
from statsmodels.stats import proportion as sm_proportion

from rplsim.exceptions import InvalidArgumentError
from rplsim.stats.batched import (
    fisher_exact_counts,
    z_test_counts,
)
from tests.stats._tables import SM_ALT, nondegenerate, random_tables

# --------------------------------------------------------------------------- z test


def test_z_two_sided_equals_pearson_chi2_without_correction():
    x_t, n_t, x_c, n_c = random_tables(1, 200)
    z, p = z_test_counts(x_t, n_t, x_c, n_c)
    ok = nondegenerate(x_t, n_t, x_c, n_c)
    for i in np.flatnonzero(ok):
        table = [[x_t[i], n_t[i] - x_t[i]], [x_c[i], n_c[i] - x_c[i]]]
        chi2, p_ref, _, _ = scipy.stats.chi2_contingency(table, correction=False)
        assert_allclose(z[i] ** 2, chi2, rtol=1e-10)
        assert_allclose(p[i], p_ref, rtol=1e-10, atol=1e-300)
    assert_array_equal(z[~ok], 0.0)
    assert_array_equal(p[~ok], 1.0)


@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_z_matches_statsmodels_proportions_ztest(alternative):
    x_t, n_t, x_c, n_c = random_tables(2, 150)
    ok = nondegenerate(x_t, n_t, x_c, n_c)
    z, p = z_test_counts(x_t[ok], n_t[ok], x_c[ok], n_c[ok], alternative=alternative)
    ref = np.array(
        [
            sm_proportion.proportions_ztest([a, b], [m, k], alternative=SM_ALT[alternative])
            for a, m, b, k in zip(x_t[ok], n_t[ok], x_c[ok], n_c[ok], strict=True)
        ]
    )
    assert_allclose(z, ref[:, 0], rtol=1e-10, atol=1e-12)
    assert_allclose(p, ref[:, 1], rtol=1e-9, atol=1e-300)


def test_z_broadcasts_scalar_n():
    z, p = z_test_counts(np.array([30, 40]), 80, np.array([30, 25]), 80, alternative="larger")
    z1, p1 = z_test_counts(40, 80, 25, 80, alternative="larger")
    assert z.shape == p.shape == (2,)
    assert z[0] == 0.0 and p[0] == 0.5
    assert z[1] == z1 and p[1] == p1


def restricted_mle(x_t, n_t, x_c, n_c, margin):
    """Rates maximising the binomial likelihood under p_t - p_c = -margin, by scipy.optimize."""

    def nll(p_c):
        p_t = p_c - margin
        return -(
            scipy.special.xlogy(x_t, p_t)
            + scipy.special.xlog1py(n_t - x_t, -p_t)
            + scipy.special.xlogy(x_c, p_c)
            + scipy.special.xlog1py(n_c - x_c, -p_c)
        )

    res = scipy.optimize.minimize_scalar(
        nll, bounds=(margin, 1.0), method="bounded", options={"xatol": 1e-13}
    )
    return res.x - margin, res.x


@pytest.mark.parametrize("margin", [0.05, 0.1, 0.2])
def test_farrington_manning_uses_restricted_mle(margin):
    x_t, n_t, x_c, n_c = random_tables(3, 80)
    use = (n_t > 0) & (n_c > 0)
    x_t, n_t, x_c, n_c = x_t[use], n_t[use], x_c[use], n_c[use]
    z, p = z_test_counts(x_t, n_t, x_c, n_c, alternative="larger", margin=margin)
    for i in range(x_t.size):
        p_t, p_c = restricted_mle(x_t[i], n_t[i], x_c[i], n_c[i], margin)
        se = np.sqrt(p_t * (1 - p_t) / n_t[i] + p_c * (1 - p_c) / n_c[i])
        z_ref = (x_t[i] / n_t[i] - x_c[i] / n_c[i] + margin) / se
        assert_allclose(z[i], z_ref, rtol=1e-6, atol=1e-9)
        assert_allclose(p[i], scipy.stats.norm.sf(z_ref), rtol=1e-5, atol=1e-12)


def statsmodels_fm(x_t, n_t, x_c, n_c, margin):
    # statsmodels compares count1/nobs1 - count2/nobs2 with `value`: treatment first, so
    # H0: p_t - p_c <= -margin is value=-margin, alternative="larger". correction=False drops
    # the Miettinen-Nurminen factor N/(N-1), which leaves Farrington-Manning.
    out = []
    for a, m, b, k in zip(x_t, n_t, x_c, n_c, strict=True):
        res = sm_proportion.test_proportions_2indep(
            a, m, b, k, value=-margin, compare="diff", method="score",
            alternative="larger", correction=False,
        )  # fmt: skip
        out.append((res.statistic, res.pvalue))
    return np.array(out)


@pytest.mark.parametrize("margin", [0.05, 0.1, 0.2])
def test_farrington_manning_matches_statsmodels_when_control_all_successes(margin):
    # statsmodels <= 0.15 has count0 where nobs0 belongs in the linear coefficient of the cubic
    # (statsmodels issue #10269, fix in PR #10270); the term vanishes when x_c == n_c, so there
    # statsmodels is exact and we must agree with it.
    rng = np.random.default_rng(31)
    n_t = rng.integers(5, 80, 60)
    n_c = rng.integers(5, 80, 60)
    x_t = rng.binomial(n_t, rng.uniform(0.5, 1.0, 60))
    z, p = z_test_counts(x_t, n_t, n_c, n_c, alternative="larger", margin=margin)
    ref = statsmodels_fm(x_t, n_t, n_c, n_c, margin)
    assert_allclose(z, ref[:, 0], rtol=1e-9)
    assert_allclose(p, ref[:, 1], rtol=1e-9, atol=1e-300)


@pytest.mark.xfail(
    reason="statsmodels issue #10269: wrong constrained MLE for compare='diff', value != 0",
    raises=AssertionError,
    strict=False,
)
def test_farrington_manning_matches_statsmodels_in_general():
    x_t, n_t, x_c, n_c = random_tables(3, 100)
    use = (n_t > 0) & (n_c > 0) & (x_c < n_c)
    x_t, n_t, x_c, n_c = x_t[use], n_t[use], x_c[use], n_c[use]
    z, p = z_test_counts(x_t, n_t, x_c, n_c, alternative="larger", margin=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = statsmodels_fm(x_t, n_t, x_c, n_c, 0.1)
    assert_allclose(z, ref[:, 0], rtol=1e-7)
    assert_allclose(p, ref[:, 1], rtol=1e-7)


def test_farrington_manning_margin_zero_is_pooled_test():
    x_t, n_t, x_c, n_c = random_tables(4, 50)
    z0, p0 = z_test_counts(x_t, n_t, x_c, n_c, alternative="larger")
    z1, p1 = z_test_counts(x_t, n_t, x_c, n_c, alternative="larger", margin=1e-9)
    ok = nondegenerate(x_t, n_t, x_c, n_c)
    assert_allclose(z1[ok], z0[ok], atol=1e-6)
    assert_allclose(p1[ok], p0[ok], atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alternative": "greater"}, "alternative == 'greater'"),
        ({"margin": -0.1, "alternative": "larger"}, "margin == -0.1, must be in"),
        ({"margin": 0.1}, "must be 'larger'"),
    ],
)
def test_z_bad_arguments(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        z_test_counts(5, 10, 5, 10, **kwargs)


def test_counts_must_lie_in_range():
    with pytest.raises(InvalidArgumentError, match=r"x_t == 11 with n_t == 10"):
        z_test_counts([5, 11], 10, [5, 5], 10)
    with pytest.raises(ValueError, match="x_c == -1"):
        fisher_exact_counts(1, 10, -1, 10)
    with pytest.raises(InvalidArgumentError, match="non-integer"):
        fisher_exact_counts(1.5, 10, 1, 10)
