"""Issue 20, a results folder you cannot lose: races and SIGKILL, in real processes.

The in-process cases (lock, repair, restore, refusals) are in tests/outputs/test_folder.py and
tests/sweep/; here are only the ones that need a process to die or two to run at once. A kill
at a chosen stage is a process that SIGKILLs itself there (exact, not a race with a timer); the
timed kills of a real ``rplsim run`` are the adversary's version.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rplsim.outputs.folder import results_folder, sha256_file

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and flock")

ROOT = Path(__file__).resolve().parents[2]
PAPER = ROOT / "scenarios" / "paper.toml"

# Writes `final` with --force and SIGKILLs itself at a stage: "writing" (a file written into the
# temporary folder) or "between" (after the old folder is renamed aside, before the new one is in).
KILL_AT = """
import os, signal, sys
from pathlib import Path
from rplsim.outputs.folder import results_folder
final, stage = Path(sys.argv[1]), sys.argv[2]
real = Path.rename
def rename(self, target):
    if stage == "between" and self.name.startswith(".tmp-"):
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, target)
Path.rename = rename
with results_folder(final, force=True) as f:
    f.text("a.txt", "new")
    if stage == "writing":
        os.kill(os.getpid(), signal.SIGKILL)
"""

# A `sweep --force` over `out` that SIGKILLs itself once its first new point is written.
KILL_SWEEP = """
import os, signal, sys
from rplsim.sweep.grid import plan_sweep
from rplsim.sweep.run import run_sweep
plan = plan_sweep(sys.argv[2], ["sweep.n_per_arm=60", "sweep.replicates=1024", "scenario.seed=9"],
                  {"trial.control_lbr": [0.6, 0.65], "trial.analysis": ["chi2"], "trial.dropout": [0.1]})
run_sweep(plan, sys.argv[1], workers=1, force=True,
          on_point=lambda done, total: os.kill(os.getpid(), signal.SIGKILL))
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _complete(folder: Path) -> None:
    """``folder`` is a whole results folder: its manifest lists every file, with its sha256."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    listed = {f["name"]: f["sha256"] for f in manifest["files"]}
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert on_disk == set(listed) | {"manifest.json"}
    assert all(sha256_file(folder / n) == h for n, h in listed.items())


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["writing", "between"])
def test_sigkill_while_replacing_loses_nothing(stage, tmp_path):
    final = tmp_path / "demo"
    with results_folder(final) as f:
        f.text("a.txt", "old")
    old = _snapshot(final)
    res = _python(KILL_AT, str(final), stage)
    assert res.returncode == -signal.SIGKILL, res.stderr
    left = sorted(p.name for p in tmp_path.iterdir())
    if stage == "writing":
        assert _snapshot(final) == old, "nothing partial at the target"
        assert any(n.startswith(".tmp-demo-") for n in left), left
    else:
        assert not final.exists() and any(n.startswith(".old-demo-") for n in left), left
    said: list[str] = []
    with results_folder(final, force=True, say=said.append) as f:  # the lock died with its process
        assert _snapshot(final) == old, "the previous results are back before anything else"
        f.text("a.txt", "newer")
    assert said, "the repair is reported"
    assert (final / "a.txt").read_text() == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"], "no leftover, no lock file"


@pytest.mark.slow
def test_two_runs_to_one_out_started_together(tmp_path):
    out = tmp_path / "D"
    cmd = [sys.executable, "-m", "rplsim", "--quiet", "run", str(PAPER), "--set", "cohort.n=200"]
    cmd += ["--replicates", "2", "--out", str(out), "--format", "svg"]  # SVG alone: 6 s less a run
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    err = next(e for rc, e in results if rc == 2).strip().splitlines()
    assert len(err) == 1 and (
        ("another rplsim run (pid" in err[0] and "is writing it" in err[0]) or "exists" in err[0]
    ), err
    _complete(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["D"]


@pytest.mark.slow
def test_timed_sigkill_of_a_real_run_force_leaves_the_old_results(tmp_path):
    out = tmp_path / "D"
    with results_folder(out) as f:
        f.text("report.md", "the old results\n")
    old = _snapshot(out)
    cmd = [sys.executable, "-m", "rplsim", "--quiet", "run", str(PAPER), "--set", "cohort.n=200"]
    cmd += ["--replicates", "2", "--out", str(out), "--force"]
    for delay in (0.5, 1.5, 2.5, 3.0):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        rc = proc.wait(timeout=60)
        if rc == 0:  # finished before the kill: the new results are complete; start again from them
            _complete(out)
            old = _snapshot(out)
            continue
        assert rc == -signal.SIGKILL
        if out.exists():
            assert _snapshot(out) == old, f"killed at {delay} s: the old results, whole"
        else:  # killed between the two renames: the next run restores them
            assert any(p.name.startswith(".old-D-") for p in tmp_path.iterdir())
    said: list[str] = []
    with results_folder(out, force=True, say=said.append):
        assert _snapshot(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["D"]
    assert os.listdir(out) == ["manifest.json"]


@pytest.mark.slow
def test_sigkill_of_sweep_force_midway_keeps_the_old_points_byte_identical(tmp_path):
    from rplsim.sweep.grid import plan_sweep
    from rplsim.sweep.run import run_sweep

    example = ROOT / "scenarios" / "sweep_example.toml"
    out = tmp_path / "sweep"
    plan = plan_sweep(
        example,
        ["sweep.n_per_arm=60", "sweep.replicates=1024"],
        {"trial.control_lbr": [0.6, 0.65], "trial.analysis": ["chi2"], "trial.dropout": [0.1]},
    )
    run_sweep(plan, out, workers=1)
    old = _snapshot(out)
    res = _python(KILL_SWEEP, str(out), str(example))
    assert res.returncode == -signal.SIGKILL, res.stderr
    assert _snapshot(out) == old, "points.csv, sweep.png and manifest.json untouched"
    said: list[str] = []
    again = run_sweep(plan, out, workers=1, resume=True, say=said.append)
    assert again.computed == 0 and again.resumed == 2
    assert said == [f"removed 1 stale temporary folder(s) of a killed run beside {out}"]
    assert (out / "points.csv").read_bytes() == old["points.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep"]
