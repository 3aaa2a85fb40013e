"""Shared pieces of every figure: fonts, colours, the canvas and :func:`save_png`.

Figures are built without :mod:`matplotlib.pyplot`, so no global figure state or interactive
backend is touched (safe in worker processes and tests).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["new_figure", "require_columns", "save_png"]

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
