"""Tests of rplsim.trial.simulation: arm rates, blocks of trials and the eligible population.

Statistical checks state their false-failure rate; every tolerance below is a multiple of a
Monte-Carlo standard error computed in the test itself.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import special

import rplsim.trial.simulation as trial_module_for_bounds
from rplsim import generate_cohort, load_scenario
from rplsim.exceptions import ScenarioError
from rplsim.outcome.model import outcome_model
from rplsim.trial.power import power_with
from rplsim.trial.simulation import (
    REPLICATE_BLOCK,
    simulate_block,
    trial_design,
)
from tests.conftest import SCENARIOS

# 4 standard errors: a two-sided normal tail of 6.3e-5 per check.
Z4 = 4.0


def _patient_path_women(monkeypatch, scenario, n_total: int, entropy: int):
    """The eligible women one block of the patient path draws (1024 trials x n_total), and
    their log-odds before the arm shift.

    The women are caught where the patient path hands them to ``live_birth_probability`` (a
    spy, so the test follows whatever the path does to draw them).
    """
    import rplsim.trial.simulation as trial_module

    seen = []
    real = trial_module.live_birth_probability

    def spy(model, women, *args, **kwargs):
        seen.append(women)
        return real(model, women, *args, **kwargs)

    monkeypatch.setattr(trial_module, "live_birth_probability", spy)
    design = trial_design(scenario)
    n_c = n_total // 2
    simulate_block(scenario, design, n_c, n_total - n_c, 0, entropy, path="patients")
    monkeypatch.undo()
    assert len(seen) == 1
    women = seen[0]
    eta0 = special.logit(real(outcome_model(scenario), women, treated=np.ones(len(women), bool)))
    return design, women, eta0


def _mean_within(values: np.ndarray, target: float) -> tuple[float, float]:
    mean = float(values.mean())
    se = float(values.std(ddof=1) / math.sqrt(values.size))
    assert abs(mean - target) <= Z4 * se, (mean, target, se)
    return mean, se


# ------------------------------------------------------------------ marginal arm rates


@pytest.mark.parametrize("name", ["trial_superiority", "yamada_4plus", "noninferiority"])
def test_arm_shifts_give_the_marginal_rates(monkeypatch, name: str) -> None:
    """Eligible women's mean live-birth probability per arm equals control_lbr / treatment_lbr.

    trial_design solves the shifts by quadrature (OutcomeModel.stratum_rate); here the
    102,400 women of one patient-path block are averaged instead. Tolerance 4 SE of that mean:
    false-failure rate 6.3e-5 per arm (if the quadrature error is negligible next to the SE,
    ~0.001 here).
    """
    sc = load_scenario(SCENARIOS / f"{name}.toml")
    design, _women, eta0 = _patient_path_women(monkeypatch, sc, 100, entropy=20250604)
    assert design.p_control == sc.trial.control_lbr
    assert design.p_treatment == sc.trial.treatment_lbr
    _mean_within(special.expit(eta0 + design.shift_control), sc.trial.control_lbr)
    _mean_within(special.expit(eta0 + design.shift_treatment), sc.trial.treatment_lbr)


def test_odds_ratio_is_exact_per_woman_and_sets_the_marginal_rate(monkeypatch, paper) -> None:
    """With ivig_odds_ratio, every woman's odds ratio (treated vs control) is exactly the OR.

    The marginal treatment rate follows from it; checked by Monte Carlo at 4 SE
    (false-failure rate 6.3e-5).
    """
    sc = power_with(paper, treatment_lbr=None, ivig_odds_ratio=2.5)
    design, _women, eta0 = _patient_path_women(monkeypatch, sc, 100, entropy=7)
    p_c = special.expit(eta0 + design.shift_control)
    p_t = special.expit(eta0 + design.shift_treatment)
    log_or = special.logit(p_t) - special.logit(p_c)
    np.testing.assert_allclose(log_or, math.log(2.5), rtol=0, atol=1e-9)
    assert design.p_treatment > design.p_control
    _mean_within(p_t, design.p_treatment)


def test_patient_path_outcomes_have_the_arm_rates(paper) -> None:
    """simulate_block(path="patients"): realised live-birth shares per arm = the arm rates.

    No dropout, 1024 trials x 100 women per arm = 102,400 Bernoulli outcomes per arm; the
    tolerance is 4 binomial SE (false-failure rate 6.3e-5 per arm).
    """
    sc = power_with(paper, dropout=0.0)
    design = trial_design(sc)
    sim = simulate_block(sc, design, 100, 100, block_index=0, entropy=11, path="patients")
    for x, n, p in ((sim.x_c, sim.n_c, design.p_control), (sim.x_t, sim.n_t, design.p_treatment)):
        k, m = int(x[:, -1].sum()), int(n[:, -1].sum())
        assert abs(k / m - p) <= Z4 * math.sqrt(p * (1 - p) / m), (k / m, p)
    # Permuted blocks of 4 and 200 women: every trial is exactly 100 / 100.
    assert np.all(sim.n_t[:, -1] == 100) and np.all(sim.n_c[:, -1] == 100)
    assert sim.x_t.shape == (REPLICATE_BLOCK, 1)


def test_null_block_has_both_arms_at_the_control_rate(paper) -> None:
    """null=True: the treated arm's realised rate is the control rate (4 SE, 6.3e-5)."""
    sc = power_with(paper, dropout=0.0)
    design = trial_design(sc)
    sim = simulate_block(sc, design, 100, 100, 0, 11, path="counts", null=True)
    k, m = int(sim.x_t.sum()), int(sim.n_t.sum())
    p = design.p_control
    assert abs(k / m - p) <= Z4 * math.sqrt(p * (1 - p) / m)


