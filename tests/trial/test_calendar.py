"""rplsim.trial.calendar (issue 17 groundwork): the vectorised calendar twin.

Monte-Carlo tolerances: 4 SE (about 6e-5 false failures per comparison); a difference of two
independent simulated rates has SE sqrt(2 p (1 - p) / R).
"""

from __future__ import annotations

import numpy as np
import pytest

from rplsim import load_scenario, simulate_power
from rplsim.outcome.model import outcome_week
from rplsim.trial.calendar import simulate_calendar
from rplsim.trial.recruitment import scenario_accrual

R = 20_480


@pytest.mark.slow
def test_one_look_power_is_simulate_power_s():
    sc = load_scenario("scenarios/paper.toml", {"recruitment": {"centres": 8}})
    cal = simulate_calendar(sc, n_per_arm=83, replicates=R, seed=5)
    sim = simulate_power(sc, n_per_arm=83, replicates=R, seed=6)
    p = sim.power
    assert abs(cal.power - p) <= 4 * np.sqrt(2 * p * (1 - p) / R)
    t = cal.trials
    assert (t.randomised == 166).all() and (t.stopped_at_look == 1).all() and (t.overrun == 0).all()
    # the final analysis comes when the last woman's outcome is known: after the last randomisation
    assert (t.duration_years >= t.recruitment_years).all()


@pytest.mark.slow
def test_pipeline_at_a_look_is_rate_times_time_to_outcome():
    """Little's law: at a look well after the first outcomes, the women randomised and still
    pregnant are about (randomisation rate x share with an outcome x mean time to it). The law
    holds at a fixed time in steady state; a look is a stopping time of the same process, so the
    bound is 4 SE of the mean over trials (about 6e-5 false failures) plus 1% of the value for
    that (the gap measured at 8,192 trials: 0.2%; 4,096 trials here)."""
    sc = load_scenario(
        "scenarios/group_sequential.toml", {"recruitment": {"centres": 6}, "trial": {"n_per_arm": 300}}
    )
    cal = simulate_calendar(sc, replicates=4096, seed=2)
    rate = scenario_accrual(sc).randomised_per_year
    design_rates = (0.65, 0.807)
    u = (np.arange(20_000) + 0.5) / 20_000
    o, conf = sc.outcome, sc.protocol.confirmation_week
    live_weeks = outcome_week(o, np.ones(u.size, bool), u).mean()
    loss_weeks = outcome_week(o, np.zeros(u.size, bool), u).mean()
    p = np.mean(design_rates)  # 1:1 arms
    delay = (p * live_weeks + (1 - p) * loss_weeks - (conf.min + conf.max) / 2) / (365.25 / 7)
    expected = rate * (1 - sc.trial.dropout) * delay
    pipe = cal.trials.look1_pipeline
    se = pipe.std() / np.sqrt(len(pipe))
    assert abs(pipe.mean() - expected) <= 4 * se + 0.01 * expected, (pipe.mean(), expected, se)


@pytest.mark.slow
def test_interim_looks_keep_the_type1_error_against_a_margin():
    """Interim looks analyse complete outcome windows only, so the calendar's type-I error is the
    group-sequential design's (simulate_power, outcomes known at once): within 4 SE of the
    difference of two 16,384-trial rates (false failures ~6e-5). Analysing the outcomes known so
    far instead (losses at ~9 weeks, births at ~38) gave 1.39% against the design's 2.28% at 120
    per arm (same seeds), a gap of 0.0089 that this bound (0.0066) catches."""
    sc = load_scenario(
        "scenarios/noninferiority.toml",
        {"recruitment": {"centres": 8}, "trial": {"looks": 3, "boundary": "pocock"}},
    )
    cal = simulate_calendar(sc, n_per_arm=120, replicates=16_384, seed=3)  # any n holds the level
    sim = simulate_power(sc, n_per_arm=120, replicates=16_384, seed=4)
    a = sim.type1_error
    assert abs(cal.type1_error - a) <= 4 * np.sqrt(2 * a * (1 - a) / 16_384), (cal.type1_error, a)
    looks = cal.trials.filter(like="_observed")
    assert looks.notna().sum().is_monotonic_decreasing  # a stopped trial has no later looks


