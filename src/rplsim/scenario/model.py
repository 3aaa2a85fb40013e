"""The whole scenario: one frozen, validated :class:`Scenario` and its cross-section rules.

A scenario file is data (TOML); :mod:`rplsim.scenario.load` reads, resolves and validates it into
this model. The sections are declared in :mod:`rplsim.scenario.cohort_params` and
:mod:`rplsim.scenario.params`.
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
from rplsim.scenario.params import ClinicParams, OutcomeParams, ProtocolParams, ScenarioMeta
from rplsim.scenario.schema import param, to_dict
from rplsim.scenario.trial_params import RecruitmentParams, SensitivityParams, SweepParams, TrialParams

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
    """

    scenario: ScenarioMeta = param(doc="what the file is")
    cohort: CohortParams = param(CohortParams(), doc="the women")
    outcome: OutcomeParams = param(OutcomeParams(), doc="the live-birth model")
    protocol: ProtocolParams = param(ProtocolParams(), doc="the treatment timeline")
    clinic: ClinicParams = param(ClinicParams(), doc="calendar and capacity")
    trial: TrialParams | None = param(None, doc="a prospective trial to size")
    recruitment: RecruitmentParams = param(RecruitmentParams(), doc="trial feasibility")
    sensitivity: SensitivityParams | None = param(None, doc="a grid of assumptions")
    sweep: SweepParams | None = param(None, doc="a grid of scenarios for `rplsim sweep`")

    def _rules(self) -> list[str]:
        out = []
        if not NAME_PATTERN.fullmatch(self.scenario.name):
            shown = self.scenario.name[:40].encode("unicode_escape").decode("ascii")
            out.append(
                f'scenario.name == "{shown}"{"..." if len(self.scenario.name) > 40 else ""}, '
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
