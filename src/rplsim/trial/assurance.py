"""Assurance: the probability that the scenario's own trial succeeds, its rates drawn from a prior.

A classical power answers "if placebo is 60% and IVIG 80.7%"; assurance averages that power over
what we know of the two rates (O'Hagan, Stevens & Campbell 2005): ``E[power(p_c, p_t)]`` under the
scenario's ``[prior]`` (a :class:`~rplsim.design.priors.JointPrior`). Success is the trial's own
decision: it rejects in favour of IVIG (superiority), or the non-inferiority test rejects.
Definitions follow Kunzmann et al. (2021, *The American Statistician* 75:180):

* ``prior_probability_benefit`` — P(p_t > p_c − margin) under the prior: the ceiling assurance
  approaches as n grows (a consistent test rejects in favour only where there is benefit);
* ``normalised_assurance`` — assurance / ceiling (Grieve 2022's "normalised" form);
* ``expected_power_given_benefit`` — E[power | benefit].

Two paths, one answer each:

* **exact** (a fixed count-path design :func:`rplsim.exact_power` covers, n ≤
  :data:`EXACT_ASSURANCE_N` per arm): the exact power surface of the design integrated over the
  prior by product quadrature (:mod:`rplsim.design.assurance`): no Monte-Carlo error; the
  quadrature's error estimate and the enumeration's bound are reported;
* **simulated** (everything else: group-sequential looks, the patient path, CMH over strata, and
  large n): each prior draw is one trial of :func:`rplsim.simulate_power`'s simulation, on the same
  keyed streams (draws from stream ``"prior-draws"`` per block of
  :data:`~rplsim.trial.REPLICATE_BLOCK`), so the result is the same at any worker count.

On the simulated path an analysis that reads only the arm totals (chi2, Fisher) gets each draw's
arm rate in every stratum (the totals' law is the same whatever the stratum split); any other
count analysis (CMH, one registered later) and the patient path get each draw's stratum rates
and log-odds shifts from the outcome model, read off a cubic spline through 121 exactly solved
shifts (an interpolation error below 1e-7 on the rate: 2e-8 measured over rates 0.02-0.98).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import interpolate, special

from rplsim._core.display import Displayed
from rplsim._core.rng import SeedLike, child_generator, root_entropy
from rplsim._core.validation import check_integer
from rplsim.design.assurance import exact_assurance_counts, prior_nodes
from rplsim.design.priors import JointPrior
from rplsim.exceptions import InvalidArgumentError, RplsimError, ScenarioError
from rplsim.outcome.model import outcome_model_cached
from rplsim.scenario import STRATA, CohortParams, OutcomeParams, PriorParams, Scenario, TrialParams
from rplsim.stats.registry import get_analysis
from rplsim.trial.exact import _TOTALS_ONLY, exact_power, not_covered
from rplsim.trial.formulas import (
    analytic_n_per_arm,
    default_path,
    treatment_size,
)
from rplsim.trial.pool import cap_workers, map_block_chunks
from rplsim.trial.power import _decide, power_with, simulate_power, wilson_interval
from rplsim.trial.simulation import REPLICATE_BLOCK, TrialDesign, simulate_pair, trial_design

__all__ = [
    "ASSURANCE_COLUMNS",
    "ASSURANCE_MAX_N",
    "EXACT_ASSURANCE_N",
    "AssuranceOutOfReach",
    "AssuranceResult",
    "assurance",
    "assurance_curve",
    "assurance_sample_size",
    "scenario_prior",
    "scenario_priors",
]

#: Largest n per arm the exact path takes: its cost grows with n squared (about 0.3 s at 84 per
#: arm, 1.2 s at 250, 18 s at 500 on one core); above it assurance is simulated.
EXACT_ASSURANCE_N = 250
#: The columns of :func:`assurance_curve` (and of ``assurance.csv``).
ASSURANCE_COLUMNS = (
    "n_per_arm",
    "assurance",
    "ci_low",
    "ci_high",
    "error",
    "method",
    "power_at_prior_mean",
    "ceiling",
    "normalised_assurance",
    "expected_power_given_benefit",
    "draws",
)
# ``prior.draws``' default, for a prior given as an argument (the schema's one number).
_DEFAULT_DRAWS = cast(int, PriorParams.__dataclass_fields__["draws"].default)
# Rates are clipped into [_EDGE, 1 - _EDGE] before a logit.
_EDGE = 1e-12
# Shifts at which the outcome model is solved exactly for the rate spline of the simulated path.
_SHIFTS = np.linspace(-15.0, 15.0, 121)


@dataclass(frozen=True, repr=False)
class AssuranceResult(Displayed):
    """The probability of success of the scenario's trial under its prior.

    Attributes
    ----------
    assurance : float
        P(the trial succeeds), the rates drawn from the prior.
    ci_low, ci_high : float
        Its 95% Monte-Carlo interval (Wilson) on the simulated path; on the exact path the value
        minus and plus ``error``.
    error : float
        Simulated: the standard error. Exact: the quadrature's error estimate plus the
        enumeration's bound.
    method : {"exact", "simulated"}
    n_control, n_treatment : int
        Randomised women per arm.
    power_at_prior_mean : float
        Classical power at the prior means of the two rates (exact where the design allows), for
        contrast.
    prior_probability_benefit : float
        The ceiling: P(p_t > p_c − margin) under the prior (quadrature).
    normalised_assurance : float
        ``assurance / prior_probability_benefit``.
    expected_power_given_benefit : float
        E[power | benefit].
    p_control_mean, p_treatment_mean : float
        The prior means of the rates.
    capped_share : float
        With a relative-risk prior, P(the treated rate is capped).
    draws : int
        Prior draws (simulated path; 0 exact); ``nodes`` the quadrature nodes (exact path).
    draws_frame : DataFrame
        Simulated path: each draw's ``p_control, p_treatment, benefit, success``; empty on the
        exact path.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> res = assurance(load_scenario("scenarios/assurance.toml"), 83)
    >>> res.method, round(res.assurance, 3), res.assurance < res.prior_probability_benefit
    ('exact', 0.385, True)
    >>> list(res.to_frame().columns) == list(ASSURANCE_COLUMNS)
    True
    """

    assurance: float
    ci_low: float
    ci_high: float
    error: float
    method: str
    n_control: int
    n_treatment: int
    power_at_prior_mean: float
    prior_probability_benefit: float
    normalised_assurance: float
    expected_power_given_benefit: float
    p_control_mean: float
    p_treatment_mean: float
    capped_share: float
    draws: int
    nodes: int
    seconds: float
    scenario: str = ""
    draws_frame: pd.DataFrame = field(default_factory=pd.DataFrame, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The scalar fields as a dict (not ``draws_frame``)."""
        return {k: v for k, v in self.__dict__.items() if k != "draws_frame"}

    def to_frame(self) -> pd.DataFrame:
        """One row: :data:`ASSURANCE_COLUMNS` at this n."""
        return pd.DataFrame([curve_row(self)], columns=list(ASSURANCE_COLUMNS))

    def _display_title(self) -> str:
        return f"Assurance ({self.method})" + (f": {self.scenario}" if self.scenario else "")

    def _display_rows(self) -> list[tuple[str, str]]:
        interval = (
            f" (95% CI {self.ci_low:.3f}-{self.ci_high:.3f}, {self.draws:,} draws)"
            if self.method == "simulated"
            else f" (± {self.error:.1e}, {self.nodes:,} quadrature nodes)"
        )
        return [
            ("n per arm", f"{self.n_control} control, {self.n_treatment} treated"),
            ("assurance", f"{self.assurance:.4f}{interval}"),
            ("power at the prior means", f"{self.power_at_prior_mean:.4f}"),
            ("ceiling P(benefit)", f"{self.prior_probability_benefit:.4f}"),
            ("normalised assurance", f"{self.normalised_assurance:.4f}"),
            ("E[power | benefit]", f"{self.expected_power_given_benefit:.4f}"),
            ("prior means", f"control {self.p_control_mean:.3f}, treated {self.p_treatment_mean:.3f}"),
        ]


