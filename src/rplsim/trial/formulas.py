"""The design formulas applied to a scenario's trial: arm sizes, simulation path, and the
analytic power and sample size (:mod:`rplsim.design`) for its design and analysis."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import stats

from rplsim.design.analytic import SampleSize, power_two_proportions, sample_size
from rplsim.design.arms import arm_size
from rplsim.design.futility import FutilityDesign, futility_power, sequential_futility
from rplsim.design.methods import ANALYSIS_METHOD, z_alpha
from rplsim.design.sequential import SequentialDesign, group_sequential_design, group_sequential_power
from rplsim.exceptions import InvalidArgumentError, ScenarioError
from rplsim.scenario import Scenario, TrialParams
from rplsim.stats.pvalues import favour_p
from rplsim.stats.registry import get_analysis
from rplsim.trial.simulation import TrialDesign, trial_design

__all__ = [
    "analytic_n_per_arm",
    "analytic_power",
    "analytic_power_at",
    "analytic_sample_size",
    "default_path",
    "futility_levels",
    "futility_of",
    "inflate_for_dropout",
    "look_decision",
    "look_thresholds",
    "sequential_design",
    "treatment_size",
]


def treatment_size(trial: TrialParams, n_control: int) -> int:
    """Randomised women in the treatment arm: ``ceil(allocation_ratio * n_control)``."""
    return arm_size(trial.allocation_ratio, n_control)


def sequential_design(trial: TrialParams) -> SequentialDesign:
    """The group-sequential design of ``trial`` (its looks, alpha, power, sides, boundary).

    The boundaries :func:`look_thresholds` gives the simulation and the exact recursion, and
    the boundary table of the protocol summary (:func:`rplsim.planning.protocol.protocol_summary`).
    """
    return group_sequential_design(
        trial.looks,
        alpha=trial.alpha,
        power=trial.power,
        alternative=trial.alternative,
        boundary=trial.boundary,
    )


@lru_cache(maxsize=64)
def futility_of(trial: TrialParams) -> FutilityDesign | None:
    """The futility design of ``trial`` (``trial.futility`` with its boundary), None without."""
    if trial.futility == "none" or trial.looks < 2:
        return None
    return sequential_futility(
        trial.looks,
        alpha=trial.alpha,
        power=trial.power,
        alternative=trial.alternative,
        boundary=trial.boundary,
        futility=trial.futility,
        binding=trial.futility_binding,
        threshold=trial.futility_threshold,
    )


@lru_cache(maxsize=64)
def futility_levels(trial: TrialParams) -> np.ndarray:
    """Per look, the one-sided p-value in favour of treatment at or above which the trial stops
    for futility (``P(Z >= l_k)`` under H0, ``l_k`` the futility bound); ``inf`` where it never
    does (the final look, and every look without futility). Read-only (cached)."""
    fd = futility_of(trial)
    out = np.full(trial.looks, np.inf)
    if fd is not None:
        out[:-1] = stats.norm.sf(fd.futility_z[:-1])
    out.setflags(write=False)
    return out


@lru_cache(maxsize=64)  # solving the boundaries once per run, not once per block
def look_thresholds(trial: TrialParams) -> np.ndarray:
    """Per-look nominal p thresholds (two-sided p for two-sided tests); read-only (cached).

    The one place the simulation (:func:`rplsim.simulate_power`) and the exact recursion
    (:func:`rplsim.exact_power`) read a design's boundary from: ``[alpha]`` for a fixed design,
    else the nominal levels of :func:`rplsim.design.group_sequential_design`.
    """
    fd = futility_of(trial)
    if trial.looks == 1:
        out = np.array([trial.alpha])
    elif fd is not None:  # binding futility lowers the bounds; non-binding keeps them
        sides = 2.0 if trial.alternative == "two-sided" else 1.0
        out = sides * stats.norm.sf(fd.efficacy_z)
    else:
        out = np.array(sequential_design(trial).nominal_alpha, dtype=float)
    out.setflags(write=False)
    return out


def look_decision(
    trial: TrialParams, p: np.ndarray, sign: np.ndarray, look: int, done: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The design's rule at one look, for trials not yet ``done``: (rejected at all, rejected in
    the alternative's direction, stopped for futility).

    The one rule the simulation, the calendar twin, the SimPy engine and re-estimation apply: reject
    at ``p <= look_thresholds(trial)[look]``; at a look with futility, a two-sided trial rejects
    only in favour of treatment (one going against it stops for futility: futility is judged on
    the Z in favour of IVIG) and a trial not rejected stops for futility when its one-sided p in
    favour of treatment is at least ``futility_levels(trial)[look]``.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> t = load_scenario("scenarios/paper.toml").trial
    >>> rej, good, futile = look_decision(t, np.array([0.01, 0.01, 0.2]), np.array([1.0, -1.0, 1.0]), 0)
    >>> rej.tolist(), good.tolist(), futile.tolist()
    ([True, True, False], [True, False, False], [False, False, False])
    """
    level = futility_levels(trial)[look]
    rej = p <= look_thresholds(trial)[look]
    if done is not None:
        rej &= ~done
    if np.isfinite(level) and trial.alternative == "two-sided":
        rej &= sign > 0
    want = -1.0 if trial.alternative == "smaller" else 1.0
    good = rej & (sign * want > 0) if trial.alternative == "two-sided" else rej.copy()
    futile = np.zeros(rej.shape, bool)
    if np.isfinite(level):
        futile = (favour_p(p, sign, trial.alternative) >= level) & ~rej
        if done is not None:
            futile &= ~done
    return rej, good, futile


