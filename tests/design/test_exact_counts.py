"""Tests of rplsim.design.exact_counts: exact power of the count path by enumeration.

Reference values come from (1) a brute-force enumeration written here with plain loops
(the randomisation of the last partial block by listing the block's permutations, dropout
and births with math.comb), (2) rplsim.design.exact.exact_power (Fisher summed over 2x2
tables at fixed arm sizes, itself tested against scipy.stats.fisher_exact), (3) statsmodels'
normal-approximation power, as a sanity bound only.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from rplsim.design.exact import exact_power as fisher_exact_power
from rplsim.design.exact_counts import (
    analysed_size_distribution,
    exact_power_counts,
    randomised_treated_distribution,
)
from rplsim.exceptions import InvalidArgumentError
from rplsim.stats.counts import z_test_counts
from rplsim.stats.fisher import fisher_exact_counts


def _treated_pmf_brute(n_total: int, ratio: float, block: int) -> dict[int, float]:
    """P(T = t) by listing the randomisation: whole blocks, then every ordering of the last."""
    p_t = ratio / (1 + ratio)
    if block <= 0:
        return {t: math.comb(n_total, t) * p_t**t * (1 - p_t) ** (n_total - t) for t in range(n_total + 1)}
    per_block = round(block * p_t)
    full, rest = divmod(n_total, block)
    base = [1] * per_block + [0] * (block - per_block)
    perms = list(itertools.permutations(range(block)))
    out: dict[int, float] = {}
    for perm in perms:
        t = full * per_block + sum(base[i] for i in perm[:rest])
        out[t] = out.get(t, 0.0) + 1.0 / len(perms)
    return out


def _chi2_decision(xc: int, mc: int, xt: int, mt: int, alpha: float, alternative: str) -> tuple[bool, bool]:
    """(in favour of treatment, at all): the pooled z test written out with math."""
    if mc == 0 or mt == 0:
        return False, False
    pooled = (xt + xc) / (mt + mc)
    var = pooled * (1 - pooled) * (1 / mt + 1 / mc)
    if var <= 0:
        return False, False
    z = (xt / mt - xc / mc) / math.sqrt(var)
    phi = 0.5 * math.erfc(abs(z) / math.sqrt(2))  # upper tail of |z|
    if alternative == "two-sided":
        rej = 2 * phi <= alpha
        return rej and z > 0, rej
    p = phi if z > 0 else 1 - phi
    rej = p <= alpha
    return rej, rej


def _lib_decision(analysis: str, margin: float):
    """A scalar call of rplsim's own test per table (the enumeration is what is under test)."""

    def decide(xc: int, mc: int, xt: int, mt: int, alpha: float, alternative: str) -> tuple[bool, bool]:
        if analysis == "fisher":
            p = float(fisher_exact_counts(xt, mt, xc, mc, alternative=alternative))  # type: ignore[arg-type]
            better = xt / max(mt, 1) - xc / max(mc, 1) + margin > 0  # count_sign
        else:
            z, pz = z_test_counts(xt, mt, xc, mc, alternative=alternative, margin=margin)  # type: ignore[arg-type]
            p, better = float(pz), float(z) > 0
        rej = (1.0 if math.isnan(p) else p) <= alpha
        return (rej and better) if alternative == "two-sided" else rej, rej

    return decide


def _brute(pc, pt, p0, n_c, n_t, *, decide, alpha, alternative, dropout, block):
    """Power, rejection and type-I error by plain loops over T, dropouts and births."""
    keep = 1 - dropout
    n_total = n_c + n_t

    def b(k: int, n: int, p: float) -> float:
        return math.comb(n, k) * p**k * (1 - p) ** (n - k)

    cache: dict[tuple[int, int, int, int], tuple[bool, bool]] = {}
    power = rejection = type1 = 0.0
    for t, pr_t in _treated_pmf_brute(n_total, n_t / n_c, block).items():
        for mt in range(t + 1):
            for mc in range(n_total - t + 1):
                pr_m = pr_t * b(mt, t, keep) * b(mc, n_total - t, keep)
                for xt in range(mt + 1):
                    for xc in range(mc + 1):
                        key = (xc, mc, xt, mt)
                        if key not in cache:
                            cache[key] = decide(xc, mc, xt, mt, alpha, alternative)
                        good, rej = cache[key]
                        w = pr_m * b(xc, mc, pc)
                        power += w * b(xt, mt, pt) * good
                        rejection += w * b(xt, mt, pt) * rej
                        type1 += w * b(xt, mt, p0) * rej
    return power, rejection, type1


