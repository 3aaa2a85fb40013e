"""How the sample size moves with the assumptions: the rate heat map and the tornado.

:func:`sensitivity_heatmap` shows the n per arm over a grid of placebo × IVIG live-birth rates;
:func:`tornado` the swing in n (randomised per arm, and women screened) when each assumption
moves over its stated range, the assumption that moves n most on top.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from rplsim._core.text import plain_title
from rplsim.figures.base import FONT, SMALL, new_figure, require_columns, set_title, wrapped_label
from rplsim.figures.palette import GREY, SWING_HIGH, SWING_LOW

__all__ = ["cell_text", "sensitivity_heatmap", "tornado"]

_SAME_RATE = 1e-9


def cell_text(v: float) -> str:
    """The n written in a heat-map cell: an integer with thousands separator, "–" when none.

    Examples
    --------
    >>> cell_text(344.0), cell_text(1204.4), cell_text(float("inf")), cell_text(float("nan"))
    ('344', '1,204', '–', '–')
    """
    return f"{v:,.0f}" if math.isfinite(v) and v > 0 else "–"


def _rate_labels(values: np.ndarray) -> list[str]:
    """Tick labels of a rate axis: whole percents as "60%", others as "34.7%"."""
    return [f"{v:.0%}" if round(v * 100, 6) == round(v * 100) else f"{v:.1%}" for v in values]


def _annotate_cells(ax: Axes, z: np.ndarray, cm: Any, norm: LogNorm) -> None:
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j]
            colour = GREY
            if math.isfinite(v) and v > 0:
                r, g, b, _ = cm(norm(v))
                colour = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"
            ax.text(j, i, cell_text(v), ha="center", va="center", fontsize=SMALL, color=colour)


def _cell_of(values: np.ndarray, v: float) -> int | None:
    hit = np.flatnonzero(np.abs(values - v) <= _SAME_RATE)
    return int(hit[0]) if hit.size else None


def sensitivity_heatmap(
    grid: pd.DataFrame,
    points: Sequence[tuple[str, float, float]] | None = None,
    *,
    method: str = "",
    subtitle: str = "",
) -> Figure:
    """Women randomised per arm over a grid of placebo and IVIG live-birth rates.

    Parameters
    ----------
    grid : pandas.DataFrame
        Columns ``control_lbr, treatment_lbr, n_per_arm``; ``n_per_arm`` is NaN or inf where
        no trial can show the effect (treatment ≤ control), written "–".
    points : list of (label, control_lbr, treatment_lbr), optional
        Reference points. One that falls on a cell of the grid (the scenario's own rates) is
        outlined there by a thick box; the others (off-grid literature rates) are listed in
        the legend, outside the map.
    method : str
        The formula the n come from (named in the title).
    subtitle : str
        A second title line: the design.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> g = pd.DataFrame({"control_lbr": [0.5, 0.5, 0.6, 0.6], "treatment_lbr": [0.6, 0.7, 0.6, 0.7],
    ...     "n_per_arm": [388.0, 93.0, float("inf"), 356.0]})
    >>> fig = sensitivity_heatmap(g, [("this scenario: 93", 0.5, 0.7)], method="normal approximation")
    >>> sorted(t.get_text() for t in fig.axes[0].texts)
    ['356', '388', '93', '–']
    """
    require_columns(grid, ("control_lbr", "treatment_lbr", "n_per_arm"), "sensitivity_heatmap")
    table = (
        grid.pivot_table(
            index="treatment_lbr", columns="control_lbr", values="n_per_arm", aggfunc="first", dropna=False
        )
        .sort_index()
        .sort_index(axis=1)
    )
    ctrl = table.columns.to_numpy(float)
    trt = table.index.to_numpy(float)
    z = table.to_numpy(float)
    finite = np.isfinite(z) & (z > 0)
    if finite.any():
        vmin, vmax = float(z[finite].min()), float(z[finite].max())
        vmax = vmax if vmax > vmin else vmin * 10
    else:
        vmin, vmax = 1.0, 10.0
    norm = LogNorm(vmin=vmin, vmax=vmax)
    fig = new_figure(max(7.5, 0.85 * len(ctrl) + 4.5), max(5.0, 0.5 * len(trt) + 2.6))
    ax = fig.add_subplot()
    im = ax.imshow(
        np.ma.masked_invalid(np.where(finite, z, np.nan)),
        origin="lower",
        aspect="auto",
        cmap="viridis_r",
        norm=norm,
    )
    ax.set_facecolor("#eeeeee")
    _annotate_cells(ax, z, im.get_cmap(), norm)
    ax.set_xticks(range(len(ctrl)), _rate_labels(ctrl), fontsize=SMALL)
    ax.set_yticks(range(len(trt)), _rate_labels(trt), fontsize=SMALL)
    ax.set_xlabel("live-birth rate on placebo (control)", fontsize=FONT)
    ax.set_ylabel("live-birth rate on IVIG (treatment)", fontsize=FONT)
    cb = fig.colorbar(im, ax=ax, location="bottom", pad=0.02, shrink=0.6, aspect=40)
    cb.set_label("women randomised per arm (log scale)", fontsize=SMALL)
    cb.ax.tick_params(labelsize=SMALL)
    handles: list[Any] = [Patch(fc="#eeeeee", ec=GREY, label="–: no n reaches the target power")]
    for label, c_lbr, t_lbr in points or ():
        j, i = _cell_of(ctrl, c_lbr), _cell_of(trt, t_lbr)
        if i is not None and j is not None:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="black", lw=3, zorder=5))
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="white", lw=1, zorder=6))
            handles.append(
                Patch(fc="none", ec="black", lw=2.5, label=wrapped_label(f"{label} (outlined cell)", 40))
            )
        else:
            handles.append(
                Line2D(
                    [],
                    [],
                    ls="none",
                    marker="o",
                    ms=5,
                    mfc="none",
                    mec=GREY,
                    label=wrapped_label(f"{label} (placebo {c_lbr:.1%}, IVIG {t_lbr:.1%}; off the grid)", 40),
                )
            )
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=SMALL,
        frameon=False,
        title="reference points",
        title_fontsize=SMALL,
    )
    head = "Women randomised per arm, by the assumed live-birth rates"
    if method:
        head += f"\nn from {method}"
    set_title(fig, head, subtitle, 100)
    return fig


# ----------------------------------------------------------------------------- tornado
#: The columns the tornado reads: those of rplsim.planning.tornado.TORNADO_COLUMNS less
#: ``headline_n`` and ``source`` (named here because figures/ sits below planning/).
TORNADO_NEEDS = (
    "key",
    "label",
    "low",
    "high",
    "base",
    "n_low",
    "n_high",
    "n_base",
    "screened_low",
    "screened_high",
    "screened_base",
    "method",
)


def _value_text(v: float) -> str:
    return f"{v:.3g}" if math.isfinite(v) else "?"


def _tornado_panel(ax: Axes, df: pd.DataFrame, which: str, title: str) -> None:
    lo = df[f"{which}_low"].to_numpy(float)
    hi = df[f"{which}_high"].to_numpy(float)
    base = float(df[f"{which}_base"].iloc[0])
    finite = np.concatenate([lo[np.isfinite(lo)], hi[np.isfinite(hi)], [base]])
    left = min(float(finite.min()), base)
    right = max(float(finite.max()), base)
    span = right - left or max(abs(base), 1.0)
    edge_lo, edge_hi = max(0.0, left - 0.45 * span), right + 0.45 * span
    y = np.arange(len(df))[::-1]
    for k, (_, r) in enumerate(df.iterrows()):
        for end, value, colour in (
            ("low", r[f"{which}_low"], SWING_LOW),
            ("high", r[f"{which}_high"], SWING_HIGH),
        ):
            v = float(value)
            drawn = v if math.isfinite(v) else edge_hi
            # each end its own half of the row (high above, low below), so two ends on the same
            # side of the base (a scenario value outside its range) never hide one another
            ax.barh(
                y[k] + (0.15 if end == "high" else -0.15),
                drawn - base,
                left=base,
                height=0.3,
                color=colour,
                alpha=0.85,
                hatch="//" if not math.isfinite(v) else None,
                ec="white",
            )
            n_text = f"{v:,.0f}" if math.isfinite(v) else "not reachable"
            text = plain_title(f"{_value_text(float(r[end]))} → {n_text}")  # the row heading names it
            right_side = drawn >= base
            ax.text(
                drawn + (0.01 if right_side else -0.01) * span,
                y[k] + (0.2 if end == "high" else -0.2),
                text,
                ha="left" if right_side else "right",
                va="center",
                fontsize=SMALL - 1,
                clip_on=False,
            )
    ax.axvline(base, color="black", lw=1.2)
    ax.set_xlim(edge_lo, edge_hi)
    # the row's name above its bar: the bar-end labels start where tick labels would sit
    for k, (label, low, high, value) in enumerate(
        zip(df["label"], df["low"], df["high"], df["base"], strict=True)
    ):
        outside = "" if low <= value <= high else f" (the scenario's {value:.3g} is outside the range)"
        ax.text(
            0.01,
            y[k] + 0.42,
            plain_title(f"{label}{outside}"),
            transform=ax.get_yaxis_transform(),
            ha="left",
            va="bottom",
            fontsize=SMALL,
            weight="bold",
            bbox={"fc": "white", "ec": "none", "pad": 1.0},
            zorder=6,
        )
    ax.set_yticks([])
    ax.set_ylim(-0.6, len(df) - 0.25)
    ax.set_xlabel(title, fontsize=FONT)
    ax.set_title(f"{title}: base {base:,.0f}", fontsize=FONT)
    ax.tick_params(axis="x", labelsize=SMALL)
    ax.grid(axis="x", alpha=0.3)


def tornado(frame: pd.DataFrame, *, subtitle: str = "") -> Figure:
    """The swing in n when each assumption moves over its range, one row each, in the order given
    (:func:`rplsim.planning.tornado.assumption_ranges` ranks them by how far n moves).

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``key, label, low, high, base, n_low, n_high, n_base, screened_low,
        screened_high, screened_base, method``: one row an assumption, its low/high/base values,
        the women randomised per arm and the women screened in total at each (inf where the
        target power cannot be reached, drawn to the axis edge as "not reachable").
    subtitle : str
        A second title line: the design.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> f = pd.DataFrame({"key": ["trial.dropout"], "label": ["dropout"], "low": [0.05],
    ...     "high": [0.2], "base": [0.1], "n_low": [79.0], "n_high": [94.0], "n_base": [83.0],
    ...     "screened_low": [900.0], "screened_high": [1070.0], "screened_base": [950.0],
    ...     "method": ["normal approximation"]})
    >>> len(tornado(f).axes)
    2
    """
    require_columns(frame, TORNADO_NEEDS, "tornado")
    # rows in the order given: rplsim.planning.tornado ranks them, and the report's table with it
    df = frame.reset_index(drop=True).copy()
    fig = new_figure(14.0, 2.0 + 0.8 * max(len(df), 2))
    axes = fig.subplots(1, 2, gridspec_kw={"wspace": 0.08})
    _tornado_panel(axes[0], df, "n", "women randomised per arm")
    _tornado_panel(axes[1], df, "screened", "women screened in total")
    methods = ", ".join(dict.fromkeys(str(m) for m in df["method"] if str(m)))
    fig.legend(
        handles=[
            Patch(color=SWING_LOW, label="assumption at the low end of its range"),
            Patch(color=SWING_HIGH, label="assumption at the high end of its range"),
        ]
        + (
            [Patch(fc="white", ec="black", hatch="//", label="target power not reachable")]
            if not np.isfinite(df[["n_low", "n_high", "screened_low", "screened_high"]].to_numpy(float)).all()
            else []
        ),
        loc="outside lower center",
        ncol=3,
        fontsize=SMALL,
        frameon=False,
    )
    head = "Which assumption moves the sample size most"
    if methods:
        head += f" (sample size: {methods})"
    set_title(fig, head, subtitle, 120)
    return fig
