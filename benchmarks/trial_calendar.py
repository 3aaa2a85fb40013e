"""Benchmark (not a test): the trial on the calendar (issue 17).

    python benchmarks/trial_calendar.py [--runs 3] [--replicates 20480] [--des 100] [--json F] [--no-peer]

Times, on scenarios/multicentre.toml (12 centres opened over 12 months, centre rates Gamma with
cv 0.5, 6 months from consent to the confirmed pregnancy, 3 looks O'Brien-Fleming, chi2, 10%
dropout) at 100 randomised per arm:

1. **the vectorised twin** ``simulate_calendar(sc, 100, replicates, workers=1)``: each trial's
   randomisation times, its women drawn from the cohort model, arms, outcomes, infusions and
   the three looks, H1 and H0 together; warm (one 1,024-trial call first). Target >= 2,000
   calendar trials/s.
2. **the SimPy engine** ``simulate_calendar_des(sc, 100, des)``: centres and women as processes,
   every woman seen screened one by one, infusion chairs per centre. Target >= 20 trials/s.
3. ``find_centres(paper.toml, years=3)`` (closed form) and on multicentre.toml (simulated).

Peer, same run (``--no-peer`` skips it): rpact's ``getSimulationRates`` (R, ``r-cran-rpact``) of
the same group-sequential design (``getDesignGroupSequential(kMax=3, alpha=0.025, sided=1,
typeOfDesign="OF")``, ``plannedSubjects = c(67, 134, 200)``, pi1 = 0.807, pi2 = 0.6), per
simulated trial. It has no calendar, no accrual and no pipeline (information is instantaneous),
so it is the price of a look-by-look simulation without the calendar, not the same job.

Each figure is the median of ``--runs`` on wall time, with this process's CPU time in brackets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rplsim import find_centres, load_scenario, simulate_calendar
from rplsim.trial.calendar_des import simulate_calendar_des

ROOT = Path(__file__).resolve().parents[1]
N_PER_ARM = 100

R_RPACT = r"""
suppressMessages(library(rpact))
iters <- as.integer(commandArgs(trailingOnly = TRUE)[1])
d <- getDesignGroupSequential(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = "OF")
t0 <- proc.time()
s <- getSimulationRates(d, pi1 = 0.807, pi2 = 0.6, plannedSubjects = c(67, 134, 200),
                        maxNumberOfIterations = iters, seed = 1)
el <- proc.time() - t0
cat("seconds", el[["elapsed"]], el[["user.self"]] + el[["sys.self"]], "\n")
cat("power", s$overallReject[1], "\n")
cat("version", as.character(packageVersion("rpact")), "\n")
"""


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def bench_twin(runs: int, replicates: int) -> dict[str, Any]:
    sc = load_scenario(ROOT / "scenarios" / "multicentre.toml")
    simulate_calendar(sc, N_PER_ARM, replicates=1024)  # warm: caches of the design and the cohort
    wall, cpu = [], []
    res = None
    for _ in range(runs):
        w, c, res = _timed(lambda: simulate_calendar(sc, N_PER_ARM, replicates=replicates))
        wall.append(w)
        cpu.append(c)
    assert res is not None
    med, med_cpu = statistics.median(wall), statistics.median(cpu)
    return {
        "replicates": replicates, "wall_s": wall, "cpu_s": cpu,
        "trials_per_s": replicates / med, "trials_per_cpu_s": replicates / med_cpu,
        "power": res.power, "type1_error": res.type1_error,
        "summary": dict(res.summary_table().itertuples(index=False, name=None)),
    }  # fmt: skip


def bench_des(runs: int, trials: int) -> dict[str, Any]:
    sc = load_scenario(ROOT / "scenarios" / "multicentre.toml")
    simulate_calendar_des(sc, N_PER_ARM, 2)
    wall, cpu = [], []
    for _ in range(runs):
        w, c, _out = _timed(lambda: simulate_calendar_des(sc, N_PER_ARM, trials))
        wall.append(w)
        cpu.append(c)
    med, med_cpu = statistics.median(wall), statistics.median(cpu)
    return {
        "trials": trials, "wall_s": wall, "cpu_s": cpu,
        "trials_per_s": trials / med, "trials_per_cpu_s": trials / med_cpu,
    }  # fmt: skip


def bench_centres() -> dict[str, Any]:
    out = {}
    for name in ("paper", "multicentre"):
        sc = load_scenario(ROOT / "scenarios" / f"{name}.toml")
        w, c, ans = _timed(lambda sc=sc: find_centres(sc, 3.0))
        out[name] = {"wall_s": w, "cpu_s": c, "centres": ans.centres, "sentence": ans.sentence()}
    return out


def peer_rpact(iters: int) -> dict[str, Any]:
    if shutil.which("Rscript") is None:
        return {"skipped": "Rscript not found (apt-get install r-base-core r-cran-rpact)"}
    run = subprocess.run(
        ["Rscript", "-e", R_RPACT, str(iters)], capture_output=True, text=True, timeout=600, check=False
    )
    if run.returncode != 0:
        return {"skipped": f"rpact not available: {run.stderr.strip().splitlines()[-1:]}"}
    v = {line.split()[0]: line.split()[1:] for line in run.stdout.splitlines() if line.split()}
    wall, cpu = float(v["seconds"][0]), float(v["seconds"][1])
    return {
        "iterations": iters, "wall_s": wall, "cpu_s": cpu, "trials_per_s": iters / wall,
        "power": float(v["power"][0]), "version": v["version"][0],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--replicates", type=int, default=20480)
    ap.add_argument("--des", type=int, default=100)
    ap.add_argument("--json", default=None)
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args(argv)
    machine = {"cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    out: dict[str, Any] = {"machine": {**machine, "load_average_at_start": os.getloadavg()}}
    out["twin"] = tw = bench_twin(args.runs, args.replicates)
    print(
        f"twin:  {tw['trials_per_s']:,.0f} calendar trials/s ({tw['trials_per_cpu_s']:,.0f} per CPU s), "
        f"{args.replicates:,} trials at {N_PER_ARM}/arm, 3 looks; target >= 2,000"
    )
    out["des"] = des = bench_des(args.runs, args.des)
    print(
        f"SimPy: {des['trials_per_s']:,.1f} trials/s ({des['trials_per_cpu_s']:,.1f} per CPU s), "
        f"{args.des} trials; target >= 20"
    )
    out["centres"] = cen = bench_centres()
    for name, v in cen.items():
        print(f"find_centres({name}, 3 years): {v['centres']} centres, {v['wall_s']:.2f} s. {v['sentence']}")
    s = tw["summary"]
    looks = "; ".join(
        f"look {j}: {s[f'look{j}_years_median']:.2f} y, {s[f'look{j}_randomised_mean']:.0f} randomised, "
        f"{s[f'look{j}_pipeline_mean']:.1f} in the pipeline"
        for j in (1, 2, 3)
    )
    print(f"multicentre at {N_PER_ARM}/arm: power {tw['power']:.3f}, type-I {tw['type1_error']:.4f}; {looks}")
    if not args.no_peer:
        out["rpact"] = rp = peer_rpact(10_000)
        if "skipped" in rp:
            print(f"rpact: skipped ({rp['skipped']})")
        else:
            print(
                f"rpact {rp['version']} getSimulationRates (no calendar): "
                f"{rp['trials_per_s']:,.0f} trials/s, power {rp['power']:.3f}"
            )
    out["targets"] = {
        "twin_2000_per_s": tw["trials_per_s"] >= 2000,
        "des_20_per_s": des["trials_per_s"] >= 20,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
