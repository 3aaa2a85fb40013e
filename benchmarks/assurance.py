"""Benchmark (not a test): assurance of the paper's trial under scenarios/assurance.toml (issue 15).

    python benchmarks/assurance.py [--runs 5] [--json out.json] [--no-peer]

Times, on the shipped scenarios/assurance.toml (the paper's trial, 83 randomised per arm: the
exact n for 80% power; 10% dropout, blocks of 4, two-sided chi2 at 5%):

1. **exact assurance at one n** under the evidence-based prior: ``rplsim.assurance(sc, 83)``
   with every cache emptied first ("cold": thresholds searched, the power at the prior means
   enumerated) and warm; and the quadrature alone (``exact_assurance_counts``). Target <= 0.5 s.
2. **simulated assurance, 20,000 prior draws on the count path**: ``assurance(...,
   method="simulated")``, cold (first call of the process for the scenario) and warm.
   Target <= 1 s.
3. **the full assurance curve**: 3 priors x the ~11 n of the run's curve (a quarter to 32 times
   83 per arm, log-spaced, and 83), one ``assurance`` per point, from empty caches. Target <= 30 s.
4. **the whole assurance stage of ``rplsim run``** (the curve plus the searches for 80%).

Peers, same run: (a) the method of R ``bayesassurance::bayes_sim_betabin`` (draw both rates, draw
binomial counts, test; here written in vectorised numpy with the evidence-based prior's draws,
exactly n analysed per arm and Pearson's chi-square: no dropout, no blocks), 20,000 draws: the
floor of a simulated assurance; (b) skipped with a note when ``Rscript`` or gsDesign is missing: gsDesign's
``gsPOS`` for a one-look design with the normal prior of the effect on a 100-point grid (its
documented use), the probability of success on the normal-approximation scale. It is timed only
for scale: it does not run this trial (no dropout, no blocks, no exact test).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import rplsim  # noqa: E402
from rplsim.design import exact_counts  # noqa: E402
from rplsim.design.assurance import exact_assurance_counts  # noqa: E402
from rplsim.planning.assurance_stage import _grid, assess_assurance  # noqa: E402
from rplsim.trial import assurance as assurance_module  # noqa: E402
from rplsim.trial.assurance import assurance, scenario_priors  # noqa: E402

N = 83
TARGETS = {"exact_one_n": 0.5, "simulated_20k": 1.0, "curve": 30.0}


def _clear() -> None:
    exact_counts._clear_cache()
    assurance_module._rate_spline.cache_clear()


def _median(fn, runs: int, cold: bool) -> tuple[float, float, object]:
    times = []
    out = None
    for _ in range(runs):
        if cold:
            _clear()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), out


R_PEER = r"""
suppressMessages(library(gsDesign))
x <- gsDesign(k = 2, test.type = 1, alpha = 0.025, beta = 0.2, delta = 0.1, timing = c(0.999, 1),
              sfu = sfLDOF)
