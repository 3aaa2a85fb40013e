"""Exact power and type-I error of a scenario's fixed trial on the count path.

The scenario's rates are resolved as :func:`rplsim.simulate_power` resolves them (the arm
rates of eligible women, :func:`rplsim.trial_design`), the arm sizes as it sizes them
(``n_treatment = ceil(allocation_ratio * n_per_arm)``), and the count path's randomisation,
dropout and births are summed over exactly by :func:`rplsim.design.exact_power_counts`.
Group-sequential designs (``trial.looks > 1``) without dropout are computed exactly by the
look-by-look recursion of :func:`rplsim.design.exact_sequential_counts` at the simulation's own
boundary (:func:`rplsim.trial.formulas.look_thresholds`); with dropout they raise, pointing to
:func:`rplsim.simulate_power`.

:func:`exact_sample_size` searches n by exact power: the smallest n per arm whose power reaches
the target, and the smallest n from which it stays there for every n up to 20% larger (exact
tests have a saw-tooth power curve, Chernick & Liu 2002, Am Stat 56:149).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from rplsim._core.display import Displayed
from rplsim._core.validation import check_integer
from rplsim.design.exact_counts import EXACT_TOLERANCE, exact_power_counts, randomised_treated_distribution
from rplsim.design.exact_sequential import exact_sequential_counts
from rplsim.exceptions import InvalidArgumentError, ScenarioError
from rplsim.scenario import Scenario, TrialParams
from rplsim.stats.registry import get_analysis
from rplsim.trial.formulas import (
    analytic_n_per_arm,
    analytic_power,
    futility_levels,
    look_thresholds,
    treatment_size,
)
from rplsim.trial.randomisation import look_sizes
from rplsim.trial.simulation import TrialDesign, trial_design

__all__ = [
    "ExactPower",
    "ExactSampleSize",
    "exact_applies",
    "exact_curve",
    "exact_power",
    "exact_sample_size",
    "never_reached",
    "not_covered",
]

# Analyses that read only the arm totals (so several eligible strata change nothing).
_TOTALS_ONLY = ("chi2", "fisher", "boschloo")
_REESTIMATION_EXACT = _TOTALS_ONLY
#: The search of :func:`exact_sample_size` starts where exact power is at least this far
#: below the target (the saw-tooth of an exact test is a few points of power, Chernick & Liu
#: 2002), so no smaller n can reach it. (A limit of this module.)
SEARCH_POWER_GAP = 0.2
#: ... and evaluates at most this many n (then refuses, pointing to a coarser tool).
MAX_SEARCH_POINTS = 2_000

STRIDE_POWER_GAP = 0.05
"""The search strides (1/20 of the way to the formula's n) while exact power is more than this
below target, then steps one n at a time: far wider than the few points an exact test's
power dips between neighbouring n."""


@dataclass(frozen=True, repr=False)
class ExactPower(Displayed):
    """Exact operating characteristics of a scenario's fixed trial (count path).

    Attributes
    ----------
    power : float
        P(reject H0 in favour of IVIG) at the scenario's rates.
    rejection : float
        P(reject H0 at all) at the same rates.
    type1_error : float
        P(reject H0 at all) under the design's null: both arms at the control rate, or the
        treated arm at control - margin for non-inferiority.
    n_control, n_treatment : int
        Randomised women per arm (before dropout).
    analysed_mean : float
        Expected analysed women per arm pair, i.e. in **both arms together** (after dropout);
        ``analysed_control_mean`` and ``analysed_treatment_mean`` per arm.
    p_control, p_treatment, p_null : float
        The arms' live-birth rates the trial draws from (the treated one under H0 for
        ``p_null``).
    method : str
        ``"exact"``.
    max_error : float
        Probability left out of the enumeration: each exact value lies in
        ``[value, value + max_error]``.
    looks : int
        Analyses (1 for a fixed design).
    stop_probability, stop_probability_null : tuple of float
        P(stopping for a rejection at each look) at the scenario's rates and under the null
        (one entry, the rejection, for a fixed design).
    expected_women, expected_women_null : float
        Expected women randomised when the trial stops (``n_control + n_treatment`` for a
        fixed design).
    futility_probability, futility_probability_null : tuple of float
        P(stopping for futility at each look), at the scenario's rates and under the null
        (empty for a fixed design; zeros without ``trial.futility``).

    Examples
    --------
    >>> from rplsim import exact_power, load_scenario
    >>> res = exact_power(load_scenario("scenarios/paper.toml"), n_per_arm=85)
    >>> res.n_control, res.looks, round(res.power, 3), res.to_frame().shape
    (85, 1, 0.811, (1, 26))
    """

    power: float
    rejection: float
    type1_error: float
    n_control: int
    n_treatment: int
    analysed_mean: float
    analysed_control_mean: float
    analysed_treatment_mean: float
    p_control: float
    p_treatment: float
    p_null: float
    analysis: str
    alpha: float
    alternative: str
    margin: float
    dropout: float
    block_size: int
    method: str = "exact"
    max_error: float = 0.0
    looks: int = 1
    stop_probability: tuple[float, ...] = ()
    stop_probability_null: tuple[float, ...] = ()
    expected_women: float = 0.0
    expected_women_null: float = 0.0
    futility_probability: tuple[float, ...] = ()
    futility_probability_null: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The fields as a flat dict (one row of a table)."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """:meth:`as_dict` as a one-row DataFrame."""
        return pd.DataFrame([self.as_dict()])

    def _display_title(self) -> str:
        return f"Exact power ({self.analysis}, {self.alternative} alpha {self.alpha:g})"

    def _display_rows(self) -> list[tuple[str, str]]:
        rows = [
            ("power", f"{self.power:.4f} (exact; at most {self.max_error:.1e} left out)"),
            ("randomised", f"{self.n_control} control, {self.n_treatment} IVIG"),
            ("type-I error", f"{self.type1_error:.4f}"),
            ("live-birth rates", f"control {self.p_control:.1%}, IVIG {self.p_treatment:.1%}"),
            ("dropout", f"{self.dropout:.0%}"),
        ]
        if self.looks > 1:
            rows.append(
                (
                    "expected randomised",
                    f"{self.expected_women:.1f} if IVIG works, {self.expected_women_null:.1f} under H0",
                )
            )
        return rows


def not_covered(scenario: Scenario) -> str | None:
    """Why :func:`exact_power` does not cover the scenario's trial, or None when it does.

    Covered: a fixed design (one look), or a group-sequential one without dropout and with
    permuted blocks, analysed on the count path, chi2, fisher or boschloo (they read only the
    arm totals), or another count analysis (CMH) in one eligible stratum.
    """
    trial = scenario.require_trial()
    if trial.reestimation is not None and (trial.dropout > 0 or trial.analysis not in _REESTIMATION_EXACT):
        return (
            f"{scenario.name}: [trial.reestimation] with trial.dropout == {trial.dropout} and "
            f'trial.analysis == "{trial.analysis}": exact re-estimation enumerates the first stage '
            "without dropout, for an analysis of the arm totals (chi2, fisher, boschloo); use "
            "simulate_power, or --set trial.dropout=0 for the exact answer without dropout."
        )
    if trial.looks > 1 and trial.dropout > 0:
        return (
            f"{scenario.name}: trial.looks == {trial.looks} with trial.dropout == {trial.dropout}: "
            "exact power covers group-sequential designs without dropout only (the recursion "
            "over looks would also carry the analysed women per arm); use simulate_power, or "
            "--set trial.dropout=0 for the exact answer without dropout."
        )
    if trial.looks > 1 and trial.block_size <= 0:
        return (
            f"{scenario.name}: trial.looks == {trial.looks} with simple randomisation "
            "(trial.block_size == 0): the exact recursion over looks covers permuted blocks "
            "(with simple randomisation the treated count takes every value, too many states); "
            "use simulate_power."
        )
    if get_analysis(trial.analysis).path != "counts":
        return (
            f'{scenario.name}: trial.analysis == "{trial.analysis}" reads each woman\'s '
            "covariates (the patient path): exact power is for the count path (chi2, fisher); "
            "use simulate_power for this analysis."
        )
    strata = trial_design(scenario).strata
    if trial.analysis not in _TOTALS_ONLY and len(strata) > 1:
        return (
            f'{scenario.name}: trial.analysis == "{trial.analysis}" over {len(strata)} '
            f"eligible strata ({', '.join(strata)}): exact power covers it in one stratum "
            "only; use simulate_power, or a population of one stratum."
        )
    return None


def exact_applies(scenario: Scenario) -> bool:
    """Whether :func:`exact_power` covers the scenario's trial (see :func:`not_covered`)."""
    return not_covered(scenario) is None