def test_count_path_dropout_share(paper) -> None:
    """Count path: analysed share of randomised women is 1 - dropout (4 SE, 6.3e-5)."""
    design = trial_design(paper)
    sim = simulate_block(paper, design, 100, 100, 3, 5, path="counts")
    m = int(sim.n_t.sum() + sim.n_c.sum())
    total = REPLICATE_BLOCK * 200
    keep = 1 - paper.trial.dropout
    assert abs(m / total - keep) <= Z4 * math.sqrt(keep * (1 - keep) / total)


# ------------------------------------------------------------------ randomisation


def test_allocation_not_representable_in_the_block_is_refused_or_kept() -> None:
    """allocation_ratio 2 with block_size 4 (not a multiple of 3): either the scenario is
    refused, or the simulated trial keeps 2:1 within block/2 (exact check, no MC error)."""
    try:
        sc = load_scenario(
            SCENARIOS / "paper.toml",
            overrides=["trial.allocation_ratio=2.0", "trial.block_size=4", "trial.dropout=0.0"],
        )
    except ScenarioError:
        return
    # simulate_power plans 100 control + ceil(2 * 100) = 200 IVIG women.
    sim = simulate_block(sc, trial_design(sc), 100, 200, 0, 1, path="counts")
    assert np.all(np.abs(sim.n_t[:, -1] - 200) <= 2)


# ------------------------------------------------------------------ the eligible population


def test_abnormal_population_is_ka_and_ia_only(monkeypatch, paper) -> None:
    """population="abnormal": only KA / IA women reach the patient path, in the cohort's
    proportions (Table 1: 97 KA vs 100 IA); shares within 4 binomial SE (6.3e-5)."""
    design, women, _eta = _patient_path_women(monkeypatch, paper, 40, entropy=99)
    assert design.strata == ("KA", "IA")
    assert set(women["stratum"].astype(str)) == {"KA", "IA"}
    # Table 1: 97 KA + 100 IA of 466; min_previous_miscarriages 2 = everyone (Table 1 min 2).
    assert design.eligible_share == pytest.approx(0.208155 + 0.214592, abs=1e-12)
    share_ka = float((women["stratum"] == "KA").mean())
    w = design.stratum_weights[0]
    assert abs(share_ka - w) <= Z4 * math.sqrt(w * (1 - w) / len(women))
    # The per-stratum counts the CMH analysis sees add up to the arms: nobody outside them.
    sim = simulate_block(paper, design, 20, 20, 0, 99, path="patients")
    sc_ = sim.strata_counts[:, -1]
    assert np.array_equal(sc_[:, 1].sum(axis=1), sim.n_t[:, -1])
    assert np.array_equal(sc_[:, 3].sum(axis=1), sim.n_c[:, -1])


