"""The registry of analytic methods for two proportions: power and sample-size formulas.

Group 1 is the control arm (rate ``pc``), group 2 the treatment arm (``pt``,
``n_treatment = ratio * n_control``). Each :class:`AnalyticMethod` holds its power function
(of the control-arm size, fractional allowed) and its unrounded fixed-design sample size;
:func:`rplsim.design.sample_size` and :func:`rplsim.design.power_two_proportions` look the
method up here, so adding a method is one pair of functions and one entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

from rplsim._core.registry import NameView, Registry
from rplsim.design.arms import arm_size
from rplsim.design.exact import exact_power
from rplsim.exceptions import ConvergenceError, InvalidArgumentError
from rplsim.stats.farrington_manning import fm_restricted_rates

__all__ = [
    "ANALYSIS_METHOD",
    "ANALYTIC_METHODS",
    "METHODS",
    "NON_INFERIORITY_ANALYSIS_METHOD",
    "AnalyticMethod",
    "fixed_n_many",
    "fm_restricted_mle",
    "get_method",
    "register_method",
    "resolve_method",
    "z_alpha",
]

#: ``power(n, pc, pt, alpha, alternative, ratio, margin)`` with ``n`` the control-arm size(s).
PowerFunction = Callable[[NDArray[np.float64], float, float, float, str, float, float], NDArray[np.float64]]
#: ``fixed_n(pc, pt, alpha, power, alternative, ratio, margin)``: unrounded control-arm size.
FixedNFunction = Callable[[float, float, float, float, str, float, float], float]


@dataclass(frozen=True)
class AnalyticMethod:
    """A registered analytic method.

    Attributes
    ----------
    name : str
        The ``method`` argument of :func:`~rplsim.design.sample_size`.
    power : callable
        Power at control-arm size(s) ``n`` (see :data:`PowerFunction`).
    fixed_n : callable
        Unrounded fixed-design control-arm size; for a ``searched`` method, the start of the
        search.
    non_inferiority : bool
        Tests ``H0: p_t - p_c <= -margin`` (needs ``margin > 0``, ``alternative="larger"``).
    searched : bool
        The sample size is the smallest ``n`` whose (saw-toothed) power reaches the target,
        found by stepping ``n``, not by a formula.
    sequential : bool
        Allowed with ``looks > 1`` (normal-theory methods only).
    description : str
        One line for the documentation.
    """

    name: str
    power: PowerFunction
    fixed_n: FixedNFunction
    non_inferiority: bool = False
    searched: bool = False
    sequential: bool = True
    description: str = ""


ANALYTIC_METHODS: Registry[AnalyticMethod] = Registry("method")
#: The registered method names, a live view that prints as a tuple.
METHODS: NameView = ANALYTIC_METHODS.names


def register_method(method: AnalyticMethod, *, replace: bool = False) -> AnalyticMethod:
    """Register ``method`` under ``method.name`` and return it."""
    ANALYTIC_METHODS.register(method.name, method, replace=replace)
    return method


def get_method(name: str) -> AnalyticMethod:
    """The method registered as ``name``.

    Raises
    ------
    InvalidArgumentError
        For an unknown name, listing the registered ones.

    Examples
    --------
    >>> get_method("exact").searched
    True
    """
    return ANALYTIC_METHODS.lookup(name)


#: The analytic method that sizes each scenario analysis (``trial.analysis``, the names of
#: :data:`rplsim.stats.ANALYSES`), so that ``sample_size(method=trial.analysis)`` sizes with the
#: test the trial is analysed with. chi2 is the pooled z test without continuity correction
#: (Pearson's chi-square), i.e. ``"normal"``; fisher is Fisher's exact test, ``"exact"``. CMH
#: and logistic regression have no formula of their own here: both are sized with the normal
#: formula of the pooled z test, their large-sample equivalent in one stratum (an
#: approximation; simulate them to check). Boschloo's test is sized with the normal formula
#: too: it is never less powerful than Fisher's (it rejects wherever Fisher's one-sided test does)
#: and its power is close to the unconditional z test's, so the normal n is a close start for
#: the exact search (``"exact"``, Fisher's power, would start it above the answer).
ANALYSIS_METHOD: dict[str, str] = {
    "chi2": "normal",
    "fisher": "exact",
    "cmh": "normal",
    "logistic": "normal",
    "boschloo": "normal",
}
#: With a non-inferiority margin the chi2 analysis is the Farrington-Manning score test.
NON_INFERIORITY_ANALYSIS_METHOD: dict[str, str] = {"chi2": "farrington-manning"}


def resolve_method(name: str, margin: float = 0.0) -> str:
    """The registered method name for a method name or a scenario analysis name.

    Parameters
    ----------
    name : str
        A method of :data:`METHODS` (returned as is) or a key of :data:`ANALYSIS_METHOD`.
    margin : float, default 0.0
        Non-inferiority margin; with ``margin > 0`` an analysis name maps through
        :data:`NON_INFERIORITY_ANALYSIS_METHOD`.

    Returns
    -------
    str

    Raises
    ------
    InvalidArgumentError
        For a name in neither vocabulary (both are listed), or an analysis with no
        non-inferiority formula when ``margin > 0``.

    Examples
    --------
    >>> resolve_method("fisher"), resolve_method("chi2"), resolve_method("chi2", margin=0.1)
    ('exact', 'normal', 'farrington-manning')
    """
    if name in ANALYTIC_METHODS:
        return name
    if name in ANALYSIS_METHOD:
        if isinstance(margin, (int, float)) and margin > 0:
            if name not in NON_INFERIORITY_ANALYSIS_METHOD:
                raise InvalidArgumentError(
                    f"method == {name!r} with margin == {margin}: no non-inferiority formula for "
                    f"the {name} analysis; use one of {tuple(NON_INFERIORITY_ANALYSIS_METHOD)!r} "
                    "or method='farrington-manning'."
                )
            return NON_INFERIORITY_ANALYSIS_METHOD[name]
        return ANALYSIS_METHOD[name]
    raise InvalidArgumentError(
        f"method == {name!r}, must be a method {METHODS!r} or a trial analysis {tuple(ANALYSIS_METHOD)!r}."
    )


def z_alpha(alpha: float, alternative: str) -> float:
    """Critical value of the fixed-design z test: ``z_(1 - alpha/2)`` two-sided, else ``z_(1 - alpha)``."""
    return float(stats.norm.isf(alpha / 2.0 if alternative == "two-sided" else alpha))


def fm_restricted_mle(
    p_control: float, p_treatment: float, margin: float, ratio: float = 1.0
) -> tuple[float, float]:
    """Rates maximising the likelihood under ``p_treatment - p_control = -margin``.

    Closed form of Farrington & Manning (1990, §2, eq. 5; the root of a cubic), applied to
    the expected rates as the sample-size formula requires
    (:func:`rplsim.stats.fm_restricted_rates` with ``theta = 1 / ratio``).

    Parameters
    ----------
    p_control, p_treatment : float
        Observed (or assumed) rates.
    margin : float
        Non-inferiority margin ``delta``; the constraint is ``p_t - p_c = -delta``.
    ratio : float, default 1.0
        ``n_treatment / n_control``.

    Returns
    -------
    tuple of float
        ``(p_control_tilde, p_treatment_tilde)``.

    Examples
    --------
    >>> pc, pt = fm_restricted_mle(0.8, 0.8, 0.1)
    >>> round(pc - pt, 12)
    0.1
    """
    pt_tilde, pc_tilde = fm_restricted_rates(
        float(p_treatment), float(p_control), 1.0 / ratio, -float(margin)
    )
    return pc_tilde, pt_tilde


def _sd_h1(pc: float, pt: float, ratio: float) -> float:
    """Per-control-patient sd of the difference under H1 (unpooled)."""
    return math.sqrt(pc * (1 - pc) + pt * (1 - pt) / ratio)


def _sd_pooled(pc: float, pt: float, ratio: float) -> float:
    """Per-control-patient sd of the difference under H0, at the pooled rate."""
    pbar = (pc + ratio * pt) / (1.0 + ratio)
    return math.sqrt(pbar * (1 - pbar) * (1.0 + 1.0 / ratio))


def _sd_fm(pc: float, pt: float, ratio: float, margin: float) -> float:
    """Per-control-patient sd under H0 at the Farrington-Manning restricted rates."""
    qc, qt = fm_restricted_mle(pc, pt, margin, ratio)
    return math.sqrt(qc * (1 - qc) + qt * (1 - qt) / ratio)


def _z_power(
    n: NDArray[np.float64], effect: float | NDArray[np.float64], sd0: float, sd1: float, z_a: float
) -> NDArray[np.float64]:
    out: NDArray[np.float64] = special.ndtr((effect * np.sqrt(n) - z_a * sd0) / sd1)
    return out


def _normal_power(
    n: NDArray[np.float64], pc: float, pt: float, alpha: float, alternative: str, ratio: float, margin: float
) -> NDArray[np.float64]:
    z_a = z_alpha(alpha, alternative)
    return _z_power(n, abs(pt - pc), _sd_pooled(pc, pt, ratio), _sd_h1(pc, pt, ratio), z_a)


def _continuity_power(
    n: NDArray[np.float64], pc: float, pt: float, alpha: float, alternative: str, ratio: float, margin: float
) -> NDArray[np.float64]:
    z_a = z_alpha(alpha, alternative)
    # Subtracting the correction (1 + 1/r) / (2 n) from |Delta| inverts eq. 4.17 exactly.
    effect = np.maximum(abs(pt - pc) - (1.0 + 1.0 / ratio) / (2.0 * n), 0.0)
    return _z_power(n, effect, _sd_pooled(pc, pt, ratio), _sd_h1(pc, pt, ratio), z_a)


def _fm_power(
    n: NDArray[np.float64], pc: float, pt: float, alpha: float, alternative: str, ratio: float, margin: float
) -> NDArray[np.float64]:
    z_a = z_alpha(alpha, alternative)
    return _z_power(n, pt - pc + margin, _sd_fm(pc, pt, ratio, margin), _sd_h1(pc, pt, ratio), z_a)


def _arcsine_power(
    n: NDArray[np.float64], pc: float, pt: float, alpha: float, alternative: str, ratio: float, margin: float
) -> NDArray[np.float64]:
    # statsmodels NormalIndPower: effective n = 1 / (1/n1 + 1/n2), both tails when two-sided.
    h = 2.0 * math.asin(math.sqrt(pt)) - 2.0 * math.asin(math.sqrt(pc))
    root_n = np.sqrt(n * ratio / (1.0 + ratio))
    out: NDArray[np.float64]
    if alternative == "two-sided":
        crit = float(stats.norm.isf(alpha / 2.0))
        out = special.ndtr(h * root_n - crit) + special.ndtr(-h * root_n - crit)
        return out
    crit = float(stats.norm.isf(alpha))
    sign = 1.0 if alternative == "larger" else -1.0
    out = special.ndtr(sign * h * root_n - crit)
    return out


def _exact_power(
    n: NDArray[np.float64], pc: float, pt: float, alpha: float, alternative: str, ratio: float, margin: float
) -> NDArray[np.float64]:
    sizes = [math.ceil(v) for v in n.ravel()]
    flat = [exact_power(pc, pt, m, arm_size(ratio, m), alpha=alpha, alternative=alternative) for m in sizes]
    return np.asarray(flat).reshape(n.shape)


def _z_beta(power: float) -> float:
    return float(stats.norm.isf(1.0 - power))


def _normal_n_of(pc: Any, pt: Any, z_a: float, z_b: float, ratio: float) -> Any:
    """Fleiss eq. 4.14 on floats or arrays alike (one formula for :func:`_normal_n` and
    :func:`fixed_n_many`)."""
    pbar = (pc + ratio * pt) / (1.0 + ratio)
    sd0 = np.sqrt(pbar * (1 - pbar) * (1.0 + 1.0 / ratio))
    sd1 = np.sqrt(pc * (1 - pc) + pt * (1 - pt) / ratio)
    return ((z_a * sd0 + z_b * sd1) / np.abs(pt - pc)) ** 2


def _continuity_of(n: Any, pc: Any, pt: Any, ratio: float) -> Any:
    """Fleiss eq. 4.17 generalised to allocation ``ratio``, on floats or arrays alike."""
    return n / 4.0 * (1.0 + np.sqrt(1.0 + 2.0 * (ratio + 1.0) / (ratio * n * np.abs(pt - pc)))) ** 2


def _normal_n(
    pc: float, pt: float, alpha: float, power: float, alternative: str, ratio: float, margin: float
) -> float:
    return float(_normal_n_of(pc, pt, z_alpha(alpha, alternative), _z_beta(power), ratio))


def _continuity_n(
    pc: float, pt: float, alpha: float, power: float, alternative: str, ratio: float, margin: float
) -> float:
    n = _normal_n(pc, pt, alpha, power, alternative, ratio, margin)
    return float(_continuity_of(n, pc, pt, ratio))


def fixed_n_many(
    method: str,
    p_control: NDArray[np.float64],
    p_treatment: NDArray[np.float64],
    *,
    alpha: float,
    power: float,
    alternative: str,
    ratio: float,
) -> NDArray[np.float64]:
    """The unrounded control-arm n of a superiority ``method`` at many rate pairs at once: the
    normal and continuity formulas as arrays (the quantiles computed once), any other method
    rate pair by rate pair. (A blinded re-estimation sizes every pooled rate of its pilot.)

    Examples
    --------
    >>> n = fixed_n_many("normal", np.array([0.6, 0.7]), np.array([0.8, 0.9]), alpha=0.05,
    ...                  power=0.8, alternative="two-sided", ratio=1.0)
    >>> [round(float(x), 2) for x in n], round(_normal_n(0.6, 0.8, 0.05, 0.8, "two-sided", 1.0, 0.0), 2)
    ([81.22, 61.6], 81.22)
    """
    pc, pt = np.asarray(p_control, dtype=float), np.asarray(p_treatment, dtype=float)
    if method in ("normal", "continuity"):
        n = _normal_n_of(pc, pt, z_alpha(alpha, alternative), _z_beta(power), ratio)
        out: NDArray[np.float64] = _continuity_of(n, pc, pt, ratio) if method == "continuity" else n
        return out
    m = get_method(method)
    flat = [
        m.fixed_n(float(a), float(b), alpha, power, alternative, ratio, 0.0)
        for a, b in zip(pc, pt, strict=True)
    ]
    return np.asarray(flat, dtype=float)


def _fm_n(
    pc: float, pt: float, alpha: float, power: float, alternative: str, ratio: float, margin: float
) -> float:
    z_a, z_b = z_alpha(alpha, alternative), _z_beta(power)
    sd0, sd1 = _sd_fm(pc, pt, ratio, margin), _sd_h1(pc, pt, ratio)
    return float(((z_a * sd0 + z_b * sd1) / (pt - pc + margin)) ** 2)


# Doublings of the arcsine bracket from 4x the normal n (2^40: a trillion times that n).
_MAX_DOUBLINGS = 40


def _arcsine_n(
    pc: float, pt: float, alpha: float, power: float, alternative: str, ratio: float, margin: float
) -> float:
    # statsmodels' solve_power equation (both tails if two-sided): ceil agrees to the patient.
    start = _normal_n(pc, pt, alpha, power, alternative, ratio, 0.0)

    def shortfall(n: float) -> float:
        return float(_arcsine_power(np.asarray(n), pc, pt, alpha, alternative, ratio, 0.0)) - power

    lo, hi = 1e-6, max(4.0 * start, 10.0)
    for _ in range(_MAX_DOUBLINGS):  # a bound: the power may never reach the target
        if shortfall(hi) >= 0:
            break
        hi *= 2.0
    else:
        raise ConvergenceError(
            f"arcsine sample size: power never reaches {power:g}: at n == {hi:.3g} per arm it is "
            f"{shortfall(hi) + power:.3g} (p_control {pc:g}, p_treatment {pt:g}, {alternative})."
        )
    try:
        return float(optimize.brentq(shortfall, lo, hi, xtol=1e-10, rtol=1e-14))
    except ValueError as err:
        raise ConvergenceError(f"arcsine sample size did not converge: {err}") from err


register_method(
    AnalyticMethod(
        "normal", _normal_power, _normal_n, description="z test, pooled variance under H0 (Fleiss eq. 4.14)"
    )
)
register_method(
    AnalyticMethod(
        "arcsine", _arcsine_power, _arcsine_n, description="z test on Cohen's h (statsmodels NormalIndPower)"
    )
)
register_method(
    AnalyticMethod(
        "continuity",
        _continuity_power,
        _continuity_n,
        description="z test with the continuity correction of Fleiss eq. 4.17",
    )
)
register_method(
    AnalyticMethod(
        "exact",
        _exact_power,
        _normal_n,
        searched=True,
        sequential=False,
        description="Fisher's exact test, power summed over all tables",
    )
)
register_method(
    AnalyticMethod(
        "farrington-manning",
        _fm_power,
        _fm_n,
        non_inferiority=True,
        description="non-inferiority score test with the restricted-MLE variance (Farrington & Manning 1990)",
    )
)
