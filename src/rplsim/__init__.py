"""rplsim: recurrent-pregnancy-loss cohorts, IVIG timelines and trial power from Han et al. 2025.

The public API is flat: everything a user needs is importable from ``rplsim``.
"""

from __future__ import annotations

from rplsim import _compat
from rplsim._core.rng import check_random_state
from rplsim.calibration.compare import calibrate
from rplsim.cohort.generate import COLUMNS, generate_cohort
from rplsim.design.analytic import SampleSize, power_two_proportions, sample_size
from rplsim.design.sequential import SequentialDesign, group_sequential_design
from rplsim.exceptions import (
    CalibrationError,
    CalibrationWarning,
    ConvergenceError,
    InvalidArgumentError,
    ResultsExistError,
    RplsimError,
    ScenarioError,
)
from rplsim.outcome.model import live_birth_probability, outcome_model
from rplsim.paper import CONFLICTS, paper_funnel
from rplsim.planning.feasibility import Feasibility, feasibility
from rplsim.planning.sensitivity import sensitivity_grid
from rplsim.planning.stages import RunResult, TrialStage, run_stages, size_trial
from rplsim.scenario import STRATA, Scenario, load_scenario, scenario_from_dict
from rplsim.timeline import TimelineResult, simulate_timeline, simulate_twin
from rplsim.trial.power import PowerResult, find_sample_size, simulate_power
from rplsim.trial.simulation import trial_design

__version__ = "0.1.0"

# Old flat module paths (rplsim.power, rplsim.analytic, ...) keep working for this release.
_compat.install()

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
    "RunResult",
    "SampleSize",
    "Scenario",
    "ScenarioError",
    "SequentialDesign",
    "TimelineResult",
    "TrialStage",
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
    "run_stages",
    "sample_size",
    "scenario_from_dict",
    "sensitivity_grid",
    "simulate_power",
    "simulate_timeline",
    "simulate_twin",
    "size_trial",
    "trial_design",
    "write_run",
]


def __getattr__(name: str) -> object:
    # write_run is loaded on first use: rplsim.outputs loads matplotlib, which `import rplsim`
    # (and `rplsim --version`) does not need.
    if name == "write_run":
        from rplsim.outputs.write import write_run

        return write_run
    raise AttributeError(f"module 'rplsim' has no attribute {name!r}")
