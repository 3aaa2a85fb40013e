"""How result objects show themselves: a short ``repr``, a text table, a small HTML table.

Every result class of rplsim (power, sample size, curve, feasibility, trial stage, run) mixes in
:class:`Displayed` and says what it is in :meth:`Displayed._display_rows` (label, value) pairs;
``repr`` is then one line, ``summary()`` a :class:`Summary` that prints as an aligned table and
shows as an HTML table in a notebook (``_repr_html_``), and ``to_frame()`` of the summary is the
same rows as a DataFrame. Hand-written rather than through pandas' Styler: the Styler needs
jinja2, which is not on the design card, and two columns need no template engine.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Displayed", "Summary", "html_rows", "text_rows"]

#: Characters of a ``repr`` line before it is cut (a notebook cell stays one line).
REPR_CHARS = 160


def text_rows(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """``rows`` as a two-column text table under ``title``.

    Examples
    --------
    >>> print(text_rows("Power", [("power", "0.80"), ("n per arm", "84")]))
    Power
      power      0.80
      n per arm  84
    """
    width = max((len(k) for k, _ in rows), default=0)
    lines = [title] + [f"  {k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(line.rstrip() for line in lines)


def html_rows(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """``rows`` as a small HTML table with ``title`` as its caption (every text escaped).

    Examples
    --------
    >>> page = html_rows("a<b", [("x", "1 & 2")])
    >>> page.startswith("<table><caption>a&lt;b</caption>"), "1 &amp; 2</td>" in page
    (True, True)
    """
    body = "".join(
        f'<tr><th style="text-align:left">{html.escape(k)}</th>'
        f'<td style="text-align:left">{html.escape(v)}</td></tr>'
        for k, v in rows
    )
    return f"<table><caption>{html.escape(title)}</caption><tbody>{body}</tbody></table>"


@dataclass(frozen=True)
class Summary:
    """A titled list of (label, value) rows: prints as text, shows as HTML, converts to a frame.

    Examples
    --------
    >>> s = Summary("Exact power", (("power", "0.8031"),))
    >>> print(s)
    Exact power
      power  0.8031
    >>> s.to_frame().columns.tolist()
    ['item', 'value']
    """

    title: str
    rows: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return text_rows(self.title, self.rows)

    def _repr_html_(self) -> str:
        return html_rows(self.title, self.rows)

    def to_frame(self) -> Any:
        """The rows as a DataFrame with columns ``item, value``."""
        import pandas as pd  # deferred: _core itself needs only the standard library

        return pd.DataFrame(list(self.rows), columns=["item", "value"])


class Displayed:
    """Mixin: ``repr``, ``summary()`` and ``_repr_html_`` from :meth:`_display_rows`.

    A dataclass using it is declared with ``repr=False`` so that this ``__repr__`` is kept.
    """

    def _display_title(self) -> str:
        return type(self).__name__

    def _display_rows(self) -> list[tuple[str, str]]:
        raise NotImplementedError  # pragma: no cover - every subclass defines it

    def summary(self) -> Summary:
        """The object as a titled table of (item, value) rows.

        Returns
        -------
        Summary
            Prints as aligned text; ``_repr_html_`` in a notebook; ``to_frame()``.
        """
        return Summary(self._display_title(), tuple(self._display_rows()))

    def __repr__(self) -> str:
        rows = self._display_rows()[:4]
        text = f"<{type(self).__name__} " + "; ".join(f"{k} {v}" for k, v in rows) + ">"
        return text if len(text) <= REPR_CHARS else text[: REPR_CHARS - 2] + "…>"

    def _repr_html_(self) -> str:
        return html_rows(self._display_title(), self._display_rows())
