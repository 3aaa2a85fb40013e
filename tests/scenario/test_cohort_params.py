"""The [cohort] section: the paper's Table 1 values as defaults."""

from __future__ import annotations

import math

from rplsim import Scenario


def test_paper_loads_with_table1_values(paper):
    assert isinstance(paper, Scenario)
    assert paper.cohort.n == 466  # Table 1
    assert paper.cohort.age.KA.mean == 32.39  # Table 1, KA
    assert math.isclose(paper.cohort.strata.KN * 466, 118, abs_tol=1e-3)  # Table 1
