"""Smoke test of benchmarks/run.py (no timed assertions: timings depend on the machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_case_1_writes_valid_json(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--cases", "1",
         "--out", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert res.returncode == 0, res.stderr
    assert "cohort generation" in res.stdout
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert {"machine", "versions", "cases"} <= data.keys()
    assert data["machine"]["cores"] >= 1
    (case,) = data["cases"]
    assert case["case"] == 1 and case["baseline"] is not None
    for t in [*case["timings"], case["baseline"]]:
        assert len(t["runs"]) == 3
        assert 0 < t["min_s"] <= t["median_s"] <= t["max_s"]
        assert t["throughput_per_s"] > 0
    assert case["timings"][-1]["peak_rss_mb"] > 0


def test_fast_trial_sampler_is_bit_identical() -> None:
    """The trial's marker-free cohort path gives exactly generate_cohort's columns."""
    import numpy as np

    import rplsim
    from rplsim.cohort.generate import _cohort_arrays
    from rplsim.trial.simulation import _eligible_arrays, _eligible_pool

    sc = rplsim.load_scenario(ROOT / "scenarios" / "trial_superiority.toml")
    for n, strata in ((20_000, None), (9_000, ("KA", "IA"))):
        df = rplsim.generate_cohort(sc, n, seed=5, strata=strata)
        d = _cohort_arrays(sc.cohort, n, 5, strata, full=False)
        assert np.array_equal(d["stratum"], df["stratum"].cat.codes.to_numpy())
        assert np.array_equal(d["profile"], df["immune_profile"].cat.codes.to_numpy())
        for col in ("age", "bmi", "previous_miscarriages"):
            assert np.array_equal(d[col], df[col].to_numpy())
    pool = _eligible_pool(sc.cohort, ("KA", "IA"), 3, 10_000, 42)
    fast = _eligible_arrays(sc.cohort, ("KA", "IA"), 3, 10_000, 42)
    assert np.array_equal(fast["age"], pool["age"].to_numpy())
    assert np.array_equal(fast["previous_miscarriages"],
                          pool["previous_miscarriages"].to_numpy())
