"""Exact power and type-I error of a scenario's fixed trial on the count path.

The scenario's rates are resolved as :func:`rplsim.simulate_power` resolves them (the arm
rates of eligible women, :func:`rplsim.trial_design`), the arm sizes as it sizes them
(``n_treatment = ceil(allocation_ratio * n_per_arm)``), and the count path's randomisation,
dropout and births are summed over exactly by :func:`rplsim.design.exact_power_counts`.
Group-sequential designs (``trial.looks > 1``) are not covered: they raise, pointing to
:func:`rplsim.simulate_power`.
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
from rplsim.trial.formulas import treatment_size
from rplsim.trial.simulation import trial_design

__all__ = ["ExactPower", "exact_power"]

# Analyses that read only the arm totals (so several eligible strata change nothing).
_TOTALS_ONLY = ("chi2", "fisher")


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
    if trial.looks > 1:
        raise ScenarioError(
            f"{scenario.name}: trial.looks == {trial.looks}: exact power covers fixed designs "
            "(one look) only; use simulate_power for a group-sequential design."
        )
    entry = get_analysis(trial.analysis)
    if entry.path != "counts":
        raise ScenarioError(
            f'{scenario.name}: trial.analysis == "{trial.analysis}" reads each woman\'s '
            "covariates (the patient path): exact power is for the count path (chi2, fisher); "
            "use simulate_power for this analysis."
        )
    design = trial_design(scenario)
    if trial.analysis not in _TOTALS_ONLY and len(design.strata) > 1:
        raise ScenarioError(
            f'{scenario.name}: trial.analysis == "{trial.analysis}" over {len(design.strata)} '
            f"eligible strata ({', '.join(design.strata)}): exact power covers it in one stratum "
            "only; use simulate_power, or a population of one stratum."
        )
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
