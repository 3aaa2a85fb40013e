"""Benchmark (not a test): a 50-point x 10,000-replicate sweep on three backends.

    python benchmarks/sweep_bench.py [--replicates 10000] [--out /tmp/sweep_bench]

Runs each backend in a fresh Python process (so no backend inherits another's warm caches):
1 local worker (in-process), 2 local worker processes, and a 2-worker Dask ``LocalCluster``
(``processes=True``, one thread each). Prints wall time, speed-up over 1 worker, and the
scheduling overhead per task: ``(wall x workers - sum of the tasks' own run times) / tasks``,
i.e. the time a worker slot spends on anything but running rplsim code (start-up, pickling,
transfer, waiting for the next task). Also checks that the three points.csv agree.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "scenarios" / "sweep_example.toml"
# 5 placebo rates x 2 analyses x 5 dropouts = 50 points, each at its analytic n.
GRID = {
    "trial.control_lbr": [0.55, 0.58, 0.61, 0.64, 0.67],
    "trial.analysis": ["chi2", "fisher"],
    "trial.dropout": [0.0, 0.05, 0.1, 0.15, 0.2],
}
NUMBERS = ["point", "n_per_arm", "power", "type1_error", "expected_n_h1", "expected_n_h0"]


def one(backend: str, replicates: int, out: Path) -> dict:
    """Run the sweep on one backend in this process; return the timings."""
    import warnings

    from rplsim.exceptions import CalibrationWarning
    from rplsim.sweep import plan_sweep, run_sweep

    warnings.simplefilter("ignore", CalibrationWarning)
    plan = plan_sweep(EXAMPLE, [f"sweep.replicates={replicates}"], GRID)
    kw: dict = {}
    cluster = None
    workers = 1 if backend == "local1" else 2
    if backend == "dask2":
        from distributed import LocalCluster

        t_cluster = time.perf_counter()
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        )
        t_cluster = time.perf_counter() - t_cluster
        kw["scheduler"] = cluster.scheduler_address
    else:
        t_cluster = 0.0
        kw["workers"] = workers
    t0 = time.perf_counter()
    res = run_sweep(plan, out / backend, force=True, **kw)
    wall = time.perf_counter() - t0
    if cluster is not None:
        cluster.close()
    return {
        "backend": backend,
        "workers": workers,
        "points": len(plan.points),
        "tasks": res.tasks,
        "wall_s": wall,
        "cluster_start_s": t_cluster,
        "task_s": res.task_seconds,
        "overhead_ms_per_task": 1000 * (wall * workers - res.task_seconds) / res.tasks,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=10_000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/sweep_bench"))
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.replicates, args.out)))
        return
    rows = []
    for backend in ("local1", "local2", "dask2"):
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                backend,
                "--replicates",
                str(args.replicates),
                "--out",
                str(args.out),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(rows[-1], file=sys.stderr)
    tab = pd.DataFrame(rows)
    tab["speed_up"] = tab["wall_s"].iloc[0] / tab["wall_s"]
    print(tab.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    ref = pd.read_csv(args.out / "local1" / "points.csv")[NUMBERS]
    for b in ("local2", "dask2"):
        other = pd.read_csv(args.out / b / "points.csv")[NUMBERS]
        print(f"{b}: points.csv numbers identical to local1: {ref.equals(other)}")


if __name__ == "__main__":
    main()
