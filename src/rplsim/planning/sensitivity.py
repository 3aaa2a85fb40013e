"""How the required sample size moves with what nobody knows: the untreated live-birth rate.

A grid of control (placebo) rate × treatment (IVIG) rate → analytic n per arm (the trial's
method, alpha, power, allocation, looks; inflated for dropout), with simulated checks of the
power at the analytic n for a few points, and the reference points of TARGETS.md: the
paper-implied one, Yamada 2022 (58.0% vs 34.7%) and Moraru 2012 (82.5% vs 12.5%).

One n for one question: given the run's answer (``chosen``, the :class:`PowerResult` the
headline reports), every row at the scenario's own rates (the "this scenario" point and the
grid cell at the same rates) shows that answer's n and power (``n_method == "run"``) instead of
a second, analytic estimate of the same n, so the heat map, its legend and the report agree.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from rplsim import paper
from rplsim.design.arms import arm_size
from rplsim.exceptions import CalibrationError, ScenarioError
from rplsim.scenario import Scenario, SensitivityParams
from rplsim.trial.power import PowerResult, analytic_sample_size, inflate_for_dropout, simulate_power

__all__ = ["RUN_METHOD", "reference_points", "sensitivity_grid"]

RUN_METHOD = "run"
"""``n_method`` of the rows that show the run's own answer (``chosen``) rather than a formula."""

_SAME_RATE = 1e-12
"""Two rates closer than this are the same assumption (a grid cell at the scenario's rates)."""


def reference_points(scenario: Scenario) -> list[tuple[str, float, float]]:
    """(label, control rate, treatment rate) points drawn on the heat map."""
    pts = [
        ("Yamada 2022", paper.YAMADA_2022[1], paper.YAMADA_2022[0]),
        ("Moraru 2012", paper.MORARU_2012[1], paper.MORARU_2012[0]),
        (
            "paper: treated abnormal vs normal",
            paper.LBR_NORMAL[0] / paper.LBR_NORMAL[1],
            paper.LBR_ABNORMAL_TEXT[0] / paper.LBR_ABNORMAL_TEXT[1],
        ),
    ]
    if scenario.trial is not None and scenario.trial.treatment_lbr is not None:
        pts.insert(0, ("this scenario", scenario.trial.control_lbr, scenario.trial.treatment_lbr))
    return pts


def _n_per_arm(scenario: Scenario, pc: float, pt: float) -> tuple[float, str]:
    """(randomised control-arm n of the formula, the formula's method name)."""
    trial = scenario.trial
    assert trial is not None
    if trial.design == "superiority" and pt <= pc:
        return math.inf, ""
    try:
        ss = analytic_sample_size(trial, pc, pt, sawtooth=False)  # a grid: no saw-tooth notes
    except (ScenarioError, CalibrationError, ValueError):
        return math.nan, ""
    return float(inflate_for_dropout(ss.n_control, trial.dropout)), ss.method


