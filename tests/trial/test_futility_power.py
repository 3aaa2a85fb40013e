"""Futility at the scenario level: simulate_power and exact_power stop for futility look by look.

The exact recursion (no dropout) and the count-path simulation describe one process, so they
agree within Monte-Carlo error: |sim - exact| <= 4 SE, SE = sqrt(p (1 - p) / R) (false failure
about 6e-5 per comparison; the common random numbers of H1 and H0 do not change a marginal SE).
"""

from __future__ import annotations

import numpy as np
import pytest

from rplsim import exact_power, load_scenario, simulate_power

R = 20_480


def _scenario(futility: str, binding: bool = False, dropout: float = 0.0):
    return load_scenario(
        "scenarios/group_sequential.toml",
        {"trial": {"futility": futility, "futility_binding": binding, "dropout": dropout, "n_per_arm": 128}},
    )


@pytest.mark.parametrize(("futility", "binding"), [("beta-spending", False), ("conditional-power", True)])
def test_exact_futility_equals_simulation(futility, binding):
    sc = _scenario(futility, binding)
    ex, sim = exact_power(sc), simulate_power(sc, replicates=R, seed=7)
    for e, s in [(ex.power, sim.power), (ex.type1_error, sim.type1_error)]:
        assert abs(e - s) <= 4 * np.sqrt(e * (1 - e) / R)
    for e, s in zip(ex.futility_probability_null, sim.futility_probability_null, strict=True):
        assert abs(e - s) <= 4 * np.sqrt(max(e * (1 - e), 1e-12) / R)
    # expected n: SE from the spread of the stopping size (at most half the range)
    n_max = ex.n_control + ex.n_treatment
    assert abs(ex.expected_women_null - sim.expected_n_h0) <= 4 * (n_max / 2) / np.sqrt(R)
    assert ex.futility_probability[-1] == 0.0 and sum(ex.futility_probability_null) > 0.3


def test_non_binding_futility_keeps_boundaries_and_type1_and_lowers_expected_n_h0():
    """Exact: the efficacy thresholds are unchanged, the type-I error (futility obeyed) is at most
    the design's without futility, and the expected n under H0 is far lower."""
    from rplsim.trial.formulas import look_thresholds

    none, fut = _scenario("none"), _scenario("beta-spending")
    assert np.array_equal(look_thresholds(none.trial), look_thresholds(fut.trial))
    a, b = exact_power(none), exact_power(fut)
    assert b.type1_error <= a.type1_error <= 0.05 + 0.005  # the exact test's own level: chi2, 128/arm
    assert b.expected_women_null < 0.7 * a.expected_women_null
    assert b.power < a.power  # futility stops cost power at the same n ...
    sized = load_scenario("scenarios/group_sequential.toml", {"trial": {"futility": "beta-spending"}})
    from rplsim.trial.formulas import analytic_n_per_arm

    assert analytic_n_per_arm(sized) > analytic_n_per_arm(load_scenario("scenarios/group_sequential.toml"))


def test_futility_needs_interim_looks_one_line():
    from rplsim.exceptions import ScenarioError

    with pytest.raises(ScenarioError, match=r"futility == \"beta-spending\" needs interim looks"):
        load_scenario("scenarios/paper.toml", {"trial": {"futility": "beta-spending"}})


def test_two_sided_futility_is_one_sided_in_effect_pocock():
    """A two-sided trial with futility stops for futility, not for a rejection, when it goes
    against IVIG at an interim: with Pocock bounds (where harm-side crossings at look 1 are not
    rare) the exact type-I error is the one-sided design's (0.0224 by the recursion), not ~0.033."""
    from rplsim.trial.formulas import futility_of

    sc = load_scenario(
        "scenarios/futility.toml", {"trial": {"dropout": 0, "boundary": "ld-pocock", "n_per_arm": 105}}
    )
    ex = exact_power(sc)
    design = futility_of(sc.trial)
    assert ex.type1_error <= design.type1_error + 0.003  # the chi2 test's own level at 105/arm