def test_same_trials_for_any_worker_count():
    sc = load_scenario("scenarios/futility.toml", {"recruitment": {"centres": 8, "months_to_pregnancy": 6}})
    a = simulate_calendar(sc, replicates=2048)
    b = simulate_calendar(sc, replicates=2048, workers=2)
    assert a.trials.equals(b.trials) and a.power == b.power and a.type1_error == b.type1_error


@pytest.mark.slow
def test_simpy_engine_and_twin_agree_in_distribution():
    """The SimPy engine (150 trials) and the twin (8,192) of the same scenario: means within 4
    combined SE (about 6e-5 false failures each, 17 columns: about 1e-3 in all), and a two-sample
    Kolmogorov-Smirnov test of the recruitment time at level 1e-3 (its false-failure rate)."""
    from scipy import stats

    from rplsim.trial.calendar_des import simulate_calendar_des

    sc = load_scenario("scenarios/multicentre.toml")
    des = simulate_calendar_des(sc, 84, 150, seed=9)
    twin = simulate_calendar(sc, 84, replicates=8192, seed=4).trials
    cols = ("recruitment_years", "duration_years", "randomised", "overrun", "stopped_at_look")
    looks = [f"look{k}_{x}" for k in (1, 2, 3) for x in ("years", "randomised", "pipeline")]
    for col in (*cols, *looks, "ivig_infusions", "placebo_infusions", "ivig_grams"):
        a, b = des[col].dropna(), twin[col].dropna()  # a look's columns: the trials that reach it
        se = np.sqrt(a.var() / len(a) + b.var() / len(b))
        assert abs(a.mean() - b.mean()) <= 4 * se, col
    p = twin.rejected.mean()
    assert abs(des.good.mean() - p) <= 4 * np.sqrt(p * (1 - p) / len(des) + p * (1 - p) / len(twin))
    assert stats.ks_2samp(des.recruitment_years, twin.recruitment_years).pvalue > 1e-3


def test_simpy_engine_logs_one_trial():
    from rplsim.trial.calendar_des import simulate_calendar_des

    sc = load_scenario("scenarios/multicentre.toml")
    trials, log = simulate_calendar_des(sc, 84, 2, log=True)
    assert list(log.columns) == ["years", "event", "centre", "woman", "detail"]
    assert (log.event == "centre opens").sum() == 12 and log.years.is_monotonic_increasing
    assert (log.event == "randomised").sum() == trials.randomised.iloc[0]
    looks = log[log.event.str.startswith("look")]
    assert len(looks) == trials.stopped_at_look.iloc[0]
    assert (log.event == "recruitment closes").sum() == 1
    inf = log[log.event == "infusion"].detail.value_counts()
    assert inf["IVIG"] == trials.ivig_infusions.iloc[0] and inf["placebo"] == trials.placebo_infusions.iloc[0]
    arms = log[log.event == "randomised"].detail.value_counts()
    assert abs(arms["IVIG"] - arms["placebo"]) <= 2  # permuted blocks of 4


def test_simpy_screens_each_woman_seen_at_the_funnel_share():
    """Each woman seen is drawn from the cohort and screened one by one; the share who are
    randomised is the funnel's (workup x pregnancy x eligible x consent). With no delay and one
    look, women seen until the n-th randomisation is n plus a negative binomial: mean n / q,
    variance n (1 - q) / q^2; the mean of 40 trials is within 4 SE (false failures ~6e-5)."""
    from rplsim.trial.calendar_des import simulate_calendar_des
    from rplsim.trial.recruitment import randomised_share

    sc = load_scenario("scenarios/paper.toml", {"recruitment": {"centres": 3}})
    trials = simulate_calendar_des(sc, 30, 40, seed=3)
    q, n = randomised_share(sc), 60
    assert (trials.randomised == n).all()
    se = np.sqrt(n * (1 - q) / q**2 / len(trials))
    assert abs(trials.women_seen.mean() - n / q) <= 4 * se, (trials.women_seen.mean(), n / q)


