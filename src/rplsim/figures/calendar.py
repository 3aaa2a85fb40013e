"""Figures of the trial on the calendar: recruitment against time, and one trial's centres."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rplsim._core.text import plain_title
from rplsim.figures.base import new_figure, set_title
from rplsim.figures.palette import ARM, GREY, OK, RESULT, TARGET

__all__ = ["centres_chart", "recruitment_chart"]


def _band(times: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """(3, G): the 10th, 50th and 90th centile over trials of the count of ``times`` <= each grid time."""
    counts = np.stack([(times <= t).sum(axis=1) for t in grid], axis=1)
    out: np.ndarray = np.quantile(counts, [0.1, 0.5, 0.9], axis=0)
    return out


def recruitment_chart(
    randomised: np.ndarray,
    known: np.ndarray,
    look_years: Sequence[float],
    *,
    centres: int,
    subtitle: str = "",
) -> Figure:
    """Women randomised (median and 10-90% band) and outcomes known (median) against calendar time.

    The gap between the two is the pipeline: women randomised and still pregnant (or lost to
    follow-up); the median time of each look is marked.

    Parameters
    ----------
    randomised, known : numpy.ndarray, shape (S, N)
        Randomisation and outcome-known times (years) of S simulated trials (``inf``: never known).
    look_years : sequence of float
        Median time of each look.
    centres : int
        For the title.
    subtitle : str
        The scenario's description line.

    Examples
    --------
    >>> r = np.sort(np.random.default_rng(1).uniform(0, 2, (20, 30)), axis=1)
    >>> fig = recruitment_chart(r, r + 0.7, [1.5, 2.7], centres=4)
    >>> len(fig.axes)
    1
    """
    fig = new_figure(8.5, 4.6)
    ax = fig.add_subplot(1, 1, 1)
    seen = np.concatenate([randomised[np.isfinite(randomised)], known[np.isfinite(known)]])
    end = float(seen.max()) * 1.02 if seen.size else 1.0
    grid = np.linspace(0.0, end, 200)
    r10, r50, r90 = _band(randomised, grid)
    k50 = _band(known, grid)[1]
    ax.fill_between(grid, r10, r90, color=OK, alpha=0.18, lw=0, label="randomised, 10-90% of trials")
    ax.plot(grid, r50, color=OK, lw=2, label="randomised, median")
    ax.fill_between(
        grid,
        k50,
        r50,
        color=GREY,
        alpha=0.25,
        lw=0,
        label="randomised, no outcome (yet: the pipeline; or lost)",
    )
    ax.plot(grid, k50, color=RESULT, lw=2, label="outcome known, median")
    for k, t in enumerate(look_years):
        ax.axvline(t, color=TARGET, lw=0.9, ls="--")
        ax.annotate(
            f"look {k + 1}", (t, ax.get_ylim()[1] if k else 0), xytext=(3, -12 if k else 4),
            textcoords="offset points", fontsize=8, color=TARGET,
        )  # fmt: skip
    ax.set_xlabel("years from the first centre's opening")
    ax.set_ylabel("women (both arms)")
    ax.grid(alpha=0.3)
    ax.set_xlim(0, end)
    ax.set_ylim(0, None)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    unit = "centre" if centres == 1 else "centres"
    set_title(fig, f"Recruitment and outcomes on the calendar ({centres} {unit})", plain_title(subtitle))
    return fig


def centres_chart(log: pd.DataFrame, *, subtitle: str = "") -> Figure:
    """One simulated trial's centres, from the SimPy engine's event log
    (:func:`rplsim.trial.calendar_des.simulate_calendar_des` with ``log=True``): each centre a row,
    recruiting (grey) from its opening until recruitment closes, a tick per woman randomised in
    her arm's colour, a dot per infusion below it (the chairs' load, on after the close for the
    women still pregnant), and the looks as dashed lines with their verdict.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame(
    ...     [(0.0, "centre opens", 0, -1, ""), (0.2, "centre opens", 1, -1, ""),
    ...      (0.3, "randomised", 0, 0, "IVIG"), (0.4, "randomised", 1, 1, "placebo"),
    ...      (0.4, "recruitment closes", -1, -1, "all planned women randomised"),
    ...      (0.5, "infusion", 0, 0, "IVIG"), (1.0, "look 1", -1, -1, "final")],
    ...     columns=["years", "event", "centre", "woman", "detail"])
    >>> len(centres_chart(log).axes)
    1
    """
    opens = log[log.event == "centre opens"].sort_values("centre")
    c = len(opens)
    rand = log[log.event == "randomised"]
    inf = log[log.event == "infusion"]
    looks = log[log.event.str.startswith("look")]
    closes = log[log.event == "recruitment closes"]
    end = float(log.years.max()) * 1.02 if len(log) else 1.0
    closed = float(closes.years.iloc[0]) if len(closes) else end
    fig = new_figure(8.5, max(2.6, 0.36 * c + 1.7))
    ax = fig.add_subplot(1, 1, 1)
    for k, opened in zip(opens.centre, opens.years, strict=True):
        ax.plot([opened, closed], [k, k], color=GREY, lw=7, alpha=0.3, solid_capstyle="butt")
        for arm, colour in ARM.items():
            mine = rand[(rand.centre == k) & (rand.detail == arm)]
            ax.plot(mine.years, np.full(len(mine), k), "|", color=colour, ms=10, mew=1.5)
            dots = inf[(inf.centre == k) & (inf.detail == arm)]
            ax.plot(dots.years, np.full(len(dots), k + 0.3), ".", color=colour, ms=1.6, alpha=0.6)
        n_k = int((rand.centre == k).sum())
        ax.annotate(f"{n_k}", (end, k), xytext=(4, -3), textcoords="offset points", fontsize=7)
    for year, name, verdict in zip(looks.years, looks.event, looks.detail, strict=True):
        ax.axvline(year, color=TARGET, ls="--", lw=1)
        # the label left of its line: the last look is at the right edge
        ax.annotate(f"{name}: {verdict}", (year, -0.6), xytext=(-3, 0), textcoords="offset points",
                    fontsize=7, color=TARGET, va="bottom", ha="right")  # fmt: skip
    ax.set_yticks(range(c), [f"centre {k + 1}" for k in range(c)], fontsize=8)
    ax.set_ylim(c - 0.4, -1.0)
    ax.set_xlim(0, end)
    ax.set_xlabel(
        "years from the first centre's opening (grey: recruiting; ticks: women randomised, IVIG blue, "
        "placebo orange; dots: infusions; right: women randomised)",
        fontsize=8,
    )
    ax.grid(axis="x", alpha=0.3)
    verdict = looks.detail.iloc[-1] if len(looks) else ""
    stop = f", decided at {looks.event.iloc[-1]} ({verdict})" if len(looks) else ""
    set_title(
        fig,
        f"One simulated trial's centres (SimPy): {len(rand)} randomised{stop}",
        plain_title(subtitle),
    )
    return fig
