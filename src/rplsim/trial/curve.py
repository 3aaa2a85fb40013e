"""A power curve of a scenario's trial: power against n per arm, or against the placebo rate.

:func:`power_curve` returns data only (a :class:`PowerCurve`: a table and what it was computed
for); the figure is :func:`rplsim.outputs.curve_plot.power_curve_figure`. Exact
(:func:`rplsim.exact_power`) for count-path designs it covers (one look, or no dropout), so the
saw-tooth of Fisher's test is the curve's, not noise; simulated (:func:`rplsim.simulate_power`)
otherwise, with **common random numbers**: the same seed at every point, so the points are the
same simulated trials (the same keyed blocks) and differ only by the design, and the curve is
smooth where the truth is.

Across placebo rates (``control_lbr=...`` at a fixed ``n_per_arm``) the scenario's stated
effect is held fixed: ``trial.treatment_lbr`` if it gives one (the question "how much power
if placebo does better than we think?"), else ``trial.ivig_odds_ratio`` (the treated rate
follows). The table's ``held_fixed`` column names which.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rplsim._core.display import Displayed
from rplsim._core.limits import MAX_N_PER_ARM
from rplsim._core.rng import SeedLike
from rplsim._core.validation import check_integer
from rplsim.design.exact import check_rate
from rplsim.exceptions import InvalidArgumentError, ScenarioError
from rplsim.scenario import Scenario
from rplsim.trial.formulas import treatment_size
from rplsim.trial.power import power_with
from rplsim.trial.solve import _Evaluator

__all__ = ["CURVE_COLUMNS", "MAX_CURVE_POINTS", "PowerCurve", "design_label", "power_curve"]

#: The columns of :attr:`PowerCurve.table`, in order.
CURVE_COLUMNS = (
    "n_per_arm",
    "n_treatment",
    "control_lbr",
    "treatment_lbr",
    "held_fixed",
    "power",
    "type1_error",
    "ci_low",
    "ci_high",
    "reaches_target",
    "method",
)
#: Points of one curve at most (a limit of this module: ~1,000 exact evaluations is minutes).
MAX_CURVE_POINTS = 1000


@dataclass(frozen=True, eq=False, repr=False)
class PowerCurve(Displayed):
    """Power of one design at several n per arm, or at several placebo rates.

    Attributes
    ----------
    table : pandas.DataFrame
        One row a point, columns :data:`CURVE_COLUMNS`: randomised women per arm (control and
        treated), the arms' rates, ``held_fixed`` (the effect held when the placebo rate
        moves), power and type-I error, the 95% Wilson interval of a simulated power (NaN
        when exact), whether power reaches the target, and ``"exact"``/``"simulated"``.
    x : {"n_per_arm", "control_lbr"}
        The column the curve runs along.
    method : {"exact", "simulated"}
    target_power : float
        ``trial.power``.
    chosen_n : int or None
        The design's n per arm to mark (``trial.n_per_arm``, or as passed).
    n_per_arm : int or None
        The fixed n of a curve across placebo rates.
    held_fixed : str
        ``"treatment_lbr"`` or ``"ivig_odds_ratio"``.
    design : str
        One line naming the design (for titles).
    scenario : str
        The scenario's name.
    replicates, seed : int or None
        Simulated only: trials per point and the one root seed of every point.

    Examples
    --------
    >>> from rplsim import load_scenario, power_curve
    >>> c = power_curve(load_scenario("scenarios/paper.toml"), n=range(60, 101, 20))
    >>> c.method, c.to_frame()["n_per_arm"].tolist()
    ('exact', [60, 80, 100])
    """

    table: pd.DataFrame
    x: str
    method: str
    target_power: float
    chosen_n: int | None
    n_per_arm: int | None
    held_fixed: str
    design: str
    scenario: str
    replicates: int | None = None
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """What the curve is for, and its rows as a list of dicts (``rows``)."""
        meta = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "table"}
        meta["rows"] = self.table.to_dict(orient="records")
        return meta

    def to_frame(self) -> pd.DataFrame:
        """The curve's table (columns :data:`CURVE_COLUMNS`)."""
        return self.table

    def plot(self) -> Any:
        """The figure of the curve (a matplotlib Figure, :func:`rplsim.figures.power_curve`).

        A curve across placebo rates is drawn by
        :func:`rplsim.outputs.curve_plot.power_curve_figure` (``rplsim power --plot``).
        """
        from rplsim.figures import power_curve as _figure

        return _figure(
            self.table,
            chosen_n=self.chosen_n if self.chosen_n is not None else int(self.table["n_per_arm"].iloc[0]),
            target_power=self.target_power,
            subtitle=self.design,
        )

    def _display_title(self) -> str:
        return f"Power curve ({self.method}): {self.design}"

    def _display_rows(self) -> list[tuple[str, str]]:
        t = self.table
        x = t[self.x]
        fmt = "{:.0f}" if self.x == "n_per_arm" else "{:.1%}"
        rows = [
            ("points", f"{len(t)}, {self.x} {fmt.format(x.min())} to {fmt.format(x.max())}"),
            ("power", f"{t['power'].min():.3f} to {t['power'].max():.3f} (target {self.target_power:.0%})"),
        ]
        reach = t[t["reaches_target"].astype(bool)]
        if len(reach):
            rows.append(("first reaching target", f"{self.x} {fmt.format(reach[self.x].iloc[0])}"))
        return rows


