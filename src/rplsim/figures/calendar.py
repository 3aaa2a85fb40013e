"""Figures of the trial on the calendar: recruitment against time, and one trial's centres."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from rplsim._core.text import plain_title
from rplsim.figures.base import new_figure, set_title
from rplsim.figures.palette import GREY, OK, RESULT, TARGET

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


def centres_chart(times: np.ndarray, centres: np.ndarray, opens: np.ndarray, *, subtitle: str = "") -> Figure:
    """One simulated trial's centres: each a row from its opening, a tick per woman randomised.

    Examples
    --------
    >>> fig = centres_chart(np.array([0.1, 0.5, 0.7]), np.array([0, 1, 0]), np.array([0.0, 0.3]))
    >>> len(fig.axes)
    1
    """
    c = opens.size
    fig = new_figure(8.5, max(2.4, 0.32 * c + 1.4))
    ax = fig.add_subplot(1, 1, 1)
    end = float(max(times.max(), opens.max())) * 1.03 if times.size else 1.0
    for k in range(c):
        ax.plot([opens[k], end], [k, k], color=GREY, lw=6, alpha=0.35, solid_capstyle="butt")
        mine = times[centres == k]
        ax.plot(mine, np.full(mine.size, k), "|", color=OK, ms=9, mew=1.4)
        ax.annotate(f"{mine.size}", (end, k), xytext=(4, -3), textcoords="offset points", fontsize=7)
    ax.set_yticks(range(c), [f"centre {k + 1}" for k in range(c)], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, end)
    ax.set_xlabel("years from the first centre's opening (grey: open; ticks: women randomised; right: count)")
    ax.grid(axis="x", alpha=0.3)
    set_title(fig, f"One simulated trial's centres: {times.size} women randomised", plain_title(subtitle))
    return fig
