"""rplsim.design.exact_surface and rplsim.design.assurance: the exact power surface against the
pointwise enumeration, and the quadrature's error estimate against a 64-node reference."""

from __future__ import annotations

import numpy as np
import pytest

from rplsim.design.assurance import exact_assurance_counts
from rplsim.design.exact_counts import exact_power_counts
from rplsim.design.exact_surface import power_surface_counts
from rplsim.design.priors import BetaPrior, JointPrior, LogNormalPrior, MixturePrior

PC = np.array([0.35, 0.6, 0.7])
PT = np.array([[0.3, 0.55, 0.8], [0.6, 0.807, 0.5], [0.62, 0.75, 0.9]])


@pytest.mark.parametrize(
    "design",
    [
        {"analysis": "chi2", "dropout": 0.1, "block_size": 4},
        {"analysis": "fisher", "dropout": 0.1, "block_size": 4},
        {"analysis": "chi2", "alternative": "larger", "margin": 0.1, "dropout": 0.05, "block_size": 2},
        {"analysis": "chi2", "dropout": 0.0, "block_size": 0},
        {"analysis": "chi2", "dropout": 0.1, "block_size": 3, "allocation_ratio": 2.0},
    ],
    ids=["chi2", "fisher", "noninferiority", "simple-randomisation", "ratio-2"],
)
def test_surface_equals_the_pointwise_enumeration(design):
    n_t = 2 * 30 if design.get("allocation_ratio") == 2.0 else 30
    surface = power_surface_counts(PC, PT, 30, n_t, **design)
    ref = np.array(
        [[exact_power_counts(PC[k], PT[k, j], 30, n_t, **design).power for j in range(3)] for k in range(3)]
    )
    assert np.abs(surface.power - ref).max() < 1e-11 and surface.max_error < 1e-11


PRIORS = [
    JointPrior(BetaPrior(16.5, 17.2), LogNormalPrior(0.223, 0.113), "ivig_relative_risk"),
    JointPrior(BetaPrior(16.5, 17.2), BetaPrior(159.5, 38.5), "treatment_lbr"),
    JointPrior(
        BetaPrior(0.7, 0.7),
        MixturePrior((0.5, 0.5), (LogNormalPrior(0.0, 0.3), LogNormalPrior(0.7, 0.2))),
        "ivig_odds_ratio",
    ),
]


@pytest.mark.parametrize("jp", PRIORS, ids=["rr", "two-beta", "or-mixture"])
def test_quadrature_error_estimate_covers_the_error(jp):
    """|A_24 - A_16| (the reported estimate) is at least |A_24 - A_64| (a much finer rule)."""
    design = {"dropout": 0.1, "block_size": 4}
    res = exact_assurance_counts(jp, 40, 40, **design)
    ref = exact_assurance_counts(jp, 40, 40, k=64, **design)
    assert abs(res.assurance - ref.assurance) <= res.quadrature_error
    assert res.quadrature_error < 1e-3
