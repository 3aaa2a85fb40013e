"""Tests of rplsim.stats.pvalues: wald_p and reject.

References (scipy, statsmodels) are computed in the test itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.special
import scipy.stats
from numpy.testing import assert_allclose, assert_array_equal

from rplsim.exceptions import InvalidArgumentError
from rplsim.stats.batched import (
    reject,
    wald_p,
)

# ---------------------------------------------------------------------- wald / reject


def test_wald_p_matches_normal_distribution():
    z = np.linspace(-5, 5, 41)
    assert_allclose(wald_p(z, "two-sided"), 2 * scipy.stats.norm.sf(np.abs(z)), rtol=1e-12)
    assert_allclose(wald_p(z, "larger"), scipy.stats.norm.sf(z), rtol=1e-12)
    assert_allclose(wald_p(z, "smaller"), scipy.stats.norm.cdf(z), rtol=1e-12)
    assert np.isnan(wald_p(np.nan, "larger"))


def test_reject():
    assert_array_equal(reject([0.01, 0.05, 0.06, np.nan], 0.05), [True, True, False, False])
    assert_array_equal(reject([0.01, 0.03], [0.005, 0.04]), [False, True])
    with pytest.raises(InvalidArgumentError, match=r"alpha == 1.2, must be in \(0, 0.5\]."):
        reject([0.1], 1.2)
