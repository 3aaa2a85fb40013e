"""The fit's SEs from the Hessian (calibration.fit._profile) on objectives whose answer is known:
sum z^2 = (x - m)' S^-1 (x - m) has covariance S exactly, so every check is exact up to
round-off (finite differences of a quadratic are exact)."""

from __future__ import annotations

import numpy as np
import pytest

from rplsim.calibration.fit import INVALID, _profile

COV = np.array([[0.01, 0.006, 0.0], [0.006, 0.04, -0.03], [0.0, -0.03, 0.09]])


def _quadratic(cov: np.ndarray, centre: float = 0.5):
    inv = np.linalg.inv(cov)
    return lambda v: float((v - centre) @ inv @ (v - centre))


@pytest.mark.parametrize("lo", [0.0, 0.45])  # the fit inside its range, and near its lower bound
def test_the_marginal_ses_and_correlations_of_a_quadratic_are_its_covariance(lo):
    se, se_cond, flat, corr = _profile(_quadratic(COV), np.full(3, 0.5), 0.0, np.full(3, lo), np.full(3, 3.0))
    sd = np.sqrt(np.diag(COV))
    assert se == pytest.approx(sd, rel=1e-6)
    assert corr == pytest.approx(COV / np.outer(sd, sd), abs=1e-6)
    assert se_cond == pytest.approx(1 / np.sqrt(np.diag(np.linalg.inv(COV))), rel=1e-6)
    assert not flat.any()
    inflated = _profile(_quadratic(COV), np.full(3, 0.5), 0.0, np.full(3, lo), np.full(3, 3.0), inflate=1.5)
    assert inflated[0] == pytest.approx(1.5 * sd, rel=1e-6)


def test_a_ridge_flags_every_key_and_gives_no_marginal_se():
    """The targets pin x0 + x1 only: curvature along each axis, none along x0 - x1."""
    se, se_cond, flat, _ = _profile(
        lambda v: float((v[0] + v[1] - 1.0) ** 2 / 0.01), np.full(2, 0.5), 0.0, np.zeros(2), np.ones(2)
    )
    assert flat.all() and np.isnan(se).all()
    assert se_cond == pytest.approx([0.1, 0.1], rel=1e-6)


def test_a_point_the_scenario_refuses_makes_its_key_flat_not_precise():
    """x1 cannot move at all (every other value is refused): flat with no SE, and x0 keeps its own."""

    def objective(v):
        return INVALID if v[1] != 0.5 else float((v[0] - 0.5) ** 2 / 0.01)

    se, se_cond, flat, _ = _profile(objective, np.full(2, 0.5), 0.0, np.zeros(2), np.ones(2))
    assert flat.tolist() == [False, True]
    assert se[0] == pytest.approx(0.1, rel=1e-6) and np.isnan(se[1]) and np.isnan(se_cond[1])
