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

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from rplsim._core.registry import NameView, Registry
from rplsim._core.validation import check_alpha, check_choice, check_integer, check_power
from rplsim._core.vocabulary import ALTERNATIVES
from rplsim.exceptions import ConvergenceError, InvalidArgumentError

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


# Half-width (in standard deviations of Z_k) of the integration range: Phi(-10) ~ 8e-24.
_RANGE_SD = 10.0
# Simpson step on the Z scale, refined when looks are close together (see _grid).
_STEP = 0.04
# A boundary this large is never crossed in double precision.
_Z_INF = 38.0


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


def _grid(lower: float, upper: float, mean: float, step: float) -> NDArray[np.float64]:
    """Odd number of equally spaced Simpson nodes on ``[lower, upper]`` clipped to mean +-10."""
    lo = max(lower, mean - _RANGE_SD)
    hi = min(upper, mean + _RANGE_SD)
    if hi <= lo:
        return np.empty(0)
    m = max(2, math.ceil((hi - lo) / step))
    m += m % 2
    return np.linspace(lo, hi, m + 1)


def _simpson_weights(x: NDArray[np.float64]) -> NDArray[np.float64]:
    if x.size == 0:
        return x
    h = (x[-1] - x[0]) / (x.size - 1)
    w = np.full(x.size, 2.0)
    w[1::2] = 4.0
    w[0] = w[-1] = 1.0
    out: NDArray[np.float64] = w * h / 3.0
    return out


