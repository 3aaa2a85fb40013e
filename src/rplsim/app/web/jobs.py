"""Background jobs of the page: Simulate (the simulated power, and assurance) and the report.

Each job runs in its own process, forked from a clean server process (multiprocessing's
``forkserver``, with rplsim imported once), so that a job never slows the page's live answers
on the server's GIL and a cancel is immediate: the process is terminated, whatever library
call it is in. The job reports its progress through a queue; the page polls or streams it.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

__all__ = ["Job", "JobManager"]

KINDS = ("simulate", "report")
"""The jobs a page can start."""

KEEP_FINISHED = 50
"""Finished jobs kept (their status and report) before the oldest are forgotten."""

_PRELOAD = ["rplsim.planning.stages", "rplsim.outputs.write", "rplsim.scenario"]

_CONTEXT: Any = None
_CONTEXT_LOCK = threading.Lock()


def _context() -> Any:
    """The forkserver context, created once (its server imports rplsim once for every job)."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            _CONTEXT = ctx
        return _CONTEXT


def _simulate(path: str, items: list[str], replicates: int | None, queue: Any) -> dict[str, Any]:
    from rplsim.planning.stages import size_trial
    from rplsim.scenario import load_scenario

    sc = load_scenario(path, items)
    reps = replicates or sc.require_trial().replicates
    queue.put(("progress", 0, reps, "sample-size search" if sc.trial else ""))
    started = time.perf_counter()
    st = size_trial(
        sc,
        replicates=reps,
        sensitivity=False,
        assumptions=False,
        # the simulated search confirms with more trials than asked: the bar's end grows with it
        progress=lambda done: queue.put(("progress", done, max(done, reps), "simulating")),
        say=lambda msg: queue.put(("say", msg.strip())),
    )
    p = st.power
    out: dict[str, Any] = {
        "n_per_arm": p.n_control,
        "n_randomised": p.n_total,
        "searched": st.searched,
        "replicates": p.replicates,
        "power": p.power,
        "power_ci": list(p.power_ci),
        "type1_error": p.type1_error,
        "exact_power": st.exact.power if st.exact is not None else None,
        "simulation_seconds": p.seconds,
        "seconds": time.perf_counter() - started,
        "assurance": [],
    }
    if st.assurance is not None:
        tab = st.assurance.table()
        out["assurance"] = [
            {k: (v if not isinstance(v, float) or v == v else None) for k, v in r.items()}
            for r in tab.to_dict("records")
        ]
    if st.calendar is not None:
        out["years_to_decision"] = float(st.calendar.trials["duration_years"].median())
    return out


def _report(
    path: str, items: list[str], replicates: int | None, queue: Any, folder: str, formats: tuple[str, ...]
) -> dict[str, Any]:
    from rplsim.outputs.write import write_run
    from rplsim.planning.stages import run_stages
    from rplsim.scenario import load_scenario

    sc = load_scenario(path, items)
    result = run_stages(sc, replicates=replicates, say=lambda msg: queue.put(("say", msg.strip())))
    out = Path(folder) / "run"
    # the argv of the `rplsim run` that writes this report (one element per argument)
    command = ["rplsim", "run", path, *(a for i in items for a in ("--set", i))]
    command += ["--replicates", str(replicates)] if replicates else []
    command += [] if formats == ("png", "svg") else ["--format", ",".join(formats)]
    write_run(result, out, command=command, formats=formats)
    return {
        "report": str(out / "report.html"),
        "n_per_arm": result.trial.power.n_control if result.trial else None,
    }


def _worker(
    kind: str,
    path: str,
    items: list[str],
    replicates: int | None,
    queue: Any,
    folder: str,
    formats: tuple[str, ...],
    parent: int,
) -> None:
    """The job's process: run it, and put ``("done", result)`` or ``("error", line)``. It ends
    with the server (``parent``), however the server ends: a job never outlives its page's
    server (:func:`rplsim.trial.pool.die_with_parent`)."""
    from rplsim.trial.pool import die_with_parent

    die_with_parent(parent)  # under the fork server too (it watches the server's pid)
    try:
        if kind == "simulate":
            result = _simulate(path, items, replicates, queue)
        else:
            result = _report(path, items, replicates, queue, folder, formats)
        queue.put(("done", result))
    except Exception as exc:  # the page shows the line; the traceback goes to the server's log
        problems = getattr(exc, "problems", None)
        queue.put(("error", problems[0] if problems else f"{type(exc).__name__}: {exc}"))
        traceback.print_exc()


