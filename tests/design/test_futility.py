"""rplsim.design.futility (issue 16 groundwork): beta-spending futility against rpact.

Reference values from R 4.x, rpact 3.3.4 (Debian's r-cran-rpact), printed to 4 decimals by

    d <- getDesignGroupSequential(kMax = K, alpha = 0.025, beta = 0.2, sided = 1,
                                  typeOfDesign = TYPE, typeBetaSpending = BETA,
                                  bindingFutility = BINDING)
    ch <- getDesignCharacteristics(d)
    d$criticalValues; d$futilityBounds; ch$inflationFactor
    ch$averageSampleNumber0; ch$averageSampleNumber1

(run 2026-12-03 on this machine). Tolerance 1e-3 on the z bounds (the issue's), 1e-3 on the
inflation and average sample numbers (rpact prints 4 decimals; both integrate the same normal
recursion to about 1e-6).
"""

from __future__ import annotations

import numpy as np
import pytest

from rplsim.design.futility import futility_design
from rplsim.design.recursion import crossing_probabilities

RPACT = [
    # K, typeOfDesign/typeBetaSpending, binding: critical values, futility bounds, inflation, ASN0, ASN1
    (3, "obrien-fleming", False, [3.7103, 2.5114, 1.9930], [-0.2361, 1.1704], 1.1043, 0.6274, 0.8752),
    (3, "obrien-fleming", True, [3.7103, 2.5111, 1.9309], [-0.2700, 1.1225], 1.0608, 0.6107, 0.8479),
    (2, "obrien-fleming", False, [2.9626, 1.9686], [0.5594], 1.0560, 0.6792, 0.9256),
    (2, "obrien-fleming", True, [2.9626, 1.9376], [0.5377], 1.0336, 0.6687, 0.9089),
    (3, "pocock", False, [2.2794, 2.2949, 2.2959], [0.5659, 1.4734], 1.3844, 0.6087, 0.8003),
    (3, "pocock", True, [2.2794, 2.2792, 2.1626], [0.5066, 1.3869], 1.2994, 0.5845, 0.7707),
]


@pytest.mark.parametrize(("k", "spending", "binding", "eff", "fut", "infl", "asn0", "asn1"), RPACT)
def test_bounds_inflation_and_asn_match_rpact(k, spending, binding, eff, fut, infl, asn0, asn1):
    d = futility_design(k, spending=spending, binding=binding)
    assert np.allclose(d.efficacy_z, eff, atol=1e-3)
    assert np.allclose(d.futility_z[:-1], fut, atol=1e-3) and d.futility_z[-1] == d.efficacy_z[-1]
    assert d.inflation == pytest.approx(infl, abs=1e-3)
    assert d.expected_fraction_h0 * d.inflation == pytest.approx(asn0, abs=1e-3)
    assert d.expected_fraction_h1 * d.inflation == pytest.approx(asn1, abs=1e-3)
    assert d.power == pytest.approx(0.8, abs=1e-6)


def test_non_binding_futility_leaves_efficacy_and_type1_error():
    """Non-binding: the efficacy bounds are the efficacy-only design's, so ignoring the futility
    stops the type-I error is alpha; obeying them it is lower, and the expected n under H0 falls."""
    d = futility_design(3)
    alone = crossing_probabilities(d.efficacy_z, d.information_fractions, 0.0, two_sided=False)
    assert float(alone.sum()) == pytest.approx(0.025, abs=1e-6)
    assert d.type1_error < 0.025
    assert d.expected_fraction_h0 < d.expected_fraction_h1 < 1.0
    assert np.all(d.stop_futility_h0 > d.stop_futility_h1)


# getSampleSizeRates(d, pi1 = 0.807, pi2 = 0.6, groups = 2) on the designs above (rpact 3.3.4,
# run 2026-12-04): maxNumberOfSubjects, expectedNumberOfSubjectsH0, expectedNumberOfSubjectsH1.
RPACT_RATES = [
    (2, "ld-obrien-fleming", False, 158.878, 102.1921, 139.2624),
    (2, "ld-obrien-fleming", True, 155.5097, 100.6045, 136.7435),
    (2, "ld-pocock", False, 192.0831, 107.9355, 129.0365),
    (2, "ld-pocock", True, 182.8774, 103.8966, 124.8298),
    (3, "ld-obrien-fleming", False, 166.1503, 94.39558, 131.6779),
    (3, "ld-obrien-fleming", True, 159.5965, 91.88089, 127.5745),
    (3, "ld-pocock", False, 208.2809, 91.58107, 120.4026),
    (3, "ld-pocock", True, 195.5037, 87.93913, 115.9557),
]


@pytest.mark.parametrize(("k", "boundary", "binding", "n_max", "en0", "en1"), RPACT_RATES)
def test_sample_size_with_futility_matches_rpact(k, boundary, binding, n_max, en0, en1):
    """Maximum n to the patient (rpact's n_max per arm, rounded up) and the expected n under H0
    and H1 as fractions of the maximum (rpact's are at its unrounded n_max, ours at the rounded)."""
    from rplsim.design.analytic import sample_size

    ss = sample_size(
        0.6, 0.807, alpha=0.025, alternative="larger", looks=k, boundary=boundary,
        futility="beta-spending", futility_binding=binding,
    )  # fmt: skip
    assert ss.n_control == ss.n_treatment == int(np.ceil(n_max / 2 - 1e-9))
    assert ss.expected_n_h0 / ss.n_total == pytest.approx(en0 / n_max, abs=1e-4)
    assert ss.expected_n_h1 / ss.n_total == pytest.approx(en1 / n_max, abs=1e-4)
    assert ss.futility_z[-1] == ss.efficacy_z[-1] and ss.achieved_power >= 0.8


def test_trial_boundary_kept_by_non_binding_futility_and_lowered_by_binding():
    """sequential_futility: non-binding keeps the trial's own efficacy bounds exactly (classical
    O'Brien-Fleming, two-sided), binding lowers them and spends the same alpha per look."""
    from rplsim.design.futility import sequential_futility
    from rplsim.design.sequential import group_sequential_design

    gs = group_sequential_design(3, alpha=0.05, alternative="two-sided", boundary="obrien-fleming")
    free = sequential_futility(3, alpha=0.05, boundary="obrien-fleming")
    tied = sequential_futility(3, alpha=0.05, boundary="obrien-fleming", binding=True)
    assert np.array_equal(free.efficacy_z, np.array(gs.efficacy_z))
    assert np.all(tied.efficacy_z[1:] < free.efficacy_z[1:]) and tied.inflation < free.inflation
    assert tied.type1_error == pytest.approx(0.025, abs=1e-6) and free.type1_error < 0.025


def test_conditional_power_bound_is_where_conditional_power_equals_the_threshold():
    """At the futility bound of rule "conditional-power", the conditional power under the solved
    drift (final bound u_K) is the threshold: CP = Phi((z sqrt t + theta (1 - t) - u_K) / sqrt(1 - t))."""
    from scipy import stats

    d = futility_design(3, rule="conditional-power", threshold=0.15)
    t, u_k = d.information_fractions, d.efficacy_z[-1]
    for k in range(2):
        z = d.futility_z[k]
        cp = stats.norm.cdf((z * np.sqrt(t[k]) + d.drift * (1 - t[k]) - u_k) / np.sqrt(1 - t[k]))
        assert cp == pytest.approx(0.15, abs=1e-9)
    assert d.power == pytest.approx(0.8, abs=1e-6)
