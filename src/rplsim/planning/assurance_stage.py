"""The assurance stage of a run: probability of success against n for each prior of ``[prior]``.

For the headline prior and each alternative (``[prior.alternatives.<name>]``) it computes, with
:func:`rplsim.assurance` (one computation per (prior, n), reused by the table, the figure, the CSV
and the sentence):

* the assurance curve on about ten n from a quarter to 32 times the run's n (log-spaced), the
  run's n and the points of the search below;
* the n at which assurance reaches the target (default 80%), or — when the target is at or above
  the ceiling P(benefit) — the n at which assurance reaches 95% of the ceiling, and the sentence
  that says so;
* the prior densities of the placebo and the IVIG rate, for the figure;
* at the run's n, when the assurance there is exact, the simulated path as its check (the same
  trial simulated once per prior draw).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rplsim import figures
from rplsim._core.display import Displayed
from rplsim.design.priors import BetaPrior, JointPrior, LogNormalPrior, Prior
from rplsim.scenario import Scenario
from rplsim.trial.assurance import (
    ASSURANCE_COLUMNS,
    ASSURANCE_MAX_N,
    AssuranceOutOfReach,
    AssuranceResult,
    assurance,
    assurance_sample_size,
    curve_row,
    scenario_priors,
)

__all__ = ["AssuranceStage", "PriorAnswer", "assess_assurance", "describe_prior"]

#: Default target assurance of a run.
TARGET_ASSURANCE = 0.80
# The curve: this many log-spaced n, from a quarter of the run's n to 32 times it.
_CURVE_POINTS = 10
_DENSITY_X = np.linspace(0.0025, 0.9975, 399)


def _one(prior: Prior) -> str:
    if isinstance(prior, BetaPrior):
        return f"Beta({prior.a:.4g}, {prior.b:.4g})"
    if isinstance(prior, LogNormalPrior):
        return f"log-normal({prior.mean_log:.4g}, {prior.sd_log:.4g})"
    parts = ", ".join(f"{w:.2g} x {_one(c)}" for w, c in zip(prior._w, prior.components, strict=True))
    return f"mixture of {parts}"


_EFFECT_WORDS = {
    "treatment_lbr": "IVIG rate",
    "ivig_odds_ratio": "odds ratio IVIG vs placebo",
    "ivig_relative_risk": "relative risk IVIG vs placebo",
}


def describe_prior(joint: JointPrior) -> str:
    """A short text of a joint prior: the placebo rate's prior and the second prior, with means.

    Examples
    --------
    >>> jp = JointPrior(BetaPrior(9.8, 10.2), LogNormalPrior(0.223, 0.113), "ivig_relative_risk")
    >>> for part in describe_prior(jp).split("; "):
    ...     print(part)
    placebo rate Beta(9.8, 10.2) (mean 49.0%)
    relative risk IVIG vs placebo log-normal(0.223, 0.113) (mean 1.26)
    """
    effect = joint.effect
    mean = f"{effect.mean:.1%}" if joint.effect_kind == "treatment_lbr" else f"{effect.mean:.3g}"
    return (
        f"placebo rate {_one(joint.control)} (mean {joint.control.mean:.1%}); "
        f"{_EFFECT_WORDS[joint.effect_kind]} {_one(effect)} (mean {mean})"
    )


@dataclass(frozen=True)
class PriorAnswer:
    """One prior's answer: its result at the run's n, the n for the target, and why not."""

    label: str
    description: str
    at_n: AssuranceResult
    n_for_target: int | None
    out_of_reach: str  # "" when the target is reached
    n_near_ceiling: int | None = None  # where assurance reaches 95% of the ceiling, when out of reach
    n_for_target_se: float | None = None  # simulated n: one Monte-Carlo SE of assurance, in n
    check: AssuranceResult | None = None  # the simulated path at the run's n, when at_n is exact


@dataclass(frozen=True, repr=False)
class AssuranceStage(Displayed):
    """The assurance of a run's trial under each prior (see the module doc).

    Attributes
    ----------
    answers : tuple of PriorAnswer
        Headline prior first.
    curve : DataFrame
        ``prior`` and :data:`rplsim.trial.assurance.ASSURANCE_COLUMNS`, every (prior, n) computed.
    target : float
    n_per_arm : int
        The run's n.
    densities : dict
        Per prior label, ``(x, placebo density, IVIG density)``.
    """

    answers: tuple[PriorAnswer, ...]
    curve: pd.DataFrame
    target: float
    n_per_arm: int
    densities: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(compare=False)

    @property
    def headline(self) -> PriorAnswer:
        """The answer under the headline prior."""
        return self.answers[0]

    def table(self) -> pd.DataFrame:
        """One row per prior: assurance at the run's n and the n for the target."""
        rows = []
        for a in self.answers:
            r = a.at_n
            rows.append({
                "prior": a.label, "description": a.description, "n_per_arm": r.n_control,
                "assurance": r.assurance, "ci_low": r.ci_low, "ci_high": r.ci_high, "method": r.method,
                "power_at_prior_mean": r.power_at_prior_mean, "ceiling": r.prior_probability_benefit,
                "normalised_assurance": r.normalised_assurance,
                "expected_power_given_benefit": r.expected_power_given_benefit,
                "simulated_check": a.check.assurance if a.check else np.nan,
                "check_ci_low": a.check.ci_low if a.check else np.nan,
                "check_ci_high": a.check.ci_high if a.check else np.nan,
                "target": self.target, "n_for_target": a.n_for_target if a.n_for_target else np.nan,
                "out_of_reach": a.out_of_reach,
            })  # fmt: skip
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """The curve (every prior, every n)."""
        return self.curve

    def curves(self) -> dict[str, pd.DataFrame]:
        """The curve split by prior (file order), as :func:`rplsim.figures.assurance_chart` reads it."""
        return {str(label): g for label, g in self.curve.groupby("prior", sort=False)}

    def plot(self, *, subtitle: str = "") -> Any:
        """:func:`rplsim.figures.assurance_chart` of the curve and the densities."""
        return figures.assurance_chart(
            self.curves(), self.densities, chosen_n=self.n_per_arm, target=self.target, subtitle=subtitle
        )

    def _display_title(self) -> str:
        return "Assurance under the priors"

    def _display_rows(self) -> list[tuple[str, str]]:
        out = []
        for a in self.answers:
            reach = (
                f"n = {a.n_for_target} per arm for {self.target:.0%}"
                if a.n_for_target
                else "target out of reach"
            )
            out.append(
                (a.label, f"{a.at_n.assurance:.3f} at {self.n_per_arm} per arm ({a.at_n.method}); {reach}")
            )
        return out


