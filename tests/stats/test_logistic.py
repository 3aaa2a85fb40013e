"""Tests of rplsim.stats.logistic: batched logistic regressions.

References (scipy, statsmodels) are computed in the test itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose

from rplsim.exceptions import InvalidArgumentError
from rplsim.stats.batched import (
    logistic_wald_batched,
    reject,
    wald_p,
)

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
