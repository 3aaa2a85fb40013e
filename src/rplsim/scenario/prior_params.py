"""The ``[prior]`` section: priors on the trial's unknown rates, for assurance (issue 15).

Each prior is one small table naming its distribution, one of

* ``beta = [a, b]`` — Beta(a, b) on a rate;
* ``counts = [x, n]`` — x live births of n women: Jeffreys' Beta(x + 1/2, n - x + 1/2);
* ``quantiles = [q05, q50, q95]`` — the Beta fitted to three quantiles (the fit is reported);
* ``lognormal = [mean_log, sd_log]`` — on an odds ratio or a relative risk;
* ``mixture = [{ weight = 0.5, beta = [...] }, ...]`` — a weighted mixture of one kind.

The tables validate into :class:`PriorSpec` (each component of a mixture a
:class:`PriorComponent`) and :class:`PriorParams` holds the whole section; the mathematics is
:mod:`rplsim.design.priors`, which :meth:`PriorParams.joint` hands the validated priors to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rplsim.design.priors import (
    EFFECT_KINDS,
    BetaPrior,
    JointPrior,
    LogNormalPrior,
    MixturePrior,
    Prior,
)
from rplsim.exceptions import InvalidArgumentError
from rplsim.scenario.schema import param
from rplsim.scenario.tomlio import echo_key, echo_value

#: A prior's name: it labels a table row and a legend entry.
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _-]{0,39}")

__all__ = ["PRIOR_FORMS", "PriorComponent", "PriorPair", "PriorParams", "PriorSpec"]

#: The keys that name a prior's distribution: a table gives exactly one of them.
PRIOR_FORMS = ("beta", "counts", "quantiles", "lognormal", "mixture")
_COMPONENT_FORMS = PRIOR_FORMS[:-1]
_RATE_FORMS = ("beta", "counts", "quantiles")


def _num(x: float) -> str:
    return f"{x:.4g}"


def _listing(names: list[str]) -> str:
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass(frozen=True, kw_only=True)
class PriorComponent:
    """One distribution of a ``[prior]`` key, or one component of a mixture.

    Exactly one of ``beta``, ``counts``, ``quantiles`` and ``lognormal`` is given (the rule is
    checked by the table that holds it: :class:`PriorSpec`, :class:`PriorParams`).

    Examples
    --------
    >>> PriorComponent(counts=[17, 49]).to_prior()
    BetaPrior(a=17.5, b=32.5)
    >>> PriorComponent(lognormal=[0.223, 0.113]).describe()
    'log-normal(0.223, 0.113)'
    """

    weight: float | None = param(
        None,
        lo=0,
        lo_open=True,
        doc="share of this component in a mixture (weights are normalised); only inside a mixture",
    )
    beta: list[float] | None = param(None, lo=0, lo_open=True, doc="[a, b]: Beta(a, b) on a rate")
    counts: list[int] | None = param(
        None,
        lo=0,
        doc="[x, n]: x live births of n women, Jeffreys' Beta(x + 1/2, n - x + 1/2) on a rate",
    )
    quantiles: list[float] | None = param(
        None,
        lo=0,
        hi=1,
        lo_open=True,
        hi_open=True,
        doc="[q05, q50, q95], increasing: the Beta on a rate whose 5%, 50% and 95% quantiles are "
        "nearest (least squares on the logit scale; the largest quantile error is reported)",
    )
    lognormal: list[float] | None = param(
        None,
        doc="[mean_log, sd_log], sd_log > 0: log X ~ N(mean_log, sd_log²) on an odds ratio or a "
        "relative risk",
    )

    def _rules(self) -> list[str]:
        out = []
        if self.beta is not None and len(self.beta) != 2:
            out.append(f"beta == {echo_value(self.beta)}, must be two numbers [a, b], each > 0.")
        if self.counts is not None:
            c = self.counts
            if len(c) != 2:
                out.append(f"counts == {echo_value(c)}, must be two integers [x, n]: x live births of n.")
            elif not (c[1] >= 1 and c[0] <= c[1]):
                out.append(
                    f"counts == {echo_value(c)}, must have 0 <= x <= n and n >= 1 (x live births of n women)."
                )
        if self.quantiles is not None:
            q = self.quantiles
            if len(q) != 3:
                out.append(f"quantiles == {echo_value(q)}, must be three rates [q05, q50, q95].")
            elif not q[0] < q[1] < q[2]:
                out.append(
                    f"quantiles == {echo_value(q)}, must be strictly increasing "
                    "[q05, q50, q95] (the 5%, 50% and 95% quantiles)."
                )
            else:
                try:
                    BetaPrior.from_quantiles(*q)
                except (InvalidArgumentError, ValueError, FloatingPointError):
                    out.append(f"quantiles == {echo_value(q)}: no Beta distribution can be fitted to them.")
        if self.lognormal is not None:
            v = self.lognormal
            if len(v) != 2:
                out.append(f"lognormal == {echo_value(v)}, must be two numbers [mean_log, sd_log].")
            elif not v[1] > 0:
                out.append(f"lognormal == {echo_value(v)}, its sd_log (the second number) must be > 0.")
        return out

    def _forms(self) -> list[str]:
        return [name for name in PRIOR_FORMS if getattr(self, name, None) is not None]

    @property
    def form(self) -> str:
        """The distribution key given: "beta", "counts", "quantiles", "lognormal" or "mixture"."""
        forms = self._forms()
        if len(forms) != 1:
            raise InvalidArgumentError(
                f"a prior gives {len(forms)} of {', '.join(PRIOR_FORMS)}, must give one."
            )
        return forms[0]

    @property
    def kind(self) -> Literal["rate", "ratio"]:
        """ "rate" (a Beta on a live-birth rate) or "ratio" (a log-normal odds ratio / relative risk)."""
        return "ratio" if self.form == "lognormal" else "rate"

    def _fit(self) -> tuple[BetaPrior, float]:
        assert self.quantiles is not None
        return BetaPrior.from_quantiles(*self.quantiles)

    def to_prior(self) -> Prior:
        """The distribution, as :mod:`rplsim.design.priors` computes with it.

        Returns
        -------
        BetaPrior or LogNormalPrior (MixturePrior for a :class:`PriorSpec` mixture)
        """
        form = self.form
        if form == "beta":
            assert self.beta is not None
            return BetaPrior(*self.beta)
        if form == "counts":
            assert self.counts is not None
            return BetaPrior.from_counts(*self.counts)
        if form == "quantiles":
            return self._fit()[0]
        assert self.lognormal is not None
        return LogNormalPrior(*self.lognormal)

    def quantile_error(self) -> float | None:
        """The largest quantile error of the Beta fitted to ``quantiles`` (None for other forms)."""
        return self._fit()[1] if self.quantiles is not None else None

    def describe(self) -> str:
        """Short human text: ``Beta(17.5, 32.5) (Jeffreys, 17 of 49)``."""
        form = self.form
        if form == "lognormal":
            assert self.lognormal is not None
            return f"log-normal({_num(self.lognormal[0])}, {_num(self.lognormal[1])})"
        if form == "quantiles":
            assert self.quantiles is not None
            prior, err = self._fit()
            qs = "/".join(f"{q:g}" for q in self.quantiles)
            return (
                f"Beta({_num(prior.a)}, {_num(prior.b)}) fitted to quantiles {qs} "
                f"(largest quantile error {err:.2g})"
            )
        beta = self.to_prior()
        assert isinstance(beta, BetaPrior)
        text = f"Beta({_num(beta.a)}, {_num(beta.b)})"
        if form == "counts":
            assert self.counts is not None
            text += f" (Jeffreys, {self.counts[0]} of {self.counts[1]})"
        return text


@dataclass(frozen=True, kw_only=True)
class PriorSpec(PriorComponent):
    """A prior on one unknown of ``[prior]``: one distribution, or a mixture of one kind.

    Examples
    --------
    >>> parts = [PriorComponent(weight=1, beta=[2, 2]), PriorComponent(weight=1, beta=[8, 2])]
    >>> spec = PriorSpec(mixture=parts)
    >>> spec.describe(), spec.kind, round(spec.to_prior().mean, 3)
    ('mixture of 2 Betas (weights 1, 1)', 'rate', 0.65)
    """

    mixture: list[PriorComponent] | None = param(
        None,
        min_len=1,
        doc="a weighted mixture: an array of tables, each a weight and one of beta, counts, "
        "quantiles, lognormal (all Betas or all log-normal; no mixture inside a mixture)",
    )

    def _rules(self) -> list[str]:
        out = super()._rules()
        if self.weight is not None:
            out.append(
                f"weight == {echo_value(self.weight)} is only allowed inside a mixture (a "
                "component's share); leave it out here, or give mixture = [{ weight = ..., ... }]."
            )
        if self.mixture is None:
            return out
        kinds: dict[str, list[int]] = {}
        for i, comp in enumerate(self.mixture):
            forms = comp._forms()
            if len(forms) != 1:
                out.append(_forms_problem(f"mixture[{i}]", forms, _COMPONENT_FORMS))
                continue
            if comp.weight is None:
                out.append(
                    f"mixture[{i}].weight is missing, and is required inside a mixture (number > 0: "
                    "the component's share; weights are normalised)."
                )
            kinds.setdefault(comp.kind, []).append(i)
        if len(kinds) > 1:
            out.append(
                f"mixture mixes Beta components (mixture[{kinds['rate'][0]}]) and log-normal ones "
                f"(mixture[{kinds['ratio'][0]}]); every component must be of one kind: all beta, "
                "counts or quantiles, or all lognormal."
            )
        return out

    def to_prior(self) -> Prior:
        """The distribution (a :class:`~rplsim.design.priors.MixturePrior` for a mixture).

        Examples
        --------
        >>> PriorSpec(quantiles=[0.35, 0.49, 0.63]).to_prior()  # doctest: +ELLIPSIS
        BetaPrior(a=...)
        """
        if self.form != "mixture":
            return super().to_prior()
        assert self.mixture is not None
        comps = tuple(c.to_prior() for c in self.mixture)
        weights = tuple(float(c.weight) for c in self.mixture if c.weight is not None)
        return MixturePrior(weights, comps)  # type: ignore[arg-type]

    @property
    def kind(self) -> Literal["rate", "ratio"]:
        """ "rate" (Betas on a live-birth rate) or "ratio" (log-normal, on an OR or an RR)."""
        if self.form == "mixture":
            assert self.mixture is not None
            return self.mixture[0].kind
        return super().kind

    def describe(self) -> str:
        """Short human text, e.g. ``mixture of 2 Betas (weights 0.5, 0.5)``.

        Examples
        --------
        >>> PriorSpec(counts=[17, 49]).describe()
        'Beta(17.5, 32.5) (Jeffreys, 17 of 49)'
        """
        if self.form != "mixture":
            return super().describe()
        assert self.mixture is not None
        n = len(self.mixture)
        what = ("Beta" if self.kind == "rate" else "log-normal") + ("s" if n > 1 else "")
        weights = ", ".join(f"{c.weight:g}" for c in self.mixture if c.weight is not None)
        return f"mixture of {n} {what} (weights {weights})"

    def quantile_fits(self, path: str) -> dict[str, float]:
        """``path`` (or ``path.mixture[i]``) -> largest quantile error, for each fit to quantiles."""
        if self.mixture is None:
            err = self.quantile_error()
            return {} if err is None else {path: err}
        return {
            f"{path}.mixture[{i}]": err
            for i, c in enumerate(self.mixture)
            if (err := c.quantile_error()) is not None
        }


def _forms_problem(name: str, forms: list[str], allowed: tuple[str, ...]) -> str:
    """The one line of a table that gives none, or more than one, of its distribution keys."""
    choose = f"give exactly one of {', '.join(allowed)}."
    if not forms:
        return f"{name} has none of {', '.join(allowed)}; {choose}"
    if len(forms) == 2:
        return f"{name} has both {forms[0]} and {forms[1]}; {choose}"
    return f"{name} has {_listing(forms)}; {choose}"


#: The key of each effect prior -> what it is a prior on, and the distribution it needs.
_EFFECTS = {
    "treatment_lbr": "rate",
    "ivig_odds_ratio": "ratio",
    "ivig_relative_risk": "ratio",
}


@dataclass(frozen=True, kw_only=True)
class PriorPair:
    """The two priors of a trial: the placebo rate, and the IVIG rate or an effect (one of
    ``[prior]``'s alternatives has just these keys)."""

    control_lbr: PriorSpec = param(
        doc="prior on the live-birth rate of eligible women on placebo: beta, counts, quantiles, "
        "or a mixture of them",
    )
    treatment_lbr: PriorSpec | None = param(
        None,
        doc="prior on the live-birth rate on IVIG, independent of control_lbr: beta, counts, "
        "quantiles, or a mixture of them (or ivig_odds_ratio, or ivig_relative_risk)",
    )
    ivig_odds_ratio: PriorSpec | None = param(
        None,
        doc="prior on the odds ratio IVIG vs placebo between the arms' rates, logit p_IVIG = logit "
        "p_placebo + log OR (the trial-level OR a meta-analysis pools; not trial.ivig_odds_ratio, "
        "which is per woman, so its marginal OR is smaller): lognormal, or a mixture of them (or "
        "treatment_lbr, or ivig_relative_risk)",
    )
    ivig_relative_risk: PriorSpec | None = param(
        None,
        doc="prior on the relative risk of a live birth, IVIG vs placebo: lognormal, or a mixture "
        "of them; the treated rate is capped at relative_risk_cap (or treatment_lbr, or "
        "ivig_odds_ratio)",
    )

    def _rules(self) -> list[str]:
        out = []
        given = [k for k in EFFECT_KINDS if getattr(self, k) is not None]
        if not given:
            out.append(
                "treatment_lbr is missing, and is required unless ivig_odds_ratio or "
                "ivig_relative_risk is given: give exactly one of the three (the prior on IVIG's effect)."
            )
        elif len(given) > 1:
            names = [given[0], *(f"prior.{k}" for k in given[1:])]
            out.append(
                f"{_listing(names)} are {'both' if len(given) == 2 else 'all'} given; give exactly one "
                "of treatment_lbr, ivig_odds_ratio, ivig_relative_risk (the prior on IVIG's effect)."
            )
        specs = [("control_lbr", "rate"), *((k, _EFFECTS[k]) for k in given)]
        for name, want in specs:
            spec: PriorSpec = getattr(self, name)
            forms = spec._forms()
            if len(forms) != 1:
                out.append(_forms_problem(name, forms, PRIOR_FORMS))
            elif spec.kind != want:
                out.append(_kind_problem(name, spec, want))
        return out

    @property
    def effect_kind(self) -> str:
        """Which of treatment_lbr, ivig_odds_ratio, ivig_relative_risk the section gives."""
        return next(k for k in EFFECT_KINDS if getattr(self, k) is not None)

    @property
    def effect(self) -> PriorSpec:
        """The prior on IVIG's effect (the one of treatment_lbr / ivig_odds_ratio / ivig_relative_risk)."""
        spec: PriorSpec = getattr(self, self.effect_kind)
        return spec

    def joint(self, rr_cap: float = 0.99) -> JointPrior:
        """The two priors together, as :mod:`rplsim.design.priors` computes assurance with them."""
        return JointPrior(
            self.control_lbr.to_prior(), self.effect.to_prior(), self.effect_kind, rr_cap=rr_cap
        )

    def quantile_fits(self, prefix: str = "prior") -> dict[str, float]:
        """Key path -> largest quantile error, for every prior (or component) given as quantiles.

        Examples
        --------
        >>> p = PriorParams(control_lbr=PriorSpec(quantiles=[0.35, 0.49, 0.63]),
        ...                 treatment_lbr=PriorSpec(beta=[8, 2]))
        >>> {k: v < 0.01 for k, v in p.quantile_fits().items()}
        {'prior.control_lbr': True}
        """
        out: dict[str, float] = {}
        for name in ("control_lbr", *EFFECT_KINDS):
            spec = getattr(self, name)
            if spec is not None:
                out.update(spec.quantile_fits(f"{prefix}.{name}"))
        return out


@dataclass(frozen=True, kw_only=True)
class PriorParams(PriorPair):
    """``[prior]``: assurance, the chance the trial succeeds, is its power averaged over these priors.

    Examples
    --------
    >>> from rplsim.scenario import scenario_from_dict
    >>> sc = scenario_from_dict({
    ...     "scenario": {"name": "x"},
    ...     "trial": {"control_lbr": 0.5, "treatment_lbr": 0.7},
    ...     "prior": {"control_lbr": {"counts": [17, 49]}, "ivig_odds_ratio": {"lognormal": [0.5, 0.3]}},
    ... })
    >>> sc.prior.effect_kind, sc.prior.control_lbr.describe(), sc.prior.effect.describe()
    ('ivig_odds_ratio', 'Beta(17.5, 32.5) (Jeffreys, 17 of 49)', 'log-normal(0.5, 0.3)')
    >>> sc.prior.joint().effect_kind
    'ivig_odds_ratio'
    """

    name: str = param(
        "prior",
        doc="what the headline prior is called in the report, the table and the figure",
    )
    draws: int = param(
        20_000,
        lo=100,
        hi=10_000_000,
        doc="prior draws per point on the simulated path",
        source="ASSUMPTION: 20,000 draws put a simulated assurance within about ±0.007 "
        "(2 Monte-Carlo SD at 0.5)",
    )
    relative_risk_cap: float = param(
        0.99,
        lo=0.5,
        hi=1,
        lo_open=True,
        hi_open=True,
        doc="with ivig_relative_risk the treated rate is min(RR x control, cap)",
        source="ASSUMPTION: a live-birth rate cannot reach 1",
    )

    alternatives: dict[str, PriorPair] = param(
        {},
        doc="other priors shown beside the headline one, by name ([prior.alternatives.<name>], each "
        "with control_lbr and one of treatment_lbr / ivig_odds_ratio / ivig_relative_risk); they share "
        "draws and relative_risk_cap",
    )

    def _rules(self) -> list[str]:
        out = super()._rules()
        labels = [self.name, *self.alternatives]
        for label in labels:
            if not _LABEL.fullmatch(label):
                out.append(
                    f"a prior is named {echo_value(label)}, must be 1-40 letters, digits, spaces, '-' or "
                    "'_' (it labels the report's table and the figure's legend)."
                )
        if self.name in self.alternatives:
            out.append(
                f"alternatives.{echo_key(self.name)} has the headline prior's name "
                f"({echo_value(self.name)}): give each prior its own name."
            )
        return out

    def joint(self, rr_cap: float | None = None) -> JointPrior:
        """The headline prior, with ``relative_risk_cap``."""
        return super().joint(self.relative_risk_cap if rr_cap is None else rr_cap)

    def quantile_fits(self, prefix: str = "prior") -> dict[str, float]:
        """Key path -> largest quantile error, of the headline prior and of each alternative."""
        out = super().quantile_fits(prefix)
        for label, alt in self.alternatives.items():
            out.update(alt.quantile_fits(f"{prefix}.alternatives.{label}"))
        return out


def _kind_problem(name: str, spec: PriorSpec, want: str) -> str:
    given = (
        spec.form
        if spec.form != "mixture"
        else f"a mixture of {spec.mixture[0].form}"
        if spec.mixture
        else ""
    )
    if want == "rate":
        return (
            f"{name} is {given}, must be a prior on a rate: beta, counts, quantiles, or a mixture "
            "of them (lognormal is for ivig_odds_ratio or ivig_relative_risk)."
        )
    return (
        f"{name} is {given}, must be lognormal = [mean_log, sd_log] (or a mixture of them): a "
        "prior on a ratio (for a prior on the IVIG rate itself, use treatment_lbr)."
    )
