"""points.csv: resume, refusal to overwrite, and never into a `rplsim run` folder."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from rplsim import ResultsExistError, ScenarioError
from rplsim.app.cli import main
from rplsim.sweep.grid import plan_sweep
from rplsim.sweep.run import run_sweep

from ..conftest import SCENARIOS
from .conftest import EXAMPLE, numbers, small_plan


# ----------------------------------------------------------------------------- resume
def test_resume_computes_only_the_missing_points(tmp_path, local_table):
    out = tmp_path / "sweep"
    run_sweep(small_plan(), out, workers=1)
    lines = (out / "points.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    # An interrupted sweep: two finished points, and a row cut short by the crash.
    kept = lines[:3]
    sentinel = [ln.rsplit(",", 2) for ln in kept[1:]]
    kept[1:] = [f"{a},999.5,{c}" for a, _b, c in sentinel]  # 'seconds' = 999.5: not recomputed
    (out / "points.csv").write_text("".join(kept) + lines[3][:40], encoding="utf-8")
    seen: list[str] = []
    res = run_sweep(small_plan(), out, workers=1, resume=True, on_result=lambda r: seen.append(r["point"]))
    done_before = {ln.split(",", 1)[0] for ln in kept[1:]}
    assert res.resumed == 2 and res.computed == 2
    assert res.tasks == 2 * (1 + 3), "only the two missing points were submitted"
    assert not done_before & set(seen)
    pd.testing.assert_frame_equal(numbers(res.table), numbers(local_table))
    assert (res.table.set_index("point").loc[sorted(done_before), "seconds"] == 999.5).all()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["resumed"] == 2 and manifest["points"] == 4


def test_an_existing_points_csv_needs_resume_or_force(tmp_path):
    plan = plan_sweep(
        EXAMPLE,
        ["sweep.n_per_arm=60", "sweep.replicates=1024"],
        {"trial.control_lbr": [0.65], "trial.analysis": ["chi2"], "trial.dropout": [0.1]},
    )
    run_sweep(plan, tmp_path, workers=1)
    with pytest.raises(ResultsExistError, match="--resume"):
        run_sweep(plan, tmp_path, workers=1)
    assert run_sweep(plan, tmp_path, workers=1, resume=True).tasks == 0
    other = plan_sweep(
        EXAMPLE,
        ["sweep.n_per_arm=60", "sweep.replicates=1024", "scenario.seed=7"],
        {"trial.control_lbr": [0.65], "trial.analysis": ["chi2"], "trial.dropout": [0.1]},
    )
    with pytest.raises(ScenarioError, match="another scenario, seed"):
        run_sweep(other, tmp_path, workers=1, resume=True)
    assert run_sweep(other, tmp_path, workers=1, force=True).computed == 1


def test_a_sweep_never_writes_into_a_run_folder(tmp_path):
    """`rplsim run` and `rplsim sweep` default to results/<name>/: the sweep must refuse a
    folder that holds a run's results (its manifest would be replaced) even with --force."""

    out = tmp_path / "paper"
    out.mkdir()
    (out / "manifest.json").write_text("{}", encoding="utf-8")
    rc = main(
        [
            "sweep",
            str(SCENARIOS / "paper.toml"),
            "--out",
            str(out),
            "--force",
            "--replicates",
            "1024",
            "--workers",
            "1",
            "--quiet",
        ]
    )
    assert rc == 2
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]


# ----------------------------------------------------------------------------- issue 20
def test_resume_with_a_narrower_grid_keeps_only_the_current_grid(tmp_path):
    def plan(lbrs):
        fixed = ["sweep.n_per_arm=60", "sweep.replicates=1024"]
        return plan_sweep(
            EXAMPLE, fixed, {"trial.control_lbr": lbrs, "trial.analysis": ["chi2"], "trial.dropout": [0.1]}
        )

    out = tmp_path / "sweep"
    run_sweep(plan([0.6, 0.65]), out, workers=1)
    narrow = plan([0.6])
    said: list[str] = []
    res = run_sweep(narrow, out, workers=1, resume=True, say=said.append)
    assert res.computed == 0 and res.resumed == 1
    assert list(res.table["point"]) == [narrow.points[0].key]
    assert list(pd.read_csv(out / "points.csv")["point"]) == [narrow.points[0].key]
    assert said == [f"dropped 1 rows not in the current grid from {out / 'points.csv'}"]


def test_a_sweep_folder_is_recognised_from_its_start(tmp_path):
    from rplsim.sweep.store import folder_kind, start_points_csv

    plan = small_plan()
    start_points_csv(plan, tmp_path / "a", [])  # killed right after: no row, no figure
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "sweep" and manifest["complete"] is False
    assert folder_kind(tmp_path / "a") == "sweep"
    (tmp_path / "a" / "manifest.json").unlink()  # an older rplsim: points.csv only
    assert folder_kind(tmp_path / "a") == "sweep"
    (tmp_path / "a" / ".bashrc").write_text("keep")
    assert folder_kind(tmp_path / "a") == "other"
    (tmp_path / "b").mkdir()
    assert (folder_kind(tmp_path / "b"), folder_kind(tmp_path / "c")) == ("empty", "missing")


def test_sweep_force_refuses_a_folder_that_is_not_rplsims(tmp_path):
    decoy = tmp_path / "home"
    decoy.mkdir()
    (decoy / ".bashrc").write_text("keep me")
    for force in (False, True):
        with pytest.raises(ResultsExistError, match="not an rplsim results folder"):
            run_sweep(small_plan(), decoy, workers=1, force=force)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
    assert (decoy / ".bashrc").read_text() == "keep me"
