"""Planning answers built on the trial: feasibility, sensitivity and every stage of a run."""

from __future__ import annotations

from rplsim.planning import feasibility as _feasibility
from rplsim.planning import sensitivity as _sensitivity
from rplsim.planning import stages as _stages
from rplsim.planning.feasibility import *  # noqa: F403
from rplsim.planning.sensitivity import *  # noqa: F403
from rplsim.planning.stages import *  # noqa: F403

__all__ = [*_feasibility.__all__, *_sensitivity.__all__, *_stages.__all__]
