"""rplsim: recurrent-pregnancy-loss cohorts, IVIG timelines and trial power from Han et al. 2025.

The public API is flat: everything a user needs is importable from ``rplsim``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .calibration import calibrate
from .cohort import COLUMNS, generate_cohort
from .exceptions import (
    CalibrationError,
    CalibrationWarning,
    ConvergenceError,
    ResultsExistError,
    RplsimError,
    ScenarioError,
)
from .paper import CONFLICTS, paper_funnel
from .rng import check_random_state
from .scenario import STRATA, Scenario, load_scenario, scenario_from_dict

__all__ = [
    "COLUMNS",
    "CONFLICTS",
    "STRATA",
    "CalibrationError",
    "CalibrationWarning",
    "ConvergenceError",
    "ResultsExistError",
    "RplsimError",
    "Scenario",
    "ScenarioError",
    "__version__",
    "calibrate",
    "check_random_state",
    "generate_cohort",
    "load_scenario",
    "paper_funnel",
    "scenario_from_dict",
]