def design_label(scenario: Scenario) -> str:
    """One line naming the scenario's design: test, sidedness, alpha, dropout, blocks, looks."""
    t = scenario.require_trial()
    parts = [f"{scenario.name}: {t.analysis}", f"{t.alternative} alpha {t.alpha:g}"]
    if t.margin:
        parts.append(f"margin {t.margin:g}")
    parts.append(f"dropout {t.dropout:.0%}")
    parts.append(f"blocks of {t.block_size}" if t.block_size else "simple randomisation")
    if t.allocation_ratio != 1:
        parts.append(f"allocation {t.allocation_ratio:g}:1")
    if t.looks > 1:
        parts.append(f"{t.looks} looks ({t.boundary})")
    return ", ".join(parts)


def _ns(n: Iterable[int]) -> list[int]:
    out = [check_integer("n", v, 2, error=InvalidArgumentError) for v in n]
    if not out:
        raise InvalidArgumentError("n is empty, must give at least one n per arm, e.g. range(40, 201, 10).")
    if max(out) > MAX_N_PER_ARM:
        raise InvalidArgumentError(f"n == {max(out)}, must be <= {MAX_N_PER_ARM:,} per arm.")
    return sorted(set(out))


def _rates(values: Iterable[float]) -> list[float]:
    # Rounded to 12 digits: np.arange(0.45, 0.751, 0.05) gives 0.6000000000000001.
    out = sorted({round(check_rate("control_lbr", float(v)), 12) for v in values})
    if not out:
        raise InvalidArgumentError("control_lbr is empty, must give at least one placebo rate.")
    return out