def test_yamada_population_is_idiopathic_with_four_losses(monkeypatch) -> None:
    """yamada_4plus: IN / IA women with >= 4 previous losses only on the patient path; the
    eligible share of the whole cohort and the IN / IA split agree with a plain cohort draw
    within 4 SE (6.3e-5 each)."""
    sc = load_scenario(SCENARIOS / "yamada_4plus.toml")
    design, women, _eta = _patient_path_women(monkeypatch, sc, 20, entropy=5)
    assert design.strata == ("IN", "IA") and design.min_misc == 4
    assert set(women["stratum"].astype(str)) <= {"IN", "IA"}
    assert int(women["previous_miscarriages"].min()) >= 4
    cohort = generate_cohort(sc, n=100_000, seed=8)
    ok = cohort["stratum"].isin(["IN", "IA"]) & (cohort["previous_miscarriages"] >= 4)
    share, n = float(ok.mean()), len(cohort)
    assert abs(share - design.eligible_share) <= Z4 * math.sqrt(share * (1 - share) / n)
    ia = float((cohort.loc[ok, "stratum"] == "IA").mean())
    w = design.stratum_weights[1]
    assert abs(ia - w) <= Z4 * math.sqrt(w * (1 - w) / int(ok.sum()))


def test_trial_design_without_trial_section(paper) -> None:
    with pytest.raises(ScenarioError, match="no \\[trial\\] section"):
        trial_design(paper.replace(trial=None))


def test_simulate_block_is_keyed_by_block_and_entropy(paper) -> None:
    """Same (block, entropy) -> identical trials; another block -> different ones (exact)."""
    design = trial_design(paper)
    a = simulate_block(paper, design, 50, 50, 2, 99)
    b = simulate_block(paper, design, 50, 50, 2, 99)
    c = simulate_block(paper, design, 50, 50, 3, 99)
    assert all(np.array_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    assert not np.array_equal(a.x_t, c.x_t)


# ----------------------------------------------------------------------------- bounded searches
def test_a_population_without_eligible_women_is_one_scenario_error(paper) -> None:
    """Issue 20: no woman of the abnormal strata has 10 losses; the rates were 0/0 (exit 1)."""
    with pytest.raises(ScenarioError) as err:
        trial_design(power_with(paper, min_previous_miscarriages=10))
    (line,) = str(err.value).splitlines()
    assert line.startswith('trial.population == "abnormal" with trial.min_previous_miscarriages == 10: ')
    assert "no eligible women" in line


def test_the_eligible_pool_search_is_bounded(paper, monkeypatch) -> None:
    """The pool doubled its cohort until enough women had the losses: forever at a share of 0.
    It stops as soon as the share seen says more than MAX_COHORT_N women would be needed."""
    monkeypatch.setattr(trial_module_for_bounds, "MAX_COHORT_N", 20_000)
    design = trial_design(power_with(paper, min_previous_miscarriages=5))
    with pytest.raises(ScenarioError, match=r"have at least 5 previous miscarriages, and 10,000 are needed"):
        trial_module_for_bounds._first_eligible(paper.cohort, design.strata, 5, 10_000, 1, full=False)


# ------------------------------------------------------------------ count blocks


@pytest.mark.parametrize("looks", [1, 3])
def test_shared_count_blocks_equal_the_separate_ones(looks: int) -> None:
    """H1 and null blocks built together (shared columns stacked once) equal the blocks built
    one by one, value and dtype, and do not share memory (exact)."""
    from rplsim.trial.simulation import _count_result, _count_results

    g = np.random.default_rng(7)
    n_t, n_c = (g.integers(0, 40, (64, looks, 2)) for _ in range(2))
    x_t1, x_t0 = g.binomial(n_t, 0.8), g.binomial(n_t, 0.6)
    x_c = g.binomial(n_c, 0.6)
    pair = _count_results(x_t1, x_t0, n_t, x_c, n_c)
    for got, x_t in zip(pair, (x_t1, x_t0), strict=True):
        want = _count_result(x_t, n_t, x_c, n_c)
        # the former construction: stack the four columns, then cumulate over the looks
        assert np.array_equal(want.strata_counts, np.cumsum(np.stack([x_t, n_t, x_c, n_c], axis=2), axis=1))
        for f in ("x_t", "n_t", "x_c", "n_c", "strata_counts"):
            a, b = getattr(got, f), getattr(want, f)
            assert a.dtype == b.dtype == np.int64 and np.array_equal(a, b), f
    assert not np.shares_memory(pair[0].strata_counts, pair[1].strata_counts)
    assert not np.shares_memory(pair[0].x_c, pair[1].x_c)
