"""Data stays data: text from a scenario is escaped for each place it is written.

A scenario file is data, but its strings (``scenario.name``, ``description``, ``clinic.currency``,
labels, any string a ``--set`` or ``--grid`` gives) end up in CSV tables, in ``report.md`` and in
figure titles. Each of those formats has characters that turn text into something else: a CSV
cell starting with ``=`` is a spreadsheet formula, ``<script>`` in Markdown is HTML, ``$...$`` in
a matplotlib title is mathtext (and bad TeX there raises). The functions here make the text show
as the characters it is, one function per destination:

* :func:`neutralise_cell` / :func:`neutralise_frame`: CSV cells (every table, through
  :func:`rplsim.outputs.folder.write_csv`, and the sweep's ``points.csv`` rows);
* :func:`markdown_text`: ``report.md``;
* :func:`html_text`: HTML pages (quotes escaped too, for attributes);
* :func:`plain_title`: matplotlib titles, labels, tick labels and legends;
* :func:`one_line`: any one-line text (a terminal line), control characters made spaces.

The CSV rule (OWASP, "CSV Injection"): a *string* cell whose first character is ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is written with an apostrophe in front (``'=1+2``),
which a spreadsheet shows as text and does not evaluate. Numbers are never strings in rplsim's
tables, so a negative number (``-0.5`` as a float) is written as it is and stays a number; a
*string* that happens to look like a number (``"-0.5"``) is text and is prefixed like any other
string, so that the rule has no exceptions to get wrong. No table rplsim writes from the shipped
scenarios has such a string cell (every one was checked), so nothing legitimate changes.
"""

from __future__ import annotations

import html
import re
from typing import Any

import numpy as np
import pandas as pd

from rplsim._core.text import MAX_TITLE_CHARS, one_line, plain_title

__all__ = [
    "CSV_DANGEROUS_PREFIXES",
    "MAX_TITLE_CHARS",
    "html_text",
    "markdown_text",
    "neutralise_cell",
    "neutralise_frame",
    "one_line",
    "plain_title",
]

