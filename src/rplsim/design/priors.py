"""Priors on the unknown rates and effects, for assurance (issue 15; groundwork).

Pure mathematics, no scenario: each prior can draw samples from a keyed generator, give its mean
and SD, and give **quadrature nodes and weights** such that ``sum(w * f(nodes))`` approximates the
prior expectation of a smooth ``f`` — the exact path of assurance integrates the exact power
surface this way, with no Monte-Carlo error.

* :class:`BetaPrior` — on a rate; from ``beta = [a, b]``, from counts ``x`` of ``n`` (Jeffreys:
  ``Beta(x + 1/2, n - x + 1/2)``, :meth:`BetaPrior.from_counts`), or fitted to three quantiles
  (:meth:`BetaPrior.from_quantiles`, the fit's largest quantile error reported). Quadrature:
  Gauss-Jacobi (Golub-Welsch on the Jacobi recurrence), exact for polynomials of degree
  ``2k - 1`` in the rate.
* :class:`LogNormalPrior` — on an odds ratio or a relative risk, ``log X ~ N(mean_log, sd_log²)``.
  Quadrature: Gauss-Hermite (:func:`numpy.polynomial.hermite_e.hermegauss`), exact for
  polynomials of degree ``2k - 1`` in ``log X``.
* :class:`MixturePrior` — a weighted mixture of either kind; its nodes are the components' nodes
  with the weights multiplied by the component weights.

:func:`normal_assurance` is the closed form of O'Hagan, Stevens & Campbell (2005) for a one-sided
normal test of a normally distributed effect: the reference the simulated and exact paths are
checked against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import linalg, optimize, special, stats

from rplsim.exceptions import InvalidArgumentError

__all__ = [
    "EFFECT_KINDS",
    "BetaPrior",
    "JointPrior",
    "LogNormalPrior",
    "MixturePrior",
    "Prior",
    "normal_assurance",
]

Array = NDArray[np.float64]

#: Default number of quadrature nodes per prior dimension.
QUADRATURE_NODES = 24


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise InvalidArgumentError(f"{name} == {value!r}, must be a finite number > 0.")
    return v


@dataclass(frozen=True)
class BetaPrior:
    """A Beta(a, b) prior on a rate in (0, 1).

    Examples
    --------
    >>> p = BetaPrior.from_counts(159, 197)  # Table 3: 159 of 197 treated women, Jeffreys
    >>> (p.a, p.b), round(p.mean, 4)
    ((159.5, 38.5), 0.8056)
    >>> nodes, weights = p.quadrature()
    >>> round(float(weights.sum()), 12), round(float(weights @ nodes), 4)
    (1.0, 0.8056)
    """

    a: float
    b: float

    def __post_init__(self) -> None:
        _positive("beta a", self.a)
        _positive("beta b", self.b)

    @classmethod
    def from_counts(cls, x: int, n: int) -> BetaPrior:
        """Jeffreys' posterior of ``x`` successes in ``n``: ``Beta(x + 1/2, n - x + 1/2)``."""
        if isinstance(x, bool) or isinstance(n, bool) or not (isinstance(x, int) and isinstance(n, int)):
            raise InvalidArgumentError(f"counts == [{x!r}, {n!r}], must be two integers [x, n].")
        if not 0 <= x <= n or n < 1:
            raise InvalidArgumentError(f"counts == [{x}, {n}], must have 0 <= x <= n and n >= 1.")
        return cls(x + 0.5, n - x + 0.5)

    @classmethod
    def from_quantiles(cls, q05: float, q50: float, q95: float) -> tuple[BetaPrior, float]:
        """The Beta whose 5%, 50% and 95% quantiles are nearest ``q05, q50, q95`` (least squares
        on the logit scale), and the largest absolute quantile error of the fit.

        Examples
        --------
        >>> prior, err = BetaPrior.from_quantiles(0.35, 0.49, 0.63)  # the placebo range, EVIDENCE.md
        >>> round(prior.mean, 3), err < 0.01
        (0.49, True)
        """
        q = np.array([q05, q50, q95], dtype=float)
        if not (np.all(np.isfinite(q)) and 0 < q[0] < q[1] < q[2] < 1):
            raise InvalidArgumentError(
                f"quantiles == [{q05!r}, {q50!r}, {q95!r}], must be increasing rates in (0, 1)."
            )
        probs = np.array([0.05, 0.5, 0.95])
        target = special.logit(q)

        def residual(log_ab: Array) -> Array:
            a, b = np.exp(log_ab)
            return np.asarray(special.logit(stats.beta.ppf(probs, a, b)) - target, dtype=float)

        # start at the method-of-moments Beta of a normal with the same median and 90% width
        m, sd = q[1], (q[2] - q[0]) / (2 * 1.6449)
        k = max(m * (1 - m) / sd**2 - 1, 1.0)
        fit = optimize.least_squares(residual, np.log([m * k, (1 - m) * k]), method="lm")
        a, b = (float(v) for v in np.exp(fit.x))
        prior = cls(a, b)
        return prior, float(np.max(np.abs(stats.beta.ppf(probs, a, b) - q)))

    @property
    def mean(self) -> float:
        """The prior mean ``a / (a + b)``."""
        return self.a / (self.a + self.b)

    @property
    def sd(self) -> float:
        """The prior SD."""
        s = self.a + self.b
        return math.sqrt(self.a * self.b / (s * s * (s + 1)))

    def sample(self, rng: np.random.Generator, n: int) -> Array:
        """``n`` draws from the prior."""
        return np.asarray(rng.beta(self.a, self.b, size=n), dtype=float)

    def cdf(self, x: Array | float) -> Array:
        """P(rate <= x)."""
        return np.asarray(stats.beta.cdf(x, self.a, self.b), dtype=float)

    def ppf(self, u: Array | float) -> Array:
        """The ``u`` quantile."""
        return np.asarray(stats.beta.ppf(u, self.a, self.b), dtype=float)

    def pdf(self, x: Array | float) -> Array:
        """The density at ``x``."""
        return np.asarray(stats.beta.pdf(x, self.a, self.b), dtype=float)

    def quadrature(self, k: int = QUADRATURE_NODES) -> tuple[Array, Array]:
        """Gauss-Jacobi nodes in (0, 1) and weights summing to 1 for the Beta density."""
        # Jacobi weight (1 - x)^alpha (1 + x)^beta on [-1, 1], p = (1 + x) / 2, by Golub-Welsch
        # on the three-term recurrence: scipy's roots_jacobi overflows its normalising constant
        # for a + b near 10^3 and beyond (a near-point-mass prior), and the weights need no
        # constant (they are normalised to sum to 1).
        al, be = self.b - 1.0, self.a - 1.0
        n = np.arange(k, dtype=float)
        s = 2 * n + al + be
        with np.errstate(invalid="ignore", divide="ignore"):
            diag = (be * be - al * al) / (s * (s + 2))
        diag[0] = (be - al) / (al + be + 2)
        m = n[1:]
        sm = s[1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            off2 = 4 * m * (m + al) * (m + be) * (m + al + be) / (sm * sm * (sm + 1) * (sm - 1))
        if k > 1:  # n = 1 with (m + al + be) cancelled: 0 / 0 at a + b = 1 otherwise
            off2[0] = 4 * (1 + al) * (1 + be) / ((2 + al + be) ** 2 * (3 + al + be))
        off = np.sqrt(off2)
        x, vec = linalg.eigh_tridiagonal(diag, off)
        w = vec[0] ** 2
        return np.asarray((1.0 + x) / 2.0, dtype=float), np.asarray(w / w.sum(), dtype=float)


@dataclass(frozen=True)
class LogNormalPrior:
    """``log X ~ N(mean_log, sd_log²)``: a prior on an odds ratio or a relative risk.

    Examples
    --------
    >>> p = LogNormalPrior(0.223, 0.113)  # Wang 2016: RR 1.25 (1.00-1.56)
    >>> nodes, weights = p.quadrature()
    >>> round(float(weights @ nodes), 4) == round(p.mean, 4)
    True
    """

    mean_log: float
    sd_log: float

    def __post_init__(self) -> None:
        if not math.isfinite(float(self.mean_log)):
            raise InvalidArgumentError(f"lognormal mean_log == {self.mean_log!r}, must be finite.")
        _positive("lognormal sd_log", self.sd_log)

    @property
    def mean(self) -> float:
        """``exp(mean_log + sd_log² / 2)``."""
        return math.exp(self.mean_log + self.sd_log**2 / 2)

    @property
    def sd(self) -> float:
        """The prior SD of ``X``."""
        return self.mean * math.sqrt(math.expm1(self.sd_log**2))

    def sample(self, rng: np.random.Generator, n: int) -> Array:
        """``n`` draws from the prior."""
        return np.asarray(np.exp(rng.normal(self.mean_log, self.sd_log, size=n)), dtype=float)

    def cdf(self, x: Array | float) -> Array:
        """P(X <= x)."""
        with np.errstate(divide="ignore"):
            z = (np.log(np.asarray(x, dtype=float)) - self.mean_log) / self.sd_log
        return np.asarray(stats.norm.cdf(z), dtype=float)

    def ppf(self, u: Array | float) -> Array:
        """The ``u`` quantile."""
        return np.asarray(np.exp(self.mean_log + self.sd_log * stats.norm.ppf(u)), dtype=float)

    def pdf(self, x: Array | float) -> Array:
        """The density of ``X`` at ``x``."""
        return np.asarray(stats.lognorm.pdf(x, self.sd_log, scale=math.exp(self.mean_log)), dtype=float)

    def quadrature(self, k: int = QUADRATURE_NODES) -> tuple[Array, Array]:
        """Gauss-Hermite nodes (on ``X``) and weights summing to 1."""
        z, w = np.polynomial.hermite_e.hermegauss(k)
        return np.exp(self.mean_log + self.sd_log * z), np.asarray(w / w.sum(), dtype=float)


@dataclass(frozen=True)
class MixturePrior:
    """A weighted mixture of priors of one kind (weights normalised to sum to 1).

    Examples
    --------
    >>> m = MixturePrior((0.5, 0.5), (BetaPrior(2, 2), BetaPrior(8, 2)))
    >>> round(m.mean, 3)
    0.65
    """

    weights: tuple[float, ...]
    components: tuple[BetaPrior | LogNormalPrior, ...]

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.components) or not self.components:
            raise InvalidArgumentError("mixture: give one weight per component, at least one component.")
        for w in self.weights:
            _positive("mixture weight", w)
        if len({type(c) for c in self.components}) != 1:
            raise InvalidArgumentError(
                "mixture: every component must be of one kind (all beta or all lognormal)."
            )

    @property
    def _w(self) -> Array:
        w = np.asarray(self.weights, dtype=float)
        return np.asarray(w / w.sum(), dtype=float)

    @property
    def mean(self) -> float:
        """The weighted mean of the components' means."""
        return float(self._w @ np.array([c.mean for c in self.components]))

    @property
    def sd(self) -> float:
        """The mixture's SD (law of total variance)."""
        means = np.array([c.mean for c in self.components])
        second = np.array([c.sd**2 for c in self.components]) + means**2
        return math.sqrt(max(float(self._w @ second) - self.mean**2, 0.0))

    def sample(self, rng: np.random.Generator, n: int) -> Array:
        """``n`` draws: a component by its weight, then a draw from it."""
        which = rng.choice(len(self.components), size=n, p=self._w)
        out = np.empty(n, dtype=float)
        for i, c in enumerate(self.components):
            idx = np.flatnonzero(which == i)
            out[idx] = c.sample(rng, idx.size)
        return out

    @property
    def kind(self) -> type:
        """The components' class (:class:`BetaPrior` or :class:`LogNormalPrior`)."""
        return type(self.components[0])

    def cdf(self, x: Array | float) -> Array:
        """The weighted sum of the components' CDFs."""
        parts = [w * c.cdf(x) for w, c in zip(self._w, self.components, strict=True)]
        return np.asarray(sum(parts), dtype=float)

    def pdf(self, x: Array | float) -> Array:
        """The weighted sum of the components' densities."""
        parts = [w * c.pdf(x) for w, c in zip(self._w, self.components, strict=True)]
        return np.asarray(sum(parts), dtype=float)

    def ppf(self, u: Array | float) -> Array:
        """The ``u`` quantile, by bisection between the components' own quantiles (the mixture's
        quantile lies between the smallest and the largest of them), to 1e-13 on the CDF's scale."""
        uu = np.asarray(u, dtype=float)
        qs = np.stack([c.ppf(uu) for c in self.components])
        lo, hi = qs.min(axis=0), qs.max(axis=0)
        log = self.kind is LogNormalPrior  # bisect ratios on the log scale
        if log:
            lo, hi = np.log(lo), np.log(hi)
        for _ in range(60):
            mid = (lo + hi) / 2
            below = self.cdf(np.exp(mid) if log else mid) < uu
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        mid = (lo + hi) / 2
        return np.asarray(np.exp(mid) if log else mid, dtype=float)

    def quadrature(self, k: int = QUADRATURE_NODES) -> tuple[Array, Array]:
        """The components' nodes, their weights times the component weights."""
        parts = [c.quadrature(k) for c in self.components]
        nodes = np.concatenate([p[0] for p in parts])
        weights = np.concatenate([w * p[1] for w, p in zip(self._w, parts, strict=True)])
        return nodes, weights


