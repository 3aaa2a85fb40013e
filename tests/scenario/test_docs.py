"""rplsim.scenario.docs: the generated scenario reference (docs/scenarios.md)."""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path

from rplsim import Scenario, load_scenario
from rplsim.scenario.docs import scenario_docs, write_scenario_docs
from rplsim.scenario.schema import iter_params

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "scenarios.md"


# ----------------------------------------------------------------------------- docs
def test_docs_are_up_to_date():
    assert DOCS.exists(), "run `python -m rplsim.docs` to create docs/scenarios.md"
    on_disk, fresh = DOCS.read_text(encoding="utf-8"), scenario_docs()
    diff = "\n".join(
        list(
            difflib.unified_diff(
                on_disk.splitlines(), fresh.splitlines(), "docs/scenarios.md", "schema", lineterm=""
            )
        )[:20]
    )
    assert on_disk == fresh, (
        "docs/scenarios.md is out of date with the schema: run "
        f"`python -m rplsim.docs` from the repository root.\n{diff}"
    )


def _heading(section: str) -> str:
    # an array of tables (prior.control_lbr.mixture[]) is headed as TOML writes it: [[...]]
    return f"`[[{section[:-2]}]]`" if section.endswith("[]") else f"`[{section}]`"


def test_docs_cover_every_key():
    text = scenario_docs()
    # a section whose keys are those of an earlier one points to it, and is not listed again
    same = dict(re.findall(r"### `\[([\w.]+)\]`\n\n[^\n]*are those of \[`\[([\w.]+)\]`\]", text))
    for p in iter_params(Scenario):
        section, _, key = p.path.rpartition(".")
        for alias, first in same.items():
            if section == alias or section.startswith(f"{alias}."):
                section = first + section[len(alias) :]
        if section:
            assert _heading(section) in text, section
            assert f"`{key}`" in text, p.path
        else:
            assert f"`[{key}]`" in text, p.path
    assert same == dict.fromkeys(
        ["prior.treatment_lbr", "prior.ivig_odds_ratio", "prior.ivig_relative_risk"], "prior.control_lbr"
    )


def test_docs_example_is_a_valid_scenario(tmp_path):
    text = scenario_docs()
    example = re.search(r"```toml\n(.*?)```", text, flags=re.S).group(1)
    (tmp_path / "paper.toml").write_text(
        (ROOT / "scenarios" / "paper.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "example.toml").write_text(example, encoding="utf-8")
    tomllib.loads(example)
    sc = load_scenario(tmp_path / "example.toml")
    assert sc.trial is not None and sc.trial.control_lbr == 0.60


def test_write_scenario_docs(tmp_path):
    path = write_scenario_docs(tmp_path / "d" / "scenarios.md")
    assert path.read_text(encoding="utf-8") == scenario_docs()


def test_docs_main_takes_a_flag_for_a_flag_not_a_file(tmp_path, monkeypatch, capsys) -> None:
    """``python -m rplsim.docs --help`` once wrote a file named ``--help``."""
    from rplsim.scenario.docs import main

    monkeypatch.chdir(tmp_path)
    assert main(["--help"]) == 0
    assert main(["--bogus"]) == 2
    assert main(["a.md", "b.md"]) == 2
    assert list(tmp_path.iterdir()) == []
    assert "usage: python -m rplsim.docs" in capsys.readouterr().err
