"""Tests of rplsim.trial.exact: exact power of a scenario's fixed count-path trial."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

import rplsim
from rplsim import load_scenario
from rplsim.design.exact_counts import exact_power_counts
from rplsim.exceptions import InvalidArgumentError, ScenarioError
from rplsim.trial import exact as exact_module
from rplsim.trial.exact import ExactPower, ExactSampleSize, exact_power, exact_sample_size
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


def test_exact_sample_size_of_the_paper_design(paper) -> None:
    res = exact_sample_size(paper)
    assert isinstance(res, ExactSampleSize) and res.method == "exact" and res.analysis == "chi2"
    target = paper.require_trial().power
    powers = {n: exact_power(paper, n).power for n in range(res.searched_from, res.searched_to + 1)}
    assert powers[res.n_per_arm] == res.power >= target
    assert all(p < target for n, p in powers.items() if n < res.n_per_arm)  # the smallest
    stays = res.n_stays_above
    assert all(powers[n] >= target for n in range(stays, stays * 6 // 5 + 1))
    assert powers[res.searched_from] < target - exact_module.SEARCH_POWER_GAP
    assert res.type1_error == pytest.approx(exact_power(paper, res.n_per_arm).type1_error, abs=0)


def test_exact_sample_size_reports_the_saw_tooth(paper, monkeypatch: pytest.MonkeyPatch) -> None:
    # A made-up power curve with dips below target after it first reaches it.
    real = exact_power(paper, 50)
    dips = {62: 0.79, 64: 0.795}

    def fake(scenario, n, *, tol=0.0):
        return replace(real, power=dips.get(n, 0.5 + n / 200), n_control=n)

    monkeypatch.setattr(exact_module, "exact_power", fake)
    res = exact_sample_size(paper)
    assert (res.n_per_arm, res.n_stays_above, res.dips) == (60, 65, (62, 64))
    assert res.power == pytest.approx(0.8) and res.power_at_stays == pytest.approx(0.825)
    assert res.searched_to >= 65 * 6 // 5


def test_exact_sample_size_refuses_what_exact_power_refuses(paper) -> None:
    with pytest.raises(ScenarioError, match="group-sequential"):
        exact_sample_size(power_with(paper, looks=3))


@pytest.fixture(scope="module")
def sequential() -> rplsim.Scenario:
    # The shipped group-sequential design (3 looks, O'Brien-Fleming, chi2) without its dropout:
    # the design the exact recursion covers.
    return power_with(load_scenario(SCENARIOS / "group_sequential.toml"), dropout=0.0)


def test_group_sequential_exact_equals_simulated_within_monte_carlo_error(sequential) -> None:
    reps = 20_000
    sim = simulate_power(sequential, n_per_arm=60, replicates=reps, seed=20261)
    ex = exact_power(sequential, n_per_arm=60)
    assert ex.looks == 3 and len(ex.stop_probability) == 3
    pairs = [(sim.power, ex.power), (sim.type1_error, ex.type1_error)]
    pairs += list(zip(sim.stop_probability, ex.stop_probability, strict=True))
    for got, want in pairs:  # Z: false-failure rate 1e-5 per comparison, as above
        assert abs(got - want) <= Z * math.sqrt(want * (1 - want) / reps)


def test_group_sequential_exact_sample_size_and_search(sequential) -> None:
    found = rplsim.find_sample_size(sequential)
    n, target = found.n_per_arm, sequential.require_trial().power
    assert found.method == "exact" and found[0] == n == found.exact.n_per_arm
    assert exact_power(sequential, n).power >= target > exact_power(sequential, n - 1).power


def test_find_sample_size_is_exact_where_exact_power_covers_the_design(paper) -> None:
    es = exact_sample_size(paper)
    n, curve = rplsim.find_sample_size(paper)  # still unpacks as (n, curve)
    found = rplsim.find_sample_size(paper)
    assert n == es.n_per_arm == found.n_per_arm and found.n_stays_above == es.n_stays_above
    assert found.method == "exact" and found.exact == es and found.result is None
    row = curve.set_index("n_per_arm").loc[n]
    assert row["power"] == es.power and row["method"] == "exact" and row["replicates"] == 0
    n3, _, check = rplsim.find_sample_size(paper, replicates=2_000, return_result=True)
    assert n3 == n and check.n_control == n and check.replicates == 2_000
    with pytest.raises(ScenarioError, match="patient path"):
        rplsim.find_sample_size(power_with(paper, analysis="logistic"), method="exact")
    with pytest.raises(InvalidArgumentError, match="method"):
        rplsim.find_sample_size(paper, method="bayes")


def _counting_fake(real: ExactPower, curve, calls: list[int]):
    def fake(scenario, n, *, tol=0.0):
        calls.append(n)
        return replace(real, power=curve(n), n_control=n)

    return fake


def test_exact_search_goes_past_a_formula_far_below_the_answer(paper, monkeypatch) -> None:
    # A made-up power curve that reaches 0.8 only at n = 320, four times the formula's n.
    calls: list[int] = []
    monkeypatch.setattr(
        exact_module, "exact_power", _counting_fake(exact_power(paper, 50), lambda n: n / 400, calls)
    )
    res = exact_sample_size(paper)
    assert res.n_per_arm == 320 and res.n_stays_above == 320
    assert len(set(calls)) < 120  # doubling and bisection, then the +20% window (65 sizes)


def test_exact_search_stops_when_power_never_reaches_the_target(paper, monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(
        exact_module, "exact_power", _counting_fake(exact_power(paper, 50), lambda n: 0.01, calls)
    )
    with pytest.raises(ScenarioError, match=r"power never reaches 0\.80 .* per arm it is 0\.01") as err:
        exact_sample_size(paper)
    assert len(err.value.args[0].splitlines()) == 1 and len(calls) <= 3


def test_group_sequential_refusals_name_the_reason(sequential) -> None:
    with pytest.raises(ScenarioError, match="without dropout only"):
        exact_power(power_with(sequential, dropout=0.1), 60)
    with pytest.raises(ScenarioError, match="simple randomisation"):
        exact_power(power_with(sequential, block_size=0), 60)
    assert (
        rplsim.find_sample_size(power_with(sequential, block_size=0), replicates=1024).method == "simulated"
    )