CASES = [
    # analysis, alternative, margin, n_c, n_t, dropout, block, alpha
    ("chi2", "two-sided", 0.0, 5, 6, 0.2, 4, 0.1),
    ("chi2", "larger", 0.0, 7, 7, 0.1, 4, 0.05),
    ("chi2", "two-sided", 0.0, 6, 6, 0.15, 0, 0.1),  # simple randomisation: arm sizes binomial
    ("fisher", "two-sided", 0.0, 5, 6, 0.2, 4, 0.2),
    ("fisher", "larger", 0.0, 6, 7, 0.1, 6, 0.1),
    ("chi2", "larger", 0.15, 6, 6, 0.1, 4, 0.1),  # Farrington-Manning with a margin
]


@pytest.mark.parametrize(
    ("analysis", "alternative", "margin", "n_c", "n_t", "dropout", "block", "alpha"), CASES
)
def test_equals_brute_force_enumeration(
    analysis, alternative, margin, n_c, n_t, dropout, block, alpha
) -> None:
    pc, pt = 0.45, 0.8
    p0 = pc - margin
    decide = _chi2_decision if analysis == "chi2" and margin == 0 else _lib_decision(analysis, margin)
    want = _brute(
        pc,
        pt,
        p0,
        n_c,
        n_t,
        decide=decide,
        alpha=alpha,
        alternative=alternative,
        dropout=dropout,
        block=block,
    )
    got = exact_power_counts(
        pc, pt, n_c, n_t, analysis=analysis, alpha=alpha, alternative=alternative,
        margin=margin, dropout=dropout, block_size=block, tol=1e-15,
    )  # fmt: skip
    assert (got.power, got.rejection, got.type1_error) == pytest.approx(want, abs=1e-12)
    assert got.max_error <= 1e-14
    assert 0 < got.power < 1


def test_treated_and_analysed_distributions_are_distributions() -> None:
    brute = _treated_pmf_brute(23, 1.0, 4)
    pmf = randomised_treated_distribution(23, 1.0, 4)
    assert {t: pmf[t] for t in np.flatnonzero(pmf)} == pytest.approx(brute, abs=1e-15)
    sizes = analysed_size_distribution(11, 12, 0.1, 4)
    assert sizes.sum() == pytest.approx(1.0, abs=1e-13)


def test_fixed_arms_without_dropout_equal_the_fisher_table_sum() -> None:
    # Blocks of 2 with equal arms and an even total: the arm sizes are fixed, as in
    # design.exact.exact_power, whose "power" is the probability of any rejection.
    for n, alt in ((15, "two-sided"), (24, "larger"), (31, "two-sided")):
        ours = exact_power_counts(0.5, 0.8, n, n, analysis="fisher", alternative=alt, block_size=2)
        ref = fisher_exact_power(0.5, 0.8, n, n, alternative=alt)
        assert ours.rejection == pytest.approx(ref, abs=1e-12)
        assert ours.pairs == 1


def test_chi2_is_close_to_the_normal_approximation() -> None:
    # statsmodels' normal approximation: a sanity bound, not a reference value.
    ours = exact_power_counts(0.6, 0.807, 85, 85, block_size=2)
    approx = NormalIndPower().power(proportion_effectsize(0.807, 0.6), nobs1=85, alpha=0.05)
    assert abs(ours.power - approx) < 0.03


@pytest.mark.parametrize("n", [20, 29])
def test_type1_error_fisher_at_most_alpha_chi2_near_alpha(n: int) -> None:
    fisher = exact_power_counts(0.6, 0.8, n, n, analysis="fisher", dropout=0.1, block_size=4)
    chi2 = exact_power_counts(0.6, 0.8, n, n, analysis="chi2", dropout=0.1, block_size=4)
    assert fisher.type1_error <= 0.05  # conditional on every margin, so unconditionally too
    assert fisher.type1_error < chi2.type1_error
    assert abs(chi2.type1_error - 0.05) < 0.012


