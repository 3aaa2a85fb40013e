"""Tests of rplsim.design.boundaries: the registry of efficacy boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from rplsim.design.boundaries import BOUNDARIES, BOUNDARY_REGISTRY, Boundary, register_boundary
from rplsim.design.sequential import group_sequential_design
from rplsim.exceptions import InvalidArgumentError


def test_registered_boundaries() -> None:
    assert tuple(BOUNDARIES) == ("obrien-fleming", "pocock", "ld-obrien-fleming", "ld-pocock")


def test_unknown_boundary_lists_the_registered_ones() -> None:
    with pytest.raises(InvalidArgumentError, match=r"boundary == 'haybittle', must be one of \('obrien"):
        group_sequential_design(3, boundary="haybittle")


def test_a_registered_boundary_is_used_by_the_design() -> None:
    """A toy Haybittle-Peto boundary (3.29 at the interim looks, 2.0 at the final one)."""

    def haybittle(a: float, t: np.ndarray, two_sided: bool) -> np.ndarray:
        return np.concatenate([np.full(t.size - 1, 3.29), [2.0]])

    register_boundary(Boundary("haybittle-toy", haybittle, "toy"))
    try:
        d = group_sequential_design(3, boundary="haybittle-toy")
        assert d.efficacy_z == (3.29, 3.29, 2.0)
        assert "haybittle-toy" in BOUNDARIES
    finally:
        BOUNDARY_REGISTRY.unregister("haybittle-toy")
    assert "haybittle-toy" not in BOUNDARIES
