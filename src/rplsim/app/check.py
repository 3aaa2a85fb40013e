"""``rplsim check``: the invariant suite, run against a user's scenario.

A statistician who edits a scenario wants to know the model still means what it should. Each
property of :data:`PROPERTIES` (:mod:`rplsim.app.properties`) is a hypothesis test run on
*that* scenario with a bounded number of examples; a failure is shrunk to a minimal
counterexample, which the report prints. The same property functions back our own test suite
(``tests/app/test_check.py``), so users and developers hold the model to one standard.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import HypothesisException
from hypothesis.reporting import with_reporter

from rplsim.app.properties import PROPERTIES, CheckFailure, Counter, Property, require
from rplsim.scenario import Scenario

__all__ = [
    "EXIT_CHECK_FAILED",
    "PROPERTIES",
    "CheckFailure",
    "Property",
    "PropertyResult",
    "require",
    "run_checks",
]

# Exit status of `rplsim check` when a property fails: 1 is an internal error, 2 a bad input.
EXIT_CHECK_FAILED = 3


@dataclass(frozen=True)
class PropertyResult:
    """The outcome of one property on one scenario."""

    name: str
    stage: str
    description: str
    status: str  # "pass" | "FAIL" | "skipped"
    examples: int
    seconds: float
    counterexample: str = ""


def _collect_into(report: list[str]) -> Callable[[object], None]:
    """A hypothesis reporter that appends each message to ``report``."""

    def collect(message: object) -> None:
        report.append(str(message))

    return collect


def _failure_detail(exc: BaseException, report: list[str]) -> str:
    """The failure's first line, then the shrunk example hypothesis reported."""
    # hypothesis attaches the shrunk example as an exception note (older versions report it
    # through the reporter).
    lines = [*getattr(exc, "__notes__", []), *report]
    shrunk = [r for r in lines if "Falsifying" in r or "Failing test case" in r or "=" in r]
    detail = " ".join(" ".join(x.split()) for x in shrunk)[:600]
    # Wording differs across hypothesis versions; say it one way.
    for word in ("Falsifying example:", "Failing test case:"):
        detail = detail.replace(word, "shrunk example:")
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:400]
    return first + (f" | {detail}" if detail else "")


def run_checks(
    scenario: Scenario, *, max_examples: int = 25, budget_seconds: float = 120.0, only: str | None = None
) -> list[PropertyResult]:
    """Run every property on ``scenario``.

    Parameters
    ----------
    scenario : Scenario
    max_examples : int
        hypothesis examples per property (derandomised, so a run is repeatable).
    budget_seconds : float
        Properties not started within this time are reported as skipped.
    only : str, optional
        Run only properties whose name contains this text.

    Returns
    -------
    list of PropertyResult
    """
    cfg = settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        print_blob=False,
    )
    results: list[PropertyResult] = []
    t_start = time.perf_counter()
    for prop in PROPERTIES:
        if only and only not in prop.name:
            continue
        if prop.needs_trial and scenario.trial is None:
            results.append(
                PropertyResult(
                    prop.name, prop.stage, prop.description, "skipped", 0, 0.0, "no [trial] section"
                )
            )
            continue
        if time.perf_counter() - t_start > budget_seconds:
            results.append(
                PropertyResult(
                    prop.name, prop.stage, prop.description, "skipped", 0, 0.0, "time budget used up"
                )
            )
            continue
        counter: Counter = []
        report: list[str] = []
        t0 = time.perf_counter()
        status, detail = "pass", ""
        try:
            with with_reporter(_collect_into(report)):
                prop.check(scenario, cfg, counter)
        except (AssertionError, HypothesisException) as exc:
            status, detail = "FAIL", _failure_detail(exc, report)
        results.append(
            PropertyResult(
                prop.name,
                prop.stage,
                prop.description,
                status,
                len(counter),
                time.perf_counter() - t0,
                detail,
            )
        )
    return results
