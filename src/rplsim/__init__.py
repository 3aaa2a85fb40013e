"""rplsim: recurrent-pregnancy-loss cohorts, IVIG timelines and trial power from Han et al. 2025.

The public API is flat: everything a user needs is importable from ``rplsim``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .analytic import SampleSize, power_two_proportions, sample_size
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
from .feasibility import Feasibility, feasibility
from .outcome import live_birth_probability, outcome_model
from .paper import CONFLICTS, paper_funnel
from .power import PowerResult, find_sample_size, simulate_power
from .rng import check_random_state
from .scenario import STRATA, Scenario, load_scenario, scenario_from_dict
from .sensitivity import sensitivity_grid
from .sequential import SequentialDesign, group_sequential_design
from .timeline import TimelineResult, simulate_timeline, simulate_twin
from .trial import trial_design

__all__ = [
    "COLUMNS",
    "CONFLICTS",
    "STRATA",
    "CalibrationError",
    "CalibrationWarning",
    "ConvergenceError",
    "Feasibility",
    "PowerResult",
    "ResultsExistError",
    "RplsimError",
    "SampleSize",
    "Scenario",
    "ScenarioError",
    "SequentialDesign",
    "TimelineResult",
    "__version__",
    "calibrate",
    "check_random_state",
    "feasibility",
    "find_sample_size",
    "generate_cohort",
    "group_sequential_design",
    "live_birth_probability",
    "load_scenario",
    "outcome_model",
    "paper_funnel",
    "power_two_proportions",
    "sample_size",
    "scenario_from_dict",
    "sensitivity_grid",
    "simulate_power",
    "simulate_timeline",
    "simulate_twin",
    "trial_design",
]
