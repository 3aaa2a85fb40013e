"""Solve a scenario's trial for whichever of n, power, IVIG rate or placebo rate is missing.

The ``solve_power`` convention of statsmodels: of ``n_per_arm``, ``power``, ``treatment_lbr``
and ``control_lbr`` exactly one is ``None`` (the unknown); the others default to the
scenario's values (:data:`FROM_SCENARIO`) or are given. The answer is

- ``n_per_arm``: the smallest randomised control-arm size whose power reaches ``power``;
- ``power``: the power at ``n_per_arm``;
- ``treatment_lbr``: the smallest detectable IVIG rate (the IVIG live-birth rate at which
  ``n_per_arm`` has power ``power``), on the side of the alternative;
- ``control_lbr``: the largest placebo rate at which ``n_per_arm`` still has power ``power``
  (the smallest for ``alternative == "smaller"``).

**Exact** (:func:`rplsim.exact_power`) for count-path designs with one look, or several without
dropout (chi2, fisher or boschloo, or any count analysis in one eligible stratum): exact power is a
polynomial in the rates, so a rate is found by :func:`scipy.optimize.brentq` to within 1e-6 in
power; ``n`` by a search over integers (exact power is saw-toothed in ``n``: the smallest ``n``
reaching the target is reported, and ``stable_n``, from which power stays at or above target for
every ``n`` up to +20%). **Simulated** (:func:`rplsim.simulate_power`) otherwise, with common
random numbers (the same seed at every evaluation, so the keyed blocks are the same trials):
``n`` by :func:`rplsim.find_sample_size`, a rate by brentq on the simulated power (a step
function of the rate; to 0.001), with the 95% Wilson interval of the power at the answer.

When the placebo rate moves, the scenario's stated effect is held fixed: ``trial.treatment_lbr``
if the scenario gives it, else ``trial.ivig_odds_ratio`` (the treated rate then follows the
placebo rate). Solving ``treatment_lbr`` sets it explicitly (the odds ratio is dropped).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

from scipy import optimize

from rplsim._core.limits import MAX_N_PER_ARM
from rplsim._core.rng import SeedLike, root_entropy
from rplsim._core.validation import check_choice, check_integer, check_power
from rplsim.design.exact import check_rate
from rplsim.exceptions import InvalidArgumentError, ScenarioError
from rplsim.scenario import Scenario
from rplsim.trial.exact import exact_applies, exact_power, exact_sample_size
from rplsim.trial.formulas import treatment_size
from rplsim.trial.power import find_sample_size, power_with, simulate_power
from rplsim.trial.simulation import trial_design

__all__ = ["FROM_SCENARIO", "SOLVE_METHODS", "UNKNOWNS", "Solution", "solve"]

#: The default of every argument of :func:`solve`: take the scenario's value.
FROM_SCENARIO: Final = "scenario"
#: What :func:`solve` can solve for, in the order of its arguments.
UNKNOWNS = ("n_per_arm", "power", "treatment_lbr", "control_lbr")
#: ``method`` of :func:`solve` and :func:`rplsim.power_curve`.
SOLVE_METHODS = ("auto", "exact", "simulated")

# Rates are searched inside [_RATE_EDGE, 1 - _RATE_EDGE] (the outcome model's shift for a rate
# of 1e-9 is a log-odds of -20: legal, but no trial question lives there).
_RATE_EDGE = 1e-3
# brentq's tolerance on a rate: exact power moves at most ~20 per unit of rate at these sizes,
# so 1e-8 in the rate is well inside 1e-6 in power.
_EXACT_XTOL = 1e-8
_SIMULATED_XTOL = 1e-3
# Grid of placebo rates scanned when the odds ratio is held (power is then not monotone).
_OR_GRID_STEP = 0.025

Given = float | int | None | Literal["scenario"]


@dataclass(frozen=True)
class Solution:
    """The answer of :func:`solve`: the missing quantity, the power at it and every input.

    Attributes
    ----------
    solved : {"n_per_arm", "power", "treatment_lbr", "control_lbr"}
        The quantity solved for; ``value`` its value (an int for ``n_per_arm``).
    power : float
        The power at the solution (exact or simulated); for ``solved == "power"`` the answer.
    power_ci : tuple of float or None
        95% Wilson interval of a simulated power; None when exact.
    target_power : float or None
        The target (None when solving for power).
    method : {"exact", "simulated"}
    n_per_arm, n_treatment : int
        Randomised women per arm at the solution (before dropout).
    control_lbr, treatment_lbr : float
        The arms' live-birth rates at the solution (``treatment_lbr`` resolved from the odds
        ratio when that is held).
    ivig_odds_ratio : float or None
        The odds ratio when it is the scenario's stated effect (held fixed), else None.
    held_fixed : {"treatment_lbr", "ivig_odds_ratio"}
        The effect that stays fixed when the placebo rate moves.
    type1_error : float
        Type-I error at the solution (the design's null).
    stable_n : int or None
        Exact ``n`` search: the smallest n from which power stays >= target for every n up to
        +20% (equal to ``value`` when there is no saw-tooth in that window).
    replicates, seed : int or None
        Simulated only: trials per evaluation and the root seed (common random numbers).
    evaluations : int
        Power evaluations the solve made.
    note : str
        The saw-tooth, or how a simulated answer was found.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> s = solve(load_scenario("scenarios/paper.toml", {"trial": {"treatment_lbr": 0.9}}), n_per_arm=None)
    >>> s.solved, s.value, s.method, s.power >= s.target_power
    ('n_per_arm', 34, 'exact', True)
    """

    solved: str
    value: float
    power: float
    power_ci: tuple[float, float] | None
    target_power: float | None
    method: str
    n_per_arm: int
    n_treatment: int
    control_lbr: float
    treatment_lbr: float
    ivig_odds_ratio: float | None
    held_fixed: str
    type1_error: float
    analysis: str
    alternative: str
    alpha: float
    margin: float
    dropout: float
    looks: int
    scenario: str
    stable_n: int | None = None
    replicates: int | None = None
    seed: int | None = None
    evaluations: int = 0
    seconds: float = 0.0
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The fields as a flat dict (``power_ci`` split into ``ci_low``, ``ci_high``)."""
        d = asdict(self)
        ci = d.pop("power_ci")
        d["ci_low"], d["ci_high"] = (None, None) if ci is None else ci
        return d


@dataclass(frozen=True)
class _Point:
    power: float
    ci: tuple[float, float] | None
    type1_error: float
    p_control: float
    p_treatment: float


class _Evaluator:
    """Power of variants of one scenario, exact or simulated with one seed (CRN); counted."""

    def __init__(
        self, scenario: Scenario, method: str, replicates: int | None, seed: SeedLike, workers: int
    ) -> None:
        trial = scenario.require_trial()
        check_choice("method", method, SOLVE_METHODS)
        self.exact = exact_applies(scenario) if method == "auto" else method == "exact"
        self.replicates = check_integer(
            "replicates", trial.replicates if replicates is None else replicates, error=InvalidArgumentError
        )
        self.entropy = root_entropy(scenario.seed if seed is None else seed)
        self.workers = workers
        self.count = 0

    @property
    def method(self) -> str:
        return "exact" if self.exact else "simulated"

    def __call__(self, scenario: Scenario, n: int, replicates: int | None = None) -> _Point:
        self.count += 1
        if self.exact:
            e = exact_power(scenario, n)
            return _Point(e.power, None, e.type1_error, e.p_control, e.p_treatment)
        r = simulate_power(
            scenario, n, replicates=replicates or self.replicates, seed=self.entropy, workers=self.workers
        )
        return _Point(r.power, r.power_ci, r.type1_error, r.p_control, r.p_treatment)


def _unknown(given: dict[str, Given]) -> str:
    nones = [k for k, v in given.items() if v is None]
    if len(nones) != 1:
        got = "none" if not nones else " and ".join(nones)
        raise InvalidArgumentError(
            f"solve: exactly one of {', '.join(UNKNOWNS)} must be None (the unknown), got {got}; "
            "e.g. solve(scenario, treatment_lbr=None, n_per_arm=80) (the others default to the "
            "scenario's values)."
        )
    return nones[0]


def solve(
    scenario: Scenario,
    n_per_arm: int | Literal["scenario"] | None = FROM_SCENARIO,
    power: float | Literal["scenario"] | None = FROM_SCENARIO,
    treatment_lbr: float | Literal["scenario"] | None = FROM_SCENARIO,
    control_lbr: float | Literal["scenario"] | None = FROM_SCENARIO,
    *,
    method: str = "auto",
    replicates: int | None = None,
    seed: SeedLike = None,
    workers: int = 1,
) -> Solution:
    """Solve the scenario's trial for the one argument given as ``None``.

    Parameters
    ----------
    scenario : Scenario
        Must have a ``[trial]`` section.
    n_per_arm : int, None or "scenario"
        Randomised control women (``trial.n_per_arm`` by default; the treated arm has
        ``ceil(allocation_ratio * n)``).
    power : float, None or "scenario"
        Target power (``trial.power`` by default), in (0.5, 1).
    treatment_lbr : float, None or "scenario"
        IVIG live-birth rate; by default the scenario's ``trial.treatment_lbr`` or
        ``trial.ivig_odds_ratio``. A number replaces the odds ratio.
    control_lbr : float, None or "scenario"
        Placebo live-birth rate (``trial.control_lbr`` by default).
    method : {"auto", "exact", "simulated"}, default "auto"
        "auto": exact where :func:`exact_applies`, else simulated.
    replicates : int, optional
        Simulated trials per evaluation (default ``trial.replicates``).
    seed : int, optional
        Root seed of the simulation (default the scenario's); every evaluation uses it.
    workers : int, default 1
        Processes for the simulation (results do not depend on it).

    Returns
    -------
    Solution

    Raises
    ------
    InvalidArgumentError
        Not exactly one ``None``, or an argument out of range.
    ScenarioError
        No ``[trial]``, no ``n_per_arm`` to use, or no solution (e.g. no IVIG rate below 1
        reaches the target power at this n).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> s = load_scenario("scenarios/paper.toml")
    >>> solve(s, n_per_arm=None).value
    83
    >>> round(solve(s, n_per_arm=85, power=None).value, 3)
    0.811
    >>> round(solve(s, treatment_lbr=None, n_per_arm=80).value, 3)  # doctest: +SKIP
    0.81
    """
    t0 = time.perf_counter()
    trial = scenario.require_trial()
    given: dict[str, Given] = {
        "n_per_arm": n_per_arm,
        "power": power,
        "treatment_lbr": treatment_lbr,
        "control_lbr": control_lbr,
    }
    unknown = _unknown(given)
    changes: dict[str, Any] = {}
    if isinstance(control_lbr, (int, float)):
        changes["control_lbr"] = check_rate("control_lbr", float(control_lbr))
    elif control_lbr not in (None, FROM_SCENARIO):
        raise InvalidArgumentError(f"control_lbr == {control_lbr!r}, must be a rate in (0, 1) or None.")
    if isinstance(treatment_lbr, (int, float)):
        changes["treatment_lbr"] = check_rate("treatment_lbr", float(treatment_lbr))
        changes["ivig_odds_ratio"] = None
    elif treatment_lbr not in (None, FROM_SCENARIO):
        raise InvalidArgumentError(f"treatment_lbr == {treatment_lbr!r}, must be a rate in (0, 1) or None.")
    if unknown == "treatment_lbr":
        # A placeholder rate (the scenario's resolved one) that the solve replaces.
        changes["treatment_lbr"] = trial_design(power_with(scenario, **changes)).p_treatment
        changes["ivig_odds_ratio"] = None
    base = power_with(scenario, **changes) if changes else scenario
    target: float | None = None
    if unknown != "power":
        target = trial.power if power == FROM_SCENARIO or power is None else float(power)
        check_power(target)
    n: int | None = None
    if unknown != "n_per_arm":
        if n_per_arm == FROM_SCENARIO:
            if trial.n_per_arm is None:
                raise ScenarioError(
                    f"{scenario.name}: trial.n_per_arm is not set: pass n_per_arm=... to solve for {unknown}."
                )
            n = trial.n_per_arm
        else:
            n = check_integer("n_per_arm", n_per_arm, 2, error=InvalidArgumentError)
            if n > MAX_N_PER_ARM:
                raise InvalidArgumentError(f"n_per_arm == {n}, must be <= {MAX_N_PER_ARM:,}.")
    ev = _Evaluator(base, method, replicates, seed, workers)
    held = "treatment_lbr" if base.require_trial().treatment_lbr is not None else "ivig_odds_ratio"
    stable: int | None = None
    note = ""
    if unknown == "power":
        assert n is not None
        solved_s = base
        pt = ev(base, n)
        value = pt.power
    elif unknown == "n_per_arm":
        assert target is not None
        if ev.exact:
            n, stable, note = _exact_n(base, target)
        else:
            n, _curve = find_sample_size(
                base, target, replicates=ev.replicates, seed=ev.entropy, workers=ev.workers
            )
            note = "simulated: find_sample_size (common random numbers; 4x the replicates at n)."
        solved_s, value = base, float(n)
        pt = ev(base, n, None if ev.exact else 4 * ev.replicates)
    else:
        assert n is not None and target is not None
        solved_s, value, note = _solve_rate(base, unknown, n, target, ev)
        pt = ev(solved_s, n)
    assert n is not None
    t = solved_s.require_trial()
    return Solution(
        solved=unknown,
        value=int(value) if unknown == "n_per_arm" else value,
        power=pt.power,
        power_ci=pt.ci,
        target_power=target,
        method=ev.method,
        n_per_arm=n,
        n_treatment=treatment_size(t, n),
        control_lbr=t.control_lbr,
        treatment_lbr=pt.p_treatment if t.treatment_lbr is None else t.treatment_lbr,
        ivig_odds_ratio=t.ivig_odds_ratio if held == "ivig_odds_ratio" else None,
        held_fixed=held,
        type1_error=pt.type1_error,
        analysis=t.analysis,
        alternative=t.alternative,
        alpha=t.alpha,
        margin=t.margin or 0.0,
        dropout=t.dropout,
        looks=t.looks,
        scenario=scenario.name,
        stable_n=stable,
        replicates=None if ev.exact else ev.replicates,
        seed=None if ev.exact else ev.entropy,
        evaluations=ev.count,
        seconds=time.perf_counter() - t0,
        note=note,
    )


# ----------------------------------------------------------------------------- n (exact)
def _exact_n(scenario: Scenario, target: float) -> tuple[int, int, str]:
    """(smallest n reaching target, stable n, note): :func:`exact_sample_size` at ``target``,
    the one exact n search (``rplsim run`` and ``rplsim power`` use it too)."""
    es = exact_sample_size(power_with(scenario, power=target))
    note = ""
    if es.dips:
        shown = ", ".join(str(d) for d in es.dips[:5])
        note = (
            f"saw-tooth: exact power first reaches {target:g} at n == {es.n_per_arm} "
            f"({es.power:.4f}) but falls below it again at n == {shown}; it stays at or above "
            f"target from n == {es.n_stays_above} to +20%."
        )
    return es.n_per_arm, es.n_stays_above, note


# ----------------------------------------------------------------------------- rates
def _solve_rate(
    base: Scenario, unknown: str, n: int, target: float, ev: _Evaluator
) -> tuple[Scenario, float, str]:
    """(scenario at the solution, the rate, note) for ``treatment_lbr`` or ``control_lbr``."""
    trial = base.require_trial()
    margin = trial.margin or 0.0
    up = trial.alternative != "smaller"
    design = trial_design(base)

    def variant(x: float) -> Scenario:
        return power_with(base, **{unknown: float(x)})

    def shortfall(x: float) -> float:
        return ev(variant(x), n).power - target

    lo_edge, hi_edge = _RATE_EDGE, 1.0 - _RATE_EDGE
    if unknown == "treatment_lbr":
        null = min(max(design.p_control - margin if up else design.p_control + margin, lo_edge), hi_edge)
        far = hi_edge if up else lo_edge
        brackets = [(null, far)]
        what = "IVIG rate"
    elif trial.treatment_lbr is not None:
        null = min(
            max(trial.treatment_lbr + margin if up else trial.treatment_lbr - margin, lo_edge), hi_edge
        )
        far = lo_edge if up else hi_edge
        brackets = [(null, far)]
        what = "placebo rate"
    else:
        # The odds ratio is held: power vanishes at both ends; scan from the end nearest H0.
        null, far = (hi_edge, lo_edge) if up else (lo_edge, hi_edge)
        k = math.ceil((hi_edge - lo_edge) / _OR_GRID_STEP)
        grid = [null + (far - null) * i / k for i in range(k + 1)]
        brackets = []
        prev = grid[0]
        for x in grid[1:]:
            if shortfall(x) >= 0:
                brackets = [(prev, x)]
                break
            prev = x
        what = "placebo rate (odds ratio held)"
        if not brackets:
            raise ScenarioError(
                f"{base.name}: no {what} in ({lo_edge:g}, {hi_edge:g}) gives power {target:g} at "
                f"{n} per arm; raise n_per_arm or lower the power."
            )
    a, b = brackets[0]
    fa, fb = shortfall(a), shortfall(b)
    if fa >= 0:
        raise ScenarioError(
            f"{base.name}: at {n} per arm the power is already {fa + target:.4f} >= {target:g} at the "
            f"{what} {a:.4f} (where H0 holds or nearly): nothing to solve."
        )
    if fb < 0:
        raise ScenarioError(
            f"{base.name}: no {what} reaches power {target:g} at {n} per arm (at {b:.4f} it is "
            f"{fb + target:.4f}); raise n_per_arm or lower the power."
        )
    xtol = _EXACT_XTOL if ev.exact else _SIMULATED_XTOL
    f: Callable[[float], float] = shortfall
    x = float(optimize.brentq(f, a, b, xtol=xtol, maxiter=200))
    # The root side that meets the target (a simulated power is a step function of the rate).
    if not ev.exact and f(x) < 0:
        x = x + xtol if (b > a) else x - xtol
    note = (
        f"brentq on exact power (|power - target| <= 1e-6) over the {what}."
        if ev.exact
        else f"brentq on simulated power with common random numbers over the {what}, to {xtol:g}."
    )
    return variant(x), x, note
