"""Tests of rplsim.sequential against published group-sequential tables."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rplsim.design.sequential import crossing_probabilities, group_sequential_design
from rplsim.exceptions import InvalidArgumentError

# Published values are printed to 3 decimals; we allow 1e-3 (rounding plus the last digit).
TABLE_TOL = 1e-3


@pytest.mark.parametrize(
    ("looks", "c_p"),
    # Jennison & Turnbull (2000), Table 2.1: Pocock C_P(K, alpha = 0.05), two-sided.
    [(2, 2.178), (3, 2.289), (4, 2.361), (5, 2.413)],
)
def test_pocock_constant_jennison_turnbull_table_2_1(looks: int, c_p: float) -> None:
    d = group_sequential_design(looks, alpha=0.05, boundary="pocock")
    assert np.allclose(d.efficacy_z, c_p, atol=TABLE_TOL)


@pytest.mark.parametrize(
    ("looks", "c_b"),
    # Jennison & Turnbull (2000), Table 2.3: O'Brien-Fleming C_B(K, alpha = 0.05), two-sided;
    # c_k = C_B sqrt(K / k).
    [(2, 1.977), (3, 2.004), (4, 2.024), (5, 2.040)],
)
def test_obrien_fleming_constant_jennison_turnbull_table_2_3(looks: int, c_b: float) -> None:
    d = group_sequential_design(looks, alpha=0.05, boundary="obrien-fleming")
    k = np.arange(1, looks + 1)
    assert d.efficacy_z[-1] == pytest.approx(c_b, abs=TABLE_TOL)
    assert np.allclose(d.efficacy_z, d.efficacy_z[-1] * np.sqrt(looks / k), rtol=1e-12)


@pytest.mark.parametrize(
    ("boundary", "looks", "power", "r"),
    [
        # Jennison & Turnbull (2000), Table 2.2: Pocock R_P(K, 0.05, beta), two-sided.
        ("pocock", 2, 0.8, 1.110),
        ("pocock", 3, 0.8, 1.166),
        ("pocock", 4, 0.8, 1.202),
        ("pocock", 5, 0.8, 1.229),
        ("pocock", 5, 0.9, 1.207),
        # Jennison & Turnbull (2000), Table 2.4: O'Brien-Fleming R_B(K, 0.05, beta).
        ("obrien-fleming", 2, 0.8, 1.008),
        ("obrien-fleming", 3, 0.8, 1.017),
        ("obrien-fleming", 4, 0.8, 1.024),
        ("obrien-fleming", 5, 0.8, 1.028),
    ],
)
def test_inflation_factor_jennison_turnbull(boundary: str, looks: int, power: float, r: float) -> None:
    d = group_sequential_design(looks, alpha=0.05, power=power, boundary=boundary)
    assert d.inflation_factor == pytest.approx(r, abs=TABLE_TOL)


@pytest.mark.parametrize(
    ("looks", "expected"),
    [
        # gsDesign::gsDesign(k = 3, test.type = 2, alpha = 0.025, sfu = sfLDOF)$upper$bound
        # (0.025 per side): 3.7103 2.5114 1.9930. The brief's 3.471 / 2.454 / 2.004 are the
        # classical O'Brien-Fleming values (2.004 sqrt(3 / k), J&T Table 2.3), not Lan-DeMets.
        (3, (3.710, 2.511, 1.993)),
        # Same with k = 5: 4.8769 3.3569 2.6803 2.2898 2.0310
        (5, (4.877, 3.357, 2.680, 2.290, 2.031)),
    ],
)
def test_lan_demets_obrien_fleming_gsdesign(looks: int, expected: tuple[float, ...]) -> None:
    d = group_sequential_design(looks, alpha=0.05, boundary="ld-obrien-fleming")
    assert np.allclose(d.efficacy_z, expected, atol=TABLE_TOL)


def _mvn_reject_by(c: np.ndarray, t: np.ndarray, drift: float, two_sided: bool) -> float:
    """P(cross some boundary by the last look of ``c``) from scipy's multivariate normal CDF."""
    k = len(c)
    tt = t[:k]
    cov = np.sqrt(np.minimum.outer(tt, tt) / np.maximum.outer(tt, tt))
    mvn = stats.multivariate_normal(mean=drift * np.sqrt(tt), cov=cov, abseps=1e-8, releps=1e-8)
    lower = -c if two_sided else np.full(k, -np.inf)
    return 1.0 - float(mvn.cdf(c, lower_limit=lower))


