"""Group-sequential boundaries with beta-spending futility (issue 16 groundwork).

One-sided designs at level ``alpha`` with power ``1 - beta``: efficacy bounds ``u_k`` spend alpha
by a Lan-DeMets function, futility bounds ``l_k`` spend beta under the alternative by the beta
function of the same family, rpact's ``typeBetaSpending = "bsOF"`` / ``"bsP"`` (Pampallona, Tsiatis
& Kim 2001; Jennison & Turnbull 2000, ch. 4 and 7):

- ``"obrien-fleming"``: ``a(t) = 2 - 2 Phi(z_{1-a/2} / sqrt t)`` (asOF / bsOF),
- ``"pocock"``: ``a(t) = a ln(1 + (e - 1) t)`` (asP / bsP),

with ``a = alpha`` for efficacy and ``a = beta`` for futility. Look by look, ``u_k`` solves
P_0(continue to k, Z_k >= u_k) = alpha spent at k, and ``l_k`` solves P_1(continue to k, Z_k <= l_k)
= beta spent at k, P_1 at drift ``theta`` (the mean of the final Z); ``theta`` is solved so that the
bounds meet at the last look (``l_K = u_K``), and ``(theta / (z_{1-alpha} + z_{1-beta}))^2`` is the
inflation of the maximum sample size over the fixed design. **Non-binding** futility (the default
a steering committee may overrule) computes the efficacy bounds as if there were no futility, so
the type-I error stays at most alpha; **binding** futility lets them use it (the H0 recursion
stops at ``l_k`` too), which lowers them. A futility bound above the efficacy bound at an interim
is set to it. The probabilities are the recursion of :mod:`rplsim.design.recursion`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from rplsim._core.validation import check_choice, check_integer
from rplsim.design.boundaries import _ld_obrien_fleming_spent, _ld_pocock_spent
from rplsim.design.recursion import Recursion, check_fractions, crossing_both, solve_brentq
from rplsim.exceptions import InvalidArgumentError

__all__ = ["FUTILITY_RULES", "SPENDING_FAMILIES", "FutilityDesign", "futility_design", "futility_power"]

Array = NDArray[np.float64]

#: The spending families (efficacy and futility alike).
SPENDING_FAMILIES = {"obrien-fleming": _ld_obrien_fleming_spent, "pocock": _ld_pocock_spent}
_LOW = -8.0


@dataclass(frozen=True)
class FutilityDesign:
    """A one-sided group-sequential design with beta-spending futility.

    Attributes
    ----------
    efficacy_z, futility_z : numpy.ndarray
        Bounds per look on the Z scale (``futility_z[-1] == efficacy_z[-1]``).
    information_fractions : numpy.ndarray
    drift : float
        Mean of the final Z under the alternative at the maximum sample size.
    inflation : float
        Maximum sample size over the fixed design's, ``(drift / (z_{1-alpha} + z_{1-beta}))^2``.
    alpha_spent, beta_spent : numpy.ndarray
        Cumulative alpha (efficacy, under H0) and beta (futility, under H1) spent at each look.
    type1_error : float
        P_0(crossing an efficacy bound) with futility stops obeyed (non-binding: also the level
        when they are ignored, ``alpha``).
    power : float
        P_1(crossing an efficacy bound).
    expected_fraction_h0, expected_fraction_h1 : float
        Expected sample size over the maximum, under H0 and H1 (futility obeyed); times
        ``inflation`` it is rpact's ``averageSampleNumber0`` / ``1`` (over the fixed design).
    stop_futility_h0, stop_futility_h1 : numpy.ndarray
        P(stopping for futility at each interim look).
    """

    efficacy_z: Array
    futility_z: Array
    information_fractions: Array
    alpha: float
    beta: float
    spending: str
    binding: bool
    drift: float
    inflation: float
    alpha_spent: Array
    beta_spent: Array
    type1_error: float
    power: float
    expected_fraction_h0: float
    expected_fraction_h1: float
    stop_futility_h0: Array
    stop_futility_h1: Array

    def as_dict(self) -> dict[str, Any]:
        """The fields, arrays as lists."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in asdict(self).items()}


