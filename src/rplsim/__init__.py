"""rplsim: recurrent-pregnancy-loss cohorts, IVIG timelines and trial power from Han et al. 2025.

The public API is flat: everything a user needs is importable from ``rplsim``. The names are
loaded on first use (PEP 562), so ``import rplsim`` — and the command line's first instant, when
a Ctrl-C must still be answered in one line — does not wait for numpy, pandas and scipy.
"""

from __future__ import annotations

import importlib

from rplsim import _compat
from rplsim.exceptions import (
    CalibrationError,
    CalibrationWarning,
    ConvergenceError,
    InvalidArgumentError,
    ResultsExistError,
    RplsimError,
    ScenarioError,
)

# Not typing.TYPE_CHECKING: importing typing would cost the command line's first instant ~10 ms
# (type checkers treat any name TYPE_CHECKING as true).
TYPE_CHECKING = False
if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from rplsim._core.rng import check_random_state
    from rplsim.calibration.compare import calibrate
    from rplsim.calibration.fit import FitResult, fit
    from rplsim.calibration.targets_file import evaluate_targets, load_targets
    from rplsim.cohort.generate import COLUMNS, generate_cohort
    from rplsim.design.analytic import SampleSize, power_two_proportions, sample_size
    from rplsim.design.exact_counts import exact_power_counts
    from rplsim.design.exact_sequential import exact_sequential_counts
    from rplsim.design.sequential import SequentialDesign, group_sequential_design
    from rplsim.outcome.model import live_birth_probability, outcome_model
    from rplsim.outputs.write import write_run
    from rplsim.paper import CONFLICTS, paper_funnel
    from rplsim.planning.centres import CentresAnswer, find_centres
    from rplsim.planning.feasibility import Feasibility, feasibility
    from rplsim.planning.protocol import ProtocolSummary, protocol_summary
    from rplsim.planning.sensitivity import sensitivity_grid
    from rplsim.planning.stages import RunResult, TrialStage, run_stages, size_trial
    from rplsim.planning.tornado import assumption_ranges
    from rplsim.scenario import STRATA, Scenario, load_scenario, scenario_from_dict
    from rplsim.sweep.compare import compare_designs
    from rplsim.timeline import TimelineResult, simulate_timeline, simulate_twin
    from rplsim.trial.assurance import AssuranceResult, assurance, assurance_curve
    from rplsim.trial.calendar import CalendarResult, simulate_calendar
    from rplsim.trial.curve import PowerCurve, power_curve
    from rplsim.trial.exact import ExactPower, ExactSampleSize, exact_power, exact_sample_size
    from rplsim.trial.power import PowerResult, find_sample_size, simulate_power
    from rplsim.trial.simulation import trial_design
    from rplsim.trial.solve import Solution, solve

__version__ = "0.1.0"

# Old flat module paths (rplsim.power, rplsim.analytic, ...) keep working for this release.
_compat.install()


