"""Shared fixtures and the hypothesis profiles (selected with HYPOTHESIS_PROFILE)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from rplsim import CalibrationWarning, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

# "ci" (the default, and what CI runs): derandomised and bounded, so every run is the same run;
# "dev": random examples; "thorough": 500 examples, for local use before a release.
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=40,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

warnings.simplefilter("ignore", CalibrationWarning)


@pytest.fixture(scope="session")
def paper():
    """The shipped default scenario."""
    return load_scenario(SCENARIOS / "paper.toml")


# Figures a test measures (the web page's latencies, Simulate's time): a test records them with
# ``record_property("measured: what", value)``; they reach this process through the test reports
# (also from pytest-xdist's workers) and are printed at the end of the run, so CI's log has them.
_MEASURED: list[tuple[str, object]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _MEASURED.extend((k, v) for k, v in report.user_properties if str(k).startswith("measured: "))


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _MEASURED:
        terminalreporter.section("measured")
        for k, v in _MEASURED:
            terminalreporter.write_line(f"{str(k)[len('measured: ') :]}: {v}")
