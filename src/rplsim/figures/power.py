"""Power against the number of women randomised per arm."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from rplsim.figures.base import FONT, SMALL, new_figure, require_columns, set_title
from rplsim.figures.palette import GREY, OK, RESULT, TARGET

__all__ = ["power_curve", "power_limits"]


def power_limits(values: np.ndarray, pad: float = 0.03) -> tuple[float, float]:
    """A y range around ``values`` (finite ones), padded and kept inside [0, 1].

    Examples
    --------
    >>> power_limits(np.array([0.7, 0.8, 0.85]))
    (0.67, 0.88)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return 0.0, 1.0
    lo, hi = float(v.min()) - pad, float(v.max()) + pad
    return round(max(0.0, lo), 6), round(min(1.0, hi), 6)


def power_curve(
    curve: pd.DataFrame,
    chosen_n: float | None = None,
    target_power: float | None = None,
    *,
    n_label: str = "women randomised per arm",
    subtitle: str = "",
) -> Figure:
    """Power against women per arm: simulated with its 95% Monte-Carlo CI, or exact (``method``).

    Parameters
    ----------
    curve : pandas.DataFrame
        Columns ``n_per_arm, power, ci_low, ci_high`` and optionally ``analytic_power`` and
        ``method`` ("exact" rows have no Monte-Carlo error).
    chosen_n : float, optional
        Marks the chosen sample size (a vertical line and its point).
    target_power : float, optional
        Draws a horizontal line at the target power.
    n_label : str
        The x axis label.
    subtitle : str
        A second title line: the design.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> c = pd.DataFrame({"n_per_arm": [60, 80], "power": [0.7, 0.82],
    ...     "ci_low": [0.68, 0.8], "ci_high": [0.72, 0.84]})
    >>> fig = power_curve(c, chosen_n=80, target_power=0.8, subtitle="chi2, two-sided alpha 0.05")
    >>> bool(fig.axes[0].get_ylim()[0] > 0.5)
    True
    """
    require_columns(curve, ("n_per_arm", "power", "ci_low", "ci_high"), "power_curve")
    c = curve.sort_values("n_per_arm")
    fig = new_figure(7.5, 4.8)
    ax = fig.add_subplot()
    x = c["n_per_arm"].to_numpy(float)
    pw = c["power"].to_numpy(float)
    lo, hi = c["ci_low"].to_numpy(float), c["ci_high"].to_numpy(float)
    exact = "method" in c.columns and bool((c["method"] == "exact").all())
    if exact:  # no Monte-Carlo error; the steps are an exact test's saw-tooth
        ax.plot(x, pw, "-", color=OK, lw=1.4, marker="o", ms=3, label="exact power")
    else:
        ax.fill_between(x, lo, hi, color=OK, alpha=0.3, lw=0, label="95% Monte-Carlo CI")
        ax.plot(x, pw, "-", color=OK, lw=1.4, marker="o", ms=3, label="simulated power")
    shown = [pw, lo, hi] if not exact else [pw]
    if "analytic_power" in c.columns and c["analytic_power"].notna().any():
        ap = c["analytic_power"].to_numpy(float)
        ax.plot(x, ap, "--", color="black", lw=1.0, label="normal-approximation formula")
        shown.append(ap)
    if target_power is not None:
        ax.axhline(target_power, color=TARGET, lw=1, ls=":", label=f"target power {target_power:.0%}")
        shown.append(np.array([target_power]))
    if chosen_n is not None:
        ax.axvline(chosen_n, color=RESULT, lw=1.2, ls="-.", label=f"chosen n = {chosen_n:,.0f} per arm")
        at = pw[x == chosen_n]
        if at.size:
            ax.plot([chosen_n], at[:1], "o", ms=8, mfc="none", mec=RESULT, mew=2, zorder=4)
    ax.set_ylim(*power_limits(np.concatenate(shown)))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 5, 10]))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(n_label, fontsize=FONT)
    ax.set_ylabel("power (probability of rejecting H0)", fontsize=FONT)
    ax.tick_params(labelsize=SMALL)
    ax.grid(alpha=0.3, color=GREY)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=SMALL, frameon=False)
    set_title(fig, "Power against the number of women randomised per arm", subtitle, 80)
    return fig
