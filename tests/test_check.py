"""`rplsim check`: the invariant suite passes on the paper and catches a broken scenario."""

from __future__ import annotations

import pytest

from rplsim.app.check import PROPERTIES, run_checks
from rplsim.app.cli import main
from rplsim.scenario.tomlio import dumps_toml

from .conftest import SCENARIOS


def _broken(tmp_path, paper):
    d = paper.to_dict()
    d["scenario"]["name"] = "broken"
    d["outcome"]["odds_ratios_idiopathic"]["age"] = 1.15  # wrong sign: Table 2 has 0.868
    p = tmp_path / "broken.toml"
    p.write_text(dumps_toml(d), encoding="utf-8")
    return p


@pytest.mark.slow
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
    assert rc == 1
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
    rc = main(["check", str(SCENARIOS / "paper.toml"), "--examples", "3", "--only", "cohort",
               "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    n = sum("cohort" in p.name for p in PROPERTIES)
    assert f"{n} passed, 0 failed, 0 skipped" in out
