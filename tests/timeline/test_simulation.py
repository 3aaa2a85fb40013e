"""Tests of :mod:`rplsim.timeline`: the SimPy timeline of section 2.3 and its vectorised twin.

Property tests run small cohorts under random seeds and check the protocol's rules woman by
woman (IVIG 0.4 g/kg, first dose after confirmation or on the IVF day, every 3-4 weeks, none
after week 30 or after the pregnancy ended). Statistical tests state their level and their
false-failure rate; the seeds are fixed, so a failure is a real disagreement, not bad luck.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from rplsim import generate_cohort, scenario_from_dict
from rplsim.outcome.model import FATES, outcome_model
from rplsim.timeline.simulation import TimelineResult, simulate_timeline
from rplsim.timeline.twin import simulate_twin

# Table 3: live births / (live births + miscarriages), per stratum.
TABLE3 = {"KN": 96 / 118, "KA": 81 / 97, "IN": 121 / 151, "IA": 78 / 100}
TOL = 1e-9  # round-off in week arithmetic
HOURS_PER_WEEK = 168.0
SEEDS = st.integers(0, 2**32 - 1)
SIZES = st.integers(1, 300)
TWIN_COLUMNS = [
    "patient_id",
    "outcome",
    "outcome_week",
    "analysed",
    "on_ivig",
    "ivig_infusions",
    "ivig_grams",
    "karyotyped",
    "euploid",
]


def _with(paper, section: str, **changes: object):
    data = paper.to_dict()
    data[section] = {**data.get(section, {}), **changes}
    return scenario_from_dict(data, "test")


def check_protocol(res: TimelineResult, cohort: pd.DataFrame, sc, ample: bool) -> None:
    """Every rule of the timeline, woman by woman (``ample``: no chair waits possible)."""
    ev, out = res.events, res.outcomes.set_index("patient_id")
    prot, oc = sc.protocol, sc.outcome
    assert len(out) == len(cohort)
    assert set(ev["patient_id"]) <= set(out.index)
    # Within each woman, events in non-decreasing gestational week.
    step = ev.groupby("patient_id")["gestational_week"].diff()
    assert (step.dropna() >= 0).all()

    # Exactly one end event per woman, the outcome's, at the outcome week.
    end = ev[ev["event"].isin(FATES)].set_index("patient_id")
    assert end.index.is_unique and len(end) == len(out)
    end = end.reindex(out.index)
    assert (end["event"] == out["outcome"].astype(str)).all()
    np.testing.assert_array_equal(end["gestational_week"], out["outcome_week"])

    conf = ev[ev["event"] == "confirmation"].set_index("patient_id")["gestational_week"]
    assert conf.index.is_unique
    week, outcome = out["outcome_week"], out["outcome"].astype(str)
    mis = outcome == "miscarriage"
    assert (week[mis] < 20).all()
    assert (week[mis] > conf.reindex(week[mis].index)).all()  # NaN (no confirmation) fails
    assert (week[outcome == "stillbirth"] >= 20).all()
    assert (week[outcome == "live_birth"] >= 24).all()
    chem = outcome == "chemical"
    assert not conf.index.isin(week[chem].index).any()
    assert conf.index.isin(week[~chem].index).all() and len(conf) == (~chem).sum()
    assert (week[chem] <= oc.chemical_week.max).all()

    # Karyotype results: miscarriages only, after the loss.
    kar = ev[ev["event"] == "karyotype_result"].set_index("patient_id")["gestational_week"]
    assert kar.index.is_unique
    assert (outcome[kar.index] == "miscarriage").all()
    assert (kar > week[kar.index]).all()
    assert set(kar.index) == set(out.index[out["karyotyped"]])
    assert not (out["euploid"] & ~out["karyotyped"]).any()

    # Infusions.
    inf = ev[ev["event"] == "ivig_infusion"]
    gw = inf.set_index("patient_id")["gestational_week"]
    assert out.loc[gw.index.unique(), "on_ivig"].all()
    counts = gw.groupby(level=0).size().reindex(out.index, fill_value=0)
    np.testing.assert_array_equal(counts, out["ivig_infusions"])
    assert (gw < week[gw.index]).all()
    assert (gw <= prot.ivig_last_week + TOL).all()
    weight = cohort.set_index("patient_id")["weight_kg"]
    dose = prot.ivig_dose_g_per_kg * weight
    np.testing.assert_allclose(out["ivig_grams"], out["ivig_infusions"] * dose, rtol=1e-12)
    expected_text = [f"{dose[p]:.1f} g" for p in inf["patient_id"]]
    assert [d.split(" (")[0] for d in inf["detail"]] == expected_text
    assert inf["detail"].str.contains(r"\(0\.4 g/kg\)").all()
    gap = gw.groupby(level=0).diff().dropna()
    slack = out.loc[gap.index, "chair_wait_hours"] / HOURS_PER_WEEK
    assert (gap >= prot.ivig_interval.min - TOL).all()
    assert (gap <= prot.ivig_interval.max + slack + TOL).all()
    if ample:
        assert (out["chair_wait_hours"] == 0).all()
        assert (gap <= prot.ivig_interval.max + TOL).all()
    first = gw.groupby(level=0).min()
    conception = out.loc[first.index, "conception"].astype(str)
    nat = first[conception == "natural"]
    assert (nat >= conf.reindex(nat.index)).all()
    ivf = first[conception == "ivf"]
    if ample:
        assert ((ivf >= 2 - TOL) & (ivf <= 2.8)).all()


# ----------------------------------------------------------------------------- properties
@pytest.mark.slow
@given(n=SIZES, seed=SEEDS)
def test_timeline_follows_the_protocol(paper, n, seed):
    cohort = generate_cohort(paper, n=n, seed=seed)
    res = simulate_timeline(cohort, paper, seed)
    check_protocol(res, cohort, paper, ample=res.clinic["mean_wait_hours"] == 0)
    # Without waits the twin is the timeline, woman for woman.
    if res.clinic["max_wait_hours"] == 0:
        twin = simulate_twin(cohort, paper, seed)
        pd.testing.assert_frame_equal(twin[TWIN_COLUMNS], res.outcomes[TWIN_COLUMNS])


@given(n=SIZES, seed=SEEDS)
def test_same_seed_same_run_other_seed_other_run(paper, n, seed):
    cohort = generate_cohort(paper, n=n, seed=seed)
    a = simulate_timeline(cohort, paper, seed)
    b = simulate_timeline(cohort, paper, seed)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.outcomes, b.outcomes)
    assert a.clinic == b.clinic
    c = simulate_timeline(cohort, paper, seed + 1)
    assert not np.array_equal(a.outcomes["outcome_week"], c.outcomes["outcome_week"])


@pytest.mark.slow
@given(k=st.integers(1, 150), extra=st.integers(1, 150), seed=SEEDS)
def test_a_womans_outcome_does_not_depend_on_the_others(paper, k, extra, seed):
    small = simulate_timeline(generate_cohort(paper, n=k, seed=seed), paper, seed).outcomes
    big = simulate_timeline(generate_cohort(paper, n=k + extra, seed=seed), paper, seed).outcomes
    cols = [c for c in small.columns if c != "chair_wait_hours"]
    pd.testing.assert_frame_equal(small[cols], big[cols].iloc[:k])


# ----------------------------------------------------------------------------- clinic
def test_ample_chairs_change_nothing_and_equal_the_twin(paper):
    cohort = generate_cohort(paper, n=3000, seed=11)
    default = simulate_timeline(cohort, paper, events=False)
    ample_sc = _with(paper, "clinic", chairs=1000)
    ample = simulate_timeline(cohort, ample_sc, events=False)
    pd.testing.assert_frame_equal(default.outcomes, ample.outcomes)
    assert ample.clinic["mean_wait_hours"] == 0 and ample.clinic["max_wait_hours"] == 0
    twin = simulate_twin(cohort, ample_sc)
    pd.testing.assert_frame_equal(twin, ample.outcomes.drop(columns="chair_wait_hours"))
    assert twin["ivig_infusions"].sum() > 0


def test_a_crowded_clinic_makes_women_wait_but_keeps_the_rules(paper):
    sc = _with(paper, "clinic", chairs=1, accrual_per_year=5000.0, infusion_hours=24.0)
    cohort = generate_cohort(sc, n=300, seed=12)
    res = simulate_timeline(cohort, sc)
    clinic = res.clinic
    assert clinic["mean_wait_hours"] > 0
    assert clinic["max_wait_hours"] >= clinic["mean_wait_hours"]
    assert 0 < clinic["chair_utilisation"] <= 1
    assert clinic["infusions"] == res.outcomes["ivig_infusions"].sum()
    check_protocol(res, cohort, sc, ample=False)
    # Waiting can only cost infusions (the pregnancy or week 30 comes first), never add any.
    twin = simulate_twin(cohort, sc)
    assert (res.outcomes["ivig_infusions"] <= twin["ivig_infusions"]).all()
    assert (res.outcomes["ivig_infusions"] < twin["ivig_infusions"]).any()
    pd.testing.assert_series_equal(res.outcomes["outcome"], twin["outcome"])


def test_no_infusion_before_confirmation_in_a_natural_chemical_pregnancy(paper):
    # Make chemical pregnancies common and late, and the first dose early, so that without
    # the rule many natural chemical pregnancies would get an infusion they never qualified for.
    data = paper.to_dict()
    data["outcome"].update(chemical_rate=0.5, chemical_week={"min": 4.8, "max": 5.0})
    data["protocol"].update(
        confirmation_week={"min": 4.5, "max": 4.6}, first_dose_delay={"min": 0.0, "max": 0.1}
    )
    sc = scenario_from_dict(data, "test")
    cohort = generate_cohort(sc, n=2000, seed=13)
    res = simulate_timeline(cohort, sc)
    check_protocol(res, cohort, sc, ample=True)
    for out in (res.outcomes, simulate_twin(cohort, sc)):
        chem = out["on_ivig"] & (out["outcome"] == "chemical")
        natural = out["conception"] == "natural"
        assert (chem & natural).sum() > 50
        assert (out.loc[chem & natural, "ivig_infusions"] == 0).all()
        # An IVF cycle is dosed on the retrieval / transfer day, before any test.
        assert (out.loc[chem & ~natural, "ivig_infusions"] > 0).any()


def test_paper_sized_run_regression(paper):
    # Fixed-seed regression of the shipped scenario (466 women, seed 20250604). Update only on a
    # deliberate model change, and say which (last: BMI's law on the support 12-60 kg/m2 instead
    # of Table 1's ranges, issue 18; one woman's fate and the grams moved).
    res = simulate_timeline(generate_cohort(paper), paper)
    out = res.outcomes
    assert out["outcome"].value_counts().to_dict() == {
        "live_birth": 392,
        "miscarriage": 70,
        "stillbirth": 2,
        "chemical": 2,
    }
    assert int(out["ivig_infusions"].sum()) == 1314
    assert round(res.clinic["total_ivig_grams"], 6) == 29095.08


# ----------------------------------------------------------------------------- statistics
@pytest.mark.slow
def test_twin_agrees_with_the_timeline_on_independent_draws(paper):
    """The twin on its own stream ("twin-check") vs the timeline, 20,000 women of one cohort.

    Four tests, each at level 0.001: chi-square homogeneity of the outcome shares, two-sample
    KS on the miscarriage weeks, Welch t on the mean IVIG grams of abnormal women, and
    Brown-Forsythe (Levene, median-centred) on their spread. A correct twin fails the family
    with probability at most 1 - 0.999^4 ≈ 0.4% (less, in fact: both arms share the cohort's
    covariates, which makes each test conservative).
    """
    level = 0.001
    cohort = generate_cohort(paper, n=20_000, seed=31)
    a = simulate_timeline(cohort, paper, events=False).outcomes
    b = simulate_twin(cohort, paper, stage="twin-check")
    assert not a["outcome_week"].equals(b["outcome_week"])  # independent draws indeed
    table = np.array(
        [
            a["outcome"].value_counts().reindex(FATES).to_numpy(),
            b["outcome"].value_counts().reindex(FATES).to_numpy(),
        ]
    )
    assert stats.chi2_contingency(table).pvalue > level
    wa = a.loc[a["outcome"] == "miscarriage", "outcome_week"]
    wb = b.loc[b["outcome"] == "miscarriage", "outcome_week"]
    assert stats.ks_2samp(wa, wb).pvalue > level
    abn = (cohort["immunity"] == "abnormal").to_numpy()
    ga, gb = a.loc[abn, "ivig_grams"], b.loc[abn, "ivig_grams"]
    assert stats.ttest_ind(ga, gb, equal_var=False).pvalue > level
    assert stats.levene(ga, gb, center="median").pvalue > level


@pytest.mark.slow
def test_live_birth_rates_match_table3(paper):
    """Live-birth rate per stratum on the analysed set of 20,000 simulated women.

    Two criteria. (1) The issue's: within 1.5 percentage points of Table 3. With ~4,000-6,500
    analysed women per stratum the binomial SE is 0.50-0.58 pp, so 1.5 pp is 2.6-3.0 SE: a
    correct model misses it in one stratum with probability 0.3-1%, ≈ 2.5% for the four.
    (2) The statistical one: within 4 binomial SE of the model's exact (quadrature) rate,
    which fails by chance with probability 6.3e-5 per stratum, 2.5e-4 for the four. Here the
    model's exact rate *is* Table 3 (adherence 1, so the analysed set is all live births and
    miscarriages), so (2) is the looser of the two at this size.
    """
    cohort = generate_cohort(paper, n=20_000, seed=41)
    out = simulate_timeline(cohort, paper, events=False).outcomes
    model = outcome_model(paper)
    an = out[out["analysed"]]
    live = (an["outcome"] == "live_birth").groupby(an["stratum"].to_numpy())
    rate, n = live.mean(), live.size()
    for s, (name, target) in enumerate(TABLE3.items()):
        exact = model.stratum_rate(s)[0]
        se = math.sqrt(exact * (1 - exact) / n[name])
        assert abs(rate[name] - target) <= 0.015, (name, rate[name], target)
        assert abs(rate[name] - exact) <= 4 * se, (name, rate[name], exact, se)