def test_fisher_power_saw_tooth() -> None:
    # Exact tests: power is not monotone in n (Chernick & Liu 2002, Am Stat 56:149).
    powers = {
        n: exact_power_counts(0.6, 0.85, n, n, analysis="fisher", block_size=2).power for n in range(20, 61)
    }
    drops = [(n, powers[n], powers[n + 1]) for n in range(20, 60) if powers[n + 1] < powers[n]]
    print("Fisher saw-tooth (n, power(n), power(n+1)):", drops[:3])
    assert drops


def test_rejection_matrix_is_shared_by_power_and_type1() -> None:
    a = exact_power_counts(0.6, 0.8, 30, 30, dropout=0.1, block_size=4)
    b = exact_power_counts(0.6, 0.6, 30, 30, dropout=0.1, block_size=4)
    assert a.type1_error == pytest.approx(b.rejection, abs=1e-14)
    assert a.analysed_mean == pytest.approx(54.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"analysis": "logistic"}, "patient path"),
        ({"dropout": 1.0}, "dropout"),
        ({"alpha": 0.0}, "alpha"),
        ({"n_control": 0}, "n_control"),
        ({"analysis": "chi"}, "chi"),
    ],
)
def test_refuses_bad_arguments(kwargs: dict, match: str) -> None:
    args = {"p_control": 0.6, "p_treatment": 0.8, "n_control": 10, "n_treatment": 10, **kwargs}
    with pytest.raises(InvalidArgumentError, match=match):
        exact_power_counts(**args)


def test_a_cache_smaller_than_one_call_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from rplsim.design import exact_counts

    want = exact_power_counts(0.6, 0.8, 25, 25, dropout=0.1, block_size=4, analysis="chi2", alpha=0.04)
    monkeypatch.setattr(exact_counts, "_CACHE_CELLS", 50)  # evicts while the call still needs them
    exact_counts._clear_cache()
    got = exact_power_counts(0.6, 0.8, 25, 25, dropout=0.1, block_size=4, analysis="chi2", alpha=0.04)
    assert (got.power, got.type1_error) == (want.power, want.type1_error)


# --- the threshold path: identical decisions to the whole rejection matrices ---------------


def _lattice(m_max: int, m_min: int = 0):
    """Every table (x_c, m_c, x_t, m_t) with m_min <= m_c, m_t <= m_max, flattened."""
    pairs = [(a, b) for a in range(m_min, m_max + 1) for b in range(m_min, m_max + 1)]
    mc = np.repeat([a for a, b in pairs], [(a + 1) * (b + 1) for a, b in pairs])
    mt = np.repeat([b for a, b in pairs], [(a + 1) * (b + 1) for a, b in pairs])
    xc = np.concatenate([np.repeat(np.arange(a + 1), b + 1) for a, b in pairs])
    xt = np.concatenate([np.tile(np.arange(b + 1), a + 1) for a, b in pairs])
    return mc, mt, xc, xt


@pytest.mark.parametrize(
    ("alternative", "alpha", "margin", "m_max"),
    [
        ("two-sided", 0.05, 0.0, 50),
        pytest.param("two-sided", 0.05, 0.0, 80, marks=pytest.mark.slow),
        ("two-sided", 0.01, 0.0, 40),
        ("two-sided", 0.2, 0.0, 40),
        ("larger", 0.05, 0.0, 40),
        ("smaller", 0.025, 0.0, 40),
        ("larger", 0.025, 0.1, 40),  # Farrington-Manning
        ("larger", 0.05, 0.2, 40),
    ],
)
def test_thresholds_equal_the_whole_matrix_on_every_lattice(alternative, alpha, margin, m_max) -> None:
    # Every (m_c, m_t) up to m_max (empty arms included), every x_c: the search's U and L give
    # exactly the registered function's decisions on every table (Barnard's convexity).
    from rplsim.design import exact_counts as ec

    fn = ec.get_analysis("chi2").function
    mc, mt, xc, xt = _lattice(m_max)
    upper, lower = ec._decisions(fn, alternative, margin, alpha, xc, mc, xt, mt)
    rows = np.flatnonzero(xt == 0)  # one per (m_c, m_t, x_c)
    u, low = ec._thresholds(fn, alpha, alternative, margin, mc[rows], mt[rows], xc[rows])
    row_of = np.cumsum(xt == 0) - 1
    assert np.array_equal(upper, xt >= u[row_of])
    assert np.array_equal(lower, xt <= low[row_of])
    assert (upper.any() or alternative == "smaller") and (lower.any() or alternative == "larger")


