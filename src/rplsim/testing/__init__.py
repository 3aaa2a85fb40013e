"""Hypothesis strategies for rplsim scenarios (public as ``rplsim.strategies``)."""

from __future__ import annotations

from rplsim.testing import invalid as _invalid
from rplsim.testing import perturb as _perturb
from rplsim.testing import strategies as _strategies
from rplsim.testing.invalid import *  # noqa: F403
from rplsim.testing.perturb import *  # noqa: F403
from rplsim.testing.strategies import *  # noqa: F403

__all__ = [*_invalid.__all__, *_perturb.__all__, *_strategies.__all__]
