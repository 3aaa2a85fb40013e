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
