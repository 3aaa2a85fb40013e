"""Figures of the cohort and its timeline: IVIG dose, treatment timelines, enrolment funnel.

Part of :mod:`rplsim.outputs.plots` (which re-exports these), split off to keep modules short.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from rplsim import paper as _paper
from rplsim.outputs.escape import plain_title
from rplsim.outputs.figure import FONT, GREY, OK, SMALL, wrapped_label
from rplsim.outputs.figure import new_figure as _figure
from rplsim.outputs.figure import require_columns as _require

__all__ = ["funnel_chart", "ivig_dose_histogram", "timeline_chart"]


# ----------------------------------------------------------------------------- IVIG dose
def ivig_dose_histogram(
    outcomes: pd.DataFrame,
    paper: Mapping[str, tuple[float, float, float, float]] | None = None,
) -> Figure:
    """Histogram of IVIG grams per pregnancy in the abnormal strata, with the paper's values.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Columns ``stratum`` ("KN", "KA", "IN", "IA") and ``ivig_grams``.
    paper : dict, optional
        Stratum -> (mean, sd, min, max) in grams; default :data:`rplsim.paper.IVIG_DOSE`
        (Table 1).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(outcomes, ("stratum", "ivig_grams"), "ivig_dose_histogram")
    ref = dict(_paper.IVIG_DOSE if paper is None else paper)
    strata = ("KA", "IA")
    fig = _figure(10.0, 4.2)
    axes = fig.subplots(1, 2, sharex=True)
    g_all = pd.to_numeric(outcomes["ivig_grams"], errors="coerce")
    hi = float(
        np.nanmax([g_all.max() if g_all.notna().any() else 0.0, *[ref[s][3] for s in strata if s in ref]])
        or 1.0
    )
    bins = np.linspace(0, hi * 1.02, 31)
    for ax, s in zip(axes, strata, strict=True):
        g = g_all[(outcomes["stratum"].astype(str) == s).to_numpy()].dropna().to_numpy(float)
        if g.size:
            ax.hist(
                g,
                bins=bins,
                color=OK,
                alpha=0.75,
                label=f"simulated: {g.mean():.0f} ± {g.std(ddof=1) if g.size > 1 else 0:.0f} g"
                f" (n = {g.size})",
            )
        else:
            ax.text(
                0.5,
                0.5,
                "no women in this stratum",
                transform=ax.transAxes,
                ha="center",
                fontsize=SMALL,
                color=GREY,
            )
        if s in ref:
            mean, sd, lo, top = ref[s]
            ax.axvspan(
                max(mean - sd, 0),
                mean + sd,
                color="#ff7f0e",
                alpha=0.15,
                zorder=0,
                label=f"paper mean ± SD: {mean:.0f} ± {sd:.0f} g",
            )
            ax.axvline(mean, color="#ff7f0e", lw=2, label="paper mean")
            ax.axvline(lo, color="#ff7f0e", lw=1, ls=":", label=f"paper range {lo:g}–{top:g} g")
            ax.axvline(top, color="#ff7f0e", lw=1, ls=":")
        ax.set_title(
            f"{s}: {'known' if s == 'KA' else 'idiopathic'} etiology, abnormal immunity", fontsize=FONT
        )
        ax.set_xlabel("IVIG per pregnancy (g)", fontsize=FONT)
        ax.set_ylabel("women (count)", fontsize=FONT)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=SMALL, loc="upper right")
        ax.tick_params(labelsize=SMALL)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle("IVIG dose per pregnancy: simulated vs paper (Table 1)", fontsize=FONT + 1)
    return fig


# ----------------------------------------------------------------------------- timeline
EVENT_STYLE: dict[str, tuple[str, str]] = {
    "conception": ("o", "#2ca02c"),
    "confirmation": ("s", "#17becf"),
    "treatment_start": ("^", "#9467bd"),
    "ivig_infusion": ("v", "#1f77b4"),
    "karyotype_result": ("P", "#8c564b"),
    "chemical": ("x", "#7f7f7f"),
    "miscarriage": ("X", "#d62728"),
    "stillbirth": ("D", "#000000"),
    "live_birth": ("*", "#ff7f0e"),
}
_EXTRA_COLOURS = ("#e377c2", "#bcbd22", "#7f7f7f", "#aec7e8", "#98df8a", "#c5b0d5")


