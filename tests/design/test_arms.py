"""Tests of rplsim.design.arms: one rounding rule for the treatment arm."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rplsim.design.arms import arm_size


def test_integral_products_are_not_bumped() -> None:
    assert arm_size(1.1, 10) == 11  # 1.1 * 10 == 11.000000000000002
    assert arm_size(1.5, 3) == 5
    assert arm_size(1.0, np.int64(7)) == 7
    assert isinstance(arm_size(2.0, 4), int)


def test_arrays_and_series_round_the_same_way() -> None:
    n = pd.Series([10, 11, 3])
    expected = [arm_size(1.1, int(v)) for v in n]
    assert (n + arm_size(1.1, n)).tolist() == [a + b for a, b in zip(n, expected, strict=True)]
    assert arm_size(1.1, n).tolist() == [float(v) for v in expected]
