"""rplsim.planning.stages: one n and one power for every output of a trial stage (issue 13)."""

from __future__ import annotations

import pytest

from rplsim import load_scenario
from rplsim.planning.stages import size_trial
from rplsim.trial.simulation import REPLICATE_BLOCK

from ..conftest import SCENARIOS


@pytest.fixture(scope="module")
def fisher_search():
    """The setting of issue 13 (placebo 55%, Fisher, 90% power), searched with one block a point.

    Before the fix the curve's row at the chosen n (the confirming run, 4 x replicates) said
    0.9055 and the summary (a second simulation at 1 x) 0.9032 at n = 80 (10,000 replicates).
    """
    over = ["trial.control_lbr=0.55", "trial.analysis=fisher", "trial.power=0.9"]
    # a small grid: each cell's exact Fisher n is a search of its own (seconds for close rates)
    over += ["sensitivity.control_lbr=[0.45, 0.55]", "sensitivity.treatment_lbr=[0.807, 0.9]"]
    sc = load_scenario(SCENARIOS / "paper.toml", over)
    # the tornado's exact Fisher searches (40 s) are not what these tests are about
    return sc, size_trial(
        sc, replicates=REPLICATE_BLOCK, scenario_n=False, sensitivity=True, assumptions=False
    )


def test_summary_power_is_the_curves_row(fisher_search) -> None:
    """On the exact path (Fisher, one look) the answer's power is the exact power, and it is
    the curve's row at the chosen n; the simulation at that same n is its check."""
    _, tr = fisher_search
    assert tr.searched and tr.exact is not None and tr.exact_n is not None
    assert tr.exact_n.n_per_arm == tr.power.n_control == tr.exact.n_control
    at_n = tr.curve[tr.curve.n_per_arm == tr.power.n_control]
    assert len(at_n) == 1
    row = at_n.iloc[0]
    assert row.power == tr.exact.power >= 0.9
    assert row.ci_low == row.ci_high == row.power and row.method == "exact"
    assert (tr.curve.power[tr.curve.n_per_arm < tr.exact_n.n_per_arm] < 0.9).all()
    table = tr.power_table().iloc[0]
    assert table.exact_power == tr.exact.power and table.power == tr.power.power


def test_simulated_search_summary_is_the_curves_row() -> None:
    """Off the exact path (two looks) the answer's power is the search's confirming run: the
    curve's row at the chosen n, same power, CI and replicates."""
    over = ["trial.looks=2", "trial.analysis=chi2"]
    sc = load_scenario(SCENARIOS / "paper.toml", over)
    tr = size_trial(sc, replicates=REPLICATE_BLOCK, scenario_n=False, sensitivity=False)
    assert tr.searched and tr.exact is None
    row = tr.curve[tr.curve.n_per_arm == tr.power.n_control].iloc[0]
    assert row.power == tr.power.power
    assert (row.ci_low, row.ci_high) == tr.power.power_ci
    assert row.replicates == tr.power.replicates == 4 * REPLICATE_BLOCK  # the confirming run


def test_grid_at_the_scenarios_rates_shows_the_runs_n(fisher_search) -> None:
    """The sensitivity rows at the scenario's own rates (the "this scenario" point, which labels
    the heat map, and its grid cell) show the run's n and power, not a second analytic n
    (paper.toml: the headline said 84 per arm, the legend 85)."""
    sc, tr = fisher_search
    grid = tr.sensitivity
    mine = grid[(grid.control_lbr == 0.55) & (grid.treatment_lbr == sc.trial.treatment_lbr)]
    assert set(mine.label) == {"", "this scenario"}
    assert (mine.n_per_arm == tr.power.n_control).all()
    assert (mine.n_total == tr.power.n_total).all()
    assert (mine.n_method == "run").all()
    assert (mine.simulated_power == tr.power.power).all()
    assert mine.n_analysed_per_arm.tolist() == pytest.approx([tr.power.n_control * 0.9] * 2)
    others = grid.drop(mine.index)
    assert set(others.n_method) <= {"exact", ""}  # sized with the scenario's test, Fisher


def test_fixed_n_is_one_row_of_the_same_run(paper) -> None:
    """A fixed n: no search, the curve is the one point, the power's own."""
    tr = size_trial(paper, replicates=REPLICATE_BLOCK, n_per_arm=40, sensitivity=False)
    assert not tr.searched
    assert tr.curve.n_per_arm.tolist() == [40]
    assert tr.curve.power.iloc[0] == tr.power.power
