"""Synthetic RPL cohorts calibrated to Table 1: marginal laws and the block generator."""

from __future__ import annotations

from rplsim.cohort import distributions as _distributions
from rplsim.cohort import generate as _generate
from rplsim.cohort.distributions import *  # noqa: F403
from rplsim.cohort.generate import *  # noqa: F403

__all__ = [*_distributions.__all__, *_generate.__all__]
