"""Small argument checkers shared by the public functions and the command line."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
from numpy.typing import ArrayLike

from rplsim.exceptions import InvalidArgumentError, ScenarioError

__all__ = ["check_alpha", "check_choice", "check_integer", "check_power"]


def check_integer(
    name: str,
    value: object,
    minimum: int = 1,
    *,
    rule: str | None = None,
    error: type[ValueError] = ScenarioError,
) -> int:
    """Return ``int(value)`` if it is an integer (not a bool) ``>= minimum``.

    Parameters
    ----------
    name : str
        The argument's name, as the message shows it.
    value : object
        The value to check.
    minimum : int, default 1
        Smallest allowed value.
    rule : str, optional
        The rule as the message states it; default "a positive integer" for ``minimum == 1``,
        else "an integer >= minimum".
    error : type, default ScenarioError
        The exception raised; functions of the pure stages pass
        :class:`~rplsim.exceptions.InvalidArgumentError`.

    Raises
    ------
    rplsim.exceptions.ScenarioError
        ``"n == -5, must be a positive integer."``

    Examples
    --------
    >>> check_integer("replicates", 200, 2)
    200
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        if rule is None:
            rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise error(f"{name} == {value!r}, must be {rule}.")
    return int(value)


def check_alpha(alpha: ArrayLike) -> None:
    """Check that every significance level is in (0, 0.5].

    Parameters
    ----------
    alpha : float or array_like
        Level(s) to check.

    Raises
    ------
    rplsim.exceptions.InvalidArgumentError
        ``"alpha == 0.7, must be in (0, 0.5]."`` (the first offending value).

    Examples
    --------
    >>> check_alpha([0.05, 0.5])
    """
    a = np.asarray(alpha, dtype=np.float64)
    bad = ~((a > 0) & (a <= 0.5))
    if np.any(bad):
        raise InvalidArgumentError(f"alpha == {a[bad].ravel()[0]}, must be in (0, 0.5].")


def check_power(power: float) -> None:
    """Check that a target power is in (0.5, 1).

    Raises
    ------
    rplsim.exceptions.InvalidArgumentError
        ``"power == 0.4, must be in (0.5, 1)."``

    Examples
    --------
    >>> check_power(0.8)
    """
    if not 0.5 < power < 1.0:
        raise InvalidArgumentError(f"power == {power}, must be in (0.5, 1).")


def check_choice(name: str, value: object, allowed: Collection[str]) -> None:
    """Check that ``value`` is one of ``allowed``.

    Raises
    ------
    rplsim.exceptions.InvalidArgumentError
        ``"alternative == 'up', must be one of ('two-sided', 'larger', 'smaller')."``

    Examples
    --------
    >>> check_choice("alternative", "larger", ("two-sided", "larger", "smaller"))
    """
    if value not in allowed:
        raise InvalidArgumentError(f"{name} == {value!r}, must be one of {tuple(allowed)}.")
