"""Smoke test of benchmarks/run.py (no timed assertions: timings depend on the machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_case_1_writes_valid_json(tmp_path: Path) -> None:
    res = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--quick",
            "--cases",
            "1",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
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
    assert case["timings"][case["main"]]["peak_rss_mb"] > 0  # the timing the target judges