def _cp_bound(t_k: float, u_final: float, theta: float, threshold: float) -> float:
    """The Z below which conditional power (under drift ``theta``, the final efficacy bound
    ``u_final``) is below ``threshold``: CP(z) = Phi((z sqrt t + theta (1 - t) - u_K) / sqrt(1 - t))."""
    return float(
        (u_final - theta * (1.0 - t_k) - stats.norm.isf(threshold) * math.sqrt(1.0 - t_k)) / math.sqrt(t_k)
    )


def _bounds(
    t: Array,
    theta: float,
    a_inc: Array,
    b_inc: Array,
    binding: bool,
    fixed: Array | None = None,
    cp: tuple[float, float] | None = None,
) -> tuple[Array, Array, float]:
    """Efficacy and futility bounds at drift ``theta``; and the final look's shortfall, zero at
    the solved drift: beta-spending, the beta still to spend at K minus what ``l_K = u_K``
    spends; conditional power (``cp = (threshold, u_K)``), the power minus ``1 - beta``.
    ``fixed``: efficacy bounds kept as given (non-binding) instead of solved from ``a_inc``."""
    k_max = t.size
    rec0, rec1 = Recursion(t, 0.0), Recursion(t, theta)
    upper, lower = np.empty(k_max), np.empty(k_max)
    power = 0.0
    for k in range(k_max):
        if fixed is not None:
            u = float(fixed[k])
        elif rec0.cross(-10.0, -np.inf)[0] < a_inc[k]:
            # binding futility at a drift too large: too few trials go on under H0 to spend this
            # look's alpha; as when every trial stops, the last look's beta falls short
            upper[k:] = upper[k - 1]
            lower[k:] = lower[k - 1]
            return upper, lower, -float(b_inc[-1])
        else:
            u = solve_brentq(
                lambda c, k=k: rec0.cross(c, -np.inf)[0] - a_inc[k], -10.0, 40.0, f"efficacy bound {k + 1}"
            )
        if k == k_max - 1:
            upper[k] = lower[k] = u
            if cp is not None:
                return upper, lower, power + rec1.cross(u, u)[0] - (1.0 - float(np.sum(b_inc)))
            return upper, lower, rec1.cross(u, u)[1] - b_inc[k]
        if cp is not None:
            low = min(u, _cp_bound(float(t[k]), cp[1], theta, cp[0]))
        elif rec1.cross(u, u)[1] <= b_inc[k]:
            low = u  # even stopping below the efficacy bound spends less than this look's beta
        else:
            low = solve_brentq(
                lambda c, k=k, u=u: rec1.cross(u, c)[1] - b_inc[k], _LOW, u, f"futility bound {k + 1}"
            )
        upper[k], lower[k] = u, low
        if low >= u and cp is None:
            # every trial stops here (a drift too large for these looks): the later looks spend
            # nothing, so the last look's beta falls short by all of its share
            upper[k + 1 :] = lower[k + 1 :] = u
            return upper, lower, -float(b_inc[-1])
        power += rec1.cross(u, low)[0]
        rec0.advance(u, low if binding else -np.inf)
        rec1.advance(u, low)
    raise AssertionError("unreachable")


#: How futility bounds are set: spending beta under the alternative, or a conditional power.
FUTILITY_RULES = ("beta-spending", "conditional-power")


