"""The sweep grid: --grid parsing, point keys, seeds and validation of every point."""

from __future__ import annotations

import time

import pytest

from rplsim import ScenarioError
from rplsim.scenario.trial_params import SWEEP_BLOCK
from rplsim.stats.registry import ANALYSIS_NAMES
from rplsim.sweep.grid import (
    PLAN_SECONDS_PER_POINT,
    PREPARE_SECONDS_PER_POINT,
    SIMULATION_SECONDS_PER_1000,
    estimate_sweep_seconds,
    format_duration,
    parse_grid_args,
    plan_sweep,
    point_entropy,
)
from rplsim.trial.simulation import REPLICATE_BLOCK

from .conftest import EXAMPLE, SMALL, SMALL_SET, small_plan


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


# ----------------------------------------------------------------------------- bounds (issue 20)
def _one(*args, **kwargs):
    with pytest.raises(ScenarioError) as err:
        plan_sweep(*args, **kwargs)
    (line,) = err.value.problems
    return line


def test_a_duplicated_grid_value_is_one_line(tmp_path):
    line = _one(EXAMPLE, SMALL_SET, {**SMALL, "trial.control_lbr": [0.6, 0.65, 0.60]})
    assert (
        line
        == "--grid trial.control_lbr=0.6,0.65,0.6: trial.control_lbr lists 0.6 twice; give each value once."
    )
    for f in EXAMPLE.parent.glob("*.toml"):  # the example and its extends chain
        (tmp_path / f.name).write_text(f.read_text())
    p = tmp_path / "s.toml"
    p.write_text(EXAMPLE.read_text().replace("[0.55, 0.60, 0.65]", "[0.55, 0.60, 0.6]"))
    line = _one(p)
    assert line == f'{p}: sweep.grid."trial.control_lbr" lists 0.6 twice; give each value once.'


def test_trial_replicates_cannot_be_an_axis():
    line = _one(EXAMPLE, SMALL_SET, {"trial.replicates": [1000, 2000]})
    assert line == (
        "--grid trial.replicates=1000,2000: trial.replicates cannot be a grid axis: the sweep "
        "simulates every point with one replicate count; use --replicates or [sweep] replicates."
    )


def test_a_huge_grid_is_refused_before_any_point_is_built(monkeypatch):
    import rplsim.sweep.grid as grid

    monkeypatch.setattr(grid, "_point_scenario", lambda *a: pytest.fail("a point was built"))
    # the example's three axes replaced, six more: 10**9 points
    names = ["trial.control_lbr", "trial.analysis", "trial.dropout", *(f"trial.x{i}" for i in range(6))]
    axes = {k: list(range(10)) for k in names}
    t0 = time.perf_counter()
    line = _one(EXAMPLE, (), axes)
    assert time.perf_counter() - t0 < 1
    assert line.startswith(f"{EXAMPLE}: this sweep has 1,000,000,000 points, about ")
    assert "refusing beyond 1,000,000 points even with --force-large" in line
    big = {  # 101 x 100 x 1 x 1 points (the example's axes replaced)
        "trial.control_lbr": [0.5 + i * 1e-4 for i in range(101)],
        "trial.alpha": [0.01 + i * 1e-5 for i in range(100)],
        "trial.analysis": ["chi2"],
        "trial.dropout": [0.1],
    }
    line = _one(EXAMPLE, (), big)
    assert line.startswith(f"{EXAMPLE}: this sweep has 10,100 points, about ")
    assert line.endswith("refusing beyond 10,000 points; use --force-large (up to 1,000,000).")
    # --force-large lifts the first limit (the points are then built: stopped here by the fake)
    with pytest.raises(BaseException, match="a point was built"):
        plan_sweep(EXAMPLE, (), big, force_large=True)


def test_a_sweep_estimated_beyond_a_day_needs_force_large():
    line = _one(EXAMPLE, ["sweep.replicates=100000000"], {"trial.analysis": ["logistic"]})
    assert "this sweep has 6 points, about 5 days at today's speed" in line
    assert "use --force-large" in line


def test_the_estimate_follows_the_measured_constants():
    secs = estimate_sweep_seconds(1000, 10_000, analysis="chi2")
    per = PLAN_SECONDS_PER_POINT + PREPARE_SECONDS_PER_POINT + 10 * SIMULATION_SECONDS_PER_1000["chi2"]
    assert secs == pytest.approx(1000 * per)
    assert estimate_sweep_seconds(10, 10_000, analysis="logistic", n_per_arm=300) == pytest.approx(
        2 * estimate_sweep_seconds(10, 10_000, analysis="logistic", n_per_arm=150)
        - 10 * (PLAN_SECONDS_PER_POINT + PREPARE_SECONDS_PER_POINT)
    )
    assert format_duration(89 * 86400) == "89 days"
    plan = small_plan()
    assert 0 < plan.estimated_seconds() < 10 and plan.estimated_seconds(workers=2) < plan.estimated_seconds()
    assert set(SIMULATION_SECONDS_PER_1000) == set(ANALYSIS_NAMES)


def test_grid_problems_name_the_flag_and_seed_flags_pass_through():
    line = _one(EXAMPLE, SMALL_SET, {"trial.alpah": [0.05]})
    assert line.startswith("--grid trial.alpah=0.05 [point trial.alpah=0.05;")
    assert "]: trial.alpah is not a known key" in line and line.endswith("(and 11 more points)")
    line = _one(EXAMPLE, [*SMALL_SET, "scenario.seed=-1"], SMALL, flags={"scenario.seed": "--seed -1"})
    assert line.startswith("--seed -1: scenario.seed == -1")
    # a point whose rates leave no possible success is refused at planning, once
    line = _one(EXAMPLE, SMALL_SET, {"trial.control_lbr": [0.6, 0.85], "trial.dropout": [0.1, 0.2]})
    assert line.startswith(f"{EXAMPLE} (with --grid trial.control_lbr=0.6,0.85) [point ")
    assert "is below trial.control_lbr == 0.85" in line and line.endswith("(and 3 more points)")
