"""Tests of rplsim.design.exact_sequential: the look-by-look recursion of a group-sequential
count-path trial without dropout.

References: a brute-force enumeration written here (every permuted-block or simple
randomisation sequence, every live-birth outcome of every woman, the test of each look
computed here from its formula or by scipy), the fixed-design enumeration of
:mod:`rplsim.design.exact_counts` for one look, and the simulation within Monte-Carlo error.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from rplsim.design.exact_counts import exact_power_counts
from rplsim.design.exact_sequential import exact_sequential_counts, treated_transition
from rplsim.exceptions import InvalidArgumentError


def _sequences(n_total: int, block: int, p_treated: float) -> list[tuple[np.ndarray, float]]:
    """Every randomisation sequence with its probability (the last block truncated)."""
    if block <= 0:
        out = []
        for bits in itertools.product((0, 1), repeat=n_total):
            a = np.array(bits, bool)
            out.append((a, p_treated ** a.sum() * (1 - p_treated) ** (n_total - a.sum())))
        return out
    per = round(block * p_treated)
    perms = sorted(set(itertools.permutations([1] * per + [0] * (block - per))))
    n_blocks = -(-n_total // block)
    out = []
    for combo in itertools.product(perms, repeat=n_blocks):
        a = np.array([x for blk in combo for x in blk][:n_total], bool)
        out.append((a, 1.0 / len(perms) ** n_blocks))
    return out


def _z_p(x_t, n_t, x_c, n_c):
    """Two-sided p of the pooled z test (Pearson chi-square), NaN when undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pool = (x_t + x_c) / (n_t + n_c)
        se = np.sqrt(pool * (1 - pool) * (1 / n_t + 1 / n_c))
        z = (x_t / n_t - x_c / n_c) / se
    return 2 * stats.norm.sf(np.abs(z)), np.sign(x_t / np.maximum(n_t, 1) - x_c / np.maximum(n_c, 1))


def _fisher_table(n_max: int) -> np.ndarray:
    """scipy's two-sided Fisher p of every table with arms of at most ``n_max``: p[x_t, n_t, x_c, n_c]."""
    p = np.full((n_max + 1,) * 4, np.nan)
    for n_t, n_c in itertools.product(range(1, n_max + 1), repeat=2):
        for x_t, x_c in itertools.product(range(n_t + 1), range(n_c + 1)):
            p[x_t, n_t, x_c, n_c] = stats.fisher_exact([[x_t, n_t - x_t], [x_c, n_c - x_c]])[1]
    return p


_FISHER = _fisher_table(8)


def _fisher_p(x_t, n_t, x_c, n_c):
    return _FISHER[x_t, n_t, x_c, n_c], np.sign(x_t / np.maximum(n_t, 1) - x_c / np.maximum(n_c, 1))


def _brute(p_c, p_t, n_c, n_t, sizes, levels, block, test, p_null):
    """(power, rejection, type-I error, stop probabilities) by enumeration of everything."""
    n_total = n_c + n_t
    outcomes = np.array(list(itertools.product((0, 1), repeat=n_total)), bool)  # (2^N, N)
    results = []
    for rate_t in (p_t, p_null):
        power = rejection = 0.0
        stops = np.zeros(len(sizes))
        for arm, prob in _sequences(n_total, block, n_t / n_total):
            rate = np.where(arm, rate_t, p_c)
            w = prob * np.prod(np.where(outcomes, rate, 1 - rate), axis=1)
            done = np.zeros(len(outcomes), bool)
            for j, (s, level) in enumerate(zip(sizes, levels, strict=True)):
                y, a = outcomes[:, :s], arm[:s]
                x_t, x_c = y[:, a].sum(1), y[:, ~a].sum(1)
                nt, nc = np.full(len(y), a.sum()), np.full(len(y), s - a.sum())
                p, sign = test(x_t, nt, x_c, nc)
                rej = (np.nan_to_num(p, nan=1.0) <= level) & ~done
                power += float(w[rej & (sign > 0)].sum())
                rejection += float(w[rej].sum())
                stops[j] += float(w[rej].sum())
                done |= rej
        results.append((power, rejection, stops))
    return results[0][0], results[0][1], results[1][1], results[0][2]


