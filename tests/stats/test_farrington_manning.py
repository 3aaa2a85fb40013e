"""Tests of rplsim.stats.farrington_manning: the one restricted MLE, on floats and on arrays."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize

from rplsim.stats.farrington_manning import fm_restricted_rates

rate = st.floats(0.05, 0.95)


@given(p_t=rate, p_c=rate, theta=st.floats(0.25, 4.0), margin=st.floats(0.01, 0.3))
def test_float_and_array_forms_agree_and_meet_the_constraint(p_t, p_c, theta, margin) -> None:
    """Floats use math, arrays numpy (their acos differ in the last bits): agree to 1e-12."""
    st_, sc = fm_restricted_rates(p_t, p_c, theta, -margin)
    at, ac = fm_restricted_rates(np.array([p_t]), np.array([p_c]), np.array([theta]), -margin)
    assert isinstance(st_, float)
    assert math.isclose(st_, float(at[0]), abs_tol=1e-12)
    assert math.isclose(sc, float(ac[0]), abs_tol=1e-12)
    assert math.isclose(st_ - sc, -margin, abs_tol=1e-12)
    assert max(0.0, -margin) <= st_ <= min(1.0, 1.0 - margin)


def test_maximises_the_constrained_likelihood() -> None:
    """n_t = 100, n_c = 50 (theta = 0.5): the root equals the numerical constrained maximum."""
    p_t, p_c, n_t, n_c, d = 0.62, 0.70, 100, 50, -0.1

    def nll(q: float) -> float:
        qc = q - d
        return -(
            n_t * (p_t * math.log(q) + (1 - p_t) * math.log1p(-q))
            + n_c * (p_c * math.log(qc) + (1 - p_c) * math.log1p(-qc))
        )

    q = optimize.minimize_scalar(
        nll, bounds=(1e-9, 1 + d - 1e-9), method="bounded", options={"xatol": 1e-12}
    ).x
    qt, qc = fm_restricted_rates(p_t, p_c, n_c / n_t, d)
    assert math.isclose(qt, q, abs_tol=1e-7)
    assert math.isclose(qc, q - d, abs_tol=1e-7)
