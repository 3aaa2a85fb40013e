"""Assurance (probability of success under a prior) against n, and the priors' densities."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from rplsim.figures.base import FONT, SMALL, new_figure, require_columns, set_title
from rplsim.figures.palette import GREY, TARGET

__all__ = ["ASSURANCE_NEEDS", "PRIOR_COLOURS", "assurance_chart"]

#: The columns :func:`assurance_chart` reads from each curve.
ASSURANCE_NEEDS = ("n_per_arm", "assurance", "ci_low", "ci_high", "method", "power_at_prior_mean", "ceiling")
#: One Okabe-Ito colour per prior, in the order given.
PRIOR_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00")


def _n_text(v: float, _pos: object = None) -> str:
    return f"{v:,.0f}"


def assurance_chart(
    curves: Mapping[str, pd.DataFrame],
    densities: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    chosen_n: float | None = None,
    target: float | None = None,
    subtitle: str = "",
) -> Figure:
    """Assurance and classical power against n (log scale) per prior, each with its ceiling; and
    the priors' densities of the control and the treated rate.

    Parameters
    ----------
    curves : mapping of str to DataFrame
        Per prior (its label), the columns :data:`ASSURANCE_NEEDS` (the curve of
        :func:`rplsim.assurance_curve`); simulated rows get their 95% Monte-Carlo band.
    densities : mapping of str to (x, control density, treated density)
        Per prior, on a grid ``x`` of rates.
    chosen_n : float, optional
        Marks the scenario's n (a vertical line).
    target : float, optional
        Marks a target assurance (a horizontal line).
    subtitle : str
        A second title line.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> c = pd.DataFrame({"n_per_arm": [40, 80, 160], "assurance": [0.3, 0.45, 0.55],
    ...     "ci_low": [0.3, 0.45, 0.55], "ci_high": [0.3, 0.45, 0.55], "method": ["exact"] * 3,
    ...     "power_at_prior_mean": [0.3, 0.5, 0.8], "ceiling": [0.7] * 3})
    >>> x = np.linspace(0.01, 0.99, 99)
    >>> fig = assurance_chart({"evidence": c}, {"evidence": (x, 6 * x * (1 - x), 12 * x**2 * (1 - x))},
    ...                       chosen_n=84, target=0.8)
    >>> len(fig.axes)
    2
    """
    if not curves:
        raise ValueError("assurance_chart: give at least one prior's curve.")
    fig = new_figure(11.0, 4.9)
    grid = fig.add_gridspec(1, 2, width_ratios=[1.65, 1.0], wspace=0.18)
    ax = fig.add_subplot(grid[0, 0])
    side = fig.add_subplot(grid[0, 1])
    for i, (label, curve) in enumerate(curves.items()):
        require_columns(curve, ASSURANCE_NEEDS, "assurance_chart")
        c = curve.sort_values("n_per_arm")
        col = PRIOR_COLOURS[i % len(PRIOR_COLOURS)]
        x = c["n_per_arm"].to_numpy(float)
        a = c["assurance"].to_numpy(float)
        sim = (c["method"] == "simulated").to_numpy()
        if sim.any():
            ax.fill_between(x, np.where(sim, c["ci_low"], a), np.where(sim, c["ci_high"], a),
                            color=col, alpha=0.2, lw=0)  # fmt: skip
        ax.plot(x, a, "-", color=col, lw=1.8, marker="o", ms=3, label=f"{label}: assurance")
        ax.plot(x, c["power_at_prior_mean"].to_numpy(float), "--", color=col, lw=1.0,
                label=f"{label}: power at the prior means")  # fmt: skip
        ceiling = float(c["ceiling"].iloc[0])
        ax.axhline(ceiling, color=col, lw=1.0, ls=":", label=f"{label}: ceiling P(benefit) {ceiling:.0%}")
    placebo: list[tuple[str, np.ndarray, np.ndarray, str]] = []
    for i, (label, (xs, dc, dt)) in enumerate(densities.items()):
        col = PRIOR_COLOURS[i % len(PRIOR_COLOURS)]
        side.plot(xs, dt, "-", color=col, lw=1.6, label=f"{label}: IVIG rate")
        same = next(
            (j for j, p in enumerate(placebo) if p[1].shape == xs.shape and np.allclose(p[2], dc)), None
        )
        if same is None:
            placebo.append((label, xs, dc, col))
        else:  # one curve for a placebo prior several priors share
            placebo[same] = (f"{placebo[same][0]}, {label}", xs, dc, GREY)
    for label, xs, dc, col in placebo:
        side.plot(xs, dc, "--", color=col, lw=1.3, label=f"{label}: placebo rate")
    if target is not None:
        ax.axhline(target, color=TARGET, lw=1.1, ls="-", alpha=0.6, label=f"target {target:.0%}")
    if chosen_n is not None:
        ax.axvline(chosen_n, color="black", lw=1.1, ls="-.", label=f"scenario's n = {chosen_n:,.0f} per arm")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_n_text))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, p: ""))
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("women randomised per arm (log scale)", fontsize=FONT)
    ax.set_ylabel("probability of success", fontsize=FONT)
    ax.tick_params(labelsize=SMALL)
    ax.grid(alpha=0.3, color=GREY, which="both")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=SMALL - 1, frameon=False)
    side.set_xlim(0, 1)
    side.set_ylim(bottom=0)
    side.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    side.set_xlabel("live-birth rate", fontsize=FONT)
    side.set_ylabel("prior density", fontsize=FONT)
    side.set_title("The priors", fontsize=FONT)
    side.tick_params(labelsize=SMALL)
    side.grid(alpha=0.3, color=GREY)
    side.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1, fontsize=SMALL - 1, frameon=False)
    set_title(fig, "Probability of success (assurance) against the number of women per arm", subtitle, 110)
    return fig
