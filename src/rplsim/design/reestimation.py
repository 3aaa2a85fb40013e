"""Blinded sample-size re-estimation of a two-arm binary trial, exactly (issue 16 groundwork).

An internal pilot (Gould 1992; Kieser & Friede 2003; R ``blindrecalc``): after ``at`` of the
planned outcomes, the *pooled* live-birth rate (arms not unblinded) and the allocation give the
control and treated rates that reproduce it under the planned effect held fixed (an odds ratio or
a difference, :func:`rates_for_pooled`); the sample size is solved again at those rates by the
trial's own sizing function, kept within ``[min_factor, max_factor]`` times the planned n, and the
trial goes on to the new n; the final analysis is the usual test on all women.

:func:`blinded_reestimation` computes its operating characteristics with no Monte-Carlo error, as
``blindrecalc`` does for ``toer``, ``pow`` and ``n_dist``: the new n depends on the first stage only
through its pooled count ``S1``, so for each new n the final rejection region ``R`` (the registered
test on every table) is carried back to the first stage by the second stage's binomials,
``M = B_c R B_t'`` with ``B`` the banded matrices of second-stage births, and summed against the
first stage's probabilities. No dropout: every randomised woman is analysed (the scenario layer
will inflate for it).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from rplsim._core.validation import check_choice
from rplsim._core.vocabulary import ALTERNATIVES
from rplsim.design.exact import check_rate
from rplsim.exceptions import InvalidArgumentError
from rplsim.stats.pvalues import Alternative
from rplsim.stats.registry import LookData, get_analysis

__all__ = ["EFFECTS", "ReestimationOC", "blinded_reestimation", "rates_for_pooled"]

Array = NDArray[np.float64]

#: Which planned effect the re-estimation holds fixed.
EFFECTS = ("odds-ratio", "difference")
_EDGE = 1e-9


def rates_for_pooled(pooled: Array | float, ratio: float, effect: str, value: float) -> tuple[Array, Array]:
    """The control and treated rates whose allocation-weighted mean is ``pooled`` with the effect
    held at ``value`` (an odds ratio treated vs control, or the difference ``p_t - p_c``).

    Examples
    --------
    >>> pc, pt = rates_for_pooled(0.70, 1.0, "odds-ratio", (0.807 / 0.193) / (0.6 / 0.4))
    >>> round(float(pc), 4), round(float(pt), 4), round(float((pc + pt) / 2), 4)
    (0.5958, 0.8042, 0.7)
    """
    if effect not in EFFECTS:
        raise InvalidArgumentError(f'effect == "{effect}", must be one of "odds-ratio", "difference".')
    q = np.clip(np.asarray(pooled, dtype=float), _EDGE, 1 - _EDGE)
    w = ratio / (1.0 + ratio)
    if effect == "difference":
        pc = np.clip(q - w * value, _EDGE, 1 - _EDGE)
        return pc, np.clip(pc + value, _EDGE, 1 - _EDGE)
    log_or = math.log(value)
    # the weighted mean increases with p_c: bisection on the logit scale, all at once, to a
    # bracket of 8e-5, then Newton's steps inside it (quadratic from there: 4 steps reach the
    # double's precision; 100 bisections cost 4x as much for the same root)
    lo, hi = np.full(q.shape, -40.0), np.full(q.shape, 40.0)
    for _ in range(20):
        mid = (lo + hi) / 2
        mean = (1 - w) * special.expit(mid) + w * special.expit(mid + log_or)
        lo, hi = np.where(mean < q, mid, lo), np.where(mean < q, hi, mid)
    lc = (lo + hi) / 2
    for _ in range(4):
        a, b = special.expit(lc), special.expit(lc + log_or)
        slope = (1 - w) * a * (1 - a) + w * b * (1 - b)
        lc = np.clip(lc - ((1 - w) * a + w * b - q) / slope, lo, hi)
    return special.expit(lc), special.expit(lc + log_or)


@dataclass(frozen=True)
class ReestimationOC:
    """Exact operating characteristics of a blinded re-estimation design.

    Attributes
    ----------
    power : float
        P(reject in favour of treatment) at the true rates.
    type1_error : float
        P(reject at all) with both arms at the true control rate (less the margin).
    n_values, n_probabilities : numpy.ndarray
        The distribution of the final control-arm size at the true rates.
    expected_n_control : float
        Its mean; ``expected_n_control_null`` under the null.
    first_stage : tuple of int
        Control and treated women at re-estimation.
    rejection : float
        P(reject at all) at the true rates.
    n_probabilities_null : numpy.ndarray
        The distribution of the final control-arm size (over ``n_values``) under the null.
    margin, max_error : float
        The test's margin, and the probability left out of the sums (0: nothing truncated).
    """

    power: float
    type1_error: float
    n_values: NDArray[np.int64]
    n_probabilities: Array
    expected_n_control: float
    expected_n_control_null: float
    first_stage: tuple[int, int]
    rejection: float = float("nan")
    n_probabilities_null: Array | None = None
    margin: float = 0.0
    max_error: float = 0.0


def _regions(
    n_c: int, n_t: int, analysis: str, alpha: float, alternative: str, margin: float
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(in favour, at all) rejection of the registered test on every table of (n_c, n_t)."""
    xc, xt = np.meshgrid(np.arange(n_c + 1), np.arange(n_t + 1), indexing="ij")
    data = LookData(
        x_t=xt.ravel(), n_t=np.full(xt.size, n_t), x_c=xc.ravel(), n_c=np.full(xc.size, n_c),
        strata_counts=np.stack([xt.ravel(), np.full(xt.size, n_t), xc.ravel(), np.full(xc.size, n_c)],
                               axis=1)[:, :, None],
        alternative=cast(Alternative, alternative), margin=margin,
    )  # fmt: skip
    p, sign = get_analysis(analysis).function(data)
    rej = np.nan_to_num(np.asarray(p, dtype=float), nan=1.0) <= alpha
    good = rej & (np.asarray(sign) > 0) if alternative == "two-sided" else rej
    return good.reshape(n_c + 1, n_t + 1), rej.reshape(n_c + 1, n_t + 1)


