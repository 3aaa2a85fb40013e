"""The scenario's ``[recruitment]`` as a multi-centre recruitment model (issue 17 groundwork).

:func:`scenario_accrual` is the one reading of ``[recruitment]`` that ``rplsim centres``
(:func:`rplsim.find_centres`) and the calendar (:func:`rplsim.trial.calendar.simulate_calendar`)
share; :func:`randomised_share` is the screening funnel of :func:`rplsim.feasibility`.
"""

from __future__ import annotations

from rplsim.design.accrual import Accrual
from rplsim.scenario import Scenario
from rplsim.trial.simulation import trial_design

__all__ = ["randomised_share", "scenario_accrual"]


def randomised_share(scenario: Scenario) -> float:
    """Women randomised per RPL woman seen: the funnel of :func:`rplsim.feasibility`
    (``workup_share x pregnancy_share x eligible share x consent_share``)."""
    rec = scenario.recruitment
    eligible = trial_design(scenario).eligible_share
    return rec.workup_share * rec.pregnancy_share * eligible * rec.consent_share


def scenario_accrual(scenario: Scenario, centres: int | None = None) -> Accrual:
    """The scenario's recruitment model (``centres`` instead of ``recruitment.centres``).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> a = scenario_accrual(load_scenario("scenarios/paper.toml"))
    >>> a.centres, a.rate, round(a.share, 4), a.closed_form
    (1, 70.5, 0.1133, True)
    """
    rec = scenario.recruitment
    return Accrual(
        centres=int(rec.centres if centres is None else centres),
        rate=float(rec.rpl_women_per_centre_year),
        cv=float(rec.centre_rate_cv),
        share=randomised_share(scenario),
        activation=float(rec.activation_months) / 12.0,
        delay=float(rec.months_to_pregnancy) / 12.0,
    )
