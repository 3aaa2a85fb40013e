"""Where sweep tasks run: this process, a local process pool, or a Dask cluster.

Each executor takes an iterable of :class:`Task` and yields ``(task, result)`` as tasks finish,
keeping a bounded window in flight so memory stays flat. Nothing here schedules, retries or
moves data itself: ``concurrent.futures`` and ``distributed`` do.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

from rplsim._core.limits import MAX_WORKERS
from rplsim.exceptions import ScenarioError
from rplsim.trial.pool import _worker_init, cap_workers, process_pool

__all__ = ["DaskExecutor", "LocalExecutor", "Task"]


@dataclass
class Task:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    point: Any  # the sweep point the task belongs to
    name: str


_quiet_worker = _worker_init  # the old name of the pool workers' initializer


class LocalExecutor:
    """In-process (1 worker) or a process pool (:func:`rplsim.trial.pool.process_pool`).

    Parameters
    ----------
    workers : int or None
        Processes asked for; None: one per CPU (capped without a warning).
    tasks : int, optional
        How many tasks can run at once (a sweep's points × batches): no more processes are
        started (one warning says so), nor more than :data:`~rplsim._core.limits.MAX_WORKERS`.
    """

    def __init__(self, workers: int | None, tasks: int | None = None) -> None:
        useful = MAX_WORKERS if tasks is None else tasks
        if workers is None:
            self.workers = max(1, min(os.cpu_count() or 1, useful, MAX_WORKERS))
        else:
            self.workers = cap_workers(workers, useful)
        self.pool = process_pool(self.workers) if self.workers > 1 else None
        self.label = f"local processes: {self.workers}"

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, Any]]:
        if self.pool is None:
            for t in tasks:
                yield t, t.fn(*t.args, **t.kwargs)
            return
        it, pending = iter(tasks), {}
        # A bounded window: memory stays flat and points finish (and are written) in grid order
        # roughly, instead of all points' first batches running before any point's last.
        for t in itertools.islice(it, 2 * self.workers):
            pending[self.pool.submit(t.fn, *t.args, **t.kwargs)] = t
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                t = pending.pop(f)
                yield t, f.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending[self.pool.submit(nxt.fn, *nxt.args, **nxt.kwargs)] = nxt

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """``distributed.Client.submit`` + ``as_completed``; Dask reschedules lost tasks."""

    def __init__(self, scheduler: str | None, client: Any = None) -> None:
        try:  # deferred: distributed is an optional dependency (the dask extra)
            import distributed
        except ImportError:
            raise ScenarioError(
                "--scheduler needs the dask extra: pip install -e '.[dask]' "
                "(on this machine and every worker)."
            ) from None
        self._distributed = distributed
        self.own = client is None
        if client is None:
            try:
                client = distributed.Client(scheduler, timeout="20s")  # type: ignore[no-untyped-call]
            except (OSError, TimeoutError, ValueError) as exc:
                raise ScenarioError(
                    f"--scheduler {scheduler}: cannot connect ({exc}); start one "
                    "with `dask scheduler` (see docs/sweeps.md)."
                ) from None
        self.client = client
        self.label = f"dask: {client.scheduler.address}"
        versions = client.run(_versions)
        mine = _versions()
        if any(v != mine for v in versions.values()):
            warnings.warn(
                f"Dask workers run other versions than this machine ({mine} here, "
                f"{sorted(set(map(str, versions.values())))} there): the numbers may "
                "differ from a local run.",
                stacklevel=2,
            )

    def run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, Any]]:
        it = iter(tasks)
        window = max(4, 2 * sum(self.client.nthreads().values()))
        owner: dict[str, Task] = {}

        def submit(t: Task) -> Any:
            # retries: a task that raised is tried again; a task whose worker died is
            # rescheduled by the scheduler anyway. Explicit keys make the dashboard readable.
            fut = self.client.submit(t.fn, *t.args, **t.kwargs, key=t.name, retries=2)
            owner[fut.key] = t
            return fut

        ac = self._distributed.as_completed(  # type: ignore[no-untyped-call]
            [submit(t) for t in itertools.islice(it, window)]
        )
        for fut in ac:
            t = owner.pop(fut.key)
            res = fut.result()
            fut.release()
            nxt = next(it, None)
            if nxt is not None:
                ac.add(submit(nxt))  # type: ignore[no-untyped-call]
            yield t, res

    def close(self) -> None:
        if self.own:
            self.client.close()


def _versions() -> tuple[str, str]:
    return (metadata.version("rplsim"), np.__version__)