def _descriptions(scenario: Scenario) -> dict[str, str]:
    """Each prior of the scenario's file in the file's own terms (the Jeffreys counts, the quantiles
    and their fit), by label."""
    prior = scenario.prior
    if prior is None:
        return {}
    pairs = {prior.name: prior, **prior.alternatives}
    return {
        label: f"placebo rate {p.control_lbr.describe()}; "
        f"{_EFFECT_WORDS[p.effect_kind]} {p.effect.describe()}"
        for label, p in pairs.items()
    }


def _n_spread(known: dict[int, AssuranceResult], n: int) -> float | None:
    """For a simulated n: the Monte-Carlo SE of assurance at n over the curve's slope there (from
    the nearest points at least 20% below and above n), i.e. how far n moves for one SE."""
    res = known[n]
    if res.method != "simulated":
        return None
    below = [m for m in known if m <= 0.8 * n]
    above = [m for m in known if m >= 1.25 * n]
    if not below or not above:
        return None
    lo, hi = max(below), min(above)
    slope = (known[hi].assurance - known[lo].assurance) / (hi - lo)
    return float(res.error / slope) if slope > 0 else None


def _grid(n: int) -> list[int]:
    lo, hi = max(10, n // 4), min(ASSURANCE_MAX_N, 32 * n)
    return sorted({*np.unique(np.round(np.geomspace(lo, hi, _CURVE_POINTS)).astype(int)).tolist(), n})


def assess_assurance(
    scenario: Scenario,
    n_per_arm: int,
    *,
    target: float = TARGET_ASSURANCE,
    replicates: int | None = None,
    workers: int = 1,
    say: Callable[[str], None] = lambda message: None,
) -> AssuranceStage:
    """Assurance curve, n for ``target`` and densities for every prior of the scenario.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> # about 8 s of exact and simulated points; tests/app/test_assurance_cli.py runs it in a run
    >>> st = assess_assurance(load_scenario("scenarios/assurance.toml"), 83)  # doctest: +SKIP
    >>> [a.label for a in st.answers], st.headline.n_for_target  # doctest: +SKIP
    (['evidence-based', 'sceptical', 'enthusiastic'], 605)
    """
    answers = []
    rows = []
    densities = {}
    texts = _descriptions(scenario)
    for label, joint in scenario_priors(scenario).items():
        say(f"  assurance under the {label} prior")
        known: dict[int, AssuranceResult] = {}
        for n in _grid(n_per_arm):
            known[n] = assurance(scenario, n, replicates=replicates, workers=workers, prior=joint)
        n_target: int | None = None
        why = ""
        near: int | None = None
        try:
            n_target, _, _, _ = assurance_sample_size(
                scenario, target, replicates=replicates, workers=workers, prior=joint, known=known
            )
        except AssuranceOutOfReach as exc:
            why, near = str(exc).split(": ", 1)[-1], exc.n_near_ceiling
        text = texts.get(label) or describe_prior(joint)
        spread = _n_spread(known, n_target) if n_target else None
        check = None
        if known[n_per_arm].method == "exact":  # exact where possible, simulation checks it
            check = assurance(
                scenario, n_per_arm, replicates=replicates, workers=workers, method="simulated", prior=joint
            )
        answers.append(PriorAnswer(label, text, known[n_per_arm], n_target, why, near, spread, check))
        rows += [{"prior": label, **curve_row(known[n])} for n in sorted(known)]
        densities[label] = (_DENSITY_X, joint.control.pdf(_DENSITY_X), joint.treated_density(_DENSITY_X))
    curve = pd.DataFrame(rows, columns=["prior", *ASSURANCE_COLUMNS])
    return AssuranceStage(tuple(answers), curve, float(target), int(n_per_arm), densities)
