"""rplsim sweep: a grid of scenarios, the same numbers on any backend, resume, failing early."""

from __future__ import annotations

import json
import os
import signal

import pandas as pd
import pytest

from rplsim import ResultsExistError, ScenarioError
from rplsim import sweep as sweep_mod
from rplsim.app.cli import main
from rplsim.trial.power import simulate_power
from rplsim.scenario.params import SWEEP_BLOCK
from rplsim.sweep.grid import parse_grid_args, plan_sweep, point_entropy
from rplsim.sweep.run import run_sweep
from rplsim.trial.simulation import REPLICATE_BLOCK

from .conftest import SCENARIOS

EXAMPLE = SCENARIOS / "sweep_example.toml"
# The numbers that must not depend on workers, backend or batch (runtime columns excluded).
NUMBERS = ["point", "n_per_arm", "n_total", "replicates", "power", "power_ci_low",
           "power_ci_high", "type1_error", "type1_ci_low", "type1_ci_high", "expected_n_h1",
           "expected_n_h0", "stop_probability", "analytic_power", "digest"]
# 4 points; 2,500 replicates = 2 whole blocks and a partial one, so batching is exercised.
SMALL = {"trial.control_lbr": [0.6, 0.65], "trial.analysis": ["chi2", "fisher"],
         "trial.dropout": [0.1]}
SMALL_SET = ["sweep.n_per_arm=60", "sweep.replicates=2500", "sweep.batch=1024"]


def small_plan(extra_set: tuple[str, ...] = (), looks: int = 1):
    return plan_sweep(EXAMPLE, [*SMALL_SET, f"trial.looks={looks}", *extra_set], SMALL)


def numbers(table: pd.DataFrame) -> pd.DataFrame:
    return table[NUMBERS].reset_index(drop=True)


@pytest.fixture(scope="module")
def local_table(tmp_path_factory):
    """The reference: one process, batches of one block."""
    res = run_sweep(small_plan(), tmp_path_factory.mktemp("ref"), workers=1)
    return res.table


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
    assert parse_grid_args(["trial.control_lbr=0.55,0.6", "trial.analysis=chi2,fisher",
                            'trial.boundary="pocock"', "trial.looks=1, 3"]) == {
        "trial.control_lbr": [0.55, 0.6], "trial.analysis": ["chi2", "fisher"],
        "trial.boundary": ["pocock"], "trial.looks": [1, 3]}
    with pytest.raises(ScenarioError, match="KEY=V1,V2"):
        parse_grid_args(["trial.alpha"])


def test_a_point_key_and_seed_do_not_depend_on_the_grid_around_it():
    a = plan_sweep(EXAMPLE, SMALL_SET, {"trial.analysis": ["fisher", "chi2"],
                                        "trial.control_lbr": [0.65, 0.60], "trial.dropout": [0.1]})
    b = plan_sweep(EXAMPLE, SMALL_SET, {"trial.control_lbr": [0.6], "trial.analysis": ["chi2"],
                                        "trial.dropout": [0.10]})
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
        f"{EXAMPLE} [point trial.alpha=2;trial.analysis=chi2;trial.control_lbr=0.6;"
        "trial.dropout=0.1]: trial.alpha == 2.0, must be in (0, 0.5]. (and 3 more points)"]
    with pytest.raises(ScenarioError, match="is not a known key"):
        plan_sweep(EXAMPLE, SMALL_SET, {"trial.alpah": [0.05]})


