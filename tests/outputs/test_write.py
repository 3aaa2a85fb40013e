"""rplsim.outputs.write: a run's folder keeps hostile scenario text as data (issue 20, item 5).

One tiny run (60 women, 2 replicates, 0.4 s) is rendered once, with its figures (PNG and SVG:
``report.html`` inlines the SVGs, so the page is tested with matplotlib's real output); the
tests read the files it wrote. The report's structure (issue 14: summary first, captions,
report.html self-contained) is tested on the same run.
"""

from __future__ import annotations

import csv
import re

import pandas as pd
import pytest

from rplsim import load_scenario
from rplsim.figures import base as figures_base
from rplsim.outputs import write
from rplsim.outputs.write import FIGURE_ORDER, write_run
from rplsim.planning.stages import run_stages

from ..conftest import SCENARIOS

#: Figures of stages the hostile run's scenario has not (a prior; a multi-centre calendar).
_OTHER_STAGES = ("assurance", "recruitment", "centres")
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
        # Real figures, drawn cheaply: PNGs at 40 dpi, and the 140-target calibration panel
        # (2 s to draw; tested in tests/figures) replaced by a small real figure.
        mp.setattr(figures_base, "DPI", 40)
        mp.setattr(write.plots, "calibration_panel", lambda tab, **kw: write.plots.power_curve(_CURVE))
        text = write_run(run_stages(sc, replicates=2), out)
    return out, text


_CURVE = pd.DataFrame(
    {"n_per_arm": [10, 20], "power": [0.3, 0.6], "ci_low": [0.2, 0.5], "ci_high": [0.4, 0.7]}
)


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


# ----------------------------------------------------------------------------- issue 14
def _sections(report: str) -> list[str]:
    return [line[3:] for line in report.splitlines() if line.startswith("## ")]


def test_report_is_summary_first(hostile_run):
    out, _ = hostile_run
    report = (out / "report.md").read_text(encoding="utf-8")
    heads = _sections(report)
    assert heads[:3] == ["The answer", "Sample size for the protocol", "What drives the answer"]
    assert heads.index("Summary") > heads.index("What drives the answer")
    protocol = report.split("## Sample size for the protocol\n\n", 1)[1]
    assert protocol.startswith("| item | value | source |")
    assert "A total of " in protocol.split("## ", 1)[0]
    drives = report.split("## What drives the answer\n\n", 1)[1].split("\n## ", 1)[0]
    assert "**Figure 1.**" in drives and "(assumptions.png)" in drives
    assert "`trial.control_lbr`" in drives, "the ranked table names each assumption's key"


def test_every_figure_in_png_and_svg_with_a_numbered_caption(hostile_run):
    out, _ = hostile_run
    report = (out / "report.md").read_text(encoding="utf-8")
    numbers = [int(m) for m in re.findall(r"^\*\*Figure (\d+)\.\*\*", report, flags=re.M)]
    # Every figure but those of stages this scenario has not: the assurance chart ([prior] only)
    # and the calendar's (more than one centre, or recruitment over time).
    shown = [name for name in FIGURE_ORDER if name not in _OTHER_STAGES]
    assert not (out / "assurance.png").exists()
    assert numbers == list(range(1, len(shown) + 1))
    for name in shown:
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG" and (out / f"{name}.svg").exists()
        assert f"[PNG]({name}.png), [SVG]({name}.svg)" in report


_REFERENCE = re.compile(r"""(?:href|src)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^)"']*)|@import""", re.I)


def test_report_html_is_self_contained(hostile_run):
    """No reference leaves the folder: every href/src/url() is a fragment or a file of the
    folder (the PNG/SVG links under each figure), no @import, no script; the figures are inline
    SVG. The currency's "http://x" is on the page only as escaped text."""
    out, _ = hostile_run
    page = (out / "report.html").read_text(encoding="utf-8")
    refs = [a or b for a, b in _REFERENCE.findall(page)]
    assert refs, "the figure links are references"
    for ref in refs:
        # an image inside a matplotlib SVG (the heat map) is a data: URI: inside the page too
        assert ref.startswith(("#", "data:image/")) or (out / ref).is_file(), ref[:80]
    assert "@import" not in page and "<script" not in page.lower()
    assert "xmlns" not in page and "<metadata" not in page
    # every figure but the assurance and calendar ones (stages this scenario has not) inlined once
    assert page.count("<svg") == len(FIGURE_ORDER) - len(_OTHER_STAGES) and "@media print" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_report_html_says_what_report_md_says(hostile_run):
    import html

    out, _ = hostile_run
    page = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    report = (out / "report.md").read_text(encoding="utf-8")
    paragraph = report.split("## Sample size for the protocol", 1)[1].split("\n\n")[2]
    assert paragraph.startswith("A total of")
    assert html.unescape(paragraph.replace("\\", "")) in page
    for head in _sections(report):
        assert f"<h2>{html.unescape(head)}</h2>" in page


def test_figure_ids_do_not_collide_across_inline_svgs(hostile_run):
    out, _ = hostile_run
    page = (out / "report.html").read_text(encoding="utf-8")
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
