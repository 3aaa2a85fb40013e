"""Benchmark (not a test): designs that adapt to the unknown placebo rate (issue 16).

    python benchmarks/adaptive.py [--runs 5] [--replicates 102400] [--json out.json] [--no-peer]

Times, at 100 randomised per arm (the scenarios as shipped otherwise: 10% dropout, blocks of 4,
two-sided chi2 at 5%; futility.toml one-sided 0.025 over 3 looks):

1. **count-path simulation** ``simulate_power(sc, 100, 102,400 replicates, workers=1)`` of
   scenarios/futility.toml (3 looks, Lan-DeMets O'Brien-Fleming efficacy, non-binding
   beta-spending futility) and scenarios/reestimation.toml (blinded re-estimation at 50%, cap 2x),
   warm (one 1,024-replicate call first fills the caches; that first call is reported too: for
   re-estimation it builds the table of new n per pilot outcome), in alternating rounds with the
   fixed design scenarios/paper.toml at the same n: the ratio is the price of adapting, same run,
   same load. Also with ``workers=2`` (wall time only: CPU time leaves out the workers; each
   call starts its own pool of forked workers, and that start is in its time).
   Target: >= 100,000 replicates/s for re-estimation and for futility.
2. **exact re-estimation operating characteristics**
   ``exact_power(load_scenario("scenarios/reestimation.toml", {"trial": {"dropout": 0}}), 100)``:
   cold in a new process (the call alone timed; the process's wall time with imports is kept
   too), cold in this process (``_new_n_table.cache_clear()`` and the exact-count cache emptied)
   and warm. Target <= 2 s (cold).
3. **rplsim compare** of paper, group_sequential, futility and reestimation x 4 placebo rates
   (0.45, 0.55, 0.65, 0.75), the CLI in a subprocess into a temporary folder (wall time), against
   ``python -c "import rplsim.cli"`` (start-up). Target <= 60 s.

Peers, same run (``--no-peer`` skips them):

4. rpact (R, ``r-cran-rpact``; skipped with a note when ``Rscript`` or rpact is missing):
   ``getDesignGroupSequential(kMax=3, alpha=0.025, beta=0.2, sided=1, typeOfDesign="asOF",
   typeBetaSpending="bsOF", bindingFutility=FALSE)`` + ``getSampleSizeRates(d, pi1=0.807,
   pi2=0.6)``, 20 times in one Rscript call (per call, R start-up and library load excluded),
   against ``rplsim.sample_size(0.6, 0.807, alpha=0.025, alternative="larger", looks=3,
   boundary="ld-obrien-fleming", futility="beta-spending", futility_binding=False)`` per call;
   both results printed side by side (max n, expected n under H0 / H1 as fractions of max n, the
   inflation over the fixed n, efficacy and futility bounds). rplsim rounds n up to whole women
   per arm (168 against rpact's 166.15), so expected n is compared as a fraction of max n.
5. R ``blindrecalc`` (``toer`` / ``pow`` of ``setupChiSquare(alpha=0.025, beta=0.2, r=1,
   delta=0.207, n_max=400)``, ``n1=100`` (half of 100 per arm), nuisance 0.7035 (the pooled
   planned rate): a comparable internal pilot, but holding the risk difference, not the odds
   ratio) when it loads. On this machine it does not: Debian has no ``r-cran-blindrecalc`` and
   it is not installed from CRAN (no internet); the output says so.

Each target is judged on wall time (the median of ``--runs``) and, in brackets, on CPU time (this
process's, the subprocess's for 2 and 3): on a shared machine the two differ, and the CPU figure is
what the code would do on an idle core. Where a target is missed on wall time, the missed workload
is run once under cProfile and its top entries are printed and kept in the JSON (``profiles``), so
the cost can be found without rerunning.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import rplsim  # noqa: E402
from rplsim.design import exact_counts  # noqa: E402
from rplsim.trial import reestimation as reestimation_module  # noqa: E402

N = 100
DESIGNS = ("paper", "futility", "reestimation")
COMPARE = ("paper", "group_sequential", "futility", "reestimation")
TARGETS = {"replicates_per_s": 100_000.0, "exact_reestimation_s": 2.0, "compare_s": 60.0}
SS_ARGS: dict[str, Any] = {
    "alpha": 0.025, "alternative": "larger", "looks": 3, "boundary": "ld-obrien-fleming",
    "futility": "beta-spending", "futility_binding": False,
}  # fmt: skip
R_CALLS = 20

R_RPACT = r"""
suppressMessages(library(rpact))
f <- function() {
  d <- getDesignGroupSequential(kMax = 3, alpha = 0.025, beta = 0.2, sided = 1, typeOfDesign = "asOF",
                                typeBetaSpending = "bsOF", bindingFutility = FALSE)
  list(d = d, s = getSampleSizeRates(d, pi1 = 0.807, pi2 = 0.6))
}
invisible(f())
k <- as.integer(commandArgs(trailingOnly = TRUE)[1])
t0 <- proc.time()
for (i in seq_len(k)) r <- f()
t <- proc.time() - t0
s <- r$s
cat("seconds", t[["elapsed"]] / k, (t[["user.self"]] + t[["sys.self"]]) / k, "\n")
cat("max_n", s$maxNumberOfSubjects, "\n")
cat("n_fixed", s$nFixed, "\n")
cat("en_h0", s$expectedNumberOfSubjectsH0, "\n")
cat("en_h1", s$expectedNumberOfSubjectsH1, "\n")
cat("efficacy", r$d$criticalValues, "\n")
cat("futility", r$d$futilityBounds, "\n")
cat("version", as.character(packageVersion("rpact")), "\n")
"""

R_BLINDRECALC = r"""
suppressMessages(library(blindrecalc))
d <- setupChiSquare(alpha = 0.025, beta = 0.2, r = 1, delta = 0.207, n_max = 400)
k <- 3
t0 <- proc.time()[["elapsed"]]
for (i in seq_len(k)) a <- toer(d, n1 = 100, nuisance = 0.7035, recalculation = TRUE)
t1 <- proc.time()[["elapsed"]]
for (i in seq_len(k)) p <- pow(d, n1 = 100, nuisance = 0.7035, recalculation = TRUE)
t2 <- proc.time()[["elapsed"]]
cat("toer", (t1 - t0) / k, a, "\n")
cat("pow", (t2 - t1) / k, p, "\n")
cat("version", as.character(packageVersion("blindrecalc")), "\n")
"""

COLD_EXACT = """
import sys, time
sys.path.insert(0, {src!r})
t0 = time.perf_counter()
import rplsim
sc = rplsim.load_scenario({path!r}, {{"trial": {{"dropout": 0}}}})
t1, c1 = time.perf_counter(), time.process_time()
e = rplsim.exact_power(sc, {n})
t2, c2 = time.perf_counter(), time.process_time()
print(t2 - t1, c2 - c1, t1 - t0, e.power, e.type1_error)
"""


def _machine() -> dict[str, Any]:
    try:
        load: tuple[float, ...] | None = os.getloadavg()
    except OSError:
        load = None
    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": load,
    }


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def _stats(wall: list[float], cpu: list[float] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": wall, "median_s": statistics.median(wall), "min_s": min(wall)}
    if cpu:
        out["cpu_runs"] = cpu
        out["median_cpu_s"] = statistics.median(cpu)
    return out


def _profile(fn: Callable[[], Any], top: int = 12) -> str:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def _clear_exact() -> None:
    reestimation_module._new_n_table.cache_clear()
    exact_counts._clear_cache()


# --------------------------------------------------------------------------- 1. simulation
def bench_simulation(runs: int, replicates: int) -> dict[str, Any]:
    scs = {k: rplsim.load_scenario(ROOT / "scenarios" / f"{k}.toml") for k in DESIGNS}
    first = {}
    for k, sc in scs.items():  # warm: fill the caches (rates, boundaries, the re-estimation table)
        first[k] = _timed(partial(rplsim.simulate_power, sc, N, 1024, seed=0))[0]
        rplsim.simulate_power(sc, N, 2048, seed=0, workers=2)  # the workers' imports, once
    out: dict[str, Any] = {"replicates": replicates, "n_per_arm": N}
    for workers in (1, 2):
        wall: dict[str, list[float]] = {k: [] for k in DESIGNS}
        cpu: dict[str, list[float]] = {k: [] for k in DESIGNS}
        res: dict[str, Any] = {}
        for r in range(runs):  # alternating rounds: every design sees the same load
            for k, sc in scs.items():
                w, c, res[k] = _timed(
                    partial(rplsim.simulate_power, sc, N, replicates, seed=r + 1, workers=workers)
                )
                wall[k].append(w)
                cpu[k].append(c)
        for k in DESIGNS:
            st = _stats(wall[k], cpu[k] if workers == 1 else None)
            st["replicates_per_s"] = replicates / st["median_s"]
            if workers == 1:
                st["replicates_per_cpu_s"] = replicates / st["median_cpu_s"]
                st["first_call_1024_s"] = first[k]
            st["power"] = res[k].power
            st["type1_error"] = res[k].type1_error
            st["expected_n_h1"] = res[k].expected_n_h1
            st["expected_n_h0"] = res[k].expected_n_h0
            out[f"{k}/workers={workers}"] = st
        for k in DESIGNS:
            fixed = out[f"paper/workers={workers}"]["median_s"]
            out[f"{k}/workers={workers}"]["speed_vs_fixed"] = (
                fixed / out[f"{k}/workers={workers}"]["median_s"]
            )
    return out


# --------------------------------------------------------------------------- 2. exact
def bench_exact(runs: int) -> dict[str, Any]:
    path = ROOT / "scenarios" / "reestimation.toml"
    sc = rplsim.load_scenario(path, {"trial": {"dropout": 0}})
    code = COLD_EXACT.format(src=str(ROOT / "src"), path=str(path), n=N)
    new_proc, new_cpu, imports, process = [], [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        process.append(time.perf_counter() - t0)
        call, call_cpu, imp, power, t1e = (float(v) for v in run.stdout.split())
        new_proc.append(call)
        new_cpu.append(call_cpu)
        imports.append(imp)
    rplsim.exact_power(sc, 40)  # this process: imports and the planned rates, once
    cold, cold_cpu, warm, warm_cpu = [], [], [], []
    res = None
    for _ in range(runs):
        _clear_exact()
        w, c, _res = _timed(lambda: rplsim.exact_power(sc, N))
        cold.append(w)
        cold_cpu.append(c)
    for _ in range(runs):
        w, c, res = _timed(lambda: rplsim.exact_power(sc, N))
        warm.append(w)
        warm_cpu.append(c)
    assert res is not None
    return {
        "cold_new_process": _stats(new_proc, new_cpu) | {"imports_and_load_s": statistics.median(imports),
                                                         "process_wall_s": statistics.median(process)},
        "cold_in_process": _stats(cold, cold_cpu),
        "warm": _stats(warm, warm_cpu),
        "power": res.power, "type1_error": res.type1_error,
        "expected_women": res.expected_women, "expected_women_null": res.expected_women_null,
        "new_process_power": power, "new_process_type1_error": t1e,
    }  # fmt: skip


# --------------------------------------------------------------------------- 3. compare
def bench_compare(runs: int) -> dict[str, Any]:
    files = [str(ROOT / "scenarios" / f"{k}.toml") for k in COMPARE]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    cli, cli_cpu, start = [], [], []
    rows = 0
    for _ in range(runs):
        c0 = _children_cpu()
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "rplsim", "compare", *files, "--out", tmp, "--force", "--quiet"]
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, text=True, check=True, env=env, cwd=ROOT)
            cli.append(time.perf_counter() - t0)
            cli_cpu.append(_children_cpu() - c0)
            rows = sum(1 for _ in (Path(tmp) / "compare.csv").open()) - 1
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import rplsim.cli"], check=True, env=env)
        start.append(time.perf_counter() - t0)
    return {"cli": _stats(cli, cli_cpu), "startup": _stats(start), "rows": rows}


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


# --------------------------------------------------------------------------- 4. rpact
def bench_sample_size(calls: int) -> dict[str, Any]:
    first = _timed(lambda: rplsim.sample_size(0.6, 0.807, **SS_ARGS))[0]
    times, cpu = [], []
    ss = None
    for _ in range(calls):
        w, c, ss = _timed(lambda: rplsim.sample_size(0.6, 0.807, **SS_ARGS))
        times.append(w)
        cpu.append(c)
    assert ss is not None
    return {
        "first_call_s": first, **_stats(times, cpu),
        "max_n": ss.n_total, "n_per_arm": ss.n_control, "inflation": ss.inflation_factor,
        "en_h0": ss.expected_n_h0, "en_h1": ss.expected_n_h1,
        "efficacy": list(ss.efficacy_z), "futility": list(ss.futility_z or ())[:-1],
    }  # fmt: skip


def _rscript(program: str, *args: str) -> tuple[int, str, str]:
    run = subprocess.run(
        ["Rscript", "-e", program, *args], capture_output=True, text=True, timeout=600, check=False
    )
    return run.returncode, run.stdout, run.stderr


def _parse(stdout: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in stdout.splitlines() if line.split()}


def peer_rpact(calls: int) -> dict[str, Any]:
    if shutil.which("Rscript") is None:
        return {"skipped": "Rscript not found (apt-get install r-base-core r-cran-rpact)"}
    rc, out, err = _rscript(R_RPACT, str(calls))
    if rc != 0:
        return {"skipped": f"rpact not available: {err.strip().splitlines()[-1:]}"}
    v = _parse(out)
    f = [float(x) for x in v["futility"]]
    return {
        "seconds_per_call": float(v["seconds"][0]), "cpu_seconds_per_call": float(v["seconds"][1]),
        "max_n": float(v["max_n"][0]), "inflation": float(v["max_n"][0]) / float(v["n_fixed"][0]),
        "en_h0": float(v["en_h0"][0]), "en_h1": float(v["en_h1"][0]),
        "efficacy": [float(x) for x in v["efficacy"]], "futility": f, "version": v["version"][0],
    }  # fmt: skip


def peer_blindrecalc() -> dict[str, Any]:
    apt = ""
    if shutil.which("apt-cache"):
        apt = subprocess.run(
            ["apt-cache", "policy", "r-cran-blindrecalc"], capture_output=True, text=True, check=False
        ).stdout.strip()
    mirror = "Debian mirror has r-cran-blindrecalc" if apt else "no r-cran-blindrecalc in the Debian mirror"
    if shutil.which("Rscript") is None:
        return {"skipped": f"Rscript not found; {mirror}"}
    rc, out, _err = _rscript(R_BLINDRECALC)
    if rc != 0:
        return {
            "skipped": f"R package blindrecalc not installed ({mirror}; not installed from CRAN: no internet)"
        }
    v = _parse(out)
    return {
        "toer_seconds": float(v["toer"][0]), "toer": float(v["toer"][1]),
        "pow_seconds": float(v["pow"][0]), "pow": float(v["pow"][1]), "version": v["version"][0],
    }  # fmt: skip


# --------------------------------------------------------------------------- report
def _print_simulation(sim: dict[str, Any]) -> None:
    print(f"1. simulate_power at {N}/arm, {sim['replicates']:,} replicates, warm (median of runs)")
    cols = ("median s", "min s", "rep/s", "rep/CPU s", "vs fixed", "power", "type I", "E[N] H1", "1st call")
    widths = (9, 8, 11, 11, 8, 7, 7, 8, 9)
    print(
        f"   {'design':14s} {'workers':>7s} "
        + " ".join(f"{c:>{w}s}" for c, w in zip(cols, widths, strict=True))
    )
    for workers in (1, 2):
        for k in DESIGNS:
            st = sim[f"{k}/workers={workers}"]
            per_cpu = f"{st.get('replicates_per_cpu_s', 0):11,.0f}" if workers == 1 else " " * 11
            first = f"{st['first_call_1024_s']:8.3f}s" if workers == 1 else ""
            print(
                f"   {k:14s} {workers:7d} {st['median_s']:9.3f} {st['min_s']:8.3f} "
                f"{st['replicates_per_s']:11,.0f} {per_cpu} {st['speed_vs_fixed']:7.2f}x "
                f"{st['power']:7.4f} {st['type1_error']:7.4f} {st['expected_n_h1']:8.1f} {first}"
            )
    print(
        "   vs fixed: the fixed design's (paper.toml, same n) median time over this design's; "
        "1st call: the warm-up call (1,024 replicates, empty caches)"
    )


def _print_exact(ex: dict[str, Any]) -> None:
    print(
        f"\n2. exact_power(reestimation.toml, dropout 0, {N}/arm): power {ex['power']:.4f}, "
        f"type I {ex['type1_error']:.4f}, E[women] {ex['expected_women']:.1f} "
        f"(H0 {ex['expected_women_null']:.1f})"
    )
    for label, key in (
        ("cold, new process (call only)", "cold_new_process"),
        ("cold, this process (caches cleared)", "cold_in_process"),
        ("warm", "warm"),
    ):
        st = ex[key]
        print(
            f"   {label:38s} median {st['median_s']:7.3f} s   min {st['min_s']:7.3f} s   "
            f"CPU {st['median_cpu_s']:7.3f} s"
        )
    new = ex["cold_new_process"]
    print(
        f"   new process: imports + load_scenario {new['imports_and_load_s']:.2f} s, "
        f"whole process {new['process_wall_s']:.2f} s"
    )


def _print_compare(cmp_: dict[str, Any]) -> None:
    print(
        f"\n3. rplsim compare, {len(COMPARE)} designs x 4 placebo rates ({cmp_['rows']} rows), "
        f"subprocess: median {cmp_['cli']['median_s']:.2f} s (min {cmp_['cli']['min_s']:.2f}, "
        f"CPU {cmp_['cli']['median_cpu_s']:.2f}); "
        f"start-up (import rplsim.cli) {cmp_['startup']['median_s']:.2f} s"
    )


def _check_targets(sim: dict[str, Any], ex: dict[str, Any], cmp_: dict[str, Any]) -> dict[str, Any]:
    rate, exact = "replicates_per_s", "exact_reestimation_s"
    fut, ree = sim["futility/workers=1"], sim["reestimation/workers=1"]
    new, cold, cli = ex["cold_new_process"], ex["cold_in_process"], cmp_["cli"]
    checks = {  # (wall, per CPU second)
        "futility replicates/s (workers=1)": (fut[rate], fut["replicates_per_cpu_s"], rate),
        "reestimation replicates/s (workers=1)": (ree[rate], ree["replicates_per_cpu_s"], rate),
        "exact re-estimation, cold new process s": (new["median_s"], new["median_cpu_s"], exact),
        "exact re-estimation, cold in process s": (cold["median_s"], cold["median_cpu_s"], exact),
        "compare 4 x 4 s": (cli["median_s"], cli["median_cpu_s"], "compare_s"),
    }
    print()
    out: dict[str, Any] = {}
    profiles: dict[str, str] = {}
    for label, (value, on_cpu, key) in checks.items():
        target = TARGETS[key]
        met, met_cpu = ((v >= target if key == rate else v <= target) for v in (value, on_cpu))
        sign = ">=" if key == rate else "<="
        print(
            f"target {label:42s} {sign} {target:>9,.1f}  measured {value:>11,.3f} -> "
            f"{'MET' if met else 'NOT MET'} (on CPU time {on_cpu:,.3f}: {'MET' if met_cpu else 'NOT MET'})"
        )
        out[label] = {
            "target": target, "measured": value, "met": bool(met),
            "measured_on_cpu_time": on_cpu, "met_on_cpu_time": bool(met_cpu),
        }  # fmt: skip
        if not met:
            profiles[label] = _miss_profile(label)
    for label, text in profiles.items():
        print(f"\nprofile of the miss '{label}' (cumulative, top entries):\n{text}")
    return {"targets": out, "profiles": profiles}


def _zs(values: list[float]) -> str:
    return " ".join(f"{z:.4f}" for z in values)


def _print_peers(ours: dict[str, Any], rp: dict[str, Any], br: dict[str, Any]) -> float | None:
    print(
        "\n4. group-sequential sample size, 3 looks asOF + non-binding bsOF, 0.6 vs 0.807, "
        "one-sided 0.025, 80%"
    )
    print(
        f"   rplsim.sample_size: {ours['median_s'] * 1e3:.2f} ms a call "
        f"(CPU {ours['median_cpu_s'] * 1e3:.2f} ms; median of {R_CALLS}; "
        f"first call {ours['first_call_s'] * 1e3:.2f} ms)"
    )
    gap = None
    if "skipped" in rp:
        print(f"   rpact: skipped: {rp['skipped']}")
    else:
        print(
            f"   rpact {rp['version']} getDesignGroupSequential + getSampleSizeRates: "
            f"{rp['seconds_per_call'] * 1e3:.2f} ms a call (CPU {rp['cpu_seconds_per_call'] * 1e3:.2f} ms; "
            f"{R_CALLS} calls in one Rscript, start-up excluded): rplsim "
            f"{rp['seconds_per_call'] / ours['median_s']:.1f}x faster "
            f"({rp['cpu_seconds_per_call'] / ours['median_cpu_s']:.1f}x per CPU s)"
        )
        print(f"   {'':22s} {'rplsim':>22s} {'rpact':>22s}")
        rows = [
            ("max n (total)", f"{ours['max_n']} ({ours['n_per_arm']}/arm)", f"{rp['max_n']:.4f}"),
            ("inflation over fixed", f"{ours['inflation']:.6f}", f"{rp['inflation']:.6f}"),
            ("E[N] H0 / max n", f"{ours['en_h0'] / ours['max_n']:.6f}", f"{rp['en_h0'] / rp['max_n']:.6f}"),
            ("E[N] H1 / max n", f"{ours['en_h1'] / ours['max_n']:.6f}", f"{rp['en_h1'] / rp['max_n']:.6f}"),
            ("E[N] H0", f"{ours['en_h0']:.4f}", f"{rp['en_h0']:.4f}"),
            ("E[N] H1", f"{ours['en_h1']:.4f}", f"{rp['en_h1']:.4f}"),
            ("efficacy z", _zs(ours["efficacy"]), _zs(rp["efficacy"])),
            ("futility z", _zs(ours["futility"]), _zs(rp["futility"])),
        ]
        for name, a, b in rows:
            print(f"   {name:22s} {a:>22s} {b:>22s}")
        bounds = zip(ours["efficacy"] + ours["futility"], rp["efficacy"] + rp["futility"], strict=True)
        gap = max(abs(a - b) for a, b in bounds)
        print(f"   max |bound difference| {gap:.2e}; max n: rplsim rounds up to whole women per arm")
    if "skipped" in br:
        print(f"\n5. blindrecalc toer/pow: skipped: {br['skipped']}")
    else:
        print(
            f"\n5. blindrecalc {br['version']}: toer {br['toer']:.4f} in {br['toer_seconds']:.2f} s, "
            f"pow {br['pow']:.4f} in {br['pow_seconds']:.2f} s"
        )
    return gap


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--replicates", type=int, default=102_400)
    ap.add_argument("--json", default=None)
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args(argv)
    out: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "runs": args.runs,
        "machine": _machine(),
        "versions": {"rplsim": rplsim.__version__},
    }
    sim = bench_simulation(args.runs, args.replicates)
    out["simulation"] = sim
    _print_simulation(sim)
    ex = bench_exact(args.runs)
    out["exact_reestimation"] = ex
    _print_exact(ex)
    cmp_ = bench_compare(args.runs)
    out["compare"] = cmp_
    _print_compare(cmp_)
    out |= _check_targets(sim, ex, cmp_)
    if not args.no_peer:
        ours, rp, br = bench_sample_size(R_CALLS), peer_rpact(R_CALLS), peer_blindrecalc()
        gap = _print_peers(ours, rp, br)
        out["sample_size"] = {"rplsim": ours, "rpact": rp, "max_bound_difference": gap}
        out["blindrecalc"] = br
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=float), encoding="utf-8")
    return 0


def _miss_profile(label: str) -> str:
    if label.startswith(("futility", "reestimation")):
        sc = rplsim.load_scenario(ROOT / "scenarios" / f"{label.split()[0]}.toml")
        return _profile(lambda: rplsim.simulate_power(sc, N, 102_400, seed=1))
    if label.startswith("exact"):
        sc = rplsim.load_scenario(ROOT / "scenarios" / "reestimation.toml", {"trial": {"dropout": 0}})
        _clear_exact()
        return _profile(lambda: rplsim.exact_power(sc, N))
    scs = [rplsim.load_scenario(ROOT / "scenarios" / f"{k}.toml") for k in COMPARE]
    return _profile(lambda: rplsim.compare_designs(scs))


if __name__ == "__main__":
    raise SystemExit(main())