def exact_power(
    scenario: Scenario,
    n_per_arm: int | None = None,
    *,
    tol: float = EXACT_TOLERANCE,
    truth: tuple[float, float] | None = None,
) -> ExactPower:
    """Exact power and type-I error of the scenario's fixed trial at ``n_per_arm``.

    Parameters
    ----------
    scenario : Scenario
        Must have a ``[trial]`` section with a count-path analysis, and one look or no dropout.
    n_per_arm : int, optional
        Randomised control women; default ``trial.n_per_arm``. The treated arm has
        ``ceil(allocation_ratio * n_per_arm)``.
    tol : float, default 1e-12
        Probability that may be left out of each sum (``max_error``).
    truth : (float, float), optional
        True live-birth rates (control, IVIG) to compute at, the design staying the scenario's
        (see :func:`rplsim.simulate_power`).

    A ``[trial.reestimation]`` design (no dropout) is enumerated over its first stage
    (:func:`rplsim.trial.reestimation.exact_reestimation`); ``n_per_arm`` is its planned n
    (default :func:`rplsim.trial.reestimation.planned_n_per_arm`) and ``expected_women`` the
    expected re-estimated total.

    Returns
    -------
    ExactPower

    Raises
    ------
    ScenarioError
        No ``[trial]``, no n (neither given nor ``trial.n_per_arm``), ``trial.looks > 1`` with
        dropout, a patient-path analysis (logistic), or CMH over several eligible strata.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> res = exact_power(load_scenario("scenarios/paper.toml"), n_per_arm=85)
    >>> round(res.power, 4), round(res.type1_error, 4)
    (0.8114, 0.0506)
    """
    trial = scenario.require_trial()
    if n_per_arm is None and trial.reestimation is not None:
        from rplsim.trial.reestimation import planned_n_per_arm  # it imports this module's callers

        why = not_covered(scenario)
        if why is not None:
            raise ScenarioError(why)
        n_per_arm = planned_n_per_arm(scenario)
    if n_per_arm is None:
        if trial.n_per_arm is None:
            raise ScenarioError(
                f"{scenario.name}: trial.n_per_arm is not set and no n_per_arm was given: pass "
                "n_per_arm=..., or find one with find_sample_size(scenario)."
            )
        n_per_arm = trial.n_per_arm
    n_c = check_integer("n_per_arm", n_per_arm, 2)
    why = not_covered(scenario)
    if why is not None:
        raise ScenarioError(why)
    from rplsim.trial.reestimation import exact_reestimation, true_design

    design = true_design(scenario, truth)
    n_t = treatment_size(trial, n_c)
    p_c, p_t, p_0 = design.marginal_rates()
    if trial.reestimation is not None:
        oc = exact_reestimation(scenario, n_c, design)
        treated = np.maximum(
            np.ceil(n_t / n_c * oc.n_values - 1e-9), math.ceil(trial.reestimation.at * n_t - 1e-9)
        )
        mean_t = float(np.dot(oc.n_probabilities, treated))
        assert oc.n_probabilities_null is not None
        total_null = float(np.dot(oc.n_probabilities_null, oc.n_values + treated))
        return _exact_result(
            trial,
            oc,
            n_c,
            n_t,
            (p_c, p_t, p_0),
            analysed_mean=oc.expected_n_control + mean_t,
            analysed_control_mean=oc.expected_n_control,
            analysed_treatment_mean=mean_t,
            stop_probability=(oc.rejection,),
            stop_probability_null=(oc.type1_error,),
            expected_women=oc.expected_n_control + mean_t,
            expected_women_null=total_null,
        )
    if trial.looks > 1:
        return _exact_sequential(scenario, n_c, n_t, p_c, p_t, p_0)
    try:
        res = exact_power_counts(
            p_c,
            p_t,
            n_c,
            n_t,
            analysis=trial.analysis,
            alpha=trial.alpha,
            alternative=trial.alternative,
            margin=trial.margin or 0.0,
            dropout=trial.dropout,
            block_size=trial.block_size,
            p_null=p_0,
            tol=tol,
        )
    except InvalidArgumentError as exc:
        raise ScenarioError(f"{scenario.name}: {exc}") from exc
    return _exact_result(
        trial,
        res,
        n_c,
        n_t,
        (p_c, p_t, p_0),
        analysed_mean=res.analysed_mean,
        analysed_control_mean=res.analysed_control_mean,
        analysed_treatment_mean=res.analysed_treatment_mean,
        stop_probability=(res.rejection,),
        stop_probability_null=(res.type1_error,),
        expected_women=float(n_c + n_t),
        expected_women_null=float(n_c + n_t),
    )


