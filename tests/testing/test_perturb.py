"""The perturbation behind the strategies: most raw draws are valid without being pulled back."""

from __future__ import annotations

import numpy as np
import pytest

from rplsim import scenario_from_dict
from rplsim.testing import perturb as rs


@pytest.mark.slow
def test_most_draws_valid_at_first_attempt():
    """>= 90 % of raw perturbations are valid and feasible without being pulled back."""
    base = scenario_from_dict({"scenario": {"name": "x"}}).to_dict()
    base["trial"] = {"control_lbr": 0.6, "treatment_lbr": 0.75}
    leaves = list(rs._leaves(base, "", frozenset(base)))
    rng = np.random.default_rng(2025)
    first = 0
    n = 30
    for _ in range(n):
        plan = {}
        for path, kind in leaves:
            if kind == "num":
                plan[path] = (kind, rng.uniform(-1, 1))
            elif kind == "choice":
                plan[path] = (kind, str(rng.choice(rs._INFO[path].choices)))
            else:
                node, key = rs._get(base, path)
                plan[path] = (kind, tuple(rng.uniform(-1, 1, len(node[key]))))
        first += rs._attempt(base, plan, 0.2, True)[1] == 0
    assert first >= 0.9 * n