def timeline_chart(
    events: pd.DataFrame, patient_ids: Sequence[object] | None = None, max_patients: int = 12
) -> Figure:
    """One row a patient, one marker an event, on the gestational-week axis.

    Parameters
    ----------
    events : pandas.DataFrame
        Columns ``patient_id, gestational_week, event, detail`` (the timeline's event log).
    patient_ids : sequence, optional
        Which patients to draw (default: the first ``max_patients`` in the log).
    max_patients : int
        At most this many rows.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(events, ("patient_id", "gestational_week", "event"), "timeline_chart")
    if patient_ids is None:
        ids = list(pd.unique(events["patient_id"]))[:max_patients]
    else:
        ids = list(patient_ids)[:max_patients]
    ev = events[events["patient_id"].isin(ids)]
    fig = _figure(9.0, 1.5 + 0.42 * max(len(ids), 2))
    ax = fig.add_subplot()
    rows = {pid: len(ids) - 1 - k for k, pid in enumerate(ids)}
    for pid, r in rows.items():
        w = ev.loc[ev["patient_id"] == pid, "gestational_week"].astype(float)
        if len(w):
            ax.hlines(r, w.min(), w.max(), color="#bbbbbb", lw=1.5, zorder=1)
    styles = dict(EVENT_STYLE)
    extra = 0
    for name in pd.unique(ev["event"].astype(str)):
        if name not in styles:
            styles[name] = ("d", _EXTRA_COLOURS[extra % len(_EXTRA_COLOURS)])
            extra += 1
    order = [e for e in styles if e in set(ev["event"].astype(str))]
    for name in order:
        sub = ev[ev["event"].astype(str) == name]
        marker, colour = styles[name]
        ax.scatter(
            sub["gestational_week"].astype(float),
            sub["patient_id"].map(rows),
            marker=marker,
            color=colour,
            s=60 if marker == "*" else 36,
            zorder=3,
            edgecolors="black" if marker not in ("x",) else None,
            linewidths=0.4,
            label=plain_title(name.replace("_", " ")),
        )
    ax.set_yticks(list(rows.values()), [plain_title(f"patient {pid}") for pid in rows], fontsize=SMALL)
    ax.set_ylim(-0.7, len(ids) - 0.3)
    ax.set_xlabel("gestational week (weeks since last menstrual period)", fontsize=FONT)
    ax.set_ylabel("patient", fontsize=FONT)
    ax.set_title(f"Treatment timelines of {len(ids)} patients", fontsize=FONT + 1)
    ax.grid(axis="x", alpha=0.3)
    if order:
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=SMALL,
            frameon=False,
            title="event",
            title_fontsize=SMALL,
        )
    return fig


# ----------------------------------------------------------------------------- funnel
_KIND_COLOUR = {
    "seen": "#1f5fa8",
    "screened": "#1f5fa8",
    "excluded": "#bbbbbb",
    "analysed": "#2e7d32",
    "randomised": "#2e7d32",
    "eligible": "#5b9bd5",
}


def _bar_axes_label(ax: Axes, bars: object, values: np.ndarray) -> None:
    top = float(np.nanmax(values)) if len(values) else 1.0
    for rect, v in zip(bars, values, strict=True):  # type: ignore[call-overload]
        ax.text(
            rect.get_width() + top * 0.01,
            rect.get_y() + rect.get_height() / 2,
            f"{v:,.0f}",
            va="center",
            ha="left",
            fontsize=SMALL,
        )


def funnel_chart(funnel: pd.DataFrame, title: str = "Enrolment funnel") -> Figure:
    """Horizontal bars, one a step of an enrolment or screening funnel, in order.

    Parameters
    ----------
    funnel : pandas.DataFrame
        Columns ``step, n`` and optionally ``kind`` (e.g. "seen", "excluded", "analysed"),
        such as :func:`rplsim.paper_funnel`.
    title : str
        Figure title (drawn as written: ``$`` is not mathtext).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(funnel, ("step", "n"), "funnel_chart")
    k = len(funnel)
    fig = _figure(9.0, 1.4 + 0.45 * max(k, 2))
    ax = fig.add_subplot()
    n = funnel["n"].to_numpy(float)
    y = np.arange(k)[::-1]
    kinds = funnel["kind"].astype(str).tolist() if "kind" in funnel.columns else ["step"] * k
    colours = [_KIND_COLOUR.get(kd, OK) for kd in kinds]
    bars = ax.barh(y, n, color=colours, edgecolor="black", linewidth=0.4)
    _bar_axes_label(ax, bars, n)
    labels = [wrapped_label(s, 48) for s in funnel["step"]]
    ax.set_yticks(y, labels, fontsize=SMALL)
    ax.set_xlim(0, float(np.nanmax(n)) * 1.12 if k and np.nanmax(n) > 0 else 1)
    ax.set_xlabel("women (n)", fontsize=FONT)
    ax.set_ylabel("step", fontsize=FONT)
    ax.set_title(plain_title(title), fontsize=FONT + 1)
    ax.grid(axis="x", alpha=0.3)
    if "kind" in funnel.columns:
        seen = dict.fromkeys(kinds)
        handles = [
            Line2D(
                [],
                [],
                marker="s",
                ls="none",
                ms=10,
                mfc=_KIND_COLOUR.get(kd, OK),
                mec="black",
                label=plain_title(kd),
            )
            for kd in seen
        ]
        ax.legend(handles=handles, loc="lower right", fontsize=SMALL)
    return fig