@pytest.mark.parametrize("block", [0, 4])
@pytest.mark.parametrize(("analysis", "test"), [("chi2", _z_p), ("fisher", _fisher_p)])
def test_equals_brute_force_enumeration(block, analysis, test) -> None:
    # 8 women, looks after 3 and 5 (inside a block of 4) and 8; large levels so that every
    # look rejects with some probability.
    sizes, levels = [3, 5, 8], [0.3, 0.25, 0.2]
    res = exact_sequential_counts(
        0.3, 0.8, 4, 4, sizes, levels, analysis=analysis, block_size=block, p_null=0.3
    )
    power, rejection, type1, stops = _brute(0.3, 0.8, 4, 4, sizes, levels, block, test, 0.3)
    assert res.power == pytest.approx(power, abs=1e-12)
    assert res.rejection == pytest.approx(rejection, abs=1e-12)
    assert res.type1_error == pytest.approx(type1, abs=1e-12)
    assert np.allclose(res.stop_probability, stops, atol=1e-12)
    assert res.power > 0.05 and sum(p > 0 for p in res.stop_probability) >= 2  # not degenerate


def test_one_look_equals_the_fixed_enumeration() -> None:
    # Two independent codes for the same fixed design (no dropout, blocks of 4, 63 + 61 women
    # so the last block is incomplete).
    for analysis in ("chi2", "fisher"):
        seq = exact_sequential_counts(0.6, 0.8, 63, 61, [124], [0.05], analysis=analysis, block_size=4)
        fix = exact_power_counts(0.6, 0.8, 63, 61, analysis=analysis, block_size=4, tol=1e-15)
        assert seq.power == pytest.approx(fix.power, abs=1e-12)
        assert seq.type1_error == pytest.approx(fix.type1_error, abs=1e-12)


@pytest.mark.parametrize(
    ("s_from", "t_from", "s_to", "block"), [(0, 0, 10, 4), (2, 1, 9, 4), (5, 3, 6, 6), (3, 2, 11, 0)]
)
def test_treated_transition_equals_counting_sequences(s_from, t_from, s_to, block) -> None:
    seqs = _sequences(s_to, block, 0.5)
    want = np.zeros(s_to - s_from + 1)
    given = 0.0
    for arm, prob in seqs:
        if arm[:s_from].sum() == t_from:
            given += prob
            want[arm[s_from:s_to].sum()] += prob
    got = treated_transition(s_from, t_from, s_to, 1.0, block)
    assert np.allclose(got, want / given, atol=1e-12)
    assert math.isclose(got.sum(), 1.0)


def test_expected_women_and_stopping_add_up() -> None:
    res = exact_sequential_counts(0.65, 0.807, 140, 140, [94, 187, 280], [0.0005, 0.014, 0.045], block_size=4)
    assert sum(res.stop_probability) == pytest.approx(res.rejection, abs=1e-12)
    want = (
        sum(p * s for p, s in zip(res.stop_probability, res.sizes, strict=True)) + (1 - res.rejection) * 280
    )
    assert res.expected_women == pytest.approx(want)
    assert 94 < res.expected_women < 280 and res.expected_women_null > res.expected_women


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sizes": [50, 40, 100], "thresholds": [0.01, 0.02, 0.04]},
        {"sizes": [50, 99], "thresholds": [0.01, 0.04]},
        {"sizes": [50, 100], "thresholds": [0.01]},
        {"sizes": [50, 100], "thresholds": [0.01, 1.5]},
        {"sizes": [50, 100], "thresholds": [0.01, 0.04], "analysis": "logistic"},
    ],
)
def test_refuses_bad_arguments(kwargs) -> None:
    with pytest.raises(InvalidArgumentError):
        exact_sequential_counts(0.6, 0.8, 50, 50, **kwargs)
