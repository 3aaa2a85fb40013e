"""rplsim: recurrent-pregnancy-loss cohorts, IVIG timelines and trial power from Han et al. 2025.

The public API is flat: everything a user needs is importable from ``rplsim``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from rplsim import _compat

_compat.install()

from rplsim.design.analytic import SampleSize, power_two_proportions, sample_size
from rplsim.calibration.compare import calibrate
from rplsim.cohort.generate import COLUMNS, generate_cohort
from rplsim.exceptions import (
    CalibrationError,
    CalibrationWarning,
    ConvergenceError,
    InvalidArgumentError,
    ResultsExistError,
    RplsimError,
    ScenarioError,
)
from rplsim.planning.feasibility import Feasibility, feasibility
from rplsim.outcome.model import live_birth_probability, outcome_model
from rplsim.paper import CONFLICTS, paper_funnel
from rplsim.trial.power import PowerResult, find_sample_size, simulate_power
from rplsim._core.rng import check_random_state
from rplsim.scenario.model import STRATA, Scenario, load_scenario, scenario_from_dict
from rplsim.planning.sensitivity import sensitivity_grid
from rplsim.design.sequential import SequentialDesign, group_sequential_design
from rplsim.timeline.simulation import TimelineResult, simulate_timeline, simulate_twin
from rplsim.trial.simulation import trial_design

__all__ = [
    "COLUMNS",
    "CONFLICTS",
    "STRATA",
    "CalibrationError",
    "CalibrationWarning",
    "ConvergenceError",
    "Feasibility",
    "InvalidArgumentError",
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
