"""Blinded sample-size re-estimation of a scenario's trial (``[trial.reestimation]``).

An internal pilot (Gould 1992; Kieser & Friede 2003; R ``blindrecalc``): after ``at`` of the
planned women per arm, the pooled live-birth rate of those with an outcome (arms not unblinded)
and the allocation give the control and treated rates that reproduce it under the planned
effect held fixed (:func:`rplsim.design.reestimation.rates_for_pooled`); the new n is the planned
n (found by the trial's own method: exact on the count path, dropout included) times the ratio of
the trial's formula's n at those rates to its n at the planned rates (at the trial's power; for
an exact test, Fisher's or Boschloo's, the continuity-corrected formula, which tracks Fisher's:
a search per pooled rate would cost seconds where the formula costs microseconds), so a pilot
that sees the planned pooled rate keeps the planned n; kept within ``[min_factor, max_factor]``
times the planned n, and the trial goes on to the new n; the final analysis is the scenario's
test on every analysed woman. ``at`` counts randomised women; with dropout about
``at (1 - dropout)`` of them have an outcome at re-estimation.

The design is planned at the scenario's rates (its n, :func:`planned_n_per_arm`, and the effect
held fixed) and may be run at other true rates (``truth``): that is what re-estimation is for.

**Arms per stage.** On the count path each stage randomises whole arms: ``ceil(at n_c)`` and
``ceil(at n_t)`` women first, then up to the new ``n_c'`` and ``ceil(ratio n_c')`` (permuted
blocks keep the arms within a block of this), each woman analysed with probability
``1 - dropout``. The patient path (the logistic analysis) randomises the women in order by the
trial's blocks and re-estimates at ``ceil(at (n_c + n_t))`` of them, so its arms may differ by
part of a block; the two paths agree within Monte-Carlo error (tested).

**Exact** (:func:`exact_reestimation`): without dropout, on the count path with an analysis of
the arm totals (chi2, fisher, boschloo), by enumeration of the first stage
(:func:`rplsim.design.reestimation.blinded_reestimation`). With dropout the analysed numbers of
both stages would join the enumeration; such designs are simulated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import stats

from rplsim._core.rng import child_generator
from rplsim.design.methods import ANALYSIS_METHOD, fixed_n_many
from rplsim.design.reestimation import ReestimationOC, blinded_reestimation, rates_for_pooled
from rplsim.exceptions import ScenarioError
from rplsim.scenario import Scenario, TrialParams
from rplsim.stats.registry import LookData, get_analysis, totals_look
from rplsim.trial.formulas import look_decision, treatment_size
from rplsim.trial.simulation import REPLICATE_BLOCK, TrialBlock, TrialDesign, _patient_pair, trial_design

__all__ = [
    "ReestimationPlan",
    "exact_reestimation",
    "fixed_counterpart",
    "planned_n_per_arm",
    "reestimation_blocks",
    "reestimation_plan",
    "true_design",
]

# Analyses that read only the arm totals: the count path's re-estimation draws arm totals.
_TOTALS_ONLY = ("chi2", "fisher", "boschloo")


def true_design(scenario: Scenario, truth: tuple[float, float] | None) -> TrialDesign:
    """The trial's rates at ``truth`` (control, treated live-birth rates), or its own."""
    trial = scenario.require_trial()
    if truth is None:
        return trial_design(scenario)
    pc, pt = (float(x) for x in truth)
    return trial_design(scenario, replace(trial, control_lbr=pc, treatment_lbr=pt, ivig_odds_ratio=None))


def fixed_counterpart(scenario: Scenario) -> Scenario:
    """The scenario without its ``[trial.reestimation]``: the fixed design the pilot starts from."""
    trial = scenario.require_trial()
    return scenario.replace(trial=replace(trial, reestimation=None))


def planned_n_per_arm(scenario: Scenario) -> int:
    """The planned randomised control arm the pilot starts from: ``trial.n_per_arm``, else the
    fixed design's n by :func:`rplsim.find_sample_size` (exact on the count path)."""
    trial = scenario.require_trial()
    if trial.n_per_arm:
        return trial.n_per_arm
    from rplsim.trial.power import find_sample_size  # it dispatches back to this module

    return int(find_sample_size(fixed_counterpart(scenario)).n_per_arm)