def curve_row(res: AssuranceResult) -> dict[str, Any]:
    """One row of :data:`ASSURANCE_COLUMNS` from a result."""
    return {
        "n_per_arm": res.n_control,
        "assurance": res.assurance,
        "ci_low": res.ci_low,
        "ci_high": res.ci_high,
        "error": res.error,
        "method": res.method,
        "power_at_prior_mean": res.power_at_prior_mean,
        "ceiling": res.prior_probability_benefit,
        "normalised_assurance": res.normalised_assurance,
        "expected_power_given_benefit": res.expected_power_given_benefit,
        "draws": res.draws,
    }


def scenario_priors(scenario: Scenario) -> dict[str, JointPrior]:
    """The scenario's priors by label: ``[prior]`` (its ``name``) first, then each of
    ``[prior.alternatives]`` in file order.

    Raises
    ------
    ScenarioError
        No ``[trial]``, or no ``[prior]``.
    """
    head = scenario_prior(scenario)
    prior = scenario.prior
    assert prior is not None
    out = {prior.name: head}
    for label, alt in prior.alternatives.items():
        out[label] = alt.joint(prior.relative_risk_cap)
    return out


def scenario_prior(scenario: Scenario) -> JointPrior:
    """The scenario's ``[prior]`` as a :class:`~rplsim.design.priors.JointPrior`.

    Raises
    ------
    ScenarioError
        No ``[trial]``, or no ``[prior]``.
    """
    scenario.require_trial()
    prior = scenario.prior
    if prior is None:
        raise ScenarioError(
            f"{scenario.name}: has no [prior] section, so there is nothing to average the power "
            "over; copy one from scenarios/assurance.toml."
        )
    return prior.joint()


