"""rplsim fit (issue 18): recovery of known parameters, and what a fit says it made worse."""

from __future__ import annotations

import numpy as np
import pytest

from rplsim import load_scenario
from rplsim.calibration.fit import fit
from rplsim.calibration.targets_file import Target, TargetSet, evaluate_targets, load_targets

TRUTH = {
    "cohort.ivf_share": 0.35,
    "protocol.ivf_failed_cycles_mean.known": 2.0,
    "protocol.ivig_incomplete_share.known": 0.4,
}
SIZE = 2000


def _truth_scenario():
    over: dict = {"cohort": {"ivf_share": 0.35}, "protocol": {}}
    over["protocol"]["ivf_failed_cycles_mean"] = {"known": 2.0}
    over["protocol"]["ivig_incomplete_share"] = {"known": 0.4}
    return load_scenario("scenarios/paper.toml", over)


@pytest.mark.slow
def test_a_fit_recovers_known_parameters_within_its_uncertainty():
    """Targets from one simulated cohort of 2,000 women with known values (IVF share 0.35, KA's
    failed-cycles mean 2, KA's incomplete share 0.4: Table 1's dose statistics of KA and IA,
    and the IVF share of all women), a fit from the defaults (0.2, 0, 0) on other random numbers:
    each value within 4 of its reported SEs (about 6e-5 false failures each if the SE is right;
    it is a curvature approximation, so the bound is not tighter)."""
    truth = _truth_scenario()
    keys = [("ivig_grams", s, g) for g in ("KA", "IA") for s in ("mean", "sd", "max")]
    shape = TargetSet(
        "truth",
        (*(Target(k, s, g, 0.0, 1) for k, s, g in keys), Target("ivf", "share", "all", 0.0, 1)),
        cohort_n=SIZE,
    )
    first = evaluate_targets(truth, shape, replicates=1, seed=101)  # one cohort, as a paper is
    values = {r.target: r.simulated for r in first.itertuples()}
    targets = TargetSet(
        "truth",
        tuple(Target(t.key, t.statistic, t.stratum, values[t.label], SIZE) for t in shape.targets),
        cohort_n=SIZE,
    )
    res = fit(load_scenario("scenarios/paper.toml"), targets, list(TRUTH), replicates=6, budget=150, seed=7)
    assert res.objective_after < res.objective_before
    for r in res.parameters.itertuples():
        assert not r.flat and np.isfinite(r.se), r
        assert abs(r.fitted - TRUTH[r.key]) <= 4 * r.se, (r.key, r.fitted, TRUTH[r.key], r.se)


def test_the_paper_fit_says_what_it_made_worse():
    """A short fit of the paper: the residual table marks a target made worse (within the 99%
    band before, outside after) exactly as within_before & ~within_after, and the objective
    never ends above its start."""
    res = fit(
        load_scenario("scenarios/paper.toml"),
        load_targets("scenarios/targets/han2025.toml"),
        ["protocol.ivig_incomplete_share.known"],
        replicates=10,
        budget=12,
    )
    r = res.residuals
    assert (r.worse == (r.within_before & ~r.within_after)).all()
    assert res.objective_after <= res.objective_before
    assert res.scenario.protocol.ivig_incomplete_share.known == pytest.approx(res.parameters.fitted.iloc[0])
