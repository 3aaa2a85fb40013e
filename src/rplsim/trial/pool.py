"""Local worker processes: never more than can be used, and none outliving their parent.

Both process pools of rplsim (``simulate_power(workers=N)`` and the local sweep executor) are
made here, so they follow the same two rules:

* **capped**: a pool has at most as many processes as tasks can run at once (and at most
  :data:`~rplsim._core.limits.MAX_WORKERS`); asking for more gives one warning
  (``--workers 1000: only 12 tasks can run at once; using 12 processes``), not 1,000 processes;
* **tied to the parent**: a worker dies with the process that started it, even when that one is
  killed with SIGKILL (which no clean-up code sees). On Linux the kernel does it
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); elsewhere a daemon thread of each worker watches its
  parent and exits when it is gone.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from rplsim._core.limits import MAX_WORKERS
from rplsim.cohort.generate import set_default_threads

__all__ = ["cap_workers", "die_with_parent", "map_block_chunks", "process_alive", "process_pool"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_WATCH_SECONDS = 0.5  # how often a worker that watches its parent looks for it


def cap_workers(requested: int, useful: int, what: tuple[str, str] = ("task", "tasks")) -> int:
    """The number of processes to start: ``requested``, but no more than are useful.

    Parameters
    ----------
    requested : int
        Processes asked for (``--workers``).
    useful : int
        Tasks that can run at once (a sweep's points × batches; ``simulate_power``'s blocks).
    what : (str, str)
        What ``useful`` counts (singular, plural), for the warning.

    Returns
    -------
    int
        ``min(requested, useful, MAX_WORKERS)``, at least 1. When it is below ``requested``,
        one :class:`UserWarning` says so.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     n = cap_workers(1000, 12)
    >>> n, str(w[0].message)
    (12, '--workers 1000: only 12 tasks can run at once; using 12 processes')
    """
    n = max(1, min(requested, useful, MAX_WORKERS))
    if n < requested:
        why = (
            f"only {useful:,} {what[useful != 1]} can run at once"
            if useful <= MAX_WORKERS
            else f"at most {MAX_WORKERS} local processes are started"
        )
        warnings.warn(f"--workers {requested}: {why}; using {n} process{'es' if n > 1 else ''}", stacklevel=3)
    return n


def die_with_parent(parent: int) -> None:
    """Make this process end when process ``parent`` does (call it first thing in a worker).

    On Linux the kernel sends SIGKILL when the parent exits; the parent may have died before
    the request was made, so it is looked for after it (a dead parent's children are adopted
    by another process). Elsewhere a daemon thread polls ``os.getppid()`` (on POSIX; Windows
    does not reparent, so there the pool's own pipes end an idle worker).
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
        if armed:
            if os.getppid() != parent:
                # The race: the parent died before prctl. Or a fork server is the direct
                # parent, and it outlives ``parent`` while any of its children lives (each
                # holds its alive pipe), so the signal would never come: watch ``parent``.
                if not process_alive(parent):
                    os._exit(1)
                threading.Thread(
                    target=_watch_process, args=(parent,), name="rplsim-parent-watch", daemon=True
                ).start()
            return
    if os.name == "posix":
        if not process_alive(parent):
            os._exit(1)
        threading.Thread(
            target=_watch_parent, args=(os.getppid(),), name="rplsim-parent-watch", daemon=True
        ).start()


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs: it answers signal 0 (POSIX) and is not a zombie (a killed
    process its own parent has not reaped yet still answers; Linux's /proc tells it apart).

    Examples
    --------
    >>> process_alive(os.getpid())
    True
    """
    try:
        os.kill(pid, 0)  # signal 0 checks, it sends nothing
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:  # no /proc (not Linux), or it ended in between
        return True


def _watch_process(pid: int) -> None:
    while process_alive(pid):
        time.sleep(_WATCH_SECONDS)
    os._exit(1)  # no clean-up: the process that would collect the results is gone


def _watch_parent(ppid: int) -> None:
    while os.getppid() == ppid:
        time.sleep(_WATCH_SECONDS)
    os._exit(1)  # no clean-up: the parent that would collect the results is gone


def _worker_init(parent: int) -> None:
    die_with_parent(parent)
    set_default_threads(1)  # the pool has a process a core already
    # Ctrl-C reaches the whole process group: let the parent shut the pool down instead of
    # every worker printing a traceback. (No calibration warning to silence: an unreachable
    # moment is a row of the calibration table, not a warning.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes that ignore Ctrl-C and die with this process.

    ``workers`` is used as given: cap it first with :func:`cap_workers`.
    """
    return ProcessPoolExecutor(max_workers=workers, initializer=_worker_init, initargs=(os.getpid(),))


def map_block_chunks(
    fn: Callable[..., dict[str, np.ndarray]],
    head: tuple[Any, ...],
    tail: tuple[Any, ...],
    blocks: list[int],
    workers: int,
    block: int,
) -> dict[str, np.ndarray]:
    """``fn(*head, chunk, *tail)`` in ``workers`` processes, block ``blocks[i]`` in chunk
    ``i % workers``; each result key's arrays (``block`` rows a block) put back in block order, so
    the result equals ``fn(*head, blocks, *tail)`` in one process."""
    chunks = [blocks[i::workers] for i in range(workers)]
    with process_pool(workers) as ex:
        parts = list(ex.map(fn, *zip(*[(*head, c, *tail) for c in chunks], strict=True)))
    res = {}
    for key in parts[0]:
        per_block: dict[int, np.ndarray] = {}
        for c, part in zip(chunks, parts, strict=True):
            for i, b in enumerate(c):
                per_block[b] = part[key][i * block : (i + 1) * block]
        res[key] = np.concatenate([per_block[b] for b in blocks])
    return res
