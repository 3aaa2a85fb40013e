"""Pure drawing: every figure of rplsim from plain DataFrames, arrays and values.

This layer knows no scenario and no trial object (so a result's ``plot()`` can call it); it
imports only matplotlib (never pyplot), numpy, pandas, :mod:`rplsim.paper` and :mod:`rplsim._core`.
Save a figure with :func:`save_figure` (PNG at 200 dpi, SVG, PDF; the same bytes each time).
"""

from __future__ import annotations

from rplsim.figures import assurance as _assurance
from rplsim.figures import base as _base
from rplsim.figures import calendar as _calendar
from rplsim.figures import calibration as _calibration
from rplsim.figures import cohort as _cohort
from rplsim.figures import flow as _flow
from rplsim.figures import power as _power
from rplsim.figures import sensitivity as _sensitivity
from rplsim.figures.assurance import *  # noqa: F403
from rplsim.figures.base import *  # noqa: F403
from rplsim.figures.calendar import *  # noqa: F403
from rplsim.figures.calibration import *  # noqa: F403
from rplsim.figures.cohort import *  # noqa: F403
from rplsim.figures.flow import *  # noqa: F403
from rplsim.figures.power import *  # noqa: F403
from rplsim.figures.sensitivity import *  # noqa: F403

__all__ = [
    *_assurance.__all__,
    *_base.__all__,
    *_calendar.__all__,
    *_calibration.__all__,
    *_cohort.__all__,
    *_flow.__all__,
    *_power.__all__,
    *_sensitivity.__all__,
]
