"""The whole scenario: one frozen, validated :class:`Scenario` and its cross-section rules.

A scenario file is data (TOML); :mod:`rplsim.scenario.load` reads, resolves and validates it into
this model. The sections are declared in :mod:`rplsim.scenario.cohort_params`,
:mod:`rplsim.scenario.params`, :mod:`rplsim.scenario.trial_params` and
:mod:`rplsim.scenario.prior_params`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from rplsim.exceptions import ScenarioError
from rplsim.scenario.cohort_params import CohortParams
from rplsim.scenario.fit_params import FitParams
from rplsim.scenario.params import ClinicParams, OutcomeParams, ProtocolParams, ScenarioMeta
from rplsim.scenario.prior_params import PriorParams
from rplsim.scenario.schema import param, to_dict
from rplsim.scenario.tomlio import echo_value
from rplsim.scenario.trial_params import (
    POPULATION_STRATA,
    RecruitmentParams,
    SensitivityParams,
    SweepParams,
    TrialParams,
)

__all__ = ["NAME_PATTERN", "NO_TRIAL", "Scenario"]

#: A scenario name is one path component (the default results folder is results/<name>/): no
#: separators, no "." or "..", no control characters, at most 64 characters.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

#: The one message of a scenario that needs a ``[trial]`` section and has none.
NO_TRIAL = (
    "has no [trial] section, so there is no trial to size or simulate; copy one from "
    "scenarios/trial_superiority.toml."
)


# ----------------------------------------------------------------------------- the scenario
@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A whole, validated scenario. Build it with :func:`load_scenario`.

    Attributes
    ----------
    path : str
        The file it came from ("" for a scenario built in code).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> sc = load_scenario("scenarios/paper.toml")
    >>> sc.name, sc.cohort.n, sc.trial.control_lbr
    ('paper', 466, 0.6)
    >>> sc.replace(trial=None).trial is None
    True
    """

    scenario: ScenarioMeta = param(doc="what the file is")
    cohort: CohortParams = param(CohortParams(), doc="the women")
    outcome: OutcomeParams = param(OutcomeParams(), doc="the live-birth model")
    protocol: ProtocolParams = param(ProtocolParams(), doc="the treatment timeline")
    clinic: ClinicParams = param(ClinicParams(), doc="calendar and capacity")
    trial: TrialParams | None = param(None, doc="a prospective trial to size")
    recruitment: RecruitmentParams = param(RecruitmentParams(), doc="trial feasibility")
    sensitivity: SensitivityParams | None = param(None, doc="a grid of assumptions")
    prior: PriorParams | None = param(None, doc="priors on the unknown rates, for assurance")
    sweep: SweepParams | None = param(None, doc="a grid of scenarios for `rplsim sweep`")
    fit: FitParams | None = param(None, doc="the keys `rplsim fit` frees, and their bounds")

    def _rules(self) -> list[str]:
        out = []
        if not NAME_PATTERN.fullmatch(self.scenario.name):
            out.append(
                f"scenario.name == {echo_value(self.scenario.name)}, "
                "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit: "
                "it names the results folder results/<name>/."
            )
        if self.outcome.miscarriage_week.min < self.protocol.confirmation_week.max:
            out.append(
                f"outcome.miscarriage_week.min == {self.outcome.miscarriage_week.min}, "
                f"must be >= protocol.confirmation_week.max "
                f"({self.protocol.confirmation_week.max}): a clinical miscarriage comes "
                "after confirmation (earlier losses are chemical pregnancies)."
            )
        span = self.protocol.ivig_last_week - self.protocol.ivf_first_dose_week
        if self.protocol.ivig_interval.min * 15 < span:
            out.append(
                f"protocol.ivig_interval.min == {self.protocol.ivig_interval.min}, must be "
                f">= {span / 15:.2f} weeks: a woman has at most 16 infusions to week "
                f"{self.protocol.ivig_last_week} (the protocol says every 3-4 weeks)."
            )
        if self.trial is not None:
            out += _population_rules(self.trial, self.cohort) + _success_rules(self.trial)
        elif self.prior is not None:
            out.append(
                "[prior] gives priors on the trial's rates but the scenario has no [trial] section; "
                "add one (copy it from scenarios/trial_superiority.toml), or leave [prior] out."
            )
        return out

    @property
    def name(self) -> str:
        """The scenario's short name."""
        return self.scenario.name

    @property
    def seed(self) -> int:
        """The root seed."""
        return self.scenario.seed

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as a TOML-ready dict (no ``extends``)."""
        out: dict[str, Any] = to_dict(self)
        return out

    def digest(self) -> str:
        """sha256 of the resolved scenario (canonical JSON): equal scenarios, equal digests."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def require_trial(self) -> TrialParams:
        """The ``[trial]`` section, for the stages that size or simulate a trial.

        Raises
        ------
        ScenarioError
            ``<name>: has no [trial] section, ...`` (:data:`NO_TRIAL`) when there is none.

        Examples
        --------
        >>> Scenario(scenario=ScenarioMeta(name="x")).require_trial()  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        rplsim.exceptions.ScenarioError: x: has no [trial] section, so there is no trial to size ...
        """
        if self.trial is None:
            raise ScenarioError(f"{self.name}: {NO_TRIAL}")
        return self.trial

    def replace(self, **sections: Any) -> Scenario:
        """A copy with whole sections replaced (sections are frozen dataclasses)."""
        return dataclasses.replace(self, **sections)