def sensitivity_grid(
    scenario: Scenario,
    params: SensitivityParams | None = None,
    *,
    simulate: bool = True,
    replicates: int = 2000,
    chosen: PowerResult | None = None,
) -> pd.DataFrame:
    """Required control-arm size over a grid of control × treatment live-birth rates.

    Parameters
    ----------
    scenario : Scenario
        Must have ``[trial]``; its design settings (alpha, power, method, looks, dropout) apply.
    params : SensitivityParams, optional
        The grid (default: the scenario's ``[sensitivity]`` or the schema default).
    simulate : bool
        Check ``params.simulate_points`` points (the reference points first) by simulated
        power at their analytic n.
    replicates : int
        Simulated trials per checked point.
    chosen : PowerResult, optional
        The run's answer at the scenario's own rates: the rows at those rates show its n and
        power (``n_method == "run"``), and are not simulated again (module doc).

    Returns
    -------
    DataFrame
        ``control_lbr, treatment_lbr, label, n_per_arm, n_total, n_analysed_per_arm,
        n_method, simulated_power, simulated_ci_low, simulated_ci_high``: ``n_per_arm`` and
        ``n_total`` are randomised women (control arm, both arms), ``n_analysed_per_arm`` the
        control arm's expected analysed women after dropout, ``n_method`` the formula
        (``normal``, ...) or ``run``; simulated columns NaN where not simulated; ``n_per_arm``
        inf where the treatment is not better.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> g = sensitivity_grid(load_scenario("scenarios/paper.toml"), simulate=False)
    >>> g.shape, bool(g["simulated_power"].isna().all())
    ((52, 10), True)
    """
    if scenario.trial is None:
        raise ScenarioError(f"{scenario.name}: a sensitivity grid needs a [trial] section.")
    params = params or scenario.sensitivity or SensitivityParams()
    rows = []
    for pc in params.control_lbr:
        for pt in params.treatment_lbr:
            rows.append({"control_lbr": pc, "treatment_lbr": pt, "label": ""})
    for label, pc, pt in reference_points(scenario):
        rows.append({"control_lbr": pc, "treatment_lbr": pt, "label": label})
    df = pd.DataFrame(rows)
    sizes = [_n_per_arm(scenario, a, b) for a, b in zip(df.control_lbr, df.treatment_lbr, strict=True)]
    df["n_per_arm"] = [n for n, _ in sizes]
    ratio = scenario.trial.allocation_ratio
    df["n_total"] = df["n_per_arm"] + arm_size(ratio, df["n_per_arm"])
    df["n_method"] = [m for _, m in sizes]
    df["simulated_power"] = np.nan
    df["simulated_ci_low"] = np.nan
    df["simulated_ci_high"] = np.nan
    mine = _at_scenario_rates(scenario, df) if chosen is not None else np.zeros(len(df), bool)
    if chosen is not None and mine.any():
        df.loc[mine, "n_per_arm"] = float(chosen.n_control)
        df.loc[mine, "n_total"] = float(chosen.n_total)
        df.loc[mine, "n_method"] = RUN_METHOD
        df.loc[mine, ["simulated_power", "simulated_ci_low", "simulated_ci_high"]] = (
            chosen.power,
            *chosen.power_ci,
        )
    df["n_analysed_per_arm"] = df["n_per_arm"] * (1 - scenario.trial.dropout)
    df = df[
        [
            "control_lbr",
            "treatment_lbr",
            "label",
            "n_per_arm",
            "n_total",
            "n_analysed_per_arm",
            "n_method",
            "simulated_power",
            "simulated_ci_low",
            "simulated_ci_high",
        ]
    ].copy()
    if simulate and params.simulate_points > 0:
        finite = df[np.isfinite(df.n_per_arm) & (df.n_per_arm <= 5000) & ~mine]
        labelled = finite[finite.label != ""]
        rest = finite[finite.label == ""]
        picks = list(labelled.index) + list(
            rest.index[:: max(1, len(rest) // max(params.simulate_points, 1))]
        )
        for i in picks[: params.simulate_points]:
            trial = replace(
                scenario.trial,
                control_lbr=float(df.at[i, "control_lbr"]),
                treatment_lbr=float(df.at[i, "treatment_lbr"]),
                ivig_odds_ratio=None,
            )
            try:
                res = simulate_power(
                    scenario.replace(trial=trial), n_per_arm=int(df.at[i, "n_per_arm"]), replicates=replicates
                )
            except CalibrationError:
                continue
            df.loc[i, ["simulated_power", "simulated_ci_low", "simulated_ci_high"]] = (
                res.power,
                *res.power_ci,
            )
    return df


def _at_scenario_rates(scenario: Scenario, df: pd.DataFrame) -> np.ndarray:
    """Rows of ``df`` at the scenario's own control and treatment rates (module doc)."""
    trial = scenario.trial
    assert trial is not None
    if trial.treatment_lbr is None:  # an odds ratio: no "this scenario" point on the grid
        return np.zeros(len(df), bool)
    same = (np.abs(df["control_lbr"].to_numpy(float) - trial.control_lbr) < _SAME_RATE) & (
        np.abs(df["treatment_lbr"].to_numpy(float) - trial.treatment_lbr) < _SAME_RATE
    )
    return np.asarray(same, bool)
