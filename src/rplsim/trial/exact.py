"""Exact power and type-I error of a scenario's fixed trial on the count path.

The scenario's rates are resolved as :func:`rplsim.simulate_power` resolves them (the arm
rates of eligible women, :func:`rplsim.trial_design`), the arm sizes as it sizes them
(``n_treatment = ceil(allocation_ratio * n_per_arm)``), and the count path's randomisation,
dropout and births are summed over exactly by :func:`rplsim.design.exact_power_counts`.
Group-sequential designs (``trial.looks > 1``) are not covered: they raise, pointing to
:func:`rplsim.simulate_power`.

:func:`exact_sample_size` searches n by exact power: the smallest n per arm whose power reaches
the target, and the smallest n from which it stays there for every n up to 20% larger (exact
tests have a saw-tooth power curve, Chernick & Liu 2002, Am Stat 56:149).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rplsim._core.validation import check_integer
from rplsim.design.exact_counts import EXACT_TOLERANCE, exact_power_counts
from rplsim.exceptions import InvalidArgumentError, ScenarioError
from rplsim.scenario import Scenario
from rplsim.stats.registry import get_analysis
from rplsim.trial.formulas import analytic_n_per_arm, treatment_size
from rplsim.trial.simulation import trial_design

__all__ = [
    "ExactPower",
    "ExactSampleSize",
    "exact_applies",
    "exact_power",
    "exact_sample_size",
    "not_covered",
]

# Analyses that read only the arm totals (so several eligible strata change nothing).
_TOTALS_ONLY = ("chi2", "fisher")
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


@dataclass(frozen=True)
class ExactPower:
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

    def as_dict(self) -> dict[str, Any]:
        """The fields as a flat dict (one row of a table)."""
        return asdict(self)


def not_covered(scenario: Scenario) -> str | None:
    """Why :func:`exact_power` does not cover the scenario's trial, or None when it does.

    Covered: a fixed design (one look) analysed on the count path, chi2 or fisher (they read
    only the arm totals), or another count analysis (CMH) in one eligible stratum.
    """
    trial = scenario.require_trial()
    if trial.looks > 1:
        return (
            f"{scenario.name}: trial.looks == {trial.looks}: exact power covers fixed designs "
            "(one look) only; use simulate_power for a group-sequential design."
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
    scenario: Scenario, n_per_arm: int | None = None, *, tol: float = EXACT_TOLERANCE
) -> ExactPower:
    """Exact power and type-I error of the scenario's fixed trial at ``n_per_arm``.

    Parameters
    ----------
    scenario : Scenario
        Must have a ``[trial]`` section with one look and a count-path analysis.
    n_per_arm : int, optional
        Randomised control women; default ``trial.n_per_arm``. The treated arm has
        ``ceil(allocation_ratio * n_per_arm)``.
    tol : float, default 1e-12
        Probability that may be left out of each sum (``max_error``).

    Returns
    -------
    ExactPower

    Raises
    ------
    ScenarioError
        No ``[trial]``, no n (neither given nor ``trial.n_per_arm``), ``trial.looks > 1``, a
        patient-path analysis (logistic), or CMH over several eligible strata.

    Examples
    --------
    >>> res = exact_power(load_scenario("scenarios/paper.toml"), n_per_arm=85)  # doctest: +SKIP
    >>> round(res.power, 4), round(res.type1_error, 4)  # doctest: +SKIP
    """
    trial = scenario.require_trial()
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
    design = trial_design(scenario)
    n_t = treatment_size(trial, n_c)
    w = design.stratum_weights
    # The rates the count path draws from: each arm's births are binomial at the stratum
    # rates averaged over the stratum shares.
    p_c = float(np.dot(w, design.stratum_rates[0]))
    p_t = float(np.dot(w, design.stratum_rates[1]))
    null = design.stratum_rates[0] if design.stratum_rates_null is None else design.stratum_rates_null
    p_0 = float(np.dot(w, null))
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
    return ExactPower(
        power=res.power,
        rejection=res.rejection,
        type1_error=res.type1_error,
        n_control=n_c,
        n_treatment=n_t,
        analysed_mean=res.analysed_mean,
        analysed_control_mean=res.analysed_control_mean,
        analysed_treatment_mean=res.analysed_treatment_mean,
        p_control=p_c,
        p_treatment=p_t,
        p_null=p_0,
        analysis=trial.analysis,
        alpha=trial.alpha,
        alternative=trial.alternative,
        margin=res.margin,
        dropout=trial.dropout,
        block_size=trial.block_size,
        method="exact",
        max_error=res.max_error,
    )


@dataclass(frozen=True)
class ExactSampleSize:
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
    >>> res = exact_sample_size(load_scenario("scenarios/paper.toml"))  # doctest: +SKIP
    >>> res.n_per_arm, res.n_stays_above  # doctest: +SKIP
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
