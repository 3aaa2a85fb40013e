"""Tests of rplsim.stats.batched (the old rplsim.analysis): properties every test shares."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from rplsim.stats.batched import (
    cmh_test_counts,
    fisher_exact_counts,
    z_test_counts,
)
from tests.stats._tables import SM_ALT

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
