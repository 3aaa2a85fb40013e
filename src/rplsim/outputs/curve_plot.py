"""The figure of a :class:`rplsim.trial.curve.PowerCurve`: power against n, or the placebo rate.

Built without :mod:`matplotlib.pyplot` (see :mod:`rplsim.outputs.figure`). An exact curve is
drawn as steps between the n it was computed at (power is only defined at whole n, and the
saw-tooth of Fisher's test shows as steps, not as a smoothed line); a simulated one as points
with their 95% intervals. The target power is a dashed line, the chosen n a dotted one (or,
across placebo rates, the n is in the title), and the design is named in the title.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from rplsim._core.text import plain_title
from rplsim.figures.base import FONT, SMALL, new_figure, require_columns, wrapped_label
from rplsim.figures.palette import GREY, MISS, OK
from rplsim.trial.curve import PowerCurve

__all__ = ["power_curve_figure"]


def power_curve_figure(curve: PowerCurve) -> Figure:
    """The figure of ``curve`` (save it with :func:`rplsim.outputs.figure.save_png`).

    Parameters
    ----------
    curve : PowerCurve
        From :func:`rplsim.power_curve`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    tab = curve.table
    require_columns(tab, (curve.x, "power", "ci_low", "ci_high", "reaches_target"), "power curve")
    fig = new_figure(7.0, 4.4)
    ax = fig.add_subplot()
    xs = tab[curve.x].to_numpy(float)
    pw = tab["power"].to_numpy(float)
    if curve.method == "exact":
        step = curve.x == "n_per_arm" and len(xs) > 1 and np.all(np.diff(xs) == 1)
        if step:
            ax.step(xs, pw, where="mid", color=OK, lw=1.4, label="exact power")
        else:
            ax.plot(xs, pw, color=OK, lw=1.2, label="exact power")
        ok = tab["reaches_target"].to_numpy(bool)
        ax.plot(xs[ok], pw[ok], "o", ms=3.5, color=OK, label="reaches target")
        ax.plot(xs[~ok], pw[~ok], "o", ms=3.5, mfc="white", color=MISS, label="below target")
    else:
        err = np.vstack([pw - tab["ci_low"].to_numpy(float), tab["ci_high"].to_numpy(float) - pw])
        label = "simulated power, 95% CI"
        if curve.replicates:
            label += f" ({curve.replicates:,} trials a point, common random numbers)"
        ax.errorbar(xs, pw, yerr=err, fmt="o-", ms=4, lw=1.0, capsize=2.5, color=OK, label=label)
    ax.axhline(curve.target_power, ls="--", lw=1.0, color=MISS, label=f"target {curve.target_power:g}")
    if curve.x == "n_per_arm":
        ax.set_xlabel("women randomised per arm (control; before dropout)", fontsize=FONT)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if curve.chosen_n is not None:
            ax.axvline(curve.chosen_n, ls=":", lw=1.2, color=GREY, label=f"chosen n = {curve.chosen_n}")
    else:
        held = (
            f"IVIG rate {tab['treatment_lbr'].iloc[0]:.3g} held fixed"
            if curve.held_fixed == "treatment_lbr" and len(tab)
            else "IVIG odds ratio held fixed"
        )
        ax.set_xlabel(f"placebo live-birth rate ({held})", fontsize=FONT)
    ax.set_ylabel("power", fontsize=FONT)
    lo = float(np.nanmin(np.append(pw, curve.target_power)))
    ax.set_ylim(max(0.0, lo - 0.05), min(1.0, float(np.nanmax(pw)) + 0.05) if pw.size else 1.0)
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=SMALL)
    ax.legend(fontsize=SMALL, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    what = "power against n per arm" if curve.x == "n_per_arm" else f"power at {curve.n_per_arm} per arm"
    ax.set_title(
        plain_title(f"{what} ({curve.method})") + "\n" + wrapped_label(curve.design, 90), fontsize=FONT
    )
    return fig
