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
    assert res.stderr.strip() == (
        "--replicates == -3, must be an integer from 2 to 100,000 "
        "(MAX_CALIBRATION_REPLICATES: cohorts of the calibration)."
    )


# ----------------------------------------------------------------------------- results folder
@pytest.mark.slow
def test_run_twice_needs_force_and_manifest_matches_files(tmp_path, capsys, no_figures):
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
def test_results_folder_is_readable_like_any_other_folder(tmp_path, no_figures):
    out = tmp_path / "perm"
    assert main(["--quiet", "run", str(PAPER), "--out", str(out), *QUICK]) == 0
    (tmp_path / "plain").mkdir()
    assert (out.stat().st_mode & 0o777) == ((tmp_path / "plain").stat().st_mode & 0o777)


@pytest.mark.slow
def test_python_dash_m_runs_the_cli(tmp_path):
    out = tmp_path / "sub"
    # a command that writes a file, not a whole run: the entry point is what is under test
    res = _cli("cohort", str(PAPER), "-n", "5", "-o", str(out.with_suffix(".csv")))
    assert res.returncode == 0, res.stderr
    assert len(out.with_suffix(".csv").read_text().splitlines()) == 6


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


# ----------------------------------------------------------------------------- issue 20: before any work
BAD_ARGS = [
    (["run", str(PAPER), "--out", ""], "--out '': must name a folder."),
    (["run", str(PAPER), "--out", "{file}/x"], "--out {file}/x: {file} is a file, not a folder"),
    (["sweep", str(PAPER), "--out", "{file}"], "--out {file}: is a file, not a folder"),
    (["run", str(PAPER), "--out", "{link}"], "--out {link}: is a symbolic link"),
    (["cohort", str(PAPER), "-o", "{tmp}/missing/c.csv"], "-o/--output {tmp}/missing/c.csv: the folder"),
    (["cohort", str(PAPER), "-o", "{tmp}"], "-o/--output {tmp}: is a folder"),
    (["calibrate", str(PAPER), "-o", ""], "-o/--output '': must name a file."),
    (["timeline", str(PAPER), "--events", "{file}/e.csv"], "--events {file}/e.csv: {file} is a file"),
    (["timeline", str(PAPER), "--outcomes", "{tmp}"], "--outcomes {tmp}: is a folder"),
    (["power", str(PAPER), "-o", "{file}/p.csv"], "-o/--output {file}/p.csv: {file} is a file"),
    (["cohort", str(PAPER), "-n", "100000000"], "-n == 100000000, must be an integer from 1 to 50,000,000"),
    (["timeline", str(PAPER), "-n", "0"], "-n == 0, must be an integer from 1 to 50,000,000"),
    (
        ["run", str(PAPER), "--replicates", "1000000000"],
        "--replicates == 1000000000, must be an integer from 2",
    ),
    (
        ["calibrate", str(PAPER), "--replicates", "1000000"],
        "--replicates == 1000000, must be an integer from 2",
    ),
    (
        ["power", str(PAPER), "--replicates", "1000000000"],
        "--replicates == 1000000000, must be an integer from 1",
    ),
    (["sweep", str(PAPER), "--replicates", "0"], "--replicates == 0, must be an integer from 1"),
    (["sweep", str(PAPER), "--workers", "1000"], "--workers == 1000, must be an integer from 1 to 256"),
    (["power", str(PAPER), "--workers", "0"], "--workers == 0, must be an integer from 1 to 256"),
    (["sweep", str(PAPER), "--batch", "1000"], "--batch == 1000, must be a positive multiple of 1024."),
    (["check", str(PAPER), "--budget", "-5"], "--budget == -5, must be a number > 0."),
    (
        ["power", str(PAPER), "--n-per-arm", str(10**12)],
        "--n-per-arm == 1000000000000, must be an integer from 2",
    ),
    (["sweep", str(PAPER), "--scheduler", "no such\nthing"], "--scheduler no such\\nthing: must be a Dask"),
    (["sweep", str(PAPER), "--scheduler", ""], "--scheduler '': must be a Dask scheduler address"),
    (["sweep", str(PAPER), "--resume", "--force"], "--resume and --force together"),
    (["check", str(PAPER), "--budget", "nan"], "--budget == nan, must be a number > 0."),
    (["check", str(PAPER), "--examples", "0"], "--examples == 0, must be an integer >= 1."),
    (
        ["run", str(PAPER), "--seed", "-1"],
        "--seed == -1, must be an integer from 0 to 9,223,372,036,854,775,807.",
    ),
    (["cohort", str(PAPER), "--seed", str(2**63)], f"--seed == {2**63}, must be an integer from 0"),
    (["run", str(PAPER), "--format", "png,jpg"], "--format png,jpg: figure format 'jpg' is not one of png"),
    (["run", str(PAPER), "--format", ","], "--format ,: figure formats ',' name no format"),
]


