"""The results folder (atomic writes, manifest), report.md and the generated scenario docs."""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from rplsim import ResultsExistError, Scenario, load_scenario
from rplsim.scenario.docs import scenario_docs, write_scenario_docs
from rplsim.outputs.report import build_report, format_value, markdown_table, scenario_assumptions
from rplsim.outputs.folder import results_folder, sha256_file
from rplsim.scenario.schema import iter_params

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "scenarios.md"


# ----------------------------------------------------------------------------- results folder
def test_results_folder_writes_manifest_with_hashes(tmp_path):
    final = tmp_path / "out" / "demo"
    with results_folder(final, manifest={"seed": 5}) as folder:
        folder.table("t", pd.DataFrame({"a": [1, 2]}), parquet=False)
        folder.text("sub/note.md", "hello\n")
        assert not final.exists(), "nothing at the target until the end"
    manifest = json.loads((final / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 5
    assert [f["name"] for f in manifest["files"]] == ["t.csv", "sub/note.md"]
    for f in manifest["files"]:
        assert sha256_file(final / f["name"]) == f["sha256"]
        assert (final / f["name"]).stat().st_size == f["bytes"]
    assert {"started", "finished", "versions", "command_line"} <= set(manifest)
    assert sorted(p.name for p in final.parent.iterdir()) == ["demo"]


def test_results_folder_failure_leaves_nothing(tmp_path):
    final = tmp_path / "demo"
    with pytest.raises(RuntimeError), results_folder(final) as folder:
        folder.text("a.txt", "x")
        raise RuntimeError("stage failed")
    assert list(tmp_path.iterdir()) == []


def test_results_folder_interrupt_leaves_old_copy_intact(tmp_path):
    final = tmp_path / "demo"
    with results_folder(final) as folder:
        folder.text("a.txt", "old")
    with pytest.raises(KeyboardInterrupt), results_folder(final, force=True) as folder:
        folder.text("a.txt", "new")
        raise KeyboardInterrupt
    assert (final / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_results_folder_exists_needs_force(tmp_path):
    final = tmp_path / "demo"
    final.mkdir()
    with pytest.raises(ResultsExistError, match="exists"), results_folder(final):
        pass  # pragma: no cover
    with results_folder(final, force=True) as folder:
        folder.text("b.txt", "y")
    assert (final / "b.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


# ----------------------------------------------------------------------------- report
def _calibration() -> pd.DataFrame:
    return pd.DataFrame({
        "target": ["age mean KN", "bmi max KA", "n known (abstract reading)", "n KN",
                   "LBR text reading"],
        "source": ["Table 1, KN", "Table 1, KA", "Abstract | section 2.1", "Table 1",
                   "Section 3.3"],
        "paper": [32.78, 36.1, 251.0, 118.0, 0.827],
        "simulated": [32.8, 30.9, 215.2, 118.3, 0.807],
        "mc_se": [0.02, 0.1, 0.4, 0.5, 0.002],
        "tolerance": [0.9, 3.1, 20.0, 22.0, 0.07],
        "within": [True, False, False, True, True],
        "followed": [True, True, False, True, False],
    })


def _section(text: str, title: str) -> str:
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert m, f"no section {title!r}"
    return m.group(1)


def test_build_report_sections(paper):
    text = build_report(
        paper, summary_lines=["cohort: 466 women"], calibration=_calibration(),
        answer="a trial would need 230 women per arm",
        assumptions=["placebo live-birth rate 60% (ASSUMPTION)"],
        figures=["figures/calibration.png", ("Power curve", Path("figures") / "power.png")],
        tables=["calibration.csv"])
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
    assert assumptions.index("placebo live-birth rate 60%") < assumptions.index("cohort.ivf_share")
    assert "![Power curve](figures/power.png)" in text
    assert "(figures/calibration.png)" in text
    assert "- [calibration](calibration.csv)" in text
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_build_report_minimal(paper):
    text = build_report(paper, summary_lines=[])
    assert "## The answer" in text and "## Calibration misses" not in text


def test_scenario_assumptions_use_actual_values(tmp_path):
    src = tmp_path / "s.toml"
    src.write_text('[scenario]\nname = "s"\n[cohort]\nivf_share = 0.35\n'
                   "[outcome]\nadherence = 0.9\nuntreated_abnormal_lbr = 0.6\n", encoding="utf-8")
    sc = load_scenario(src)
    lines = scenario_assumptions(sc)
    assert any(ln.startswith("cohort.ivf_share = 0.35 (ASSUMPTION") for ln in lines)
    assert any(ln.startswith("outcome.untreated_abnormal_lbr = 0.6 (not in the paper") for ln in lines)
    assert not any(ln.startswith("outcome.ivig_odds_ratio") for ln in lines), "absent: not listed"
    assert not any(ln.startswith("trial.") for ln in lines), "no [trial]: nothing rests on it"
    n_marked = sum(1 for p in iter_params(type(sc)) if "ASSUMPTION" in p.source
                   or "not in the paper" in p.source)
    assert 0 < len(lines) <= n_marked


def test_markdown_table_and_format_value():
    table = markdown_table([("a|b", 1.23456789, None), ("c", 3, float("nan"))], ["x", "y", "z"])
    assert table.splitlines() == ["| x | y | z |", "|---|---|---|", "| a\\|b | 1.235 |  |",
                                  "| c | 3 | nan |"]
    assert format_value({"mean": 1.5, "rule": "any", "on": True, "xs": [1, 2]}) == \
        '{ mean = 1.5, rule = "any", on = true, xs = [1, 2] }'


# ----------------------------------------------------------------------------- docs
def test_docs_are_up_to_date():
    assert DOCS.exists(), "run `python -m rplsim.docs` to create docs/scenarios.md"
    on_disk, fresh = DOCS.read_text(encoding="utf-8"), scenario_docs()
    diff = "\n".join(list(difflib.unified_diff(on_disk.splitlines(), fresh.splitlines(),
                                                "docs/scenarios.md", "schema", lineterm=""))[:20])
    assert on_disk == fresh, ("docs/scenarios.md is out of date with the schema: run "
                              f"`python -m rplsim.docs` from the repository root.\n{diff}")


def test_docs_cover_every_key():
    text = scenario_docs()
    for p in iter_params(Scenario):
        section, _, key = p.path.rpartition(".")
        if section:
            assert f"`[{section}]`" in text, section
            assert f"`{key}`" in text, p.path
        else:
            assert f"`[{key}]`" in text, p.path


def test_docs_example_is_a_valid_scenario(tmp_path):
    text = scenario_docs()
    example = re.search(r"```toml\n(.*?)```", text, flags=re.S).group(1)
    (tmp_path / "paper.toml").write_text((ROOT / "scenarios" / "paper.toml").read_text(
        encoding="utf-8"), encoding="utf-8")
    (tmp_path / "example.toml").write_text(example, encoding="utf-8")
    tomllib.loads(example)
    sc = load_scenario(tmp_path / "example.toml")
    assert sc.trial is not None and sc.trial.control_lbr == 0.60


def test_write_scenario_docs(tmp_path):
    path = write_scenario_docs(tmp_path / "d" / "scenarios.md")
    assert path.read_text(encoding="utf-8") == scenario_docs()
