"""The sweep tasks: a point is simulate_power under its own entropy."""

from __future__ import annotations

import pytest

from rplsim.sweep.grid import plan_sweep
from rplsim.sweep.run import run_sweep
from rplsim.trial.power import simulate_power

from .conftest import EXAMPLE, small_plan


def test_a_point_is_simulate_power_under_its_own_entropy(local_table):
    plan = small_plan()
    point = plan.points[-1]
    ref = simulate_power(point.scenario, n_per_arm=60, replicates=2500, seed=point.entropy)
    row = local_table.set_index("point").loc[point.key]
    assert row["power"] == ref.power
    assert row["type1_error"] == ref.type1_error
    assert row["expected_n_h1"] == pytest.approx(ref.expected_n_h1, rel=1e-12)


@pytest.mark.slow  # the group-sequential boundaries: ~9 s on an idle machine
def test_group_sequential_points_report_expected_n_below_the_maximum(tmp_path):
    plan = plan_sweep(
        EXAMPLE,
        ["sweep.n_per_arm=140", "sweep.replicates=1024", "trial.looks=3"],
        {"trial.control_lbr": [0.6]},
    )
    table = run_sweep(plan, tmp_path, workers=1).table
    row = table.iloc[0]
    assert row["expected_n_h1"] < row["n_total"]
    stops = [float(x) for x in row["stop_probability"].split(";")]
    assert len(stops) == 3 and sum(stops) == pytest.approx(row["power"], abs=2e-3)
