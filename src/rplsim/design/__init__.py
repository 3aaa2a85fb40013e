"""Analytic sample size and power, group-sequential boundaries (no scenario knowledge)."""

from __future__ import annotations

from rplsim.design import analytic as _analytic
from rplsim.design import sequential as _sequential
from rplsim.design.analytic import *  # noqa: F403
from rplsim.design.sequential import *  # noqa: F403

__all__ = [*_analytic.__all__, *_sequential.__all__]