def futility_design(
    looks: int | None = None,
    *,
    information_fractions: Any = None,
    alpha: float = 0.025,
    beta: float = 0.2,
    spending: str = "obrien-fleming",
    binding: bool = False,
    rule: str = "beta-spending",
    threshold: float = 0.1,
    alpha_spent: Any = None,
    efficacy_z: Any = None,
) -> FutilityDesign:
    """Efficacy and futility bounds of a one-sided group-sequential design.

    Parameters
    ----------
    looks : int, optional
        Equally spaced looks (or give ``information_fractions``).
    information_fractions : sequence of float, optional
        Increasing, ending at 1.
    alpha : float, default 0.025
        One-sided level.
    beta : float, default 0.2
        Type-II error (1 - power).
    spending : {"obrien-fleming", "pocock"}
        The family of both spending functions (rpact's asOF + bsOF, asP + bsP).
    binding : bool, default False
        Whether the efficacy bounds count on the futility stops.
    rule : {"beta-spending", "conditional-power"}, default "beta-spending"
        ``"conditional-power"``: stop at an interim when the conditional power under the
        alternative (the solved drift, the final efficacy bound) is below ``threshold``.
    threshold : float, default 0.1
        The conditional power below which ``rule="conditional-power"`` stops.
    alpha_spent : sequence of float, optional
        Cumulative one-sided alpha spent at each look (another boundary's, e.g. a classical
        O'Brien-Fleming design's); default the ``spending`` family's.
    efficacy_z : sequence of float, optional
        Non-binding only: efficacy bounds kept exactly as given (the design's without futility).

    Returns
    -------
    FutilityDesign

    Examples
    --------
    >>> d = futility_design(3)  # rpact: getDesignGroupSequential(kMax = 3, typeOfDesign = "asOF",
    >>> # typeBetaSpending = "bsOF", bindingFutility = FALSE): criticalValues 3.710 2.511 1.993
    >>> [round(float(z), 3) for z in d.efficacy_z], round(d.inflation, 3) > 1
    ([3.71, 2.511, 1.993], True)
    """
    if information_fractions is None:
        k = check_integer("looks", looks, 1, error=InvalidArgumentError)
        t = np.arange(1, k + 1) / k
    else:
        t = check_fractions(information_fractions)
    if not 0.0 < alpha < 0.5 or not 0.0 < beta < 0.5:
        raise InvalidArgumentError(f"alpha == {alpha}, beta == {beta}: each must be in (0, 0.5).")
    if spending not in SPENDING_FAMILIES:
        raise InvalidArgumentError(f'spending == "{spending}", must be "obrien-fleming" or "pocock".')
    check_choice("rule", rule, FUTILITY_RULES)
    if rule == "conditional-power" and not 0.0 < threshold < 1.0:
        raise InvalidArgumentError(f"threshold == {threshold}, must be in (0, 1).")
    spend = SPENDING_FAMILIES[spending]
    a_cum = spend(alpha, t) if alpha_spent is None else np.array(alpha_spent, dtype=float)
    b_cum = spend(beta, t)
    if a_cum.shape != t.shape or np.any(np.diff(a_cum, prepend=0.0) < 0):
        raise InvalidArgumentError(f"alpha_spent == {a_cum.tolist()}: one increasing value per look.")
    a_cum[-1], b_cum[-1] = alpha, beta
    a_inc, b_inc = np.diff(a_cum, prepend=0.0), np.diff(b_cum, prepend=0.0)
    fixed_z = None
    if efficacy_z is not None and not binding:
        fixed_z = np.array(efficacy_z, dtype=float)
        if fixed_z.shape != t.shape:
            raise InvalidArgumentError(f"efficacy_z == {fixed_z.tolist()}: one bound per look.")
    cp = None
    if rule == "conditional-power":
        # the final efficacy bound of the design without futility: CP is read against it
        u_final = fixed_z[-1] if fixed_z is not None else _bounds(t, 0.0, a_inc, b_inc, False)[0][-1]
        cp = (float(threshold), float(u_final))
    fixed = float(stats.norm.isf(alpha) + stats.norm.isf(beta))
    theta = solve_brentq(
        lambda th: _bounds(t, th, a_inc, b_inc, binding, fixed_z, cp)[2], fixed * 0.999, fixed * 2.0, "drift"
    )
    upper, lower, _ = _bounds(t, theta, a_inc, b_inc, binding, fixed_z, cp)
    up0, lo0 = crossing_both(upper, lower, t, 0.0)
    up1, lo1 = crossing_both(upper, lower, t, theta)

    def expected(up: Array, lo: Array) -> float:
        stop = up + lo
        stop[-1] = 1.0 - float(np.sum(stop[:-1]))
        return float(np.dot(t, stop))

    return FutilityDesign(
        efficacy_z=upper,
        futility_z=lower,
        information_fractions=t,
        alpha=float(alpha),
        beta=float(beta),
        spending=spending,
        binding=bool(binding),
        drift=float(theta),
        inflation=float((theta / fixed) ** 2),
        alpha_spent=a_cum,
        beta_spent=b_cum,
        type1_error=float(np.sum(up0)),
        power=float(np.sum(up1)),
        expected_fraction_h0=expected(up0, lo0),
        expected_fraction_h1=expected(up1, lo1),
        stop_futility_h0=lo0[:-1],
        stop_futility_h1=lo1[:-1],
    )


