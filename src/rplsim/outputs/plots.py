"""Figures for the results folder, drawn with matplotlib's object API.

Every function takes plain DataFrames and returns a :class:`matplotlib.figure.Figure` built
without :mod:`matplotlib.pyplot`, so no global figure state or interactive backend is touched
(safe in worker processes and tests). :func:`save_png` writes one at 120 dpi. The figures of
the cohort and timeline live in :mod:`rplsim.outputs.cohort_plots` and are re-exported here.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from rplsim.outputs.cohort_plots import funnel_chart, ivig_dose_histogram, timeline_chart
from rplsim.outputs.escape import plain_title
from rplsim.outputs.figure import FONT, GREY, MISS, OK, SMALL, save_png
from rplsim.outputs.figure import new_figure as _figure
from rplsim.outputs.figure import require_columns as _require

__all__ = [
    "calibration_panel",
    "funnel_chart",
    "ivig_dose_histogram",
    "power_curve",
    "save_png",
    "sensitivity_heatmap",
    "timeline_chart",
]


# ----------------------------------------------------------------------------- calibration
def _z_scores(tab: pd.DataFrame) -> np.ndarray:
    diff = tab["simulated"].to_numpy(float) - tab["paper"].to_numpy(float)
    tol = tab["tolerance"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = diff / tol
        # a zero tolerance (a statistic that never varies) is exact or infinitely far
        z = np.where(tol == 0, np.where(diff == 0, 0.0, np.sign(diff) * np.inf), z)
    return z


def _calibration_rows(tab: pd.DataFrame, max_rows: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every target with its distance ``z``, the rows to draw: misses first, at most max_rows)."""
    df = tab.reset_index(drop=True).copy()
    df["z"] = _z_scores(df)
    df["absz"] = np.abs(df["z"]).fillna(np.inf)
    within = df["within"].astype(bool)
    followed = df["followed"].astype(bool)
    groups = [
        ("missed", df[~within & followed]),
        ("'not followed' readings", df[~followed]),
        ("within tolerance", df[within & followed]),
    ]
    parts = [g.sort_values("absz", ascending=False).assign(group=label) for label, g in groups]
    return df, pd.concat(parts).head(max_rows).reset_index(drop=True)


def _mark_targets(ax: Axes, show: pd.DataFrame, y: np.ndarray, clip: float) -> None:
    """One marker a target at its distance; beyond ±clip a triangle at the edge."""
    z = show["z"].to_numpy(float)
    sw = show["within"].astype(bool).to_numpy()
    sf = show["followed"].astype(bool).to_numpy()
    zc = np.clip(np.nan_to_num(z, nan=0.0), -clip, clip)
    clipped = np.abs(np.nan_to_num(z, nan=0.0)) > clip
    styles: tuple[tuple[np.ndarray, dict[str, Any]], ...] = (
        (sf & sw & ~clipped, dict(marker="o", color=OK, label="within")),
        (sf & ~sw & ~clipped, dict(marker="o", color=MISS, label="miss")),
        (~sf & ~clipped, dict(marker="D", mfc="white", color=GREY, label="'not followed' reading")),
    )
    for mask, kw in styles:
        if mask.any():
            ax.plot(zc[mask], y[mask], ls="none", ms=6, zorder=3, **kw)
    for sign, marker in ((1, ">"), (-1, "<")):
        m = clipped & (np.sign(z) == sign)
        if m.any():
            colors = [GREY if not f else (OK if w else MISS) for f, w in zip(sf[m], sw[m], strict=True)]
            ax.scatter(zc[m], y[m], marker=marker, c=colors, s=50, zorder=3)
    nan_rows = np.isnan(z)
    if nan_rows.any():
        ax.plot(
            np.zeros(nan_rows.sum()),
            y[nan_rows],
            ls="none",
            marker="x",
            color=MISS,
            ms=7,
            zorder=3,
            label="not simulated (NaN)",
        )


def _label_targets(ax: Axes, show: pd.DataFrame, y: np.ndarray) -> None:
    """Target names (misses in red, 'not followed' in grey) and the group separators."""
    sw = show["within"].astype(bool).to_numpy()
    sf = show["followed"].astype(bool).to_numpy()
    labels = [plain_title(textwrap.shorten(str(t), 58, placeholder="…")) for t in show["target"]]
    ax.set_yticks(y, labels, fontsize=SMALL)
    for tick, f, w in zip(ax.get_yticklabels(), sf, sw, strict=True):
        if f and not w:
            tick.set_color(MISS)
        elif not f:
            tick.set_color(GREY)
    # group separators and names
    for label in show["group"].unique():
        rows = y[(show["group"] == label).to_numpy()]
        ax.axhline(rows.min() - 0.5, color="black", lw=0.6, ls=":")
        ax.text(
            1.005,
            rows.max(),
            plain_title(f"{label} ({len(rows)})"),
            transform=ax.get_yaxis_transform(),
            fontsize=SMALL,
            va="center",
            ha="left",
            style="italic",
        )


