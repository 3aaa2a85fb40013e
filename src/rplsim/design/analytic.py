"""Analytic sample size and power for comparing two proportions.

Group 1 is the control arm (rate ``p_control``, ``n_control`` patients), group 2 the
treatment arm (``p_treatment``, ``n_treatment = ratio * n_control``). Methods:

- ``"normal"``: the z test of Fleiss, Levin & Paik (2003, §4.2, eq. 4.14) without continuity
  correction -- pooled variance under H0, unpooled under H1 (the default of rpact and most
  textbooks).
- ``"continuity"``: the same with the continuity correction of Fleiss, Levin & Paik (2003,
  §4.3, eq. 4.17, after Kramer & Greenhouse 1959), generalised to unequal allocation as
  ``n' = n/4 (1 + sqrt(1 + 2 (r + 1) / (r n |Delta|)))^2``.
- ``"arcsine"``: the normal test on Cohen's ``h = 2 asin sqrt(p_t) - 2 asin sqrt(p_c)``, as
  ``statsmodels.stats.power.NormalIndPower`` computes it.
- ``"exact"``: Fisher's exact (conditional) test; its power is summed exactly over all tables.
- ``"farrington-manning"``: non-inferiority test of ``H0: p_t - p_c <= -margin`` with the
  restricted maximum-likelihood variance of Farrington & Manning (1990).

Group-sequential designs (``looks > 1``) inflate the fixed sample size by the factor of
:func:`rplsim.sequential.group_sequential_design`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from rplsim._core.validation import check_integer
from rplsim.design.sequential import BOUNDARIES, crossing_probabilities, group_sequential_design
from rplsim.exceptions import ConvergenceError, ScenarioError

__all__ = [
    "METHODS",
    "SampleSize",
    "exact_power",
    "fm_restricted_mle",
    "power_two_proportions",
    "sample_size",
]

METHODS = ("normal", "arcsine", "continuity", "exact", "farrington-manning")
_ALTERNATIVES = ("two-sided", "larger", "smaller")
# Above this many patients per arm the exact power (O(n^2) tables) is too slow to search.
_EXACT_MAX_N = 3000


@dataclass(frozen=True)
class SampleSize:
    """The sample size of a two-arm trial comparing proportions, and how it was obtained.

    Attributes
    ----------
    n_control, n_treatment, n_total : int
        Patients per arm (maximum per arm for sequential designs) and in total.
    p_control, p_treatment : float
        Event rates assumed under H1.
    alpha, power : float
        Type-I error and target power.
    achieved_power : float
        Power at the rounded ``n`` by the method's own formula (the exact power for
        ``"exact"``; the group-sequential power for ``looks > 1``).
    method, alternative : str
        As passed to :func:`sample_size`.
    ratio, margin : float
        Allocation ``n_treatment / n_control`` and non-inferiority margin.
    looks : int
        Number of analyses (1 for a fixed design).
    boundary : str or None
        Group-sequential boundary, ``None`` for a fixed design.
    information_fractions, efficacy_z : tuple of float
        Timing of the looks and the efficacy boundary on the Z scale, one per look.
    inflation_factor : float
        ``n_max / n_fixed``.
    expected_n_h0, expected_n_h1 : float or None
        Expected total sample size under H0 and H1 (sequential designs only).
    notes : str
        Warnings, e.g. the saw-tooth of the exact power.
    """

    n_control: int
    n_treatment: int
    n_total: int
    p_control: float
    p_treatment: float
    alpha: float
    power: float
    achieved_power: float
    method: str
    alternative: str
    ratio: float
    margin: float
    looks: int = 1
    boundary: str | None = None
    information_fractions: tuple[float, ...] = ()
    efficacy_z: tuple[float, ...] = ()
    inflation_factor: float = 1.0
    expected_n_h0: float | None = None
    expected_n_h1: float | None = None
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the result as a flat ``dict`` (one row of a results table)."""
        return asdict(self)


def _check_rate(name: str, value: float) -> float:
    if not isinstance(value, (int, float, np.floating, np.integer)) or not 0.0 < value < 1.0:
        raise ScenarioError(f"{name} == {value!r}, must be in (0, 1).")
    return float(value)