def _exact_result(
    trial: TrialParams, res: Any, n_c: int, n_t: int, rates: tuple[float, float, float], **fields: Any
) -> ExactPower:
    """An :class:`ExactPower` from an enumeration's result ``res`` (its power, rejection, type-I
    error, margin and max_error), the rates the count path draws from (control, treated,
    treated under H0) and the trial's design; ``fields`` are the rest."""
    return ExactPower(
        power=res.power,
        rejection=res.rejection,
        type1_error=res.type1_error,
        n_control=n_c,
        n_treatment=n_t,
        p_control=rates[0],
        p_treatment=rates[1],
        p_null=rates[2],
        analysis=trial.analysis,
        alpha=trial.alpha,
        alternative=trial.alternative,
        margin=res.margin,
        dropout=trial.dropout,
        block_size=trial.block_size,
        method="exact",
        max_error=res.max_error,
        **fields,
    )


def _exact_sequential(
    scenario: Scenario, n_c: int, n_t: int, p_c: float, p_t: float, p_0: float
) -> ExactPower:
    """:func:`exact_power` of a group-sequential design without dropout (the recursion)."""
    trial = scenario.require_trial()
    try:
        res = exact_sequential_counts(
            p_c,
            p_t,
            n_c,
            n_t,
            look_sizes(n_c + n_t, trial.looks).tolist(),
            look_thresholds(trial).tolist(),
            analysis=trial.analysis,
            alternative=trial.alternative,
            margin=trial.margin or 0.0,
            block_size=trial.block_size,
            p_null=p_0,
            futility=futility_levels(trial).tolist(),
        )
    except InvalidArgumentError as exc:
        raise ScenarioError(f"{scenario.name}: {exc}") from exc
    n_total = n_c + n_t
    # Expected treated women among all randomised (the blocks may move the split).
    q = randomised_treated_distribution(n_total, n_t / n_c, trial.block_size)
    treated = float(np.dot(np.arange(q.size), q))
    return _exact_result(
        trial,
        res,
        n_c,
        n_t,
        (p_c, p_t, p_0),
        analysed_mean=float(n_total),
        analysed_control_mean=n_total - treated,
        analysed_treatment_mean=treated,
        looks=trial.looks,
        stop_probability=res.stop_probability,
        stop_probability_null=res.stop_probability_null,
        expected_women=res.expected_women,
        expected_women_null=res.expected_women_null,
        futility_probability=res.futility_probability,
        futility_probability_null=res.futility_probability_null,
    )