@pytest.mark.parametrize(("args", "message"), BAD_ARGS, ids=[" ".join(a[:1] + a[2:]) for a, _ in BAD_ARGS])
def test_bad_flags_and_output_paths_exit_2_before_any_work(args, message, tmp_path, monkeypatch, capsys):
    """Issue 20: one line naming the flag, exit 2, before the scenario is even read."""
    from rplsim.app import cli

    def no_work(*a, **k):
        raise AssertionError("no scenario may be loaded before the flags are checked")

    monkeypatch.setattr(cli, "load_scenario", no_work)
    (tmp_path / "f").write_text("keep")
    (tmp_path / "l").symlink_to(tmp_path)
    subst = {"file": str(tmp_path / "f"), "tmp": str(tmp_path), "link": str(tmp_path / "l")}
    args = [a.format(**subst) for a in args]
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["--quiet", *args]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(message.format(**subst)), err
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "nothing written"


def test_single_file_outputs_are_written_atomically(tmp_path, monkeypatch, capsys):
    import pandas as pd

    from rplsim.outputs import folder

    target = tmp_path / "c.csv"
    assert main(["--quiet", "cohort", str(PAPER), "-n", "5", "-o", str(target)]) == 0
    old = target.read_bytes()

    def half_then_fail(df, path):
        Path(path).write_text("point,half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(folder, "write_csv", half_then_fail)
    assert main(["--quiet", "cohort", str(PAPER), "-n", "7", "-o", str(target)]) == 1
    assert target.read_bytes() == old, "the old file, not half of a new one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv"]
    assert len(pd.read_csv(target)) == 5


def test_two_scenarios_with_one_name_are_refused_before_any_work(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the default folders are results/<name> of the working folder
    twin = tmp_path / "twin.toml"
    twin.write_text(f'extends = "{PAPER.name}"\n', encoding="utf-8")
    (tmp_path / PAPER.name).write_bytes(PAPER.read_bytes())
    assert main(["--quiet", "run", str(tmp_path / PAPER.name), str(twin), "--replicates", "2"]) == 2
    err = capsys.readouterr().err
    assert "scenario.name names the folder results/paper/" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "results").exists()


# ------------------------------------------------------------------ issue 13: -o FILE, fixed n


def test_power_output_writes_the_file_named_and_its_siblings(tmp_path, capsys):
    """issue 13: `power -o a_power.csv` wrote a_power_power.csv, a_power_feasibility.csv and
    a_power_power_curve.csv but no a_power.csv. FILE is the power table; its siblings are
    STEM_curve.csv and STEM_feasibility.csv (STEM_sensitivity.csv with --sensitivity). A fixed
    --n-per-arm answers with the power at that n, not "would need"."""
    target = tmp_path / "a_power.csv"
    argv = ["--quiet", "power", str(PAPER), "--n-per-arm", "80", "--replicates", "1024", "-o", str(target)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a_power.csv",
        "a_power_curve.csv",
        "a_power_feasibility.csv",
    ]
    power = target.read_text().splitlines()
    header, values = power[0].split(","), power[1].split(",")
    assert dict(zip(header, values, strict=True))["n_control"] == "80"
    curve = (tmp_path / "a_power_curve.csv").read_text().splitlines()
    assert len(curve) == 2 and curve[1].startswith("80,")
    assert dict(zip(header, values, strict=True))["power"] == curve[1].split(",")[1]
    assert "With 80 women randomised per arm (160 in all; 72 + 72 expected analysed" in out
    assert "would need" not in out