def calibration_panel(tab: pd.DataFrame, max_rows: int = 60, clip: float = 5.0) -> Figure:
    """Each calibration target as (simulated − paper) / tolerance, misses first.

    Parameters
    ----------
    tab : pandas.DataFrame
        The table of :func:`rplsim.calibrate`: columns ``target, source, paper, simulated,
        mc_se, tolerance, within, followed``.
    max_rows : int
        At most this many targets are drawn: every miss (followed ones first), then the
        'not followed' readings, then the targets within tolerance with the largest distance.
    clip : float
        Distances beyond ±clip are drawn at the edge as a triangle.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(
        tab,
        ("target", "source", "paper", "simulated", "tolerance", "within", "followed"),
        "calibration_panel",
    )
    df, show = _calibration_rows(tab, max_rows)
    within = df["within"].astype(bool)
    followed = df["followed"].astype(bool)
    n = len(show)
    fig = _figure(9.0, 1.6 + 0.24 * max(n, 3))
    ax = fig.add_subplot()
    ax.axvspan(-1, 1, color="#d8ecd2", zorder=0, label="within tolerance (±1)")
    ax.axvline(0, color=GREY, lw=0.8, zorder=1)
    y = np.arange(n)[::-1]
    _mark_targets(ax, show, y, clip)
    _label_targets(ax, show, y)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(-clip - 0.5, clip + 0.5)
    ax.set_xlabel(
        "(simulated − paper) / tolerance  [1 = edge of the 99% tolerance; "
        f"clipped at ±{clip:g}]\nmin, max and F rows are judged on the central 99% of "
        "the replicates,\nso a miss there can sit inside ±1",
        fontsize=FONT,
    )
    ax.set_ylabel("calibration target", fontsize=FONT)
    n_miss = int((~within & followed).sum())
    n_nf = int((~followed).sum())
    ax.set_title(
        f"Calibration against the paper: {len(df)} targets, {n_miss} missed, "
        f"{n_nf} 'not followed' readings" + (f" (showing {n})" if n < len(df) else ""),
        fontsize=FONT + 1,
    )
    fig.legend(loc="outside lower center", fontsize=SMALL, ncol=4, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return fig


# ----------------------------------------------------------------------------- power
def power_curve(
    curve: pd.DataFrame, chosen_n: float | None = None, target_power: float | None = None
) -> Figure:
    """Power against women per arm: simulated with its Monte-Carlo CI, or exact (``method``).

    Parameters
    ----------
    curve : pandas.DataFrame
        Columns ``n_per_arm, power, ci_low, ci_high`` and optionally ``analytic_power``.
    chosen_n : float, optional
        Draws a vertical line at the chosen sample size.
    target_power : float, optional
        Draws a horizontal line at the target power.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(curve, ("n_per_arm", "power", "ci_low", "ci_high"), "power_curve")
    c = curve.sort_values("n_per_arm")
    fig = _figure(7.0, 4.5)
    ax = fig.add_subplot()
    x = c["n_per_arm"].to_numpy(float)
    exact = "method" in c.columns and bool((c["method"] == "exact").all())
    if exact:  # no Monte-Carlo error to draw; steps show an exact test's saw-tooth
        ax.plot(x, c["power"].to_numpy(float), "o-", color=OK, ms=4, label="exact power")
    else:
        ax.fill_between(
            x,
            c["ci_low"].to_numpy(float),
            c["ci_high"].to_numpy(float),
            color=OK,
            alpha=0.2,
            lw=0,
            label="simulated, 95% Monte-Carlo CI",
        )
        ax.plot(x, c["power"].to_numpy(float), "o-", color=OK, ms=4, label="simulated power")
    if "analytic_power" in c.columns and c["analytic_power"].notna().any():
        ax.plot(x, c["analytic_power"].to_numpy(float), "--", color="black", lw=1.2, label="analytic power")
    if target_power is not None:
        ax.axhline(target_power, color=MISS, lw=1, ls=":", label=f"target power {target_power:.0%}")
    if chosen_n is not None:
        ax.axvline(chosen_n, color="#2e7d32", lw=1.2, ls="-.", label=f"chosen n = {chosen_n:g}")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("women per arm (n)", fontsize=FONT)
    ax.set_ylabel("power (probability of rejecting H0)", fontsize=FONT)
    ax.set_title("Power of the trial against sample size", fontsize=FONT + 1)
    ax.legend(loc="lower right", fontsize=SMALL)
    ax.grid(alpha=0.3)
    return fig