def never_reached(
    scenario: Scenario, design: TrialDesign, target: float, n: int, power: float
) -> ScenarioError:
    """The one line of a sample-size search (simulated or exact) that stopped below its target,
    at the largest n it evaluated."""
    trial = scenario.require_trial()
    pc, pt = design.p_control, design.p_treatment
    wrong_way = pt < pc if trial.alternative != "smaller" else pt > pc
    if trial.margin:
        hint = "is the margin too small for these rates?"
    elif wrong_way:
        hint = f"is the treated rate {'below' if pt < pc else 'above'} the control rate?"
    else:
        hint = "is the effect too small for this design?"
    return ScenarioError(
        f"{scenario.name}: power never reaches {target:.2f} (trial.power): at {n:,} per arm it is "
        f"{power:.2f} (control rate {pc:.3f}, treatment {pt:.3f}) — {hint}"
    )


@dataclass(frozen=True, repr=False)
class ExactSampleSize(Displayed):
    """The sample size of a scenario's fixed trial by exact power (count path).

    Attributes
    ----------
    n_per_arm : int
        Smallest randomised control arm whose exact power reaches ``target``.
    n_stays_above : int
        Smallest control arm from which exact power is ``>= target`` for every n up to
        ``floor(1.2 * n_stays_above)`` (equals ``n_per_arm`` when the curve does not dip).
    power, power_at_stays : float
        Exact power at ``n_per_arm`` and at ``n_stays_above``.
    type1_error, type1_error_at_stays : float
        Exact type-I error at the same two sizes.
    n_treatment, n_treatment_at_stays : int
        Randomised treated women (``ceil(allocation_ratio * n)``).
    target : float
        The scenario's ``trial.power``.
    dips : tuple of int
        The n (from ``n_per_arm`` on, within the windows checked) whose power falls below
        target again: the saw-tooth.
    searched_from, searched_to : int
        Exact power was evaluated at every n in this range.
    method : str
        ``"exact"``.

    Examples
    --------
    >>> from rplsim import exact_sample_size, load_scenario
    >>> res = exact_sample_size(load_scenario("scenarios/paper.toml", {"trial": {"treatment_lbr": 0.9}}))
    >>> res.n_per_arm, res.n_stays_above, res.power >= res.target
    (34, 34, True)
    """

    n_per_arm: int
    n_stays_above: int
    power: float
    power_at_stays: float
    type1_error: float
    type1_error_at_stays: float
    n_treatment: int
    n_treatment_at_stays: int
    target: float
    analysis: str
    dips: tuple[int, ...]
    searched_from: int
    searched_to: int
    method: str = "exact"
    max_error: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The fields as a flat dict (one row of a table)."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """:meth:`as_dict` as a one-row DataFrame."""
        return pd.DataFrame([self.as_dict()])

    def _display_title(self) -> str:
        return f"Exact sample size ({self.analysis}, target power {self.target:.0%})"

    def _display_rows(self) -> list[tuple[str, str]]:
        rows = [
            ("n per arm", f"{self.n_per_arm} control, {self.n_treatment} IVIG (randomised)"),
            ("exact power", f"{self.power:.4f}"),
            ("exact type-I error", f"{self.type1_error:.4f}"),
        ]
        if self.n_stays_above != self.n_per_arm:
            rows.append(("power stays above target from", f"{self.n_stays_above} per arm (to +20%)"))
        rows.append(("searched", f"n = {self.searched_from} to {self.searched_to}"))
        return rows


def _above_start(scenario: Scenario, at: Any, start: int, target: float) -> int:
    """The largest n above ``start`` found with exact power still more than
    :data:`STRIDE_POWER_GAP` below target, by doubling steps then bisection.

    First one look at twice the formula's n (at least 50 more): when power there is below
    target and no higher than at ``start`` (it does not grow with n: the treated rate on the
    wrong side), the target is never reached and the one line of :func:`never_reached` is
    raised."""
    p_start = at(start).power
    far = max(2 * start, start + 50)
    try:
        p_far = at(far).power
    except ScenarioError:  # too large to enumerate: the search goes on below it
        p_far = 1.0
    if p_far < target and p_far <= p_start + 0.01:
        raise never_reached(scenario, trial_design(scenario), target, far, p_far)
    lo, step = start, max(1, start // 20)
    while at(lo + step).power < target - STRIDE_POWER_GAP:
        lo += step
        step *= 2
    hi = lo + step
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if at(mid).power < target - STRIDE_POWER_GAP else (lo, mid)
    return lo


def exact_sample_size(scenario: Scenario, *, tol: float = EXACT_TOLERANCE) -> ExactSampleSize:
    """The smallest n per arm reaching ``trial.power`` by exact power, and the smallest from
    which power stays there for every n up to 20% larger.

    The search starts from the normal-approximation n (inflated for dropout), halves it until
    exact power is at least :data:`SEARCH_POWER_GAP` below target, then evaluates exact power at
    every n upward (each call reuses the thresholds of the previous ones, so a point costs a
    few ms).

    Parameters
    ----------
    scenario : Scenario
        A fixed count-path trial, as for :func:`exact_power`; ``trial.n_per_arm`` is ignored.
    tol : float, default 1e-12
        Passed to :func:`exact_power`.

    Returns
    -------
    ExactSampleSize

    Raises
    ------
    ScenarioError
        What :func:`exact_power` refuses, or no n within :data:`MAX_SEARCH_POINTS` points.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> res = exact_sample_size(load_scenario("scenarios/paper.toml"))
    >>> res.n_per_arm, res.n_stays_above, res.searched_from < res.n_per_arm < res.searched_to
    (83, 83, True)
    """
    trial = scenario.require_trial()
    target = float(trial.power)
    cache: dict[int, ExactPower] = {}

    def at(n: int) -> ExactPower:
        if n not in cache:
            if len(cache) >= MAX_SEARCH_POINTS:
                raise ScenarioError(
                    f"{scenario.name}: exact_sample_size evaluated {MAX_SEARCH_POINTS} sizes "
                    f"without reaching trial.power == {target}; use find_sample_size (simulated)."
                )
            cache[n] = exact_power(scenario, n, tol=tol)
        return cache[n]

    try:
        start = max(2, analytic_n_per_arm(scenario))
    except (ScenarioError, InvalidArgumentError, ValueError, ArithmeticError):
        start = 2
    at(start)  # raises for a design exact power does not cover
    low = start
    while low > 2 and at(low).power > target - SEARCH_POWER_GAP:
        low = max(2, low // 2)
    n = low
    # Stride up while power is well below target (saw-tooth dips of exact tests are a few
    # points of power, STRIDE_POWER_GAP is wider), then one n at a time to the first crossing.
    stride = max(1, (start - low) // 20)
    while n + stride <= start and at(n + stride).power < target - STRIDE_POWER_GAP:
        n += stride
    if at(start).power < target - STRIDE_POWER_GAP:
        n = _above_start(scenario, at, start, target)
    while at(n).power < target:
        n += 1
    first = n
    # The smallest c >= first with power >= target on every m in c..floor(1.2 c).
    cand, m, dips = first, first, []
    while m <= cand * 6 // 5:
        if at(m).power < target:
            dips.append(m)
            cand = m + 1
        m += 1
    a, b = at(first), at(cand)
    return ExactSampleSize(
        n_per_arm=first,
        n_stays_above=cand,
        power=a.power,
        power_at_stays=b.power,
        type1_error=a.type1_error,
        type1_error_at_stays=b.type1_error,
        n_treatment=a.n_treatment,
        n_treatment_at_stays=b.n_treatment,
        target=target,
        analysis=trial.analysis,
        dips=tuple(dips),
        searched_from=min(cache),
        searched_to=max(cache),
        method="exact",
        max_error=max(r.max_error for r in cache.values()),
    )


def exact_curve(scenario: Scenario, n: int, exact_n: ExactSampleSize) -> pd.DataFrame:
    """Exact power around the exact n, in the columns of the search's curve.

    From 0.8 n to the end of the saw-tooth window (1.2 x the n from which power stays above
    target), about 13 points plus n itself; ``ci_low == ci_high == power`` (no Monte-Carlo
    error), ``replicates`` 0, ``method`` "exact".
    """
    t = scenario.require_trial()
    design = trial_design(scenario)
    top = max(math.floor(1.2 * exact_n.n_stays_above), n + 2)
    lo = max(2, math.floor(0.8 * n))
    step = max(1, (top - lo) // 12)
    rows = []
    for m in sorted({*range(lo, top + 1, step), n, exact_n.n_stays_above}):
        ex = exact_power(scenario, m)
        keep = 1 - t.dropout
        rows.append(
            {
                "n_per_arm": m,
                "power": ex.power,
                "ci_low": ex.power,
                "ci_high": ex.power,
                "analytic_power": analytic_power(t, design, m * keep, ex.n_treatment / m),
                "replicates": 0,
                "method": "exact",
                "type1_error": ex.type1_error,
            }
        )
    return pd.DataFrame(rows)