def _check_common(
    p_control: float,
    p_treatment: float,
    alpha: float,
    alternative: str,
    method: str,
    margin: float,
    ratio: float,
) -> tuple[float, float]:
    pc = _check_rate("p_control", p_control)
    pt = _check_rate("p_treatment", p_treatment)
    if not 0.0 < alpha <= 0.5:
        raise ScenarioError(f"alpha == {alpha}, must be in (0, 0.5].")
    if alternative not in _ALTERNATIVES:
        raise ScenarioError(f"alternative == {alternative!r}, must be one of {_ALTERNATIVES}.")
    if method not in METHODS:
        raise ScenarioError(f"method == {method!r}, must be one of {METHODS}.")
    if not ratio > 0 or not math.isfinite(ratio):
        raise ScenarioError(f"ratio == {ratio}, must be > 0.")
    if method == "farrington-manning":
        if not 0.0 < margin < 1.0:
            raise ScenarioError(f"margin == {margin}, must be in (0, 1) for method 'farrington-manning'.")
        if alternative != "larger":
            raise ScenarioError(
                f"alternative == {alternative!r}, must be 'larger' for method "
                "'farrington-manning' (non-inferiority is one-sided)."
            )
        if pt - pc + margin <= 0:
            raise ScenarioError(
                f"p_treatment - p_control + margin == {pt - pc + margin:.6g}, must be > 0 "
                "(the assumed rates must lie in the non-inferiority alternative)."
            )
    elif margin != 0:
        raise ScenarioError(f"margin == {margin}, must be 0 unless method='farrington-manning'.")
    else:
        if pt == pc:
            raise ScenarioError(f"p_treatment == p_control == {pc}, must differ (no effect to detect).")
        if alternative == "larger" and pt < pc:
            raise ScenarioError(f"p_treatment == {pt}, must be > p_control == {pc} for alternative 'larger'.")
        if alternative == "smaller" and pt > pc:
            raise ScenarioError(
                f"p_treatment == {pt}, must be < p_control == {pc} for alternative 'smaller'."
            )
    return pc, pt


def _n_treatment(ratio: float, n_control: int) -> int:
    return math.ceil(ratio * n_control - 1e-9)


def _z_alpha(alpha: float, alternative: str) -> float:
    return float(stats.norm.isf(alpha / 2.0 if alternative == "two-sided" else alpha))


