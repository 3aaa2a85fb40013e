"""The solved distributions meet Table 1's moments exactly (not by sampling)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rplsim.cohort.distributions import count_at_most, discrete_maxent, truncnorm_for_moments
from rplsim.exceptions import CalibrationError
from rplsim.paper import TABLE1


@pytest.mark.parametrize("var", ["age", "bmi"])
@pytest.mark.parametrize("stratum", ["KN", "KA", "IN", "IA"])
def test_truncated_normal_hits_table1(var, stratum):
    mean, sd, lo, hi = TABLE1[var][stratum]  # Table 1
    tn = truncnorm_for_moments(mean, sd, lo, hi)
    assert tn.mean() == pytest.approx(mean, abs=1e-6)
    assert tn.sd() == pytest.approx(sd, abs=1e-6)
    x = tn.ppf(np.linspace(0, 1, 101))
    assert x.min() >= lo and x.max() <= hi


@pytest.mark.parametrize("var", ["previous_miscarriages", "parity"])
@pytest.mark.parametrize("stratum", ["KN", "KA", "IN", "IA"])
def test_maxent_pmf_hits_table1(var, stratum):
    mean, sd, lo, hi = TABLE1[var][stratum]  # Table 1
    pmf = discrete_maxent(mean, sd, int(lo), int(hi))
    assert sum(pmf.probs) == pytest.approx(1.0)
    assert pmf.mean() == pytest.approx(mean, abs=1e-7)
    if len(pmf.support) > 2:
        assert pmf.exact_sd and pmf.sd() == pytest.approx(sd, abs=1e-6)
    else:  # {0, 1}: the mean fixes the SD, sqrt(p(1-p)); the miss is reported, not hidden
        assert not pmf.exact_sd
        assert pmf.sd() == pytest.approx(np.sqrt(mean * (1 - mean)), abs=1e-9)


@given(mean=st.floats(0.2, 0.8), sd=st.floats(0.05, 0.25))
def test_truncnorm_solves_feasible_targets(mean, sd):
    try:
        tn = truncnorm_for_moments(mean, sd, 0.0, 1.0)
    except CalibrationError:
        return  # infeasible pairs must raise, never return a wrong distribution
    assert tn.mean() == pytest.approx(mean, abs=1e-5)
    assert tn.sd() == pytest.approx(sd, abs=1e-5)


def test_impossible_targets_raise():
    with pytest.raises(CalibrationError):
        truncnorm_for_moments(5.0, 1.0, 6.0, 9.0)
    with pytest.raises(CalibrationError):
        truncnorm_for_moments(0.5, 0.6, 0.0, 1.0)


@given(
    cdf=st.lists(st.floats(0, 1), min_size=1, max_size=12).map(sorted),
    u=st.lists(st.one_of(st.floats(0, 1, exclude_max=True), st.sampled_from([0.0, 0.25, 0.5])), max_size=50),
)
def test_count_at_most_is_searchsorted_right(cdf, u):
    """The comparison count the samplers use is numpy's binary search, value for value (ties
    with a cdf value included: the strategy draws some u equal to cdf values)."""
    c, x = np.array(cdf), np.array(u + cdf[:3], dtype=float)
    assert np.array_equal(count_at_most(c, x), np.searchsorted(c, x, side="right"))
