"""Shared pieces of every figure: fonts, colours, the canvas and :func:`save_png`.

Figures are built without :mod:`matplotlib.pyplot`, so no global figure state or interactive
backend is touched (safe in worker processes and tests). Text that comes from data (a
scenario's name, a table's labels) is drawn through :func:`rplsim.outputs.escape.plain_title`
(or :func:`wrapped_label`), so a ``$`` in it is a dollar sign, never mathtext that can fail.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rplsim.outputs.escape import MAX_TITLE_CHARS, one_line, plain_title

__all__ = ["new_figure", "require_columns", "save_png", "wrapped_label"]

FONT = 10
SMALL = 9  # smallest font on any figure
MISS = "#c0392b"
OK = "#1f5fa8"
GREY = "#7f7f7f"


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of ``width`` x ``height`` inches on an Agg canvas, constrained layout."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def wrapped_label(text: Any, width: int, max_chars: int = MAX_TITLE_CHARS) -> str:
    """``text`` as a figure label wrapped at ``width`` characters, each line :func:`plain_title`.

    The text is first made one line and cut to ``max_chars`` characters at a word boundary
    (ending in "…"), so a label from data can neither mean mathtext nor fill the figure.

    Examples
    --------
    >>> wrapped_label("cost in $ per gram of IVIG", 12).splitlines()
    ['cost in \\\\$', 'per gram of', 'IVIG']
    """
    s = one_line(text)
    if len(s) > max_chars:
        s = textwrap.shorten(s, max_chars, placeholder="…")
    return "\n".join(plain_title(line, max_chars) for line in textwrap.wrap(s, width) or [""])


def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise ValueError naming the missing columns of ``df`` (``what`` is the figure)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}.")


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG (120 dpi, tight bounding box) and release it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
        Destination; the parent folder must exist.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight", format="png")
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # only figures made through pyplot are registered there
        pyplot.close(fig)
    return path