def test_fisher_two_sided_is_not_convex_so_it_is_not_searched() -> None:
    # Why Fisher's thresholds are not searched (but read off its whole rows): one row whose
    # rejections are not an interval.
    from rplsim.design import exact_counts as ec

    fn = ec.get_analysis("fisher").function
    xt = np.arange(59)
    upper, _ = ec._decisions(fn, "two-sided", 0.0, 0.05, np.full(59, 1), np.full(59, 34), xt, np.full(59, 58))
    assert upper[10] and not upper[11] and upper[12:].all()
    assert fn not in ec._CONVEX_FUNCTIONS


DESIGNS = [
    # p_control, p_treatment, n_c, n_t, kwargs
    (0.6, 0.807, 85, 85, {"dropout": 0.1, "block_size": 4}),  # the paper's design
    (0.6, 0.807, 40, 40, {"dropout": 0.1, "block_size": 4, "alpha": 0.01}),
    (0.5, 0.7, 31, 62, {"dropout": 0.2, "block_size": 6}),  # 2:1
    (0.45, 0.6, 30, 30, {"dropout": 0.15}),  # simple randomisation
    (0.6, 0.75, 45, 45, {"alternative": "larger", "dropout": 0.05, "block_size": 4}),
    (0.7, 0.5, 35, 35, {"alternative": "smaller", "block_size": 2}),
    (0.8, 0.8, 60, 60, {"alternative": "larger", "margin": 0.1, "dropout": 0.1, "block_size": 4}),
]


@pytest.mark.parametrize(("pc", "pt", "n_c", "n_t", "kwargs"), DESIGNS)
def test_threshold_path_equals_the_whole_matrices(pc, pt, n_c, n_t, kwargs) -> None:
    from rplsim.design import exact_counts as ec

    ec._clear_cache()
    fast = ec._exact_power_counts(pc, pt, n_c, n_t, engine="thresholds", **kwargs)
    full = ec._exact_power_counts(pc, pt, n_c, n_t, engine="full", **kwargs)
    for a, b in (
        (fast.power, full.power),
        (fast.rejection, full.rejection),
        (fast.type1_error, full.type1_error),
    ):
        assert abs(a - b) <= fast.max_error + full.max_error + 1e-14
    assert fast.max_error < 1e-11 and fast.pairs == full.pairs


def test_guard_catches_a_row_that_is_not_an_interval() -> None:
    from rplsim.design import exact_counts as ec

    fn = ec.get_analysis("fisher").function
    one = np.ones(1, dtype=np.int64)
    with pytest.raises(ec._NotConvexError):  # the row of the Fisher counterexample, as if U = 10
        ec._guard(fn, 0.05, "two-sided", 0.0, 34 * one, 58 * one, one, 10 * one, -one)
    with pytest.raises(ec._NotConvexError):  # ... or as if U = 12 (then x_t = 10 disagrees)
        ec._guard(fn, 0.05, "two-sided", 0.0, 34 * one, 58 * one, one, 12 * one, -one)
    chi2 = ec.get_analysis("chi2").function
    u, low = ec._thresholds(chi2, 0.05, "two-sided", 0.0, 34 * one, 58 * one, one)
    ec._guard(chi2, 0.05, "two-sided", 0.0, 34 * one, 58 * one, one, u, low)  # a convex row passes
    assert u[0] <= 58


def test_guard_failure_falls_back_to_the_whole_matrices(monkeypatch: pytest.MonkeyPatch) -> None:
    from rplsim.design import exact_counts as ec

    def not_convex(*args, **kwargs):
        raise ec._NotConvexError

    want = ec._exact_power_counts(0.6, 0.8, 30, 30, dropout=0.1, block_size=4, engine="full")
    ec._clear_cache()
    monkeypatch.setattr(ec, "_thresholds", not_convex)
    got = exact_power_counts(0.6, 0.8, 30, 30, dropout=0.1, block_size=4)
    assert (got.power, got.type1_error) == (want.power, want.type1_error)


def test_thresholds_are_reused_across_calls_and_rates() -> None:
    from rplsim.design import exact_counts as ec

    ec._clear_cache()
    a = exact_power_counts(0.6, 0.8, 50, 50, dropout=0.1, block_size=4)
    b = exact_power_counts(0.3, 0.5, 50, 50, dropout=0.1, block_size=4)  # other rows: extended
    ec._clear_cache()
    c = exact_power_counts(0.3, 0.5, 50, 50, dropout=0.1, block_size=4)
    assert b.power == pytest.approx(c.power, abs=1e-15) and a.power != b.power


