"""Figures of the cohort and its timeline: IVIG dose per pregnancy and treatment timelines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from rplsim import paper as _paper
from rplsim._core.text import plain_title
from rplsim.figures.base import FONT, SMALL, new_figure, no_data, require_columns, set_title
from rplsim.figures.palette import ARM, EVENT_LABEL, EVENT_STYLE, FALLBACK_EVENT, HOLLOW_EVENTS, PAPER

__all__ = ["ivig_dose_histogram", "pick_patients", "timeline_chart"]

_LINE_MARKERS = frozenset({"x", "+", "|", "_", "1", "2", "3", "4"})  # drawn by edge only

_STRATUM_NAME = {
    "KN": "known etiology, normal immunity",
    "KA": "known etiology, abnormal immunity",
    "IN": "idiopathic, normal immunity",
    "IA": "idiopathic, abnormal immunity",
}


# ----------------------------------------------------------------------------- IVIG dose
def ivig_dose_histogram(
    outcomes: pd.DataFrame,
    paper: Mapping[str, tuple[float, float, float, float]] | None = None,
    *,
    subtitle: str = "",
) -> Figure:
    """Histogram of IVIG grams per pregnancy in the abnormal strata, with the paper's values.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Columns ``stratum`` ("KN", "KA", "IN", "IA") and ``ivig_grams``.
    paper : dict, optional
        Stratum -> (mean, sd, min, max) in grams; default :data:`rplsim.paper.IVIG_DOSE`
        (Table 1).
    subtitle : str
        A second title line (the scenario).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> o = pd.DataFrame({"stratum": ["KA", "IA", "IA"], "ivig_grams": [100.0, 150.0, 90.0]})
    >>> len(ivig_dose_histogram(o).axes)
    2
    """
    require_columns(outcomes, ("stratum", "ivig_grams"), "ivig_dose_histogram")
    ref = dict(_paper.IVIG_DOSE if paper is None else paper)
    strata = ("KA", "IA")
    fig = new_figure(10.0, 4.6)
    axes = fig.subplots(1, 2, sharex=True)
    g_all = pd.to_numeric(outcomes["ivig_grams"], errors="coerce")
    tops = [g_all.max() if g_all.notna().any() else 0.0, *[ref[s][3] for s in strata if s in ref]]
    hi = float(np.nanmax(tops) or 1.0)
    bins = np.linspace(0, hi * 1.02, 31)
    for ax, s in zip(axes, strata, strict=True):
        g = g_all[(outcomes["stratum"].astype(str) == s).to_numpy()].dropna().to_numpy(float)
        if g.size:
            sd = g.std(ddof=1) if g.size > 1 else 0.0
            ax.hist(
                g,
                bins=bins,
                color=ARM["IVIG"],
                alpha=0.75,
                label=f"simulated: mean {g.mean():.0f} g, SD {sd:.0f} g (n = {g.size})",
            )
        else:
            ax.text(0.5, 0.5, "no women in this stratum", transform=ax.transAxes, ha="center")
        if s in ref:
            mean, sd, lo, top = ref[s]  # Table 1, total IVIG dose
            ax.axvspan(
                max(mean - sd, 0), mean + sd, color=PAPER, alpha=0.18, zorder=0, label="paper mean ± SD"
            )
            ax.axvline(mean, color=PAPER, lw=2, label=f"paper: mean {mean:.0f} g, SD {sd:.0f} g")
            ax.axvline(lo, color=PAPER, lw=1, ls=":", label=f"paper range {lo:g}–{top:g} g")
            ax.axvline(top, color=PAPER, lw=1, ls=":")
        ax.set_title(f"{s}: {_STRATUM_NAME[s]}", fontsize=FONT)
        ax.set_xlabel("IVIG per pregnancy (g)", fontsize=FONT)
        ax.set_ylabel("women (count)", fontsize=FONT)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=SMALL, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False, ncol=1)
        ax.tick_params(labelsize=SMALL)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    set_title(fig, "IVIG dose per pregnancy: simulated against the paper (Table 1)", subtitle)
    return fig


# ----------------------------------------------------------------------------- timeline
def pick_patients(
    events: pd.DataFrame, outcomes: pd.DataFrame | None = None, max_patients: int = 12
) -> list[object]:
    """Patients to draw: the first of each stratum in turn (KN, KA, IN, IA), else the first in the log.

    Examples
    --------
    >>> ev = pd.DataFrame({"patient_id": [0, 1, 2, 3]})
    >>> out = pd.DataFrame({"patient_id": [0, 1, 2, 3], "stratum": ["KN", "KN", "IA", "IA"]})
    >>> [int(i) for i in pick_patients(ev, out, 2)]
    [0, 2]
    """
    ids: list[object] = events["patient_id"].drop_duplicates().tolist()
    if outcomes is None or "stratum" not in outcomes.columns:
        return ids[:max_patients]
    stratum = outcomes.drop_duplicates("patient_id").set_index("patient_id")["stratum"].astype(str)
    queues: dict[str, list[object]] = {}
    for pid in ids:
        queues.setdefault(str(stratum.get(pid, "?")), []).append(pid)
    known = list(_STRATUM_NAME)
    order = sorted(queues, key=lambda s: (known.index(s) if s in known else len(known), s))
    picked: list[object] = []
    while len(picked) < min(max_patients, len(ids)):
        for s in order:
            if queues[s] and len(picked) < max_patients:
                picked.append(queues[s].pop(0))
    rank = {s: k for k, s in enumerate(order)}
    picked.sort(key=lambda pid: rank[str(stratum.get(pid, "?"))])  # stable: log order within a stratum
    return picked


def _row_label(pid: object, info: pd.DataFrame | None) -> str:
    if info is None or pid not in info.index:
        return plain_title(f"#{pid}")
    r = info.loc[pid]
    arm = "IVIG" if bool(r.get("on_ivig", False)) else "no IVIG"
    return plain_title(f"#{pid} · {r.get('stratum', '?')} · {arm}")


def timeline_chart(
    events: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
    patient_ids: Sequence[object] | None = None,
    max_patients: int = 12,
    *,
    subtitle: str = "",
) -> Figure:
    """One row a patient, one marker an event, on the gestational-week axis.

    Every event type has its own fixed marker and colour (:data:`rplsim.figures.palette.EVENT_STYLE`);
    large markers (treatment starts) are hollow and drawn below the small ones (conception,
    infusions), so no marker hides another.

    Parameters
    ----------
    events : pandas.DataFrame
        Columns ``patient_id, gestational_week, event`` (the timeline's event log).
    outcomes : pandas.DataFrame, optional
        Columns ``patient_id, stratum, on_ivig`` (``outcomes.csv``): rows are labelled
        "#id · stratum · IVIG|no IVIG", and patients are picked across strata.
    patient_ids : sequence, optional
        Which patients to draw (default: :func:`pick_patients`).
    max_patients : int
        At most this many rows.
    subtitle : str
        A second title line (the scenario).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> ev = pd.DataFrame({"patient_id": [0, 0], "gestational_week": [2.0, 38.0],
    ...     "event": ["conception", "live_birth"]})
    >>> out = pd.DataFrame({"patient_id": [0], "stratum": ["IA"], "on_ivig": [True]})
    >>> [t.get_text() for t in timeline_chart(ev, out).axes[0].get_yticklabels()]
    ['#0 · IA · IVIG']
    """
    require_columns(events, ("patient_id", "gestational_week", "event"), "timeline_chart")
    info = None
    if outcomes is not None:
        require_columns(outcomes, ("patient_id", "stratum", "on_ivig"), "timeline_chart outcomes")
        info = outcomes.drop_duplicates("patient_id").set_index("patient_id")
    if patient_ids is None:
        ids = pick_patients(events, outcomes, max_patients)
    else:
        ids = list(patient_ids)[:max_patients]
    ev = events[events["patient_id"].isin(ids)]
    fig = new_figure(10.5, 1.8 + 0.42 * max(len(ids), 2))
    ax = fig.add_subplot()
    if not ids:
        no_data(ax, "no events")
        set_title(fig, "Treatment timelines", subtitle)
        return fig
    rows = {pid: len(ids) - 1 - k for k, pid in enumerate(ids)}
    for pid, r in rows.items():
        w = ev.loc[ev["patient_id"] == pid, "gestational_week"].astype(float)
        if len(w):
            ax.hlines(r, w.min(), w.max(), color="#cccccc", lw=1.5, zorder=1)
    kinds = list(dict.fromkeys(ev["event"].astype(str)))
    order = [e for e in EVENT_STYLE if e in kinds] + sorted(e for e in kinds if e not in EVENT_STYLE)
    handles = []
    for name in order:
        sub = ev[ev["event"].astype(str) == name]
        marker, colour, size, z = EVENT_STYLE.get(name, FALLBACK_EVENT)
        hollow = name in HOLLOW_EVENTS
        line_only = marker in _LINE_MARKERS
        face: dict[str, Any] = {"c": colour} if line_only else {"facecolors": "none" if hollow else colour}
        if not line_only:
            face["edgecolors"] = colour if hollow else "black"
        ax.scatter(
            sub["gestational_week"].astype(float),
            sub["patient_id"].map(rows),
            marker=marker,
            s=size,
            zorder=z,
            linewidths=1.6 if hollow or line_only else 0.4,
            **face,
        )
        handles.append(
            Line2D(
                [],
                [],
                marker=marker,
                ls="none",
                ms=8,
                mfc="none" if hollow else colour,
                mec=colour if hollow or line_only else "black",
                mew=1.6 if hollow or line_only else 0.4,
                label=plain_title(EVENT_LABEL.get(name, name.replace("_", " "))),
            )
        )
    ax.set_yticks(list(rows.values()), [_row_label(pid, info) for pid in rows], fontsize=SMALL)
    ax.set_ylim(-0.7, len(ids) - 0.3)
    ax.set_xlabel(
        "weeks since the last menstrual period (gestational age; conception at about week 2)", fontsize=FONT
    )
    ax.set_ylabel("patient · stratum · arm" if info is not None else "patient", fontsize=FONT)
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="x", labelsize=SMALL)
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=SMALL,
        frameon=False,
        title="event",
        title_fontsize=SMALL,
    )
    set_title(fig, f"Treatment timelines of {len(ids)} patients", subtitle)
    return fig
