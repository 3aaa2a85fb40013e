"""rplsim benchmarks: each case timed beside the baseline that shows how much is ours.

Usage::

    python benchmarks/run.py            # full sizes, >= 5 timed runs a case (about 5 minutes)
    python benchmarks/run.py --quick    # 3 runs, smaller sizes (about 1 minute)
    python benchmarks/run.py --cases 1,4 --out /tmp/bench

Prints one table and writes ``results/benchmarks/<YYYY-MM-DD>.json`` (or ``<--out>/<date>.json``)
with the machine, the library versions and, per case and baseline, the median / min / max of
the timed runs (after one warm-up run), the throughput (items per second at the median) and,
for cases 1, 4 and 5, the peak resident memory of a fresh subprocess. See
``benchmarks/README.md`` for how to read it.

Simulated power runs every replicate twice, under H1 and under the null (common random
numbers), so its throughput is *replicates* per second, each replicate being two trials.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
# The installed console script (what a user types), else the module it points at.
_SCRIPT = Path(sys.executable).with_name("rplsim")
RPLSIM = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "rplsim.cli"]

# Targets from the performance issue, for this 2-core machine (items per second).
TARGETS: dict[str, float] = {
    "cohort": 3e6,  # issue 18 (issue 6 asked 1e6), and within COHORT_FLOOR_RATIO of the floor
    "timeline": 2e4,
    "twin": 2e6,
    "power_count": 5e5,
    "power_logistic": 5e3,
}
# Issue 18: cohort generation at most this many times the raw-draw floor's time.
COHORT_FLOOR_RATIO = 3.0
# A log-log slope this close to 1 counts as linear scaling.
SLOPE_TOLERANCE = 0.15
# Peak memory may grow this much (relative) over 10x the replicates and still count as flat.
FLAT_MEMORY_TOLERANCE = 0.10


@dataclass
class Timing:
    """Wall-clock seconds of the timed runs of one workload (warm-up excluded)."""

    label: str
    items: float
    unit: str
    runs: list[float]
    scaled_from: float | None = None  # measured on this many items, scaled to `items`
    peak_rss_mb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    cpu_runs: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        # CPU seconds of the same runs (this process only: subprocesses and workers excluded).
        if not self.cpu_runs:
            self.cpu_runs = _CPU.pop(id(self.runs), [])

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def throughput(self) -> float:
        return self.items / self.median

    def record(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            median_s=self.median, min_s=min(self.runs), max_s=max(self.runs), throughput_per_s=self.throughput
        )
        if self.cpu_runs:
            cpu = statistics.median(self.cpu_runs)
            d.update(median_cpu_s=cpu, throughput_per_cpu_s=self.items / cpu if cpu else None)
        return d


@dataclass
class Case:
    """One benchmark case: its own workload(s), the baseline and the target verdict."""

    number: int
    name: str
    timings: list[Timing]
    baseline: Timing | None = None
    target: str = ""
    target_met: bool | None = None
    note: str = ""
    main: int = 0  # which timing the baseline is compared with (same number of items)
    target_rate: float | None = None  # items/s, to judge the main timing on CPU time too

    @property
    def target_met_cpu(self) -> bool | None:
        t = self.timings[self.main]
        if self.target_rate is None or not t.cpu_runs:
            return None
        return t.items / statistics.median(t.cpu_runs) >= self.target_rate

    def record(self) -> dict[str, Any]:
        return {
            "case": self.number,
            "name": self.name,
            "target": self.target,
            "target_met": self.target_met,
            "target_met_on_cpu_time": self.target_met_cpu,
            "note": self.note,
            "timings": [t.record() for t in self.timings],
            "main": self.main,
            "baseline": self.baseline.record() if self.baseline else None,
        }


# CPU seconds of this process for each timed run, by the id of the list time_runs returned;
# on a shared machine wall time includes waiting for a core, CPU time does not.
_CPU: dict[int, list[float]] = {}


def time_runs(fn: Callable[[], object], runs: int, warmup: int = 1) -> list[float]:
    """Wall seconds of ``runs`` calls of ``fn`` after ``warmup`` untimed calls (caches)."""
    for _ in range(warmup):
        fn()
    out, cpu = [], []
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    _CPU[id(out)] = cpu
    return out


def scale_runs(runs: list[float], factor: float) -> list[float]:
    """Timings of a subset scaled to the full workload (CPU times too)."""
    out = [x * factor for x in runs]
    _CPU[id(out)] = [x * factor for x in _CPU.pop(id(runs), [])]
    return out


def peak_rss_mb(code: str) -> tuple[float, float]:
    """(peak RSS, peak RSS after the imports) in MB of ``code`` run in a fresh interpreter.

    Read from VmHWM in /proc/self/status: the high-water mark of this process's own memory.
    (getrusage's maxrss would not do: Linux carries it over from the parent across fork and
    exec, so a child of a big benchmark process reports the parent's size.)
    """
    script = (
        "import warnings, json\n"
        "warnings.simplefilter('ignore')\n"
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM'):\n"
        "            return int(line.split()[1])\n"
        "    import resource\n"
        "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"{SETUP}\n"
        "before = hwm()\n"
        f"{code}\n"
        "print(json.dumps([before, hwm()]))\n"
    )
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    before, after = json.loads(res.stdout.strip().splitlines()[-1])
    return after / 1024, before / 1024  # KiB


SETUP = (
    "import numpy as np, rplsim\n"
    "from rplsim.trial.power import simulate_power, power_with\n"
    f"sup = rplsim.load_scenario({str(SCENARIOS / 'trial_superiority.toml')!r})\n"
    f"paper = rplsim.load_scenario({str(SCENARIOS / 'paper.toml')!r})\n"
)


def with_memory(t: Timing, code: str) -> float:
    """Record the peak RSS of ``code`` (a fresh process) on ``t``; return it."""
    peak, base = peak_rss_mb(code)
    t.peak_rss_mb = peak
    t.extra["rss_after_imports_mb"] = base
    return peak


def machine() -> dict[str, Any]:
    """CPU model, cores and RAM of this machine (Linux /proc), and the Python build."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gb = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": load,
    }


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("rplsim", "numpy", "pandas", "scipy", "simpy", "statsmodels"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "not installed"
    return out


def verdict(value: float, target: float) -> bool:
    return bool(value >= target)


# --------------------------------------------------------------------------- cases


def case_cohort(quick: bool, runs: int) -> Case:
    import rplsim

    sc = rplsim.load_scenario(SCENARIOS / "paper.toml")
    sizes = (10**4, 10**5) if quick else (10**4, 10**6)
    timings = []
    for n in sizes:
        timings.append(
            Timing(
                f"generate_cohort n={n:.0e}",
                n,
                "women",
                time_runs(lambda n=n: rplsim.generate_cohort(sc, n, seed=1), runs),
            )
        )
    n = sizes[-1]
    main = len(timings) - 1
    # The same cohort in one thread: what one core does (the default uses the machine's
    # cores, up to 4; the women are the same).
    timings.append(
        Timing(
            f"generate_cohort n={n:.0e}, threads=1",
            n,
            "women",
            time_runs(lambda: rplsim.generate_cohort(sc, n, seed=1, threads=1), runs),
        )
    )
    rng = np.random.default_rng(1)
    # The floor: the same number of raw normals (21 a woman, one per column), in one thread.
    base = Timing(
        f"numpy standard_normal ({n:.0e} x 21)",
        n,
        "women",
        time_runs(lambda: rng.standard_normal((n, 21)), runs),
    )
    with_memory(timings[main], f"rplsim.generate_cohort(paper, {n}, seed=1)")
    best = timings[main].throughput
    # The floor is one thread's draws, so the ratio is taken on the one-thread run: thread for
    # thread (the default run's ratio, against the same floor, is printed below the table).
    ratio = timings[-1].median / base.median
    return Case(
        1,
        "cohort generation",
        timings,
        base,
        target=f">= {TARGETS['cohort']:.0e} women/s at n={n:.0e}, and in one thread <= "
        f"{COHORT_FLOOR_RATIO:g}x the floor ({ratio:.2f}x)",
        target_met=verdict(best, TARGETS["cohort"]) and ratio <= COHORT_FLOOR_RATIO,
        main=main,
        target_rate=TARGETS["cohort"],
    )


def _timeline_baseline(event_counts: np.ndarray) -> None:
    """A minimal SimPy model: one process a woman, as many timeouts as her real events."""
    import simpy

    env = simpy.Environment()

    def woman(env: simpy.Environment, k: int, start: float):  # type: ignore[no-untyped-def]
        yield env.timeout(start)
        for _ in range(k - 1):
            yield env.timeout(1.0)

    for i, k in enumerate(event_counts.tolist()):
        env.process(woman(env, k, i * 0.01))
    env.run()


def case_timeline(quick: bool, runs: int) -> Case:
    import rplsim
    from rplsim.timeline import simulate_timeline

    sc = rplsim.load_scenario(SCENARIOS / "paper.toml")
    n = 2_000 if quick else 10_000
    cohort = rplsim.generate_cohort(sc, n, seed=1)
    res = simulate_timeline(cohort, sc)
    counts = res.events.groupby("patient_id").size().reindex(cohort["patient_id"], fill_value=1).to_numpy()
    t = Timing(
        f"simulate_timeline n={n:.0e}",
        n,
        "pregnancies",
        time_runs(lambda: simulate_timeline(cohort, sc), runs),
        extra={"events": int(counts.sum())},
    )
    base = Timing(
        f"bare SimPy, {int(counts.sum())} timeouts",
        n,
        "pregnancies",
        time_runs(lambda: _timeline_baseline(counts), runs),
    )
    return Case(
        2,
        "SimPy timeline",
        [t],
        base,
        target=f">= {TARGETS['timeline']:.0e} pregnancies/s",
        target_met=verdict(t.throughput, TARGETS["timeline"]),
        target_rate=TARGETS["timeline"],
        note="baseline = one SimPy process a woman with her real number of events",
    )


def case_twin(quick: bool, runs: int) -> Case:
    import rplsim
    from rplsim.timeline import N_UNIFORMS, simulate_twin

    sc = rplsim.load_scenario(SCENARIOS / "paper.toml")
    n = 10**5 if quick else 10**6
    cohort = rplsim.generate_cohort(sc, n, seed=1)
    t = Timing(f"simulate_twin n={n:.0e}", n, "women", time_runs(lambda: simulate_twin(cohort, sc), runs))
    rng = np.random.default_rng(1)
    base = Timing(
        f"numpy random ({n:.0e} x {N_UNIFORMS})",
        n,
        "women",
        time_runs(lambda: rng.random((n, N_UNIFORMS)), runs),
    )
    return Case(
        3,
        "vectorised twin",
        [t],
        base,
        target=f">= {TARGETS['twin']:.0e} women/s",
        target_met=verdict(t.throughput, TARGETS["twin"]),
        target_rate=TARGETS["twin"],
        note="baseline = the twin's per-woman uniforms drawn in one numpy call",
    )


def _chi2_loop(reps: int, n: int, p_c: float, p_t: float) -> None:
    """Per-replicate Python loop: H1 and null trial, binomial draws, scipy's chi-square."""
    from scipy.stats import chi2_contingency

    rng = np.random.default_rng(1)
    for _ in range(reps):
        for pt in (p_t, p_c):
            x_t, x_c = rng.binomial(n, pt), rng.binomial(n, p_c)
            table = np.array([[x_t, n - x_t], [x_c, n - x_c]])
            chi2_contingency(table, correction=False)


def case_power_count(quick: bool, runs: int, workers: int) -> Case:
    import rplsim
    from rplsim.trial.power import simulate_power, trial_design

    sc = rplsim.load_scenario(SCENARIOS / "trial_superiority.toml")
    reps = 20_000 if quick else 100_000
    timings = [
        Timing(
            f"simulate_power chi2 R={reps:.0e}, 100/arm, workers=1",
            reps,
            "replicates",
            time_runs(lambda: simulate_power(sc, n_per_arm=100, replicates=reps, seed=1), runs),
        )
    ]
    if workers > 1:
        timings.append(
            Timing(
                f"simulate_power chi2 R={reps:.0e}, workers={workers}",
                reps,
                "replicates",
                time_runs(
                    lambda: simulate_power(sc, n_per_arm=100, replicates=reps, seed=1, workers=workers), runs
                ),
            )
        )
        timings[-1].cpu_runs = []  # most of the work is in the workers: no CPU figure
    d = trial_design(sc)
    sub = 500 if quick else 2_000
    base = Timing(
        f"Python loop + scipy chi2_contingency ({sub} scaled)",
        reps,
        "replicates",
        scale_runs(time_runs(lambda: _chi2_loop(sub, 90, d.p_control, d.p_treatment), runs), reps / sub),
        scaled_from=sub,
    )
    small = reps // 10
    mem_small, _ = peak_rss_mb(f"simulate_power(sup, n_per_arm=100, replicates={small}, seed=1)")
    mem_big = with_memory(timings[0], f"simulate_power(sup, n_per_arm=100, replicates={reps}, seed=1)")
    timings[0].extra["peak_rss_mb_at_tenth_replicates"] = mem_small
    flat = mem_big <= mem_small * (1 + FLAT_MEMORY_TOLERANCE)
    speed_ok = verdict(timings[0].throughput, TARGETS["power_count"])
    return Case(
        4,
        "count-based power (chi2)",
        timings,
        base,
        target=f">= {TARGETS['power_count']:.0e} replicates/s (workers=1) and memory "
        f"flat in replicates ({mem_small:.0f} MB at {small:.0e}, {mem_big:.0f} MB "
        f"at {reps:.0e})",
        target_met=speed_ok and flat,
        target_rate=TARGETS["power_count"],
        note="a replicate = H1 trial + null trial; baseline does both too",
    )


def _logit_loop(reps: int, n: int, p_c: float, p_t: float) -> None:
    """Per-replicate loop: simulate a trial of 2n women, one statsmodels Logit fit per trial
    (H1 and null), adjusted for age and BMI as rplsim's logistic analysis is."""
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    for _ in range(reps):
        treat = np.repeat([1.0, 0.0], n)
        age = rng.normal(33, 4, 2 * n)
        bmi = rng.normal(22, 3, 2 * n)
        X = np.column_stack([np.ones(2 * n), treat, age - age.mean(), bmi - bmi.mean()])
        for pt in (p_t, p_c):
            y = (rng.random(2 * n) < np.where(treat == 1, pt, p_c)).astype(float)
            sm.Logit(y, X).fit(disp=0)


def case_power_logistic(quick: bool, runs: int) -> Case:
    import rplsim
    from rplsim.trial.power import power_with, simulate_power, trial_design

    sc = power_with(rplsim.load_scenario(SCENARIOS / "trial_superiority.toml"), analysis="logistic")
    reps = 2_048 if quick else 10_000
    t = Timing(
        f"simulate_power logistic R={reps:.0e}, 100/arm",
        reps,
        "replicates",
        time_runs(lambda: simulate_power(sc, n_per_arm=100, replicates=reps, seed=1), runs),
    )
    d = trial_design(sc)
    sub = 50 if quick else 200
    base = Timing(
        f"loop + statsmodels Logit ({sub} scaled)",
        reps,
        "replicates",
        scale_runs(time_runs(lambda: _logit_loop(sub, 90, d.p_control, d.p_treatment), runs), reps / sub),
        scaled_from=sub,
    )
    with_memory(
        t, f"simulate_power(power_with(sup, analysis='logistic'), n_per_arm=100, replicates={reps}, seed=1)"
    )
    return Case(
        5,
        "logistic-adjusted power",
        [t],
        base,
        target=f">= {TARGETS['power_logistic']:.0e} replicates/s",
        target_met=verdict(t.throughput, TARGETS["power_logistic"]),
        target_rate=TARGETS["power_logistic"],
        note="a replicate = H1 fit + null fit; baseline fits both too",
    )


def case_group_sequential(quick: bool, runs: int) -> Case:
    import rplsim
    from rplsim.trial.power import simulate_power

    gs = rplsim.load_scenario(SCENARIOS / "group_sequential.toml")
    sup = rplsim.load_scenario(SCENARIOS / "trial_superiority.toml")
    reps = 20_000 if quick else 100_000
    t = Timing(
        f"simulate_power 3 looks R={reps:.0e}, 100/arm",
        reps,
        "replicates",
        time_runs(lambda: simulate_power(gs, n_per_arm=100, replicates=reps, seed=1), runs),
    )
    base = Timing(
        f"same, 1 look (case 4) R={reps:.0e}",
        reps,
        "replicates",
        time_runs(lambda: simulate_power(sup, n_per_arm=100, replicates=reps, seed=1), runs),
    )
    return Case(
        6,
        "group-sequential power (3 looks)",
        [t],
        base,
        target="none set",
        note="baseline = the fixed design: the price of the interim looks",
    )


def case_end_to_end(quick: bool, runs: int) -> Case:
    def run_paper() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [*RPLSIM, "run", str(SCENARIOS / "paper.toml"), "--out", str(Path(tmp) / "out"), "--quiet"],
                check=True,
                cwd=ROOT,
                capture_output=True,
            )

    def import_only() -> None:
        subprocess.run([sys.executable, "-c", "import rplsim.app.cli"], check=True, cwd=ROOT)

    # A fresh process each time, so the warm-up only fills the OS file cache.
    n = 1 if quick else runs
    t = Timing("rplsim run scenarios/paper.toml --quiet", 1, "runs", time_runs(run_paper, n))
    base = Timing("python -c 'import rplsim.app.cli'", 1, "runs", time_runs(import_only, n))
    t.cpu_runs, base.cpu_runs = [], []  # the work is in a subprocess: no CPU figure
    return Case(
        7,
        "end to end (rplsim run paper.toml)",
        [t],
        base,
        target="none set",
        note="baseline = interpreter start + imports",
    )


