"""Planning answers built on the trial: feasibility and sensitivity."""

from __future__ import annotations

from rplsim.planning import feasibility as _feasibility
from rplsim.planning import sensitivity as _sensitivity
from rplsim.planning.feasibility import *  # noqa: F403
from rplsim.planning.sensitivity import *  # noqa: F403

__all__ = [*_feasibility.__all__, *_sensitivity.__all__]
