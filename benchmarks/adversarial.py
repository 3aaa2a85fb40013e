"""Run the whole adversarial corpus of issue 20 through the real CLI and count what meets the promise.

Usage::

    python benchmarks/adversarial.py                    # every case, 2 at a time
    python benchmarks/adversarial.py --jobs 4 --timeout 60 --out /tmp/adversarial.csv
    python benchmarks/adversarial.py --only name-,fifo- # cases whose id contains any of these

Each case of ``tests/app/adversarial_cases.py`` runs as ``python -m rplsim ...`` in a fresh
subprocess (its own session, a 3 GB address-space limit, killed with its process group after
``--timeout`` seconds: a hang counts as missed), in a fresh temporary folder holding the case's
files. An argv with a NUL byte cannot be passed to exec, so those cases run ``main(argv)``
through a one-line ``python -c`` shim instead (same entry point, the argv passed as JSON).

Prints a table (id, expected, got, met?) and ``N of M inputs meet the promise``; writes the
same table as CSV to ``--out`` (default ``results/adversarial.csv``; ``results/`` holds
outputs, not sources: do not commit it). Not run in CI; ``tests/app/test_adversarial.py`` runs
the in-process part of the corpus there.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.app.adversarial_cases import CASES, Case, argv_of, judge, materialize, snapshot  # noqa: E402

MEMORY_LIMIT = 3 * 1024**3
LIVE: set[subprocess.Popen[str]] = set()  # the cases running now: killed if the runner is stopped
SHIM = "import json, sys; from rplsim.app.cli import main; sys.exit(main(json.loads(sys.argv[1])))"


@dataclass
class Outcome:
    case: Case
    status: int | None
    first_line: str
    wrong: list[str]
    seconds: float

    @property
    def met(self) -> bool:
        return not self.wrong

    @property
    def got(self) -> str:
        code = "timeout" if self.status is None else f"exit {self.status}"
        return f"{code}: {self.first_line[:90]}" if self.first_line else code


def _limits() -> None:  # in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    # A runner started in the background (`... &`) inherits an ignored SIGINT, and so would
    # every case: Python then never raises KeyboardInterrupt and the signal cases mean nothing.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_case(case: Case, timeout: float) -> Outcome:
    """Run one case in a subprocess in a fresh folder and judge it."""
    with tempfile.TemporaryDirectory(prefix=f"adv-{case.id[:20]}-") as tmp:
        root = Path(tmp)
        work = materialize(case, root)
        argv = argv_of(case, root)
        before = snapshot(root)
        if any("\x00" in a for a in argv):
            cmd = [sys.executable, "-c", SHIM, json.dumps(argv)]
        else:
            cmd = [sys.executable, "-m", "rplsim", *argv]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="backslashreplace",
            start_new_session=True,
            preexec_fn=_limits,
        )
        LIVE.add(proc)
        status: int | None
        try:
            if case.signal_after is not None:
                try:
                    proc.wait(case.signal_after)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=timeout)
            status = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the case's own session: it and its workers
            _, err = proc.communicate()
            status = None
        finally:
            LIVE.discard(proc)
        seconds = time.perf_counter() - t0
        after = snapshot(root)
        wrong = judge(case, status, err, before, after, root)
        first = next((ln for ln in err.splitlines() if ln.strip()), "")
        return Outcome(case, status, first, wrong, seconds)


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=2, help="cases run at once (2)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds before a case counts as hung (60)")
    p.add_argument("--only", default="", help="comma-separated fragments of case ids")
    p.add_argument("--out", default=str(ROOT / "results" / "adversarial.csv"), help="CSV of the table")
    args = p.parse_args(argv)
    frags = [f for f in args.only.split(",") if f]
    cases = [c for c in CASES if not frags or any(f in c.id for f in frags)]
    t0 = time.perf_counter()
    signal.signal(signal.SIGTERM, _stop)
    pool = ThreadPoolExecutor(max_workers=max(1, args.jobs))
    try:
        outcomes = []
        for o in pool.map(lambda c: run_case(c, args.timeout), cases):
            outcomes.append(o)
            print(
                f"[{len(outcomes)}/{len(cases)}] {o.case.id}: {'met' if o.met else 'missed'}", file=sys.stderr
            )
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(LIVE):  # each case runs in its own session: its group is it and its workers
            os.killpg(proc.pid, signal.SIGKILL)
        print("adversarial: stopped; the running cases were killed.", file=sys.stderr)
        return 130
    pool.shutdown()
    width = max(len(c.id) for c in cases)
    print(f"{'id':<{width}}  met   expected / got / why not")
    for o in outcomes:
        print(f"{o.case.id:<{width}}  {'yes' if o.met else 'NO ':<4}  {o.case.expected}")
        if not o.met:
            print(f"{'':<{width}}        got {o.got}")
            print(f"{'':<{width}}        {'; '.join(o.wrong)[:300]}")
    met = sum(o.met for o in outcomes)
    print(f"\n{met} of {len(outcomes)} inputs meet the promise ({time.perf_counter() - t0:.0f} s)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["id", "attacks", "argv", "expected", "status", "first_stderr_line", "met", "why_not", "seconds"]
        )
        for o in outcomes:
            w.writerow(
                [
                    o.case.id,
                    o.case.attacks,
                    " ".join(o.case.argv)[:200],
                    o.case.expected,
                    "timeout" if o.status is None else o.status,
                    o.first_line[:300],
                    "yes" if o.met else "no",
                    "; ".join(o.wrong),
                    f"{o.seconds:.2f}",
                ]
            )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