CSV_DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a CSV cell as a formula (OWASP's list)."""


# Characters that start or end Markdown/GFM syntax anywhere in a line: escaped everywhere
# (`$` is GitHub's math, `~` its strikethrough, `|` a table cell's end). `<`, `>` and `&` are
# left to html.escape: an entity shows the character in every renderer.
_MD_ANYWHERE = re.compile(r"([\\`*_\[\]|~$])")
# Block markers that count only at the start of a line: a heading (`#`), a list or rule (`-`,
# `+`, `---`, `1. `, `1) `), a heading underline (`=`). The text is one line, so only its very
# start can be a line start. (`0.5` is not an ordered list: no space follows the dot.)
_MD_LINE_START = re.compile(r"^([-+=#])|^(\d+)([.)])(?=\s|$)")


def _is_dangerous(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(CSV_DANGEROUS_PREFIXES)


def neutralise_cell(value: Any) -> Any:
    """``value`` made safe for a CSV cell: a string starting with a formula character gets a ``'``.

    Only ``str`` values are changed; numbers, booleans, None and NaN are returned as they are.
    The rule is idempotent (a neutralised cell starts with ``'``, which is not a formula
    character), so a row read back and written again (``points.csv`` on ``--resume``) is not
    prefixed twice.

    Parameters
    ----------
    value : object
        A cell.

    Returns
    -------
    object
        ``"'" + value`` if ``value`` is a string whose first character is one of
        :data:`CSV_DANGEROUS_PREFIXES`, else ``value``.

    Examples
    --------
    >>> neutralise_cell('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> neutralise_cell(-0.5), neutralise_cell("-0.5"), neutralise_cell("two-sided")
    (-0.5, "'-0.5", 'two-sided')
    """
    return "'" + value if _is_dangerous(value) else value


def _neutralise_series(s: pd.Series) -> pd.Series:
    """``s`` with every dangerous string cell prefixed (the same object when none is)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        new = [neutralise_cell(c) for c in cats]
        if not any(_is_dangerous(c) for c in cats):
            return s
        if len(set(new)) == len(new):
            return s.cat.rename_categories(new)
        return s.astype(object).map(neutralise_cell)  # "=a" and "'=a" both present: plain cells
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        mask = s.str.startswith(CSV_DANGEROUS_PREFIXES).fillna(False).to_numpy(bool)
    elif s.dtype == object:
        # mixed cells (floats, None, strings): only the strings are candidates
        mask = np.fromiter((_is_dangerous(v) for v in s), dtype=bool, count=len(s))
    else:
        return s  # numbers, booleans, datetimes: never touched
    if not mask.any():
        return s
    out = s.astype(object).copy()
    out[mask] = ["'" + v for v in s[mask]]
    return out.astype(s.dtype) if s.dtype != object else out


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with :func:`neutralise_cell` applied to every string cell (a copy if any changed).

    Numeric, boolean and datetime columns are not looked at; string, object and categorical
    columns are, and only their ``str`` cells change. Column names are not changed: rplsim's
    are its own identifiers (and a sweep's axis names are validated scenario keys).

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        ``df`` itself when no cell needed a prefix, else a copy with the prefixed cells.

    Examples
    --------
    >>> neutralise_frame(pd.DataFrame({"x": [-1.5], "unit": ["=1+2"]})).to_dict("list")
    {'x': [-1.5], 'unit': ["'=1+2"]}
    """
    changed = {}
    for col in df.columns:
        s = df[col]
        new = _neutralise_series(s)
        if new is not s:
            changed[col] = new
    if not changed:
        return df
    out = df.copy()
    for col, new in changed.items():
        out[col] = new
    return out


def markdown_text(text: Any, *, inline: bool = False) -> str:
    """``text`` escaped for Markdown: it shows as the characters it is, on one line.

    Three steps: (1) :func:`one_line` (a newline in a description cannot start a heading or a
    list); (2) the Markdown and GitHub-flavoured punctuation that changes meaning — backslash,
    backtick, ``*``, ``_``, ``[``, ``]``, ``|`` (table cells), ``~`` (strikethrough) and ``$``
    (GitHub math) anywhere, and a heading, list or rule marker (``#``, ``-``, ``+``, ``=``,
    ``1.``) at the start unless ``inline`` — is backslash-escaped; (3) the HTML characters ``<``, ``>`` and
    ``&`` become entities, so ``<script>`` is text, not a tag, and ``&lt;`` is not decoded.
    Quotes are left as they are: they mean something only inside an HTML attribute, and no
    tag can be opened once ``<`` is an entity (escaping them would turn every "paper's" of a
    description into ``paper&#x27;s`` in the file). The result renders as the original text
    in any CommonMark/GFM renderer; it is safe in a paragraph, a list item, a table cell, a
    heading or a link's text.

    Parameters
    ----------
    text : object
        Any value; ``str(text)`` is escaped.
    inline : bool
        The text follows other text on its line (``# report: {name}``, ``cost = {value}``),
        so its first character cannot start a block and is not escaped for that.

    Returns
    -------
    str

    Examples
    --------
    >>> markdown_text("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> markdown_text("# a_b | *c*\\n- d")
    '\\\\# a\\\\_b \\\\| \\\\*c\\\\* - d'
    >>> markdown_text("-1", inline=True), markdown_text("-1")
    ('-1', '\\\\-1')
    """
    s = one_line(text)
    s = _MD_ANYWHERE.sub(r"\\\1", s)
    if not inline:
        s = _MD_LINE_START.sub(
            lambda m: f"\\{m.group(1)}" if m.group(1) else f"{m.group(2)}\\{m.group(3)}", s
        )
    return html.escape(s, quote=False)


def html_text(text: Any) -> str:
    """``text`` escaped for HTML element content or a quoted attribute (:func:`html.escape`).

    Examples
    --------
    >>> html_text('<b title="x">&</b>')
    '&lt;b title=&quot;x&quot;&gt;&amp;&lt;/b&gt;'
    """
    return html.escape(str(text), quote=True)