@dataclass(frozen=True)
class ReestimationPlan:
    """What a re-estimation design is planned with.

    Attributes
    ----------
    n_control, n_treatment : int
        Planned randomised women per arm.
    first_control, first_treatment : int
        Randomised per arm at re-estimation (count path).
    low, high : int
        Bounds of the new control arm: ``max(first, ceil(min_factor n))``, ``floor(max_factor n)``.
    effect, effect_value : str, float
        The effect held fixed and its planned value.
    ratio : float
        ``n_treatment / n_control``.
    p_control, p_treatment : float
        The planned rates (the pilot at their pooled rate keeps the planned n).
    """

    n_control: int
    n_treatment: int
    first_control: int
    first_treatment: int
    low: int
    high: int
    effect: str
    effect_value: float
    ratio: float
    p_control: float = 0.5
    p_treatment: float = 0.5


def reestimation_plan(scenario: Scenario, n_per_arm: int | None = None) -> ReestimationPlan:
    """The plan of the scenario's re-estimation at ``n_per_arm`` planned controls (default
    :func:`planned_n_per_arm`).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> p = reestimation_plan(load_scenario("scenarios/reestimation.toml"))
    >>> p.n_control, p.first_control, p.high, p.effect
    (83, 42, 166, 'odds-ratio')
    """
    trial = scenario.require_trial()
    re = trial.reestimation
    if re is None:
        raise ScenarioError(f"{scenario.name}: no [trial.reestimation] section.")
    n_c = n_per_arm or planned_n_per_arm(scenario)
    n_t = treatment_size(trial, n_c)
    planned = trial_design(scenario)
    pc, pt = planned.p_control, planned.p_treatment
    value = (pt / (1 - pt)) / (pc / (1 - pc)) if re.effect == "odds-ratio" else pt - pc
    first_c, first_t = math.ceil(re.at * n_c - 1e-9), math.ceil(re.at * n_t - 1e-9)
    return ReestimationPlan(
        n_control=n_c,
        n_treatment=n_t,
        first_control=first_c,
        first_treatment=first_t,
        low=max(first_c, math.ceil(re.min_factor * n_c - 1e-9)),
        high=math.floor(re.max_factor * n_c + 1e-9),
        effect=re.effect,
        effect_value=float(value),
        ratio=n_t / n_c,
        p_control=float(pc),
        p_treatment=float(pt),
    )


def _new_n(
    trial: TrialParams, plan: ReestimationPlan, m_max: int, m: np.ndarray, s: np.ndarray
) -> np.ndarray:
    """The new randomised control arm of each pilot (``s`` live births among ``m`` analysed of
    ``m_max`` women), from :func:`_new_n_table` built from the least ``m`` that the dropout makes
    likely (P(fewer) < 1e-12): the rows below it would be most of the table's cost, and a pilot
    below it (never seen in practice) gets the whole table."""
    keep = 1.0 - trial.dropout
    low = max(1, int(stats.binom.ppf(1e-12, m_max, keep)) - 1) if keep < 1 else m_max
    if m.size and int(m.min()) < low:
        low = 1
    out: np.ndarray = _new_n_table(trial, plan, m_max, low)[m, s]
    return out


@lru_cache(maxsize=32)
def _new_n_table(trial: TrialParams, plan: ReestimationPlan, m_max: int, m_min: int = 1) -> np.ndarray:
    """new[m, s]: the new randomised control arm after ``s`` live births among ``m`` analysed
    women at re-estimation (``m = 0``: the planned n), every pooled rate ``s / m`` sized in one
    vectorised call of the trial's formula (:func:`rplsim.design.methods.fixed_n_many`); only the
    rows ``m >= m_min`` (the others hold the planned n and are not read: :func:`_new_n`)."""
    m, s = np.meshgrid(np.arange(m_min, m_max + 1), np.arange(m_max + 1), indexing="ij")
    ok = s <= m
    pooled = s[ok] / m[ok]
    pc, pt = rates_for_pooled(pooled, plan.ratio, plan.effect, plan.effect_value)
    # the trial's own formula; an exact-search one (Fisher's, Boschloo's) by its continuity-
    # corrected formula (the module doc says why)
    exact_search = trial.analysis in ("fisher", "boschloo")
    method = "continuity" if exact_search else ANALYSIS_METHOD.get(trial.analysis, "normal")
    kw: dict[str, Any] = {"alpha": trial.alpha, "power": trial.power, "alternative": trial.alternative}
    with np.errstate(divide="ignore", invalid="ignore"):
        n_fixed = fixed_n_many(method, pc, pt, ratio=trial.allocation_ratio, **kw)
        planned = np.array([plan.p_control]), np.array([plan.p_treatment])
        at_plan = fixed_n_many(method, *planned, ratio=trial.allocation_ratio, **kw)[0]
    # The planned n scaled by the formula's n at the pilot's rates over its n at the planned ones:
    # the pilot that sees the planned pooled rate keeps the planned n (found by the trial's own
    # method: exact, dropout included), and n moves with the formula's variance over effect
    # squared elsewhere. No finite n (equal rates) is the cap.
    n = np.ceil(plan.n_control * n_fixed / at_plan - 1e-9)
    table = np.full((m_max + 1, m_max + 1), plan.n_control, dtype=np.int64)
    inner = table[m_min:]
    inner[ok] = np.clip(np.nan_to_num(n, posinf=plan.high), plan.low, plan.high).astype(np.int64)
    table.setflags(write=False)
    return table