def _band(n1: int, n2: int, p: float) -> Array:
    """B[x1, x] = P(Binomial(n2, p) = x - x1): second-stage births carried to the final count."""
    b = stats.binom.pmf(np.arange(n2 + 1), n2, p)
    out = np.zeros((n1 + 1, n1 + n2 + 1))
    for x1 in range(n1 + 1):
        out[x1, x1 : x1 + n2 + 1] = b
    return out


def blinded_reestimation(
    n_control: int,
    n_treatment: int,
    *,
    at: float,
    p_control: float,
    p_treatment: float,
    effect: str,
    effect_value: float,
    size: Callable[[float, float], int] | None,
    new_control: NDArray[np.int64] | None = None,
    min_factor: float = 1.0,
    max_factor: float = 2.0,
    analysis: str = "chi2",
    alpha: float = 0.05,
    alternative: str = "two-sided",
    margin: float = 0.0,
) -> ReestimationOC:
    """Exact power, type-I error and final-n distribution of blinded re-estimation.

    Parameters
    ----------
    n_control, n_treatment : int
        Planned women per arm (all analysed).
    at : float
        Share of the planned women whose outcome is known at re-estimation, in (0, 1).
    p_control, p_treatment : float
        The true rates.
    effect, effect_value
        The planned effect held fixed: ``"odds-ratio"`` and its value, or ``"difference"``.
    size : callable or None
        ``size(p_c, p_t)`` -> control-arm n the trial's sizing method needs at those rates.
    new_control : numpy.ndarray, optional
        Instead of ``size``: the new control-arm n for each first-stage pooled count
        ``s = 0 .. n1c + n1t`` (still kept within the bounds below).
    min_factor, max_factor : float
        The new control-arm n is kept within these multiples of ``n_control`` (and at least the
        first stage).
    analysis, alpha, alternative, margin
        The final test (a registered count analysis) and its level.

    Returns
    -------
    ReestimationOC

    Examples
    --------
    >>> from rplsim.design.analytic import sample_size
    >>> def size(pc, pt):
    ...     return sample_size(pc, pt, power=0.8).n_control
    >>> odds = (0.807 / 0.193) / (0.6 / 0.4)
    >>> oc = blinded_reestimation(60, 60, at=0.5, p_control=0.7, p_treatment=0.8667,
    ...     effect="odds-ratio", effect_value=odds, size=size)
    >>> round(oc.power, 3), oc.first_stage, int(oc.n_values.max()) <= 120
    (0.816, (30, 30), True)
    """
    check_choice("alternative", alternative, ALTERNATIVES)
    if not 0.0 < at < 1.0:
        raise InvalidArgumentError(f"at == {at!r}, must be in (0, 1).")
    if not 1.0 <= min_factor <= max_factor:
        raise InvalidArgumentError(
            f"min_factor == {min_factor}, max_factor == {max_factor}: need 1 <= min <= max."
        )
    pc, pt = check_rate("p_control", p_control), check_rate("p_treatment", p_treatment)
    ratio = n_treatment / n_control
    # a hair of tolerance, so 0.55 * 100 = 55.000000000000001 is 55 (as the scenario layer rounds)
    n1c, n1t = math.ceil(at * n_control - 1e-9), math.ceil(at * n_treatment - 1e-9)
    s1 = np.arange(n1c + n1t + 1)
    pooled_c, pooled_t = rates_for_pooled(s1 / (n1c + n1t), ratio, effect, effect_value)
    lo_n = max(n1c, math.ceil(min_factor * n_control - 1e-9))
    hi_n = math.floor(max_factor * n_control + 1e-9)
    if new_control is not None:
        wanted = np.asarray(new_control, dtype=np.int64)
        if wanted.shape != s1.shape:
            raise InvalidArgumentError(f"new_control has {wanted.size} entries, must have {s1.size}.")
    elif size is not None:
        wanted = np.array([int(size(float(a), float(b))) for a, b in zip(pooled_c, pooled_t, strict=True)])
    else:
        raise InvalidArgumentError("give size or new_control.")
    new_c = np.clip(wanted, lo_n, hi_n)
    new_t = np.maximum(np.ceil(ratio * new_c - 1e-9).astype(int), n1t)
    pairs = sorted(set(zip(new_c.tolist(), new_t.tolist(), strict=True)))
    regions = {(nc, nt): _regions(nc, nt, analysis, alpha, alternative, margin) for nc, nt in pairs}
    s_of = np.add.outer(np.arange(n1c + 1), np.arange(n1t + 1))
    out = {}
    for label, (qc, qt) in (("h1", (pc, pt)), ("h0", (pc, pc - margin))):
        first = np.outer(
            stats.binom.pmf(np.arange(n1c + 1), n1c, qc), stats.binom.pmf(np.arange(n1t + 1), n1t, qt)
        )
        p_s = np.bincount(s_of.ravel(), weights=first.ravel(), minlength=s1.size)
        good_sum = any_sum = 0.0
        for nc, nt in pairs:
            cells = ((new_c == nc) & (new_t == nt))[s_of]  # first-stage tables that lead to this n
            bc, bt = _band(n1c, nc - n1c, qc), _band(n1t, nt - n1t, qt)
            sums = []
            for region in regions[(nc, nt)]:
                # M = B_c R B_t' in two steps; einsum, not @: BLAS would make the last bits depend
                # on the thread count
                m = np.einsum("ib,jb->ij", np.einsum("ia,ab->ib", bc, region.astype(float)), bt)
                sums.append(float(np.sum(first[cells] * m[cells])))
            good_sum += sums[0]
            any_sum += sums[1]
        out[label] = (good_sum, any_sum, p_s)
    power, rejection, p_s1 = out["h1"]
    _, type1, p_s0 = out["h0"]
    values = np.unique(new_c)
    probs = np.array([p_s1[new_c == v].sum() for v in values])
    probs0 = np.array([p_s0[new_c == v].sum() for v in values])
    return ReestimationOC(
        power=float(min(power, 1.0)),
        rejection=float(min(rejection, 1.0)),
        n_probabilities_null=probs0,
        margin=float(margin),
        type1_error=float(min(type1, 1.0)),
        n_values=values,
        n_probabilities=probs,
        expected_n_control=float(np.dot(p_s1, new_c)),
        expected_n_control_null=float(np.dot(p_s0, new_c)),
        first_stage=(n1c, n1t),
    )
