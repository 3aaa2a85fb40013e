"""rplsim.outputs.escape: CSV cells, Markdown, HTML and figure titles keep data as data.

The sweep's points.csv and sweep.png are escaped by the same functions; their tests are at the
end (a two-point sweep of 1,024 replicates, well under a second).
"""

from __future__ import annotations

import io
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib import cbook

from rplsim.outputs.escape import (
    CSV_DANGEROUS_PREFIXES,
    MAX_TITLE_CHARS,
    html_text,
    markdown_text,
    neutralise_cell,
    neutralise_frame,
    one_line,
    plain_title,
)
from rplsim.outputs.figure import new_figure, wrapped_label
from rplsim.outputs.folder import write_csv

from ..conftest import SCENARIOS

# Characters _MD_ANYWHERE escapes wherever they are (the Markdown/GFM inline syntax).
MD_INLINE = "\\`*_[]|~$"

# Texts that broke something before issue 20: formulas, HTML, TeX, Markdown structure.
HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+1+2",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1",
    "\r=1",
    "<script>alert(1)</script>",
    "$\\frac{1}{0}$",
    "$$",
    "$x^$",
    "\\",
    "# heading\n- item\n1. one\n---",
    "a | b ` c * d _ e [f](g) ~h~",
]


# ----------------------------------------------------------------------------- CSV cells
@pytest.mark.parametrize("prefix", CSV_DANGEROUS_PREFIXES)
def test_a_string_starting_with_a_formula_character_gets_an_apostrophe(prefix):
    assert neutralise_cell(f"{prefix}1+2") == f"'{prefix}1+2"


@pytest.mark.parametrize("value", [-0.5, -3, 0, np.float64(-1e-300), np.int64(-7), True, None, math.nan])
def test_numbers_and_non_strings_are_never_touched(value):
    out = neutralise_cell(value)
    assert out is value


@pytest.mark.parametrize("text", ["two-sided", "obrien-fleming", "", "'=already", "USD", "0.5", " =x"])
def test_ordinary_text_is_unchanged(text):
    assert neutralise_cell(text) == text


def test_a_number_written_as_text_is_text_and_is_prefixed():
    # the documented choice: a str is text whatever it looks like; rplsim writes numbers as numbers
    assert neutralise_cell("-0.5") == "'-0.5"


@given(st.text())
def test_neutralised_cell_never_starts_with_a_formula_character(text):
    out = neutralise_cell(text)
    assert not out.startswith(CSV_DANGEROUS_PREFIXES)
    assert out in (text, "'" + text)
    assert neutralise_cell(out) == out, "idempotent: a resumed points.csv is not prefixed twice"


def test_neutralise_frame_changes_only_dangerous_string_cells():
    df = pd.DataFrame(
        {
            "x": [-1.5, 2.0, -3.25],
            "n": [-1, 2, 3],
            "flag": [True, False, True],
            "unit": ["=1+2", "g", "-"],
            "mixed": pd.Series([-0.5, "@x", None], dtype=object),
            "cat": pd.Categorical(["+a", "b", "+a"]),
            "clash": pd.Categorical(["=a", "'=a", "b"]),
        }
    )
    out = neutralise_frame(df)
    assert out["x"].tolist() == [-1.5, 2.0, -3.25] and out["x"].dtype == np.float64
    assert out["n"].tolist() == [-1, 2, 3] and out["flag"].tolist() == [True, False, True]
    assert out["unit"].tolist() == ["'=1+2", "g", "'-"]
    assert out["mixed"].tolist() == [-0.5, "'@x", None]
    assert out["cat"].astype(str).tolist() == ["'+a", "b", "'+a"]
    assert out["clash"].astype(str).tolist() == ["'=a", "'=a", "b"]
    assert df["unit"].tolist() == ["=1+2", "g", "-"], "the caller's frame is not modified"


def test_neutralise_frame_returns_a_clean_frame_itself():
    df = pd.DataFrame({"x": [-1.0], "s": ["fisher"]})
    assert neutralise_frame(df) is df


def test_write_csv_neutralises_text_but_not_negative_numbers():
    buf = io.StringIO()
    write_csv(pd.DataFrame({"value": [-0.5, 2 / 3], "unit": ['=HYPERLINK("http://x","y")', "-"]}), buf)
    lines = buf.getvalue().splitlines()
    assert lines == ["value,unit", '-0.5,"\'=HYPERLINK(""http://x"",""y"")"', "0.666666666667,'-"]


# ----------------------------------------------------------------------------- Markdown
def _unescaped(text: str, chars: str) -> list[int]:
    """Positions of ``chars`` in ``text`` that no backslash escapes (read left to right)."""
    bad, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2  # a backslash and the character it escapes
            continue
        if text[i] in chars:
            bad.append(i)
        i += 1
    return bad


