"""rplsim._compat: the 0.1 flat module paths keep working, as the very modules that hold the code now."""

import importlib
import subprocess
import sys

import pytest

import rplsim
from rplsim._compat import ALIASES

# The public names of 0.1's ``rplsim.__all__`` (from git: src/rplsim/__init__.py before the layout).
OLD_ALL = [
    "COLUMNS", "CONFLICTS", "STRATA", "CalibrationError", "CalibrationWarning", "ConvergenceError",
    "Feasibility", "PowerResult", "ResultsExistError", "RplsimError", "SampleSize", "Scenario",
    "ScenarioError", "SequentialDesign", "TimelineResult", "__version__", "calibrate",
    "check_random_state", "feasibility", "find_sample_size", "generate_cohort",
    "group_sequential_design", "live_birth_probability", "load_scenario", "outcome_model",
    "paper_funnel", "power_two_proportions", "sample_size", "scenario_from_dict", "sensitivity_grid",
    "simulate_power", "simulate_timeline", "simulate_twin", "trial_design",
]  # fmt: skip


@pytest.mark.parametrize("old", sorted(ALIASES))
def test_old_path_is_the_new_module(old):
    assert importlib.import_module(old) is importlib.import_module(ALIASES[old])


def test_old_from_import_and_private_names():
    import rplsim.analytic
    from rplsim.power import run_blocks, simulate_power  # noqa: F401
    from rplsim.strategies import scenarios  # noqa: F401

    assert rplsim.analytic.sample_size is rplsim.sample_size


@pytest.mark.parametrize("name", OLD_ALL)
def test_every_old_public_name_is_still_public(name):
    assert name in rplsim.__all__
    assert getattr(rplsim, name) is not None


@pytest.mark.parametrize(
    "old_package", ["scenario", "cohort", "outcome", "timeline", "calibration", "trial", "sweep"]
)
def test_old_modules_that_became_packages_keep_their_public_names(old_package):
    pkg = importlib.import_module(f"rplsim.{old_package}")
    assert pkg.__all__, old_package
    for name in pkg.__all__:
        assert hasattr(pkg, name), f"rplsim.{old_package}.{name}"


def test_python_dash_m_old_cli_path():
    proc = subprocess.run([sys.executable, "-m", "rplsim.cli", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("rplsim "), proc.stderr


def test_importing_an_old_path_keeps_the_flat_function_of_that_name():
    """``import rplsim.feasibility`` (0.1's module) must not turn ``rplsim.feasibility``, the flat
    API's function, into the module (it did, in whichever process imported the old path first)."""
    import rplsim.feasibility

    from rplsim import feasibility

    assert callable(feasibility) and rplsim.feasibility is feasibility
    assert feasibility.__module__ == "rplsim.planning.feasibility"