class _Package(type(_compat)):  # type: ignore[misc]
    """rplsim's module type: an old flat path imported as a module (``import rplsim.feasibility``,
    :mod:`rplsim._compat`) is bound on the package by the import system; where the flat API has
    a function of that name, the function stays (else ``rplsim.feasibility(...)`` would call a
    module, depending on which test or script imported the old path first)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _LAZY and isinstance(value, type(_compat)):
            return
        super().__setattr__(name, value)


#: each lazy public name -> the module it is loaded from
_LAZY: dict[str, str] = {
    "FitResult": "rplsim.calibration.fit",
    "fit": "rplsim.calibration.fit",
    "evaluate_targets": "rplsim.calibration.targets_file",
    "load_targets": "rplsim.calibration.targets_file",
    "check_random_state": "rplsim._core.rng",
    "calibrate": "rplsim.calibration.compare",
    "COLUMNS": "rplsim.cohort.generate",
    "generate_cohort": "rplsim.cohort.generate",
    "SampleSize": "rplsim.design.analytic",
    "power_two_proportions": "rplsim.design.analytic",
    "sample_size": "rplsim.design.analytic",
    "exact_power_counts": "rplsim.design.exact_counts",
    "exact_sequential_counts": "rplsim.design.exact_sequential",
    "SequentialDesign": "rplsim.design.sequential",
    "group_sequential_design": "rplsim.design.sequential",
    "live_birth_probability": "rplsim.outcome.model",
    "outcome_model": "rplsim.outcome.model",
    "write_run": "rplsim.outputs.write",
    "CONFLICTS": "rplsim.paper",
    "paper_funnel": "rplsim.paper",
    "CentresAnswer": "rplsim.planning.centres",
    "find_centres": "rplsim.planning.centres",
    "Feasibility": "rplsim.planning.feasibility",
    "feasibility": "rplsim.planning.feasibility",
    "sensitivity_grid": "rplsim.planning.sensitivity",
    "ProtocolSummary": "rplsim.planning.protocol",
    "protocol_summary": "rplsim.planning.protocol",
    "assumption_ranges": "rplsim.planning.tornado",
    "RunResult": "rplsim.planning.stages",
    "TrialStage": "rplsim.planning.stages",
    "run_stages": "rplsim.planning.stages",
    "size_trial": "rplsim.planning.stages",
    "STRATA": "rplsim.scenario",
    "Scenario": "rplsim.scenario",
    "load_scenario": "rplsim.scenario",
    "scenario_from_dict": "rplsim.scenario",
    "compare_designs": "rplsim.sweep.compare",
    "TimelineResult": "rplsim.timeline",
    "simulate_timeline": "rplsim.timeline",
    "simulate_twin": "rplsim.timeline",
    "CalendarResult": "rplsim.trial.calendar",
    "simulate_calendar": "rplsim.trial.calendar",
    "PowerCurve": "rplsim.trial.curve",
    "power_curve": "rplsim.trial.curve",
    "ExactPower": "rplsim.trial.exact",
    "ExactSampleSize": "rplsim.trial.exact",
    "exact_power": "rplsim.trial.exact",
    "exact_sample_size": "rplsim.trial.exact",
    "PowerResult": "rplsim.trial.power",
    "find_sample_size": "rplsim.trial.power",
    "simulate_power": "rplsim.trial.power",
    "trial_design": "rplsim.trial.simulation",
    "Solution": "rplsim.trial.solve",
    "solve": "rplsim.trial.solve",
    "AssuranceResult": "rplsim.trial.assurance",
    "assurance": "rplsim.trial.assurance",
    "assurance_curve": "rplsim.trial.assurance",
}

__all__ = [
    "COLUMNS",
    "CONFLICTS",
    "STRATA",
    "AssuranceResult",
    "CalendarResult",
    "CalibrationError",
    "CalibrationWarning",
    "CentresAnswer",
    "ConvergenceError",
    "ExactPower",
    "ExactSampleSize",
    "Feasibility",
    "FitResult",
    "InvalidArgumentError",
    "PowerCurve",
    "PowerResult",
    "ProtocolSummary",
    "ResultsExistError",
    "RplsimError",
    "RunResult",
    "SampleSize",
    "Scenario",
    "ScenarioError",
    "SequentialDesign",
    "Solution",
    "TimelineResult",
    "TrialStage",
    "__version__",
    "assumption_ranges",
    "assurance",
    "assurance_curve",
    "calibrate",
    "check_random_state",
    "compare_designs",
    "evaluate_targets",
    "exact_power",
    "exact_power_counts",
    "exact_sample_size",
    "exact_sequential_counts",
    "feasibility",
    "find_centres",
    "find_sample_size",
    "fit",
    "generate_cohort",
    "group_sequential_design",
    "live_birth_probability",
    "load_scenario",
    "load_targets",
    "outcome_model",
    "paper_funnel",
    "power_curve",
    "power_two_proportions",
    "protocol_summary",
    "run_stages",
    "sample_size",
    "scenario_from_dict",
    "sensitivity_grid",
    "simulate_calendar",
    "simulate_power",
    "simulate_timeline",
    "simulate_twin",
    "size_trial",
    "solve",
    "trial_design",
    "write_run",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # loaded once; later lookups do not come here
        return value
    if not name.startswith("__"):
        # ``import rplsim; rplsim.trial.power`` worked when __init__ imported every stage.
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


import sys as _sys  # noqa: E402  (the package's own module type, once everything above is defined)

_sys.modules[__name__].__class__ = _Package
