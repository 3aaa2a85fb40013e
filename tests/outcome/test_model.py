"""Tests of :mod:`rplsim.outcome`: the solved live-birth model and the fate sampler.

Reference values are the paper's (Han et al. 2025): Table 3 live births / analysed per stratum,
Figure 3B for the idiopathic-abnormal subgroups, Table 2 for the odds ratios. Exact checks use
the model's own quadrature (tolerances are round-off); the one Monte-Carlo check derives its
tolerance from the simulation's standard error and says how often it fails by chance.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special

from rplsim import (
    CalibrationError,
    ScenarioError,
    generate_cohort,
    scenario_from_dict,
)
from rplsim.cohort.generate import PROFILE_NAMES
from rplsim.outcome.model import (
    FATES,
    OutcomeModel,
    live_birth_probability,
    outcome_model,
    sample_fates,
    shift_for_rate,
)

# Table 3: live births / (live births + miscarriages), per stratum.
TABLE3 = {"KN": 96 / 118, "KA": 81 / 97, "IN": 121 / 151, "IA": 78 / 100}
# Figure 3B / section 3.3: IA subgroups NK + NK cytotoxicity 90.5%, NK + Th1/Th2 75%.
FIG3B = {"NK+NKa": 0.905, "NK+Th": 0.75}
IA = 3
ABNORMAL = (1, 3)


def _scenario(paper, **outcome: object):
    """The paper scenario with ``[outcome]`` keys replaced, built through the validator."""
    data = paper.to_dict()
    data["outcome"] = {**data["outcome"], **outcome}
    return scenario_from_dict(data, "test")


def _profile_rate(model: OutcomeModel, s: int, g: int, shift: float = 0.0) -> float:
    """Quadrature rate of the women of stratum ``s`` with immune profile ``g``."""
    q = model.quad[s]
    lin = q.x @ model.beta[int(s >= 2)]
    return float(q.w @ special.expit(model.intercept[s, g] + lin + shift))


def _odds(p: np.ndarray) -> np.ndarray:
    return p / (1 - p)


# ----------------------------------------------------------------------------- Table 3
def test_intercepts_reproduce_table3_by_quadrature(paper):
    model = outcome_model(paper)
    for s, (name, target) in enumerate(TABLE3.items()):
        rate, mass = model.stratum_rate(s)
        assert mass == pytest.approx(1.0, abs=1e-12), name
        assert abs(rate - target) < 1e-9, name


def test_profile_lbr_hits_figure_3b_and_keeps_ia_at_table3(paper):
    model = outcome_model(paper)
    assert paper.outcome.profile_lbr is not None
    for name, target in FIG3B.items():
        g = PROFILE_NAMES.index(name)
        assert model.profile_weights[IA, g] > 0
        assert abs(_profile_rate(model, IA, g) - target) < 1e-9, name
    # The other IA profiles share one intercept, and the mixture is IA's Table 3 rate.
    others = [g for g in range(7) if PROFILE_NAMES[g] not in FIG3B and model.profile_weights[IA, g] > 0]
    assert len({model.intercept[IA, g] for g in others}) == 1
    assert abs(model.stratum_rate(IA)[0] - TABLE3["IA"]) < 1e-9


def test_quadrature_weights_are_a_distribution(paper):
    model = outcome_model(paper)
    for s in range(4):
        assert model.quad[s].w.sum() == pytest.approx(1.0, abs=1e-12)
        assert model.profile_weights[s].sum() == pytest.approx(1.0, abs=1e-12)


# ----------------------------------------------------------------------------- any targets
rates = st.floats(0.3, 0.95, exclude_min=True, exclude_max=True)
ors = st.floats(0.7, 1.3, exclude_min=True, exclude_max=True)


@pytest.mark.slow
@given(
    lbr=st.fixed_dictionaries({s: rates for s in TABLE3}),
    known=st.tuples(ors, ors, ors),
    idio=st.tuples(ors, ors, ors),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_valid_targets_are_reproduced(paper, lbr, known, idio, seed):
    keys = ("age", "bmi", "previous_miscarriages")
    sc = _scenario(
        paper,
        lbr=lbr,
        odds_ratios_known=dict(zip(keys, known, strict=True)),
        odds_ratios_idiopathic=dict(zip(keys, idio, strict=True)),
    )
    model = outcome_model(sc)
    for s, name in enumerate(TABLE3):
        assert abs(model.stratum_rate(s)[0] - lbr[name]) < 1e-8, name
    for name, target in FIG3B.items():  # the paper's subgroup rates stay met inside IA
        assert abs(_profile_rate(model, IA, PROFILE_NAMES.index(name)) - target) < 1e-8

    cohort = generate_cohort(sc, n=200, seed=seed)
    p = live_birth_probability(model, cohort)
    assert np.all((p > 0) & (p < 1))
    etio = (cohort["stratum"].cat.codes.to_numpy() >= 2).astype(int)
    table = np.array([known, idio])
    for j, var in enumerate(keys):
        bumped = cohort.assign(**{var: cohort[var] + 1})
        p1 = live_birth_probability(model, bumped)
        # One more unit multiplies the odds by exactly the etiology's odds ratio.
        np.testing.assert_allclose(_odds(p1) / _odds(p), table[etio, j], rtol=1e-9)
        stratum = cohort["stratum"].cat.codes.to_numpy()
        profile = cohort["immune_profile"].cat.codes.to_numpy()
        x = cohort[list(keys)].to_numpy(float)
        eta0 = model.linear_predictor(stratum, profile, x)
        eta1 = model.linear_predictor(stratum, profile, bumped[list(keys)].to_numpy(float))
        np.testing.assert_allclose(eta1 - eta0, np.log(table[etio, j]), rtol=0, atol=1e-12)


def test_impossible_subgroup_rates_are_a_calibration_error(paper):
    # IA at 20% cannot hold a 21% subgroup at 90.5% and an 8% subgroup at 75%.
    with pytest.raises(CalibrationError, match="profile_lbr"):
        outcome_model(_scenario(paper, lbr={**TABLE3, "IA": 0.2}))


# ----------------------------------------------------------------------------- untreated
def _abnormal_mean_rate(model: OutcomeModel, sc, shift: float) -> float:
    shares = np.array([sc.cohort.strata.KA, sc.cohort.strata.IA])
    r = np.array([model.stratum_rate(s, shift)[0] for s in ABNORMAL])
    return float(shares @ r / shares.sum())


@pytest.mark.parametrize("target", [0.35, 0.6, 0.78])
def test_untreated_abnormal_lbr_is_the_mean_rate_without_ivig(paper, target):
    sc = _scenario(paper, untreated_abnormal_lbr=target)
    model = outcome_model(sc)
    assert model.ivig_log_or is not None
    assert abs(_abnormal_mean_rate(model, sc, -model.ivig_log_or) - target) < 1e-9
    # treated=False applies exactly that shift to abnormal women, and nothing to the others.
    cohort = generate_cohort(sc, n=500, seed=3)
    p_t = live_birth_probability(model, cohort)
    p_u = live_birth_probability(model, cohort, treated=np.zeros(len(cohort), bool))
    abn = (cohort["immunity"] == "abnormal").to_numpy()
    np.testing.assert_allclose(
        special.logit(p_t[abn]) - special.logit(p_u[abn]), model.ivig_log_or, atol=1e-9
    )
    np.testing.assert_array_equal(p_t[~abn], p_u[~abn])


@pytest.mark.parametrize("odds_ratio", [0.8, 1.0, 2.5, 34.0])
def test_ivig_odds_ratio_is_the_odds_ratio_for_the_same_woman(paper, odds_ratio):
    sc = _scenario(paper, ivig_odds_ratio=odds_ratio)
    model = outcome_model(sc)
    cohort = generate_cohort(sc, n=500, seed=4)
    abn = (cohort["immunity"] == "abnormal").to_numpy()
    p_t = live_birth_probability(model, cohort, treated=np.ones(len(cohort), bool))
    p_u = live_birth_probability(model, cohort, treated=np.zeros(len(cohort), bool))
    np.testing.assert_allclose(_odds(p_t[abn]) / _odds(p_u[abn]), odds_ratio, rtol=1e-9)
    # Treating everyone is the protocol: the solved Table 3 model, untouched.
    np.testing.assert_array_equal(p_t, live_birth_probability(model, cohort))


def test_untreated_abnormal_without_an_assumption_is_a_scenario_error(paper):
    model = outcome_model(paper)
    assert model.ivig_log_or is None
    cohort = generate_cohort(paper, n=300, seed=5)
    abn = (cohort["immunity"] == "abnormal").to_numpy()
    with pytest.raises(ScenarioError, match="untreated_abnormal_lbr"):
        live_birth_probability(model, cohort, treated=~abn)
    # Normal women "untreated" is the protocol: no assumption needed.
    p = live_birth_probability(model, cohort, treated=abn)
    np.testing.assert_array_equal(p, live_birth_probability(model, cohort))
    # ...and a scenario that leaves abnormal women untreated is refused at load.
    with pytest.raises(ScenarioError, match="adherence"):
        _scenario(paper, adherence=0.9)


def test_both_untreated_assumptions_are_refused(paper):
    with pytest.raises(ScenarioError, match="exactly one"):
        _scenario(paper, untreated_abnormal_lbr=0.5, ivig_odds_ratio=2.0)


# ----------------------------------------------------------------------------- shift_for_rate
def _restricted_rate(model: OutcomeModel, strata, weights, shift: float, misc_min: int) -> float:
    """The population's mean rate, summed node by node from the model's raw arrays."""
    num = den = 0.0
    for s, wt in zip(strata, weights, strict=True):
        q = model.quad[s]
        keep = q.misc >= misc_min
        lin = q.x[keep] @ model.beta[int(s >= 2)]
        w = q.w[keep]
        for g in range(8):
            pw = model.profile_weights[s, g]
            if pw > 0:
                num += wt * pw * float(w @ special.expit(model.intercept[s, g] + lin + shift))
        den += wt * w.sum()
    return num / den


@pytest.mark.parametrize(
    ("strata", "misc_min", "target"),
    [((1, 3), 2, 0.5), ((1, 3), 4, 0.5), ((3,), 4, 0.347), ((0, 1, 2, 3), 5, 0.9)],
)
def test_shift_for_rate_hits_a_restricted_marginal_target(paper, strata, misc_min, target):
    model = outcome_model(paper)
    shares = np.array([getattr(paper.cohort.strata, s) for s in ("KN", "KA", "IN", "IA")])
    weights = shares[list(strata)]
    shift = shift_for_rate(model, strata, weights, target, misc_min=misc_min)
    assert abs(_restricted_rate(model, strata, weights, shift, misc_min) - target) < 1e-9
    higher = shift_for_rate(model, strata, weights, target + 0.02, misc_min=misc_min)
    assert higher > shift


def test_shift_for_rate_depends_on_the_restriction(paper):
    # Idiopathic women's odds rise with losses (Table 2 OR 1.140), so the >= 5 losses subgroup
    # needs a smaller shift than all IA women to reach the same rate.
    model = outcome_model(paper)
    all_ia = shift_for_rate(model, (3,), np.ones(1), 0.5)
    many = shift_for_rate(model, (3,), np.ones(1), 0.5, misc_min=5)
    assert many < all_ia


def test_shift_for_rate_refuses_impossible_populations(paper):
    model = outcome_model(paper)
    with pytest.raises(CalibrationError, match="no woman"):
        shift_for_rate(model, (1, 3), np.ones(2), 0.5, misc_min=11)
    with pytest.raises(CalibrationError, match="must be in"):
        shift_for_rate(model, (1, 3), np.ones(2), 1.0)


# ----------------------------------------------------------------------------- sample_fates
def test_sample_fates_follows_its_uniforms(paper):
    out = paper.outcome
    pc, ps = out.chemical_rate, out.stillbirth_rate
    cut_still = pc + (1 - pc) * ps
    f = np.array([pc / 2, (pc + cut_still) / 2, cut_still + 1e-6, 0.999999, 0.5, 0.5])
    p_live = np.array([0.5, 0.5, 0.5, 0.5, 0.99, 0.01])
    u = np.column_stack([f, np.full(6, 0.5), np.zeros(6), np.zeros(6), np.zeros(6), np.zeros(6)])
    res = sample_fates(out, p_live, np.array([0, 1, 2, 3, 0, 3]), u)
    assert [FATES[i] for i in res["fate"]] == [
        "chemical",
        "stillbirth",
        "live_birth",
        "miscarriage",
        "live_birth",
        "miscarriage",
    ]
    week = res["week"]
    assert week[0] == pytest.approx((out.chemical_week.min + out.chemical_week.max) / 2)
    assert week[1] == pytest.approx((out.stillbirth_week.min + out.stillbirth_week.max) / 2)
    assert out.live_birth_week.min <= week[2] <= out.live_birth_week.max
    assert out.miscarriage_week.min <= week[3] <= out.miscarriage_week.max
    # u = 0 < every share: the miscarriages are karyotyped and euploid, nobody else.
    np.testing.assert_array_equal(res["karyotyped"], res["fate"] == 1)
    np.testing.assert_array_equal(res["euploid"], res["fate"] == 1)


@given(seed=st.integers(0, 2**32 - 1))
def test_sample_fates_ranges(paper, seed):
    out = paper.outcome
    rng = np.random.default_rng(seed)
    n = 2000
    u = rng.random((n, 6))
    res = sample_fates(out, rng.random(n), rng.integers(0, 4, n), u)
    fate, week = res["fate"], res["week"]
    for code, spec in (
        (0, out.live_birth_week),
        (1, out.miscarriage_week),
        (2, out.stillbirth_week),
        (3, out.chemical_week),
    ):
        w = week[fate == code]
        assert np.all((w >= spec.min) & (w <= spec.max)), FATES[code]
    assert not res["karyotyped"][fate != 1].any()
    assert not (res["euploid"] & ~res["karyotyped"]).any()


# ----------------------------------------------------------------------------- Monte Carlo
def test_monte_carlo_stratum_rates_match_the_quadrature(paper):
    """Mean of ``live_birth_probability`` over 200,000 simulated women, per stratum.

    Each stratum's sample mean of p has standard error sd(p) / sqrt(n_s); the check is
    |mean - quadrature| < 4 SE. A correct model fails one stratum with probability
    2·(1 - Φ(4)) = 6.3e-5, so the four-stratum check fails by chance ≈ 2.5e-4 of seeds (the
    seed is fixed, so a failure here is not chance but a real disagreement).
    """
    model = outcome_model(paper)
    cohort = generate_cohort(paper, n=200_000, seed=20250604)
    p = pd.Series(live_birth_probability(model, cohort))
    g = p.groupby(cohort["stratum"].cat.codes.to_numpy())
    mean, sd, n = g.mean(), g.std(ddof=1), g.size()
    for s, name in enumerate(TABLE3):
        se = sd[s] / math.sqrt(n[s])
        exact = model.stratum_rate(s)[0]
        assert abs(mean[s] - exact) < 4 * se, (name, mean[s], exact, se)