# ----------------------------------------------------------------------------- sensitivity
def _position(values: np.ndarray, v: float) -> float:
    """Fractional cell index of ``v`` on a categorical axis with sorted ``values``."""
    if len(values) == 1:
        return 0.0
    return float(np.interp(v, values, np.arange(len(values)), left=-0.5, right=len(values) - 0.5))


def _rate_labels(values: np.ndarray) -> list[str]:
    """Tick labels of a rate axis: whole percents as "60%", others as "34.7%"."""
    return [f"{v:.0%}" if round(v * 100, 6) == round(v * 100) else f"{v:.1%}" for v in values]


def _annotate_cells(ax: Axes, z: np.ndarray, cm: Any, norm: LogNorm) -> None:
    """Write n in each cell (white on dark colours), a dash where no n exists."""
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            v = z[i, j]
            if np.isfinite(v):
                r, g, b, _ = cm(norm(v))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                text = f"{v:,.0f}" if v < 1e5 else f"{v:.1e}"
                ax.text(
                    j, i, text, ha="center", va="center", fontsize=SMALL, color="white" if dark else "black"
                )
            else:
                ax.text(j, i, "–", ha="center", va="center", fontsize=SMALL, color=GREY)


def _mark_points(
    fig: Figure, ax: Axes, ctrl: np.ndarray, trt: np.ndarray, points: Sequence[tuple[str, float, float]]
) -> None:
    """Mark the reference points on the map (at its edge when outside) and list them below."""
    handles = []
    markers = ("*", "P", "X", "s", "^", "v", "D")
    for k, (label, c_lbr, t_lbr) in enumerate(points):
        mk = markers[k % len(markers)]
        outside = not (ctrl.min() <= c_lbr <= ctrl.max() and trt.min() <= t_lbr <= trt.max())
        ax.plot(
            _position(ctrl, c_lbr),
            _position(trt, t_lbr),
            marker=mk,
            ms=13,
            mfc="#ff7f0e",
            mec="black",
            ls="none",
            zorder=4,
            clip_on=False,
        )
        note = "; outside the grid, drawn at its edge" if outside else ""
        handles.append(
            Line2D(
                [],
                [],
                marker=mk,
                ms=9,
                mfc="#ff7f0e",
                mec="black",
                ls="none",
                label=f"{plain_title(label)} (placebo {c_lbr:.1%}, IVIG {t_lbr:.1%}{note})",
            )
        )
    fig.legend(handles=handles, loc="outside lower center", fontsize=SMALL, ncol=1, frameon=False)


def sensitivity_heatmap(
    grid: pd.DataFrame, points: Sequence[tuple[str, float, float]] | None = None
) -> Figure:
    """Required women per arm over a grid of control and IVIG live-birth rates.

    Parameters
    ----------
    grid : pandas.DataFrame
        Columns ``control_lbr, treatment_lbr, n_per_arm``; ``n_per_arm`` is NaN or inf where
        no trial can show the effect (treatment ≤ control); those cells are left blank.
    points : list of (label, control_lbr, treatment_lbr), optional
        Reference points (e.g. the paper, Yamada 2022) marked on the map.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(grid, ("control_lbr", "treatment_lbr", "n_per_arm"), "sensitivity_heatmap")
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
    z = np.where(finite, z, np.nan)
    if finite.any():
        vmin, vmax = float(np.nanmin(z)), float(np.nanmax(z))
        if vmax <= vmin:
            vmax = vmin * 10
    else:
        vmin, vmax = 1.0, 10.0
    norm = LogNorm(vmin=vmin, vmax=vmax)
    fig = _figure(max(6.0, 0.85 * len(ctrl) + 2.5), max(4.5, 0.55 * len(trt) + 2.0))
    ax = fig.add_subplot()
    cmap = "viridis_r"
    im = ax.imshow(np.ma.masked_invalid(z), origin="lower", aspect="auto", cmap=cmap, norm=norm)
    ax.set_facecolor("#eeeeee")
    _annotate_cells(ax, z, im.get_cmap(), norm)
    ax.set_xticks(range(len(ctrl)), _rate_labels(ctrl), fontsize=SMALL)
    ax.set_yticks(range(len(trt)), _rate_labels(trt), fontsize=SMALL)
    ax.set_xlabel("live-birth rate on placebo (control, %)", fontsize=FONT)
    ax.set_ylabel("live-birth rate on IVIG (treatment, %)", fontsize=FONT)
    ax.set_title(
        "Women per arm needed, by assumed live-birth rates\n(– : IVIG not better than placebo)",
        fontsize=FONT + 1,
    )
    cb = fig.colorbar(im, ax=ax)
    cb.set_label("women per arm (log scale)", fontsize=FONT)
    cb.ax.tick_params(labelsize=SMALL)
    if points:
        _mark_points(fig, ax, ctrl, trt, points)
    return fig
