"""The sweep grid: --grid parsing, point keys, seeds and validation of every point."""

from __future__ import annotations

import pytest

from rplsim import ScenarioError
from rplsim.scenario.trial_params import SWEEP_BLOCK
from rplsim.sweep.grid import parse_grid_args, plan_sweep, point_entropy
from rplsim.trial.simulation import REPLICATE_BLOCK

from .conftest import EXAMPLE, SMALL, SMALL_SET


# ----------------------------------------------------------------------------- the grid
def test_sweep_block_is_the_trial_block():
    assert SWEEP_BLOCK == REPLICATE_BLOCK


def test_example_has_12_distinct_points():
    plan = plan_sweep(EXAMPLE)
    assert len(plan.points) == 12
    assert plan.replicates == 10_000 and plan.batch == 4096
    assert len({p.key for p in plan.points}) == 12
    assert len({p.entropy for p in plan.points}) == 12
    first = plan.points[0]
    assert first.key == "trial.analysis=chi2;trial.control_lbr=0.55;trial.dropout=0.05"
    assert first.scenario.trial.control_lbr == 0.55


def test_parse_grid_args_reads_toml_values_and_bare_words():
    assert parse_grid_args(
        [
            "trial.control_lbr=0.55,0.6",
            "trial.analysis=chi2,fisher",
            'trial.boundary="pocock"',
            "trial.looks=1, 3",
        ]
    ) == {
        "trial.control_lbr": [0.55, 0.6],
        "trial.analysis": ["chi2", "fisher"],
        "trial.boundary": ["pocock"],
        "trial.looks": [1, 3],
    }
    with pytest.raises(ScenarioError, match="KEY=V1,V2"):
        parse_grid_args(["trial.alpha"])


def test_a_point_key_and_seed_do_not_depend_on_the_grid_around_it():
    a = plan_sweep(
        EXAMPLE,
        SMALL_SET,
        {"trial.analysis": ["fisher", "chi2"], "trial.control_lbr": [0.65, 0.60], "trial.dropout": [0.1]},
    )
    b = plan_sweep(
        EXAMPLE, SMALL_SET, {"trial.control_lbr": [0.6], "trial.analysis": ["chi2"], "trial.dropout": [0.10]}
    )
    pa = {p.key: p for p in a.points}
    (pb,) = b.points
    assert pa[pb.key].entropy == pb.entropy == point_entropy(pb.scenario.seed, pb.key)
    assert pa[pb.key].digest == pb.digest


def test_grid_values_and_the_cli_flags_are_validated_like_the_file(tmp_path):
    with pytest.raises(ScenarioError, match=r"sweep.batch == 3000, must be a multiple of 1024"):
        plan_sweep(EXAMPLE, ["sweep.batch=3000"])
    with pytest.raises(ScenarioError) as err:
        plan_sweep(EXAMPLE, SMALL_SET, {**SMALL, "trial.alpha": [0.05, 2]})
    assert err.value.problems == [
        "--grid trial.alpha=0.05,2 [point trial.alpha=2;trial.analysis=chi2;trial.control_lbr=0.6;"
        "trial.dropout=0.1]: trial.alpha == 2.0, must be in (0, 0.5]. (and 3 more points)"
    ]
    with pytest.raises(ScenarioError, match="is not a known key"):
        plan_sweep(EXAMPLE, SMALL_SET, {"trial.alpah": [0.05]})
