"""rplsim.outputs.report: report.md and the answer sentence."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd

from rplsim import load_scenario
from rplsim.outputs.report import (
    answer_sentence,
    build_report,
    format_value,
    markdown_table,
    scenario_assumptions,
)
from rplsim.planning.feasibility import Feasibility
from rplsim.scenario.schema import iter_params
from rplsim.trial.power import PowerResult


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
    assert assumptions.index("placebo live-birth rate 60%") < assumptions.index("| `cohort.ivf_share` |")
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


# ----------------------------------------------------------------------------- escaping
def test_report_escapes_scenario_text(tmp_path):
    src = tmp_path / "s.toml"
    src.write_text(
        '[scenario]\nname = "s"\ndescription = "<script>alert(1)</script>\\n# big | *x*"\n'
        "[cohort]\nivf_share = 0.35\n",
        encoding="utf-8",
    )
    text = build_report(
        load_scenario(src),
        summary_lines=["- not a nested list <b>"],
        assumptions=["<img src=x onerror=alert(1)>"],
        figures=[("a [caption](http://evil)", "f.png")],
    )
    assert "<script>" not in text and "<img" not in text and "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; # big \\| \\*x\\*" in text
    assert "- \\- not a nested list &lt;b&gt;" in text
    assert "![a \\[caption\\](http://evil)](f.png)" in text
    assert "| `cohort.ivf_share` | 0.35 | ASSUMPTION" in text


def test_markdown_table_escapes_cells():
    table = markdown_table([("<i>x</i>", "*y*", -1.5)], ["a_b", "c", "d"])
    assert table.splitlines()[2] == "| &lt;i&gt;x&lt;/i&gt; | \\*y\\* | -1.5 |"
    assert table.splitlines()[0] == "| a\\_b | c | d |"


def test_answer_sentence_markdown_and_plain(paper):
    sc = paper.replace(clinic=dataclasses.replace(paper.clinic, currency="=*x*\n<b>"))
    # the numbers are placeholders: only the words around them are under test
    power = PowerResult(
        analysis="chi2", n_control=100, n_treatment=100, n_total=200, replicates=1024,
        p_control=0.6, p_treatment=0.8, alpha=0.05, power=0.8, power_ci=(0.78, 0.82),
        type1_error=0.05, type1_ci=(0.04, 0.06), analytic_power=0.8, expected_n_h1=200.0,
        expected_n_h0=200.0, stop_probability=(1.0,), mean_ivig_grams_per_woman=50.0,
        seconds=0.0, path="batched",
    )  # fmt: skip
    feas = Feasibility(
        n_randomised=200, n_control=100, n_treatment=100, expected_dropouts=20.0, n_screened=2000,
        n_worked_up=1800, n_pregnant=1000, n_eligible=400, years_to_recruit=3.0, centres=2,
        ivig_grams_total=5000.0, ivig_cost_total=1e6, currency=sc.clinic.currency, eligible_share=0.2,
    )  # fmt: skip
    md = answer_sentence(sc, power, feas)
    plain = answer_sentence(sc, power, feas, markdown=False)
    assert "**100 women randomised per arm**" in md and "(1,000,000 =\\*x\\* &lt;b&gt;)" in md
    assert "**" not in plain and "(1,000,000 =*x* <b>)" in plain, "the terminal gets the text on one line"


def _placeholder_power(power: float = 0.8) -> tuple[PowerResult, Feasibility]:
    # the numbers are placeholders: only the words around them are under test
    res = PowerResult(
        analysis="chi2", n_control=80, n_treatment=80, n_total=160, replicates=1024,
        p_control=0.6, p_treatment=0.8, alpha=0.05, power=power, power_ci=(power - 0.02, power + 0.02),
        type1_error=0.05, type1_ci=(0.04, 0.06), analytic_power=0.8, expected_n_h1=160.0,
        expected_n_h0=160.0, stop_probability=(1.0,), mean_ivig_grams_per_woman=50.0,
        seconds=0.0, path="counts",
    )  # fmt: skip
    feas = Feasibility(
        n_randomised=160, n_control=80, n_treatment=80, expected_dropouts=16.0, n_screened=1413,
        n_worked_up=1172, n_pregnant=757, n_eligible=320, years_to_recruit=20.0, centres=1,
        ivig_grams_total=11343.0, ivig_cost_total=680601.0, currency="USD", eligible_share=0.4,
    )  # fmt: skip
    return res, feas


def test_answer_sentence_fixed_n_gives_the_power_not_a_need(paper):
    """issue 13: `--n-per-arm 80` printed "A trial would need 80 women per arm"; a given n is
    not a requirement. The fixed-n sentence states the power at that n (randomised and
    expected analysed both labelled: 80 x 0.9 = 72 after the paper's 10% dropout)."""
    res, feas = _placeholder_power(0.9055)
    plain = answer_sentence(paper, res, feas, markdown=False, searched=False)
    assert plain.startswith("With 80 women randomised per arm (160 in all; 72 + 72 expected analysed")
    assert "would need" not in plain
    assert "the simulated power to show superiority is 90.5%" in plain
    assert "below the" not in plain
    md = answer_sentence(paper, res, feas, searched=False)
    assert md.startswith("With **80 women randomised per arm**") and "is **90.5%**" in md


def test_answer_sentence_fixed_n_below_target_says_so(paper):
    """A fixed n whose power misses trial.power (0.80 in paper.toml) says it is below target."""
    res, feas = _placeholder_power(0.45)
    plain = answer_sentence(paper, res, feas, markdown=False, searched=False)
    assert "is 45.0% (95% CI 43.0%-47.0%; chi2, alpha 0.05), below the 80% target" in plain