def test_markdown_text_shows_html_as_text():
    assert markdown_text("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert markdown_text("a & b &lt;") == "a &amp; b &amp;lt;"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# title", "\\# title"),
        ("- item", "\\- item"),
        ("+ item", "\\+ item"),
        ("1. one", "1\\. one"),
        ("---", "\\---"),
        ("0.5 g", "0.5 g"),
        ("a\nb\r\nc", "a b  c"),
        ("[link](http://x)", "\\[link\\](http://x)"),
        ("$x^$ | `c` *b* _i_ ~s~ \\", "\\$x^\\$ \\| \\`c\\` \\*b\\* \\_i\\_ \\~s\\~ \\\\"),
        ('the paper\'s "claim"', 'the paper\'s "claim"'),
    ],
)
def test_markdown_text_escapes_structure(text, expected):
    assert markdown_text(text) == expected


def test_markdown_text_inline_leaves_a_leading_marker():
    assert markdown_text("-1", inline=True) == "-1"
    assert markdown_text("# x", inline=True) == "# x"


@given(st.text())
def test_markdown_text_never_leaves_html_newlines_or_inline_syntax(text):
    out = markdown_text(text)
    assert "<" not in out and ">" not in out
    assert "\n" not in out and "\r" not in out
    assert not _unescaped(out, MD_INLINE), out
    assert not out.startswith(("#", "-", "+", "=")), "no block marker at the start"


@given(st.text())
def test_html_text_never_leaves_markup(text):
    out = html_text(text)
    assert not set(out) & set("<>\"'")


def test_one_line_removes_control_characters():
    assert one_line("a\nb\x1b[2Jc\x00d\u2028e\te") == "a b [2Jc d e e"


# ----------------------------------------------------------------------------- figure text
def _draw(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    return buf.getvalue()


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_title_draws_any_text(text):
    fig = new_figure(4, 3)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], label=plain_title(text))
    ax.set_title(plain_title(text))
    ax.set_xlabel(plain_title(text))
    ax.set_xticks([0, 1], [plain_title(text), wrapped_label(text, 8)])
    ax.legend(title=plain_title(text))
    fig.suptitle(plain_title(text))
    assert _draw(fig)[:4] == b"\x89PNG"


def test_plain_title_shows_dollars_as_written():
    fig = new_figure(4, 3)
    title = fig.add_subplot().set_title(plain_title("cost in $ and $x^$"))
    fig.canvas.draw()
    assert title.get_text() == "cost in \\$ and \\$x^\\$"
    # matplotlib draws "\$" as "$" and does not see mathtext
    assert title._preprocess_math(title.get_text()) == ("cost in $ and $x^$", False)


def test_plain_title_cuts_long_text():
    out = plain_title("word " * 200)
    assert len(out) == MAX_TITLE_CHARS and out.endswith("…")
    assert plain_title("x" * 500, 10) == "x" * 9 + "…"


@given(st.text())
def test_plain_title_is_never_mathtext(text):
    out = plain_title(text)
    assert not cbook.is_math_text(out)
    assert "\n" not in out


# ----------------------------------------------------------------------------- the sweep
@pytest.fixture(scope="module")
def currency_sweep(tmp_path_factory):
    """Two points whose only difference is a hostile currency (1,024 replicates each)."""
    from rplsim.sweep.grid import plan_sweep
    from rplsim.sweep.run import run_sweep

    grid = {
        "trial.control_lbr": [0.6],
        "trial.analysis": ["chi2"],
        "trial.dropout": [0.1],
        "clinic.currency": ["=HYPERLINK(1)", "$x^$"],
    }
    sets = ["sweep.n_per_arm=60", "sweep.replicates=1024", "sweep.batch=1024", "trial.looks=1"]
    plan = plan_sweep(SCENARIOS / "sweep_example.toml", sets, grid)
    out = tmp_path_factory.mktemp("sweep")
    return plan, out, run_sweep(plan, out, workers=1)


def test_points_csv_neutralises_grid_text_and_keeps_keys(currency_sweep):
    plan, out, _res = currency_sweep
    raw = pd.read_csv(out / "points.csv", dtype=str)
    assert raw["clinic.currency"].tolist() == ["'=HYPERLINK(1)", "$x^$"]
    assert raw["point"].tolist() == [p.key for p in plan.points], "point keys untouched"
    assert raw["digest"].tolist() == [p.digest for p in plan.points], "digests untouched"
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG", "a $x^$ value does not break the figure"


def test_a_neutralised_points_csv_resumes(currency_sweep):
    from rplsim.sweep.run import run_sweep

    plan, out, _res = currency_sweep
    before = (out / "points.csv").read_bytes()
    again = run_sweep(plan, out, workers=1, resume=True)
    assert (again.computed, again.resumed) == (0, 2)
    assert (out / "points.csv").read_bytes() == before, "kept rows are not prefixed twice"


def test_sweep_figure_draws_text_values_on_its_x_axis(currency_sweep):
    from rplsim.sweep.run import sweep_figure

    plan, _out, res = currency_sweep
    only_text = replace(plan, axes=("clinic.currency",))
    fig = sweep_figure(res.table, only_text)
    assert _draw(fig)[:4] == b"\x89PNG"
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["\\$x^\\$", "'=HYPERLINK(1)"]
