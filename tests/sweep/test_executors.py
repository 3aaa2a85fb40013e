"""The executors: local pools capped to the useful number; Dask faults stop in one line."""

from __future__ import annotations

import logging
import time

import pytest

from rplsim.exceptions import RplsimError, SweepStopped
from rplsim.sweep.executors import DaskExecutor, LocalExecutor, Task
from rplsim.sweep.run import run_sweep

from .conftest import small_plan


def _tasks(n: int, seconds: float = 0.0) -> list[Task]:
    return [Task(time.sleep, (seconds,), {}, i, f"rplsim-test-sleep-{i}") for i in range(n)]


# ----------------------------------------------------------------------------- local
def test_local_executor_starts_no_more_processes_than_tasks_can_use() -> None:
    with pytest.warns(
        UserWarning, match=r"^--workers 1000: only 12 tasks can run at once; using 12 processes$"
    ):
        ex = LocalExecutor(1000, tasks=12)
    try:
        assert ex.workers == 12 and ex.label == "local processes: 12"
        assert ex.pool is not None and ex.pool._max_workers == 12
    finally:
        ex.close()
    one = LocalExecutor(None, tasks=1)  # the default (all CPUs) is capped without a word
    assert one.workers == 1 and one.pool is None
    assert [p for p, _ in ((t.point, r) for t, r in one.run(_tasks(3)))] == [0, 1, 2]


# ----------------------------------------------------------------------------- Dask
distributed = pytest.importorskip("distributed")


@pytest.fixture
def in_process_cluster():
    """A scheduler and one worker thread in this process (starts in ~0.2 s)."""
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    )
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.mark.dask
def test_a_cluster_without_workers_stops_after_the_timeout_naming_resume() -> None:
    with (
        distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        ex = DaskExecutor(None, client, no_workers_timeout=0.5)
        t0 = time.monotonic()
        with pytest.raises(SweepStopped) as err:
            list(ex.run(_tasks(3)))
        elapsed = time.monotonic() - t0
    msg = str(err.value)
    assert "\n" not in msg and isinstance(err.value, RplsimError)
    assert msg.startswith(f"no Dask worker for 0.5 s at {cluster.scheduler_address}; ")
    assert msg.endswith("start workers and run again with --resume")
    assert 0.5 <= elapsed < 5


@pytest.mark.dask
def test_a_lost_scheduler_stops_in_one_line_without_dask_logging(in_process_cluster, caplog) -> None:
    """Issue 20: the scheduler's death printed ~45 lines of Dask tracebacks, no --resume."""
    ex = DaskExecutor(in_process_cluster.scheduler_address)
    got = []
    t0 = time.monotonic()
    with caplog.at_level(logging.DEBUG, logger="distributed"), pytest.raises(SweepStopped) as err:
        for t, _ in ex.run(_tasks(6, 0.1)):
            got.append(t.point)
            if len(got) == 1:
                in_process_cluster.close()  # the scheduler and its worker go away mid-sweep
    ex.close()
    assert got == [0]
    assert time.monotonic() - t0 < 10
    msg = str(err.value)
    assert msg.startswith(f"lost the Dask scheduler at {in_process_cluster.scheduler_address}")
    assert msg.endswith("run again with --resume") and "\n" not in msg
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "distributed logged the loss"
    assert logging.getLogger("distributed").level < logging.CRITICAL, "log level restored"


@pytest.mark.dask
def test_a_sweep_that_loses_its_scheduler_keeps_its_finished_points(tmp_path, in_process_cluster) -> None:
    plan = small_plan()
    seen: list[str] = []

    def lose_the_scheduler_after_two_points(result):
        seen.append(result["point"])
        if len(set(seen)) > 2:
            in_process_cluster.close()

    with pytest.raises(SweepStopped, match=r"--resume$"):
        run_sweep(
            plan,
            tmp_path,
            scheduler=in_process_cluster.scheduler_address,
            batch=4096,  # one batch per point: a point is done when its batch is
            on_result=lose_the_scheduler_after_two_points,
        )
    rows = (tmp_path / "points.csv").read_text(encoding="utf-8").splitlines()
    assert 1 + 2 <= len(rows) < 1 + len(plan.points), rows