def futility_power(design: FutilityDesign, drift: float) -> tuple[float, Array, Array]:
    """(power, efficacy stops per look, futility stops per interim) of ``design`` at ``drift``,
    the mean of the final Z (futility obeyed).

    Examples
    --------
    >>> d = futility_design(3)
    >>> round(futility_power(d, d.drift)[0], 4)
    0.8
    """
    up, lo = crossing_both(design.efficacy_z, design.futility_z, design.information_fractions, drift)
    return float(np.sum(up)), up, lo[:-1]


#: The spending family each efficacy boundary's futility bound follows.
BOUNDARY_FAMILY = {
    "obrien-fleming": "obrien-fleming",
    "ld-obrien-fleming": "obrien-fleming",
    "pocock": "pocock",
    "ld-pocock": "pocock",
}


def sequential_futility(
    looks: int,
    *,
    alpha: float = 0.05,
    power: float = 0.80,
    alternative: str = "two-sided",
    boundary: str = "obrien-fleming",
    futility: str = "beta-spending",
    binding: bool = False,
    threshold: float = 0.1,
) -> FutilityDesign:
    """The futility design of a trial's group-sequential design: its boundary, with futility.

    The efficacy side is the design of :func:`rplsim.design.group_sequential_design` (two-sided:
    its upper bound, at ``alpha / 2`` per side): non-binding futility keeps its bounds exactly;
    binding futility spends the same alpha per look with the futility stops counted. Futility
    follows the boundary's family (:data:`BOUNDARY_FAMILY`), stopping when the Z in favour of
    treatment falls below the bound (so a harmful treatment stops for futility too).

    Examples
    --------
    >>> d = sequential_futility(3, boundary="ld-obrien-fleming")  # rpact asOF + bsOF, alpha 0.025
    >>> [round(float(z), 3) for z in d.futility_z]  # rpact futilityBounds -0.2361 1.1704
    [-0.236, 1.17, 1.993]
    """
    from rplsim.design.sequential import group_sequential_design  # sequential reads recursion too

    if boundary not in BOUNDARY_FAMILY:
        raise InvalidArgumentError(
            f'boundary == "{boundary}" has no futility family; use one of {tuple(BOUNDARY_FAMILY)}.'
        )
    gs = group_sequential_design(looks, alpha=alpha, power=power, alternative=alternative, boundary=boundary)
    sides = 2.0 if alternative == "two-sided" else 1.0
    return futility_design(
        information_fractions=gs.information_fractions,
        alpha=alpha / sides,
        beta=1.0 - power,
        spending=BOUNDARY_FAMILY[boundary],
        binding=binding,
        rule=futility,
        threshold=threshold,
        alpha_spent=np.array(gs.cumulative_alpha) / sides,
        efficacy_z=gs.efficacy_z,
    )
