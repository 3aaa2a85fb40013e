"""Argument checks shared by the batched tests (private to :mod:`rplsim.stats`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rplsim._core.validation import check_choice
from rplsim._core.vocabulary import ALTERNATIVES
from rplsim.exceptions import InvalidArgumentError

__all__: list[str] = []


def check_alternative(alternative: str) -> None:
    """Raise unless ``alternative`` is one of :data:`~rplsim._core.vocabulary.ALTERNATIVES`."""
    check_choice("alternative", alternative, ALTERNATIVES)


def check_counts(
    x_t: ArrayLike, n_t: ArrayLike, x_c: ArrayLike, n_c: ArrayLike, *, dtype: type = np.float64
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """Broadcast the four count arrays and check that each arm has 0 <= x <= n."""
    arrays = np.broadcast_arrays(*(np.asarray(a) for a in (x_t, n_t, x_c, n_c)))
    names = ("x_t", "n_t", "x_c", "n_c")
    out: list[NDArray[Any]] = []
    for name, a in zip(names, arrays, strict=True):
        if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
            raise InvalidArgumentError(f"{name} has dtype {a.dtype}, must be integer counts.")
        if np.issubdtype(a.dtype, np.floating) and not np.all(np.isfinite(a) & (a == np.round(a))):
            raise InvalidArgumentError(f"{name} has non-integer or non-finite values, must be counts.")
        out.append(a.astype(dtype, copy=False))
    xt, nt, xc, nc = out
    for x, n, arm in ((xt, nt, "t"), (xc, nc, "c")):
        bad = (x < 0) | (x > n)
        if np.any(bad):
            i = np.flatnonzero(bad.ravel())[0]
            raise InvalidArgumentError(
                f"x_{arm} == {x.ravel()[i]:g} with n_{arm} == {n.ravel()[i]:g} (flat index {i}), "
                "must satisfy 0 <= x <= n."
            )
    return xt, nt, xc, nc