def test_infusion_chairs_per_centre_queue_the_women():
    """One chair a centre and a 24-hour infusion: women wait for a chair at their centre, and no
    centre ever runs two infusions at once (consecutive infusions at a centre end at least 24
    hours apart in the event log); with the scenario's 4 chairs (3-hour infusions) nobody waits."""
    from rplsim.trial.calendar_des import simulate_calendar_des

    sc = load_scenario("scenarios/paper.toml", {"recruitment": {"centres": 2}})
    ample = simulate_calendar_des(sc, 20, 3, seed=1)
    busy = load_scenario(
        "scenarios/paper.toml", {"recruitment": {"centres": 2}, "clinic": {"chairs": 1, "infusion_hours": 24}}
    )
    queued, log = simulate_calendar_des(busy, 20, 3, seed=1, log=True)
    assert (ample.chair_wait_hours == 0).all() and (queued.chair_wait_hours > 0).all()
    ends = log[log.event == "infusion"].groupby("centre").years
    gaps_hours = ends.diff().dropna() * 365.25 * 24
    assert len(gaps_hours) > 50 and gaps_hours.min() >= 24 - 1e-6


def test_find_centres_counts_the_calendar_s_recruitment():
    """find_centres (closed form: beta-prime with cv 0.5) and the calendar's own randomisations
    (recruitment_end_years: start to the last randomisation) are one recruitment model: P(done in
    3 years) at the answer agrees within 4 SE of the 8,192 simulated trials (false failures ~6e-5)."""
    from rplsim import find_centres

    sc = load_scenario("scenarios/paper.toml", {"recruitment": {"centre_rate_cv": 0.5}})
    ans = find_centres(sc, 3.0)
    assert ans.method == "closed form"
    at = load_scenario(
        "scenarios/paper.toml", {"recruitment": {"centre_rate_cv": 0.5, "centres": ans.centres}}
    )
    cal = simulate_calendar(at, n_per_arm=ans.n_randomised // 2, replicates=8192, seed=11)
    p = float(np.mean(cal.trials.recruitment_end_years <= 3.0))
    assert abs(p - ans.achieved) <= 4 * np.sqrt(ans.achieved * (1 - ans.achieved) / 8192), (p, ans.achieved)


@pytest.mark.parametrize("analysis", ["cmh", "logistic"])
def test_stratified_and_patient_analyses_read_each_woman(analysis):
    """CMH sees the calendar women's own strata and logistic their age and BMI: with one look
    the power is simulate_power's (CMH on the count path, logistic on the patient path) within
    4 SE of the difference of two 4,096-trial rates (false failures ~6e-5)."""
    sc = load_scenario(
        "scenarios/paper.toml", {"recruitment": {"centres": 8}, "trial": {"analysis": analysis}}
    )
    cal = simulate_calendar(sc, n_per_arm=83, replicates=4096, seed=5)
    p = simulate_power(sc, n_per_arm=83, replicates=4096, seed=6).power
    assert abs(cal.power - p) <= 4 * np.sqrt(2 * p * (1 - p) / 4096), (cal.power, p)


def test_reestimation_is_not_put_on_the_calendar():
    from rplsim.exceptions import InvalidArgumentError
    from rplsim.trial.calendar import calendar_applies

    sc = load_scenario("scenarios/reestimation.toml", {"recruitment": {"centres": 8}})
    assert not calendar_applies(sc)
    with pytest.raises(InvalidArgumentError, match="re-estimation"):
        simulate_calendar(sc, replicates=1024)


def test_the_final_look_follows_the_last_randomisation_in_both_engines():
    """With half the women lost to follow-up, the last randomised may have no outcome: the final
    look still comes after her randomisation (it came before it in 7.5% of these twin trials when
    the final look was the last known outcome), and every look's women add up: analysed + still
    pregnant + waiting (outcome known, window open) <= randomised, the rest lost."""
    from rplsim.trial.calendar_des import simulate_calendar_des

    sc = load_scenario("scenarios/group_sequential.toml", {"trial": {"looks": 5, "dropout": 0.5}})
    twin = simulate_calendar(sc, 10, replicates=1024, seed=2).trials
    des = simulate_calendar_des(sc, 10, 40, seed=2)
    for t in (twin, des):
        assert (t.duration_years >= t.recruitment_end_years).all()
        for k in range(1, 6):
            counted = t[f"look{k}_observed"] + t[f"look{k}_pipeline"] + t[f"look{k}_waiting"]
            assert (counted.dropna() <= t[f"look{k}_randomised"].dropna()).all()