def _norm_pdf(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


class _Recursion:
    """Carry the sub-density of ``Z_k`` on the continuation region from look to look."""

    def __init__(self, t: NDArray[np.float64], drift: float) -> None:
        self.t = t
        self.drift = drift
        self.k = 0  # number of looks already processed
        self.nodes = np.empty(0)
        self.weighted = np.empty(0)  # density * Simpson weight at the nodes

    def cross(self, upper: float, lower: float) -> tuple[float, float]:
        """P(not stopped before, Z_k >= upper) and P(not stopped before, Z_k <= lower)."""
        k, t, th = self.k, self.t, self.drift
        if k == 0:
            mean = th * math.sqrt(t[0])
            return float(special.ndtr(mean - upper)), float(special.ndtr(lower - mean))
        if self.nodes.size == 0:
            return 0.0, 0.0
        dt = t[k] - t[k - 1]
        centre = self.nodes * math.sqrt(t[k - 1]) + th * dt
        sd = math.sqrt(dt)
        up = special.ndtr((centre - upper * math.sqrt(t[k])) / sd)
        lo = special.ndtr((lower * math.sqrt(t[k]) - centre) / sd)
        return float(self.weighted @ up), float(self.weighted @ lo)

    def advance(self, upper: float, lower: float) -> None:
        """Move to the next look with continuation region ``(lower, upper)`` at this one."""
        k, t, th = self.k, self.t, self.drift
        mean = th * math.sqrt(t[k])
        x = _grid(lower, upper, mean, self._step_next())
        if x.size == 0:
            dens = np.empty(0)
        elif k == 0:
            dens = _norm_pdf(x - mean)
        elif self.nodes.size == 0:
            dens = np.zeros_like(x)
        else:
            dt = t[k] - t[k - 1]
            sd = math.sqrt(dt)
            arg = (x[:, None] * math.sqrt(t[k]) - self.nodes[None, :] * math.sqrt(t[k - 1]) - th * dt) / sd
            dens = (_norm_pdf(arg) @ self.weighted) * math.sqrt(t[k]) / sd
        self.nodes = x
        self.weighted = dens * _simpson_weights(x)
        self.k += 1

    def _step_next(self) -> float:
        # Nodes at look k must resolve both the kernel that produced the density (sd in z
        # of sqrt(dt_k / t_k)) and the kernel of the next look (sd in y of
        # sqrt(dt_{k+1} / t_k)): keep at least ~12 nodes per sd.
        k, t = self.k, self.t
        step = _STEP
        if k > 0:
            step = min(step, math.sqrt((t[k] - t[k - 1]) / t[k]) / 12.0)
        if k + 1 < t.size:
            step = min(step, math.sqrt((t[k + 1] - t[k]) / t[k]) / 12.0)
        return step


def _crossing_both(
    upper: NDArray[np.float64],
    lower: NDArray[np.float64],
    t: NDArray[np.float64],
    drift: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rec = _Recursion(t, drift)
    up = np.zeros(t.size)
    lo = np.zeros(t.size)
    for k in range(t.size):
        up[k], lo[k] = rec.cross(upper[k], lower[k])
        if k < t.size - 1:
            rec.advance(upper[k], lower[k])
    return up, lo


def _check_fractions(information_fractions: ArrayLike) -> NDArray[np.float64]:
    t = np.asarray(information_fractions, dtype=float)
    if t.ndim != 1 or t.size == 0:
        raise InvalidArgumentError(
            f"information_fractions == {information_fractions!r}, must be a non-empty 1-d sequence."
        )
    if not (np.all(np.isfinite(t)) and t[0] > 0 and np.all(np.diff(t) > 0)):
        raise InvalidArgumentError(
            f"information_fractions == {t.tolist()}, must be strictly increasing and > 0."
        )
    if abs(t[-1] - 1.0) > 1e-12:
        raise InvalidArgumentError(f"information_fractions == {t.tolist()}, must end at 1.")
    t[-1] = 1.0
    return t


def crossing_probabilities(
    efficacy_z: ArrayLike,
    information_fractions: ArrayLike,
    drift: float,
    two_sided: bool,
) -> NDArray[np.float64]:
    """Probability of first crossing the efficacy boundary at each look.

    Parameters
    ----------
    efficacy_z : array_like of float
        Boundary ``c_k`` per look on the Z scale (``np.inf`` for a look with no boundary).
    information_fractions : array_like of float
        ``t_k``, strictly increasing and ending at 1.
    drift : float
        ``theta = E[Z_K]``, the mean of the final Z statistic; ``Z_k`` has mean
        ``theta sqrt(t_k)``. Zero gives the probabilities under H0.
    two_sided : bool
        If true, stop when ``|Z_k| >= c_k``; otherwise when ``Z_k >= c_k``.

    Returns
    -------
    numpy.ndarray
        ``P(first crossing at look k)`` (either side if two-sided), one per look; their sum is
        the overall rejection probability.

    Raises
    ------
    rplsim.exceptions.InvalidArgumentError
        If the lengths differ or the fractions are not increasing to 1.

    Examples
    --------
    >>> p = crossing_probabilities([2.178, 2.178], [0.5, 1.0], 0.0, True)
    >>> round(float(p.sum()), 3)
    0.05
    """
    t = _check_fractions(information_fractions)
    c = np.asarray(efficacy_z, dtype=float)
    if c.shape != t.shape:
        raise InvalidArgumentError(
            f"len(efficacy_z) == {c.size}, must equal len(information_fractions) == {t.size}."
        )
    c = np.minimum(c, _Z_INF)
    lower = -c if two_sided else np.full(t.size, -np.inf)
    up, lo = _crossing_both(c, lower, t, float(drift))
    return up + lo if two_sided else up


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
        up, lo = _crossing_both(c, low, t, 0.0)
        return float(up.sum() + lo.sum()) - target

    z_fixed = float(stats.norm.isf(a))
    # The single-look value z_a is a lower bound; Bonferroni over K looks an upper one.
    hi = float(stats.norm.isf(a / t.size)) / float(shape.min()) + 0.1
    scale = _brentq(excess, z_fixed * 0.5, hi, "boundary constant")
    return scale * shape


def _spending_boundaries(
    spent: NDArray[np.float64], t: NDArray[np.float64], two_sided: bool
) -> NDArray[np.float64]:
    """Boundaries spending the cumulative one-sided alpha ``spent`` at the looks ``t``."""
    increments = np.diff(np.concatenate(([0.0], spent)))
    rec = _Recursion(t, 0.0)
    c = np.empty(t.size)
    for k in range(t.size):
        inc = increments[k]
        if k == 0:
            c[k] = float(stats.norm.isf(inc)) if inc > 0 else _Z_INF
        elif inc <= 1e-300:
            c[k] = _Z_INF
        else:

            def excess(z: float, inc: float = inc) -> float:
                return rec.cross(z, -np.inf)[0] - inc  # under H0 each side spends inc

            c[k] = _brentq(excess, -5.0, _Z_INF, f"spending boundary at look {k + 1}")
        if k < t.size - 1:
            rec.advance(c[k], -c[k] if two_sided else -np.inf)
    return c


def _brentq(f: Any, lo: float, hi: float, what: str) -> float:
    try:
        return float(optimize.brentq(f, lo, hi, xtol=1e-10, rtol=1e-12, maxiter=200))
    except (ValueError, RuntimeError) as err:
        raise ConvergenceError(f"could not solve for the {what}: {err}") from err


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
        t = _check_fractions(information_fractions)
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
    c = np.minimum(c, _Z_INF)
    lower = -c if two_sided else np.full(looks, -np.inf)

    up0, lo0 = _crossing_both(c, lower, t, 0.0)
    cross_h0 = up0 + lo0

    # Power counts only the side of the alternative, as does the fixed-sample formula.
    def shortfall(theta: float) -> float:
        return float(_crossing_both(c, lower, t, theta)[0].sum()) - power

    z_beta = float(stats.norm.isf(1.0 - power))
    drift_fixed = float(stats.norm.isf(a)) + z_beta
    drift = _brentq(shortfall, drift_fixed * 0.9, drift_fixed * 2.0 + 1.0, "drift")
    up1, lo1 = _crossing_both(c, lower, t, drift)

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
    >>> round(group_sequential_power(0.8, 1.959963984540054, d), 6)
    0.8
    """
    drift = z_alpha + float(stats.norm.ppf(min(max(fixed_power, 1e-12), 1 - 1e-12)))
    crossing = crossing_probabilities(
        design.efficacy_z, design.information_fractions, drift, design.alternative == "two-sided"
    )
    return float(np.sum(crossing))


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