@pytest.mark.parametrize(
    ("alternative", "alpha", "m_max"),
    [("two-sided", 0.05, 30), ("two-sided", 0.1, 24), ("larger", 0.05, 24), ("smaller", 0.025, 24)],
)
def test_fisher_lattices_equal_the_registered_test(alternative, alpha, m_max) -> None:
    # Every table of every (m_c, m_t) up to m_max: the per-margin p-values decide as the
    # registered fisher function does, and the runs + irregular cells rebuild every row.
    from rplsim.design import exact_counts as ec

    mc, mt, xc, xt = _lattice(m_max)
    want_up, want_low = ec._decisions(ec._FISHER_FUNCTION, alternative, 0.0, alpha, xc, mc, xt, mt)
    pm_c = np.array([a for a in range(m_max + 1) for _ in range(m_max + 1)])
    pm_t = np.array([b for _ in range(m_max + 1) for b in range(m_max + 1)])
    up, low = ec._fisher_pairs(pm_c, pm_t, np.zeros_like(pm_c), pm_c, alpha, alternative, 0.0)
    assert np.array_equal(up, want_up) and np.array_equal(low, want_low)
    u, lw, e_pair, e_xc, e_xt, e_up = ec._rows_from_lattices(pm_c, pm_t, np.zeros_like(pm_c), pm_c, up, low)
    row_of = np.cumsum(xt == 0) - 1
    rebuilt_up = xt >= u[row_of]
    rebuilt_low = xt <= lw[row_of]
    start = np.cumsum((pm_c + 1) * (pm_t + 1)) - (pm_c + 1) * (pm_t + 1)
    cell = start[e_pair] + e_xc * (pm_t[e_pair] + 1) + e_xt
    rebuilt_up[cell[e_up]] = True
    rebuilt_low[cell[~e_up]] = True
    assert np.array_equal(rebuilt_up, want_up) and np.array_equal(rebuilt_low, want_low)


FISHER_DESIGNS = [
    (0.6, 0.8, 30, 30, {"dropout": 0.1, "block_size": 4}),
    (0.5, 0.7, 25, 50, {"dropout": 0.2, "block_size": 6}),
    (0.6, 0.8, 40, 40, {"alternative": "larger", "dropout": 0.1, "block_size": 4}),
    (0.6, 0.8, 20, 24, {"dropout": 0.3}),  # simple randomisation
    # Rates that put the non-interval row (m_c 34, m_t 58, x_c 1) inside the enumeration.
    (0.04, 0.2, 34, 58, {"block_size": 0, "allocation_ratio": 58 / 34}),
]


@pytest.mark.parametrize(("pc", "pt", "n_c", "n_t", "kwargs"), FISHER_DESIGNS)
def test_fisher_fast_path_equals_the_whole_matrices(pc, pt, n_c, n_t, kwargs) -> None:
    from rplsim.design import exact_counts as ec

    ec._clear_cache()
    fast = ec._exact_power_counts(pc, pt, n_c, n_t, analysis="fisher", engine="thresholds", **kwargs)
    full = ec._exact_power_counts(pc, pt, n_c, n_t, analysis="fisher", engine="full", **kwargs)
    for a, b in (
        (fast.power, full.power),
        (fast.rejection, full.rejection),
        (fast.type1_error, full.type1_error),
    ):
        assert abs(a - b) <= fast.max_error + full.max_error + 1e-14
    if pc == 0.04:
        store = ec._CACHE[("thresholds", "fisher", ec._FISHER_FUNCTION, 0.05, "two-sided", 0.0)][0]
        assert store.extra  # the irregular cells were used


def test_refuses_a_design_too_large_to_enumerate(monkeypatch: pytest.MonkeyPatch) -> None:
    from rplsim.design import exact_counts as ec

    monkeypatch.setattr(ec, "MAX_EXACT_CELLS", 1000)
    for analysis in ("chi2", "fisher"):
        with pytest.raises(
            InvalidArgumentError, match=r"n_control == 40, n_treatment == 40: .*simulate_power"
        ):
            exact_power_counts(0.6, 0.8, 40, 40, dropout=0.1, block_size=4, analysis=analysis)
