"""rplsim.stats.boschloo (issue 16 groundwork): Boschloo's p-value of every table of a lattice.

References: scipy.stats.boschloo_exact table by table (its sup over the nuisance rate is found by
shgo on 32 Sobol points, so it is itself approximate), and a brute force written here (the null
probability of each table's region on 20,001 rates, then a bounded scalar search from the best).
Tolerances: 1e-6 against scipy (the two approximations of one sup differ by up to 5e-7 at n <= 13,
measured); 1e-7 against the brute force (the parabola's error on the module's grid, about h^3
times the largest third derivative over 15 = 3e-8 at degree 20; 1.2e-8 measured).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from rplsim.exceptions import InvalidArgumentError
from rplsim.stats.boschloo import boschloo_lattice


@pytest.mark.parametrize(
    ("n1", "n2", "alternative"), [(7, 7, "two-sided"), (6, 9, "greater"), (6, 9, "less")]
)  # scipy takes about 10 ms a table: small lattices
def test_every_table_matches_scipy(n1, n2, alternative):
    ours = boschloo_lattice(n1, n2, alternative)
    ref = np.array(
        [
            [stats.boschloo_exact([[a, b], [n1 - a, n2 - b]], alternative).pvalue for b in range(n2 + 1)]
            for a in range(n1 + 1)
        ]
    )
    assert np.nanmax(np.abs(ours - ref)) < 1e-6


def test_matches_a_brute_force_sup():
    n1, n2 = 9, 11
    x1, x2 = np.meshgrid(np.arange(n1 + 1), np.arange(n2 + 1), indexing="ij")
    stat = stats.hypergeom.cdf(x2, n1 + n2, x1 + x2, n2)
    ours = boschloo_lattice(n1, n2, "greater")
    pis = np.linspace(0, 1, 20_001)
    b1 = stats.binom.pmf(np.arange(n1 + 1)[:, None], n1, pis[None, :])
    b2 = stats.binom.pmf(np.arange(n2 + 1)[:, None], n2, pis[None, :])
    for a, b in [(9, 0), (7, 2), (6, 3), (5, 5), (3, 8)]:
        region = stat <= stat[a, b] * (1 + 1e-13)
        prob = np.einsum("ij,ik,jk->k", region.astype(float), b1, b2)

        def minus(p, region=region):
            return -float(np.sum(region * np.outer(stats.binom.pmf(range(n1 + 1), n1, p),
                                                   stats.binom.pmf(range(n2 + 1), n2, p))))  # fmt: skip

        i = int(np.argmax(prob))
        lo, hi = pis[max(i - 1, 0)], pis[min(i + 1, len(pis) - 1)]
        best = max(prob[i], -optimize.minimize_scalar(minus, bounds=(lo, hi), method="bounded").fun)
        assert ours[a, b] == pytest.approx(best, abs=1e-7)


def test_at_least_as_powerful_as_fisher():
    """Boschloo's p-value never exceeds Fisher's one-sided p-value (its statistic)."""
    n1, n2 = 15, 12
    x1, x2 = np.meshgrid(np.arange(n1 + 1), np.arange(n2 + 1), indexing="ij")
    fisher = stats.hypergeom.cdf(x2, n1 + n2, x1 + x2, n2)
    assert np.all(boschloo_lattice(n1, n2, "greater") <= fisher + 1e-12)


def test_bad_arguments():
    with pytest.raises(InvalidArgumentError, match="n1 == 0"):
        boschloo_lattice(0, 5)
    with pytest.raises(InvalidArgumentError, match="alternative"):
        boschloo_lattice(5, 5, "bigger")