def default_path(trial: TrialParams) -> str:
    """The simulation path of ``trial``: its analysis's registered path (counts for chi2,
    fisher and cmh, patients for logistic)."""
    return get_analysis(trial.analysis).path


def _method(trial: TrialParams) -> str:
    """The formula for the scenario's own test (issue 13: size with the test you analyse with).

    Non-inferiority: Farrington-Manning. Superiority with one look: the method the analysis
    maps to in :data:`rplsim.design.methods.ANALYSIS_METHOD` (Fisher -> exact, chi2 -> normal;
    an analysis registered without a formula -> normal). Several looks: the normal formula,
    which the group-sequential inflation factor is defined on.
    """
    if trial.design == "non-inferiority":
        return "farrington-manning"
    if trial.looks > 1:
        return "normal"
    return ANALYSIS_METHOD.get(trial.analysis, "normal")


def analytic_power(trial: TrialParams, design: TrialDesign, n_c: float, ratio: float) -> float:
    """The formula's power at ``n_c`` analysed controls (fractional n allowed); NaN where the
    formula is undefined (rates inside H0, which a type-I check may simulate on purpose)."""
    try:
        return _analytic_power_raw(trial, design, n_c, ratio)
    except (ScenarioError, ValueError, ArithmeticError):
        return float("nan")


def _analytic_power_raw(trial: TrialParams, design: TrialDesign, n_c: float, ratio: float) -> float:
    fixed = float(
        power_two_proportions(
            design.p_control,
            design.p_treatment,
            n_c,
            alpha=trial.alpha,
            alternative=trial.alternative,
            method=_method(trial),
            margin=trial.margin or 0.0,
            ratio=ratio,
        )
    )
    if trial.looks == 1:
        return fixed
    fd = futility_of(trial)
    if fd is not None:
        z_a = z_alpha(trial.alpha, trial.alternative)
        return futility_power(fd, z_a + float(stats.norm.ppf(min(max(fixed, 1e-12), 1 - 1e-12))))[0]
    gs = sequential_design(trial)
    # ppf(1 - a), not design's isf(a): they differ in the last digits, and the shipped
    # results were computed with this one.
    z_a = float(stats.norm.ppf(1 - trial.alpha / (2 if trial.alternative == "two-sided" else 1)))
    return group_sequential_power(fixed, z_a, gs)


def analytic_sample_size(
    trial: TrialParams, p_control: float, p_treatment: float, *, sawtooth: bool = True
) -> SampleSize:
    """The formula's sample size (analysed women) of ``trial`` at these arm rates.

    Raises
    ------
    ScenarioError
        If the formula cannot be applied to the scenario's values (e.g. equal arm rates).
    """
    try:
        return sample_size(
            p_control,
            p_treatment,
            alpha=trial.alpha,
            power=trial.power,
            alternative=trial.alternative,
            method=_method(trial),
            margin=trial.margin or 0.0,
            ratio=trial.allocation_ratio,
            looks=trial.looks,
            boundary=trial.boundary,
            sawtooth=sawtooth,
            futility=trial.futility if trial.looks > 1 else "none",
            futility_binding=trial.futility_binding,
            futility_threshold=trial.futility_threshold,
        )
    except InvalidArgumentError as exc:  # the scenario's values, so a scenario error
        raise ScenarioError(str(exc)) from exc


def inflate_for_dropout(n_control: int, dropout: float) -> int:
    """Women to randomise so that ``n_control`` remain after dropout: ceil(n / (1 - dropout))."""
    return math.ceil(n_control / (1 - dropout) - 1e-9)


def analytic_power_at(scenario: Scenario, n_control: int, design: TrialDesign | None = None) -> float:
    """The formula's power with ``n_control`` women randomised to control (and the allocation's
    treatment arm), after dropout: what ``rplsim power`` reports as the analytic power at that n
    (:func:`rplsim.simulate_power`'s ``analytic_power``).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> round(analytic_power_at(load_scenario("scenarios/paper.toml"), 83), 4)
    0.7972
    """
    trial = scenario.trial
    assert trial is not None
    design = design or trial_design(scenario)
    n_t = treatment_size(trial, n_control)
    return analytic_power(trial, design, n_control * (1 - trial.dropout), n_t / n_control)


def analytic_n_per_arm(scenario: Scenario, design: TrialDesign | None = None) -> int:
    """Analytic control-arm size, inflated for dropout: ceil(n / (1 - dropout))."""
    trial = scenario.trial
    assert trial is not None
    design = design or trial_design(scenario)
    ss = analytic_sample_size(trial, design.p_control, design.p_treatment)
    return inflate_for_dropout(ss.n_control, trial.dropout)
