"""Hypothesis strategies for rplsim scenarios (public as ``rplsim.strategies``)."""

from __future__ import annotations

from rplsim.testing import strategies as _strategies
from rplsim.testing.strategies import *  # noqa: F403

__all__ = [*_strategies.__all__]
