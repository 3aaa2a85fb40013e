"""Each pregnancy on a treatment timeline: the SimPy process and its vectorised twin."""

from __future__ import annotations

from rplsim.timeline import simulation as _simulation
from rplsim.timeline import twin as _twin
from rplsim.timeline.simulation import *  # noqa: F403
from rplsim.timeline.twin import *  # noqa: F403

__all__ = [*_simulation.__all__, *_twin.__all__]