# ----------------------------------------------------------------------------- trial rules
def _population_rules(trial: TrialParams, cohort: CohortParams) -> list[str]:
    """A trial whose population holds no woman: every eligible stratum empty or too few losses."""
    strata = POPULATION_STRATA[trial.population]
    mm = trial.min_previous_miscarriages
    empty = [s for s in strata if getattr(cohort.strata, s) <= 0]
    few = [s for s in strata if s not in empty and getattr(cohort.previous_miscarriages, s).max < mm]
    if len(empty) + len(few) < len(strata):
        return []
    pop = echo_value(trial.population)
    if not few:
        shares = " and ".join(f"cohort.strata.{s} == 0" for s in empty)
        return [
            f"trial.population == {pop} has no eligible women: {shares}; give "
            f"{' or '.join(empty)} a positive share, or choose another trial.population."
        ]
    reasons = [f"cohort.strata.{s} == 0" for s in empty] + [
        f"cohort.previous_miscarriages.{s}.max == {getattr(cohort.previous_miscarriages, s).max:g}"
        for s in few
    ]
    most = max(getattr(cohort.previous_miscarriages, s).max for s in few)
    return [
        f"trial.min_previous_miscarriages == {mm} leaves trial.population == {pop} no eligible "
        f"women ({', '.join(reasons)}); lower it to at most {int(most)}, or choose another "
        "trial.population."
    ]


def _success_rules(trial: TrialParams) -> list[str]:
    """Designs that can never reach their power: the effect is nil or points the wrong way."""
    power = f"trial.power == {echo_value(trial.power)}"
    pc = trial.control_lbr
    if trial.design == "non-inferiority":
        if trial.margin is None:
            return []
        if trial.margin >= pc:
            return [
                f"trial.margin == {echo_value(trial.margin)} is not below trial.control_lbr == "
                f"{echo_value(pc)}: the non-inferiority bound control_lbr - margin must be a "
                "live-birth rate above 0; choose a smaller margin."
            ]
        bound = pc - trial.margin
        pt = trial.treatment_lbr
        # With ivig_odds_ratio the treated rate needs the outcome model: checked when sized.
        if pt is not None and pt <= bound:
            return [
                f"trial.treatment_lbr == {echo_value(pt)} is at or below trial.control_lbr - "
                f"trial.margin == {bound:.6g}: IVIG is then inferior by the margin or more, so a "
                f"non-inferiority trial can never reach {power} (its power stays at or below "
                "trial.alpha); raise treatment_lbr above the bound or widen the margin."
            ]
        return []
    up = trial.alternative != "smaller"
    better, worse = ("above", "below") if up else ("below", "above")
    aim = "IVIG's benefit" if up else 'a lower rate on IVIG (alternative == "smaller")'
    fix = (
        "give IVIG a live-birth rate above control"
        if up
        else 'give IVIG a rate below control, or alternative = "larger"'
    )
    if trial.treatment_lbr is not None:
        pt = trial.treatment_lbr
        what = f"trial.treatment_lbr == {echo_value(pt)}"
        ctrl = f"trial.control_lbr == {echo_value(pc)}"
        if pt == pc:
            return [
                f"{what} equals {ctrl}: with no effect to detect, power stays at trial.alpha, so a "
                f"superiority trial can never reach {power}; {fix} (or a non-inferiority design "
                "with a margin)."
            ]
        if (pt < pc) == up:
            return [
                f"{what} is {worse} {ctrl}: a superiority trial aimed at {aim} can never reach "
                f"{power} (power counts rejections in that direction only); {fix}, or swap the "
                "two rates if they were meant the other way."
            ]
        return []
    ratio = trial.ivig_odds_ratio
    if ratio is None:
        return []
    what = f"trial.ivig_odds_ratio == {echo_value(ratio)}"
    if ratio == 1:
        return [
            f"{what} means no effect (the treated rate equals trial.control_lbr): power stays at "
            f"trial.alpha, so a superiority trial can never reach {power}; give an odds ratio "
            f"{better} 1 (or a non-inferiority design with a margin)."
        ]
    if (ratio < 1) == up:
        return [
            f"{what} is {worse} 1, so the treated rate is {worse} trial.control_lbr: a "
            f"superiority trial aimed at {aim} can never reach {power}; give an odds ratio "
            f"{better} 1."
        ]
    return []
