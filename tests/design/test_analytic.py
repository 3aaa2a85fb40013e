"""Tests of rplsim.design.analytic: reference values, round trips and invariants."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import power_proportions_2indep, proportion_effectsize

from rplsim.design import analytic
from rplsim.design.analytic import (
    SampleSize,
    exact_power,
    power_two_proportions,
    sample_size,
)
from rplsim.design.sequential import group_sequential_design
from rplsim.exceptions import InvalidArgumentError

# ------------------------------------------------------------------ reference values


def test_normal_fleiss_textbook_value() -> None:
    # Fleiss, Levin & Paik (2003) eq. 4.14 (no continuity correction), p1 = .6, p2 = .8,
    # two-sided alpha .05, power .80, by hand:
    # (1.959964 sqrt(2 * .7 * .3) + 0.841621 sqrt(.6 * .4 + .8 * .2))^2 / .2^2 = 81.22,
    # so 82 per arm (the "81" sometimes quoted is the unrounded value truncated).
    s = sample_size(0.6, 0.8, alpha=0.05, power=0.80)
    assert (s.n_control, s.n_treatment, s.n_total) == (82, 82, 164)
    by_hand = (
        stats.norm.isf(0.025) * math.sqrt(2 * 0.7 * 0.3) + stats.norm.isf(0.2) * math.sqrt(0.4)
    ) ** 2 / 0.04
    assert by_hand == pytest.approx(81.22, abs=0.01)
    assert power_two_proportions(0.6, 0.8, by_hand) == pytest.approx(0.80, abs=1e-12)
    assert s.achieved_power >= 0.80


def test_normal_matches_r_power_prop_test() -> None:
    # R ?power.prop.test examples (same pooled-H0 / unpooled-H1 formula, strict = FALSE):
    #   power.prop.test(n = 50, p1 = .50, p2 = .75)       ## => power = 0.740
    #   power.prop.test(p1 = .50, p2 = .75, power = .90)  ## => n = 76.7
    assert power_two_proportions(0.5, 0.75, 50) == pytest.approx(0.740, abs=5e-4)
    assert power_two_proportions(0.5, 0.75, 76.7) == pytest.approx(0.90, abs=5e-4)
    assert sample_size(0.5, 0.75, power=0.9).n_control == 77


@pytest.mark.parametrize(
    ("pc", "pt", "alternative", "ratio"),
    [(0.6, 0.8, "larger", 1.0), (0.3, 0.15, "smaller", 2.0), (0.2, 0.35, "larger", 0.5)],
)
def test_normal_matches_statsmodels_power_proportions_2indep(
    pc: float, pt: float, alternative: str, ratio: float
) -> None:
    # statsmodels' power_proportions_2indep uses the same pooled / unpooled variances;
    # its group 1 is our control (nobs1 = n_control, ratio = nobs2 / nobs1).
    n = np.array([20.0, 75.0, 310.0])
    ours = power_two_proportions(pc, pt, n, alternative=alternative, ratio=ratio)
    sm_alt = "smaller" if alternative == "larger" else "larger"  # diff = p_c - p_t
    theirs = power_proportions_2indep(pc - pt, pt, n, ratio=ratio, alternative=sm_alt, return_results=False)
    assert np.allclose(ours, theirs, atol=1e-12)


def test_continuity_fleiss_table_value() -> None:
    # Fleiss, Levin & Paik (2003) §4.3 eq. 4.17 / Table A.4 (p1 = .6, p2 = .8, alpha .05
    # two-sided, power .80): n' = 81.22 / 4 (1 + sqrt(1 + 4 / (81.22 * .2)))^2 = 90.95 -> 91.
    s = sample_size(0.6, 0.8, method="continuity")
    assert s.n_control == 91
    n = 81.22424
    assert n / 4 * (1 + math.sqrt(1 + 4 / (n * 0.2))) ** 2 == pytest.approx(90.95, abs=0.01)


@pytest.mark.parametrize(
    ("pc", "pt", "alternative", "ratio", "power", "alpha"),
    [
        (0.6, 0.8, "two-sided", 1.0, 0.8, 0.05),
        (0.6, 0.8, "two-sided", 2.0, 0.8, 0.05),
        (0.6, 0.8, "larger", 1.0, 0.9, 0.025),
        (0.3, 0.2, "smaller", 1.5, 0.85, 0.05),
        (0.05, 0.12, "two-sided", 0.5, 0.8, 0.01),
        (0.45, 0.5, "two-sided", 1.0, 0.9, 0.05),
    ],
)
def test_arcsine_matches_statsmodels_solve_power(
    pc: float, pt: float, alternative: str, ratio: float, power: float, alpha: float
) -> None:
    # statsmodels NormalIndPower on Cohen's h, solved at run time; ceil to whole patients.
    h = proportion_effectsize(pt, pc)
    n_sm = NormalIndPower().solve_power(
        effect_size=h, alpha=alpha, power=power, ratio=ratio, alternative=alternative
    )
    s = sample_size(pc, pt, alpha=alpha, power=power, alternative=alternative, method="arcsine", ratio=ratio)
    assert s.n_control == math.ceil(float(n_sm))
    assert s.n_treatment == math.ceil(ratio * s.n_control - 1e-9)
    sm_power = NormalIndPower().power(h, s.n_control, alpha, ratio=ratio, alternative=alternative)
    assert s.achieved_power == pytest.approx(float(sm_power), abs=1e-12)


# ------------------------------------------------------------------------- round trips

GRID = list(
    itertools.product(
        [(0.6, 0.8), (0.1, 0.2), (0.5, 0.4), (0.02, 0.06)],
        [0.05, 0.01],
        [0.8, 0.9],
        [1.0, 2.0, 0.75],
    )
)


@pytest.mark.parametrize("method", ["normal", "arcsine", "continuity"])
@pytest.mark.parametrize("alternative", ["two-sided", "one-sided"])
def test_round_trip(method: str, alternative: str) -> None:
    for (pc, pt), alpha, power, ratio in GRID:
        alt = alternative if alternative == "two-sided" else ("larger" if pt > pc else "smaller")
        kw = dict(alpha=alpha, alternative=alt, method=method, ratio=ratio)
        s = sample_size(pc, pt, power=power, **kw)
        at_n = power_two_proportions(pc, pt, s.n_control, **kw)
        below = power_two_proportions(pc, pt, s.n_control - 1, **kw)
        assert at_n >= power - 1e-9, (pc, pt, alpha, power, ratio)
        assert below < power, (pc, pt, alpha, power, ratio)
        assert s.achieved_power == pytest.approx(at_n)


def test_round_trip_farrington_manning() -> None:
    for (pc, delta_true), margin, power, ratio in itertools.product(
        [(0.8, 0.0), (0.6, 0.05), (0.3, -0.02)], [0.1, 0.15], [0.8, 0.9], [1.0, 2.0]
    ):
        pt = pc + delta_true
        kw = dict(alpha=0.025, alternative="larger", method="farrington-manning", margin=margin, ratio=ratio)
        s = sample_size(pc, pt, power=power, **kw)
        assert power_two_proportions(pc, pt, s.n_control, **kw) >= power - 1e-9
        assert power_two_proportions(pc, pt, s.n_control - 1, **kw) < power


def test_power_is_vectorised() -> None:
    n = np.arange(10, 200, 10)
    p = power_two_proportions(0.6, 0.8, n)
    assert isinstance(p, np.ndarray) and p.shape == n.shape
    assert np.all(np.diff(p) > 0)
    assert p[3] == pytest.approx(power_two_proportions(0.6, 0.8, int(n[3])))


# ------------------------------------------------------------------ Farrington-Manning


def test_fm_sample_size_close_to_unpooled_when_rates_equal() -> None:
    # With p_c = p_t = .8 and margin .1, the RMLE variance (p~_c = .8474, p~_t = .7474 here)
    # is slightly larger than the unpooled .16 + .16: n = 255 against the unpooled 252 =
    # ceil((1.96 + 0.8416)^2 * .32 / .01).
    s = sample_size(
        0.8, 0.8, alpha=0.025, power=0.8, alternative="larger", method="farrington-manning", margin=0.1
    )
    unpooled = math.ceil((stats.norm.isf(0.025) + stats.norm.isf(0.2)) ** 2 * 0.32 / 0.01)
    assert unpooled == 252
    assert s.n_control == 255


# ------------------------------------------------------------------------------ exact


def test_exact_sample_size() -> None:
    s = sample_size(0.6, 0.8, method="exact")
    assert s.achieved_power >= 0.8
    assert exact_power(0.6, 0.8, s.n_control, s.n_treatment) == pytest.approx(s.achieved_power)
    assert exact_power(0.6, 0.8, s.n_control - 1, s.n_control - 1) < 0.8
    # Fisher's test is conservative: more patients than the uncorrected z test needs (82),
    # about as many as the continuity-corrected one (91).
    assert 82 < s.n_control <= 95


def test_exact_one_sided_with_ratio_reports_sawtooth() -> None:
    s = sample_size(0.2, 0.45, alpha=0.05, power=0.8, alternative="larger", method="exact", ratio=1.5)
    assert s.n_treatment == math.ceil(1.5 * s.n_control)
    assert s.achieved_power >= 0.8
    pw = [
        exact_power(0.2, 0.45, m, math.ceil(1.5 * m), alternative="larger")
        for m in range(s.n_control + 1, int(1.2 * s.n_control) + 1)
    ]
    dips = [m for m, p in zip(range(s.n_control + 1, 10**6), pw, strict=False) if p < 0.8]
    if dips:
        assert f"n_control == {dips[0]}" in s.notes
    else:
        assert s.notes == ""


# ------------------------------------------------------------------------- sequential


def test_group_sequential_sample_size() -> None:
    fixed = sample_size(0.6, 0.8)
    d = group_sequential_design(3, boundary="obrien-fleming")
    s = sample_size(0.6, 0.8, looks=3, boundary="obrien-fleming")
    n_fixed = 81.22424  # Fleiss eq. 4.14, see above
    assert s.n_control == math.ceil(n_fixed * d.inflation_factor)
    assert s.n_control >= fixed.n_control
    assert s.inflation_factor == pytest.approx(1.017, abs=1e-3)  # J&T (2000) Table 2.4
    assert s.efficacy_z == d.efficacy_z and s.looks == 3 and s.boundary == "obrien-fleming"
    assert s.achieved_power >= 0.8 - 1e-6
    assert s.expected_n_h1 is not None and s.expected_n_h0 is not None
    assert s.expected_n_h1 < s.expected_n_h0 <= s.n_total


def test_as_dict_is_flat_record() -> None:
    d = sample_size(0.6, 0.8).as_dict()
    assert d["n_total"] == 164 and d["method"] == "normal" and d["notes"] == ""
    assert set(d) == set(SampleSize.__dataclass_fields__)


# ----------------------------------------------------------------------- invariants

_METHODS = st.sampled_from(["normal", "arcsine", "continuity"])


@settings(max_examples=60, deadline=None)
@given(
    pc=st.floats(0.05, 0.9),
    d1=st.floats(0.03, 0.3),
    extra=st.floats(0.0, 0.3),
    method=_METHODS,
)
def test_n_non_increasing_in_effect(pc: float, d1: float, extra: float, method: str) -> None:
    d2 = d1 + extra
    if pc + d2 >= 0.99:
        return
    n1 = sample_size(pc, pc + d1, method=method).n_control
    n2 = sample_size(pc, pc + d2, method=method).n_control
    assert n2 <= n1


@settings(max_examples=60, deadline=None)
@given(
    pc=st.floats(0.05, 0.6),
    d=st.floats(0.05, 0.3),
    a1=st.floats(0.005, 0.2),
    a2=st.floats(0.005, 0.2),
    w1=st.floats(0.55, 0.95),
    w2=st.floats(0.55, 0.95),
    method=_METHODS,
)
def test_n_monotone_in_alpha_and_power(
    pc: float, d: float, a1: float, a2: float, w1: float, w2: float, method: str
) -> None:
    lo_a, hi_a = sorted((a1, a2))
    lo_w, hi_w = sorted((w1, w2))
    n = {
        (a, w): sample_size(pc, pc + d, alpha=a, power=w, method=method).n_control
        for a in (lo_a, hi_a)
        for w in (lo_w, hi_w)
    }
    assert n[hi_a, lo_w] <= n[lo_a, lo_w]  # non-increasing in alpha
    assert n[lo_a, hi_w] >= n[lo_a, lo_w]  # non-decreasing in power


# ------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"p_control": 0.0}, r"p_control == 0.0, must be in \(0, 1\)"),
        ({"p_treatment": 1.2}, "p_treatment == 1.2"),
        ({"alpha": 1.2}, r"alpha == 1.2, must be in \(0, 0.5\]\."),
        ({"power": 0.4}, r"power == 0.4, must be in \(0.5, 1\)"),
        ({"ratio": 0.0}, "ratio == 0.0"),
        ({"looks": 0}, "looks == 0"),
        ({"looks": 2.0}, "looks == 2.0"),
        ({"method": "wald"}, "method == 'wald'"),
        ({"boundary": "haybittle"}, "boundary == 'haybittle'"),
        ({"alternative": "greater"}, "alternative == 'greater'"),
        ({"margin": 0.1}, "margin == 0.1, must be 0"),
        ({"margin": -0.1}, "margin == -0.1"),
        ({"method": "farrington-manning"}, "margin == 0.0"),
        ({"method": "farrington-manning", "margin": 0.1}, "must be 'larger'"),
        ({"p_treatment": 0.6}, "must differ"),
        ({"alternative": "smaller"}, "must be < p_control"),
        ({"method": "exact", "looks": 2}, "looks > 1"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    args = {"p_control": 0.6, "p_treatment": 0.8} | kwargs
    pc, pt = args.pop("p_control"), args.pop("p_treatment")
    with pytest.raises(InvalidArgumentError, match=match):
        sample_size(pc, pt, **args)


def test_fm_rates_outside_alternative() -> None:
    with pytest.raises(InvalidArgumentError, match="non-inferiority alternative"):
        sample_size(0.8, 0.6, alternative="larger", method="farrington-manning", margin=0.1)


def test_power_bad_n() -> None:
    with pytest.raises(InvalidArgumentError, match="n_control"):
        power_two_proportions(0.6, 0.8, [10, 0])
    with pytest.raises(InvalidArgumentError, match="n_control == 0"):
        exact_power(0.6, 0.8, 0, 10)


def test_exact_sawtooth_note() -> None:
    # Exact power of Fisher's test, p .2 vs .8, n per arm 12..14 (values from exact_power,
    # itself checked against brute-force enumeration above): .8115, .8688, .8374. Target .85
    # is first reached at 13 and lost again at 14.
    s = sample_size(0.2, 0.8, power=0.85, method="exact")
    assert s.n_control == 13
    assert s.achieved_power == pytest.approx(0.8688, abs=1e-4)
    assert "n_control == 14" in s.notes
    assert exact_power(0.2, 0.8, 14, 14) == pytest.approx(0.8374, abs=1e-4)


# ------------------------------------------------------------------------------ bounded searches
def test_exact_search_refuses_a_start_beyond_its_limit_before_any_exact_power() -> None:
    """Issue 20: every search terminates. A tiny effect needs ~37,500 per arm: refused at once."""
    t0 = time.perf_counter()
    with pytest.raises(
        InvalidArgumentError, match=r"exact sample size > 3000 per arm \(the normal .* 37513\)"
    ):
        sample_size(0.6, 0.61, method="exact")
    assert time.perf_counter() - t0 < 1


def test_exact_search_stops_when_its_work_bound_is_hit(monkeypatch) -> None:
    """The one-by-one exact search near 1,500 per arm took 7 minutes; it is bounded by the
    tables it evaluates (here lowered so the bound is hit in a fraction of a second)."""
    monkeypatch.setattr(analytic, "_EXACT_MAX_TABLES", 1_000_000)
    t0 = time.perf_counter()
    with pytest.raises(InvalidArgumentError, match=r"exact sample size: the search passed n_control == \d+ "):
        sample_size(0.6, 0.7, method="exact")
    assert time.perf_counter() - t0 < 3