def _margin(trial: TrialParams) -> float:
    return float(trial.margin or 0.0) if trial.design == "non-inferiority" else 0.0


def _exact_ok(scenario: Scenario, n_c: int) -> bool:
    trial = scenario.require_trial()
    return trial.looks == 1 and n_c <= EXACT_ASSURANCE_N and not_covered(scenario) is None


# ------------------------------------------------------------------------------ simulated path
@lru_cache(maxsize=16)
def _rate_spline(
    cohort: CohortParams,
    outcome: OutcomeParams,
    strata: tuple[str, ...],
    weights: tuple[float, ...],
    misc: int,
) -> tuple[interpolate.CubicSpline, interpolate.CubicSpline]:
    """Splines from the logit of the eligible women's mean rate to the log-odds shift and to
    each stratum's logit rate."""
    model = outcome_model_cached(cohort, outcome)
    rates = np.stack([model.stratum_rates(STRATA.index(s), _SHIFTS, misc) for s in strata])
    marginal = np.asarray(weights) @ rates
    x = special.logit(marginal)
    return interpolate.CubicSpline(x, _SHIFTS), interpolate.CubicSpline(x, special.logit(rates), axis=1)


def _draw_design(
    scenario: Scenario, base: TrialDesign, pc: np.ndarray, pt: np.ndarray, full: bool
) -> TrialDesign:
    """A :class:`TrialDesign` whose rates are per replicate (arrays), for one block of draws."""
    if not full:
        s = base.strata
        rates = np.stack([np.repeat(pc[:, None], len(s), 1), np.repeat(pt[:, None], len(s), 1)])
        zero = np.zeros(pc.size)
        shifts = (zero, zero)
    else:
        to_shift, to_rates = _rate_spline(
            scenario.cohort,
            scenario.outcome,
            base.strata,
            tuple(map(float, base.stratum_weights)),
            base.min_misc,
        )
        # A draw of exactly 0 or 1 (a Beta with a, b < 1) has an infinite logit: clip it.
        lc, lt = (special.logit(np.clip(p, _EDGE, 1 - _EDGE)) for p in (pc, pt))
        rates = np.stack([special.expit(to_rates(lc)).T, special.expit(to_rates(lt)).T])
        shifts = (np.asarray(to_shift(lc)), np.asarray(to_shift(lt)))
    return replace(
        base,
        p_control=cast(float, pc),
        p_treatment=cast(float, pt),
        shift_control=cast(float, shifts[0]),
        shift_treatment=cast(float, shifts[1]),
        shift_null=cast(float, shifts[0]),
        stratum_rates=rates,
        stratum_rates_null=rates[0],
    )


