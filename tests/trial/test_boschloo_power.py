"""Boschloo's test as a registered analysis (trial.analysis = "boschloo"): exact power by
enumeration against a brute force over scipy.stats.boschloo_exact, against Fisher's test, and
against the count path's simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rplsim import load_scenario
from rplsim.design import exact_power_counts
from rplsim.trial.exact import exact_power
from rplsim.trial.power import simulate_power
from tests.conftest import SCENARIOS

SCIPY = {"larger": "greater", "smaller": "less", "two-sided": "two-sided"}


def _brute_force(pc, pt, n_c, n_t, alpha, alternative):
    """(power, rejection, type-I error) summed over every (x_c, x_t) table, each decided by
    scipy.stats.boschloo_exact (treated = first column) with the simulation's rule: p <= alpha,
    in favour of treatment when one-sided or when the treated rate is the higher."""
    power = rejection = type1 = 0.0
    b_c = stats.binom.pmf(np.arange(n_c + 1), n_c, pc)
    b_t, b_0 = (stats.binom.pmf(np.arange(n_t + 1), n_t, p) for p in (pt, pc))
    for x_c in range(n_c + 1):
        for x_t in range(n_t + 1):
            table = [[x_t, x_c], [n_t - x_t, n_c - x_c]]
            if not stats.boschloo_exact(table, SCIPY[alternative]).pvalue <= alpha:
                continue
            good = alternative != "two-sided" or x_t / n_t > x_c / n_c
            power += b_c[x_c] * b_t[x_t] * good
            rejection += b_c[x_c] * b_t[x_t]
            type1 += b_c[x_c] * b_0[x_t]
    return power, rejection, type1


@pytest.mark.parametrize(
    ("n_c", "n_t", "alternative"), [(10, 12, "two-sided"), (9, 9, "larger"), (12, 8, "smaller")]
)  # scipy takes about 3 ms a table (6 two-sided)
def test_exact_power_equals_a_brute_force_over_scipy(n_c, n_t, alternative):
    pc, pt = (0.8, 0.3) if alternative == "smaller" else (0.3, 0.8)
    # one block of all the women: the arms are exactly n_c and n_t, as in the brute force
    res = exact_power_counts(
        pc, pt, n_c, n_t, analysis="boschloo", alpha=0.05, alternative=alternative,
        dropout=0.0, block_size=n_c + n_t,
    )  # fmt: skip
    assert res.pairs == 1
    want = _brute_force(pc, pt, n_c, n_t, 0.05, alternative)
    for got, ref in zip((res.power, res.rejection, res.type1_error), want, strict=True):
        assert got == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize(("pc", "pt", "n"), [(0.3, 0.8, 10), (0.6, 0.807, 30)])
@pytest.mark.parametrize("alternative", ["two-sided", "larger"])
def test_boschloo_is_at_least_as_powerful_as_fisher(pc, pt, n, alternative):
    """Boschloo's region contains Fisher's one-sided one (his p-value never exceeds Fisher's);
    here, with rplsim's two-sided Fisher test (R's), too."""
    kw = {"alpha": 0.05, "alternative": alternative, "dropout": 0.0, "block_size": 2 * n}
    bos = exact_power_counts(pc, pt, n, n, analysis="boschloo", **kw)
    fis = exact_power_counts(pc, pt, n, n, analysis="fisher", **kw)
    assert bos.power >= fis.power
    assert bos.type1_error <= 0.05  # conservative (an exact test)


def test_scenario_exact_power_equals_the_simulation_within_monte_carlo_error():
    # |simulated - exact| <= 4 Monte-Carlo SE: a two-sided normal bound, false-failure rate
    # P(|N(0,1)| > 4) = 6e-5 per comparison.
    paper = load_scenario(SCENARIOS / "paper.toml", {"trial": {"analysis": "boschloo", "dropout": 0.0}})
    reps = 4096
    ex = exact_power(paper, n_per_arm=30)
    sim = simulate_power(paper, n_per_arm=30, replicates=reps, seed=20261216)
    assert sim.path == "counts"
    for got, want in ((sim.power, ex.power), (sim.type1_error, ex.type1_error)):
        assert abs(got - want) <= 4 * math.sqrt(want * (1 - want) / reps)
    assert ex.analysis == "boschloo" and ex.type1_error <= paper.trial.alpha
