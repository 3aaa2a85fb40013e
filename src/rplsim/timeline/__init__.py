"""Each pregnancy on a treatment timeline: the SimPy process and its vectorised twin."""

from __future__ import annotations

from rplsim.timeline import simulation as _simulation
from rplsim.timeline.simulation import *  # noqa: F403

__all__ = [*_simulation.__all__]
