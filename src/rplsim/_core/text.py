"""Text drawn on a figure: one line, cut to a length, never mathtext.

Text from a scenario (its name, a label, a ``--set`` value) ends up in figure titles and legends,
where matplotlib reads ``$...$`` as mathtext (and bad TeX there raises). These helpers, used by
:mod:`rplsim.figures` and re-exported by :mod:`rplsim.outputs.escape`, make it show as written.
"""

from __future__ import annotations

import unicodedata
from typing import Any

__all__ = ["MAX_TITLE_CHARS", "one_line", "plain_title"]

MAX_TITLE_CHARS = 120
"""Scenario text in a figure title or label is cut to this many characters (ending in "…")."""


def one_line(text: Any) -> str:
    """``text`` as one line: every control character and line or paragraph separator a space.

    Newlines, tabs, carriage returns, NUL, the terminal escape ``\\x1b`` and Unicode's line
    separators all become a single space each, so the text cannot start a new line (of a report,
    a log, a terminal) nor send control sequences; leading and trailing spaces are removed.

    Examples
    --------
    >>> one_line("a\\nb\\x1b[31mc\\u2028d ")
    'a b [31mc d'
    """
    s = str(text)
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in s).strip()


def plain_title(text: Any, max_chars: int = MAX_TITLE_CHARS) -> str:
    """``text`` for a matplotlib title, axis label, tick label or legend entry: drawn as written.

    Every ``$`` becomes ``\\$``, so matplotlib never parses the text as mathtext (a ``$x^$`` or
    ``$\\frac{1}{0}$`` in a scenario name would otherwise raise when the figure is drawn);
    matplotlib shows ``\\$`` as ``$`` and every other backslash as it is. The text is made one
    line (:func:`one_line`) and cut to ``max_chars`` characters, ending in "…", before escaping.
    (This is for matplotlib's default renderer; with ``text.usetex`` set in a user's
    matplotlibrc, LaTeX would see the text and other characters would need escaping.)

    Parameters
    ----------
    text : object
        Any value; ``str(text)`` is used.
    max_chars : int
        Longest text kept (default :data:`MAX_TITLE_CHARS`).

    Returns
    -------
    str

    Examples
    --------
    >>> plain_title("cost in $ ($x^$)")
    'cost in \\\\$ (\\\\$x^\\\\$)'
    >>> len(plain_title("x" * 500))
    120
    """
    s = one_line(text)
    if len(s) > max_chars:
        s = s[: max_chars - 1].rstrip() + "…"
    return s.replace("$", r"\$")