Prior = BetaPrior | LogNormalPrior | MixturePrior

#: What the second prior of a :class:`JointPrior` is on (the keys of a scenario's ``[prior]``).
EFFECT_KINDS = ("treatment_lbr", "ivig_odds_ratio", "ivig_relative_risk")


def _kind(prior: Prior) -> type:
    return prior.kind if isinstance(prior, MixturePrior) else type(prior)


@dataclass(frozen=True)
class JointPrior:
    """The prior of a two-arm trial: the control rate, and independently of it the treated rate
    or an effect that gives the treated rate from the control rate.

    Attributes
    ----------
    control : Prior
        On the control arm's live-birth rate (Beta or a mixture of Betas).
    effect : Prior
        On ``effect_kind``: the treated rate (Beta kind), or the odds ratio / relative risk
        between the arms' rates (log-normal kind). The odds ratio is between the arms' marginal
        rates, ``logit p_t = logit p_c + log OR`` (what a meta-analysis pools).
    effect_kind : {"treatment_lbr", "ivig_odds_ratio", "ivig_relative_risk"}
    rr_cap : float
        With a relative risk, the treated rate is ``min(RR * p_c, rr_cap)``: a rate cannot
        reach 1 (:meth:`capped_share` reports how often the cap binds).

    Examples
    --------
    >>> jp = JointPrior(BetaPrior(30, 20), LogNormalPrior(0.223, 0.113), "ivig_relative_risk")
    >>> pc, pt = jp.sample(np.random.default_rng(1), 100_000)
    >>> round(float(np.mean(pt / pc)), 2), bool(pt.max() <= jp.rr_cap)  # the cap: below E[RR] = 1.26
    (1.25, True)
    >>> round(jp.benefit_probability(), 3)  # P(RR > 1) = Phi(0.223 / 0.113)
    0.976
    """

    control: Prior
    effect: Prior
    effect_kind: str
    rr_cap: float = 0.99

    def __post_init__(self) -> None:
        if self.effect_kind not in EFFECT_KINDS:
            raise InvalidArgumentError(
                f"effect_kind == {self.effect_kind!r}, must be one of {', '.join(EFFECT_KINDS)}."
            )
        if _kind(self.control) is not BetaPrior:
            raise InvalidArgumentError("the control rate's prior must be a Beta (or a mixture of Betas).")
        want = BetaPrior if self.effect_kind == "treatment_lbr" else LogNormalPrior
        if _kind(self.effect) is not want:
            raise InvalidArgumentError(
                f"the prior on {self.effect_kind} must be "
                f"{'a Beta' if want is BetaPrior else 'log-normal'} (or a mixture of them)."
            )
        if not 0.5 < self.rr_cap < 1:
            raise InvalidArgumentError(f"rr_cap == {self.rr_cap!r}, must be in (0.5, 1).")

    def treated_rate(self, p_control: Array | float, effect: Array | float) -> Array:
        """The treated rate given the control rate and a value of the second prior."""
        pc = np.asarray(p_control, dtype=float)
        e = np.asarray(effect, dtype=float)
        if self.effect_kind == "treatment_lbr":
            return np.asarray(np.broadcast_to(e, np.broadcast_shapes(pc.shape, e.shape)), dtype=float)
        if self.effect_kind == "ivig_odds_ratio":
            return np.asarray(special.expit(special.logit(pc) + np.log(e)), dtype=float)
        return np.asarray(np.minimum(e * pc, self.rr_cap), dtype=float)

    def effect_at(self, p_control: Array | float, p_treated: Array | float) -> Array:
        """The value of the second prior that gives ``p_treated`` at ``p_control`` (the inverse
        of :meth:`treated_rate`, below the cap)."""
        pc = np.asarray(p_control, dtype=float)
        pt = np.asarray(p_treated, dtype=float)
        if self.effect_kind == "treatment_lbr":
            return np.asarray(np.broadcast_to(pt, np.broadcast_shapes(pc.shape, pt.shape)), dtype=float)
        if self.effect_kind == "ivig_odds_ratio":
            return np.asarray(np.exp(special.logit(pt) - special.logit(pc)), dtype=float)
        return np.asarray(pt / pc, dtype=float)

    def treated_density(self, x: Array, k: int = 64) -> Array:
        """The prior density of the treated rate at ``x`` (below a relative risk's cap, whose
        point mass :meth:`capped_share` gives): the second prior's density carried through
        :meth:`effect_at`, averaged over the control prior's ``k`` nodes."""
        xs = np.asarray(x, dtype=float)
        if self.effect_kind == "treatment_lbr":
            return self.effect.pdf(xs)
        nodes, w = self.control.quadrature(k)
        e = self.effect_at(nodes[:, None], xs[None, :])
        if self.effect_kind == "ivig_odds_ratio":
            jac = e / (xs * (1.0 - xs))[None, :]
        else:
            jac = np.broadcast_to(1.0 / nodes[:, None], e.shape)
        dens = w[:, None] * self.effect.pdf(e) * jac
        if self.effect_kind == "ivig_relative_risk":
            dens = np.where(xs[None, :] < self.rr_cap, dens, 0.0)
        return np.asarray(dens.sum(axis=0), dtype=float)

    def sample(self, rng: np.random.Generator, n: int) -> tuple[Array, Array]:
        """``n`` draws of ``(p_control, p_treatment)``: the control rate first, then the effect."""
        pc = self.control.sample(rng, n)
        return pc, self.treated_rate(pc, self.effect.sample(rng, n))

    def control_nodes(self, margin: float = 0.0, k: int = QUADRATURE_NODES) -> tuple[Array, Array]:
        """Quadrature nodes and weights of the control rate: the prior's own (Gauss-Jacobi), or,
        with a relative risk whose cap the control prior can pass (``p_c >= cap + margin`` has
        mass), Gauss-Legendre on the prior's CDF scale below and above that point: there benefit
        stops (the treated rate is capped below the control rate), a step no single rule
        integrates well."""
        if self.effect_kind == "ivig_relative_risk":
            edge = self.rr_cap + margin
            u_edge = float(self.control.cdf(edge)) if edge < 1 else 1.0
            if u_edge < 1.0 - 1e-14:
                x, wx = np.polynomial.legendre.leggauss(k)
                x, wx = (x + 1.0) / 2.0, wx / 2.0
                u = np.concatenate([u_edge * x, u_edge + (1.0 - u_edge) * x])
                w = np.concatenate([u_edge * wx, (1.0 - u_edge) * wx])
                nodes = self.control.ppf(np.clip(u, 1e-15, 1 - 1e-15))
                return np.asarray(nodes, dtype=float), np.asarray(w, dtype=float)
        return self.control.quadrature(k)

    def capped_share(self) -> float:
        """P(the cap binds) under the prior (0 unless a relative risk): by the control prior's
        quadrature of ``P(RR >= cap / p_c)``."""
        if self.effect_kind != "ivig_relative_risk":
            return 0.0
        nodes, w = self.control_nodes(0.0, 64)
        return float(np.sum(w * (1.0 - self.effect.cdf(self.rr_cap / nodes))))

    def benefit_u(self, p_control: Array | float, margin: float = 0.0) -> Array:
        """Where benefit starts on the second prior's probability scale, given the control rate:
        ``F(effect)`` at ``p_t = p_c - margin`` (0 when every treated rate is a benefit, 1 when
        none can be: the boundary above a relative risk's cap)."""
        pc = np.atleast_1d(np.asarray(p_control, dtype=float))
        boundary = pc - margin
        out = np.zeros(pc.shape)
        ok = boundary > 0
        if self.effect_kind == "ivig_relative_risk":
            out[boundary >= self.rr_cap] = 1.0
            ok &= boundary < self.rr_cap
        out[ok] = self.effect.cdf(self.effect_at(pc[ok], boundary[ok]))
        return out

    def benefit_probability(self, margin: float = 0.0, k: int = QUADRATURE_NODES) -> float:
        """P(p_t > p_c - margin) under the prior: the ceiling of assurance as n grows (the control
        prior's nodes (:meth:`control_nodes`) of the second prior's tail beyond the boundary; the
        same nodes as :func:`rplsim.design.assurance.prior_nodes`)."""
        nodes, w = self.control_nodes(margin, k)
        return float(np.sum(w * (1.0 - self.benefit_u(nodes, margin))))


