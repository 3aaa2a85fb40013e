"""Shared pieces of every figure: fonts, the canvas, labels, and saving in PNG/SVG/PDF.

Figures are built without :mod:`matplotlib.pyplot` (a :class:`~matplotlib.figure.Figure` on an
Agg canvas), so no global figure state or interactive backend is touched (safe in worker
processes and tests). Text from data goes through :func:`rplsim._core.text.plain_title`, so a
``$`` in it is a dollar sign, never mathtext.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rplsim._core.text import MAX_TITLE_CHARS, one_line, plain_title

__all__ = [
    "DEFAULT_FORMATS",
    "DPI",
    "FIGURE_FORMATS",
    "check_formats",
    "new_figure",
    "require_columns",
    "save_figure",
    "save_png",
    "title_with",
    "wrapped_label",
]

FONT = 10
SMALL = 9  # smallest font on any figure
FIGURE_FORMATS = ("png", "svg", "pdf")
"""Formats :func:`save_figure` writes."""
DEFAULT_FORMATS = ("png", "svg")
"""Formats of a results folder unless ``--format`` says otherwise."""
DPI = 200
"""Resolution of every PNG."""

# Fixed so the same figure gives the same bytes: no dates, no creator version, one hash salt.
_METADATA = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": None},
    "pdf": {"CreationDate": None, "Creator": None, "Producer": None},
}


def new_figure(width: float, height: float) -> Figure:
    """An empty figure of ``width`` x ``height`` inches on an Agg canvas, constrained layout.

    Examples
    --------
    >>> new_figure(4, 3).get_size_inches().tolist()
    [4.0, 3.0]
    """
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


def title_with(title: str, subtitle: str = "", width: int = 95) -> str:
    """``title`` (each of its lines) and, below it, ``subtitle`` (the design or scenario), both plain.

    Examples
    --------
    >>> title_with("Power", "paper: chi2")
    'Power\\npaper: chi2'
    """
    head = "\n".join(wrapped_label(line, width) for line in str(title).split("\n"))
    return head + ("\n" + wrapped_label(subtitle, width) if one_line(subtitle) else "")


def set_title(fig: Figure, title: str, subtitle: str = "", width: int = 95) -> None:
    """The figure's title (suptitle, inside the canvas) with its subtitle line."""
    fig.suptitle(title_with(title, subtitle, width), fontsize=FONT + 1)


def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise ValueError naming the missing columns of ``df`` (``what`` is the figure).

    Examples
    --------
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a", "b"], "demo")
    Traceback (most recent call last):
    ...
    ValueError: demo: missing column(s) b; expected a, b.
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}.")


def check_formats(text: str) -> tuple[str, ...]:
    """The figure formats named by ``text`` ("png,svg,pdf"): lower case, in order, once each.

    Parameters
    ----------
    text : str
        Comma-separated format names (case-insensitive).

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        If ``text`` names no format or one not in :data:`FIGURE_FORMATS`.

    Examples
    --------
    >>> check_formats("SVG, png,svg")
    ('svg', 'png')
    >>> check_formats("jpg")
    Traceback (most recent call last):
    ...
    ValueError: figure format 'jpg' is not one of png, svg, pdf (e.g. --format png,svg).
    """
    names = [one_line(p).lower() for p in str(text).split(",")]
    names = [n for n in names if n]
    if not names:
        raise ValueError(
            f"figure formats {one_line(text)!r} name no format; choose from {', '.join(FIGURE_FORMATS)}."
        )
    for n in names:
        if n not in FIGURE_FORMATS:
            raise ValueError(
                f"figure format {n!r} is not one of {', '.join(FIGURE_FORMATS)} (e.g. --format png,svg)."
            )
    return tuple(dict.fromkeys(names))


def _release(fig: Figure) -> None:
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:  # only figures made through pyplot are registered there
        pyplot.close(fig)


def save_figure(fig: Figure, stem: str | Path, formats: Sequence[str] = DEFAULT_FORMATS) -> list[Path]:
    """Write ``fig`` as ``stem.png`` (200 dpi), ``stem.svg`` and/or ``stem.pdf``; the same bytes each time.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    stem : str or Path
        Destination without suffix (a suffix given is replaced); the parent folder must exist.
    formats : sequence of str
        Any of :data:`FIGURE_FORMATS` (checked with :func:`check_formats`).

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``.

    Examples
    --------
    >>> import tempfile
    >>> fig = new_figure(2, 2)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.name for p in save_figure(fig, Path(d) / "x", ("png", "pdf"))]
    ['x.png', 'x.pdf']
    """
    fmts = check_formats(",".join(formats))
    stem = Path(stem)
    if stem.suffix.lstrip(".").lower() in FIGURE_FORMATS:
        stem = stem.with_suffix("")
    out = []
    # svg.hashsalt fixes the ids of clip paths; without it they are random per save
    with matplotlib.rc_context({"svg.hashsalt": "rplsim", "svg.fonttype": "path"}):
        # One draw solves the constrained layout and the tight bounding box; both are then
        # frozen, so each format costs one more draw instead of two layouts and two draws
        # ("tight" draws once to measure, once to render). Measured on the 140-target
        # calibration panel in PNG and SVG: 6.7 s before, 4.1 s frozen.
        fig.canvas.draw()
        bbox = fig.get_tightbbox().padded(0.1)  # savefig's pad_inches; the last draw's renderer
        fig.set_layout_engine("none")
        for fmt in fmts:
            path = stem.parent / f"{stem.name}.{fmt}"
            fig.savefig(path, dpi=DPI, bbox_inches=bbox, format=fmt, metadata=_METADATA[fmt])
            out.append(path)
    _release(fig)
    return out


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as one PNG at :data:`DPI` (tight bounding box) and release it.

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
    fig.savefig(path, dpi=DPI, bbox_inches="tight", format="png", metadata=_METADATA["png"])
    _release(fig)
    return path


def no_data(ax: Axes, text: str) -> None:
    """Write ``text`` in the middle of an empty panel."""
    ax.text(0.5, 0.5, plain_title(text), transform=ax.transAxes, ha="center", va="center", fontsize=SMALL)
    ax.set_xticks([])
    ax.set_yticks([])
