"""The ``rplsim`` command line: exit codes, one-line errors, atomic results folders.

Most cases call :func:`rplsim.cli.main` in-process (fast); the ones that are about the process
itself (``python -m rplsim.cli``, no traceback on stderr, SIGTERM) use a subprocess.
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

from rplsim.app.cli import main
from rplsim.outputs.folder import sha256_file

ROOT = Path(__file__).resolve().parents[2]
PAPER = ROOT / "scenarios" / "paper.toml"
QUICK = ["--replicates", "2", "--set", "cohort.n=200"]


@pytest.fixture(autouse=True)
def _keep_sigterm_handler():
    # main() installs a SIGTERM handler; do not leave it behind in the test process
    old = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, old)


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rplsim", "--quiet", *args], capture_output=True, text=True, timeout=timeout
    )


# ----------------------------------------------------------------------------- broken files
BROKEN: dict[str, tuple[bytes | None, str | None]] = {
    # name: (file content, key the message must name; None = no key involved)
    "syntax": (b'[scenario\nname = "x"\n', None),
    "unknown_key": (b'[scenario]\nname = "x"\n[cohort]\nnn = 3\n', "cohort.nn"),
    "wrong_type": (b'[scenario]\nname = "x"\n[cohort]\nn = "many"\n', "cohort.n"),
    "out_of_range": (b'[scenario]\nname = "x"\n[cohort]\nn = -5\n', "cohort.n"),
    "nan": (b'[scenario]\nname = "x"\n[cohort]\nivf_share = nan\n', "cohort.ivf_share"),
    "inf": (b'[scenario]\nname = "x"\n[outcome]\nchemical_rate = inf\n', "outcome.chemical_rate"),
    "empty": (b"", None),
    "binary": (bytes(range(256)) * 3, None),
    "shares": (
        b'[scenario]\nname = "x"\n[cohort.strata]\nKN = 0.5\nKA = 0.5\nIN = 0.5\nIA = 0.5\n',
        "cohort.strata",
    ),
    "missing_section": (b"[cohort]\nn = 10\n", "scenario is missing"),
    "missing_file": (None, None),
    "directory": (None, None),
    "extends_cycle": (b'extends = "cycle_b.toml"\n[scenario]\nname = "a"\n', None),
}


def _write_broken(tmp_path: Path, name: str) -> Path:
    content, _ = BROKEN[name]
    path = tmp_path / f"{name}.toml"
    if name == "directory":
        path.mkdir()
    elif name == "extends_cycle":
        path.write_bytes(content)  # type: ignore[arg-type]
        (tmp_path / "cycle_b.toml").write_text(
            f'extends = "{path.name}"\n[scenario]\nname = "b"\n', encoding="utf-8"
        )
    elif content is not None:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("name", sorted(BROKEN))
@pytest.mark.parametrize("command", ["validate", "run"])
def test_broken_file_exit_2_one_line_per_problem(name, command, tmp_path, capsys):
    path = _write_broken(tmp_path, name)
    out = tmp_path / "results" / "x"
    # no --set here: it could override the broken key
    args = [command, str(path)] + (["--out", str(out), "--replicates", "2"] if command == "run" else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines, "a problem is reported"
    assert "Traceback" not in err
    key = BROKEN[name][1]
    for line in lines:
        assert str(path) in line, f"line does not name the file: {line!r}"
    if key is not None:
        assert any(key in line for line in lines), err
    assert not out.exists() and not out.parent.exists(), "nothing is written for a bad file"


@pytest.mark.slow
def test_broken_files_in_a_real_process_have_no_traceback(tmp_path):
    paths = [str(_write_broken(tmp_path, name)) for name in sorted(BROKEN)]
    res = _cli("validate", *paths)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) >= len(BROKEN)
    for line in lines:
        assert any(line.startswith(p) for p in paths), line


def test_shipped_scenarios_validate():
    files = sorted(str(p) for p in (ROOT / "scenarios").glob("*.toml"))
    assert files
    res = _cli("validate", *files)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(": ok") == len(files)


def test_validate_reports_every_problem_of_a_file(tmp_path, capsys):
    path = tmp_path / "many.toml"
    path.write_text('[scenario]\nname = "x"\n[cohort]\nn = 0\nivf_share = 2\nfoo = 1\n', encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3
    for key in ("cohort.n ==", "cohort.ivf_share ==", "cohort.foo is not a known key"):
        assert any(key in ln for ln in lines), (key, lines)


# ----------------------------------------------------------------------------- bad arguments
@pytest.mark.parametrize(
    "args",
    [
        ["run"],
        ["run", str(PAPER), "--replicates", "-3"],
        ["run", str(PAPER), "--replicates", "many"],
        ["frobnicate"],
        [],
        ["cohort", str(PAPER), "-n", "0"],
    ],
)
def test_bad_arguments_exit_2_one_line(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


@pytest.mark.slow
def test_bad_argument_in_a_real_process():
    res = _cli("run", str(PAPER), "--replicates", "-3")
    assert res.returncode == 2
    assert res.stderr.strip() == "--replicates == -3, must be an integer >= 2."


# ----------------------------------------------------------------------------- results folder
@pytest.mark.slow
def test_run_twice_needs_force_and_manifest_matches_files(tmp_path, capsys):
    out = tmp_path / "res" / "paper"
    assert main(["--quiet", "run", str(PAPER), "--out", str(out), "--seed", "11", *QUICK]) == 0
    first = (out / "manifest.json").read_text(encoding="utf-8")

    assert main(["--quiet", "run", str(PAPER), "--out", str(out), *QUICK]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and len(err.strip().splitlines()) == 1
    assert (out / "manifest.json").read_text(encoding="utf-8") == first, "left untouched"

    assert main(["--quiet", "run", str(PAPER), "--out", str(out), "--seed", "12", "--force", *QUICK]) == 0
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 12
    assert manifest["resolved_scenario"]["scenario"]["seed"] == 12
    assert manifest["resolved_scenario"]["cohort"]["n"] == 200
    assert {"python", "numpy", "pandas", "rplsim"} <= set(manifest["versions"])
    assert manifest["started"] <= manifest["finished"]
    names = {f["name"] for f in manifest["files"]}
    assert {"cohort.csv", "calibration.csv", "report.md"} <= names
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert on_disk == names | {"manifest.json"}
    for entry in manifest["files"]:
        path = out / entry["name"]
        assert path.stat().st_size == entry["bytes"]
        assert sha256_file(path) == entry["sha256"]
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith((".tmp-", ".old-"))]
    assert leftovers == []


@pytest.mark.slow
def test_results_folder_is_readable_like_any_other_folder(tmp_path):
    out = tmp_path / "perm"
    assert main(["--quiet", "run", str(PAPER), "--out", str(out), *QUICK]) == 0
    (tmp_path / "plain").mkdir()
    assert (out.stat().st_mode & 0o777) == ((tmp_path / "plain").stat().st_mode & 0o777)


@pytest.mark.slow
def test_python_dash_m_runs_the_cli(tmp_path):
    out = tmp_path / "sub"
    res = _cli("run", str(PAPER), "--out", str(out), *QUICK)
    assert res.returncode == 0, res.stderr
    assert "cohort: 200 women" in res.stdout
    assert (out / "manifest.json").is_file()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_mid_run_leaves_nothing(tmp_path):
    out = tmp_path / "killed"
    # big enough to be still calibrating when the signal comes (~2.5 s here, ~1 GB of cohort)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rplsim",
            "--quiet",
            "run",
            str(PAPER),
            "--out",
            str(out),
            "--replicates",
            "5000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not any(p.name.startswith(".tmp-killed-") for p in tmp_path.iterdir()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.02)
        time.sleep(0.3)  # mid-way through the stages
        assert proc.poll() is None, "the run finished before it could be interrupted"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists()
    assert os.listdir(tmp_path) == [], "the temporary folder is cleaned up too"
