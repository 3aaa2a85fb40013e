"""Small argument checkers shared by the public functions and the command line."""

from __future__ import annotations

import numpy as np

from rplsim.exceptions import ScenarioError

__all__ = ["check_integer"]


def check_integer(name: str, value: object, minimum: int = 1, *, rule: str | None = None) -> int:
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
        raise ScenarioError(f"{name} == {value!r}, must be {rule}.")
    return int(value)
