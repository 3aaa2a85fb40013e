"""The local process pools: capped to the useful number, and dying with their parent."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
import warnings
from pathlib import Path

import pytest

from rplsim._core.limits import MAX_WORKERS
from rplsim.trial.pool import cap_workers, process_pool


def test_cap_workers_keeps_a_useful_request_and_caps_the_rest_with_one_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when nothing is capped
        assert cap_workers(4, 12) == 4
        assert cap_workers(12, 12) == 12
    with pytest.warns(
        UserWarning, match=r"^--workers 1000: only 12 tasks can run at once; using 12 processes$"
    ):
        assert cap_workers(1000, 12) == 12
    with pytest.warns(UserWarning, match=rf"at most {MAX_WORKERS} local processes are started"):
        assert cap_workers(MAX_WORKERS + 1, 10**6) == MAX_WORKERS
    with pytest.warns(UserWarning, match="only 1 task can run at once; using 1 process$"):
        assert cap_workers(2, 1) == 1


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _pool_owner(conn) -> None:  # runs in a forked child: a pool whose workers are busy
    pool = process_pool(2)
    futures = [pool.submit(time.sleep, 60) for _ in range(2)]
    while len(pool._processes) < 2:  # the workers are started by the first submits
        time.sleep(0.01)
    conn.send(sorted(pool._processes))
    time.sleep(60)
    del futures


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG is Linux's")
def test_pool_workers_die_when_their_parent_is_killed() -> None:
    """Issue 20: after SIGKILL of a --workers 2 run its pool workers stayed alive, reparented.

    The parent here is a forked copy of this process (no interpreter start-up to pay), which
    starts the pool exactly as simulate_power and the local sweep executor do.
    """
    ctx = multiprocessing.get_context("fork")
    here, there = ctx.Pipe()
    owner = ctx.Process(target=_pool_owner, args=(there,))
    owner.start()
    try:
        assert here.poll(20), "the pool did not start"
        workers = here.recv()
        assert len(workers) == 2 and all(_alive(p) for p in workers)
        os.kill(owner.pid, signal.SIGKILL)
        owner.join(5)
        deadline = time.monotonic() + 5
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not any(_alive(p) for p in workers), f"workers {workers} outlived their parent"
    finally:
        owner.kill()
        for p in workers if "workers" in locals() else []:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
