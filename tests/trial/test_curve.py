"""Tests of rplsim.trial.curve: the power curve over n per arm, or over placebo rates."""

from __future__ import annotations

import numpy as np
import pytest

import rplsim
from rplsim import load_scenario
from rplsim.exceptions import InvalidArgumentError, ScenarioError
from rplsim.trial.curve import CURVE_COLUMNS, PowerCurve, power_curve
from rplsim.trial.exact import exact_power
from rplsim.trial.power import power_with, simulate_power
from tests.conftest import SCENARIOS


@pytest.fixture(scope="module")
def small() -> rplsim.Scenario:
    """The paper's design (chi2, 10% dropout, blocks of 4) with a large effect: n ~ 25 per arm."""
    paper = load_scenario(SCENARIOS / "paper.toml")
    return power_with(paper, control_lbr=0.4, treatment_lbr=0.8, n_per_arm=24)


def test_exact_curve_equals_exact_power_at_each_n(small: rplsim.Scenario) -> None:
    c = power_curve(small, n=range(20, 31, 2))
    assert isinstance(c, PowerCurve) and c.method == "exact" and c.x == "n_per_arm"
    assert tuple(c.table.columns) == CURVE_COLUMNS
    for row in c.table.itertuples():
        ex = exact_power(small, row.n_per_arm)
        assert (row.power, row.type1_error) == (ex.power, ex.type1_error)
        assert row.reaches_target == (ex.power >= 0.8)
    assert c.table["ci_low"].isna().all() and c.chosen_n == 24 and c.target_power == 0.8
    assert "chi2" in c.design and "dropout 10%" in c.design
    assert c.as_dict()["rows"][0]["n_per_arm"] == 20


def test_simulated_curve_uses_common_random_numbers(small: rplsim.Scenario) -> None:
    seq = power_with(small, looks=2)
    kw = dict(n=[20, 30, 40, 50], replicates=1024)
    a, b = power_curve(seq, **kw), power_curve(seq, **kw)
    assert a.method == "simulated" and a.replicates == 1024
    assert a.table.equals(b.table)
    # the same seed at every n: each point is simulate_power's at that n with the scenario's seed
    assert a.table["power"].iloc[1] == simulate_power(seq, 30, replicates=1024).power
    pw = a.table["power"].to_numpy()
    assert np.all(np.diff(pw) > -0.02) and pw[-1] > pw[0]  # monotone up to a little CRN noise
    assert (a.table["ci_low"] <= a.table["power"]).all() and (a.table["power"] <= a.table["ci_high"]).all()


def test_curve_across_placebo_rates_holds_the_stated_effect(small: rplsim.Scenario) -> None:
    c = power_curve(small, control_lbr=np.arange(0.45, 0.651, 0.1), n_per_arm=30)
    assert c.x == "control_lbr" and c.n_per_arm == 30 and c.held_fixed == "treatment_lbr"
    assert c.table["control_lbr"].tolist() == [0.45, 0.55, 0.65]
    assert (c.table["treatment_lbr"] == 0.8).all()
    for row in c.table.itertuples():
        assert row.power == exact_power(power_with(small, control_lbr=row.control_lbr), 30).power
    assert np.all(np.diff(c.table["power"]) < 0)  # a better placebo leaves less to detect
    odds = power_curve(power_with(small, treatment_lbr=None, ivig_odds_ratio=6.0), control_lbr=[0.4, 0.5])
    assert odds.held_fixed == "ivig_odds_ratio" and odds.table["treatment_lbr"].is_monotonic_increasing


def test_bad_arguments_are_one_line(small: rplsim.Scenario) -> None:
    with pytest.raises(InvalidArgumentError, match=r"give n=.* not neither\."):
        power_curve(small)
    with pytest.raises(InvalidArgumentError, match=r"not both\."):
        power_curve(small, n=[20], control_lbr=[0.5])
    with pytest.raises(InvalidArgumentError, match=r"n is empty"):
        power_curve(small, n=[])
    with pytest.raises(ScenarioError, match=r"trial.n_per_arm is not set"):
        power_curve(power_with(small, n_per_arm=None), control_lbr=[0.5])