def power_curve(
    scenario: Scenario,
    n: Iterable[int] | None = None,
    *,
    control_lbr: Iterable[float] | None = None,
    n_per_arm: int | None = None,
    chosen_n: int | None = None,
    method: str = "auto",
    replicates: int | None = None,
    seed: SeedLike = None,
    workers: int = 1,
) -> PowerCurve:
    """Power of the scenario's trial at each ``n`` per arm, or at each placebo rate.

    Parameters
    ----------
    scenario : Scenario
        Must have a ``[trial]`` section.
    n : iterable of int, optional
        Randomised control women per arm, e.g. ``range(40, 201, 10)``; give this or
        ``control_lbr``.
    control_lbr : iterable of float, optional
        Placebo rates, e.g. ``np.arange(0.45, 0.751, 0.05)``, at ``n_per_arm`` (default
        ``trial.n_per_arm``), the stated effect held fixed (module doc).
    n_per_arm : int, optional
        The fixed n of a curve across placebo rates.
    chosen_n : int, optional
        The n to mark (default ``trial.n_per_arm``; for a placebo-rate curve, its n).
    method : {"auto", "exact", "simulated"}, default "auto"
        "auto": exact where :func:`rplsim.trial.exact.exact_applies`, else simulated.
    replicates : int, optional
        Simulated trials per point (default ``trial.replicates``).
    seed : int, optional
        The root seed of every simulated point (default the scenario's).
    workers : int, default 1
        Processes for the simulation.

    Returns
    -------
    PowerCurve

    Raises
    ------
    InvalidArgumentError
        Neither or both of ``n`` and ``control_lbr``, an empty or out-of-range list, more
        than :data:`MAX_CURVE_POINTS` points.
    ScenarioError
        No ``[trial]``; a placebo-rate curve with no n (neither ``n_per_arm`` nor
        ``trial.n_per_arm``).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> c = power_curve(load_scenario("scenarios/paper.toml"), n=range(40, 121, 40))
    >>> c.table["power"].round(3).tolist()
    [0.495, 0.788, 0.922]
    """
    trial = scenario.require_trial()
    if (n is None) == (control_lbr is None):
        raise InvalidArgumentError(
            "power_curve: give n=... (n per arm, e.g. range(40, 201, 10)) or control_lbr=... "
            "(placebo rates, with n_per_arm), not " + ("both." if n is not None else "neither.")
        )
    ev = _Evaluator(scenario, method, replicates, seed, workers)
    held = "treatment_lbr" if trial.treatment_lbr is not None else "ivig_odds_ratio"
    points: list[tuple[Scenario, int]]
    if n is not None:
        if n_per_arm is not None:
            raise InvalidArgumentError(
                "power_curve: n_per_arm is for a curve across control_lbr; drop it or n."
            )
        points = [(scenario, m) for m in _ns(n)]
        x = "n_per_arm"
        fixed_n = None
        mark = trial.n_per_arm if chosen_n is None else chosen_n
    else:
        assert control_lbr is not None
        if n_per_arm is None:
            if trial.n_per_arm is None:
                raise ScenarioError(
                    f"{scenario.name}: trial.n_per_arm is not set: pass n_per_arm=... for a power "
                    "curve across control_lbr."
                )
            n_per_arm = trial.n_per_arm
        fixed_n = check_integer("n_per_arm", n_per_arm, 2, error=InvalidArgumentError)
        points = [(power_with(scenario, control_lbr=c), fixed_n) for c in _rates(control_lbr)]
        x = "control_lbr"
        mark = fixed_n if chosen_n is None else chosen_n
    if len(points) > MAX_CURVE_POINTS:
        raise InvalidArgumentError(
            f"power_curve: {len(points):,} points, must be at most {MAX_CURVE_POINTS:,}."
        )
    rows = []
    for s, m in points:
        pt = ev(s, m)
        ts = s.require_trial()
        lo, hi = pt.ci if pt.ci is not None else (math.nan, math.nan)
        rows.append(
            {
                "n_per_arm": m,
                "n_treatment": treatment_size(trial, m),
                # The stated rates as given (the resolved ones equal them to ~1e-16).
                "control_lbr": ts.control_lbr,
                "treatment_lbr": pt.p_treatment if ts.treatment_lbr is None else ts.treatment_lbr,
                "held_fixed": held,
                "power": pt.power,
                "type1_error": pt.type1_error,
                "ci_low": lo,
                "ci_high": hi,
                "reaches_target": bool(pt.power >= trial.power),
                "method": ev.method,
            }
        )
    table = pd.DataFrame(rows, columns=list(CURVE_COLUMNS))
    table["ci_low"] = table["ci_low"].astype(np.float64)
    table["ci_high"] = table["ci_high"].astype(np.float64)
    return PowerCurve(
        table=table,
        x=x,
        method=ev.method,
        target_power=trial.power,
        chosen_n=mark,
        n_per_arm=fixed_n,
        held_fixed=held,
        design=design_label(scenario),
        scenario=scenario.name,
        replicates=None if ev.exact else ev.replicates,
        seed=None if ev.exact else ev.entropy,
    )
