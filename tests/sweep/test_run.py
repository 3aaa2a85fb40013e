"""run_sweep: the same numbers for any workers, batch or backend; the CLI; Dask."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pandas as pd
import pytest

from rplsim.app.cli import main
from rplsim.sweep import run as sweep_run
from rplsim.sweep.grid import plan_sweep
from rplsim.sweep.run import run_sweep

from .conftest import EXAMPLE, numbers, small_plan


# ----------------------------------------------------------------------------- same numbers
@pytest.mark.slow
def test_points_csv_is_the_same_for_1_or_2_workers_and_any_batch(tmp_path, local_table):
    two = run_sweep(small_plan(), tmp_path / "w2", workers=2)
    big = run_sweep(small_plan(), tmp_path / "b4", workers=1, batch=4096)
    pd.testing.assert_frame_equal(numbers(two.table), numbers(local_table))
    pd.testing.assert_frame_equal(numbers(big.table), numbers(local_table))
    assert (local_table["replicates"] == 2500).all()
    assert two.tasks == 4 * (1 + 3) and big.tasks == 4 * (1 + 1)
    # the files themselves, not only the parsed tables, agree on every number
    on_disk = pd.read_csv(tmp_path / "w2" / "points.csv")
    pd.testing.assert_frame_equal(numbers(on_disk), numbers(local_table))


# ----------------------------------------------------------------------------- the CLI
def test_a_bad_grid_point_fails_before_any_work(tmp_path, monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise AssertionError("no task may run when a point is invalid")

    monkeypatch.setattr(sweep_run, "prepare_point", boom)
    monkeypatch.setattr(sweep_run, "run_batch", boom)
    out = tmp_path / "out"
    rc = main(
        [
            "--quiet",
            "sweep",
            str(EXAMPLE),
            "--grid",
            "trial.alpha=0.05,2",
            "--workers",
            "1",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1, err
    assert (
        "[point trial.alpha=2;trial.analysis=chi2;trial.control_lbr=0.55;trial.dropout=0.05]" in err[0]
        and "trial.alpha == 2" in err[0]
    )
    assert not out.exists()


def test_cli_sweep_writes_points_figure_and_manifest(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(
        [
            "--quiet",
            "sweep",
            str(EXAMPLE),
            "--set",
            "sweep.n_per_arm=60",
            "--grid",
            "trial.control_lbr=0.6,0.65",
            "--grid",
            "trial.analysis=chi2",
            "--grid",
            "trial.dropout=0.1",
            "--replicates",
            "1024",
            "--workers",
            "1",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "points.csv", "sweep.png"]
    table = pd.read_csv(out / "points.csv")
    assert list(table["trial.control_lbr"]) == [0.6, 0.65]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "sweep" and manifest["points"] == 2
    assert "trial.control_lbr=0.6" in capsys.readouterr().out
    assert (
        main(["--quiet", "sweep", str(EXAMPLE), "--grid", "trial.control_lbr=0.6", "--out", str(out)]) == 2
    ), "an existing points.csv needs --resume or --force"


@pytest.mark.slow
@pytest.mark.dask
def test_dask_cluster_gives_the_local_numbers(tmp_path, cluster, local_table):
    res = run_sweep(small_plan(), tmp_path, scheduler=cluster.scheduler_address)
    assert res.backend.startswith("dask")
    pd.testing.assert_frame_equal(numbers(res.table), numbers(local_table))


@pytest.mark.dask
def test_dask_sweep_survives_a_killed_worker(tmp_path, cluster, local_table):
    distributed = pytest.importorskip("distributed")
    killed: list[int] = []
    with distributed.Client(cluster.scheduler_address) as client:
        pids = client.run(os.getpid)

        def kill_one(_result):
            if killed:
                return
            busy = [w for w, keys in client.processing().items() if keys] or list(pids)
            killed.append(pids[busy[0]])
            os.kill(pids[busy[0]], signal.SIGKILL)  # the nanny starts a new worker

        # One client in the process (two sync clients would fight over the event loop).
        res = run_sweep(small_plan(), tmp_path, client=client, on_result=kill_one)
        client.wait_for_workers(2, timeout=60)
        assert killed and killed[0] not in client.run(os.getpid).values()
    pd.testing.assert_frame_equal(numbers(res.table), numbers(local_table))


# ----------------------------------------------------------------------------- --force is atomic
def _tiny(seed: int):
    return plan_sweep(
        EXAMPLE,
        ["sweep.n_per_arm=60", "sweep.replicates=1024", f"scenario.seed={seed}"],
        {"trial.control_lbr": [0.6, 0.65], "trial.analysis": ["chi2"], "trial.dropout": [0.1]},
    )


def test_an_interrupted_sweep_force_leaves_the_old_folder_untouched(tmp_path, capsys):
    out = tmp_path / "sweep"
    run_sweep(_tiny(1), out, workers=1)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupt(done, total):
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before, "old folder untouched meanwhile"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(_tiny(9), out, workers=1, force=True, on_point=interrupt)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"], "its partial points are discarded"
    res = run_sweep(_tiny(9), out, workers=1, force=True)
    assert res.computed == 2 and res.out == out
    assert (out / "points.csv").read_bytes() != before["points.csv"]
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["complete"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"]


def test_sweep_over_prior_keys_writes_each_points_assurance(tmp_path):
    """A [prior] scenario's points carry their assurance (computed with the point's preparation,
    on the sweep's executor): the number rplsim.assurance gives for that point's scenario."""
    from rplsim import assurance

    body = (
        'extends = "assurance.toml"\n[scenario]\nname = "sw_prior"\n'
        '[sweep]\nreplicates = 1024\nn_per_arm = 40\ngrid = { "prior.relative_risk_cap" = [0.8, 0.99] }\n'
    )
    src = tmp_path / "scenarios"
    src.mkdir()
    root = Path(__file__).resolve().parents[2] / "scenarios"
    for name in ("paper.toml", "assurance.toml"):
        (src / name).write_text((root / name).read_text(encoding="utf-8"), encoding="utf-8")
    (src / "sw.toml").write_text(body, encoding="utf-8")
    plan = plan_sweep(src / "sw.toml")
    res = run_sweep(plan, tmp_path / "out", workers=1)
    table = res.table.set_index("prior.relative_risk_cap")
    for point in plan.points:
        cap = point.values["prior.relative_risk_cap"]
        ref = assurance(point.scenario, 40)
        assert table.loc[cap, "assurance"] == pytest.approx(ref.assurance, rel=1e-9)
        assert table.loc[cap, "assurance_method"] == "exact"
    assert table.loc[0.8, "assurance"] < table.loc[0.99, "assurance"]  # a lower cap, less benefit
