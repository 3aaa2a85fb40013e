"""rplsim.outputs.write: a run's folder keeps hostile scenario text as data (issue 20, item 5).

One tiny run (60 women, 2 replicates, 0.4 s) is rendered once, its figures built but not
drawn (drawing is matplotlib's time, and no figure of a run shows scenario text; the figure
text tests are in test_escape.py and test_plots.py); the tests read the files it wrote.
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from rplsim import load_scenario
from rplsim.outputs import write
from rplsim.outputs.write import write_run
from rplsim.planning.stages import run_stages

from ..conftest import SCENARIOS

CURRENCY = '=HYPERLINK("http://x","y")'
DESCRIPTION = "<script>alert(1)</script> costs $\\frac{1}{0}$ | *a* _b_\n# not a heading"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    sc = load_scenario(
        SCENARIOS / "trial_superiority.toml",
        {"clinic": {"currency": CURRENCY}, "scenario": {"description": DESCRIPTION}, "cohort": {"n": 60}},
    )
    out = tmp_path_factory.mktemp("run") / "hostile"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(write.plots, "save_png", lambda fig, path: path.write_bytes(b"figure"))
        text = write_run(run_stages(sc, replicates=2), out)
    return out, text


def _cells(path, column):
    with open(path, newline="", encoding="utf-8") as fh:
        return [row[column] for row in csv.DictReader(fh)]


def test_currency_formula_is_neutralised_in_every_table(hostile_run):
    out, _ = hostile_run
    assert _cells(out / "feasibility.csv", "unit")[-1] == "'" + CURRENCY
    assert _cells(out / "clinic.csv", "currency") == ["'" + CURRENCY]


def test_negative_numbers_stay_numbers(hostile_run):
    out, _ = hostile_run
    weeks = _cells(out / "events.csv", "gestational_week")
    negative = [w for w in weeks if w.startswith("-")]
    assert negative, "conception is before the last menstrual period: negative weeks exist"
    assert all(float(w) < 0 for w in negative)
    assert not any(w.startswith("'") for w in weeks)
    assert pd.api.types.is_float_dtype(pd.read_csv(out / "events.csv")["gestational_week"])


def test_report_shows_html_and_markdown_as_text(hostile_run):
    out, _ = hostile_run
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in report and "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert "\\$\\\\frac\\{1\\}{0}\\$" not in report  # braces are not Markdown: left alone
    assert "costs \\$\\\\frac{1}{0}\\$ \\| \\*a\\* \\_b\\_ # not a heading" in report
    assert not any(line.startswith("# not a heading") for line in report.splitlines())
    answer = report.split("## The answer\n\n", 1)[1].split("\n", 1)[0]
    assert CURRENCY in answer, "inline, a formula is plain text: nothing to escape in Markdown"


def test_terminal_text_is_plain(hostile_run):
    _, text = hostile_run
    first = text.splitlines()[0]
    assert first.startswith("A trial would need ") and "**" not in first
    assert CURRENCY in first and "\\" not in first


def test_report_links_every_figure_and_table(hostile_run):
    out, _ = hostile_run
    report = (out / "report.md").read_text(encoding="utf-8")
    for name in ("calibration.png", "sensitivity.png", "feasibility.csv", "clinic.csv"):
        assert (out / name).exists() and f"]({name})" in report
