"""Benchmark (not a test): ``rplsim fit`` of the paper (issue 18).

    python benchmarks/fit.py [--json F] [--de]

Times the fit of scenarios/paper.toml to scenarios/targets/han2025.toml, the default way
(Nelder-Mead, 5 free keys, 40 cohorts of 466 women an evaluation) against the target of 5
minutes on 2 cores, one objective evaluation alone (evaluate_targets: 18,640 women, the timeline's
twin, 82 statistics), and with ``--de`` the differential-evolution search (budget 1,500
evaluations, 200 s). The cohort-generation speed target of issue 18 (>= 3 M women/s) is case 1 of
``benchmarks/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from rplsim import evaluate_targets, fit, load_scenario, load_targets

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None)
    ap.add_argument("--de", action="store_true", help="also the differential-evolution search")
    args = ap.parse_args(argv)
    sc = load_scenario(ROOT / "scenarios" / "paper.toml")
    targets = load_targets(ROOT / "scenarios" / "targets" / "han2025.toml")
    out: dict[str, Any] = {"machine": {"cores": os.cpu_count(), "platform": platform.platform()}}
    evaluate_targets(sc, targets, replicates=40)  # warm
    t0 = time.perf_counter()
    for _ in range(10):
        evaluate_targets(sc, targets, replicates=40)
    one = (time.perf_counter() - t0) / 10
    out["evaluation_s"] = one
    print(f"one evaluation (40 cohorts of 466 women, 82 targets): {one * 1000:.0f} ms")
    for method, budget, seconds in (("nelder-mead", 400, 240.0), ("differential-evolution", 1500, 200.0)):
        if method != "nelder-mead" and not args.de:
            continue
        t0 = time.perf_counter()
        res = fit(sc, targets, method=method, budget=budget, budget_seconds=seconds)
        wall = time.perf_counter() - t0
        out[method] = {
            "seconds": wall, "evaluations": res.evaluations, "before": res.objective_before,
            "after": res.objective_after, "parameters": res.parameters.to_dict("records"),
        }  # fmt: skip
        print(
            f"{method}: {wall:.1f} s, {res.evaluations} evaluations, sum z^2 {res.objective_before:.1f} -> "
            f"{res.objective_after:.1f}; target <= 300 s: {'met' if wall <= 300 else 'missed'}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
