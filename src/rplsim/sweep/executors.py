"""Where sweep tasks run: this process, a local process pool, or a Dask cluster.

Each executor takes an iterable of :class:`Task` and yields ``(task, result)`` as tasks finish,
keeping a bounded window in flight so memory stays flat. Nothing here schedules, retries or
moves data itself: ``concurrent.futures`` and ``distributed`` do.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, CancelledError, wait
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

from rplsim._core.limits import DASK_NO_WORKERS_SECONDS, MAX_WORKERS
from rplsim.exceptions import ScenarioError, SweepStopped
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
    """``distributed.Client.submit`` + ``wait``; Dask reschedules lost tasks.

    Two faults stop the sweep with one :class:`~rplsim.exceptions.SweepStopped` line naming
    ``--resume`` (the finished points are already in points.csv), instead of waiting forever or
    printing Dask's tracebacks: no worker in the cluster for ``no_workers_timeout`` seconds, and
    the scheduler lost (its connection closed).

    Parameters
    ----------
    scheduler : str or None
        The scheduler's address (``tcp://host:8786``).
    client : distributed.Client, optional
        An existing client (not closed here); overrides ``scheduler``.
    no_workers_timeout : float
        Seconds without any worker before the sweep stops (default
        :data:`~rplsim._core.limits.DASK_NO_WORKERS_SECONDS`).
    """

    def __init__(
        self,
        scheduler: str | None,
        client: Any = None,
        *,
        no_workers_timeout: float = DASK_NO_WORKERS_SECONDS,
    ) -> None:
        try:  # deferred: distributed is an optional dependency (the dask extra)
            import distributed
        except ImportError:
            raise ScenarioError(
                "--scheduler needs the dask extra: pip install -e '.[dask]' "
                "(on this machine and every worker)."
            ) from None
        self._distributed = distributed
        self.no_workers_timeout = float(no_workers_timeout)
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
        self.address = str(client.scheduler.address)
        self.label = f"dask: {self.address}"
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
        with _quiet_distributed():
            yield from self._run(tasks)

    def _run(self, tasks: Iterable[Task]) -> Iterator[tuple[Task, Any]]:
        it = iter(tasks)
        pending: dict[Any, Task] = {}

        def submit(t: Task) -> None:
            # retries: a task that raised is tried again; a task whose worker died is
            # rescheduled by the scheduler anyway. Explicit keys make the dashboard readable.
            pending[self.client.submit(t.fn, *t.args, **t.kwargs, key=t.name, retries=2)] = t

        try:
            window = max(4, 2 * sum(self._nthreads().values()))
            for t in itertools.islice(it, window):
                submit(t)
            poll = min(1.0, max(0.05, self.no_workers_timeout / 4))
            alone_since: float | None = None
            while pending:
                try:
                    done, _ = self._distributed.wait(  # type: ignore[no-untyped-call]
                        list(pending), timeout=poll, return_when="FIRST_COMPLETED"
                    )
                except TimeoutError:
                    done = set()
                if not done:
                    # Nothing finished for a while: are there workers at all?
                    if self._nthreads():
                        alone_since = None
                    elif alone_since is None:
                        alone_since = time.monotonic()
                    elif time.monotonic() - alone_since >= self.no_workers_timeout:
                        raise SweepStopped(
                            f"no Dask worker for {self.no_workers_timeout:g} s at {self.address}; the "
                            "finished points are in points.csv: start workers and run again with --resume"
                        )
                    continue
                alone_since = None
                for fut in done:
                    t = pending.pop(fut)
                    if fut.status == "cancelled" or self.client.status not in ("running", "newly-created"):
                        raise self._lost(None)
                    res = fut.result()
                    fut.release()
                    nxt = next(it, None)
                    if nxt is not None:
                        submit(nxt)
                    yield t, res
        except SweepStopped:
            self._cancel(pending)
            raise
        except (CancelledError, OSError, TimeoutError) as exc:  # CommClosedError is an OSError
            self._cancel(pending)
            raise self._lost(exc) from None

    def _nthreads(self) -> dict[str, int]:
        """Threads per worker, asked of the scheduler (an OSError if it is gone)."""
        if self.client.status not in ("running", "newly-created"):
            raise self._lost(None)
        return dict(self.client.nthreads())

    def _lost(self, exc: BaseException | None) -> SweepStopped:
        why = f" ({type(exc).__name__})" if exc is not None and not isinstance(exc, CancelledError) else ""
        return SweepStopped(
            f"lost the Dask scheduler at {self.address}{why}; the finished points are in "
            "points.csv: start the scheduler and workers and run again with --resume"
        )

    def _cancel(self, pending: dict[Any, Task]) -> None:
        """Give back the unfinished tasks (best effort: the scheduler may be gone)."""
        if pending and not self.own and self.client.status == "running":
            with _quiet_distributed(), contextlib.suppress(Exception):
                self.client.cancel(list(pending), force=True)
        pending.clear()

    def close(self) -> None:
        if self.own:
            with _quiet_distributed(), contextlib.suppress(Exception):
                self.client.close(timeout=5)


@contextlib.contextmanager
def _quiet_distributed() -> Iterator[None]:
    """Silence distributed's own logging of a lost connection (~45 lines of tracebacks):
    the executor reports a fault in one line."""
    # distributed configures some of its loggers' levels itself (distributed.client: warning):
    # set each one's, not only the parent's.
    names = [
        n for n in list(logging.Logger.manager.loggerDict) if n.split(".")[0] in ("distributed", "tornado")
    ]
    loggers = [logging.getLogger(n) for n in {"distributed", "tornado", *names}]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _versions() -> tuple[str, str]:
    return (metadata.version("rplsim"), np.__version__)