def fm_restricted_mle(
    p_control: float, p_treatment: float, margin: float, ratio: float = 1.0
) -> tuple[float, float]:
    """Rates maximising the likelihood under ``p_treatment - p_control = -margin``.

    Closed form of Farrington & Manning (1990, §2, eq. 5; the root of a cubic), applied to
    the expected rates as the sample-size formula requires.

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
    # FM's group 1 is treatment, group 2 control, theta = n_2 / n_1, constraint p1 - p2 = s.
    p1, p2, theta, s = p_treatment, p_control, 1.0 / ratio, -margin
    a = 1.0 + theta
    b = -(1.0 + theta + p1 + theta * p2 + s * (theta + 2.0))
    c = s * s + s * (2.0 * p1 + theta + 1.0) + p1 + theta * p2
    d = -p1 * s * (1.0 + s)
    v = b**3 / (27.0 * a**3) - b * c / (6.0 * a * a) + d / (2.0 * a)
    u = math.copysign(math.sqrt(max(b * b / (9.0 * a * a) - c / (3.0 * a), 0.0)), v)
    cos_arg = 1.0 if u == 0 else max(-1.0, min(1.0, v / u**3))
    w = (math.pi + math.acos(cos_arg)) / 3.0
    p1_tilde = 2.0 * u * math.cos(w) - b / (3.0 * a)
    return p1_tilde - s, p1_tilde


def _sigmas(pc: float, pt: float, ratio: float, method: str, margin: float) -> tuple[float, float]:
    """Per-control-patient sd of the difference under H0 and under H1."""
    sd1 = math.sqrt(pc * (1 - pc) + pt * (1 - pt) / ratio)
    if method == "farrington-manning":
        qc, qt = fm_restricted_mle(pc, pt, margin, ratio)
        return math.sqrt(qc * (1 - qc) + qt * (1 - qt) / ratio), sd1
    pbar = (pc + ratio * pt) / (1.0 + ratio)
    return math.sqrt(pbar * (1 - pbar) * (1.0 + 1.0 / ratio)), sd1


def _normal_power(
    n: NDArray[np.float64],
    pc: float,
    pt: float,
    z_a: float,
    ratio: float,
    method: str,
    margin: float,
) -> NDArray[np.float64]:
    sd0, sd1 = _sigmas(pc, pt, ratio, method, margin)
    effect = abs(pt - pc) if method != "farrington-manning" else pt - pc + margin
    if method == "continuity":
        # Subtracting the correction (1 + 1/r) / (2 n) from |Delta| inverts eq. 4.17 exactly.
        effect = np.maximum(effect - (1.0 + 1.0 / ratio) / (2.0 * n), 0.0)
    return special.ndtr((effect * np.sqrt(n) - z_a * sd0) / sd1)


def _normal_n(
    pc: float, pt: float, z_a: float, z_b: float, ratio: float, method: str, margin: float
) -> float:
    sd0, sd1 = _sigmas(pc, pt, ratio, method, margin)
    effect = abs(pt - pc) if method != "farrington-manning" else pt - pc + margin
    n = ((z_a * sd0 + z_b * sd1) / effect) ** 2
    if method == "continuity":
        n = n / 4.0 * (1.0 + math.sqrt(1.0 + 2.0 * (ratio + 1.0) / (ratio * n * effect))) ** 2
    return n


def _arcsine_power(
    n: NDArray[np.float64], pc: float, pt: float, alpha: float, alternative: str, ratio: float
) -> NDArray[np.float64]:
    # statsmodels NormalIndPower: effective n = 1 / (1/n1 + 1/n2), both tails when two-sided.
    h = 2.0 * math.asin(math.sqrt(pt)) - 2.0 * math.asin(math.sqrt(pc))
    root_n = np.sqrt(n * ratio / (1.0 + ratio))
    if alternative == "two-sided":
        crit = float(stats.norm.isf(alpha / 2.0))
        return special.ndtr(h * root_n - crit) + special.ndtr(-h * root_n - crit)
    crit = float(stats.norm.isf(alpha))
    sign = 1.0 if alternative == "larger" else -1.0
    return special.ndtr(sign * h * root_n - crit)


def _log_binom_coef(n: int) -> NDArray[np.float64]:
    k = np.arange(n + 1)
    return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)


def exact_power(
    p_control: float,
    p_treatment: float,
    n_control: int,
    n_treatment: int,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> float:
    """Exact power of Fisher's exact test, summed over every possible 2x2 table.

    For each total number of events ``s`` the null (hypergeometric) distribution of the
    control count is tabulated once; the p-value of every table follows from it (two-sided:
    the sum of the probabilities no larger than the observed one, with scipy's relative
    tolerance ``1 + 1e-7``; one-sided: a tail). Power is the binomial probability of the
    tables with ``p <= alpha``. Written by hand because calling ``scipy.stats.fisher_exact``
    on all ``(n_c + 1)(n_t + 1)`` tables is far too slow; the result agrees with it (tested).

    Parameters
    ----------
    p_control, p_treatment : float
        True event rates.
    n_control, n_treatment : int
        Patients per arm.
    alpha : float, default 0.05
        Level; a table is significant if its p-value is ``<= alpha``.
    alternative : {"two-sided", "larger", "smaller"}
        "larger": the treatment rate is larger under H1.

    Returns
    -------
    float

    Raises
    ------
    rplsim.exceptions.ScenarioError
        If an argument is out of range.

    Examples
    --------
    >>> round(exact_power(0.2, 0.8, 10, 10), 4)
    0.6353
    """
    pc = _check_rate("p_control", p_control)
    pt = _check_rate("p_treatment", p_treatment)
    n1 = check_integer("n_control", n_control)
    n2 = check_integer("n_treatment", n_treatment)
    if alternative not in _ALTERNATIVES:
        raise ScenarioError(f"alternative == {alternative!r}, must be one of {_ALTERNATIVES}.")
    total = n1 + n2
    x = np.arange(n1 + 1)[:, None]  # control events
    s = np.arange(total + 1)[None, :]  # total events
    y = s - x
    valid = (y >= 0) & (y <= n2)
    yc = np.clip(y, 0, n2)
    lc1, lc2, lcn = _log_binom_coef(n1), _log_binom_coef(n2), _log_binom_coef(total)
    with np.errstate(invalid="ignore"):
        log_h = lc1[x] + lc2[yc] - lcn[s]
    h = np.where(valid, np.exp(log_h), 0.0)  # hypergeometric pmf of x given s, by column

    if alternative == "two-sided":
        # Offsetting column j by 2j sorts each column within one global sort; then the
        # p-value is the cumulative sum up to the last entry <= the observed pmf.
        offset = 2.0 * np.arange(total + 1)[None, :]
        keys = (h + offset).T.ravel()
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        cums = np.cumsum(h.T.ravel()[order])
        col_start = np.searchsorted(sorted_keys, 2.0 * np.arange(total + 1), side="left")
        idx = np.searchsorted(sorted_keys, (h * (1.0 + 1e-7) + offset).T.ravel(), side="right")
        before = np.where(col_start > 0, cums[np.maximum(col_start - 1, 0)], 0.0)
        pval = (cums[idx - 1] - before[np.arange(total + 1).repeat(n1 + 1)]).reshape(total + 1, n1 + 1).T
    elif alternative == "larger":
        pval = np.cumsum(h, axis=0)  # P(X_control <= x | s)
    else:
        pval = np.cumsum(h[::-1], axis=0)[::-1]  # P(X_control >= x | s)

    log_b1 = lc1 + np.arange(n1 + 1) * math.log(pc) + (n1 - np.arange(n1 + 1)) * math.log1p(-pc)
    log_b2 = lc2 + np.arange(n2 + 1) * math.log(pt) + (n2 - np.arange(n2 + 1)) * math.log1p(-pt)
    prob = np.where(valid, np.exp(log_b1[x] + log_b2[yc]), 0.0)
    # Tolerance as in scipy: floating-point p-values a hair above alpha still count.
    reject = valid & (pval <= alpha * (1.0 + 1e-7))
    return float(np.clip(prob[reject].sum(), 0.0, 1.0))


def power_two_proportions(
    p_control: float,
    p_treatment: float,
    n_control: ArrayLike,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
    method: str = "normal",
    margin: float = 0.0,
    ratio: float = 1.0,
) -> float | NDArray[np.float64]:
    """Analytic power of a fixed-sample comparison of two proportions.

    Parameters
    ----------
    p_control, p_treatment : float
        Event rates under H1.
    n_control : int or array_like of int
        Control-arm size(s); the treatment arm has ``ratio * n_control`` (not rounded, so
        this inverts the sample-size formulas exactly; ``"exact"`` rounds it up).
    alpha : float, default 0.05
        Type-I error (two-sided if ``alternative == "two-sided"``).
    alternative : {"two-sided", "larger", "smaller"}, default "two-sided"
        "larger" means the treatment rate is larger under H1.
    method : {"normal", "arcsine", "continuity", "exact", "farrington-manning"}
        See the module docstring.
    margin : float, default 0.0
        Non-inferiority margin, only (and required) for ``"farrington-manning"``.
    ratio : float, default 1.0
        ``n_treatment / n_control``.

    Returns
    -------
    float or numpy.ndarray
        A float for scalar ``n_control``, else an array of the same shape.

    Raises
    ------
    rplsim.exceptions.ScenarioError
        If an argument is out of range or inconsistent.

    Examples
    --------
    >>> round(float(power_two_proportions(0.6, 0.8, 82)), 3)
    0.804
    """
    pc, pt = _check_common(p_control, p_treatment, alpha, alternative, method, margin, ratio)
    n = np.asarray(n_control, dtype=float)
    if np.any(~np.isfinite(n)) or np.any(n <= 0):
        raise ScenarioError(f"n_control == {n_control!r}, must be > 0.")
    if method == "arcsine":
        out = _arcsine_power(n, pc, pt, alpha, alternative, ratio)
    elif method == "exact":
        sizes = [math.ceil(v) for v in n.ravel()]
        flat = [
            exact_power(pc, pt, m, _n_treatment(ratio, m), alpha=alpha, alternative=alternative)
            for m in sizes
        ]
        out = np.asarray(flat).reshape(n.shape)
    else:
        out = _normal_power(n, pc, pt, _z_alpha(alpha, alternative), ratio, method, margin)
    return float(out) if out.ndim == 0 else out


def _fixed_n(
    pc: float,
    pt: float,
    alpha: float,
    power: float,
    alternative: str,
    method: str,
    margin: float,
    ratio: float,
) -> float:
    """Unrounded control-arm size of a fixed design by the normal-theory methods."""
    z_b = float(stats.norm.isf(1.0 - power))
    if method == "arcsine":
        # statsmodels' solve_power equation (both tails if two-sided): ceil agrees to the patient.
        start = _normal_n(pc, pt, _z_alpha(alpha, alternative), z_b, ratio, "normal", 0.0)

        def shortfall(n: float) -> float:
            return float(_arcsine_power(np.asarray(n), pc, pt, alpha, alternative, ratio)) - power

        lo, hi = 1e-6, max(4.0 * start, 10.0)
        while shortfall(hi) < 0:
            hi *= 2.0
        try:
            return float(optimize.brentq(shortfall, lo, hi, xtol=1e-10, rtol=1e-14))
        except ValueError as err:
            raise ConvergenceError(f"arcsine sample size did not converge: {err}") from err
    return _normal_n(pc, pt, _z_alpha(alpha, alternative), z_b, ratio, method, margin)


def _exact_search(
    pc: float, pt: float, alpha: float, power: float, alternative: str, ratio: float, start: int
) -> tuple[int, float, str]:
    def pw(n1: int) -> float:
        return exact_power(pc, pt, n1, _n_treatment(ratio, n1), alpha=alpha, alternative=alternative)

    n = max(start, 2)
    p = pw(n)
    # Fisher's test is usually less powerful than the z test, but step down in case it is not.
    while p >= power and n > 2 and pw(n - 1) >= power:
        n -= 1
        p = pw(n)
    while p < power:
        n += 1
        if n > _EXACT_MAX_N:
            raise ScenarioError(
                f"exact sample size > {_EXACT_MAX_N} per arm; use method='continuity' instead."
            )
        p = pw(n)
    notes = ""
    # The exact power is saw-toothed in n: report where it next dips below target.
    for m in range(n + 1, math.floor(1.2 * n) + 1):
        pm = pw(m)
        if pm < power:
            notes = f"saw-tooth: exact power drops below target again at n_control == {m} (power {pm:.4f})."
            break
    return n, p, notes


def sample_size(
    p_control: float,
    p_treatment: float,
    *,
    alpha: float = 0.05,
    power: float = 0.80,
    alternative: str = "two-sided",
    method: str = "normal",
    margin: float = 0.0,
    ratio: float = 1.0,
    looks: int = 1,
    boundary: str = "obrien-fleming",
) -> SampleSize:
    """Patients needed to compare two proportions with the given power.

    Parameters
    ----------
    p_control, p_treatment : float
        Event rates assumed under H1, in (0, 1).
    alpha : float, default 0.05
        Type-I error, in (0, 0.5]; two-sided if ``alternative == "two-sided"``.
    power : float, default 0.80
        Target power, in (0.5, 1).
    alternative : {"two-sided", "larger", "smaller"}, default "two-sided"
        "larger" means the treatment rate is larger under H1 (statsmodels' words).
    method : {"normal", "arcsine", "continuity", "exact", "farrington-manning"}
        See the module docstring; ``"farrington-manning"`` needs ``margin > 0`` and
        ``alternative="larger"``.
    margin : float, default 0.0
        Non-inferiority margin ``delta`` (H0: ``p_t - p_c <= -delta``).
    ratio : float, default 1.0
        Allocation ``n_treatment / n_control``; ``n_treatment = ceil(ratio * n_control)``.
    looks : int, default 1
        Number of analyses; ``> 1`` gives a group-sequential design (not with ``"exact"``).
    boundary : str, default "obrien-fleming"
        Boundary of a group-sequential design, one of
        :data:`rplsim.sequential.BOUNDARIES`.

    Returns
    -------
    SampleSize
        Sizes rounded up to whole patients, with the achieved power.

    Raises
    ------
    rplsim.exceptions.ScenarioError
        If an argument is out of range or inconsistent, or an exact design would exceed
        3000 patients per arm.
    rplsim.exceptions.ConvergenceError
        If a numerical solve fails.

    Examples
    --------
    >>> sample_size(0.6, 0.8).n_control  # Fleiss, Levin & Paik eq. 4.14: 81.2 -> 82
    82
    >>> sample_size(0.6, 0.8, method="continuity").n_control  # Fleiss Table A.4: 91
    91
    """
    pc, pt = _check_common(p_control, p_treatment, alpha, alternative, method, margin, ratio)
    if not 0.5 < power < 1.0:
        raise ScenarioError(f"power == {power}, must be in (0.5, 1).")
    check_integer("looks", looks, rule="an integer >= 1")
    if boundary not in BOUNDARIES:
        raise ScenarioError(f"boundary == {boundary!r}, must be one of {BOUNDARIES}.")
    if looks > 1 and method == "exact":
        raise ScenarioError("looks > 1 with method == 'exact', must use a normal-theory method.")
    common: dict[str, Any] = dict(
        p_control=pc,
        p_treatment=pt,
        alpha=float(alpha),
        power=float(power),
        method=method,
        alternative=alternative,
        ratio=float(ratio),
        margin=float(margin),
    )

    if method == "exact":
        start = math.ceil(_fixed_n(pc, pt, alpha, power, alternative, "normal", 0.0, ratio))
        n1, achieved, notes = _exact_search(pc, pt, alpha, power, alternative, ratio, start)
        n2 = _n_treatment(ratio, n1)
        return SampleSize(
            n_control=n1, n_treatment=n2, n_total=n1 + n2, achieved_power=achieved, notes=notes, **common
        )

    n_fixed = _fixed_n(pc, pt, alpha, power, alternative, method, margin, ratio)
    kw: dict[str, Any] = dict(alpha=alpha, alternative=alternative, method=method, margin=margin, ratio=ratio)
    if looks == 1:
        # A hair of tolerance so that an n that is integral up to rounding error is not bumped.
        n1 = math.ceil(n_fixed - 1e-9)
        n2 = _n_treatment(ratio, n1)
        achieved = float(power_two_proportions(pc, pt, n1, **kw))
        return SampleSize(n_control=n1, n_treatment=n2, n_total=n1 + n2, achieved_power=achieved, **common)

    design = group_sequential_design(
        looks, alpha=alpha, power=power, alternative=alternative, boundary=boundary
    )
    n1 = math.ceil(n_fixed * design.inflation_factor - 1e-9)
    n2 = _n_treatment(ratio, n1)
    fixed_power = float(power_two_proportions(pc, pt, n1, **kw))
    # The fixed-design power at n_max defines the drift theta = z_a + z_(power) at n_max.
    drift = _z_alpha(alpha, alternative) + float(stats.norm.ppf(fixed_power))
    crossing = crossing_probabilities(
        design.efficacy_z, design.information_fractions, drift, two_sided=alternative == "two-sided"
    )
    n_total = n1 + n2
    return SampleSize(
        n_control=n1,
        n_treatment=n2,
        n_total=n_total,
        achieved_power=float(crossing.sum()),
        looks=looks,
        boundary=boundary,
        information_fractions=design.information_fractions,
        efficacy_z=design.efficacy_z,
        inflation_factor=design.inflation_factor,
        expected_n_h0=design.expected_info_h0 * n_total,
        expected_n_h1=design.expected_info_h1 * n_total,
        **common,
    )