@dataclass
class Job:
    """One background job and what the page sees of it (:meth:`status`)."""

    id: str
    kind: str
    process: Any
    queue: Any
    folder: str
    state: str = "running"
    done: int = 0
    total: int = 0
    message: str = ""
    result: dict[str, Any] | None = None
    error: str = ""
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    def status(self) -> dict[str, Any]:
        """The job as JSON: ``state`` is running, done, failed or cancelled."""
        end = self.finished if self.finished is not None else time.monotonic()
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "result": self.result,
            "error": self.error,
            "seconds": end - self.started,
            "pid": self.process.pid,
        }


class JobManager:
    """Starts, follows and cancels the jobs of one server (at most ``limit`` running at once).

    Examples
    --------
    >>> jm = JobManager(limit=1)
    >>> jm.get("nope") is None
    True
    """

    def __init__(self, limit: int = 2) -> None:
        self.limit = limit
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def warm(self) -> None:
        """Start the fork server now (it imports rplsim once), so the first Simulate is quick."""
        threading.Thread(
            target=lambda: _context().Process(target=time.sleep, args=(0,)).start(), daemon=True
        ).start()

    def start(
        self,
        kind: str,
        path: str,
        items: list[str],
        replicates: int | None,
        formats: tuple[str, ...] = ("png", "svg"),
    ) -> Job:
        """Start a job (``formats``: the report's figures, as ``rplsim run --format``); a
        RuntimeError when ``limit`` jobs are running already."""
        with self._lock:
            running = sum(j.state == "running" for j in self._jobs.values())
            if running >= self.limit:
                raise RuntimeError(f"{running} jobs are running, at most {self.limit}: cancel one first.")
            self._prune()
            ctx = _context()
            queue = ctx.Queue()
            folder = tempfile.mkdtemp(prefix="rplsim-web-") if kind == "report" else ""
            args = (kind, path, items, replicates, queue, folder, formats, os.getpid())
            proc = ctx.Process(target=_worker, args=args, daemon=True)
            job = Job(f"j{next(self._ids)}", kind, proc, queue, folder)
            # started before the job can be seen: a cancel always finds a process to stop
            proc.start()
            self._jobs[job.id] = job
        threading.Thread(target=self._follow, args=(job,), daemon=True).start()
        return job

    def _prune(self) -> None:
        """Forget the oldest finished jobs beyond :data:`KEEP_FINISHED` (and remove their folders)."""
        finished = [j for j in self._jobs.values() if j.state != "running"]
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.id]
            shutil.rmtree(job.folder, ignore_errors=True)

    def get(self, job_id: str) -> Job | None:
        """The job called ``job_id`` (None if there is none)."""
        return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        """Stop a running job at once (its process is terminated); a finished one is left as is."""
        job = self._jobs.get(job_id)
        if job is not None and self._end(job, "cancelled"):
            job.process.terminate()
        return job

    def _end(self, job: Job, state: str, **fields: Any) -> bool:
        """Move a running job to ``state`` (once: a cancel and the job's own end may race)."""
        with self._lock:
            if job.state != "running":
                return False
            for k, v in fields.items():
                setattr(job, k, v)
            job.state, job.finished = state, time.monotonic()
            return True

    def shutdown(self) -> None:
        """Cancel every running job, wait for its process to end, and remove the jobs' folders."""
        for job in list(self._jobs.values()):
            self.cancel(job.id)
        for job in list(self._jobs.values()):
            job.process.join(timeout=5)
            shutil.rmtree(job.folder, ignore_errors=True)

    def _follow(self, job: Job) -> None:
        """Read the job's queue until it ends (or its process dies without a word)."""
        while job.state == "running":
            try:
                msg = job.queue.get(timeout=0.1)
            except Empty:
                if not job.process.is_alive() and job.state == "running":
                    try:
                        msg = job.queue.get(timeout=0.5)
                    except Empty:
                        self._end(job, "failed", error="the job's process ended without an answer")
                        break
                else:
                    continue
            if msg[0] == "progress":
                job.done, job.total, job.message = msg[1], msg[2], msg[3]
            elif msg[0] == "say":
                job.message = msg[1]
            elif msg[0] == "done":
                self._end(job, "done", result=msg[1], done=job.total)
            elif msg[0] == "error":
                self._end(job, "failed", error=msg[1])
        job.process.join(timeout=5)
        job.queue.close()
