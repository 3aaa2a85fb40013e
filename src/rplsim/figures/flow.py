"""CONSORT-style flow diagrams of an enrolment or screening funnel.

Boxes run top to bottom with their counts; the women who leave between two boxes are in a box
to the side (their reasons and counts, when the funnel lists them), and the share assumed to
pass each step is written on its arrow with where the share comes from.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from rplsim._core.text import one_line, plain_title
from rplsim.figures.base import SMALL, new_figure, require_columns, set_title
from rplsim.figures.palette import EXCLUDED, OK

__all__ = ["FlowBox", "flow_diagram", "flow_layout", "funnel_chart"]

_MAIN_X, _MAIN_W = 0.42, 0.42
_SIDE_X, _SIDE_W = 0.82, 0.34
_LINE = 0.30  # height of one text line, in box units


def _wrap(text: object, width: int) -> list[str]:
    return [plain_title(t) for t in textwrap.wrap(one_line(text), width)] or [""]


@dataclass
class FlowBox:
    """One main box of a flow diagram and the exclusions that follow it."""

    step: str
    n: float
    kind: str = "step"
    share: float = math.nan
    basis: str = ""
    lost: str = ""
    excluded: list[tuple[str, float]] = field(default_factory=list)


def flow_layout(funnel: pd.DataFrame) -> list[FlowBox]:
    """The boxes of a funnel: main steps, each with the exclusions that follow it.

    Rows whose ``kind`` is "excluded" become the side box after the main step before them;
    without ``kind`` (or between two main steps with no excluded row) the side box holds the
    difference of the two counts.

    Examples
    --------
    >>> f = pd.DataFrame({"step": ["seen", "lost", "analysed"], "n": [10, 3, 7],
    ...     "kind": ["seen", "excluded", "analysed"]})
    >>> [(b.step, b.n, b.excluded) for b in flow_layout(f)]
    [('seen', 10.0, [('lost', 3.0)]), ('analysed', 7.0, [])]
    """
    kinds = funnel["kind"].astype(str).tolist() if "kind" in funnel.columns else ["step"] * len(funnel)
    boxes: list[FlowBox] = []
    for k, (_, r) in enumerate(funnel.iterrows()):
        if kinds[k] == "excluded" and boxes:
            boxes[-1].excluded.append((str(r["step"]), float(r["n"])))
            continue
        share = float(r["share"]) if "share" in funnel.columns and pd.notna(r["share"]) else math.nan
        basis = one_line(r["basis"]) if "basis" in funnel.columns and pd.notna(r["basis"]) else ""
        lost = one_line(r["lost"]) if "lost" in funnel.columns and pd.notna(r["lost"]) else ""
        boxes.append(FlowBox(str(r["step"]), float(r["n"]), kinds[k], share, basis, lost))
    return boxes


def _box(ax: Axes, x: float, y: float, w: float, lines: list[str], colour: str, bold_last: bool) -> float:
    h = _LINE * len(lines) + 0.25
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.0,rounding_size=0.03",
            fc=colour,
            ec="black",
            lw=0.8,
            mutation_aspect=0.3,
        )
    )
    for i, line in enumerate(lines):
        ax.text(
            x,
            y + h / 2 - 0.125 - _LINE * (i + 0.5),
            line,
            ha="center",
            va="center",
            fontsize=SMALL,
            fontweight="bold" if bold_last and i == len(lines) - 1 else "normal",
        )
    return h


def _arrow(ax: Axes, x0: float, y0: float, x1: float, y1: float) -> None:
    ax.annotate(
        "", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 0.9}
    )


def flow_diagram(funnel: pd.DataFrame, title: str = "Enrolment flow", *, subtitle: str = "") -> Figure:
    """A CONSORT-style flow diagram of ``funnel`` (see :func:`flow_layout`).

    Parameters
    ----------
    funnel : pandas.DataFrame
        Columns ``step, n`` and optionally ``kind`` ("excluded" rows go to the side),
        ``share`` (the fraction passing into that step), ``basis`` (where the share comes
        from) and ``lost`` (why the others leave before it), such as :func:`rplsim.paper_funnel` or
        :func:`rplsim.planning.feasibility.screening_funnel`.
    title : str
        Figure title (drawn as written: ``$`` is not mathtext).
    subtitle : str
        A second title line (the scenario).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> f = pd.DataFrame({"step": ["screened", "randomised"], "n": [200, 100],
    ...     "share": [float("nan"), 0.5], "basis": ["", "consent (assumption)"]})
    >>> fig = flow_diagram(f, "Screening")
    """
    require_columns(funnel, ("step", "n"), "flow_diagram")
    boxes = flow_layout(funnel)
    # vertical room: a main box, then the gap holding its side box and the share text
    main_lines = [[*_wrap(b.step, 40), f"n = {b.n:,.0f}"] for b in boxes]
    gaps = []
    for k, b in enumerate(boxes[:-1]):
        side = len(b.excluded) + 1 if b.excluded else 1
        share_lines = 4 if math.isfinite(boxes[k + 1].share) else 0
        gaps.append(max(side, share_lines, 1) * _LINE + 0.7)
    heights = [_LINE * len(lines) + 0.25 for lines in main_lines]
    total = sum(heights) + sum(gaps)
    fig = new_figure(9.0, 1.3 + 0.62 * total)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(-total - 0.05, 0.05)
    y = 0.0
    for k, b in enumerate(boxes):
        kind = b.kind
        last = k == len(boxes) - 1
        colour = "#cfe8d5" if last or kind in ("analysed", "randomised") else "#dbe7f5"
        h = heights[k]
        centre = y - h / 2
        _box(ax, _MAIN_X, centre, _MAIN_W, main_lines[k], colour, True)
        y -= h
        if last:
            break
        gap = gaps[k]
        nxt = boxes[k + 1]
        _arrow(ax, _MAIN_X, y, _MAIN_X, y - gap)
        mid = y - gap / 2
        exc = b.excluded
        if exc:
            total_out = sum(n for _, n in exc)
            lines = [f"excluded: n = {total_out:,.0f}"] + [
                plain_title(textwrap.shorten(one_line(s), 34, placeholder="…")) + f": {n:,.0f}"
                for s, n in exc
            ]
        else:
            out = b.n - nxt.n
            lines = [plain_title(f"{nxt.lost or 'do not continue'}: n = {out:,.0f}")]
        _arrow(ax, _MAIN_X, mid, _SIDE_X - _SIDE_W / 2, mid)
        _box(ax, _SIDE_X, mid, _SIDE_W, lines, EXCLUDED if exc else "#eeeeee", False)
        share = nxt.share
        if math.isfinite(share):
            text = (
                [f"× {share:.2f} pass", *_wrap(nxt.basis, 34)[:3]] if nxt.basis else [f"× {share:.2f} pass"]
            )
            ax.text(
                _MAIN_X - 0.015,
                mid,
                "\n".join(text),
                ha="right",
                va="center",
                fontsize=SMALL,
                color=OK,
                style="italic",
            )
        y -= gap
    set_title(fig, title, subtitle)
    return fig


def funnel_chart(funnel: pd.DataFrame, title: str = "Enrolment flow", *, subtitle: str = "") -> Figure:
    """The old name of :func:`flow_diagram` (kept for callers).

    Examples
    --------
    >>> fig = funnel_chart(pd.DataFrame({"step": ["a", "b"], "n": [2, 1]}))
    """
    return flow_diagram(funnel, title, subtitle=subtitle)
