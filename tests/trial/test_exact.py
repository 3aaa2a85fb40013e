"""Tests of rplsim.trial.exact: exact power of a scenario's fixed count-path trial."""

from __future__ import annotations

import math

import pytest

import rplsim
from rplsim import load_scenario
from rplsim.design.exact_counts import exact_power_counts
from rplsim.exceptions import ScenarioError
from rplsim.trial.exact import ExactPower, exact_power
from rplsim.trial.power import power_with, simulate_power
from tests.conftest import SCENARIOS

# |simulated - exact| <= Z * sqrt(p (1 - p) / R): a two-sided normal bound with a false-failure
# rate of about 1e-5 per comparison (P(|N(0,1)| > 4.42) = 1e-5).
Z = 4.42


@pytest.fixture(scope="module")
def paper() -> rplsim.Scenario:
    return load_scenario(SCENARIOS / "paper.toml")


def test_exact_equals_simulated_count_path_within_monte_carlo_error(paper) -> None:
    # The paper's design (10% dropout, permuted blocks of 4, chi2) at 40 per arm.
    reps = 20_000
    sim = simulate_power(paper, n_per_arm=40, replicates=reps, seed=20260)
    ex = exact_power(paper, n_per_arm=40)
    for got, want in ((sim.power, ex.power), (sim.type1_error, ex.type1_error)):
        assert abs(got - want) <= Z * math.sqrt(want * (1 - want) / reps)
    assert sim.path == "counts"


def test_fields_follow_the_scenario(paper) -> None:
    ex = exact_power(power_with(paper, allocation_ratio=2.0, block_size=6), n_per_arm=30)
    assert isinstance(ex, ExactPower) and ex.method == "exact"
    assert (ex.n_control, ex.n_treatment) == (30, 60)
    assert ex.analysed_mean == pytest.approx(90 * 0.9)  # both arms together, after dropout
    assert ex.analysed_treatment_mean == pytest.approx(60 * 0.9)
    d = ex.as_dict()
    assert d["power"] == ex.power and d["max_error"] < 1e-11
    assert ex.rejection >= ex.power


def test_equals_the_low_level_twin_at_the_scenario_rates(paper) -> None:
    ex = exact_power(paper, n_per_arm=50)
    low = exact_power_counts(ex.p_control, ex.p_treatment, 50, 50, analysis="chi2", dropout=0.1, block_size=4)
    assert (ex.power, ex.type1_error) == (low.power, low.type1_error)
    assert ex.p_control == pytest.approx(0.60, abs=1e-9) and ex.p_treatment == pytest.approx(0.807, abs=1e-9)


def test_non_inferiority_type1_is_at_the_margin() -> None:
    ni = load_scenario(SCENARIOS / "noninferiority.toml")
    ex = exact_power(ni, n_per_arm=50)
    assert ex.p_null == pytest.approx(ex.p_control - 0.10, abs=1e-9)
    assert abs(ex.type1_error - 0.025) < 0.01  # Farrington-Manning at the boundary of H0
    assert ex.power > ex.type1_error


def test_top_level_names() -> None:
    assert rplsim.exact_power is exact_power
    assert rplsim.ExactPower is ExactPower
    assert rplsim.exact_power_counts is exact_power_counts
    assert {"exact_power", "exact_power_counts", "ExactPower"} <= set(rplsim.__all__)
    assert rplsim.design.exact.exact_power is not exact_power  # Fisher at fixed n, kept


def test_refuses_what_it_does_not_cover(paper) -> None:
    with pytest.raises(ScenarioError, match="find_sample_size"):
        exact_power(paper)  # paper.toml sets no trial.n_per_arm
    with pytest.raises(ScenarioError, match="group-sequential"):
        exact_power(power_with(paper, looks=3), n_per_arm=50)
    with pytest.raises(ScenarioError, match="patient path"):
        exact_power(power_with(paper, analysis="logistic"), n_per_arm=50)
    with pytest.raises(ScenarioError, match="strata"):
        exact_power(power_with(paper, analysis="cmh"), n_per_arm=50)
