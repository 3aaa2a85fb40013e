"""rplsim.assurance: the probability of success of the scenario's own trial under a prior.

References are computed here, independently of the code under test:

* a near-point-mass prior (a + b = 2 x 10^6) gives the classical power (exact_power / simulate_power);
* two Beta priors on a design with exactly n analysed women per arm: the beta-binomial sum over
  every table of the chi2 rejection region (assurance has this closed form; no quadrature);
* an independent simulation: draw the rates from the prior with numpy, draw binomial counts, and
  test with Pearson's chi-square written here;
* the normal closed form Phi((sqrt(n) mu k - z) / sqrt(1 + n k^2 tau^2)) of O'Hagan et al. (2005).

Statistical comparisons use 4 combined standard errors: a false failure about 6e-5 each (two-sided
normal tail at 4), and the seeds are fixed, so a run is the same run.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rplsim import assurance, exact_power, find_sample_size, load_scenario, simulate_power
from rplsim.design.assurance import exact_assurance_counts, prior_nodes
from rplsim.design.priors import BetaPrior, JointPrior, LogNormalPrior, normal_assurance
from rplsim.exceptions import ScenarioError
from rplsim.stats.registry import LookData, get_analysis
from rplsim.trial.power import power_with

FOUR_SE = 4.0


@pytest.fixture(scope="module")
def paper():
    return load_scenario("scenarios/paper.toml")


@pytest.fixture(scope="module")
def fixed_n(paper):
    """No dropout, blocks of 2: exactly n analysed women per arm (the closed forms need it)."""
    return power_with(paper, dropout=0.0, block_size=2)


def _point(p: float) -> BetaPrior:
    return BetaPrior(2e6 * p, 2e6 * (1 - p))


EVIDENCE = JointPrior(BetaPrior(9.8, 10.2), LogNormalPrior(0.223, 0.113), "ivig_relative_risk")
TWO_BETAS = JointPrior(BetaPrior(12, 8), BetaPrior(16, 4), "treatment_lbr")
LOG_OR = JointPrior(BetaPrior(30, 20), LogNormalPrior(0.8, 0.35), "ivig_odds_ratio")


def test_near_point_mass_prior_gives_the_power(paper):
    jp = JointPrior(_point(0.6), _point(0.807), "treatment_lbr")
    exact = assurance(paper, 85, prior=jp)
    power = exact_power(paper, n_per_arm=85).power
    # The prior's SD is 3.5e-4 on each rate: power moves by less than 1e-3 across it.
    assert exact.method == "exact" and exact.assurance == pytest.approx(power, abs=1e-3)
    assert exact.prior_probability_benefit == pytest.approx(1.0, abs=1e-12)
    sim = assurance(paper, 85, prior=jp, method="simulated", replicates=8192, seed=3)
    ref = simulate_power(paper, n_per_arm=85, replicates=8192, seed=3)
    se = math.hypot(sim.error, math.sqrt(ref.power * (1 - ref.power) / 8192))
    assert abs(sim.assurance - ref.power) < FOUR_SE * se


def _chi2_good(n: int) -> np.ndarray:
    """good[x_c, x_t]: the registered chi2 rejects in favour of treatment (n per arm)."""
    xc, xt = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    data = LookData(x_t=xt.ravel(), n_t=np.full(xt.size, n), x_c=xc.ravel(), n_c=np.full(xt.size, n),
                    strata_counts=None, alternative="two-sided", margin=0.0)  # fmt: skip
    p, sign = get_analysis("chi2").function(data)
    return ((np.nan_to_num(np.asarray(p), nan=1.0) <= 0.05) & (sign > 0)).reshape(n + 1, n + 1)


def test_two_beta_priors_match_the_beta_binomial_closed_form(fixed_n):
    n = 40
    res = assurance(fixed_n, n, prior=TWO_BETAS)
    k = np.arange(n + 1)
    ref = stats.betabinom.pmf(k, n, 12, 8) @ _chi2_good(n) @ stats.betabinom.pmf(k, n, 16, 4)
    assert res.method == "exact"
    assert abs(res.assurance - ref) <= res.error + 1e-9
    assert res.error < 1e-5


def _pearson_success(x_c: np.ndarray, x_t: np.ndarray, n: int, alpha: float = 0.05) -> np.ndarray:
    """Pearson chi-square without continuity correction, rejecting in favour of treatment."""
    pooled = (x_c + x_t) / (2 * n)
    var = pooled * (1 - pooled) * 2 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x_t - x_c) / n / np.sqrt(var)
    return np.nan_to_num(z, nan=0.0) >= stats.norm.ppf(1 - alpha / 2)


@pytest.mark.parametrize("jp", [TWO_BETAS, LOG_OR], ids=["two-beta", "log-or"])
def test_exact_and_simulated_agree_with_an_independent_simulation(fixed_n, jp):
    n, draws = 60, 16384
    exact = assurance(fixed_n, n, prior=jp)
    sim = assurance(fixed_n, n, prior=jp, method="simulated", replicates=draws, seed=11)
    rng = np.random.default_rng(20261203)
    pc, pt = jp.sample(rng, draws)
    mine = _pearson_success(rng.binomial(n, pc), rng.binomial(n, pt), n)
    se_mine = mine.std() / math.sqrt(draws)
    assert exact.method == "exact" and sim.method == "simulated"
    assert abs(sim.assurance - exact.assurance) < FOUR_SE * math.hypot(sim.error, exact.error)
    assert abs(mine.mean() - exact.assurance) < FOUR_SE * math.hypot(se_mine, exact.error)
    # E[power | benefit] from the draws agrees with the quadrature's too.
    benefit = sim.draws_frame["benefit"].to_numpy()
    se_given = math.sqrt(
        sim.expected_power_given_benefit * (1 - sim.expected_power_given_benefit) / benefit.sum()
    )
    assert abs(sim.expected_power_given_benefit - exact.expected_power_given_benefit) < FOUR_SE * se_given


def test_normal_prior_reproduces_the_closed_form():
    """Control rate known (0.5), treated rate ~ a Beta close to N(mu, tau^2) on the difference,
    one-sided pooled z at alpha 0.025: assurance = Phi((sqrt(n) mu k - z) / sqrt(1 + n k^2 tau^2)),
    k = 1 / sqrt(2 pbar qbar). The exact binomial power differs from the normal formula; the bound
    used is that difference's largest value over the prior's central 99.98% (computed here, at 41
    rates) plus the 2e-4 outside, so the test fails only if the quadrature is wrong."""
    n = 150
    treated = BetaPrior.from_quantiles(0.55, 0.6, 0.65)[0]
    jp = JointPrior(_point(0.5), treated, "treatment_lbr")
    design = {"analysis": "chi2", "alpha": 0.025, "alternative": "larger"}
    res = exact_assurance_counts(jp, n, n, **design)
    mu, tau = treated.mean - 0.5, treated.sd
    pbar = (0.5 + treated.mean) / 2
    k = 1 / math.sqrt(2 * pbar * (1 - pbar))
    closed = normal_assurance(mu, tau, n, k, stats.norm.ppf(0.975))
    from rplsim.design.exact_counts import exact_power_counts

    grid = treated.ppf(np.linspace(1e-4, 1 - 1e-4, 41))
    gap = max(
        abs(exact_power_counts(0.5, float(p), n, n, **design).power
            - stats.norm.cdf(math.sqrt(n) * (p - 0.5) * k - stats.norm.ppf(0.975)))
        for p in grid
    )  # fmt: skip
    assert abs(res.assurance - closed) <= gap + 2e-4 + res.quadrature_error
    assert gap < 0.02  # the normal approximation is close here, so the check has teeth


def test_monotone_in_n_and_below_the_ceiling(paper):
    values = [assurance(paper, n, prior=EVIDENCE) for n in (20, 40, 80, 160)]
    a = [v.assurance for v in values]
    assert a == sorted(a)
    ceiling = values[0].prior_probability_benefit
    assert all(v.assurance <= ceiling + v.error for v in values)
    big = assurance(paper, 4000, prior=EVIDENCE, replicates=8192)
    assert big.method == "simulated" and big.assurance <= ceiling + FOUR_SE * big.error
    assert big.assurance > a[-1]


def test_ceiling_is_the_prior_probability_of_benefit():
    """P(p_t > p_c) of two Betas, by an independent 1-D integral."""
    nodes = prior_nodes(TWO_BETAS)
    ref = 1 - stats.beta.expect(lambda p: stats.beta.cdf(p, 16, 4), args=(12, 8))
    assert nodes.benefit_probability == pytest.approx(ref, abs=1e-9)
    assert TWO_BETAS.benefit_probability() == pytest.approx(ref, abs=1e-9)


def test_same_answer_at_any_worker_count(paper):
    one = assurance(paper, 84, prior=EVIDENCE, method="simulated", replicates=4096, seed=5)
    two = assurance(paper, 84, prior=EVIDENCE, method="simulated", replicates=4096, seed=5, workers=2)
    assert one.assurance == two.assurance
    assert one.draws_frame.equals(two.draws_frame)


def test_noninferiority_success_is_the_ni_test_rejecting():
    ni = load_scenario("scenarios/noninferiority.toml")
    trial = ni.trial
    jp = JointPrior(_point(trial.control_lbr), _point(trial.treatment_lbr), "treatment_lbr")
    res = assurance(ni, 120, prior=jp)
    assert res.assurance == pytest.approx(exact_power(ni, n_per_arm=120).power, abs=2e-3)


def test_target_above_the_ceiling_is_one_clear_error(paper):
    from rplsim.trial.assurance import ASSURANCE_MAX_N, assurance_sample_size

    wide = JointPrior(BetaPrior(9.8, 10.2), LogNormalPrior(0.3, 0.3), "ivig_relative_risk")  # ceiling 0.84
    with pytest.raises(
        ScenarioError, match=r"cannot exceed P\(benefit\) = 0\.8\d+ .* reaches 95% of that .* at \d+ per arm"
    ):
        assurance_sample_size(paper, 0.9, prior=wide, replicates=2048)
    # Centred near no effect, 95% of the ceiling is not reached either: the search stops, and says so.
    sceptical = JointPrior(BetaPrior(9.8, 10.2), LogNormalPrior(-0.05, 0.1), "ivig_relative_risk")
    with pytest.raises(ScenarioError, match=f"does not reach 95% of that .* by {ASSURANCE_MAX_N:,} per arm"):
        assurance_sample_size(paper, 0.8, prior=sceptical, replicates=2048)


def test_find_sample_size_for_a_target_assurance(paper):
    from rplsim.trial.assurance import assurance_sample_size

    n, curve, res, method = assurance_sample_size(paper, 0.5, prior=EVIDENCE)
    assert res.assurance >= 0.5
    below = curve[curve["n_per_arm"] == n - 1]
    assert below.empty or float(below["assurance"].iloc[0]) < 0.5
    assert method == "exact" and list(curve["n_per_arm"]) == sorted(curve["n_per_arm"])
    with pytest.raises(Exception, match="target_power or target_assurance"):
        find_sample_size(paper, 0.8, target_assurance=0.5)


def test_ceiling_when_the_control_rate_can_pass_the_cap():
    """Above p_c = cap the treated rate is capped below it: no benefit there. The closed form of
    the ceiling is then P(RR > 1) * P(p_c < cap)."""
    for control in (BetaPrior(3, 0.3), BetaPrior(0.3, 0.3)):
        jp = JointPrior(control, LogNormalPrior(0.5, 1.0), "ivig_relative_risk")
        ref = stats.norm.cdf(0.5) * stats.beta.cdf(0.99, control.a, control.b)
        assert jp.benefit_probability() == pytest.approx(ref, abs=1e-9)
        assert prior_nodes(jp).benefit_probability == pytest.approx(ref, abs=1e-9)


def test_draws_of_exactly_0_or_1_give_finite_shifts(paper):
    """A Beta with a, b < 1 draws rates of exactly 0 and 1; the patient path's shifts stay finite."""
    from rplsim.trial.assurance import _draw_design
    from rplsim.trial.simulation import trial_design

    d = _draw_design(paper, trial_design(paper), np.array([0.0, 0.5, 1.0]), np.array([1.0, 0.5, 0.0]), True)
    assert np.all(np.isfinite(d.shift_control)) and np.all(np.isfinite(d.stratum_rates))


def test_default_n_is_the_scenarios_own_not_the_prior_means(paper):
    """A prior with no mean effect must not send the default n to millions per arm."""
    flat = JointPrior(BetaPrior(9.8, 10.2), BetaPrior(9.8, 10.2), "treatment_lbr")
    from rplsim.trial.formulas import analytic_n_per_arm

    res = assurance(paper, prior=flat, replicates=1024)
    assert res.n_control == analytic_n_per_arm(paper)
    assert res.prior_probability_benefit == pytest.approx(0.5, abs=1e-9)
