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

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from rplsim._core.validation import check_integer
from rplsim.design.boundaries import _ld_obrien_fleming_spent, _ld_pocock_spent
from rplsim.design.recursion import Recursion, check_fractions, crossing_both, solve_brentq
from rplsim.exceptions import InvalidArgumentError

__all__ = ["SPENDING_FAMILIES", "FutilityDesign", "futility_design"]

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


def _bounds(t: Array, theta: float, a_inc: Array, b_inc: Array, binding: bool) -> tuple[Array, Array, float]:
    """Efficacy and futility bounds at drift ``theta``; and the final look's beta shortfall
    (beta still to spend at K minus what ``l_K = u_K`` spends: zero at the solved drift)."""
    k_max = t.size
    rec0, rec1 = Recursion(t, 0.0), Recursion(t, theta)
    upper, lower = np.empty(k_max), np.empty(k_max)
    for k in range(k_max):
        if rec0.cross(-10.0, -np.inf)[0] < a_inc[k]:
            # binding futility at a drift too large: too few trials go on under H0 to spend this
            # look's alpha; as when every trial stops, the last look's beta falls short
            upper[k:] = upper[k - 1]
            lower[k:] = lower[k - 1]
            return upper, lower, -float(b_inc[-1])
        u = solve_brentq(
            lambda c, k=k: rec0.cross(c, -np.inf)[0] - a_inc[k], -10.0, 40.0, f"efficacy bound {k + 1}"
        )
        if k == k_max - 1:
            upper[k] = lower[k] = u
            return upper, lower, rec1.cross(u, u)[1] - b_inc[k]
        if rec1.cross(u, u)[1] <= b_inc[k]:
            low = u  # even stopping below the efficacy bound spends less than this look's beta
        else:
            low = solve_brentq(
                lambda c, k=k, u=u: rec1.cross(u, c)[1] - b_inc[k], _LOW, u, f"futility bound {k + 1}"
            )
        upper[k], lower[k] = u, low
        if low >= u:
            # every trial stops here (a drift too large for these looks): the later looks spend
            # nothing, so the last look's beta falls short by all of its share
            upper[k + 1 :] = lower[k + 1 :] = u
            return upper, lower, -float(b_inc[-1])
        rec0.advance(u, low if binding else -np.inf)
        rec1.advance(u, low)
    raise AssertionError("unreachable")


def futility_design(
    looks: int | None = None,
    *,
    information_fractions: Any = None,
    alpha: float = 0.025,
    beta: float = 0.2,
    spending: str = "obrien-fleming",
    binding: bool = False,
) -> FutilityDesign:
    """Efficacy and beta-spending futility bounds of a one-sided group-sequential design.

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
    spend = SPENDING_FAMILIES[spending]
    a_cum, b_cum = spend(alpha, t), spend(beta, t)
    a_cum[-1], b_cum[-1] = alpha, beta
    a_inc, b_inc = np.diff(a_cum, prepend=0.0), np.diff(b_cum, prepend=0.0)
    fixed = float(stats.norm.isf(alpha) + stats.norm.isf(beta))
    theta = solve_brentq(
        lambda th: _bounds(t, th, a_inc, b_inc, binding)[2], fixed * 0.999, fixed * 2.0, "drift"
    )
    upper, lower, _ = _bounds(t, theta, a_inc, b_inc, binding)
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
