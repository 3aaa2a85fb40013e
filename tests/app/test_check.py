"""`rplsim check`: the invariant suite passes on the paper and catches a broken scenario."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rplsim.app.check import EXIT_CHECK_FAILED, PROPERTIES, CheckFailure, require, run_checks
from rplsim.app.cli import main
from rplsim.scenario.tomlio import dumps_toml

from ..conftest import ROOT, SCENARIOS


def _broken(tmp_path, paper):
    d = paper.to_dict()
    d["scenario"]["name"] = "broken"
    d["outcome"]["odds_ratios_idiopathic"]["age"] = 1.15  # wrong sign: Table 2 has 0.868
    p = tmp_path / "broken.toml"
    p.write_text(dumps_toml(d), encoding="utf-8")
    return p


def test_paper_passes_every_property(paper):
    results = run_checks(paper, max_examples=8)
    assert [r.name for r in results] == [p.name for p in PROPERTIES]
    failed = [(r.name, r.counterexample) for r in results if r.status != "pass"]
    assert not failed
    assert all(r.examples >= 1 for r in results)


def test_wrong_sign_odds_ratio_fails_with_shrunk_example(tmp_path, paper, capsys):
    path = _broken(tmp_path, paper)
    rc = main(["check", str(path), "--only", "with age", "--examples", "30", "--quiet"])
    out = capsys.readouterr().out
    assert rc == EXIT_CHECK_FAILED == 3
    assert "FAIL outcome: live birth not more likely with age" in out
    assert "shrunk example: prop(" in out and "step=1.0" in out


def test_unrelated_properties_still_pass_on_the_broken_scenario(tmp_path, paper):
    from rplsim import load_scenario

    sc = load_scenario(_broken(tmp_path, paper))
    res = {r.name: r.status for r in run_checks(sc, max_examples=5, only="outcome:")}
    assert res["outcome: live birth not more likely with age (domain)"] == "FAIL"
    assert res["outcome: live birth not more likely with BMI (domain)"] == "pass"
    assert res["outcome: stratum rates equal the targets"] == "pass"


def test_check_cli_on_the_shipped_scenario_reports_each_property(capsys):
    rc = main(["check", str(SCENARIOS / "paper.toml"), "--examples", "3", "--only", "cohort", "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    n = sum("cohort" in p.name for p in PROPERTIES)
    assert f"{n} passed, 0 failed, 0 skipped" in out


def test_require_raises_check_failure_an_assertion_error():
    require(True, "fine")
    with pytest.raises(CheckFailure, match="wrong"):
        require(False, "wrong")
    assert issubclass(CheckFailure, AssertionError)


@pytest.mark.slow
def test_a_failed_check_still_fails_and_exits_3_under_python_O(tmp_path, paper):
    """`python -O` strips asserts; the check's failures must not turn into passes."""
    path = _broken(tmp_path, paper)
    argv = ["check", str(path), "--only", "with age", "--examples", "10", "--quiet"]
    code = (
        "import sys\n"
        "assert False, 'asserts are on'\n"  # stripped under -O: proves the flag took effect
        "from rplsim.app.cli import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    res = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert res.returncode == 3, res.stderr
    assert "FAIL outcome: live birth not more likely with age" in res.stdout
    assert "0 passed, 1 failed" in res.stdout


def test_check_help_documents_the_exit_status(capsys):
    assert main(["check", "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit status" in out and "3 a property failed" in out


def test_without_hypothesis_check_says_how_to_install_it_and_exits_2(monkeypatch, capsys):
    # None in sys.modules makes `import hypothesis` raise ModuleNotFoundError.
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    monkeypatch.delitem(sys.modules, "rplsim.app.check")
    rc = main(["check", str(SCENARIOS / "paper.toml"), "--only", "round trip", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "pip install" in err and "hypothesis" in err
