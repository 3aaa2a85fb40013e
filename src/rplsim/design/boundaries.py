"""The registry of group-sequential efficacy boundaries (efficacy only, no futility).

- ``"obrien-fleming"``: ``c_k = C / sqrt(t_k)``; ``"pocock"``: ``c_k = C``, with ``C`` solved so
  the total type-I error is ``alpha`` (Jennison & Turnbull 2000, ch. 2);
- ``"ld-obrien-fleming"``, ``"ld-pocock"``: the Lan & DeMets (1983) alpha-spending versions.

Adding a boundary is one function ``(a, t, two_sided) -> c`` and one :func:`register_boundary`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from rplsim._core.registry import NameView, Registry
from rplsim.design.recursion import Z_INF, Recursion, crossing_both, solve_brentq

__all__ = ["BOUNDARIES", "BOUNDARY_REGISTRY", "Boundary", "BoundaryFunction", "register_boundary"]

#: ``function(a, t, two_sided) -> c``: the boundary ``c_k`` on the Z scale at fractions ``t``
#: for one-sided level ``a`` per side (the final look included).
BoundaryFunction = Callable[[float, "NDArray[np.float64]", bool], "NDArray[np.float64]"]


@dataclass(frozen=True)
class Boundary:
    """A registered group-sequential efficacy boundary.

    Attributes
    ----------
    name : str
        The ``boundary`` argument (and the scenario's ``trial.boundary``).
    function : callable
        ``function(a, t, two_sided)``: the critical values ``c_k``, with ``a`` the one-sided
        level per side and ``t`` the information fractions.
    description : str
        One line for the documentation.
    """

    name: str
    function: BoundaryFunction
    description: str = ""


BOUNDARY_REGISTRY: Registry[Boundary] = Registry("boundary")
#: The registered boundary names, a live view that prints as a tuple.
BOUNDARIES: NameView = BOUNDARY_REGISTRY.names


def register_boundary(boundary: Boundary, *, replace: bool = False) -> Boundary:
    """Register ``boundary`` under ``boundary.name`` and return it."""
    BOUNDARY_REGISTRY.register(boundary.name, boundary, replace=replace)
    return boundary


def _ld_obrien_fleming_spent(a: float, t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cumulative one-sided alpha spent at ``t``, O'Brien-Fleming type (Lan & DeMets 1983)."""
    out: NDArray[np.float64] = 2.0 - 2.0 * special.ndtr(stats.norm.isf(a / 2.0) / np.sqrt(t))
    return out


def _ld_pocock_spent(a: float, t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cumulative one-sided alpha spent at ``t``, Pocock type (Lan & DeMets 1983)."""
    out: NDArray[np.float64] = a * np.log1p((math.e - 1.0) * t)
    return out


def _classical_boundaries(
    shape: NDArray[np.float64], a: float, t: NDArray[np.float64], two_sided: bool
) -> NDArray[np.float64]:
    """``c_k = C * shape_k`` with ``C`` solved for a total type-I error of ``a`` per side."""
    target = 2.0 * a if two_sided else a

    def excess(scale: float) -> float:
        c = scale * shape
        low = -c if two_sided else np.full(t.size, -np.inf)
        up, lo = crossing_both(c, low, t, 0.0)
        return float(up.sum() + lo.sum()) - target

    z_fixed = float(stats.norm.isf(a))
    # The single-look value z_a is a lower bound; Bonferroni over K looks an upper one.
    hi = float(stats.norm.isf(a / t.size)) / float(shape.min()) + 0.1
    scale = solve_brentq(excess, z_fixed * 0.5, hi, "boundary constant")
    return scale * shape


def _spending_boundaries(
    spent: NDArray[np.float64], t: NDArray[np.float64], two_sided: bool
) -> NDArray[np.float64]:
    """Boundaries spending the cumulative one-sided alpha ``spent`` at the looks ``t``."""
    increments = np.diff(np.concatenate(([0.0], spent)))
    rec = Recursion(t, 0.0)
    c = np.empty(t.size)
    for k in range(t.size):
        inc = increments[k]
        if k == 0:
            c[k] = float(stats.norm.isf(inc)) if inc > 0 else Z_INF
        elif inc <= 1e-300:
            c[k] = Z_INF
        else:

            def excess(z: float, inc: float = inc) -> float:
                return rec.cross(z, -np.inf)[0] - inc  # under H0 each side spends inc

            c[k] = solve_brentq(excess, -5.0, Z_INF, f"spending boundary at look {k + 1}")
        if k < t.size - 1:
            rec.advance(c[k], -c[k] if two_sided else -np.inf)
    return c


def _classical(shape: Callable[[NDArray[np.float64]], NDArray[np.float64]]) -> BoundaryFunction:
    def function(a: float, t: NDArray[np.float64], two_sided: bool) -> NDArray[np.float64]:
        return _classical_boundaries(shape(t), a, t, two_sided)

    return function


def _spending(spent: Callable[[float, NDArray[np.float64]], NDArray[np.float64]]) -> BoundaryFunction:
    def function(a: float, t: NDArray[np.float64], two_sided: bool) -> NDArray[np.float64]:
        return _spending_boundaries(spent(a, t), t, two_sided)

    return function


def _of_shape(t: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = 1.0 / np.sqrt(t)
    return out


def _pocock_shape(t: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.ones(t.size)


register_boundary(Boundary("obrien-fleming", _classical(_of_shape), "c_k = C / sqrt(t_k)"))
register_boundary(Boundary("pocock", _classical(_pocock_shape), "c_k = C"))
register_boundary(
    Boundary("ld-obrien-fleming", _spending(_ld_obrien_fleming_spent), "Lan-DeMets O'Brien-Fleming spending")
)
register_boundary(Boundary("ld-pocock", _spending(_ld_pocock_spent), "Lan-DeMets Pocock spending"))
