"""Calibration: the paper's targets per table and the comparison with a synthetic cohort."""

from __future__ import annotations

from rplsim.calibration import cohort_targets as _cohort_targets
from rplsim.calibration import compare as _compare
from rplsim.calibration import outcome_targets as _outcome_targets
from rplsim.calibration import rows as _rows
from rplsim.calibration.cohort_targets import *  # noqa: F403
from rplsim.calibration.compare import *  # noqa: F403
from rplsim.calibration.outcome_targets import *  # noqa: F403
from rplsim.calibration.rows import *  # noqa: F403

__all__ = [
    *_rows.__all__,
    *_cohort_targets.__all__,
    *_outcome_targets.__all__,
    *[n for n in _compare.__all__ if n not in _rows.__all__],
]
