"""rplsim.outputs.report: report.md and the answer sentence."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from rplsim import load_scenario
from rplsim.outputs.report import build_report, format_value, markdown_table, scenario_assumptions
from rplsim.scenario.schema import iter_params


# ----------------------------------------------------------------------------- report
def _calibration() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "target": ["age mean KN", "bmi max KA", "n known (abstract reading)", "n KN", "LBR text reading"],
            "source": ["Table 1, KN", "Table 1, KA", "Abstract | section 2.1", "Table 1", "Section 3.3"],
            "paper": [32.78, 36.1, 251.0, 118.0, 0.827],
            "simulated": [32.8, 30.9, 215.2, 118.3, 0.807],
            "mc_se": [0.02, 0.1, 0.4, 0.5, 0.002],
            "tolerance": [0.9, 3.1, 20.0, 22.0, 0.07],
            "within": [True, False, False, True, True],
            "followed": [True, True, False, True, False],
        }
    )


def _section(text: str, title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert m, f"no section {title!r}"
    return m.group(1)


def test_build_report_sections(paper):
    text = build_report(
        paper,
        summary_lines=["cohort: 466 women"],
        calibration=_calibration(),
        answer="a trial would need 230 women per arm",
        assumptions=["placebo live-birth rate 60% (ASSUMPTION)"],
        figures=["figures/calibration.png", ("Power curve", Path("figures") / "power.png")],
        tables=["calibration.csv"],
    )
    assert text.startswith("# rplsim report: paper\n")
    assert paper.scenario.description in text
    assert "a trial would need 230 women per arm" in _section(text, "The answer")
    misses = _section(text, "Calibration misses")
    followed, _, other = misses.partition("Readings of paper conflicts that rplsim does not follow")
    assert "bmi max KA" in followed and "n known (abstract reading)" not in followed
    assert "n known (abstract reading)" in other
    # a conflict reading inside its tolerance is listed too: it is not hidden
    assert "LBR text reading" in other and "(2; 1 outside tolerance)" in other
    assert "age mean KN" not in misses and "n KN |" not in misses
    assert "Abstract \\| section 2.1" in other, "pipes inside cells are escaped"
    assumptions = _section(text, "Assumptions this rests on")
    assert assumptions.index("placebo live-birth rate 60%") < assumptions.index("`cohort.ivf_share` = ")
    assert "![Power curve](figures/power.png)" in text
    assert "(figures/calibration.png)" in text
    assert "- [calibration](calibration.csv)" in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_build_report_minimal(paper):
    text = build_report(paper, summary_lines=[])
    assert "## The answer" in text and "## Calibration misses" not in text


def test_scenario_assumptions_use_actual_values(tmp_path):
    src = tmp_path / "s.toml"
    src.write_text(
        '[scenario]\nname = "s"\n[cohort]\nivf_share = 0.35\n'
        "[outcome]\nadherence = 0.9\nuntreated_abnormal_lbr = 0.6\n",
        encoding="utf-8",
    )
    sc = load_scenario(src)
    lines = scenario_assumptions(sc)
    assert any(ln.startswith("cohort.ivf_share = 0.35 (ASSUMPTION") for ln in lines)
    assert any(ln.startswith("outcome.untreated_abnormal_lbr = 0.6 (not in the paper") for ln in lines)
    assert not any(ln.startswith("outcome.ivig_odds_ratio") for ln in lines), "absent: not listed"
    assert not any(ln.startswith("trial.") for ln in lines), "no [trial]: nothing rests on it"
    n_marked = sum(
        1 for p in iter_params(type(sc)) if "ASSUMPTION" in p.source or "not in the paper" in p.source
    )
    assert 0 < len(lines) <= n_marked


def test_markdown_table_and_format_value():
    table = markdown_table([("a|b", 1.23456789, None), ("c", 3, float("nan"))], ["x", "y", "z"])
    assert table.splitlines() == ["| x | y | z |", "|---|---|---|", "| a\\|b | 1.235 |  |", "| c | 3 | nan |"]
    assert (
        format_value({"mean": 1.5, "rule": "any", "on": True, "xs": [1, 2]})
        == '{ mean = 1.5, rule = "any", on = true, xs = [1, 2] }'
    )
