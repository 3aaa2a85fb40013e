"""Tests of rplsim.trial.randomisation: permuted blocks and simple randomisation.

Statistical checks state their false-failure rate.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from rplsim.trial.randomisation import arm_assignment, treated_counts


@given(n_total=st.integers(1, 400), half_block=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_permuted_blocks_keep_every_prefix_within_half_a_block(
    n_total: int, half_block: int, seed: int
) -> None:
    """1:1 permuted blocks: after any number of women, |treated - m/2| <= block/2 (exact)."""
    block = 2 * half_block
    g = np.random.default_rng(seed)
    assign = arm_assignment(g, 16, n_total, 1.0, block)
    m = np.arange(1, n_total + 1)
    assert np.all(np.abs(np.cumsum(assign, axis=1) - m / 2) <= block / 2)
    # The count path's arm sizes obey the same bound.
    treated = treated_counts(g, 16, n_total, 1.0, block)
    assert np.all(np.abs(treated - n_total / 2) <= block / 2)


@given(n_total=st.integers(1, 400), seed=st.integers(0, 2**32 - 1))
def test_permuted_blocks_2_to_1_with_block_6(n_total: int, seed: int) -> None:
    """2:1 in blocks of 6 (4 IVIG + 2 placebo): |treated - 2m/3| <= block/2 (exact)."""
    g = np.random.default_rng(seed)
    assign = arm_assignment(g, 16, n_total, 2.0, 6)
    m = np.arange(1, n_total + 1)
    assert np.all(np.abs(np.cumsum(assign, axis=1) - 2 * m / 3) <= 3)
    assert np.all(np.abs(treated_counts(g, 16, n_total, 2.0, 6) - 2 * n_total / 3) <= 3)


def test_partial_block_is_hypergeometric() -> None:
    """Count path, 101 women in blocks of 4: treated = 50 + the first place of a random
    permutation of (T, T, C, C), i.e. 50 or 51 with probability 1/2 each.

    Binomial test of the share of 51s, level 0.001 (false-failure rate 0.001).
    """
    g = np.random.default_rng(3)
    t = treated_counts(g, 20_000, 101, 1.0, 4)
    assert set(np.unique(t)) == {50, 51}
    assert stats.binomtest(int((t == 51).sum()), t.size, 0.5).pvalue > 0.001


@pytest.mark.parametrize("ratio", [1.0, 2.0])
def test_simple_randomisation_is_binomial(ratio: float) -> None:
    """block_size 0: treated count ~ Binomial(n_total, ratio / (1 + ratio)) on both paths.

    Chi-square goodness of fit over the binomial's central cells (tails pooled so every
    expected count >= 20), level 0.001 each (false-failure rate 0.001 per path).
    """
    n_total, r = 60, 20_000
    p = ratio / (1 + ratio)
    g = np.random.default_rng(17)
    for draws in (
        treated_counts(g, r, n_total, ratio, 0),
        arm_assignment(g, r, n_total, ratio, 0).sum(axis=1),
    ):
        pmf = stats.binom.pmf(np.arange(n_total + 1), n_total, p)
        lo = int(np.flatnonzero(np.cumsum(pmf) * r >= 20)[0])
        hi = int(np.flatnonzero(np.cumsum(pmf[::-1]) * r >= 20)[0])
        hi = n_total - hi
        obs = np.bincount(np.clip(draws, lo, hi) - lo, minlength=hi - lo + 1)
        exp = pmf[lo : hi + 1].copy()
        exp[0] += pmf[:lo].sum()
        exp[-1] += pmf[hi + 1 :].sum()
        assert stats.chisquare(obs, exp * r).pvalue > 0.001