def _slope(ns: list[float], secs: list[float]) -> float:
    return float(np.polyfit(np.log(ns), np.log(secs), 1)[0])


def case_scaling(quick: bool, runs: int) -> Case:
    import rplsim
    from rplsim.timeline import simulate_timeline
    from rplsim.trial.power import simulate_power

    paper = rplsim.load_scenario(SCENARIOS / "paper.toml")
    sup = rplsim.load_scenario(SCENARIOS / "trial_superiority.toml")
    r = max(3, runs // 2) if not quick else 3
    grids: dict[str, tuple[list[int], Callable[[int], object], str]] = {
        "cohort": (
            [10**3, 10**4, 10**5] if quick else [10**4, 10**5, 10**6],
            lambda n: rplsim.generate_cohort(paper, n, seed=1),
            "women",
        ),
        "timeline": (
            [300, 1_000, 3_000] if quick else [10**3, 10**4, 10**5],
            lambda n: simulate_timeline(cohorts[n], paper, events=False),
            "pregnancies",
        ),
        "power_count": (
            [2_048, 8_192, 32_768] if quick else [10**4, 10**5, 10**6],
            lambda n: simulate_power(sup, n_per_arm=100, replicates=n, seed=1),
            "replicates",
        ),
    }
    cohorts = {n: rplsim.generate_cohort(paper, n, seed=1) for n in grids["timeline"][0]}
    timings, slopes = [], {}
    for name, (ns, fn, unit) in grids.items():
        med = []
        for n in ns:
            # One run at the largest size in full mode: it alone takes seconds.
            k = 1 if (n == ns[-1] and not quick and name != "cohort") else r
            tm = Timing(f"{name} n={n:.0e}", n, unit, time_runs(lambda n=n, fn=fn: fn(n), k))
            timings.append(tm)
            med.append(tm.median)
        slopes[name] = _slope([float(n) for n in ns], med)
    ok = all(abs(s - 1) <= SLOPE_TOLERANCE for s in slopes.values())
    case = Case(
        8,
        "scaling (log-log slope of time vs n)",
        timings,
        None,
        target=f"slopes within 1 +- {SLOPE_TOLERANCE}: "
        + ", ".join(f"{k} {v:.2f}" for k, v in slopes.items()),
        target_met=ok,
        note="fixed per-call costs pull slopes below 1 at small n",
    )
    case.timings[0].extra["slopes"] = slopes
    return case


CASES: dict[int, Callable[[bool, int, int], Case]] = {
    1: lambda q, r, w: case_cohort(q, r),
    2: lambda q, r, w: case_timeline(q, r),
    3: lambda q, r, w: case_twin(q, r),
    4: lambda q, r, w: case_power_count(q, r, w),
    5: lambda q, r, w: case_power_logistic(q, r),
    6: lambda q, r, w: case_group_sequential(q, r),
    7: lambda q, r, w: case_end_to_end(q, r),
    8: lambda q, r, w: case_scaling(q, r),
}


# --------------------------------------------------------------------------- output


def _fmt_rate(x: float) -> str:
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if x >= div:
            return f"{x / div:.2f} {suffix}"
    return f"{x:.1f}"


def table(cases: list[Case]) -> str:
    head = (
        f"{'case':<5}{'workload':<58}{'median s':>10}{'min s':>10}{'max s':>10}"
        f"{'throughput /s':>26}{'per CPU s':>12}{'peak MB':>9}"
    )
    lines = [head, "-" * len(head)]
    for c in cases:
        lines.append(f"{c.number:<5}{c.name}")
        rows = [(t, "") for t in c.timings] + ([(c.baseline, "baseline: ")] if c.baseline else [])
        for t, prefix in rows:
            peak = f"{t.peak_rss_mb:.0f}" if t.peak_rss_mb is not None else ""
            label = (prefix + t.label)[:56]
            rate = f"{_fmt_rate(t.throughput)} {t.unit}"
            cpu = statistics.median(t.cpu_runs) if t.cpu_runs else 0.0
            per_cpu = _fmt_rate(t.items / cpu) if cpu > 0 else ""
            lines.append(
                f"{'':<5}{label:<58}{t.median:>10.4f}{min(t.runs):>10.4f}"
                f"{max(t.runs):>10.4f}{rate:>26}{per_cpu:>12}{peak:>9}"
            )
        if c.baseline and c.timings:
            ratio = c.baseline.throughput / c.timings[c.main].throughput
            lines.append(f"{'':<5}ours takes {ratio:.3g}x the baseline's time")
        word = {True: "MET", False: "NOT MET", None: "-"}
        cpu = "" if c.target_met_cpu is None else f" (on CPU time: {word[c.target_met_cpu]})"
        lines.append(f"{'':<5}target: {c.target} -> {word[c.target_met]}{cpu}")
        if c.note:
            lines.append(f"{'':<5}note: {c.note}")
    return "\n".join(lines)


def parse_cases(text: str) -> list[int]:
    try:
        chosen = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise SystemExit(f"--cases == {text!r}, must be comma-separated case numbers 1-8.") from None
    bad = [c for c in chosen if c not in CASES]
    if bad or not chosen:
        raise SystemExit(f"--cases == {text!r}, must be comma-separated case numbers 1-8.")
    return chosen


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 runs a case, smaller sizes")
    ap.add_argument("--cases", default="1,2,3,4,5,6,7,8", help="e.g. 1,4 (default: all)")
    ap.add_argument(
        "--out", type=Path, default=ROOT / "results" / "benchmarks", help="directory for <YYYY-MM-DD>.json"
    )
    ap.add_argument("--runs", type=int, default=None, help="timed runs a case (default 5, --quick 3)")
    ap.add_argument(
        "--workers", type=int, default=2, help="also time case 4 with this many processes (1: skip)"
    )
    args = ap.parse_args(argv)
    runs = args.runs or (3 if args.quick else 5)
    if runs < 1:
        raise SystemExit(f"--runs == {runs}, must be >= 1.")
    chosen = parse_cases(args.cases)
    warnings.simplefilter("ignore")  # calibration warnings are the scenario's, not timing's
    info = {
        "date": dt.date.today().isoformat(),
        "quick": args.quick,
        "runs": runs,
        "machine": machine(),
        "versions": versions(),
        "targets": TARGETS,
        "throughput_note": "power throughput is replicates/s; each replicate runs an H1 "
        "and a null trial (common random numbers)",
    }
    cases = []
    for c in chosen:
        t0 = time.perf_counter()
        cases.append(CASES[c](args.quick, runs, args.workers))
        print(f"[case {c} done in {time.perf_counter() - t0:.1f} s]", file=sys.stderr, flush=True)
    print(table(cases))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{info['date']}.json"
    path.write_text(json.dumps({**info, "cases": [c.record() for c in cases]}, indent=1))
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
