"""Tests of rplsim.design.methods: the registry of analytic methods and the FM restricted MLE."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import optimize

from rplsim.design.analytic import power_two_proportions, sample_size
from rplsim.design.methods import (
    ANALYSIS_METHOD,
    ANALYTIC_METHODS,
    METHODS,
    NON_INFERIORITY_ANALYSIS_METHOD,
    _arcsine_n,
    fm_restricted_mle,
    get_method,
    register_method,
    resolve_method,
)
from rplsim.exceptions import ConvergenceError, InvalidArgumentError


def test_registered_methods_in_order() -> None:
    assert tuple(METHODS) == ("normal", "arcsine", "continuity", "exact", "farrington-manning")
    assert repr(METHODS) == repr(("normal", "arcsine", "continuity", "exact", "farrington-manning"))
    assert [m.name for m in ANALYTIC_METHODS.values() if m.non_inferiority] == ["farrington-manning"]
    assert [m.name for m in ANALYTIC_METHODS.values() if not m.sequential] == ["exact"]


def test_unknown_method_lists_the_registered_ones() -> None:
    # get_method is the registry's lookup: methods only; sample_size also takes analysis names.
    with pytest.raises(InvalidArgumentError, match=r"method == 'fisher', must be one of \('normal', "):
        get_method("fisher")
    with pytest.raises(
        InvalidArgumentError,
        match=r"method == 'fishr', must be a method \('normal', .*\) or a trial analysis \('chi2', 'fisher'",
    ):
        sample_size(0.6, 0.8, method="fishr")
    with pytest.raises(InvalidArgumentError, match=r"method == 'fishr'"):
        power_two_proportions(0.6, 0.8, 50, method="fishr")


def test_every_builtin_analysis_maps_to_a_registered_method() -> None:
    from rplsim.stats.registry import ANALYSIS_NAMES

    for table in (ANALYSIS_METHOD, NON_INFERIORITY_ANALYSIS_METHOD):
        assert set(table) <= set(ANALYSIS_NAMES)
        assert set(table.values()) <= set(METHODS)
    assert {"chi2", "fisher", "cmh", "logistic"} <= set(ANALYSIS_METHOD)
    assert all(get_method(m).non_inferiority for m in NON_INFERIORITY_ANALYSIS_METHOD.values())


def test_resolve_method_maps_analyses_and_passes_methods() -> None:
    assert [resolve_method(m) for m in METHODS] == list(METHODS)
    # chi2 is the pooled z test without continuity correction; fisher is Fisher's exact test.
    assert resolve_method("chi2") == "normal"
    assert resolve_method("fisher") == "exact"
    assert resolve_method("chi2", margin=0.1) == "farrington-manning"
    with pytest.raises(InvalidArgumentError, match=r"no non-inferiority formula for the fisher analysis"):
        resolve_method("fisher", margin=0.1)


def test_sample_size_with_analysis_names_equals_its_method() -> None:
    assert sample_size(0.3, 0.6, method="fisher") == sample_size(0.3, 0.6, method="exact")
    assert sample_size(0.3, 0.6, method="fisher").method == "exact"
    assert sample_size(0.6, 0.8, method="chi2") == sample_size(0.6, 0.8, method="normal")
    ni = dict(margin=0.1, alternative="larger")
    assert sample_size(0.8, 0.8, method="chi2", **ni) == sample_size(
        0.8, 0.8, method="farrington-manning", **ni
    )
    assert power_two_proportions(0.3, 0.6, 30, method="fisher") == power_two_proportions(
        0.3, 0.6, 30, method="exact"
    )


def test_a_registered_method_is_used_by_sample_size_and_power() -> None:
    """One entry: 'normal' under another name gives the same numbers."""
    register_method(replace(get_method("normal"), name="normal-copy"))
    try:
        assert sample_size(0.6, 0.8, method="normal-copy").n_control == sample_size(0.6, 0.8).n_control
        n = np.array([50.0, 82.0])
        np.testing.assert_array_equal(
            power_two_proportions(0.6, 0.8, n, method="normal-copy"), power_two_proportions(0.6, 0.8, n)
        )
    finally:
        ANALYTIC_METHODS.unregister("normal-copy")
    assert "normal-copy" not in METHODS


@pytest.mark.parametrize(
    ("pc", "pt", "margin", "ratio"),
    [(0.8, 0.8, 0.1, 1.0), (0.6, 0.65, 0.1, 2.0), (0.3, 0.25, 0.05, 0.5), (0.1, 0.1, 0.08, 1)],
)
def test_fm_restricted_mle_matches_numerical_maximum(
    pc: float, pt: float, margin: float, ratio: float
) -> None:
    # Farrington & Manning (1990) closed form vs direct maximisation of the expected
    # log-likelihood n_c l(p_c) + n_t l(p_c - margin) over p_c.
    def negll(q: float) -> float:
        qt = q - margin
        return -(
            pc * math.log(q)
            + (1 - pc) * math.log(1 - q)
            + ratio * (pt * math.log(qt) + (1 - pt) * math.log(1 - qt))
        )

    res = optimize.minimize_scalar(
        negll, bounds=(margin + 1e-9, 1 - 1e-9), method="bounded", options={"xatol": 1e-12}
    )
    qc, qt = fm_restricted_mle(pc, pt, margin, ratio)
    assert qc - qt == pytest.approx(margin, abs=1e-12)
    assert qc == pytest.approx(res.x, abs=1e-6)


def test_arcsine_bracket_is_bounded_when_power_never_reaches_the_target() -> None:
    """Issue 20: every search terminates. Rates in the wrong direction for a one-sided test
    (which sample_size refuses first) have power -> 0: the doubling stops with a message."""
    with pytest.raises(ConvergenceError, match=r"arcsine sample size: power never reaches 0.8: at n == "):
        _arcsine_n(0.6, 0.5, 0.05, 0.8, "larger", 1.0, 0.0)
