"""Simulated count-path power per trial: rplsim's ``simulate_power`` against rpact, in one run.

Usage::

    python benchmarks/count_path_vs_rpact.py            # ~1 minute on an idle 2-core machine
    python benchmarks/count_path_vs_rpact.py --quick    # ~15 s
    python benchmarks/count_path_vs_rpact.py --json out.json

The design is the paper's trial (``scenarios/trial_superiority.toml``): 85 women randomised per
arm, permuted blocks of 4, 10% dropout, placebo 65% vs IVIG 80.7% live births, two-sided
alpha 0.05, a fixed design. rplsim runs it with ``workers=1`` for each count analysis (``chi2``,
``fisher``). rpact (R, from Debian's ``r-cran-rpact``; skipped with a note when ``Rscript`` or
rpact is missing) runs the closest design it has: ``getSimulationRates`` on a one-look
``getDesignGroupSequential(kMax = 1, alpha = 0.025, sided = 1)`` (one-sided 0.025 = the
two-sided 0.05 test in the treatment's direction), two groups, ``pi2`` the placebo rate, the
*analysed* total (randomised less dropout, rounded to even) as ``plannedSubjects``: rpact has no
dropout, no blocks and no Fisher test (its statistic is the normal approximation), so rplsim's
Fisher rows are set against the same rpact run.

What is counted
---------------
* A **trial** is one simulated trial, analysed once. Every rplsim replicate is two trials: the
  trial under H1 and the trial under the null (the type-I error), on common random numbers.
  rpact simulates ``maxNumberOfIterations`` trials for each value of ``pi1``.
* ``rpact pi1=(p_c, p_t)`` gives power and type-I error, as one rplsim replicate does: the
  like-for-like comparison, trials per second on both sides.
* ``rpact pi1=p_t`` gives power alone. Its ratio sets rplsim's *replicates* per second against
  rpact's trials per second (the time to a power figure; rplsim's null trial counted as free).
* rpact's figure is its marginal cost, from the difference of two runs (``--iterations`` and a
  tenth of them), so its fixed set-up does not count against it; rplsim's is the median of
  ``--runs`` calls at ``--replicates`` (after a warm-up call, which fills the per-scenario
  caches), the call's own ``seconds``.
* **floor**: the same numpy draws as the count path (block stream, hypergeometric last
  block, binomial dropout, binomial stratum split, binomial births under H1 and the null),
  timed alone: what the simulation cannot go below while it keeps its random numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "trial_superiority.toml"
N_PER_ARM = 85
ANALYSES = ("chi2", "fisher")
#: The issue's target: rplsim trials per second over rpact's.
TARGET_RATIO = 20.0

_R_PROGRAM = r"""
suppressMessages(library(rpact))
args <- commandArgs(trailingOnly = TRUE)
pc <- as.numeric(args[1]); pt <- as.numeric(args[2]); n <- as.integer(args[3])
it <- as.integer(args[4]); runs <- as.integer(args[5])
d <- getDesignGroupSequential(kMax = 1, alpha = 0.025, sided = 1)
time_one <- function(pi1, iters) {
  t <- system.time(getSimulationRates(d, groups = 2, pi1 = pi1, pi2 = pc, plannedSubjects = n,
                                      maxNumberOfIterations = iters, seed = 1))
  paste(t[["elapsed"]], t[["user.self"]] + t[["sys.self"]])
}
invisible(time_one(pt, 100))  # warm-up: byte-compilation and the first allocations
for (cfg in c("alt", "both")) {
  pi1 <- if (cfg == "alt") pt else c(pc, pt)
  for (r in seq_len(runs)) {
    cat(cfg, it, time_one(pi1, it), it %/% 10, time_one(pi1, it %/% 10), "\n")
  }
}
s <- getSimulationRates(d, groups = 2, pi1 = c(pc, pt), pi2 = pc, plannedSubjects = n,
                        maxNumberOfIterations = it %/% 10, seed = 1)
cat("reject", s$overallReject, "\n")
cat("version", as.character(packageVersion("rpact")), "\n")
"""


def _median(xs: list[float]) -> float:
    return float(statistics.median(xs))


class Rplsim:
    """``simulate_power`` (workers=1) on the paper's trial with one analysis, timed call by call."""

    def __init__(self, analysis: str, replicates: int) -> None:
        import rplsim
        from rplsim.trial.power import power_with, simulate_power

        self.analysis, self.replicates = analysis, replicates
        self._run = simulate_power
        self.sc = power_with(rplsim.load_scenario(SCENARIO), analysis=analysis)
        self._run(self.sc, n_per_arm=N_PER_ARM, replicates=1024, seed=1)  # warm-up: caches
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def once(self) -> None:
        c0 = time.process_time()
        self.res = self._run(self.sc, n_per_arm=N_PER_ARM, replicates=self.replicates, seed=1)
        self.cpu.append(time.process_time() - c0)
        self.wall.append(self.res.seconds)

    def record(self) -> dict[str, Any]:
        w, c = _median(self.wall), _median(self.cpu)
        return {
            "analysis": self.analysis,
            "replicates": self.replicates,
            "median_s": w,
            "median_cpu_s": c,
            "replicates_per_s": self.replicates / w,
            "trials_per_s": 2 * self.replicates / w,
            "replicates_per_cpu_s": self.replicates / c,
            "trials_per_cpu_s": 2 * self.replicates / c,
            "power": self.res.power,
            "type1_error": self.res.type1_error,
            "p_control": self.res.p_control,
            "p_treatment": self.res.p_treatment,
            "dropout": float(self.res.extra["dropout"]),
        }


