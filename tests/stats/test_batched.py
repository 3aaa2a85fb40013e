"""Tests of rplsim.analysis against scipy and statsmodels, computed in the test itself."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.special
import scipy.stats
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from statsmodels.stats import proportion as sm_proportion
from statsmodels.stats.contingency_tables import StratifiedTable

from rplsim.exceptions import InvalidArgumentError
from rplsim.stats.batched import (
    cmh_test_counts,
    fisher_exact_counts,
    logistic_wald_batched,
    reject,
    wald_p,
    z_test_counts,
)

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


# -------------------------------------------------------------------------- logistic


def simulate_design(seed: int, n_rep: int, n_obs: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, (n_rep, n_obs))
    age = rng.normal(0.0, 1.0, (n_rep, n_obs))
    losses = rng.poisson(3.0, (n_rep, n_obs)).astype(float)
    X = np.stack([np.ones((n_rep, n_obs)), arm, age, losses], axis=-1)
    eta = -0.2 + 0.5 * arm - 0.3 * age - 0.1 * losses
    y = (rng.random((n_rep, n_obs)) < 1 / (1 + np.exp(-eta))).astype(int)
    return X, y


def test_logistic_matches_statsmodels_logit():
    X, y = simulate_design(8, 20, 120)
    beta, se, ok = logistic_wald_batched(X, y)
    assert ok.all()
    for r in range(20):
        fit = sm.Logit(y[r], X[r]).fit(disp=0, tol=1e-12, maxiter=100)
        assert_allclose(beta[r], fit.params[1], rtol=1e-6, atol=1e-8)
        assert_allclose(se[r], fit.bse[1], rtol=1e-6, atol=1e-8)


def test_logistic_mask_equals_fit_to_subset():
    X, y = simulate_design(9, 6, 150)
    rng = np.random.default_rng(10)
    mask = rng.random(y.shape) < 0.2
    X_dirty = X.copy()
    X_dirty[mask] = np.nan  # dropped-out women may have no covariates at all
    beta, se, ok = logistic_wald_batched(X_dirty, y, mask=mask)
    assert ok.all()
    for r in range(6):
        keep = ~mask[r]
        b1, s1, ok1 = logistic_wald_batched(X[r : r + 1, keep], y[r : r + 1, keep])
        assert ok1[0]
        assert_allclose(beta[r], b1[0], rtol=1e-9)
        assert_allclose(se[r], s1[0], rtol=1e-9)


@pytest.mark.parametrize("kind", ["complete", "quasi"])
def test_logistic_separation_is_not_converged(kind):
    X, y = simulate_design(11, 3, 80)
    arm = X[1, :, 1]
    if kind == "complete":
        X[1, :, 2] = np.where(arm == 1, 1.0, -1.0) * (1 + np.abs(X[1, :, 2]))
        y[1] = (X[1, :, 2] > 0).astype(int)
    else:
        y[1] = np.where(arm == 1, 1, y[1])  # every treated woman has a live birth
    beta, se, ok = logistic_wald_batched(X, y)
    assert ok.tolist() == [True, False, True]
    assert np.isnan(beta[1]) and np.isnan(se[1])
    assert not reject(wald_p(beta / se, "larger"), 0.05)[1]
    # The other replicates are unaffected by the failed one.
    b0, s0, _ = logistic_wald_batched(X[[0, 2]], y[[0, 2]])
    assert_allclose(beta[[0, 2]], b0, rtol=1e-12)
    assert_allclose(se[[0, 2]], s0, rtol=1e-12)


def test_logistic_single_arm_after_dropout_is_not_converged():
    X, y = simulate_design(12, 2, 60)
    mask = np.zeros(y.shape, dtype=bool)
    mask[0] = X[0, :, 1] == 1  # every treated woman dropped out
    _, _, ok = logistic_wald_batched(X, y, mask=mask)
    assert ok.tolist() == [False, True]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda X, y: logistic_wald_batched(X[0], y), "must be \\(R, n, p\\)"),
        (lambda X, y: logistic_wald_batched(X, y[:, :-1]), "y has shape"),
        (lambda X, y: logistic_wald_batched(X, 2 * y), "other than 0 and 1"),
        (lambda X, y: logistic_wald_batched(X, y, treat_col=4), "treat_col == 4"),
        (lambda X, y: logistic_wald_batched(X, y, mask=y), "mask has shape"),
    ],
)
def test_logistic_bad_arguments(call, message):
    X, y = simulate_design(13, 2, 30)
    with pytest.raises(InvalidArgumentError, match=message):
        call(X, y)


# ---------------------------------------------------------------------- wald / reject


def test_wald_p_matches_normal_distribution():
    z = np.linspace(-5, 5, 41)
    assert_allclose(wald_p(z, "two-sided"), 2 * scipy.stats.norm.sf(np.abs(z)), rtol=1e-12)
    assert_allclose(wald_p(z, "larger"), scipy.stats.norm.sf(z), rtol=1e-12)
    assert_allclose(wald_p(z, "smaller"), scipy.stats.norm.cdf(z), rtol=1e-12)
    assert np.isnan(wald_p(np.nan, "larger"))


def test_reject():
    assert_array_equal(reject([0.01, 0.05, 0.06, np.nan], 0.05), [True, True, False, False])
    assert_array_equal(reject([0.01, 0.03], [0.005, 0.04]), [False, True])
    with pytest.raises(InvalidArgumentError, match=r"alpha == 1.2, must be in \(0, 0.5\]."):
        reject([0.1], 1.2)


# -------------------------------------------------------------------------- properties

arm = st.integers(0, 40).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@settings(max_examples=150, deadline=None, database=None)
@given(t=arm, c=arm)
def test_p_values_in_unit_interval_and_arm_swap_flips_one_sided(t, c):
    (x_t, n_t), (x_c, n_c) = t, c
    for name, fn in [
        ("z", lambda *a, **k: z_test_counts(*a, **k)[1]),
        ("fisher", fisher_exact_counts),
        ("cmh", lambda *a, **k: cmh_test_counts(*([[v]] for v in a), **k)[1][0]),
    ]:
        p = {alt: fn(x_t, n_t, x_c, n_c, alternative=alt) for alt in SM_ALT}
        swapped = {alt: fn(x_c, n_c, x_t, n_t, alternative=alt) for alt in SM_ALT}
        for alt in SM_ALT:
            assert 0.0 <= p[alt] <= 1.0, (name, alt)
        assert_allclose(p["larger"], swapped["smaller"], rtol=1e-12, err_msg=name)
        assert_allclose(p["smaller"], swapped["larger"], rtol=1e-12, err_msg=name)
        assert_allclose(p["two-sided"], swapped["two-sided"], rtol=1e-12, err_msg=name)
