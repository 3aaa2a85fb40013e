"""The hypothesis strategies: valid scenarios near a base, trial designs, seeds."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from rplsim import Scenario, generate_cohort, load_scenario
from rplsim import strategies as rs
from rplsim.scenario import CohortParams, TrialParams
from rplsim.scenario.tomlio import dumps_toml

from ..conftest import SCENARIOS
from .conftest import _write

PAPER = SCENARIOS / "paper.toml"


@pytest.mark.slow
@given(rs.scenarios(feasible=False, sections=[*rs.SECTIONS]))
def test_scenarios_valid_and_round_trip(sc):
    assert isinstance(sc, Scenario)
    assert sc.trial is not None  # "trial" asked for: added to the defaults
    assert load_scenario(_write(dumps_toml(sc.to_dict()))) == sc


@settings(max_examples=8)
@given(rs.scenarios(PAPER, sections=["scenario", "cohort"]))
def test_perturbed_paper_cohorts_generate(sc):
    df = generate_cohort(sc, n=300)
    assert len(df) == 300
    assert set(df.stratum.unique()) <= {"KN", "KA", "IN", "IA"}
    assert (df.previous_miscarriages >= 1).all()


def _numbers(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _numbers(v, f"{prefix}{k}.")
        elif isinstance(v, list):
            for i, x in enumerate(v):
                yield f"{prefix}{k}[{i}]", x
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield prefix + k, v


BASE = load_scenario(PAPER).replace(
    trial=TrialParams(
        control_lbr=0.6, ivig_odds_ratio=2.0, design="non-inferiority", margin=0.1, alternative="larger"
    )
)


BASE_NUMBERS = dict(_numbers(BASE.to_dict()))


@pytest.mark.parametrize("m", [0.05, 0.2])
def test_base_honoured(m):
    @settings(max_examples=15)
    @given(rs.scenarios(BASE, max_rel_change=m, feasible=False))
    def inner(sc):
        got = dict(_numbers(sc.to_dict()))
        # a drawn superiority design drops the margin; nothing else appears or vanishes
        assert got.keys() - {"trial.margin"} == BASE_NUMBERS.keys() - {"trial.margin"}
        for path, v in got.items():
            if path == "scenario.seed":
                continue
            b = BASE_NUMBERS[path]
            assert abs(v - b) <= m * abs(b) + 1e-12, (path, b, v)
        assert sc.protocol.confirmation_week.max <= sc.outcome.miscarriage_week.min

    inner()


def test_base_zero_change_is_base():
    @settings(max_examples=5)
    @given(rs.scenarios(PAPER, max_rel_change=0.0, names=st.just("paper"), sections=["cohort", "outcome"]))
    def inner(sc):
        # choices are still drawn; every number is the paper's
        assert dict(_numbers(sc.to_dict())) == dict(_numbers(load_scenario(PAPER).to_dict()))

    inner()


@pytest.mark.slow
@given(rs.cohort_params(feasible=False))
def test_cohort_params(params):
    assert isinstance(params, CohortParams)
    assert math.isclose(sum(vars(params.strata).values()), 1.0, abs_tol=1e-9)


@given(rs.trial_designs())
def test_trial_designs_valid(trial):
    assert isinstance(trial, TrialParams)
    assert 0.3 <= trial.control_lbr <= 0.85
    assert (trial.treatment_lbr is None) != (trial.ivig_odds_ratio is None)
    if trial.design == "superiority":
        assert trial.margin is None
        assert trial.treatment_lbr is None or trial.treatment_lbr > trial.control_lbr
    else:
        assert trial.margin is not None and trial.alternative == "larger"


@settings(max_examples=25)
@given(rs.scenarios(feasible=False, sections=["prior"]))
def test_scenarios_draw_a_valid_prior(sc):
    # "prior" adds a [prior] and the [trial] it needs; the design layer accepts every draw
    assert sc.prior is not None and sc.trial is not None
    joint = sc.prior.joint()
    assert joint.effect_kind == sc.prior.effect_kind
    assert load_scenario(_write(dumps_toml(sc.to_dict()))) == sc


PRIOR_BASE = BASE.replace(
    prior=load_scenario(
        PAPER,
        {"prior": {"control_lbr": {"counts": [17, 49]}, "treatment_lbr": {"quantiles": [0.6, 0.75, 0.85]}}},
    ).prior
)


def test_prior_perturbed_within_its_rules():
    @settings(max_examples=15)
    @given(rs.scenarios(PRIOR_BASE, sections=["prior"], max_rel_change=0.2, feasible=False))
    def inner(sc):
        x, n = sc.prior.control_lbr.counts
        assert isinstance(x, int) and isinstance(n, int) and 13 <= x <= 21 and 39 <= n <= 59
        q = sc.prior.treatment_lbr.quantiles
        assert q[0] < q[1] < q[2]

    inner()


@given(rs.seeds())
def test_seeds_in_range(seed):
    assert 0 <= seed <= 2**63 - 1


@pytest.mark.parametrize(
    "call",
    [
        lambda: rs.scenarios(max_rel_change=1.0),
        lambda: rs.scenarios(sections=["cohrt"]),
        lambda: rs.scenarios(base=3),
        lambda: rs.trial_designs(designs=["equivalence"]),
        lambda: rs.invalid_scenarios(rules=["nope"]),
    ],
)
def test_bad_arguments(call):
    with pytest.raises(InvalidArgument):
        call()