def test_power_help_names_the_output_siblings(capsys):
    """`power --help` says what -o writes."""
    assert main(["power", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for name in ("STEM_curve.csv", "STEM_feasibility.csv", "STEM_sensitivity.csv"):
        assert name in text
    assert "write the power table (power at the chosen n) to FILE" in text


def test_power_solve_answers_the_one_question_with_exact_power(tmp_path, capsys):
    """``--solve treatment_lbr --n-per-arm 80``: the rate printed is the one rplsim.solve finds,
    and exact power at it is the target (issue 13, item 4)."""
    from rplsim import exact_power, load_scenario, solve

    out = tmp_path / "sol.csv"
    argv = ["power", str(PAPER), "--solve", "treatment_lbr", "--n-per-arm", "80", "-o", str(out), "--quiet"]
    assert main(argv) == 0
    line = capsys.readouterr().out.splitlines()[0]
    sc = load_scenario(PAPER)
    sol = solve(sc, treatment_lbr=None, n_per_arm=80)
    assert line.startswith(f"treatment_lbr = {sol.value:.4f} (exact)")
    assert out.read_text().splitlines()[1].startswith("treatment_lbr,")
    at = load_scenario(PAPER, [f"trial.treatment_lbr={sol.value!r}"])
    assert abs(exact_power(at, 80).power - sc.require_trial().power) < 1e-6


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--solve", "n_per_arm", "--n-per-arm", "80"], "--solve n_per_arm with --n-per-arm 80"),
        (["--solve", "power", "--curve", "40:60:10"], "--solve power with --curve"),
        (["--curve", "40:20:10"], "--curve '40:20:10': needs STEP > 0"),
        (["--curve", "1:3:1"], "--curve == 1, must be an integer from 2"),
        (["--control-lbr", "0.5:1.2:0.1"], "--control-lbr 0.5:1.2:0.1: placebo rates must lie in (0, 1)"),
        (["--control-lbr", "a:b:c"], "--control-lbr 'a:b:c': must be START:STOP:STEP"),
    ],
)
def test_power_questions_are_checked_before_any_work(extra, message, capsys):
    assert main(["power", str(PAPER), *extra]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(message), err


def test_power_curves_write_their_tables_and_figures(tmp_path, capsys):
    """``--curve`` and ``--control-lbr`` at a fixed n: tables printed and written with figures."""
    out = tmp_path / "p.csv"
    argv = ["power", str(PAPER), "--n-per-arm", "84", "--replicates", "1024", "--quiet", "-o", str(out)]
    assert main([*argv, "--curve", "80:88:4", "--control-lbr", "0.55:0.65:0.05"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("exact") >= 6  # 3 n + 3 placebo rates, each row method "exact"
    for name in ("p_power_vs_n", "p_power_vs_control"):
        assert (tmp_path / f"{name}.csv").read_text().count("\n") == 4  # header + 3 rows
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


# ----------------------------------------------------------------------------- issue 14
def test_power_summary_prints_the_protocol_section(capsys):
    """``power --summary``: the design table, then the paragraph, with the numbers of the run
    it prints above (one computation)."""
    argv = ["--quiet", "power", str(PAPER), "--n-per-arm", "83", "--replicates", "1024", "--summary"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    section = out.split("Sample size: paper", 1)[1]
    for item in ("Hypotheses", "Test", "Sidedness, alpha", "Dropout", "Randomised", "Type-I error"):
        assert f"  {item}" in section
    assert "A total of 166 women (83 per arm)" in " ".join(section.split())


def test_a_multicentre_run_writes_the_calendar(tmp_path, no_figures):
    """More than one centre: the run puts the trial on the calendar (issue 17 groundwork):
    calendar.csv, recruitment and centres figures, and the answer says how long."""
    out = tmp_path / "mc"
    scenario = ROOT / "scenarios" / "multicentre.toml"
    assert (
        main(["--quiet", "run", str(scenario), "--out", str(out), *QUICK, "--set", "trial.n_per_arm=60"]) == 0
    )
    names = {p.name for p in out.iterdir()}
    assert {"calendar.csv", "recruitment.png", "centres.png"} <= names
    table = (out / "calendar.csv").read_text(encoding="utf-8")
    assert "look2_pipeline_mean" in table and "recruitment_years_q90" in table
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "On the calendar (12 centres opened over 12 months)" in report
