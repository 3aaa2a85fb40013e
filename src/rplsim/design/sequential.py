"""Group-sequential efficacy boundaries by recursive numerical integration.

A trial with ``K`` looks at information fractions ``0 < t_1 < ... < t_K = 1`` observes the
standardised statistics ``Z_k``; the score ``S_k = Z_k sqrt(t_k)`` is a Brownian motion with
drift ``theta`` (the drift at full information), so ``S_k ~ N(theta t_k, t_k)`` with
independent increments. The probability of first crossing a boundary at each look is
computed by the recursive integration of Armitage, McPherson & Rowe (1969), as laid out in
Jennison & Turnbull (2000, ch. 19): the sub-density of ``Z_k`` on the continuation region is
carried forward look by look and integrated with Simpson's rule. No simulation is used.

Boundaries (efficacy only, no futility):

- ``"obrien-fleming"``: ``c_k = C / sqrt(t_k)`` (``C sqrt(K/k)`` for equal spacing),
- ``"pocock"``: ``c_k = C``,

with ``C`` solved so the total type-I error is ``alpha`` (Jennison & Turnbull 2000, ch. 2);
and the Lan & DeMets (1983) alpha-spending versions, spending per side
``a(t) = 2 - 2 Phi(z_{1-a/2} / sqrt(t))`` (``"ld-obrien-fleming"``) or
``a(t) = a ln(1 + (e - 1) t)`` (``"ld-pocock"``), where ``a`` is the one-sided level
(``alpha / 2`` for two-sided designs). This is the convention of gsDesign's ``sfLDOF`` /
``sfLDPocock`` and rpact's ``"asOF"`` / ``"asP"``.

Two-sided designs use symmetric boundaries ``+-c_k`` with total type-I error ``alpha``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from rplsim._core.validation import check_alpha, check_choice, check_integer, check_power
from rplsim._core.vocabulary import ALTERNATIVES
from rplsim.design.boundaries import BOUNDARIES, BOUNDARY_REGISTRY, Boundary, register_boundary
from rplsim.design.recursion import (
    Z_INF,
    check_fractions,
    crossing_both,
    crossing_probabilities,
    solve_brentq,
)
from rplsim.exceptions import InvalidArgumentError

# BOUNDARIES .. register_boundary and crossing_probabilities live in boundaries / recursion
# and stay importable from here, their old home.
__all__ = [
    "BOUNDARIES",
    "BOUNDARY_REGISTRY",
    "Boundary",
    "SequentialDesign",
    "crossing_probabilities",
    "group_sequential_design",
    "group_sequential_power",
    "register_boundary",
]


@dataclass(frozen=True)
class SequentialDesign:
    """A group-sequential design with efficacy boundaries only.

    Attributes
    ----------
    looks : int
        Number of analyses ``K`` (the last is the final analysis).
    alpha, power : float
        Total type-I error (two-sided if ``alternative == "two-sided"``) and target power.
    alternative : str
        ``"two-sided"`` (symmetric boundaries ``+-c_k``), ``"larger"`` or ``"smaller"``
        (one boundary, at level ``alpha``).
    boundary : str
        One of :data:`BOUNDARIES`.
    information_fractions : tuple of float
        ``t_k``, increasing, ending at 1.
    efficacy_z : tuple of float
        Critical value ``c_k`` of ``|Z_k|`` (two-sided) or of ``Z_k`` in the direction of the
        alternative (one-sided).
    nominal_alpha : tuple of float
        Per-look nominal p-value threshold: ``2 (1 - Phi(c_k))`` two-sided, else
        ``1 - Phi(c_k)``.
    cumulative_alpha : tuple of float
        Type-I error spent up to and including each look.
    inflation_factor : float
        ``n_max / n_fixed`` for the same ``alpha`` and power (``R`` in Jennison & Turnbull).
    drift : float
        Drift ``theta = E[Z_K]`` at full information that gives the target power.
    expected_info_h0, expected_info_h1 : float
        Expected sample size as a fraction of ``n_max`` under H0 and under H1 (``drift``).
    stop_probability_h1 : tuple of float
        Probability of crossing the efficacy boundary (stopping to reject) at each look under
        H1; they sum to ``power``.

    Examples
    --------
    >>> d = group_sequential_design(3)
    >>> d.looks, d.boundary, round(d.cumulative_alpha[-1], 4), d.inflation_factor > 1
    (3, 'obrien-fleming', 0.05, True)
    """

    looks: int
    alpha: float
    power: float
    alternative: str
    boundary: str
    information_fractions: tuple[float, ...]
    efficacy_z: tuple[float, ...]
    nominal_alpha: tuple[float, ...]
    cumulative_alpha: tuple[float, ...]
    inflation_factor: float
    drift: float
    expected_info_h0: float
    expected_info_h1: float
    stop_probability_h1: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        """Return the design as a flat ``dict`` (tuples kept as tuples)."""
        return asdict(self)


def group_sequential_design(
    looks: int,
    *,
    alpha: float = 0.05,
    power: float = 0.80,
    alternative: str = "two-sided",
    boundary: str = "obrien-fleming",
    information_fractions: Sequence[float] | None = None,
) -> SequentialDesign:
    """Efficacy boundaries, inflation factor and expected sample size of a group-sequential test.

    Parameters
    ----------
    looks : int
        Number of analyses ``K >= 1`` including the final one.
    alpha : float, default 0.05
        Total type-I error, in (0, 0.5]; two-sided designs split it equally between the sides.
    power : float, default 0.80
        Target power, in (0.5, 1), against which the drift and inflation factor are solved.
    alternative : {"two-sided", "larger", "smaller"}, default "two-sided"
        One-sided designs have a single boundary at level ``alpha``.
    boundary : {"obrien-fleming", "pocock", "ld-obrien-fleming", "ld-pocock"}
        Classical constant-shape boundaries or Lan-DeMets alpha-spending versions.
    information_fractions : sequence of float, optional
        ``t_k``, strictly increasing and ending at 1; equally spaced ``k / K`` if omitted.

    Returns
    -------
    SequentialDesign

    Raises
    ------
    rplsim.exceptions.InvalidArgumentError
        If an argument is out of range or unknown.
    rplsim.exceptions.ConvergenceError
        If a boundary or the drift cannot be solved for.

    Examples
    --------
    >>> d = group_sequential_design(3, boundary="pocock")
    >>> round(d.efficacy_z[0], 3)  # Jennison & Turnbull (2000) Table 2.1: 2.289
    2.289
    """
    looks = check_integer("looks", looks, rule="an integer >= 1", error=InvalidArgumentError)
    check_alpha(alpha)
    check_power(power)
    check_choice("alternative", alternative, ALTERNATIVES)
    rule = BOUNDARY_REGISTRY.lookup(boundary)
    if information_fractions is None:
        t = np.arange(1, looks + 1) / looks
    else:
        t = check_fractions(information_fractions)
        if t.size != looks:
            raise InvalidArgumentError(
                f"len(information_fractions) == {t.size}, must equal looks == {looks}."
            )
    two_sided = alternative == "two-sided"
    a = alpha / 2.0 if two_sided else alpha

    if looks == 1:
        c = np.array([float(stats.norm.isf(a))])
    else:
        c = rule.function(a, t, two_sided)
    c = np.minimum(c, Z_INF)
    lower = -c if two_sided else np.full(looks, -np.inf)

    up0, lo0 = crossing_both(c, lower, t, 0.0)
    cross_h0 = up0 + lo0

    # Power counts only the side of the alternative, as does the fixed-sample formula.
    def shortfall(theta: float) -> float:
        return float(crossing_both(c, lower, t, theta)[0].sum()) - power

    z_beta = float(stats.norm.isf(1.0 - power))
    drift_fixed = float(stats.norm.isf(a)) + z_beta
    drift = solve_brentq(shortfall, drift_fixed * 0.9, drift_fixed * 2.0 + 1.0, "drift")
    up1, lo1 = crossing_both(c, lower, t, drift)

    def expected_info(stop: NDArray[np.float64]) -> float:
        # Stopping at look k < K uses t_k; otherwise the trial runs to t_K = 1.
        return float(np.sum(stop[:-1] * t[:-1]) + (1.0 - np.sum(stop[:-1])))

    nominal = 2.0 * stats.norm.sf(c) if two_sided else stats.norm.sf(c)
    return SequentialDesign(
        looks=looks,
        alpha=float(alpha),
        power=float(power),
        alternative=alternative,
        boundary=boundary,
        information_fractions=tuple(float(x) for x in t),
        efficacy_z=tuple(float(x) for x in c),
        nominal_alpha=tuple(float(x) for x in nominal),
        cumulative_alpha=tuple(float(x) for x in np.cumsum(cross_h0)),
        inflation_factor=(drift / drift_fixed) ** 2,
        drift=drift,
        expected_info_h0=expected_info(cross_h0),
        expected_info_h1=expected_info(up1 + lo1),
        stop_probability_h1=tuple(float(x) for x in up1),
    )


def group_sequential_power(fixed_power: float, z_alpha: float, design: SequentialDesign) -> float:
    """Power of a group-sequential design from the fixed-design power at its maximum size.

    The fixed-design power at ``n_max`` defines the drift ``theta = z_alpha + z_(power)`` at
    full information (clipped to ``[1e-12, 1 - 1e-12]`` so the drift stays finite); the power
    is the probability of crossing an efficacy boundary at any look under that drift.

    Parameters
    ----------
    fixed_power : float
        Power of the fixed design with the same maximum sample size.
    z_alpha : float
        Critical value of that fixed design (``z_(1 - alpha/2)`` two-sided, else
        ``z_(1 - alpha)``).
    design : SequentialDesign
        The boundaries and information fractions.

    Returns
    -------
    float

    Examples
    --------
    >>> d = group_sequential_design(1)
    >>> round(group_sequential_power(0.8, 1.959963984540054, d), 4)
    0.8
    """
    drift = z_alpha + float(stats.norm.ppf(min(max(fixed_power, 1e-12), 1 - 1e-12)))
    crossing = crossing_probabilities(
        design.efficacy_z, design.information_fractions, drift, design.alternative == "two-sided"
    )
    return float(np.sum(crossing))
