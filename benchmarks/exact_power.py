"""Benchmark (not a test): exact count-path power of the paper's design (issue 13, item 7).

    python benchmarks/exact_power.py [--runs 5] [--fisher] [--compare] [--sequential] [--designs]

Times ``rplsim.exact_power(paper, 85)`` (scenarios/paper.toml as shipped: 85 per arm
randomised, 10% dropout, permuted blocks of 4, two-sided chi2 at 5%) with the rejection-matrix
cache emptied before each run ("cold") and kept ("warm"), an exact power curve over n = 40..200
per arm from an empty cache, and, for scale, ``simulate_power`` at 85 per arm with 10,000
replicates, and the exact sample-size search ``exact_sample_size(paper)`` from an empty cache.
Targets (issue 13): one exact power <= 50 ms, the curve <= 2 s, the search <= 1 s. ``--fisher``
also times the same design analysed with Fisher's test (whole matrices: Fisher's two-sided test
is not convex, see rplsim.design.exact_counts). ``--compare`` prints max |threshold path - whole
matrices| of power, rejection and type-I error over a grid of designs (the decisions are the
same; only the summation order and the tails left out differ). ``--sequential`` times the
exact recursion of scenarios/group_sequential.toml without its dropout (3 looks, O'Brien-Fleming)
against ``simulate_power`` with 10,000 replicates. ``--designs`` prints, for every shipped
scenario with a trial, the exact n, its exact power and type-I error, the n from which power stays
above target and the search's time (or why the design is simulated).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import rplsim  # noqa: E402
from rplsim.design import exact_counts  # noqa: E402
from rplsim.trial.exact import exact_sample_size  # noqa: E402
from rplsim.trial.power import power_with  # noqa: E402


def _time(fn, runs: int, cold: bool) -> tuple[float, float, object]:
    out = None
    times = []
    for _ in range(runs):
        if cold:
            exact_counts._clear_cache()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--fisher", action="store_true")
    ap.add_argument("--compare", action="store_true")
    ap.add_argument("--sequential", action="store_true")
    ap.add_argument("--designs", action="store_true")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    paper = rplsim.load_scenario(ROOT / "scenarios" / "paper.toml")
    rplsim.exact_power(paper, 20)  # imports and the rates' solve, once
    rows = []

    med, low, res = _time(lambda: rplsim.exact_power(paper, 85), args.runs, cold=True)
    rows.append(("exact_power(paper, 85), chi2, cold cache", med, low, 0.050))
    med, low, _ = _time(lambda: rplsim.exact_power(paper, 85), args.runs, cold=False)
    rows.append(("exact_power(paper, 85), chi2, warm cache", med, low, 0.050))
    curve_n = range(40, 201)
    med, low, curve = _time(
        lambda: [rplsim.exact_power(paper, n).power for n in curve_n], max(1, args.runs // 2), cold=True
    )
    rows.append((f"exact curve n = 40..200 ({len(curve_n)} points), cold", med, low, 2.0))
    med, low, search = _time(lambda: exact_sample_size(paper), max(1, args.runs // 2), cold=True)
    rows.append(("exact_sample_size(paper), chi2, cold", med, low, 1.0))
    t0 = time.perf_counter()
    sim = rplsim.simulate_power(paper, 85, replicates=10_000)
    rows.append(
        ("simulate_power(paper, 85), 10,000 replicates", time.perf_counter() - t0, float("nan"), None)
    )
    if args.fisher:
        fisher = power_with(paper, analysis="fisher")
        med, low, fres = _time(lambda: rplsim.exact_power(fisher, 85), args.runs, cold=True)
        rows.append(("exact_power(paper, 85), fisher, cold cache", med, low, None))
        med, low, fcurve = _time(lambda: [rplsim.exact_power(fisher, n).power for n in curve_n], 1, cold=True)
        rows.append(("exact curve n = 40..200, fisher, cold", med, low, None))
        med, low, fsearch = _time(lambda: exact_sample_size(fisher), 1, cold=True)
        rows.append(("exact_sample_size(paper), fisher, cold", med, low, None))

    print(f"{'workload':<52} {'median s':>9} {'min s':>9} {'target s':>9}  ok")
    for name, med, low, target in rows:
        ok = "" if target is None else ("yes" if med <= target else "NO")
        tgt = "" if target is None else f"{target:.3f}"
        print(f"{name:<52} {med:9.4f} {low:9.4f} {tgt:>9}  {ok}")
    assert isinstance(res, rplsim.ExactPower)
    print(
        f"\npaper, 85/arm: exact power {res.power:.6f}, rejection {res.rejection:.6f}, "
        f"type-I error {res.type1_error:.6f}, analysed {res.analysed_mean:.1f} (both arms), "
        f"max_error {res.max_error:.1e}; simulated {sim.power:.4f} "
        f"[{sim.power_ci[0]:.4f}, {sim.power_ci[1]:.4f}], type-I {sim.type1_error:.4f}"
    )
    assert isinstance(search, rplsim.trial.ExactSampleSize)
    print(
        f"exact sample size: {search.n_per_arm}/arm (power {search.power:.6f}, type-I "
        f"{search.type1_error:.6f}); stays above target from {search.n_stays_above}; "
        f"searched n = {search.searched_from}..{search.searched_to}"
    )
    if args.fisher:
        print(f"fisher, 85/arm: exact power {fres.power:.6f}, type-I error {fres.type1_error:.6f}")
        print(
            f"fisher exact sample size: {fsearch.n_per_arm}/arm (power {fsearch.power:.6f}, type-I "
            f"{fsearch.type1_error:.6f}); stays above target from {fsearch.n_stays_above}; dips "
            f"{list(fsearch.dips)}"
        )
        drops = [n for n, a, b in zip(curve_n, fcurve, fcurve[1:], strict=False) if b < a]
        print(f"fisher curve: power drops from n to n + 1 at n = {drops[:12]}")
    pts = dict(zip(curve_n, curve, strict=True))  # type: ignore[arg-type]
    print("\nn/arm  exact power (chi2)")
    for n in range(40, 201, 20):
        print(f"{n:5d}  {pts[n]:.6f}")
    if args.compare:
        _compare()
    if args.sequential:
        _sequential(args.runs)
    if args.designs:
        _designs()
    return 0


def _sequential(runs: int) -> None:
    """Exact vs simulated power of the shipped group-sequential design without dropout."""
    sc = power_with(rplsim.load_scenario(ROOT / "scenarios" / "group_sequential.toml"), dropout=0.0)
    med, low, ex = _time(lambda: rplsim.exact_power(sc, 126), runs, cold=True)
    t0 = time.perf_counter()
    sim = rplsim.simulate_power(sc, 126, replicates=10_000)
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    es = exact_sample_size(sc)
    t_search = time.perf_counter() - t0
    assert isinstance(ex, rplsim.ExactPower)
    print(
        f"\ngroup_sequential, no dropout, 126/arm (3 looks): exact power {ex.power:.6f}, type-I "
        f"{ex.type1_error:.6f}, stop {[round(p, 4) for p in ex.stop_probability]}, expected n "
        f"{ex.expected_women:.1f} (H1) / {ex.expected_women_null:.1f} (H0) in {med * 1000:.1f} ms "
        f"(min {low * 1000:.1f}); simulated {sim.power:.4f} [{sim.power_ci[0]:.4f}, "
        f"{sim.power_ci[1]:.4f}], type-I {sim.type1_error:.4f} in {t_sim:.2f} s; exact n "
        f"{es.n_per_arm} (stays above from {es.n_stays_above}) in {t_search:.2f} s"
    )


def _designs() -> None:
    """Exact n, power, type-I error and stays-above of every shipped scenario with a trial."""
    from rplsim.trial.exact import not_covered

    print(f"\n{'scenario':<20} {'exact n':>7} {'power':>8} {'type-I':>8} {'stays':>6} {'dips':<14} {'s':>6}")
    for path in sorted(p for p in (ROOT / "scenarios").glob("*.toml") if not p.name.startswith("sweep")):
        try:
            sc = rplsim.load_scenario(path)
        except rplsim.ScenarioError:
            continue
        if sc.trial is None:
            continue
        why = not_covered(sc)
        if why is not None:
            print(f"{sc.name:<20} simulated: {why.split(': ', 2)[1][:80]}")
            continue
        exact_counts._clear_cache()
        t0 = time.perf_counter()
        es = exact_sample_size(sc)
        dt = time.perf_counter() - t0
        print(
            f"{sc.name:<20} {es.n_per_arm:7d} {es.power:8.4f} {es.type1_error:8.4f} "
            f"{es.n_stays_above:6d} {list(es.dips)!s:<14} {dt:6.2f}"
        )


def _compare() -> None:
    """max |thresholds - whole matrices| over a grid of designs (chi2, Farrington-Manning, Fisher)."""
    worst = 0.0
    count = 0
    grid = [
        (n, rates, kw)
        for n in (10, 25, 40, 60, 85)
        for rates in ((0.6, 0.807), (0.3, 0.45), (0.5, 0.5), (0.85, 0.95))
        for kw in (
            {"dropout": 0.1, "block_size": 4},
            {"dropout": 0.0, "block_size": 0, "alpha": 0.01},
            {"dropout": 0.2, "block_size": 6, "alternative": "larger"},
            {"dropout": 0.1, "block_size": 4, "alternative": "larger", "margin": 0.1},
        )
    ]
    grid += [
        (n, rates, {"analysis": "fisher", **kw})
        for n in (10, 25, 40)
        for rates in ((0.6, 0.807), (0.3, 0.45), (0.04, 0.2))
        for kw in (
            {"dropout": 0.1, "block_size": 4},
            {"block_size": 0},
            {"alternative": "larger", "block_size": 2},
        )
    ]
    for n, (pc, pt), kw in grid:
        fast = exact_counts._exact_power_counts(pc, pt, n, n, engine="thresholds", **kw)
        full = exact_counts._exact_power_counts(pc, pt, n, n, engine="full", **kw)
        diffs = (
            fast.power - full.power,
            fast.rejection - full.rejection,
            fast.type1_error - full.type1_error,
        )
        worst = max(worst, *(abs(d) for d in diffs))
        count += 1
    print(f"\nthreshold path vs whole matrices over {count} designs: max |difference| = {worst:.1e}")


if __name__ == "__main__":
    raise SystemExit(main())
