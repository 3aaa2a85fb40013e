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

``method`` also takes the scenario's analysis names (``trial.analysis``), mapped to the method
of the same test in one place, :data:`rplsim.design.methods.ANALYSIS_METHOD`: ``"chi2"`` is
``"normal"`` (``"farrington-manning"`` with a margin), ``"fisher"`` is ``"exact"``.

Group-sequential designs (``looks > 1``) inflate the fixed sample size by the factor of
:func:`rplsim.sequential.group_sequential_design`. The methods are
registered in :mod:`rplsim.design.methods`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from rplsim._core.display import Displayed
from rplsim._core.validation import check_alpha, check_choice, check_integer, check_power
from rplsim._core.vocabulary import ALTERNATIVES
from rplsim.design.arms import arm_size
from rplsim.design.exact import check_rate, exact_power
from rplsim.design.futility import FUTILITY_RULES, futility_power, sequential_futility
from rplsim.design.methods import (
    ANALYTIC_METHODS,
    METHODS,
    fm_restricted_mle,
    get_method,
    resolve_method,
    z_alpha,
)
from rplsim.design.sequential import BOUNDARIES, group_sequential_design, group_sequential_power
from rplsim.exceptions import InvalidArgumentError

__all__ = [
    "METHODS",
    "SampleSize",
    "exact_power",
    "fm_restricted_mle",
    "power_two_proportions",
    "sample_size",
]

# Above this many patients per arm the exact power (O(n^2) tables) is too slow to search.
_EXACT_MAX_N = 3000
# The exact search's work, in 2x2 tables summed over the n it evaluates (2-10 s here): the
# one-by-one search near 1,500 per arm took 7 minutes before this bound.
_EXACT_MAX_TABLES = 10_000_000
#: From this control-arm size on, the exact search bisects instead of stepping by one.
_BISECT_FROM = 200


