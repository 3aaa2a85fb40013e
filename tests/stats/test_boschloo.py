"""rplsim.stats.boschloo: Boschloo's p-value of every table of a lattice, and of batches of tables.

References: scipy.stats.boschloo_exact table by table (its sup over the nuisance rate is found by
shgo on 32 Sobol points, so it is itself approximate), and brute forces written here (the null
probability of each table's region on 20,001 rates, then a bounded scalar search from the best).
Tolerances: 1e-6 against scipy (the two approximations of one sup differed by up to 5e-7 at
n <= 13 with the first version's parabola; 2e-10 now, measured); 1e-7 against the brute force
(the quartic's error on the module's grid, about h^5 times the fifth derivative: 2e-10 at
9 x 11 and 2e-7 at 83 x 83 against a 16,385-point reference, measured).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from rplsim.exceptions import InvalidArgumentError
from rplsim.stats import boschloo as boschloo_module
from rplsim.stats.boschloo import _fisher_margins, boschloo_counts, boschloo_lattice
from rplsim.stats.registry import LookData, get_analysis

SCIPY = {"larger": "greater", "smaller": "less", "two-sided": "two-sided"}


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
    with pytest.raises(InvalidArgumentError, match="alternative"):
        boschloo_counts(1, 5, 2, 5, alternative="greater")
    with pytest.raises(InvalidArgumentError, match="x_t == 6 with n_t == 5"):
        boschloo_counts(6, 5, 2, 5)


def test_two_near_equal_peaks_are_both_refined():
    """At 87 x 96 the tail of table (22, 21) peaks at pi = 0.272 and 0.410, 7.7e-6 apart: the
    grid's best point sits on the lower one (the first version, refining that one only, was
    7.7e-6 low). Brute force: the region's null probability as a mix of the margins' binomials,
    on 4,001 rates, then a bounded search around each of the two best local maxima."""
    n1, n2, a, b = 87, 96, 22, 21
    n = n1 + n2
    x1, x2 = np.meshgrid(np.arange(n1 + 1), np.arange(n2 + 1), indexing="ij")
    stat = stats.hypergeom.cdf(x2, n, x1 + x2, n2)
    region = stat <= stat[a, b] * (1 + 1e-13)
    # P(region | margin k) under H0, then F(pi) = sum_k P(region | k) P(K = k)
    given = np.bincount((x1 + x2)[region], stats.hypergeom.pmf(x2, n, x1 + x2, n2)[region], n + 1)

    def tail(p):
        return float(given @ stats.binom.pmf(np.arange(n + 1), n, p))

    pis = np.linspace(0, 1, 4001)
    on_grid = given @ stats.binom.pmf(np.arange(n + 1)[:, None], n, pis[None, :])
    peaks = np.flatnonzero((on_grid[1:-1] > on_grid[:-2]) & (on_grid[1:-1] >= on_grid[2:])) + 1
    best = 0.0
    for i in peaks[np.argsort(on_grid[peaks])[-2:]]:
        res = optimize.minimize_scalar(lambda p: -tail(p), bounds=(pis[i - 1], pis[i + 1]), method="bounded")
        best = max(best, -res.fun, on_grid[i])
    assert best == pytest.approx(0.3063234, abs=1e-6)
    assert boschloo_lattice(n1, n2, "greater")[a, b] == pytest.approx(best, abs=1e-7)


def test_fisher_statistic_from_exact_binomial_coefficients():
    """Within a relative 1e-14 of scipy's hypergeom.cdf, on both sides of its change of method at
    171 women (so scipy's tie rule groups the same tables)."""
    for n1, n2 in [(40, 55), (90, 95)]:
        stat, cond, margin = _fisher_margins(n1, n2)
        x1, x2 = np.divmod(np.arange(stat.size), n2 + 1)
        ref = stats.hypergeom.cdf(x2, n1 + n2, x1 + x2, n2)
        assert np.max(np.abs(stat / ref - 1)) < 1e-14
        assert np.allclose(cond, stats.hypergeom.pmf(x2, n1 + n2, x1 + x2, n2), rtol=1e-13, atol=0)
        assert np.array_equal(margin, x1 + x2)


@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_counts_match_scipy_on_random_tables(alternative):
    """Mixed arm sizes (treated arm smaller and larger than the control arm, a pair repeated),
    treated = scipy's first column."""
    rng = np.random.default_rng(16)
    n_t = np.r_[rng.integers(1, 16, 7), 9, 9]
    n_c = np.r_[rng.integers(1, 16, 7), 12, 12]
    x_t, x_c = rng.integers(0, n_t + 1), rng.integers(0, n_c + 1)
    ours = boschloo_counts(x_t, n_t, x_c, n_c, alternative=alternative)
    ref = [
        stats.boschloo_exact([[a, c], [m - a, k - c]], SCIPY[alternative]).pvalue
        for a, m, c, k in zip(x_t, n_t, x_c, n_c, strict=True)
    ]
    assert np.max(np.abs(ours - np.nan_to_num(ref, nan=1.0))) < 1e-6


def test_counts_shape_empty_arms_and_the_kept_lattices():
    p = boschloo_counts([[0, 7], [3, 0]], [[0, 10], [5, 4]], [[1, 2], [0, 0]], [[4, 10], [0, 6]])
    assert p.shape == (2, 2)
    assert p[0, 0] == 1.0 and p[1, 1] == 1.0  # an empty arm (scipy: NaN); no births at all
    assert p[0, 1] == pytest.approx(stats.boschloo_exact([[7, 2], [3, 8]]).pvalue, abs=1e-6)
    assert p[1, 0] == 1.0  # the control arm is empty
    # one lattice serves both orientations, and "less" and "two-sided"; all read-only
    boschloo_module._clear_cache()
    two_sided = boschloo_lattice(9, 6, "two-sided")  # from the lattice capped at 0.5
    greater = boschloo_lattice(6, 9, "greater")
    assert np.array_equal(boschloo_lattice(9, 6, "greater"), greater[::-1, ::-1].T)
    assert np.array_equal(boschloo_lattice(6, 9, "less"), greater[::-1, ::-1])
    full = np.minimum(2 * np.minimum(greater, greater[::-1, ::-1]), 1.0)
    assert np.array_equal(two_sided.T, full)
    assert not greater.flags.writeable and not two_sided.flags.writeable


def test_work_limit_and_margin_are_one_line_errors(monkeypatch):
    monkeypatch.setattr(boschloo_module, "MAX_WORK_CELLS", 10_000)
    boschloo_module._clear_cache()
    with pytest.raises(InvalidArgumentError, match=r"^boschloo: this call needs 2 new lattices of up to 81 "):
        boschloo_counts([1, 2, 3], [40, 41, 41], [1, 2, 3], [40, 40, 40])
    one = np.ones(1, dtype=np.int64)
    data = LookData(one, 5 * one, one, 5 * one, np.ones((1, 4, 1), dtype=np.int64), "larger", margin=0.1)
    with pytest.raises(InvalidArgumentError, match=r'superiority \(margin 0\) only; use analysis "chi2"'):
        get_analysis("boschloo").function(data)
