"""Arm sizes under unequal allocation (one rounding rule for every stage)."""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["arm_size"]


@overload
def arm_size(ratio: float, n_control: int) -> int: ...


@overload
def arm_size(ratio: float, n_control: ArrayLike) -> NDArray[np.float64]: ...


def arm_size(ratio: float, n_control: Any) -> Any:
    """Treatment-arm size ``ceil(ratio * n_control)`` for an allocation ``ratio``.

    A hair of tolerance (``1e-9``) keeps a product that is integral up to rounding error
    (``1.1 * 10``) from being bumped up by one.

    Parameters
    ----------
    ratio : float
        ``n_treatment / n_control``.
    n_control : int or array_like
        Control-arm size(s).

    Returns
    -------
    int or numpy.ndarray
        An ``int`` for an integer ``n_control``; else a float array of whole numbers.

    Examples
    --------
    >>> arm_size(1.1, 10), arm_size(1.5, 3)
    (11, 5)
    >>> arm_size(2.0, [10, 11]).tolist()
    [20.0, 22.0]
    """
    if isinstance(n_control, (int, np.integer)) and not isinstance(n_control, bool):
        return math.ceil(ratio * n_control - 1e-9)
    return np.ceil(ratio * np.asarray(n_control, dtype=np.float64) - 1e-9)