def _analyse_totals(
    trial: TrialParams, x_t: np.ndarray, n_t: np.ndarray, x_c: np.ndarray, n_c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    data = LookData(
        x_t=x_t, n_t=n_t, x_c=x_c, n_c=n_c,
        strata_counts=np.stack([x_t, n_t, x_c, n_c], axis=1)[:, :, None],
        alternative=trial.alternative,  # type: ignore[arg-type]  # a validated choice
        margin=trial.margin or 0.0,
    )  # fmt: skip
    p, sign = get_analysis(trial.analysis).function(data)
    return np.nan_to_num(np.asarray(p, float), nan=1.0), np.asarray(sign, float)


def _decisions(trial: TrialParams, p: np.ndarray, sign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rejected in favour of treatment, rejected at all) of the final analysis (one look)."""
    rej, good, _ = look_decision(trial, p, sign, 0)
    return good, rej


def _count_block(
    trial: TrialParams, plan: ReestimationPlan, rates: tuple[float, float], block: int, entropy: int
) -> dict[str, np.ndarray]:
    """One block of count-path trials at arm rates ``rates`` (control, treated)."""
    r = REPLICATE_BLOCK
    keep = 1.0 - trial.dropout
    # One stream for H1 and the null: the first stage's sizes and control births are the same
    # numbers under both (common random numbers), the treated births differ with the rate.
    g = child_generator(entropy, "trial-reestimation", block)
    m1c = g.binomial(plan.first_control, keep, r)
    m1t = g.binomial(plan.first_treatment, keep, r)
    x1c = g.binomial(m1c, rates[0])
    x1t = g.binomial(m1t, rates[1])
    new_c = _new_n(trial, plan, plan.first_control + plan.first_treatment, m1c + m1t, x1c + x1t)
    new_t = np.maximum(np.ceil(plan.ratio * new_c - 1e-9).astype(np.int64), plan.first_treatment)
    m2c = g.binomial(new_c - plan.first_control, keep)
    m2t = g.binomial(new_t - plan.first_treatment, keep)
    x_c = x1c + g.binomial(m2c, rates[0])
    x_t = x1t + g.binomial(m2t, rates[1])
    p, sign = _analyse_totals(trial, x_t, m1t + m2t, x_c, m1c + m2c)
    good, rej = _decisions(trial, p, sign)
    return {"good": good, "any": rej, "n_control": new_c, "n_total": new_c + new_t}


def _patient_block(
    scenario: Scenario, design: TrialDesign, plan: ReestimationPlan, block: int, entropy: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One block of patient-path trials, under H1 and the null (the trial's own pair)."""
    trial = scenario.require_trial()
    re = trial.reestimation
    assert re is not None
    n_max = plan.high + math.ceil(plan.ratio * plan.high - 1e-9)
    first = math.ceil(re.at * (plan.n_control + plan.n_treatment) - 1e-9)
    sizes = np.array([first, n_max])
    pair = _patient_pair(scenario, design, REPLICATE_BLOCK, sizes, plan.ratio, block, entropy)
    return _patient_final(trial, plan, pair.h1, first), _patient_final(trial, plan, pair.null, first)


def _patient_final(
    trial: TrialParams, plan: ReestimationPlan, sim: TrialBlock, first: int
) -> dict[str, np.ndarray]:
    m1 = sim.n_t[:, 0] + sim.n_c[:, 0]
    new_c = _new_n(trial, plan, first, m1, sim.x_t[:, 0] + sim.x_c[:, 0])
    n_total = new_c + np.ceil(plan.ratio * new_c - 1e-9).astype(np.int64)
    assert sim.mask is not None and sim.X is not None and sim.y is not None
    mask = sim.mask | (np.arange(sim.mask.shape[1])[None, :] >= n_total[:, None])
    data = totals_look(
        ~mask, sim.X[:, :, 1] > 0.5, sim.y > 0.5,
        trial.alternative,  # type: ignore[arg-type]  # a validated choice
        trial.margin or 0.0, X=sim.X, y=sim.y, mask=mask,
    )  # fmt: skip
    p, sign = get_analysis(trial.analysis).function(data)
    good, rej = _decisions(trial, np.nan_to_num(np.asarray(p, float), nan=1.0), np.asarray(sign, float))
    return {"good": good, "any": rej, "n_control": new_c, "n_total": n_total}


def reestimation_blocks(
    scenario: Scenario, design: TrialDesign, n_c: int, n_t: int, blocks: list[int], entropy: int, path: str
) -> dict[str, np.ndarray]:
    """:func:`rplsim.trial.power.run_blocks` of a re-estimation design: the same keys (``stop``
    all 0, no futility) plus ``n_control`` / ``n_total`` (and ``n_control0`` / ``n_total0`` under
    the null), the re-estimated randomised sizes. ``design`` holds the true rates; the plan is the
    scenario's at ``n_c`` planned controls."""
    trial = scenario.require_trial()
    plan = reestimation_plan(scenario, n_c)
    if path == "counts" and trial.analysis not in _TOTALS_ONLY:
        raise ScenarioError(
            f'{scenario.name}: trial.analysis == "{trial.analysis}" with [trial.reestimation] on the '
            f"count path: re-estimation draws arm totals, for {', '.join(_TOTALS_ONLY)}; use one "
            'of them, or analysis = "logistic" (patient path).'
        )
    p_c, p_t, p_0 = design.marginal_rates()
    parts: dict[str, list[np.ndarray]] = {}
    for b in blocks:
        if path == "counts":
            h1 = _count_block(trial, plan, (p_c, p_t), b, entropy)
            h0 = _count_block(trial, plan, (p_c, p_0), b, entropy)
        else:
            h1, h0 = _patient_block(scenario, design, plan, b, entropy)
        zero = np.zeros(REPLICATE_BLOCK, dtype=np.int64)
        out = {
            "good": h1["good"], "any": h1["any"], "stop": zero, "fut": zero.astype(bool),
            "any0": h0["any"], "stop0": zero, "fut0": zero.astype(bool),
            "n_control": h1["n_control"], "n_total": h1["n_total"],
            "n_control0": h0["n_control"], "n_total0": h0["n_total"],
        }  # fmt: skip
        for k, v in out.items():
            parts.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in parts.items()}


