"""The calibration panel: every target of the paper, faceted by the table it comes from.

Each target is drawn at its standardised distance ``(centre − paper) / tolerance``, where
``centre`` and ``tolerance`` are the middle and half-width of the band that decides ``within``
(:func:`rplsim.calibration.rows.row`): the mean ± the 99% prediction half-width for means, SDs
and shares, the central 99% of the replicates for extremes, F statistics and p values. A target
is therefore drawn inside the band exactly when it is ``within``, and its colour says the same.
"""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from rplsim._core.text import plain_title
from rplsim.figures.base import FONT, SMALL, new_figure, require_columns, set_title
from rplsim.figures.palette import BAND, GREY, MISS, OK

__all__ = ["calibration_distance", "calibration_panel", "source_table"]

_SECTION = re.compile(r"^\s*(Table \d+|Figure \d+)", re.IGNORECASE)


def source_table(source: str) -> str:
    """The facet of a target: its table ("Table 1"), else "Text (sections, abstract)".

    Examples
    --------
    >>> source_table("Table 1, KA"), source_table("Section 3.2, Figure 2")
    ('Table 1', 'Text (sections, abstract)')
    """
    m = _SECTION.match(str(source))
    return m.group(1).title() if m else "Text (sections, abstract)"


def calibration_distance(tab: pd.DataFrame) -> np.ndarray:
    """``(centre − paper) / tolerance`` of each row: inside ±1 exactly when ``within``.

    ``centre`` is the middle of the band (the ``centre`` column; ``simulated`` where it is
    missing or NaN, which is the centre of the symmetric bands). A zero tolerance (a statistic
    that never varies) gives 0 when equal, ±inf otherwise; a row not simulated gives NaN.

    Examples
    --------
    >>> t = pd.DataFrame({"paper": [1.0, 1.0], "simulated": [1.5, 3.0], "tolerance": [1.0, 1.0]})
    >>> calibration_distance(t).tolist()
    [0.5, 2.0]
    """
    sim = tab["simulated"].to_numpy(float)
    if "centre" in tab.columns:
        c = tab["centre"].to_numpy(float)
        sim = np.where(np.isfinite(c), c, sim)
    diff = sim - tab["paper"].to_numpy(float)
    tol = tab["tolerance"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(tol == 0, np.where(diff == 0, 0.0, np.sign(diff) * np.inf), diff / tol)
    return np.asarray(z, dtype=float)


def _facets(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    order = list(dict.fromkeys(df["facet"]))
    order.sort(key=lambda f: (not f.startswith("Table"), f))
    return [(f, df[df["facet"] == f]) for f in order]


def _draw_facet(ax: Axes, name: str, rows: pd.DataFrame, clip: float) -> None:
    n = len(rows)
    y = np.arange(n)[::-1].astype(float)
    z = rows["z"].to_numpy(float)
    within = rows["within"].to_numpy(bool)
    followed = rows["followed"].to_numpy(bool)
    ax.axvspan(-1, 1, color=BAND, zorder=0)
    ax.axvline(0, color=GREY, lw=0.8, zorder=1)
    finite = np.isfinite(z) | np.isinf(z)
    zc = np.clip(np.where(finite, z, 0.0), -clip, clip)
    beyond = finite & (np.abs(z) > clip)
    colour = np.where(~followed, GREY, np.where(within, OK, MISS))
    for i in range(n):
        if not finite[i]:
            ax.plot(0, y[i], marker="x", color=MISS, ms=7, zorder=3)
            ax.text(0.15, y[i], "not simulated", fontsize=SMALL - 1, va="center", color=MISS)
            continue
        hollow = not followed[i]
        marker = (">" if z[i] > 0 else "<") if beyond[i] else "o"
        ax.plot(
            zc[i],
            y[i],
            marker=marker,
            ms=7 if beyond[i] else 5.5,
            color=colour[i],
            mfc="white" if hollow else colour[i],
            ls="none",
            zorder=3,
            clip_on=False,
        )
        if beyond[i]:  # the real distance, since the marker sits at the edge
            ax.text(
                zc[i] - np.sign(z[i]) * 0.25,
                y[i],
                f"{z[i]:+.1f}" if np.isfinite(z[i]) else "±inf",
                fontsize=SMALL - 1,
                va="center",
                ha="right" if z[i] > 0 else "left",
                color=colour[i],
            )
    labels = [plain_title(textwrap.shorten(str(t), 52, placeholder="…")) for t in rows["target"]]
    ax.set_yticks(y, labels, fontsize=SMALL - 1)
    for tick, c in zip(ax.get_yticklabels(), colour, strict=True):
        tick.set_color("black" if c == OK else c)  # only misses and 'not followed' stand out
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(-clip - 0.3, clip + 0.3)
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="x", labelsize=SMALL)
    misses = int((~within & followed).sum())
    ax.set_title(plain_title(f"{name}: {n} targets, {misses} missed"), fontsize=FONT, loc="left")


def calibration_panel(tab: pd.DataFrame, clip: float = 4.0, *, subtitle: str = "") -> Figure:
    """Every calibration target at its distance from the paper, one panel a table of the paper.

    Parameters
    ----------
    tab : pandas.DataFrame
        The table of :func:`rplsim.calibrate`: columns ``target, source, paper, simulated,
        tolerance, within, followed`` and optionally ``centre`` (see :func:`calibration_distance`).
    clip : float
        Distances beyond ±clip are drawn at the edge as an arrow, with their value written.
    subtitle : str
        A second title line (the scenario).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> t = pd.DataFrame({"target": ["a", "b"], "source": ["Table 1", "Section 3"],
    ...     "paper": [1.0, 2.0], "simulated": [1.1, 9.0], "tolerance": [0.5, 1.0],
    ...     "within": [True, False], "followed": [True, True]})
    >>> len(calibration_panel(t).axes)
    2
    """
    require_columns(
        tab,
        ("target", "source", "paper", "simulated", "tolerance", "within", "followed"),
        "calibration_panel",
    )
    df = tab.reset_index(drop=True).copy()
    df["within"] = df["within"].astype(bool)
    df["followed"] = df["followed"].astype(bool)
    df["z"] = calibration_distance(df)
    df["facet"] = [source_table(s) for s in df["source"]]
    facets = _facets(df)
    # the largest facet fills the left column, the others stack on the right
    facets.sort(key=lambda f: -len(f[1]))
    left, right = facets[:1], facets[1:]
    n_left = sum(len(r) for _, r in left)
    n_right = sum(len(r) for _, r in right) + 3 * max(len(right) - 1, 0)
    tall = max(n_left, n_right, 6)
    fig = new_figure(15.0 if right else 8.0, 1.9 + 0.175 * tall)
    if right:
        outer = fig.add_gridspec(1, 2, wspace=0.12)
        left_ax = fig.add_subplot(outer[0, 0])
        heights = [len(r) + 3 for _, r in right]
        sub = outer[0, 1].subgridspec(len(right), 1, height_ratios=heights)
        axes = [left_ax] + [fig.add_subplot(sub[i, 0]) for i in range(len(right))]
    else:
        axes = [fig.add_subplot()]
    for ax, (name, rows) in zip(axes, left + right, strict=True):
        _draw_facet(ax, name, rows, clip)
    for ax in (axes[0], axes[-1]):
        ax.set_xlabel(
            "(simulated − paper) / tolerance: inside ±1 (green) = within the 99% band",
            fontsize=SMALL,
        )
    within, followed = df["within"], df["followed"]
    n_miss = int((~within & followed).sum())
    n_nf = int((~followed).sum())
    set_title(
        fig,
        f"Calibration against the paper: all {len(df)} targets, {n_miss} missed, "
        f"{n_nf} 'not followed' readings (grey)",
        subtitle,
        140,
    )
    handles = [
        Patch(color=BAND, label="within the 99% tolerance band (±1)"),
        Line2D([], [], marker="o", ls="none", color=OK, label="within"),
        Line2D([], [], marker="o", ls="none", color=MISS, label="missed"),
        Line2D([], [], marker="o", ls="none", color=GREY, mfc="white", label="reading not followed"),
        Line2D([], [], marker=">", ls="none", color=GREY, label=f"beyond ±{clip:g} (value written)"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=5, fontsize=SMALL, frameon=False)
    return fig