# ----------------------------------------------------------------------------- same numbers
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
    plan = plan_sweep(EXAMPLE, ["sweep.n_per_arm=140", "sweep.replicates=1024",
                                "trial.looks=3"], {"trial.control_lbr": [0.6]})
    table = run_sweep(plan, tmp_path, workers=1).table
    row = table.iloc[0]
    assert row["expected_n_h1"] < row["n_total"]
    stops = [float(x) for x in row["stop_probability"].split(";")]
    assert len(stops) == 3 and sum(stops) == pytest.approx(row["power"], abs=2e-3)


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
    res = run_sweep(small_plan(), out, workers=1, resume=True,
                    on_result=lambda r: seen.append(r["point"]))
    done_before = {ln.split(",", 1)[0] for ln in kept[1:]}
    assert res.resumed == 2 and res.computed == 2
    assert res.tasks == 2 * (1 + 3), "only the two missing points were submitted"
    assert not done_before & set(seen)
    pd.testing.assert_frame_equal(numbers(res.table), numbers(local_table))
    assert (res.table.set_index("point").loc[sorted(done_before), "seconds"] == 999.5).all()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["resumed"] == 2 and manifest["points"] == 4


def test_an_existing_points_csv_needs_resume_or_force(tmp_path):
    plan = plan_sweep(EXAMPLE, ["sweep.n_per_arm=60", "sweep.replicates=1024"],
                      {"trial.control_lbr": [0.65], "trial.analysis": ["chi2"],
                       "trial.dropout": [0.1]})
    run_sweep(plan, tmp_path, workers=1)
    with pytest.raises(ResultsExistError, match="--resume"):
        run_sweep(plan, tmp_path, workers=1)
    assert run_sweep(plan, tmp_path, workers=1, resume=True).tasks == 0
    other = plan_sweep(EXAMPLE, ["sweep.n_per_arm=60", "sweep.replicates=1024",
                                 "scenario.seed=7"], {"trial.control_lbr": [0.65],
                                                      "trial.analysis": ["chi2"],
                                                      "trial.dropout": [0.1]})
    with pytest.raises(ScenarioError, match="another scenario, seed"):
        run_sweep(other, tmp_path, workers=1, resume=True)
    assert run_sweep(other, tmp_path, workers=1, force=True).computed == 1


# ----------------------------------------------------------------------------- the CLI
def test_a_bad_grid_point_fails_before_any_work(tmp_path, monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise AssertionError("no task may run when a point is invalid")

    monkeypatch.setattr(sweep_mod, "prepare_point", boom)
    monkeypatch.setattr(sweep_mod, "run_batch", boom)
    out = tmp_path / "out"
    rc = main(["--quiet", "sweep", str(EXAMPLE), "--grid", "trial.alpha=0.05,2",
               "--workers", "1", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1, err
    assert "[point trial.alpha=2;trial.analysis=chi2;trial.control_lbr=0.55;trial.dropout=0.05]" \
        in err[0] and "trial.alpha == 2" in err[0]
    assert not out.exists()


def test_cli_sweep_writes_points_figure_and_manifest(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["--quiet", "sweep", str(EXAMPLE), "--set", "sweep.n_per_arm=60",
               "--grid", "trial.control_lbr=0.6,0.65", "--grid", "trial.analysis=chi2",
               "--grid", "trial.dropout=0.1", "--replicates", "1024", "--workers", "1",
               "--out", str(out)])
    assert rc == 0
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "points.csv", "sweep.png"]
    table = pd.read_csv(out / "points.csv")
    assert list(table["trial.control_lbr"]) == [0.6, 0.65]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "sweep" and manifest["points"] == 2
    assert "trial.control_lbr=0.6" in capsys.readouterr().out
    assert main(["--quiet", "sweep", str(EXAMPLE), "--grid", "trial.control_lbr=0.6",
                 "--out", str(out)]) == 2, "an existing points.csv needs --resume or --force"


# ----------------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as c:
        yield c


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


def test_a_sweep_never_writes_into_a_run_folder(tmp_path):
    """`rplsim run` and `rplsim sweep` default to results/<name>/: the sweep must refuse a
    folder that holds a run's results (its manifest would be replaced) even with --force."""
    from rplsim.app.cli import main

    out = tmp_path / "paper"
    out.mkdir()
    (out / "manifest.json").write_text("{}", encoding="utf-8")
    rc = main(["sweep", str(SCENARIOS / "paper.toml"), "--out", str(out), "--force",
               "--replicates", "1024", "--workers", "1", "--quiet"])
    assert rc == 2
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
