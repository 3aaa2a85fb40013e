"""Simulated power of the whole pipeline, and the sample-size search built on it.

``simulate_power`` runs ``replicates`` trials (in keyed blocks of
:data:`rplsim.trial.REPLICATE_BLOCK`, streamed, so memory is flat in replicates and results do
not depend on ``workers``), analyses each with the scenario's analysis and, for
group-sequential designs, stops at the first boundary crossed. The null run (both arms at
the control rate) uses the same random streams, so type-I error and power are estimated with
common random numbers.

Power counts rejections in the direction of the alternative (for two-sided tests: treatment
better), as the analytic formulas do; type-I error counts any rejection.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from rplsim._core.display import Displayed
from rplsim._core.rng import SeedLike, child_seed, root_entropy
from rplsim._core.validation import check_choice, check_integer
from rplsim.exceptions import InvalidArgumentError, ScenarioError
from rplsim.scenario import Scenario, TrialParams
from rplsim.scenario.params import FailedCycles
from rplsim.stats.pvalues import Alternative
from rplsim.stats.registry import ANALYSES, LookData, get_analysis
from rplsim.timeline import simulate_twin
from rplsim.trial.exact import ExactSampleSize, exact_curve, exact_sample_size, never_reached, not_covered
from rplsim.trial.formulas import (
    analytic_n_per_arm,
    analytic_power,
    analytic_sample_size,
    default_path,
    inflate_for_dropout,
    look_decision,
    look_thresholds,
    treatment_size,
)
from rplsim.trial.pool import cap_workers, map_block_chunks
from rplsim.trial.randomisation import look_sizes
from rplsim.trial.reestimation import (
    fixed_counterpart,
    planned_n_per_arm,
    reestimation_blocks,
    reestimation_plan,
    true_design,
)
from rplsim.trial.simulation import (
    REPLICATE_BLOCK,
    TrialBlock,
    TrialDesign,
    eligible_pool,
    simulate_pair,
    trial_design,
)

# The names of trial.formulas are listed too: this module was their home.
__all__ = [
    "SEARCH_METHODS",
    "PowerResult",
    "SampleSizeSearch",
    "analytic_n_per_arm",
    "analytic_power",
    "analytic_sample_size",
    "default_path",
    "find_sample_size",
    "inflate_for_dropout",
    "run_blocks",
    "simulate_power",
    "treatment_size",
    "wilson_interval",
]


def __getattr__(name: str) -> tuple[str, ...]:
    # COUNT_ANALYSES was a fixed tuple; it is now read from the analysis registry.
    if name == "COUNT_ANALYSES":
        return tuple(a.name for a in ANALYSES.values() if a.path == "counts")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def wilson_interval(k: float, n: float, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``k / n``."""
    if n <= 0:
        return (0.0, 1.0)
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, repr=False)
class PowerResult(Displayed):
    """Simulated operating characteristics of one trial design.

    Attributes
    ----------
    power, power_ci : float, (float, float)
        Share of trials rejecting H0 in the direction of the alternative, 95% Wilson CI.
    type1_error, type1_ci : float, (float, float)
        Share of null trials (both arms at the control rate) rejecting H0 in any direction.
    analytic_power : float
        The formula's power for the same expected analysed numbers (normal approximation,
        or the group-sequential power for ``looks > 1``).
    expected_n_h1, expected_n_h0 : float
        Mean number of randomised women at stopping (sequential designs; = n_total otherwise).
    stop_probability : tuple of float
        Under H1, share of trials stopping (for efficacy) at each look.
    stop_probability_null : tuple of float
        The same under H0 (both arms at the control rate): the type-I error spent at each look.
    futility_probability, futility_probability_null : tuple of float
        Share of trials stopping for futility at each look, under H1 and H0 (zeros without
        ``trial.futility``; the final look never stops for futility).
    mean_ivig_grams_per_woman : float
        IVIG grams per randomised woman (treated arm's mean dose × its share).

    Examples
    --------
    >>> from rplsim import load_scenario, simulate_power
    >>> r = simulate_power(load_scenario("scenarios/paper.toml"), n_per_arm=80, replicates=1024)
    >>> r.n_control, r.n_total, r.replicates, r.power_ci[0] < r.power < r.power_ci[1]
    (80, 160, 1024, True)
    """

    analysis: str
    n_control: int
    n_treatment: int
    n_total: int
    replicates: int
    p_control: float
    p_treatment: float
    alpha: float
    power: float
    power_ci: tuple[float, float]
    type1_error: float
    type1_ci: tuple[float, float]
    analytic_power: float
    expected_n_h1: float
    expected_n_h0: float
    stop_probability: tuple[float, ...]
    mean_ivig_grams_per_woman: float
    seconds: float
    path: str
    extra: dict[str, Any] = field(default_factory=dict)
    stop_probability_null: tuple[float, ...] = ()
    futility_probability: tuple[float, ...] = ()
    futility_probability_null: tuple[float, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Flat record (CIs split into low/high) for a one-row DataFrame."""
        d = asdict(self)
        d["power_ci_low"], d["power_ci_high"] = d.pop("power_ci")
        d["type1_ci_low"], d["type1_ci_high"] = d.pop("type1_ci")
        d["stop_probability"] = ";".join(f"{x:.4f}" for x in self.stop_probability)
        d["stop_probability_null"] = ";".join(f"{x:.4f}" for x in self.stop_probability_null)
        for name in ("futility_probability", "futility_probability_null"):
            d[name] = ";".join(f"{x:.4f}" for x in getattr(self, name))
        d.update(d.pop("extra"))
        return d

    def to_frame(self) -> pd.DataFrame:
        """:meth:`as_dict` as a one-row DataFrame (a row of ``power.csv``)."""
        return pd.DataFrame([self.as_dict()])

    def _display_title(self) -> str:
        return f"Simulated power ({self.analysis}, {self.replicates:,} trials)"

    def _display_rows(self) -> list[tuple[str, str]]:
        lo, hi = self.power_ci
        rows = [
            ("power", f"{self.power:.4f} (95% CI {lo:.4f}-{hi:.4f})"),
            ("randomised", f"{self.n_control} control, {self.n_treatment} IVIG ({self.n_total} in all)"),
            ("live-birth rates", f"control {self.p_control:.1%}, IVIG {self.p_treatment:.1%}"),
            (
                "type-I error",
                f"{self.type1_error:.4f} (95% CI {self.type1_ci[0]:.4f}-{self.type1_ci[1]:.4f})",
            ),
            ("analytic power", f"{self.analytic_power:.4f}"),
            ("alpha", f"{self.alpha:g}"),
        ]
        if len(self.stop_probability) > 1:
            rows.append(
                (
                    "expected randomised",
                    f"{self.expected_n_h1:.1f} if IVIG works, {self.expected_n_h0:.1f} under H0",
                )
            )
        return rows


_thresholds = look_thresholds  # the old private name


def _look_data(trial: TrialParams, sim: TrialBlock, look: int, patients: bool) -> LookData:
    """The data of one look, as the analyses read it (patient arrays only if ``patients``)."""
    X = y = mask = None
    if patients:
        assert sim.mask is not None and sim.sizes is not None  # the patient path's block
        # Women not yet enrolled at this look are left out like drop-outs.
        mask = sim.mask.copy()
        mask[:, int(sim.sizes[look]) :] = True
        X, y = sim.X, sim.y
    return LookData(
        x_t=sim.x_t[:, look],
        n_t=sim.n_t[:, look],
        x_c=sim.x_c[:, look],
        n_c=sim.n_c[:, look],
        strata_counts=sim.strata_counts[:, look],
        alternative=cast(Alternative, trial.alternative),  # a validated choice
        margin=trial.margin or 0.0,
        X=X,
        y=y,
        mask=mask,
    )


def _analyse(trial: TrialParams, sim: TrialBlock, look: int) -> tuple[np.ndarray, np.ndarray]:
    """(p-value, sign of the effect) per replicate at one look."""
    analysis = get_analysis(trial.analysis)
    p, sign = analysis.function(_look_data(trial, sim, look, analysis.path == "patients"))
    return np.nan_to_num(np.asarray(p, float), nan=1.0), sign


def _decide(trial: TrialParams, sim: TrialBlock) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rejected in the alternative's direction, rejected at all, stopping look, stopped for
    futility): each look's rule (:func:`rplsim.trial.formulas.look_decision`) until one stops."""
    r = sim.x_t.shape[0]
    k = trial.looks
    stopped = np.full(r, k - 1)
    done = np.zeros(r, bool)
    good = np.zeros(r, bool)
    anyrej = np.zeros(r, bool)
    futile = np.zeros(r, bool)
    for j in range(k):
        p, sign = _analyse(trial, sim, j)
        rej, fav, fut = look_decision(trial, p, sign, j, done)
        good |= fav
        anyrej |= rej
        futile |= fut
        stopped[rej | fut] = j
        done |= rej | fut
    return good, anyrej, stopped, futile


def run_blocks(
    scenario: Scenario, design: TrialDesign, n_c: int, n_t: int, blocks: list[int], entropy: int, path: str
) -> dict[str, np.ndarray]:
    """Rejections and stopping looks of the simulated trials of ``blocks``, under H1 and H0.

    Returns arrays (one entry per replicate, blocks in the order given): ``good`` (rejected
    in the alternative's direction), ``any`` (rejected at all), ``stop`` (stopping look) and
    ``fut`` (stopped for futility) under H1; ``any0``, ``stop0`` and ``fut0`` under the null.
    """
    trial = scenario.trial
    assert trial is not None
    if trial.reestimation is not None:
        return reestimation_blocks(scenario, design, n_c, n_t, blocks, entropy, path)
    out: dict[str, list[np.ndarray]] = {
        k: [] for k in ("good", "any", "stop", "fut", "any0", "stop0", "fut0")
    }
    for b in blocks:
        # One call simulates the block under H1 and under the null, sharing their draws.
        sims = simulate_pair(scenario, design, n_c, n_t, b, entropy, path=path)
        for null, sim in zip((False, True), sims, strict=True):
            good, anyrej, stop, futile = _decide(trial, sim)
            if null:
                out["any0"].append(anyrej)
                out["stop0"].append(stop)
                out["fut0"].append(futile)
            else:
                out["good"].append(good)
                out["any"].append(anyrej)
                out["stop"].append(stop)
                out["fut"].append(futile)
    return {k: np.concatenate(v) for k, v in out.items()}


_run_blocks = run_blocks  # the old private names, kept for one release
_analytic_power = analytic_power

_GRAMS_CACHE: dict[tuple[Any, ...], float] = {}


def _ivig_grams_per_treated(scenario: Scenario, design: TrialDesign, entropy: int) -> float:
    """Mean IVIG grams of a treated eligible woman, from the vectorised twin (10,000 women): the
    index pregnancy's course (one that stops early included), not failed IVF cycles before it.

    Cached on what the twin reads (cohort, outcome, protocol, eligible population, the
    treated arm's shift, the seed), so a sample-size search pays for it once.
    """
    key = (
        scenario.cohort,
        scenario.outcome,
        scenario.protocol,
        design.strata,
        design.min_misc,
        round(design.shift_treatment, 12),
        entropy,
    )
    if key not in _GRAMS_CACHE:
        seed = int(child_seed(entropy, "trial-ivig").generate_state(1)[0])
        women = eligible_pool(scenario.cohort, design.strata, design.min_misc, 10_000, seed)
        # a trial randomises at the confirmed pregnancy: failed IVF cycles before it are not its doses
        prot = dataclasses.replace(scenario.protocol, ivf_failed_cycles_mean=FailedCycles())
        out = simulate_twin(
            women, scenario.replace(protocol=prot), seed, treated=np.ones(len(women), bool),
            shift=design.shift_treatment,
        )  # fmt: skip
        if len(_GRAMS_CACHE) > 256:
            _GRAMS_CACHE.clear()
        _GRAMS_CACHE[key] = float(out["ivig_grams"].mean())
    return _GRAMS_CACHE[key]


def simulate_power(
    scenario: Scenario,
    n_per_arm: int | None = None,
    replicates: int | None = None,
    seed: SeedLike = None,
    workers: int = 1,
    *,
    path: str | None = None,
    progress: Callable[[int], None] | None = None,
    truth: tuple[float, float] | None = None,
) -> PowerResult:
    """Simulated power of the scenario's trial at ``n_per_arm`` control women.

    Parameters
    ----------
    scenario : Scenario
        Must have a ``[trial]`` section.
    n_per_arm : int, optional
        Randomised women in the control arm (the treatment arm has
        ``ceil(allocation_ratio * n)``); default ``trial.n_per_arm``, else the analytic n
        inflated for dropout.
    replicates : int, optional
        Simulated trials (default ``trial.replicates``), rounded up to whole blocks of 256.
    seed : int or None
        Root seed (default the scenario's).
    workers : int
        Processes; results are identical for any number. No more are started than there are
        blocks of :data:`~rplsim.trial.REPLICATE_BLOCK` replicates (a warning says so).
    path : {"counts", "patients"}, optional
        Default: counts for chi2/fisher/cmh, patients for logistic.
    progress : callable, optional
        Called with the number of replicates done after each block.
    truth : (float, float), optional
        True live-birth rates (control, IVIG) to simulate at, the design (its boundaries, its
        planned effect and n for ``[trial.reestimation]``) staying the scenario's; type-I error
        is then at the true control rate. Default: the scenario's rates.

    With ``[trial.reestimation]`` each trial is re-sized at its internal pilot
    (:mod:`rplsim.trial.reestimation`, ``n_per_arm`` the planned n): ``expected_n_h1`` /
    ``expected_n_h0`` are the mean re-estimated randomised totals and ``extra`` holds the mean,
    10th, 50th and 90th centiles of the re-estimated control arm and the share at the cap.

    Returns
    -------
    PowerResult

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> res = simulate_power(load_scenario("scenarios/trial_superiority.toml"),
    ...                      n_per_arm=100, replicates=1024)
    >>> res.n_control, res.replicates, round(res.power, 2), res.power_ci[0] < res.power < res.power_ci[1]
    (100, 1024, 0.67, True)
    """
    trial = scenario.require_trial()
    design = true_design(scenario, truth)
    if n_per_arm is None and trial.reestimation is not None:
        n_per_arm = planned_n_per_arm(scenario)
    if n_per_arm is None:
        n_per_arm = trial.n_per_arm or analytic_n_per_arm(scenario)
    n_c = check_integer("n_per_arm", n_per_arm, 2)
    reps = check_integer("replicates", trial.replicates if replicates is None else replicates)
    n_t = treatment_size(trial, n_c)
    path = path or default_path(trial)
    if get_analysis(trial.analysis).path == "patients" and path != "patients":
        raise ScenarioError(
            f'path == "counts" cannot run the {trial.analysis} analysis (it needs '
            'each woman\'s covariates): use path="patients".'
        )
    entropy = root_entropy(scenario.seed if seed is None else seed)
    n_blocks = -(-reps // REPLICATE_BLOCK)
    t0 = time.perf_counter()
    blocks = list(range(n_blocks))
    # More processes than blocks would leave some with nothing to do (and no result to join).
    workers = cap_workers(
        check_integer("workers", workers, 1),
        n_blocks,
        (f"block of {REPLICATE_BLOCK:,} replicates", f"blocks of {REPLICATE_BLOCK:,} replicates"),
    )
    if workers > 1:
        res = map_block_chunks(
            run_blocks, (scenario, design, n_c, n_t), (entropy, path), blocks, workers, REPLICATE_BLOCK
        )
    else:
        pieces = []
        for b in blocks:
            pieces.append(run_blocks(scenario, design, n_c, n_t, [b], entropy, path))
            if progress:
                progress(min((b + 1) * REPLICATE_BLOCK, reps))
        res = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    res = {k: v[:reps] for k, v in res.items()}
    sizes = look_sizes(n_c + n_t, trial.looks)
    k_power = int(res["good"].sum())
    k_type1 = int(res["any0"].sum())
    stop_prob = tuple(float(np.mean(res["any"] & (res["stop"] == j))) for j in range(trial.looks))
    stop_null = tuple(float(np.mean(res["any0"] & (res["stop0"] == j))) for j in range(trial.looks))
    fut = tuple(float(np.mean(res["fut"] & (res["stop"] == j))) for j in range(trial.looks))
    fut_null = tuple(float(np.mean(res["fut0"] & (res["stop0"] == j))) for j in range(trial.looks))
    keep = 1 - trial.dropout
    analytic = analytic_power(trial, design, n_c * keep, n_t / n_c)
    grams_t = _ivig_grams_per_treated(scenario, design, entropy)
    extra: dict[str, Any] = {}
    if "n_total" in res:
        expected_h1, expected_h0 = float(res["n_total"].mean()), float(res["n_total0"].mean())
        new_c = res["n_control"]
        high = reestimation_plan(scenario, n_c).high
        extra = {
            "reestimated_n_mean": float(new_c.mean()),
            **{f"reestimated_n_q{q}": float(np.percentile(new_c, q)) for q in (10, 50, 90)},
            "reestimated_at_cap": float(np.mean(new_c >= high)),
            "reestimated_n_mean_null": float(res["n_control0"].mean()),
        }
    else:
        expected_h1 = float(sizes[res["stop"]].mean())
        expected_h0 = float(sizes[res["stop0"]].mean())
    return PowerResult(
        analysis=trial.analysis,
        n_control=n_c,
        n_treatment=n_t,
        n_total=n_c + n_t,
        replicates=reps,
        p_control=design.p_control,
        p_treatment=design.p_treatment,
        alpha=trial.alpha,
        power=k_power / reps,
        power_ci=wilson_interval(k_power, reps),
        type1_error=k_type1 / reps,
        type1_ci=wilson_interval(k_type1, reps),
        analytic_power=analytic,
        expected_n_h1=expected_h1,
        expected_n_h0=expected_h0,
        stop_probability=stop_prob,
        stop_probability_null=stop_null,
        futility_probability=fut,
        futility_probability_null=fut_null,
        mean_ivig_grams_per_woman=grams_t * n_t / (n_c + n_t),
        seconds=time.perf_counter() - t0,
        path=path,
        extra={
            "ivig_grams_per_treated_woman": grams_t,
            "dropout": trial.dropout,
            "looks": trial.looks,
            "boundary": trial.boundary if trial.looks > 1 else "",
            "futility": trial.futility if trial.looks > 1 else "none",
            **extra,
        },
    )


def curve_row(res: PowerResult) -> dict[str, Any]:
    """One row of a power curve (``find_sample_size``'s table) from a simulated point."""
    return {
        "n_per_arm": res.n_control,
        "power": res.power,
        "ci_low": res.power_ci[0],
        "ci_high": res.power_ci[1],
        "analytic_power": res.analytic_power,
        "replicates": res.replicates,
    }


#: Steps of ~1% of n up from the fitted n before ``find_sample_size`` gives up (about 3x the n).
MAX_SEARCH_STEPS = 200
#: After this many steps up, one look at 4x the bracket's largest n: a target it does not
#: reach is never reached, and the search stops there.
PROBE_AFTER_STEPS = 10


class SampleSizeSearch(Displayed, tuple):  # type: ignore[type-arg]  # (n, curve) or (n, curve, result)
    """The answer of :func:`find_sample_size`: a tuple ``(n, curve)`` (``(n, curve, result)``
    with ``return_result=True``), with named fields, as :class:`os.stat_result` is.

    Attributes
    ----------
    n_per_arm : int
        The n (randomised control women).
    curve : DataFrame
        Power at every n evaluated.
    result : PowerResult or None
        The simulation at ``n_per_arm`` (the confirming run), when asked for.
    method : str
        ``"exact"`` (exact power on the count path) or ``"simulated"``.
    n_stays_above : int
        Smallest n from which power stays at or above target for every n up to 20% larger
        (exact); equal to ``n_per_arm`` for a simulated search (its fitted curve is monotone).
    exact : ExactSampleSize or None
        The exact search, when ``method == "exact"``.
    """

    n_per_arm: int
    curve: pd.DataFrame
    result: Any  # PowerResult, or AssuranceResult for a search on assurance
    method: str
    n_stays_above: int
    exact: ExactSampleSize | None

    def __new__(
        cls,
        n: int,
        curve: pd.DataFrame,
        result: Any,
        *,
        method: str,
        n_stays_above: int,
        exact: ExactSampleSize | None = None,
        with_result: bool = False,
    ) -> SampleSizeSearch:
        obj = super().__new__(cls, (n, curve, result) if with_result else (n, curve))
        obj.n_per_arm, obj.curve, obj.result = n, curve, result
        obj.method, obj.n_stays_above, obj.exact = method, n_stays_above, exact
        return obj

    def __repr__(self) -> str:
        return Displayed.__repr__(self)

    def _display_title(self) -> str:
        return f"Sample-size search ({self.method})"

    def _display_rows(self) -> list[tuple[str, str]]:
        rows = [("n per arm", f"{self.n_per_arm} randomised control women")]
        if self.n_stays_above != self.n_per_arm:
            rows.append(("power stays above target from", f"{self.n_stays_above} per arm (to +20%)"))
        rows.append(("points evaluated", f"{len(self.curve)}"))
        if isinstance(self.result, PowerResult):
            rows.append(("simulated power at n", f"{self.result.power:.4f}"))
        elif self.result is not None:
            rows.append(("assurance at n", f"{self.result.assurance:.4f} ({self.result.method})"))
        return rows

    def to_frame(self) -> pd.DataFrame:
        """The curve of the search (power at every n evaluated)."""
        return self.curve

    def plot(self, *, target_power: float = 0.80) -> Any:
        """The power curve of the search, the chosen n and ``target_power`` marked.

        Returns a matplotlib Figure (:func:`rplsim.figures.power_curve`).
        """
        from rplsim.figures import power_curve as _figure

        return _figure(self.curve, chosen_n=self.n_per_arm, target_power=target_power)


SEARCH_METHODS = ("auto", "exact", "simulated")
"""``method`` of :func:`find_sample_size`: ``auto`` is exact where :func:`rplsim.exact_power`
covers the design (:func:`rplsim.trial.exact.exact_applies`), simulated elsewhere."""


def find_sample_size(
    scenario: Scenario,
    target_power: float | None = None,
    *,
    replicates: int | None = None,
    seed: SeedLike = None,
    workers: int = 1,
    confirm_factor: int = 4,
    return_result: bool = False,
    method: str = "auto",
    progress: Callable[[int], None] | None = None,
    target_assurance: float | None = None,
) -> Any:
    """Smallest control-arm size whose power reaches ``target_power``: exact on the count
    path, simulated elsewhere. With ``target_assurance`` instead: the smallest n whose
    assurance under the scenario's ``[prior]`` reaches it (:func:`rplsim.assurance`).

    With ``[trial.reestimation]``: the planned n of the internal pilot, the fixed design's n
    (searched as below on the scenario without re-estimation); ``result`` is the re-estimated
    design's simulation at it.

    **Exact** (``method="auto"`` on a design :func:`rplsim.exact_power` covers: one look, or
    several without dropout, chi2/fisher, or CMH in one stratum): the n of
    :func:`rplsim.exact_sample_size`, the smallest n whose exact power reaches the target, and
    ``n_stays_above``, the smallest from which it stays there up to +20% (the saw-tooth of
    exact tests); the curve is exact power around n (``method`` "exact", ``replicates`` 0).
    With ``return_result=True`` the simulation at n (``replicates`` trials) is the check.

    **Simulated** (``method="simulated"``, or a design exact power does not cover: the
    logistic analysis, CMH over several strata, sequential with dropout), robust to
    Monte-Carlo noise: (1) start from the analytic n (inflated for dropout);
    (2) simulate power on a bracket of n around it with common random numbers (same seed at
    every n, so the curve is smooth); (3) fit power ≈ Φ(a + b·√n) by weighted least squares on
    the probit scale and solve for the target; (4) confirm with ``confirm_factor`` × more
    replicates at the candidate, stepping up by one until the *lower* 95% bound is not needed:
    the point estimate must reach the target and the step below must not.

    Parameters
    ----------
    method : {"auto", "exact", "simulated"}, default "auto"
        ``exact`` raises for a design exact power does not cover.
    progress : callable, optional
        Called with the trials done of the exact search's checking simulation.
    target_assurance : float, optional
        Size for this probability of success under ``[prior]`` instead of a power: doubling from
        the analytic n at the prior means, then bisection, each point one :func:`rplsim.assurance`
        (exact where the design allows, else simulated with common random numbers); the curve
        has :data:`rplsim.trial.assurance.ASSURANCE_COLUMNS`, ``result`` is the
        :class:`~rplsim.AssuranceResult` at n. A target at or above the ceiling P(benefit)
        raises :class:`~rplsim.exceptions.ScenarioError` naming the n at which assurance reaches
        95% of the ceiling.

    Returns
    -------
    SampleSizeSearch
        Unpacks as ``n, curve`` (``n, curve, result`` with ``return_result=True``):

        n : int
            Control-arm size (randomised, before dropout).
        curve : DataFrame
            ``n_per_arm, power, ci_low, ci_high, analytic_power, replicates`` at every n
            evaluated (exact: also ``method`` and ``type1_error``).
        result : PowerResult
            Only with ``return_result=True``: the simulation at ``n`` itself (the simulated
            search's confirming run), so a caller that reports the power at ``n`` reuses this
            computation instead of repeating it.

        and names ``method``, ``n_stays_above`` and ``exact`` (see :class:`SampleSizeSearch`).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> n, curve = find_sample_size(load_scenario("scenarios/paper.toml"))
    >>> n, curve.shape[0] > 1
    (83, True)
    >>> find_sample_size(load_scenario("scenarios/yamada_4plus.toml")).n_stays_above  # doctest: +SKIP
    """
    trial = scenario.require_trial()
    check_choice("method", method, SEARCH_METHODS)
    if target_assurance is not None:
        if target_power is not None:
            raise InvalidArgumentError("give target_power or target_assurance, not both.")
        from rplsim.trial.assurance import assurance_sample_size  # it builds on this module

        n_a, curve_a, res_a, method_a = assurance_sample_size(
            scenario, target_assurance, replicates=replicates, seed=seed, workers=workers
        )
        return SampleSizeSearch(
            n_a, curve_a, res_a, method=method_a, n_stays_above=n_a, with_result=return_result
        )
    if trial.reestimation is not None:
        # The pilot starts from the fixed design's n; the check is the re-estimated design's power.
        fixed = find_sample_size(
            fixed_counterpart(scenario), target_power, replicates=replicates, seed=seed,
            workers=workers, confirm_factor=confirm_factor, method=method,
        )  # fmt: skip
        check = None
        if return_result:
            check = simulate_power(
                scenario, n_per_arm=fixed.n_per_arm, replicates=replicates, seed=seed,
                workers=workers, progress=progress,
            )  # fmt: skip
        return SampleSizeSearch(
            fixed.n_per_arm, fixed.curve, check, method=fixed.method, n_stays_above=fixed.n_stays_above,
            exact=fixed.exact, with_result=return_result,
        )  # fmt: skip
    target = float(target_power or trial.power)
    reps = check_integer("replicates", trial.replicates if replicates is None else replicates)
    why = not_covered(scenario)
    if method == "exact" and why is not None:
        raise ScenarioError(why)
    if method != "simulated" and why is None:
        sized = scenario if target == trial.power else power_with(scenario, power=target)
        found = exact_sample_size(sized)
        n = found.n_per_arm
        check = None
        if return_result:
            check = simulate_power(
                scenario, n_per_arm=n, replicates=reps, seed=seed, workers=workers, progress=progress
            )
        return SampleSizeSearch(
            n, exact_curve(sized, n, found), check, method="exact",
            n_stays_above=found.n_stays_above, exact=found, with_result=return_result,
        )  # fmt: skip
    design = trial_design(scenario)
    n0 = analytic_n_per_arm(scenario, design)
    rows: list[dict[str, Any]] = []
    # One root entropy for every point (a Generator seed is asked once), so the points share
    # their random streams: common random numbers, and a point asked for again is the same
    # trials (the step-down check after a step up re-asks for the point below).
    entropy = root_entropy(scenario.seed if seed is None else seed)
    known: dict[tuple[int, int], PowerResult] = {}

    def evaluate(n: int, r: int, record: bool = True) -> float:
        if (int(n), r) not in known:
            res = simulate_power(scenario, n_per_arm=int(n), replicates=r, seed=entropy, workers=workers)
            if record:  # the curve: the points of the search, not a look far above it
                rows.append(curve_row(res))
            known[int(n), r] = res
        return known[int(n), r].power

    grid = sorted({max(2, round(n0 * f)) for f in (0.6, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5)})
    pw = np.array([evaluate(n, reps) for n in grid])
    ok = (pw > 0.01) & (pw < 0.999)
    if ok.sum() >= 2:
        zz = stats.norm.ppf(pw[ok])
        wts = reps / (pw[ok] * (1 - pw[ok]))
        a, b = np.polyfit(np.sqrt(np.array(grid)[ok]), zz, 1, w=np.sqrt(wts))
        cand = math.ceil(((stats.norm.ppf(target) - b) / a) ** 2) if a > 0 else n0
    else:
        cand = n0
    cand = max(2, cand)
    big = reps * confirm_factor
    p_c = evaluate(cand, big)
    step = max(1, cand // 100)
    steps = 0
    while p_c < target:
        if steps == PROBE_AFTER_STEPS:
            # Stepping is slow to get there: is the target reachable at all? One look far
            # above the bracket (some designs never get there: treated below control).
            far = max(4 * max(grid), 2 * cand)
            p_far = evaluate(far, reps, record=False)
            if p_far < target:
                raise never_reached(scenario, design, target, far, p_far)
        if steps == MAX_SEARCH_STEPS:  # a bound, not a hope: the look far above can be noise
            raise never_reached(scenario, design, target, cand, p_c)
        cand += step
        steps += 1
        p_c = evaluate(cand, big)
    while cand - step >= 2 and evaluate(cand - step, big) >= target:
        cand -= step
    curve = (
        pd.DataFrame(rows)
        .sort_values(["n_per_arm", "replicates"])
        .drop_duplicates("n_per_arm", keep="last")
        .reset_index(drop=True)
    )
    return SampleSizeSearch(
        cand, curve, known[cand, big], method="simulated", n_stays_above=cand,
        with_result=return_result,
    )  # fmt: skip


def power_with(scenario: Scenario, **trial_changes: Any) -> Scenario:
    """A copy of ``scenario`` with ``[trial]`` keys changed (for sweeps and tests)."""
    assert scenario.trial is not None
    return scenario.replace(trial=replace(scenario.trial, **trial_changes))
