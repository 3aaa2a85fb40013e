"""rplsim.design.priors: priors for assurance (issue 15 groundwork).

References are closed forms written here: Beta moments E[p^j] = prod_{i<j} (a+i)/(a+b+i),
log-normal moments E[X^j] = exp(j mu + j² s² / 2), the O'Hagan-Stevens-Campbell closed form of
assurance integrated numerically in the test. Sampling checks use 4 standard errors (false
failure about 6e-5 each, seeded draws so a run is the same run)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from rplsim.design.priors import BetaPrior, LogNormalPrior, MixturePrior, normal_assurance
from rplsim.exceptions import InvalidArgumentError


def _beta_moment(a: float, b: float, j: int) -> float:
    return math.prod((a + i) / (a + b + i) for i in range(j))


@given(a=st.floats(0.3, 200), b=st.floats(0.3, 200))
def test_beta_quadrature_integrates_polynomials_exactly(a, b):
    """Gauss-Jacobi with 24 nodes is exact for degree <= 47: moments 1..6 to 1e-9."""
    nodes, w = BetaPrior(a, b).quadrature()
    assert np.all((nodes > 0) & (nodes < 1)) and w.sum() == pytest.approx(1.0, abs=1e-12)
    for j in range(1, 7):
        assert float(w @ nodes**j) == pytest.approx(_beta_moment(a, b, j), rel=1e-9, abs=1e-12)


def test_jeffreys_from_counts_and_bad_counts():
    assert BetaPrior.from_counts(17, 49) == BetaPrior(17.5, 32.5)  # Yamada 2022 placebo arm
    with pytest.raises(InvalidArgumentError, match="0 <= x <= n"):
        BetaPrior.from_counts(50, 49)
    with pytest.raises(InvalidArgumentError, match="must be a finite number > 0"):
        BetaPrior(0, 1)


@pytest.mark.parametrize(("a", "b"), [(2.0, 5.0), (30.0, 30.0), (159.5, 38.5)])
def test_quantile_fit_recovers_a_known_beta(a, b):
    q = stats.beta.ppf([0.05, 0.5, 0.95], a, b)
    prior, err = BetaPrior.from_quantiles(*q)
    assert err < 1e-6 and prior.a == pytest.approx(a, rel=1e-4) and prior.b == pytest.approx(b, rel=1e-4)


def test_quantile_fit_reports_its_error_when_no_beta_fits():
    """A lopsided triple no Beta meets exactly: the error is reported, not hidden."""
    _, err = BetaPrior.from_quantiles(0.1, 0.8, 0.82)
    assert err > 0.01


def test_lognormal_quadrature_moments():
    p = LogNormalPrior(0.223, 0.113)  # Wang 2016, EVIDENCE.md
    nodes, w = p.quadrature()
    for j in (1, 2, 3):
        assert float(w @ nodes**j) == pytest.approx(math.exp(j * 0.223 + j * j * 0.113**2 / 2), rel=1e-10)
    assert p.sd == pytest.approx(math.sqrt(float(w @ nodes**2) - p.mean**2), rel=1e-8)


def test_mixture_moments_and_samples():
    m = MixturePrior((1.0, 3.0), (BetaPrior(2, 8), BetaPrior(30, 10)))
    nodes, w = m.quadrature()
    assert float(w @ nodes) == pytest.approx(0.25 * 0.2 + 0.75 * 0.75, rel=1e-12) == pytest.approx(m.mean)
    assert math.sqrt(float(w @ nodes**2) - m.mean**2) == pytest.approx(m.sd, rel=1e-10)
    x = m.sample(np.random.default_rng(11), 200_000)
    assert abs(x.mean() - m.mean) < 4 * m.sd / math.sqrt(x.size)
    with pytest.raises(InvalidArgumentError, match="one kind"):
        MixturePrior((1, 1), (BetaPrior(1, 1), LogNormalPrior(0, 1)))


def test_normal_assurance_is_power_averaged_over_the_prior():
    """The closed form equals the classical power Phi(sqrt(n) k delta - z) averaged over
    delta ~ N(mu, tau²), integrated here by adaptive quadrature (scipy.integrate.quad)."""
    mu, tau, k, z = 0.25, 0.15, 0.1, stats.norm.isf(0.025)
    for n in (20, 100, 400, 2000):
        power = lambda d, n=n: stats.norm.cdf(math.sqrt(n) * k * d - z) * stats.norm.pdf(d, mu, tau)  # noqa: E731
        ref, _ = integrate.quad(power, mu - 12 * tau, mu + 12 * tau, epsabs=1e-12)
        assert normal_assurance(mu, tau, n, k, z) == pytest.approx(ref, abs=1e-9)
    # the ceiling: assurance never exceeds P(delta > 0) and approaches it as n grows
    ceiling = stats.norm.sf(0, mu, tau)
    assert normal_assurance(mu, tau, 1e9, k, z) == pytest.approx(ceiling, abs=1e-3)
    assert all(normal_assurance(mu, tau, n, k, z) < ceiling for n in (10, 100, 1000))