class Floor:
    """The count path's numpy draws alone, for the paper's trial (the same shapes and calls)."""

    def __init__(self, replicates: int) -> None:
        import rplsim
        from rplsim.trial.simulation import REPLICATE_BLOCK, trial_design

        sc = rplsim.load_scenario(SCENARIO)
        self.trial = sc.require_trial()
        self.d = trial_design(sc)
        self.blocks = -(-replicates // REPLICATE_BLOCK)
        self.replicates = self.blocks * REPLICATE_BLOCK
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self._draws()

    def _draws(self) -> None:
        from rplsim._core.rng import child_generator
        from rplsim.trial.randomisation import multinomial_rows, treated_counts
        from rplsim.trial.simulation import REPLICATE_BLOCK

        r, n_total = REPLICATE_BLOCK, 2 * N_PER_ARM
        p_c, p_t, w = self.d.stratum_rates[0], self.d.stratum_rates[1], self.d.stratum_weights
        keep = 1 - self.trial.dropout
        for b in range(self.blocks):
            g = child_generator(1, "trial-counts", b)
            t = treated_counts(g, r, n_total, 1.0, self.trial.block_size)
            s_t = multinomial_rows(g, g.binomial(t, keep), w)
            g.binomial(s_t, p_t)
            s_c = multinomial_rows(g, g.binomial(n_total - t, keep), w)
            g.binomial(s_c, p_c)
            g.binomial(s_t, p_c)  # the null's treated births

    def once(self) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        self._draws()
        self.cpu.append(time.process_time() - c0)
        self.wall.append(time.perf_counter() - t0)

    def record(self) -> dict[str, Any]:
        w, c = _median(self.wall), _median(self.cpu)
        return {
            "replicates": self.replicates,
            "median_s": w,
            "median_cpu_s": c,
            "replicates_per_s": self.replicates / w,
            "replicates_per_cpu_s": self.replicates / c,
        }


class Rpact:
    """rpact's ``getSimulationRates`` in an ``Rscript`` per round; ``skipped`` says why not."""

    def __init__(self, p_c: float, p_t: float, n_analysed: int, iterations: int) -> None:
        self.args = [str(p_c), str(p_t), str(n_analysed), str(iterations), "1"]
        self.iterations, self.n_analysed = iterations, n_analysed
        self.rows: dict[str, list[list[float]]] = {"alt": [], "both": []}
        self.info: dict[str, Any] = {}
        rscript = shutil.which("Rscript")
        self.skipped = "" if rscript else "Rscript not found (apt-get install r-base-core r-cran-rpact)"
        self.rscript = rscript or ""

    def once(self) -> None:
        if self.skipped:
            return
        proc = subprocess.run(
            [self.rscript, "-e", _R_PROGRAM, *self.args], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            self.skipped = f"rpact did not run: {proc.stderr.strip().splitlines()[-1:]}"
            return
        for line in proc.stdout.splitlines():
            f = line.split()
            if f[0] in self.rows:  # cfg, it, wall, cpu, it/10, wall, cpu
                self.rows[f[0]].append([float(x) for x in (f[2], f[3], f[5], f[6])])
            elif f[0] == "reject":
                self.info["overall_reject"] = [float(x) for x in f[1:]]
            elif f[0] == "version":
                self.info["version"] = f[1]

    def record(self) -> dict[str, Any]:
        if self.skipped:
            return {"skipped": self.skipped}
        out: dict[str, Any] = {"iterations": self.iterations, "plannedSubjects": self.n_analysed}
        out.update(self.info)
        it = self.iterations
        for cfg, n_pi1 in (("alt", 1), ("both", 2)):
            wall, cpu, wall10, cpu10 = (_median([r[j] for r in self.rows[cfg]]) for j in range(4))

            def marginal(big: float, small: float, n_pi1: int = n_pi1) -> float:
                # per-trial cost from the difference of the two runs: rpact's set-up cancels
                return n_pi1 * (it - it // 10) / max(big - small, 1e-9)

            out[cfg] = {
                "pi1_values": n_pi1,
                "median_s": wall,
                "median_cpu_s": cpu,
                "median_s_tenth": wall10,
                "trials_per_s": marginal(wall, wall10),
                "trials_per_cpu_s": marginal(cpu, cpu10),
                "trials_per_s_total": n_pi1 * it / wall,
            }
        return out


def _rate(x: float) -> str:
    return f"{x / 1e6:.2f} M" if x >= 1e6 else f"{x / 1e3:.1f} k"


def report(res: dict[str, Any]) -> str:
    """The table: per analysis, rplsim trials/s, rpact trials/s and the ratios (CPU and wall)."""
    rp, fl, first = res["rpact"], res["floor"], res["rplsim"][0]
    lines = [
        f"paper's trial: {N_PER_ARM}/arm randomised, {first['dropout']:.0%} dropout, "
        f"p_c {first['p_control']:.3f}, p_t {first['p_treatment']:.3f}, alpha 0.05 two-sided, "
        f"fixed design; workers=1; load average at start {res['load_average']}",
        "",
        f"{'':40s}{'trials/CPU s':>14s}{'trials/s':>11s}{'replicates/CPU s':>18s}",
    ]
    for r in res["rplsim"]:
        lines.append(
            f"{'rplsim ' + r['analysis'] + ' R=' + format(r['replicates'], ','):40s}"
            f"{_rate(r['trials_per_cpu_s']):>14s}{_rate(r['trials_per_s']):>11s}"
            f"{_rate(r['replicates_per_cpu_s']):>18s}"
            f"   power {r['power']:.4f}, type I {r['type1_error']:.4f}"
        )
    lines.append(
        f"{'floor: the count path draws alone':40s}{_rate(2 * fl['replicates_per_cpu_s']):>14s}"
        f"{_rate(2 * fl['replicates_per_s']):>11s}{_rate(fl['replicates_per_cpu_s']):>18s}"
    )
    if "skipped" in rp:
        lines.append(f"rpact: skipped — {rp['skipped']}")
        return "\n".join(lines)
    for cfg, label in (("both", "pi1=(p_c,p_t)"), ("alt", "pi1=p_t")):
        lines.append(
            f"{'rpact ' + rp['version'] + ' ' + label:40s}{_rate(rp[cfg]['trials_per_cpu_s']):>14s}"
            f"{_rate(rp[cfg]['trials_per_s']):>11s}   (with its set-up: "
            f"{_rate(rp[cfg]['trials_per_s_total'])}/s; {rp['iterations']:,} iterations, "
            f"plannedSubjects {rp['plannedSubjects']})"
        )
    lines += [
        "",
        f"ratio, CPU time (wall)   target >= {TARGET_RATIO:g}x   like for like      power only",
    ]

    def ratios(rate_cpu: float, rate_wall: float, label: str) -> str:
        like = (rate_cpu / rp["both"]["trials_per_cpu_s"], rate_wall / rp["both"]["trials_per_s"])
        alone = (rate_cpu / 2 / rp["alt"]["trials_per_cpu_s"], rate_wall / 2 / rp["alt"]["trials_per_s"])
        return f"{label:40s}{like[0]:>6.1f}x ({like[0 + 1]:.1f}x){alone[0]:>9.1f}x ({alone[1]:.1f}x)"

    for r in res["rplsim"]:
        lines.append(ratios(r["trials_per_cpu_s"], r["trials_per_s"], f"rplsim {r['analysis']} / rpact"))
    lines.append(ratios(2 * fl["replicates_per_cpu_s"], 2 * fl["replicates_per_s"], "floor / rpact"))
    lines.append(
        "like for like: trials/s over rpact's pi1=(p_c,p_t) trials/s (power and type I error on "
        "both sides);\npower only: rplsim replicates/s over rpact's pi1=p_t trials/s (rplsim's "
        "null trial counted as free). rpact: marginal rate (set-up excluded)."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs (about 15 s)")
    ap.add_argument("--replicates", type=int, default=None, help="rplsim replicates a call")
    ap.add_argument("--iterations", type=int, default=None, help="rpact maxNumberOfIterations")
    ap.add_argument("--runs", type=int, default=None, help="timed runs of each (median)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    a = ap.parse_args(argv)
    reps = a.replicates or (20_480 if a.quick else 102_400)
    iters = a.iterations or (20_000 if a.quick else 100_000)
    runs = a.runs or (2 if a.quick else 3)
    warnings.simplefilter("ignore")  # calibration notes of the cohort model: not timed here
    res: dict[str, Any] = {"load_average": tuple(round(x, 2) for x in os.getloadavg())}
    ours = [Rplsim(an, reps) for an in ANALYSES]
    floor = Floor(reps)
    r0 = ours[0].sc.require_trial()
    from rplsim.trial.simulation import trial_design

    d = trial_design(ours[0].sc)
    n_analysed = 2 * round(N_PER_ARM * (1 - r0.dropout))
    rpact = Rpact(d.p_control, d.p_treatment, n_analysed, iters)
    timed: list[Rplsim | Floor | Rpact] = [*ours, floor, rpact]
    for _ in range(runs):  # rounds: each side sees the same load on a shared machine
        for x in timed:
            x.once()
    res["rplsim"] = [x.record() for x in ours]
    res["floor"] = floor.record()
    res["rpact"] = rpact.record()
    print(report(res))
    if a.json:
        a.json.write_text(json.dumps(res, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
