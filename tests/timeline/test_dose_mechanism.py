"""The dose mechanism that can reach Table 1 (issue 18): failed IVF cycles' doses before the
index pregnancy, and courses that stop early.

Monte-Carlo tolerances: 4 SE of a mean or share over the women (about 6e-5 false failures per
comparison). The mechanism has its own keyed uniforms, so with it on every other draw (fates,
weeks, intervals) is the same as with it off: the comparisons below are woman for woman.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rplsim import generate_cohort, load_scenario
from rplsim.timeline import simulate_timeline, simulate_twin

MECH = {
    "protocol": {
        "ivf_failed_cycles_mean": {"known": 1.5, "idiopathic": 0.8},
        "ivf_failed_cycles_max": 4,
        "ivig_incomplete_share": {"known": 0.35, "idiopathic": 0.1},
    }
}


@pytest.fixture(scope="module")
def runs():
    base = load_scenario("scenarios/paper.toml", {"cohort": {"n": 20_000}})
    mech = load_scenario("scenarios/paper.toml", {"cohort": {"n": 20_000}, **MECH})
    cohort = generate_cohort(base, seed=4)
    return cohort, mech, simulate_twin(cohort, base, seed=4), simulate_twin(cohort, mech, seed=4)


def test_outcomes_and_other_draws_are_unchanged(runs):
    _, _, off, on = runs
    assert (off.outcome.values == on.outcome.values).all()
    assert np.array_equal(off.outcome_week.values, on.outcome_week.values)
    assert (on.ivig_infusions[~on.on_ivig] == 0).all()


@pytest.mark.parametrize(("stratum", "share"), [("KA", 0.35), ("IA", 0.1)])
def test_a_share_of_courses_stops_early(runs, stratum, share):
    """Without the failed cycles, a course that stops early has fewer infusions than the
    protocol's (uniform on the minimum, 1 for KA and 0 for IA, to planned - 1); the share of
    such women among those whose course is longer than the minimum is the parameter's."""
    cohort, _, off, _ = runs
    no_cycles = load_scenario(
        "scenarios/paper.toml",
        {
            "cohort": {"n": 20_000},
            "protocol": {"ivig_incomplete_share": MECH["protocol"]["ivig_incomplete_share"]},
        },
    )
    cut = simulate_twin(cohort, no_cycles, seed=4)
    least = 1 if stratum == "KA" else 0
    who = (cut.stratum == stratum) & cut.on_ivig & (off.ivig_infusions > least)
    fewer = (cut.ivig_infusions < off.ivig_infusions)[who]
    assert (cut.ivig_infusions <= off.ivig_infusions).all()
    assert (cut.ivig_infusions[who] >= least).all()
    se = np.sqrt(share * (1 - share) / who.sum())
    assert abs(fewer.mean() - share) <= 4 * se, (fewer.mean(), share)


@pytest.mark.parametrize(("stratum", "mean"), [("KA", 1.5), ("IA", 0.8)])
def test_failed_cycles_are_a_truncated_poisson_of_doses(runs, stratum, mean):
    """An IVF woman on IVIG whose course is whole gets her failed cycles' doses on top of the
    protocol's course: their number is Poisson(mean) truncated at ivf_failed_cycles_max."""
    cohort, _, off, _ = runs
    no_stop = load_scenario(
        "scenarios/paper.toml",
        {
            "cohort": {"n": 20_000},
            "protocol": {
                "ivf_failed_cycles_mean": MECH["protocol"]["ivf_failed_cycles_mean"],
                "ivf_failed_cycles_max": 4,
            },
        },
    )
    extra = simulate_twin(cohort, no_stop, seed=4).ivig_infusions - off.ivig_infusions
    ivf = (cohort.conception == "ivf").to_numpy()
    eligible = off.on_ivig.to_numpy() & ivf
    who = (off.stratum == stratum).to_numpy() & eligible
    k = np.arange(5)
    pmf = stats.poisson.pmf(k, mean) / stats.poisson.cdf(4, mean)
    m, v = float(pmf @ k), float(pmf @ k**2 - (pmf @ k) ** 2)
    assert extra[who].max() <= 4 and (extra[~eligible] == 0).all()
    assert abs(extra[who].mean() - m) <= 4 * np.sqrt(v / who.sum()), (extra[who].mean(), m)


def test_the_simpy_clinic_gives_the_twin_s_doses():
    """With ample chairs the SimPy clinic gives each woman the twin's infusions and grams, and
    logs her failed cycles' doses before the index pregnancy."""
    sc = load_scenario("scenarios/paper.toml", MECH)
    cohort = generate_cohort(sc, seed=2)
    tl = simulate_timeline(cohort, sc, seed=2)
    tw = simulate_twin(cohort, sc, seed=2)
    assert np.array_equal(tl.outcomes.ivig_infusions.values, tw.ivig_infusions.values)
    assert np.allclose(tl.outcomes.ivig_grams.values, tw.ivig_grams.values)
    ev = tl.events
    before = ev[(ev.event == "ivig_infusion") & ev.detail.str.contains("failed IVF cycle")]
    assert len(before) > 0 and (before.gestational_week < 0).all()


def test_the_clinic_counts_only_the_infusions_on_its_chairs():
    """Failed IVF cycles' doses come before the woman arrives: in her total and in the grams, not
    in the clinic's infusions or its mean wait."""
    sc = load_scenario("scenarios/paper.toml", MECH)
    res = simulate_timeline(generate_cohort(sc, seed=2), sc, seed=2)
    cycles = res.events[res.events.detail.str.contains("failed IVF cycle")]
    assert res.clinic["infusions"] == res.outcomes.ivig_infusions.sum() - len(cycles) > 0
    assert res.clinic["total_ivig_grams"] == pytest.approx(res.outcomes.ivig_grams.sum())
