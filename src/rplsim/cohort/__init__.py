"""Synthetic RPL cohorts calibrated to Table 1: marginal laws, the solved model, the generator."""

from __future__ import annotations

from rplsim.cohort import codebook as _codebook
from rplsim.cohort import distributions as _distributions
from rplsim.cohort import generate as _generate
from rplsim.cohort import model as _model
from rplsim.cohort.codebook import *  # noqa: F403
from rplsim.cohort.distributions import *  # noqa: F403
from rplsim.cohort.generate import *  # noqa: F403
from rplsim.cohort.model import *  # noqa: F403

__all__ = list(
    dict.fromkeys([*_codebook.__all__, *_distributions.__all__, *_model.__all__, *_generate.__all__])
)