grid <- normalGrid(mu = 0.1, sigma = 0.06, bounds = c(-4, 4), gridpoints = 100)
t0 <- proc.time()[["elapsed"]]
for (i in 1:200) p <- gsPOS(x, theta = grid$z, wgts = grid$wgts)
cat(sprintf("%.6f %.6f\n", (proc.time()[["elapsed"]] - t0) / 200, p))
"""


def _peer() -> dict[str, object]:
    if shutil.which("Rscript") is None:
        return {"skipped": "Rscript not found (gsDesign: r-cran-gsdesign where the Debian mirror has it)"}
    run = subprocess.run(["Rscript", "-e", R_PEER], capture_output=True, text=True, timeout=120, check=False)
    if run.returncode != 0:
        return {"skipped": f"gsDesign not available: {run.stderr.strip().splitlines()[-1:]}"}
    seconds, pos = (float(v) for v in run.stdout.split())
    return {"gsPOS_seconds": seconds, "gsPOS_value": pos}


def _betabin_peer(joint: object, n: int, draws: int, seed: int = 1) -> float:
    """bayes_sim_betabin's method in numpy: rates from the prior, binomial counts, Pearson chi2."""
    import numpy as np
    from scipy import stats

    rng = np.random.default_rng(seed)
    pc, pt = joint.sample(rng, draws)  # type: ignore[attr-defined]
    x_c, x_t = rng.binomial(n, pc), rng.binomial(n, pt)
    pooled = (x_c + x_t) / (2 * n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x_t - x_c) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    return float(np.mean(np.nan_to_num(z) >= stats.norm.ppf(0.975)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", default=None)
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args(argv)
    sc = rplsim.load_scenario(ROOT / "scenarios" / "assurance.toml")
    trial = sc.require_trial()
    priors = scenario_priors(sc)
    head = next(iter(priors.values()))
    out: dict[str, object] = {"n_per_arm": N}

    def exact_one() -> object:
        return assurance(sc, N, prior=head)

    def quadrature() -> object:
        return exact_assurance_counts(head, N, N, analysis=trial.analysis, alpha=trial.alpha,
                                      alternative=trial.alternative, dropout=trial.dropout,
                                      block_size=trial.block_size)  # fmt: skip

    def simulated() -> object:
        return assurance(sc, N, prior=head, method="simulated", replicates=20_000)

    rows = []
    for name, fn, cold in (
        ("exact assurance at 83/arm, cold", exact_one, True),
        ("exact assurance at 83/arm, warm", exact_one, False),
        ("  of which the quadrature, cold", quadrature, True),
        ("simulated, 20,000 draws, cold", simulated, True),
        ("simulated, 20,000 draws, warm", simulated, False),
        ("peer: bayes_sim_betabin's method, numpy, 20,000", lambda: _betabin_peer(head, 75, 20_000), False),
    ):
        med, low, res = _median(fn, args.runs, cold)
        rows.append((name, med, low))
        value = res if isinstance(res, float) else getattr(res, "assurance", None)
        out[name] = {"median_s": med, "min_s": low, "value": value}
    ns = _grid(N)
    t0 = time.perf_counter()
    _clear()
    curve = {label: [assurance(sc, n, prior=jp).assurance for n in ns] for label, jp in priors.items()}
    t_curve = time.perf_counter() - t0
    rows.append((f"curve: {len(priors)} priors x {len(ns)} n, cold", t_curve, t_curve))
    out["curve"] = {"seconds": t_curve, "n": ns, "assurance": curve}
    t0 = time.perf_counter()
    _clear()
    stage = assess_assurance(sc, N)
    t_stage = time.perf_counter() - t0
    rows.append(("whole stage (curve + searches), cold", t_stage, t_stage))
    out["stage"] = {
        "seconds": t_stage,
        "points": len(stage.curve),
        "n_for_target": {a.label: a.n_for_target for a in stage.answers},
    }
    exact = out["exact assurance at 83/arm, cold"]["value"]  # type: ignore[index]
    sim = out["simulated, 20,000 draws, warm"]["value"]  # type: ignore[index]
    print(f"{'workload':45s} {'median s':>9s} {'min s':>9s}")
    for name, med, low in rows:
        print(f"{name:45s} {med:9.3f} {low:9.3f}")
    print(f"exact {exact:.5f} vs simulated {sim:.5f} (20,000 draws)")
    checks = {
        "exact_one_n": out["exact assurance at 83/arm, cold"]["median_s"],  # type: ignore[index]
        "simulated_20k": out["simulated, 20,000 draws, cold"]["median_s"],  # type: ignore[index]
        "curve": t_curve,
    }
    for key, seconds in checks.items():
        verdict = "MET" if seconds <= TARGETS[key] else "MISSED"
        print(f"target {key}: <= {TARGETS[key]} s, measured {seconds:.3f} s -> {verdict}")
    out["targets"] = {k: {"target_s": TARGETS[k], "seconds": v} for k, v in checks.items()}
    agreement = {}
    print(
        f"{'prior':16s} {'exact':>9s} {'simulated':>10s} {'SE':>8s} {'z':>6s}   (at 83 per arm, 20,000 draws)"
    )
    for label, jp in priors.items():
        ex = assurance(sc, N, prior=jp)
        si = assurance(sc, N, prior=jp, method="simulated", replicates=20_000)
        z = (si.assurance - ex.assurance) / si.error
        agreement[label] = {"exact": ex.assurance, "simulated": si.assurance, "se": si.error, "z": z}
        print(f"{label:16s} {ex.assurance:9.5f} {si.assurance:10.5f} {si.error:8.5f} {z:6.2f}")
    out["agreement"] = agreement
    if not args.no_peer:
        out["peer"] = _peer()
        print(f"peer: {out['peer']}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