def _prior_blocks(
    scenario: Scenario, joint: JointPrior, n_c: int, n_t: int, blocks: list[int], entropy: int, path: str
) -> dict[str, np.ndarray]:
    """Each draw's rates and the trial's decision, for ``blocks`` of draws (in order)."""
    trial = scenario.require_trial()
    base = trial_design(scenario)
    full = path == "patients" or get_analysis(trial.analysis).name not in _TOTALS_ONLY
    out: dict[str, list[np.ndarray]] = {"p_control": [], "p_treatment": [], "success": []}
    for b in blocks:
        pc, pt = joint.sample(child_generator(entropy, "prior-draws", b), REPLICATE_BLOCK)
        design = _draw_design(scenario, base, pc, pt, full)
        h1 = simulate_pair(scenario, design, n_c, n_t, b, entropy, path=path).h1
        good = _decide(trial, h1)[0]
        out["p_control"].append(pc)
        out["p_treatment"].append(pt)
        out["success"].append(good)
    return {k: np.concatenate(v) for k, v in out.items()}


def _simulate(
    scenario: Scenario, joint: JointPrior, n_c: int, n_t: int, draws: int, entropy: int, workers: int
) -> dict[str, np.ndarray]:
    trial = scenario.require_trial()
    path = default_path(trial)
    n_blocks = -(-draws // REPLICATE_BLOCK)
    blocks = list(range(n_blocks))
    workers = cap_workers(
        workers, n_blocks, (f"block of {REPLICATE_BLOCK:,} draws", f"blocks of {REPLICATE_BLOCK:,} draws")
    )
    if workers > 1:
        res = map_block_chunks(
            _prior_blocks, (scenario, joint, n_c, n_t), (entropy, path), blocks, workers, REPLICATE_BLOCK
        )
    else:
        res = _prior_blocks(scenario, joint, n_c, n_t, blocks, entropy, path)
    return {k: v[:draws] for k, v in res.items()}


# ------------------------------------------------------------------------------ the answer
def _power_at(
    scenario: Scenario, n_c: int, pc: float, pt: float, replicates: int | None, seed: SeedLike
) -> float:
    """Classical power at the prior means: exact where the exact path of assurance is, else
    simulated."""
    at = power_with(scenario, control_lbr=float(pc), treatment_lbr=float(pt), ivig_odds_ratio=None)
    if _exact_ok(at, n_c):
        return exact_power(at, n_per_arm=n_c).power
    return simulate_power(at, n_per_arm=n_c, replicates=replicates, seed=seed).power


def assurance(
    scenario: Scenario,
    n_per_arm: int | None = None,
    *,
    replicates: int | None = None,
    seed: SeedLike = None,
    workers: int = 1,
    method: str = "auto",
    prior: JointPrior | None = None,
) -> AssuranceResult:
    """Assurance of the scenario's trial at ``n_per_arm`` under its ``[prior]`` (see the module doc).

    Parameters
    ----------
    scenario : Scenario
        With ``[trial]`` and ``[prior]`` (or pass ``prior``).
    n_per_arm : int, optional
        Randomised control women; default ``trial.n_per_arm``, else the analytic n of the
        scenario's trial at its assumed rates (inflated for dropout).
    replicates : int, optional
        Prior draws on the simulated path (default ``prior.draws``); also the replicates of the
        simulated power at the prior means (default ``trial.replicates``).
    seed : int, optional
        Root seed (default the scenario's).
    workers : int, default 1
        Processes for the simulated path; the result is the same for any number.
    method : {"auto", "exact", "simulated"}, default "auto"
        ``auto`` is exact where the design allows (a fixed count-path design, n ≤
        :data:`EXACT_ASSURANCE_N`), simulated elsewhere.
    prior : JointPrior, optional
        Instead of the scenario's ``[prior]``.

    Returns
    -------
    AssuranceResult

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> from rplsim.design.priors import BetaPrior, JointPrior, LogNormalPrior
    >>> sc = load_scenario("scenarios/paper.toml")
    >>> jp = JointPrior(BetaPrior(9.8, 10.2), LogNormalPrior(0.223, 0.113), "ivig_relative_risk")
    >>> res = assurance(sc, 84, prior=jp)
    >>> res.method, round(res.assurance, 3), round(res.prior_probability_benefit, 3)
    ('exact', 0.392, 0.976)
    """
    trial = scenario.require_trial()
    if trial.reestimation is not None:
        raise ScenarioError(
            f"{scenario.name}: assurance of a [trial.reestimation] design is not computed (each "
            "prior draw would need its own internal pilot); remove [prior] or [trial.reestimation]."
        )
    joint = prior if prior is not None else scenario_prior(scenario)
    if method not in ("auto", "exact", "simulated"):
        raise InvalidArgumentError(f'method == "{method}", must be one of "auto", "exact", "simulated".')
    margin = _margin(trial)
    nodes = prior_nodes(joint, margin)
    pc_mean, pt_mean = nodes.mean_rates()
    ceiling = nodes.benefit_probability
    if n_per_arm is None:
        n_per_arm = trial.n_per_arm or analytic_n_per_arm(scenario)
    n_c = check_integer("n_per_arm", n_per_arm, 2)
    n_t = treatment_size(trial, n_c)
    # prior.draws, or its schema default when the prior comes as an argument
    draws_default = scenario.prior.draws if scenario.prior is not None else _DEFAULT_DRAWS
    draws = check_integer("replicates", draws_default if replicates is None else replicates, 1)
    exact = _exact_ok(scenario, n_c)
    if method == "exact" and not exact:
        why = not_covered(scenario) or (
            f"{scenario.name}: n_per_arm == {n_c} is above {EXACT_ASSURANCE_N}, the exact path's limit"
            if trial.looks == 1
            else f"{scenario.name}: trial.looks == {trial.looks}: exact assurance covers fixed designs"
        )
        raise ScenarioError(why + "; use method='simulated'.")
    use_exact = exact and method != "simulated"
    entropy = root_entropy(scenario.seed if seed is None else seed)
    t0 = time.perf_counter()
    frame = pd.DataFrame()
    if use_exact:
        res = exact_assurance_counts(
            joint, n_c, n_t, analysis=trial.analysis, alpha=trial.alpha, alternative=trial.alternative,
            margin=trial.margin or 0.0, dropout=trial.dropout, block_size=trial.block_size,
        )  # fmt: skip
        value, error = res.assurance, res.quadrature_error + res.max_error
        low, high = max(0.0, value - error), min(1.0, value + error)
        given = res.expected_power_given_benefit
        n_draws, n_nodes = 0, res.nodes
    else:
        sim = _simulate(scenario, joint, n_c, n_t, draws, entropy, check_integer("workers", workers, 1))
        success = sim["success"]
        k = int(success.sum())
        value = k / draws
        low, high = wilson_interval(k, draws)
        error = math.sqrt(value * (1 - value) / draws)
        benefit = sim["p_treatment"] > sim["p_control"] - margin
        given = float(success[benefit].mean()) if benefit.any() else float("nan")
        frame = pd.DataFrame({"p_control": sim["p_control"], "p_treatment": sim["p_treatment"],
                              "benefit": benefit, "success": success})  # fmt: skip
        n_draws, n_nodes = draws, 0
    power_mean = _power_at(scenario, n_c, pc_mean, pt_mean, replicates, entropy)
    return AssuranceResult(
        assurance=float(value),
        ci_low=float(low),
        ci_high=float(high),
        error=float(error),
        method="exact" if use_exact else "simulated",
        n_control=n_c,
        n_treatment=n_t,
        power_at_prior_mean=float(power_mean),
        prior_probability_benefit=ceiling,
        normalised_assurance=float(value / ceiling) if ceiling > 0 else float("nan"),
        expected_power_given_benefit=float(given),
        p_control_mean=pc_mean,
        p_treatment_mean=pt_mean,
        capped_share=joint.capped_share(),
        draws=n_draws,
        nodes=n_nodes,
        seconds=time.perf_counter() - t0,
        scenario=scenario.name,
        draws_frame=frame,
    )


def assurance_curve(
    scenario: Scenario,
    n_values: list[int] | None = None,
    *,
    replicates: int | None = None,
    seed: SeedLike = None,
    workers: int = 1,
    prior: JointPrior | None = None,
) -> pd.DataFrame:
    """Assurance at each n of ``n_values`` (:data:`ASSURANCE_COLUMNS`), one :func:`assurance`
    per n (simulated points share their streams: common random numbers, a smooth curve).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> from rplsim.design.priors import BetaPrior, JointPrior, LogNormalPrior
    >>> jp = JointPrior(BetaPrior(9.8, 10.2), LogNormalPrior(0.223, 0.113), "ivig_relative_risk")
    >>> curve = assurance_curve(load_scenario("scenarios/paper.toml"), [40, 84], prior=jp)
    >>> curve["assurance"].is_monotonic_increasing, list(curve["method"])
    (True, ['exact', 'exact'])
    """
    if not n_values:
        raise InvalidArgumentError("n_values: give at least one n per arm.")
    rows = [
        curve_row(assurance(scenario, n, replicates=replicates, seed=seed, workers=workers, prior=prior))
        for n in sorted(set(int(v) for v in n_values))
    ]
    return pd.DataFrame(rows, columns=list(ASSURANCE_COLUMNS))


class AssuranceOutOfReach(ScenarioError):
    """The target assurance is not reached: at or above the ceiling P(benefit), or not by
    :data:`ASSURANCE_MAX_N` per arm. ``ceiling``; ``n_near_ceiling`` the n at which assurance
    reaches 95% of the ceiling (None if not by ASSURANCE_MAX_N, or if the target is below it)."""

    def __init__(self, message: str, ceiling: float, n_near_ceiling: int | None) -> None:
        super().__init__(message)
        self.ceiling = ceiling
        self.n_near_ceiling = n_near_ceiling


#: The sample-size search for a target assurance looks no further than this many per arm.
ASSURANCE_MAX_N = 20_000
#: When the target is above the ceiling, the search reports the n at which assurance reaches this
#: share of its ceiling instead.
CEILING_SHARE = 0.95


def _search(
    value: Any, target: float, start: int, seen: dict[int, AssuranceResult]
) -> tuple[int | None, dict[int, AssuranceResult]]:
    """Smallest n in [2, ASSURANCE_MAX_N] with ``value(n).assurance >= target``, by doubling from
    ``start`` then bisection (None when not reached), and every point evaluated (``seen``: the
    points already known, added to)."""

    def at(n: int) -> float:
        if n not in seen:
            seen[n] = value(n)
        return seen[n].assurance

    n = min(max(start, 2), ASSURANCE_MAX_N)
    if at(n) >= target:
        lo, hi = 1, n
        while hi > 2 and at(max(2, hi // 2)) >= target:
            hi = max(2, hi // 2)
        lo = max(1, hi // 2) if hi > 2 else 1
    else:
        lo = n
        hi = min(2 * n, ASSURANCE_MAX_N)
        while at(hi) < target:
            if hi >= ASSURANCE_MAX_N:
                return None, seen
            lo, hi = hi, min(2 * hi, ASSURANCE_MAX_N)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if mid < 2 or at(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi, seen


def assurance_sample_size(
    scenario: Scenario,
    target_assurance: float = 0.8,
    *,
    replicates: int | None = None,
    seed: SeedLike = None,
    workers: int = 1,
    prior: JointPrior | None = None,
    known: dict[int, AssuranceResult] | None = None,
) -> tuple[int, pd.DataFrame, AssuranceResult, str]:
    """Smallest n per arm whose assurance reaches ``target_assurance``.

    Returns ``(n, curve, result at n, method at n)``; :func:`rplsim.find_sample_size` with
    ``target_assurance`` wraps it in its usual return shape. ``known`` holds results already
    computed with the same arguments, by n (reused, and added to).

    Raises
    ------
    ScenarioError
        The target is at or above the ceiling P(benefit) (the message gives the n at which
        assurance reaches 95% of it), or is not reached by :data:`ASSURANCE_MAX_N` per arm.
    """
    trial = scenario.require_trial()
    joint = prior if prior is not None else scenario_prior(scenario)
    target = float(target_assurance)
    if not 0.0 < target < 1.0:
        raise InvalidArgumentError(f"target_assurance == {target_assurance!r}, must be in (0, 1).")
    nodes = prior_nodes(joint, _margin(trial))
    ceiling = nodes.benefit_probability
    pc_mean, pt_mean = nodes.mean_rates()
    # From the formula's n at the prior means, kept inside the search's range (a prior whose mean
    # effect is nil would start it at millions per arm).
    try:
        at_means = power_with(scenario, control_lbr=pc_mean, treatment_lbr=pt_mean, ivig_odds_ratio=None)
        raw = float(analytic_n_per_arm(at_means))
    except (RplsimError, ValueError, OverflowError):  # no benefit at the prior means
        raw = float("inf")
    start = int(min(max(raw if math.isfinite(raw) else ASSURANCE_MAX_N, 2), ASSURANCE_MAX_N))

    def value(n: int) -> AssuranceResult:
        return assurance(scenario, n, replicates=replicates, seed=seed, workers=workers, prior=joint)

    def frame(seen: dict[int, AssuranceResult]) -> pd.DataFrame:
        return pd.DataFrame([curve_row(seen[n]) for n in sorted(seen)], columns=list(ASSURANCE_COLUMNS))

    seen = known if known is not None else {}
    if ceiling < 1e-6:
        raise AssuranceOutOfReach(
            f"{scenario.name}: target assurance {target:.2f} is out of reach: the prior gives IVIG no "
            f"real chance of benefit (P(benefit) = {ceiling:.1e}), so no trial size can succeed; "
            "revise the prior.",
            ceiling,
            None,
        )
    if target >= ceiling:
        share = CEILING_SHARE * ceiling
        n95, _ = _search(value, share, start, seen)
        where = (
            f"it reaches {CEILING_SHARE:.0%} of that ({share:.2f}) at {n95} per arm"
            if n95 is not None
            else f"it does not reach {CEILING_SHARE:.0%} of that ({share:.2f}) by {ASSURANCE_MAX_N:,} per arm"
        )
        raise AssuranceOutOfReach(
            f"{scenario.name}: target assurance {target:.2f} is out of reach: assurance cannot exceed "
            f"P(benefit) = {ceiling:.3f} under this prior, and {where}; lower the target below "
            f"{ceiling:.3f}, or revise the prior.",
            ceiling,
            n95,
        )
    n, seen = _search(value, target, start, seen)
    if n is None:
        raise AssuranceOutOfReach(
            f"{scenario.name}: assurance {seen[max(seen)].assurance:.3f} at {ASSURANCE_MAX_N:,} per arm is "
            f"still below the target {target:.2f} (ceiling {ceiling:.3f}): lower the target, or revise "
            "the prior.",
            ceiling,
            None,
        )
    return n, frame(seen), seen[n], seen[n].method