@dataclass(frozen=True, repr=False)
class SampleSize(Displayed):
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
        Expected total sample size under H0 and H1 (sequential designs only; with futility,
        the futility stops obeyed).
    notes : str
        Warnings, e.g. the saw-tooth of the exact power.
    futility, futility_binding : str, bool
        The futility rule (``"none"``, ``"beta-spending"``, ``"conditional-power"``) and whether
        the efficacy boundaries count on it.
    futility_z : tuple of float
        Futility bound per look on the Z scale in favour of treatment (the last equals the
        efficacy bound); empty without futility.

    Examples
    --------
    >>> ss = sample_size(0.6, 0.8)
    >>> ss.n_control, ss.n_total, ss.method, ss.achieved_power >= ss.power
    (82, 164, 'normal', True)
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
    futility: str = "none"
    futility_binding: bool = False
    futility_z: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Return the result as a flat ``dict`` (one row of a results table)."""
        return asdict(self)

    def _display_title(self) -> str:
        return f"Sample size ({self.method}, {self.alternative} alpha {self.alpha:g}, power {self.power:.0%})"

    def _display_rows(self) -> list[tuple[str, str]]:
        rows = [
            ("n per arm", f"{self.n_control} control, {self.n_treatment} treated ({self.n_total} in all)"),
            ("rates", f"control {self.p_control:.1%}, treated {self.p_treatment:.1%}"),
            ("achieved power", f"{self.achieved_power:.4f}"),
        ]
        if self.looks > 1:
            rows.append(("looks", f"{self.looks} ({self.boundary}), inflation {self.inflation_factor:.3f}"))
        if self.futility != "none":
            kind = "binding" if self.futility_binding else "non-binding"
            bounds = ", ".join(f"{z:.3f}" for z in self.futility_z[:-1])
            rows.append(("futility", f"{self.futility} ({kind}), Z bounds {bounds}"))
        if self.margin:
            rows.append(("margin", f"{self.margin:g}"))
        if self.notes:
            rows.append(("notes", self.notes))
        return rows


def _check_common(
    p_control: float,
    p_treatment: float,
    alpha: float,
    alternative: str,
    method: str,
    margin: float,
    ratio: float,
) -> tuple[float, float]:
    pc = check_rate("p_control", p_control)
    pt = check_rate("p_treatment", p_treatment)
    check_alpha(alpha)
    check_choice("alternative", alternative, ALTERNATIVES)
    m = get_method(method)
    if not ratio > 0 or not math.isfinite(ratio):
        raise InvalidArgumentError(f"ratio == {ratio}, must be > 0.")
    if m.non_inferiority:
        if not 0.0 < margin < 1.0:
            raise InvalidArgumentError(f"margin == {margin}, must be in (0, 1) for method {method!r}.")
        if alternative != "larger":
            raise InvalidArgumentError(
                f"alternative == {alternative!r}, must be 'larger' for method "
                f"{method!r} (non-inferiority is one-sided)."
            )
        if pt - pc + margin <= 0:
            raise InvalidArgumentError(
                f"p_treatment - p_control + margin == {pt - pc + margin:.6g}, must be > 0 "
                "(the assumed rates must lie in the non-inferiority alternative)."
            )
    elif margin != 0:
        ni = " or ".join(f"method={n!r}" for n, e in ANALYTIC_METHODS.items() if e.non_inferiority)
        raise InvalidArgumentError(f"margin == {margin}, must be 0 unless {ni}.")
    else:
        if pt == pc:
            raise InvalidArgumentError(
                f"p_treatment == p_control == {pc}, must differ (no effect to detect)."
            )
        if alternative == "larger" and pt < pc:
            raise InvalidArgumentError(
                f"p_treatment == {pt}, must be > p_control == {pc} for alternative 'larger'."
            )
        if alternative == "smaller" and pt > pc:
            raise InvalidArgumentError(
                f"p_treatment == {pt}, must be < p_control == {pc} for alternative 'smaller'."
            )
    return pc, pt


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
    method : {"normal", "arcsine", "continuity", "exact", "farrington-manning"} or an analysis
        A name registered in :data:`~rplsim.design.methods.ANALYTIC_METHODS` (see the module
        docstring), or a scenario analysis (``"chi2"``, ``"fisher"``, ...) mapped to its
        method by :data:`~rplsim.design.methods.ANALYSIS_METHOD`.
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
    rplsim.exceptions.InvalidArgumentError
        If an argument is out of range or inconsistent.

    Examples
    --------
    >>> round(float(power_two_proportions(0.6, 0.8, 82)), 3)
    0.804
    """
    method = resolve_method(method, margin)
    pc, pt = _check_common(p_control, p_treatment, alpha, alternative, method, margin, ratio)
    n = np.asarray(n_control, dtype=float)
    if np.any(~np.isfinite(n)) or np.any(n <= 0):
        raise InvalidArgumentError(f"n_control == {n_control!r}, must be > 0.")
    out = get_method(method).power(n, pc, pt, alpha, alternative, ratio, margin)
    return float(out) if out.ndim == 0 else out


