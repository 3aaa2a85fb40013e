"""The randomised trial: arms, randomisation, block simulation, simulated power and the n search."""

from __future__ import annotations

from rplsim.trial import power as _power
from rplsim.trial import simulation as _simulation
from rplsim.trial.power import *  # noqa: F403
from rplsim.trial.simulation import *  # noqa: F403

__all__ = [*_power.__all__, *_simulation.__all__]