def normal_assurance(mu: float, tau: float, n: float, k: float, z: float) -> float:
    """Assurance of a one-sided normal test when the standardised effect has a normal prior.

    The test rejects when ``sqrt(n) * k * delta_hat > z`` with ``delta_hat ~ N(delta, 1 / (n k²))``
    standardised, and ``delta ~ N(mu, tau²)``; then
    ``P(reject) = Phi((sqrt(n) mu k - z) / sqrt(1 + n k² tau²))`` (O'Hagan, Stevens & Campbell
    2005). With ``tau = 0`` it is the classical power.

    Parameters
    ----------
    mu, tau : float
        Prior mean and SD of the effect.
    n : float
        Sample size (per arm, in the units ``k`` is expressed in).
    k : float
        Scale: ``sqrt(n) * k * delta`` is the expected z statistic at effect ``delta``.
    z : float
        Critical value.

    Returns
    -------
    float

    Examples
    --------
    >>> round(normal_assurance(3.0, 0.0, 100, 0.1, 1.96), 4)  # tau = 0: the power, Phi(3 - 1.96)
    0.8508
    """
    if tau < 0 or n < 0:
        raise InvalidArgumentError(f"tau == {tau}, n == {n}: both must be >= 0.")
    return float(stats.norm.cdf((math.sqrt(n) * mu * k - z) / math.sqrt(1 + n * k * k * tau * tau)))
