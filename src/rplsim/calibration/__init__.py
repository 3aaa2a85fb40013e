"""Calibration: the paper's targets per table and the comparison with a synthetic cohort."""

from __future__ import annotations

from rplsim.calibration import compare as _compare
from rplsim.calibration.compare import *  # noqa: F403

__all__ = [*_compare.__all__]
