"""Tests of rplsim.trial.solve: solve for the missing one of n, power, IVIG rate, placebo rate."""

from __future__ import annotations

import pytest

import rplsim
from rplsim import load_scenario
from rplsim.exceptions import InvalidArgumentError, ScenarioError
from rplsim.trial.exact import exact_power
from rplsim.trial.power import power_with, simulate_power
from rplsim.trial.solve import Solution, exact_applies, solve
from tests.conftest import SCENARIOS

# Target power reached by brentq on exact power (the module's promise).
POWER_TOL = 1e-6


@pytest.fixture(scope="module")
def paper() -> rplsim.Scenario:
    return load_scenario(SCENARIOS / "paper.toml")


@pytest.fixture(scope="module")
def small(paper: rplsim.Scenario) -> rplsim.Scenario:
    """The paper's design (chi2, 10% dropout, blocks of 4) with a large effect: n ~ 25 per arm."""
    return power_with(paper, control_lbr=0.4, treatment_lbr=0.8, n_per_arm=24)


def test_exactly_one_none(small: rplsim.Scenario) -> None:
    with pytest.raises(InvalidArgumentError, match=r"exactly one of n_per_arm, power, .* got none;"):
        solve(small)
    with pytest.raises(InvalidArgumentError, match=r"got n_per_arm and power;"):
        solve(small, n_per_arm=None, power=None)
    with pytest.raises(InvalidArgumentError, match=r"method == 'fast'"):
        solve(small, power=None, method="fast")


def test_solve_power_is_exact_power(small: rplsim.Scenario) -> None:
    sol = solve(small, power=None)
    assert isinstance(sol, Solution) and sol.method == "exact" and sol.solved == "power"
    ex = exact_power(small, 24)
    assert sol.value == sol.power == ex.power and sol.type1_error == ex.type1_error
    assert sol.power_ci is None and sol.target_power is None
    d = sol.as_dict()
    assert d["ci_low"] is None and d["n_per_arm"] == 24 and d["held_fixed"] == "treatment_lbr"


def test_solve_n_round_trip(small: rplsim.Scenario) -> None:
    sol = solve(small, n_per_arm=None, power=0.8)
    n = int(sol.value)
    assert sol.n_per_arm == n and sol.power >= 0.8
    assert exact_power(small, n).power == sol.power
    assert exact_power(small, n - 1).power < 0.8  # the smallest
    assert sol.stable_n is not None and sol.stable_n >= n


def test_solve_n_reports_the_fisher_saw_tooth(small: rplsim.Scenario) -> None:
    # Fisher without dropout at 40% vs 80%: exact power 0.9272 at n = 35, 0.9253 at n = 36
    # (found by rplsim.power_curve over n = 20..40); a target between them dips at 36.
    fisher = power_with(small, analysis="fisher", dropout=0.0)
    p35, p36 = exact_power(fisher, 35).power, exact_power(fisher, 36).power
    assert p36 < p35
    target = (p35 + p36) / 2
    sol = solve(fisher, n_per_arm=None, power=target)
    assert sol.value == 35
    assert sol.stable_n is not None and sol.stable_n > 36
    assert "saw-tooth" in sol.note and "36" in sol.note


def test_solve_treatment_rate_round_trip(small: rplsim.Scenario) -> None:
    sol = solve(small, treatment_lbr=None, n_per_arm=30)
    assert sol.solved == "treatment_lbr" and 0.4 < sol.value < 0.8  # n = 30 > 24 detects less
    check = exact_power(power_with(small, treatment_lbr=sol.value), 30).power
    assert abs(check - 0.8) <= POWER_TOL and abs(sol.power - 0.8) <= POWER_TOL
    assert sol.treatment_lbr == sol.value


def test_solve_treatment_rate_from_an_odds_ratio_scenario(small: rplsim.Scenario) -> None:
    odds = power_with(small, treatment_lbr=None, ivig_odds_ratio=6.0)
    sol = solve(odds, treatment_lbr=None, n_per_arm=30)
    direct = solve(small, treatment_lbr=None, n_per_arm=30)
    # The odds ratio is replaced by the solved rate: the answer does not depend on it.
    assert sol.value == pytest.approx(direct.value, abs=1e-7)
    assert sol.held_fixed == "treatment_lbr" and sol.ivig_odds_ratio is None


def test_solve_control_rate_round_trip(small: rplsim.Scenario) -> None:
    sol = solve(small, control_lbr=None, n_per_arm=30)
    assert sol.solved == "control_lbr" and 0.4 < sol.value < 0.8
    check = exact_power(power_with(small, control_lbr=sol.value), 30).power
    assert abs(check - 0.8) <= POWER_TOL
    # the largest: a placebo rate a little higher no longer has the power
    assert exact_power(power_with(small, control_lbr=sol.value + 0.01), 30).power < 0.8


def test_solve_control_rate_with_the_odds_ratio_held(small: rplsim.Scenario) -> None:
    odds = power_with(small, treatment_lbr=None, ivig_odds_ratio=6.0)
    sol = solve(odds, control_lbr=None, n_per_arm=30)
    assert sol.held_fixed == "ivig_odds_ratio" and sol.ivig_odds_ratio == 6.0
    at = power_with(odds, control_lbr=sol.value)
    assert abs(exact_power(at, 30).power - 0.8) <= POWER_TOL
    assert sol.treatment_lbr > sol.value  # the treated rate followed the placebo rate
    assert exact_power(power_with(odds, control_lbr=sol.value + 0.01), 30).power < 0.8


def test_no_solution_is_one_line(small: rplsim.Scenario) -> None:
    with pytest.raises(ScenarioError, match=r"no IVIG rate reaches power 0.99 at 5 per arm"):
        solve(small, treatment_lbr=None, n_per_arm=5, power=0.99)
    with pytest.raises(ScenarioError, match=r"trial.n_per_arm is not set"):
        solve(power_with(small, n_per_arm=None), treatment_lbr=None)


def test_simulated_where_exact_does_not_apply(small: rplsim.Scenario) -> None:
    seq = power_with(small, looks=2)
    assert not exact_applies(seq) and exact_applies(small)
    sol = solve(seq, power=None, replicates=1024)
    sim = simulate_power(seq, 24, replicates=1024)
    assert sol.method == "simulated" and sol.power == sim.power and sol.power_ci == sim.power_ci
    assert sol.replicates == 1024 and sol.seed is not None


def test_simulated_rate_solve_meets_the_target_with_crn(small: rplsim.Scenario) -> None:
    kw = dict(treatment_lbr=None, n_per_arm=30, method="simulated", replicates=1024)
    sol = solve(small, **kw)
    assert sol.method == "simulated" and sol.power >= 0.8 and sol.power_ci is not None
    # common random numbers: the same answer twice; and near the exact one
    assert solve(small, **kw).value == sol.value
    assert abs(sol.value - solve(small, treatment_lbr=None, n_per_arm=30).value) < 0.05
