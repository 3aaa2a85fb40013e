"""The exceptions and warnings rplsim raises.

One base class, :class:`RplsimError`; each subclass also inherits the built-in exception a
caller would naturally catch (the pattern of ``hypothesis.errors``), so ``except ValueError``
works as well as ``except rplsim.ScenarioError``.
"""

from __future__ import annotations

__all__ = [
    "CalibrationError",
    "CalibrationWarning",
    "ConvergenceError",
    "InvalidArgumentError",
    "ResultsExistError",
    "RplsimError",
    "ScenarioError",
    "SweepStopped",
]


class RplsimError(Exception):
    """Base class of every error rplsim raises on purpose."""


class ScenarioError(RplsimError, ValueError):
    """A scenario file or a parameter is invalid.

    ``str(err)`` is one line per problem, each naming the file, the key, the value and the rule:
    ``scenarios/x.toml: trial.alpha == 1.2, must be in (0, 0.5].``

    Parameters
    ----------
    problems : list of str
        One message per problem found (all of them, not only the first).
    """

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class InvalidArgumentError(RplsimError, ValueError):
    """An argument passed to a function is invalid: an array's shape, a value out of range.

    For the content of a scenario use :class:`ScenarioError`; both are ``ValueError``.
    """


class ConvergenceError(RplsimError, ArithmeticError):
    """A numerical solve (calibration, boundary search, model fit) did not converge."""


class CalibrationError(RplsimError, ValueError):
    """The calibration targets cannot be met with the given parameters (say which and why)."""


class ResultsExistError(RplsimError, FileExistsError):
    """The results folder exists and ``--force`` was not given."""


class SweepStopped(RplsimError, RuntimeError):
    """A sweep stopped before its end for a cause outside the scenario (the Dask cluster lost its
    workers or its scheduler); the finished points are kept, and ``--resume`` computes the rest.

    ``str(err)`` is one line, naming the cause and ``--resume``.
    """


class CalibrationWarning(UserWarning):
    """A calibration target is met only approximately (the message gives the size of the miss)."""