def _search_n(
    pc: float,
    pt: float,
    alpha: float,
    power: float,
    alternative: str,
    ratio: float,
    start: int,
    sawtooth: bool = True,
) -> tuple[int, float, str]:
    """Smallest control-arm size whose exact (saw-toothed) power reaches ``power``, from ``start``."""

    work = 0

    def pw(n1: int) -> float:
        nonlocal work
        n2 = arm_size(ratio, n1)
        work += (n1 + 1) * (n2 + 1)
        if work > _EXACT_MAX_TABLES:
            raise InvalidArgumentError(
                f"exact sample size: the search passed n_control == {n1} without reaching power "
                f"{power:g} and stopped ({_EXACT_MAX_TABLES:,} tables of exact power); use "
                "method='continuity' (close to Fisher's test) instead."
            )
        return exact_power(pc, pt, n1, n2, alpha=alpha, alternative=alternative)

    def too_big() -> InvalidArgumentError:
        return InvalidArgumentError(
            f"exact sample size > {_EXACT_MAX_N} per arm (the normal approximation needs {start}); "
            "use method='continuity' instead."
        )

    n = max(start, 2)
    if n > _EXACT_MAX_N:  # before any exact power: one at this n is seconds of work
        raise too_big()
    p = pw(n)
    # Fisher's test is usually less powerful than the z test, but step down in case it is not.
    while p >= power and n > 2 and pw(n - 1) >= power:
        n -= 1
        p = pw(n)
    if p < power and n >= _BISECT_FROM:
        # Large n: Fisher's saw-tooth in n is small there, so bisect between n and a size
        # known to reach the target instead of stepping one n at a time (each step sorts
        # ~2 n^2 tables); the crossing found has power below target one n below it (checked
        # by the walk down after), though a dip further down could hide a smaller n.
        hi = n + max(1, n // 16)
        while pw(min(hi, _EXACT_MAX_N)) < power:
            if hi >= _EXACT_MAX_N:
                raise too_big()
            n, hi = hi, hi + max(1, hi // 16)
        while hi - n > 1:
            mid = (n + hi) // 2
            n, hi = (mid, hi) if pw(mid) < power else (n, mid)
        n, p = hi, pw(hi)
        while n > 2 and pw(n - 1) >= power:
            n -= 1
            p = pw(n)
    while p < power:
        n += 1
        if n > _EXACT_MAX_N:
            raise too_big()
        p = pw(n)
    notes = ""
    # The exact power is saw-toothed in n: report where it next dips below target.
    for m in range(n + 1, math.floor(1.2 * n) + 1 if sawtooth else n + 1):
        if work + (m + 1) * (arm_size(ratio, m) + 1) > _EXACT_MAX_TABLES:
            break  # the answer is found; the note is a courtesy, not worth the bound
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
    sawtooth: bool = True,
    futility: str = "none",
    futility_binding: bool = False,
    futility_threshold: float = 0.1,
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
    method : {"normal", "arcsine", "continuity", "exact", "farrington-manning"} or an analysis
        See the module docstring; ``"farrington-manning"`` needs ``margin > 0`` and
        ``alternative="larger"``. A scenario analysis name (``"chi2"``, ``"fisher"``, ``"cmh"``,
        ``"logistic"``) sizes with the method of
        :data:`~rplsim.design.methods.ANALYSIS_METHOD` (``"fisher"`` is ``"exact"``; ``"chi2"``
        is ``"normal"``, or ``"farrington-manning"`` with a margin); the result's ``method``
        names the method used.
    margin : float, default 0.0
        Non-inferiority margin ``delta`` (H0: ``p_t - p_c <= -delta``).
    ratio : float, default 1.0
        Allocation ``n_treatment / n_control``; ``n_treatment = ceil(ratio * n_control)``.
    looks : int, default 1
        Number of analyses; ``> 1`` gives a group-sequential design (not with ``"exact"``).
    boundary : str, default "obrien-fleming"
        Boundary of a group-sequential design, one of
        :data:`rplsim.sequential.BOUNDARIES`.
    sawtooth : bool, default True
        ``"exact"`` only: also look up to +20% for the next n whose power dips below target
        (reported in ``notes``). The look costs up to 0.2 n more exact powers; a grid of many
        sizes (the sensitivity grid) leaves it out.
    futility : {"none", "beta-spending", "conditional-power"}, default "none"
        Futility stops at the interim looks (``looks > 1``), by
        :func:`rplsim.design.futility.sequential_futility`: beta-spending of the boundary's
        family (rpact's bsOF / bsP), or conditional power under the alternative below
        ``futility_threshold``. The maximum n is inflated so the power with futility obeyed
        reaches ``power``; a two-sided design stops for futility on the Z in favour of treatment.
    futility_binding : bool, default False
        Non-binding keeps the efficacy bounds of the design without futility; binding spends
        the same alpha per look counting on the futility stops (lower bounds).
    futility_threshold : float, default 0.1
        The conditional power of ``futility="conditional-power"``.

    Returns
    -------
    SampleSize
        Sizes rounded up to whole patients, with the achieved power.

    Raises
    ------
    rplsim.exceptions.InvalidArgumentError
        If an argument is out of range or inconsistent, or an exact design would exceed
        3000 patients per arm (or its search 1e7 tables of exact power, a few seconds).
    rplsim.exceptions.ConvergenceError
        If a numerical solve fails.

    Examples
    --------
    >>> sample_size(0.6, 0.8).n_control  # Fleiss, Levin & Paik eq. 4.14: 81.2 -> 82
    82
    >>> sample_size(0.6, 0.8, method="continuity").n_control  # Fleiss Table A.4: 91
    91
    >>> sample_size(0.6, 0.8, method="chi2").method
    'normal'
    >>> ss = sample_size(0.6, 0.8, looks=3, boundary="ld-obrien-fleming", futility="beta-spending")
    >>> ss.n_control, [round(z, 3) for z in ss.futility_z]
    (90, [-0.236, 1.17, 1.993])
    """
    method = resolve_method(method, margin)
    pc, pt = _check_common(p_control, p_treatment, alpha, alternative, method, margin, ratio)
    check_power(power)
    check_integer("looks", looks, rule="an integer >= 1", error=InvalidArgumentError)
    check_choice("boundary", boundary, BOUNDARIES)
    check_choice("futility", futility, ("none", *FUTILITY_RULES))
    if futility != "none" and looks < 2:
        raise InvalidArgumentError(f"futility == {futility!r} needs looks >= 2, got looks == {looks}.")
    m = get_method(method)
    if looks > 1 and not m.sequential:
        raise InvalidArgumentError(f"looks > 1 with method == {method!r}, must use a normal-theory method.")
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

    if m.searched:
        start = math.ceil(m.fixed_n(pc, pt, alpha, power, alternative, ratio, 0.0))
        n1, achieved, notes = _search_n(pc, pt, alpha, power, alternative, ratio, start, sawtooth)
        n2 = arm_size(ratio, n1)
        return SampleSize(
            n_control=n1, n_treatment=n2, n_total=n1 + n2, achieved_power=achieved, notes=notes, **common
        )

    n_fixed = m.fixed_n(pc, pt, alpha, power, alternative, ratio, margin)
    kw: dict[str, Any] = dict(alpha=alpha, alternative=alternative, method=method, margin=margin, ratio=ratio)
    if looks == 1:
        # A hair of tolerance so that an n that is integral up to rounding error is not bumped.
        n1 = math.ceil(n_fixed - 1e-9)
        n2 = arm_size(ratio, n1)
        achieved = float(power_two_proportions(pc, pt, n1, **kw))
        return SampleSize(n_control=n1, n_treatment=n2, n_total=n1 + n2, achieved_power=achieved, **common)

    if futility != "none":
        return _with_futility(
            n_fixed, kw, common, looks, boundary, futility, futility_binding, futility_threshold
        )
    design = group_sequential_design(
        looks, alpha=alpha, power=power, alternative=alternative, boundary=boundary
    )
    n1 = math.ceil(n_fixed * design.inflation_factor - 1e-9)
    n2 = arm_size(ratio, n1)
    fixed_power = float(power_two_proportions(pc, pt, n1, **kw))
    achieved = group_sequential_power(fixed_power, z_alpha(alpha, alternative), design)
    n_total = n1 + n2
    return SampleSize(
        n_control=n1,
        n_treatment=n2,
        n_total=n_total,
        achieved_power=achieved,
        looks=looks,
        boundary=boundary,
        information_fractions=design.information_fractions,
        efficacy_z=design.efficacy_z,
        inflation_factor=design.inflation_factor,
        expected_n_h0=design.expected_info_h0 * n_total,
        expected_n_h1=design.expected_info_h1 * n_total,
        **common,
    )


def _with_futility(
    n_fixed: float,
    kw: dict[str, Any],
    common: dict[str, Any],
    looks: int,
    boundary: str,
    futility: str,
    binding: bool,
    threshold: float,
) -> SampleSize:
    """:func:`sample_size` of a group-sequential design with futility stops."""
    alpha, alternative = common["alpha"], common["alternative"]
    design = sequential_futility(
        looks,
        alpha=alpha,
        power=common["power"],
        alternative=alternative,
        boundary=boundary,
        futility=futility,
        binding=binding,
        threshold=threshold,
    )
    n1 = math.ceil(n_fixed * design.inflation - 1e-9)
    n2 = arm_size(common["ratio"], n1)
    fixed_power = float(power_two_proportions(common["p_control"], common["p_treatment"], n1, **kw))
    # the drift at n1, as group_sequential_power reads it from the fixed design's power there
    drift = z_alpha(alpha, alternative) + float(stats.norm.ppf(min(max(fixed_power, 1e-12), 1 - 1e-12)))
    n_total = n1 + n2
    return SampleSize(
        n_control=n1,
        n_treatment=n2,
        n_total=n_total,
        achieved_power=futility_power(design, drift)[0],
        looks=looks,
        boundary=boundary,
        information_fractions=tuple(float(x) for x in design.information_fractions),
        efficacy_z=tuple(float(x) for x in design.efficacy_z),
        inflation_factor=design.inflation,
        expected_n_h0=design.expected_fraction_h0 * n_total,
        expected_n_h1=design.expected_fraction_h1 * n_total,
        futility=futility,
        futility_binding=bool(binding),
        futility_z=tuple(float(x) for x in design.futility_z),
        **common,
    )