@pytest.mark.parametrize("boundary", ["ld-pocock", "ld-obrien-fleming"])
@pytest.mark.parametrize("alternative", ["two-sided", "larger"])
def test_spending_matches_spending_function_by_mvn_cdf(boundary: str, alternative: str) -> None:
    # An independent check (Genz's MVN algorithm, not the recursive integration): the
    # type-I error spent by each look equals the Lan-DeMets spending function.
    t = np.array([0.25, 0.6, 1.0])
    d = group_sequential_design(
        3, alpha=0.05, alternative=alternative, boundary=boundary, information_fractions=t
    )
    a = 0.025 if alternative == "two-sided" else 0.05
    if boundary == "ld-pocock":
        spend = a * np.log(1 + (np.e - 1) * t)
    else:
        spend = 2 - 2 * stats.norm.cdf(stats.norm.isf(a / 2) / np.sqrt(t))
    if alternative == "two-sided":
        spend = 2 * spend
    assert np.allclose(d.cumulative_alpha, spend, atol=1e-7)
    c = np.array(d.efficacy_z)
    for k in (1, 2, 3):
        mvn = _mvn_reject_by(c[:k], t, 0.0, alternative == "two-sided")
        assert mvn == pytest.approx(spend[k - 1], abs=2e-6)


def test_lan_demets_pocock_values() -> None:
    # Computed here (K = 3, equal spacing, two-sided alpha 0.05 as 0.025 per side) and
    # confirmed against the MVN CDF above. The brief's 2.375 / 2.198 / 2.079 do not satisfy
    # the spending function: look 1 must spend 0.025 ln(1 + (e-1)/3) = 0.011321 per side,
    # i.e. c_1 = Phi^-1(1 - 0.011321) = 2.2794 exactly.
    d = group_sequential_design(3, alpha=0.05, boundary="ld-pocock")
    first = stats.norm.isf(0.025 * np.log(1 + (np.e - 1) / 3))
    assert d.efficacy_z[0] == pytest.approx(first, abs=1e-9)
    assert np.allclose(d.efficacy_z, (2.2794, 2.2949, 2.2959), atol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("drift", [0.0, 1.5, 2.8])
def test_crossing_probabilities_match_mvn_cdf(drift: float) -> None:
    t = np.array([0.3, 0.55, 0.8, 1.0])
    c = np.array([3.2, 2.6, 2.3, 2.0])
    for two_sided in (True, False):
        p = crossing_probabilities(c, t, drift, two_sided)
        assert np.all(p >= 0)
        cum = np.cumsum(p)
        for k in (2, 4):
            assert cum[k - 1] == pytest.approx(_mvn_reject_by(c[:k], t, drift, two_sided), abs=2e-6)


@pytest.mark.parametrize("boundary", ["obrien-fleming", "pocock", "ld-obrien-fleming", "ld-pocock"])
@pytest.mark.parametrize("looks", [2, 4, 7])
def test_crossing_under_h0_sums_to_alpha(boundary: str, looks: int) -> None:
    d = group_sequential_design(looks, alpha=0.05, boundary=boundary)
    p = crossing_probabilities(d.efficacy_z, d.information_fractions, 0.0, True)
    assert p.sum() == pytest.approx(0.05, abs=1e-5)
    assert d.cumulative_alpha[-1] == pytest.approx(0.05, abs=1e-5)
    # Under H1 the efficacy crossings add up to the target power. The design keeps the lower
    # boundary as a stopping rule; dropping it (two_sided=False) lets a few paths that fell
    # below -c_k go on to cross the upper one (up to ~2e-5 for Pocock with 7 looks).
    assert sum(d.stop_probability_h1) == pytest.approx(0.8, abs=1e-8)
    p1 = crossing_probabilities(d.efficacy_z, d.information_fractions, d.drift, False)
    assert np.allclose(p1, d.stop_probability_h1, atol=1e-4)
    assert np.all(p1 >= np.array(d.stop_probability_h1) - 1e-7)


def test_expected_information() -> None:
    d = group_sequential_design(5, boundary="obrien-fleming")
    # O'Brien-Fleming almost never stops early under H0: E[N] / n_max is just below 1.
    assert 0.99 < d.expected_info_h0 < 1.0
    assert d.expected_info_h1 < 0.85
    p = group_sequential_design(5, boundary="pocock")
    assert p.expected_info_h1 < d.expected_info_h1  # Pocock stops earlier under H1
    assert p.inflation_factor > d.inflation_factor


def test_single_look_is_the_fixed_design() -> None:
    d = group_sequential_design(1, alpha=0.05, power=0.9)
    assert d.efficacy_z[0] == pytest.approx(stats.norm.isf(0.025), abs=1e-12)
    assert d.inflation_factor == pytest.approx(1.0, abs=1e-8)
    assert d.drift == pytest.approx(stats.norm.isf(0.025) + stats.norm.isf(0.1), abs=1e-7)
    assert d.expected_info_h0 == 1.0


def test_one_sided_and_nominal_alpha() -> None:
    d = group_sequential_design(3, alpha=0.025, alternative="larger", boundary="obrien-fleming")
    # A one-sided design at 0.025 has the same boundaries as a two-sided one at 0.05
    # (crossing both boundaries is negligible: ~1e-10).
    two = group_sequential_design(3, alpha=0.05, boundary="obrien-fleming")
    assert np.allclose(d.efficacy_z, two.efficacy_z, atol=1e-6)
    assert np.allclose(d.nominal_alpha, stats.norm.sf(d.efficacy_z))
    assert np.allclose(two.nominal_alpha, 2 * stats.norm.sf(two.efficacy_z))
    assert d.as_dict()["looks"] == 3


def test_unequal_information_obrien_fleming_shape() -> None:
    t = [0.2, 0.5, 1.0]
    d = group_sequential_design(3, boundary="obrien-fleming", information_fractions=t)
    assert np.allclose(np.array(d.efficacy_z) * np.sqrt(t), d.efficacy_z[-1])
    assert d.cumulative_alpha[-1] == pytest.approx(0.05, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"looks": 0}, "looks == 0"),
        ({"looks": 2.5}, "looks == 2.5"),
        ({"looks": 2, "alpha": 1.2}, r"alpha == 1.2, must be in \(0, 0.5\]"),
        ({"looks": 2, "power": 0.3}, "power == 0.3"),
        ({"looks": 2, "boundary": "haybittle"}, "boundary == 'haybittle'"),
        ({"looks": 2, "alternative": "less"}, "alternative == 'less'"),
        ({"looks": 2, "information_fractions": [0.5, 0.9]}, "must end at 1"),
        ({"looks": 2, "information_fractions": [0.5, 0.75, 1]}, "must equal looks"),
        ({"looks": 3, "information_fractions": [0.6, 0.5, 1]}, "strictly increasing"),
    ],
)
def test_bad_arguments(kwargs: dict, match: str) -> None:
    looks = kwargs.pop("looks")
    with pytest.raises(InvalidArgumentError, match=match):
        group_sequential_design(looks, **kwargs)


def test_crossing_probabilities_length_mismatch() -> None:
    with pytest.raises(InvalidArgumentError, match="len"):
        crossing_probabilities([2.0, 2.0], [1.0], 0.0, True)