def exact_reestimation(scenario: Scenario, n_per_arm: int, design: TrialDesign) -> ReestimationOC:
    """Exact operating characteristics of the scenario's re-estimation at the rates of ``design``
    (no dropout, count path, an analysis of the arm totals), planned at ``n_per_arm`` controls.

    Raises
    ------
    ScenarioError
        With dropout, or an analysis that is not of the arm totals.
    """
    trial = scenario.require_trial()
    if trial.dropout > 0 or trial.analysis not in _TOTALS_ONLY:
        raise ScenarioError(
            f"{scenario.name}: exact re-estimation covers designs without dropout analysed by "
            f"{', '.join(_TOTALS_ONLY)} (trial.dropout == {trial.dropout}, trial.analysis == "
            f'"{trial.analysis}"); use simulate_power.'
        )
    plan = reestimation_plan(scenario, n_per_arm)
    p_c, p_t, _ = design.marginal_rates()
    m1 = plan.first_control + plan.first_treatment
    table = _new_n_table(trial, plan, m1, m1)  # no dropout: the pilot has all m1 women
    return blinded_reestimation(
        plan.n_control, plan.n_treatment, at=trial.reestimation.at,  # type: ignore[union-attr]
        p_control=p_c, p_treatment=p_t, effect=plan.effect, effect_value=plan.effect_value,
        size=None, new_control=table[m1], min_factor=1.0, max_factor=plan.high / plan.n_control,
        analysis=trial.analysis, alpha=trial.alpha,
        alternative=trial.alternative, margin=trial.margin or 0.0,
    )  # fmt: skip
