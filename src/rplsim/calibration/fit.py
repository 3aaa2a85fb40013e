"""Fit a scenario's free parameters to a targets file (issue 18): ``rplsim fit``.

**Objective.** The sum of squared standardised distances, ``sum z_i^2`` with
``z_i = (simulated_i - value_i) / se_i`` (:func:`rplsim.calibration.targets_file.evaluate_targets`:
the statistic's mean and SD over ``replicates`` simulated cohorts of the targets' size). Every
evaluation draws the same cohorts (**common random numbers**: one seed), so the objective moves
only with the parameters; it is still piecewise constant where a parameter moves a discrete draw
(a woman's stratum, her number of failed IVF cycles).

**Optimiser.** :func:`scipy.optimize.minimize` with Nelder-Mead by default: gradient-free, so
the small steps of a discrete draw do not mislead it as they do a finite-difference gradient
(``least_squares``), and a handful of parameters keeps its simplex small. The parameters are
mapped onto the real line through their bounds (a logit of their place between the bounds), so
every trial point is valid. ``method="differential-evolution"`` is the bounded global search
(:func:`scipy.optimize.differential_evolution`), for a start far from the answer; it costs some
15 times the evaluations. Both stop at the evaluation ``budget`` or after ``budget_seconds``.

**Uncertainty.** From the Hessian ``H`` of the objective at the fit, by finite differences with
a step ``h`` per parameter (a tenth of its range, halved until the objective climbs at most 9,
three SEs, over it; at a bound the points go inward): a three-point profile
along each axis for the diagonal and one more point per pair for the rest. Under a normal
approximation ``sum z^2`` is ``-2 log L`` plus a constant, so the Fisher information is ``H/2``
and the covariance ``2 H^-1``: ``se`` is the marginal SE (correlations included: keys the
targets trade off, such as the IVF share and the shares of courses that stop early, get wider
SEs and a large ``correlation``), ``se_conditional = sqrt(2 / H_ii)`` the SE with the others
held fixed. Both are SEs of a parameter estimated from one cohort of the targets' size, as the
paper's values are, times ``sqrt(1 + 1/R)``: the ``R`` simulated cohorts the objective reads
are a sample too, and their noise moves the fit by ``1/R`` of the targets' variance. The steps
stay large (at least a tenth of the range over 64) because the objective is piecewise constant
at small scales. Reading ``sum z^2`` as ``-2 log L`` treats the targets as independent (the
mean, SD and extremes of one variable are read on the same women), so the SEs are approximate:
the recovery test measures them 0-35% small (``docs/targets.md``).

**Identifiability.** A parameter whose SE is more than half its range, or whose profile has no
positive curvature, or whose profile meets a point the scenario refuses, is flagged ``flat``:
the targets do not pin it inside its bounds; so are all of them when the Hessian of the others
is not positive definite (a ridge). A flat key has no marginal SE (``se_conditional`` gives the
one along its axis where the curvature gives one). At a bound the profile uses two points inward.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from rplsim._core.display import Displayed
from rplsim._core.rng import SeedLike
from rplsim.calibration.targets_file import TargetSet, evaluate_targets
from rplsim.exceptions import InvalidArgumentError, ScenarioError
from rplsim.scenario import Scenario
from rplsim.scenario.fit_params import number_keys
from rplsim.scenario.load import scenario_from_dict
from rplsim.scenario.tomlio import dumps_toml, format_value

__all__ = ["DEFAULT_FREE", "FitResult", "FreeParameter", "fit", "fitted_toml"]

#: The keys ``rplsim fit`` frees when none are named: the dose mechanism and the IVF share, which
#: Table 1's doses inform and nothing in the paper fixes (each an ASSUMPTION of the schema).
DEFAULT_FREE: tuple[str, ...] = (
    "cohort.ivf_share",
    "protocol.ivf_failed_cycles_mean.known",
    "protocol.ivf_failed_cycles_mean.idiopathic",
    "protocol.ivig_incomplete_share.known",
    "protocol.ivig_incomplete_share.idiopathic",
)
METHODS = ("nelder-mead", "differential-evolution")
#: Nelder-Mead's restarts from its answer, at most.
RESTARTS = 4


@dataclass(frozen=True)
class FreeParameter:
    """A dotted scenario key the fit may move, within ``[low, high]``."""

    key: str
    low: float
    high: float


def free_parameters(
    keys: Sequence[str], bounds: Mapping[str, tuple[float | None, float | None]] | None = None
) -> list[FreeParameter]:
    """The free keys with their bounds (``bounds``, else the schema's range).

    Raises
    ------
    ScenarioError
        A key that is not a number of the schema, or has no finite range and no bounds.

    Examples
    --------
    >>> free_parameters(["cohort.ivf_share"])[0]
    FreeParameter(key='cohort.ivf_share', low=0.0, high=1.0)
    """
    info = number_keys()
    out: list[FreeParameter] = []
    for k in keys:
        p = info.get(k)
        if p is None:
            raise ScenarioError(
                f"--free {k}: is not a number of the scenario (a float key such as cohort.ivf_share)."
            )
        if k in (q.key for q in out):
            raise ScenarioError(f"--free {k}: is given twice; give each key once.")
        given = (bounds or {}).get(k)
        lo = given[0] if given is not None and given[0] is not None else p.lo
        hi = given[1] if given is not None and given[1] is not None else p.hi
        if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ScenarioError(
                f"--free {k}: needs finite bounds low < high (the schema gives {p.range_text})."
            )
        # an open end of the schema's range is not a valid value: stay inside it
        inset = 1e-6 * (hi - lo)
        if p.lo_open and lo == p.lo:
            lo += inset
        if p.hi_open and hi == p.hi:
            hi -= inset
        out.append(FreeParameter(k, float(lo), float(hi)))
    return out


def _get(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        node = node[part]
    return node


def _set(data: dict[str, Any], key: str, value: float) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


@dataclass(frozen=True, repr=False)
class FitResult(Displayed):
    """What :func:`fit` returns.

    Attributes
    ----------
    scenario : Scenario
        The scenario with the fitted values.
    parameters : pandas.DataFrame
        ``key, start, fitted, se, se_conditional, low, high, flat``: ``se`` is the marginal SE
        (correlations between the free keys included), ``se_conditional`` the SE with the
        others held at their fitted values (module doc, **Uncertainty**).
    residuals : pandas.DataFrame
        Every target before and after: ``target, source, value, n, before, z_before, after,
        z_after, within_before, within_after, worse`` (``within``: ``|z| <= 2.576``, the 99%
        band; ``worse``: within before, outside after).
    correlation : pandas.DataFrame
        The fitted values' correlation matrix (NaN for a flat key): near +-1, two keys trade
        off against each other and the targets pin only their combination.
    objective_before, objective_after : float
        ``sum z^2`` at the start and at the fit.
    method : str
    evaluations : int
    seconds : float
    targets : TargetSet

    Examples
    --------
    >>> from rplsim import load_scenario, load_targets
    >>> res = fit(load_scenario("scenarios/paper.toml"), load_targets("scenarios/targets/han2025.toml"),
    ...           ["cohort.ivf_share"], replicates=5, budget=6)
    >>> list(res.parameters.columns), int(res.residuals.worse.sum()) >= 0
    (['key', 'start', 'fitted', 'se', 'se_conditional', 'low', 'high', 'flat'], True)
    """

    scenario: Scenario
    parameters: pd.DataFrame
    residuals: pd.DataFrame
    correlation: pd.DataFrame
    objective_before: float
    objective_after: float
    method: str
    evaluations: int
    seconds: float
    targets: TargetSet

    def to_frame(self) -> pd.DataFrame:
        """The fitted parameters."""
        return self.parameters

    def _display_title(self) -> str:
        return f"Fit of {self.scenario.name} to {self.targets.name} ({len(self.residuals)} targets)"

    def _display_rows(self) -> list[tuple[str, str]]:
        rows = [("sum z^2", f"{self.objective_before:,.1f} -> {self.objective_after:,.1f}")]
        for r in self.parameters.itertuples():
            se = _se_text(r.se, r.se_conditional) + (", flat" if r.flat else "")
            rows.append((str(r.key), f"{r.start:.4g} -> {r.fitted:.4g} ({se})"))
        rows.append(("method", f"{self.method}, {self.evaluations} evaluations, {self.seconds:.1f} s"))
        return rows


def fit(
    scenario: Scenario,
    targets: TargetSet,
    free: Sequence[str] | None = None,
    *,
    bounds: dict[str, tuple[float, float]] | None = None,
    method: str = "nelder-mead",
    replicates: int = 40,
    budget: int = 400,
    budget_seconds: float = 240.0,
    seed: SeedLike = None,
    progress: Callable[[int, float], None] | None = None,
) -> FitResult:
    """Fit ``free`` keys of ``scenario`` to ``targets`` (module doc).

    Parameters
    ----------
    scenario : Scenario
    targets : TargetSet
        From :func:`rplsim.calibration.targets_file.load_targets`.
    free : sequence of str, optional
        Dotted keys (default the scenario's ``[fit]`` free keys, else :data:`DEFAULT_FREE`).
    bounds : dict, optional
        ``key -> (low, high)``; default the schema's range (a failed-cycles mean: 0 to
        ``protocol.ivf_failed_cycles_max``).
    method : {"nelder-mead", "differential-evolution"}
    replicates : int
        Simulated cohorts per evaluation.
    budget, budget_seconds
        Most evaluations, and seconds, of the search.
    seed : int, optional
        The common random numbers (default the scenario's seed).
    progress : callable, optional
        ``progress(evaluations, best objective)`` after each evaluation.

    Returns
    -------
    FitResult

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> from rplsim.calibration.targets_file import load_targets
    >>> res = fit(load_scenario("scenarios/paper.toml"), load_targets("scenarios/targets/han2025.toml"),
    ...           ["protocol.ivig_incomplete_share.known"], replicates=10, budget=15)
    >>> bool(res.objective_after <= res.objective_before)
    True
    """
    if method not in METHODS:
        raise InvalidArgumentError(f'method == "{method}", must be one of {", ".join(METHODS)}.')
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 5:
        raise InvalidArgumentError(
            f"replicates == {replicates!r}, must be an integer >= 5 (cohorts per evaluation)."
        )
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 2:
        raise InvalidArgumentError(f"budget == {budget!r}, must be an integer >= 2 (evaluations).")
    # a failed-cycles mean beyond the cap only piles the draws on the cap: search up to it
    cap = float(scenario.protocol.ivf_failed_cycles_max)
    implied: dict[str, tuple[float | None, float | None]] = {
        f"protocol.ivf_failed_cycles_mean.{e}": (0.0, cap) for e in ("known", "idiopathic")
    }
    section = scenario.fit.free if scenario.fit is not None and scenario.fit.free else None
    if not free and section:  # the scenario's [fit] (the CLI's --free replaces it)
        free = [f.key for f in section]
        implied.update({f.key: (f.low, f.high) for f in section if f.low is not None or f.high is not None})
    params = free_parameters(list(free or DEFAULT_FREE), {**implied, **(bounds or {})})
    base = scenario.to_dict()
    seed = scenario.seed if seed is None else seed
    t0 = time.perf_counter()
    lo = np.array([p.low for p in params])
    hi = np.array([p.high for p in params])
    start = np.array([float(_get(base, p.key)) for p in params])
    calls = [0]
    best = [math.inf]

    def scenario_at(x: np.ndarray) -> Scenario:
        data = copy.deepcopy(base)
        for p, v in zip(params, x, strict=True):
            _set(data, p.key, float(v))
        return scenario_from_dict(data, label="fit", path=getattr(scenario, "_path", ""))

    def table_at(x: np.ndarray) -> pd.DataFrame:
        return evaluate_targets(scenario_at(x), targets, replicates=replicates, seed=seed)

    def objective(x: np.ndarray) -> float:
        calls[0] += 1
        try:
            z = table_at(np.clip(x, lo, hi))["z"].to_numpy(float)
        except ScenarioError:  # a point a rule of the scenario refuses (shares that must sum to 1)
            return INVALID
        value = float(np.sum(np.minimum(z**2, 1e6)))  # a target no parameter reaches stays finite
        best[0] = min(best[0], value)
        if progress is not None:
            progress(calls[0], best[0])
        return value

    def timed_out() -> bool:
        return time.perf_counter() - t0 > budget_seconds or calls[0] >= budget

    before = objective(start)
    if method == "nelder-mead":
        # Nelder-Mead, restarted from its answer with a fresh simplex while the budget lasts: a
        # simplex collapses on a plateau of the step-wise objective, and a restart leaves it
        x_hat, f_hat = start, before
        for _ in range(1 + RESTARTS):
            if timed_out():
                break
            try:
                res = optimize.minimize(
                    objective, x_hat, method="Nelder-Mead", bounds=list(zip(lo, hi, strict=True)),
                    callback=lambda _xk: timed_out() and _stop(),
                    options={"maxfev": max(1, budget - calls[0]), "xatol": 1e-3 * float(np.min(hi - lo)),
                             "fatol": 1e-2, "initial_simplex": _simplex(x_hat, lo, hi)},
                )  # fmt: skip
            except StopIteration:
                break
            if res.fun >= f_hat - 1e-2:
                if res.fun < f_hat:
                    x_hat, f_hat = np.clip(np.asarray(res.x, float), lo, hi), float(res.fun)
                break
            x_hat, f_hat = np.clip(np.asarray(res.x, float), lo, hi), float(res.fun)
    else:
        res = optimize.differential_evolution(
            objective, list(zip(lo, hi, strict=True)), maxiter=max(1, budget // (15 * len(params)) - 1),
            seed=0, polish=False, x0=start, callback=lambda *a, **k: timed_out(), tol=1e-3,
        )  # fmt: skip
        x_hat = np.asarray(res.x, float)
    after_value = objective(x_hat)
    if after_value > before:  # the search may end worse than its start: keep the start
        x_hat, after_value = start, before
    # the fit reads R simulated cohorts, whose own noise adds 1/R of the targets' variance
    se, se_cond, flat, corr = _profile(
        objective, x_hat, after_value, lo, hi, inflate=math.sqrt(1 + 1 / replicates)
    )
    fitted = scenario_at(x_hat)
    t_before, t_after = table_at(start), table_at(x_hat)
    return FitResult(
        scenario=fitted,
        parameters=pd.DataFrame(
            {
                "key": [p.key for p in params],
                "start": start,
                "fitted": x_hat,
                "se": se,
                "se_conditional": se_cond,
                "low": lo,
                "high": hi,
                "flat": flat,
            }
        ),
        residuals=_residuals(t_before, t_after),
        correlation=pd.DataFrame(corr, index=[p.key for p in params], columns=[p.key for p in params]),
        objective_before=before,
        objective_after=after_value,
        method=method,
        evaluations=calls[0],
        seconds=time.perf_counter() - t0,
        targets=targets,
    )


def _stop() -> bool:
    raise StopIteration


def _simplex(x0: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Nelder-Mead's first simplex: from the start, a quarter of each range along its axis,
    towards the farther bound (so a start at a bound still explores its range)."""
    step = 0.25 * (hi - lo) * np.where(hi - x0 >= x0 - lo, 1.0, -1.0)
    out: np.ndarray = np.vstack([x0, x0 + np.diag(step)])
    return out


Z99 = 2.5758293035489
#: The profile's step: from a tenth of the range, halved (at most _SHRINKS times) until the
#: objective climbs no more than _RISE over it (3 SEs).
_RISE = 9.0
_SHRINKS = 6
#: The objective of a point the scenario's rules refuse: worse than any valid point's.
INVALID = 1e12


def _profile(
    objective: Callable[[np.ndarray], float],
    x: np.ndarray,
    f0: float,
    lo: np.ndarray,
    hi: np.ndarray,
    inflate: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The SEs from the curvature of the objective at ``x`` (module doc, **Uncertainty**).

    Returns ``(se, se_conditional, flat, correlation)``, the SEs times ``inflate``. The
    diagonal of the Hessian comes from a three-point profile along each axis (the parabola
    through ``x - h, x, x + h``; at a bound through ``x`` and two points inward); each
    off-diagonal term from one more point, ``f(x + a + b) - f(x + a) - f(x + b) + f(x)`` over
    the two steps (exact for a quadratic; a pair whose joint step the scenario refuses gets no
    cross term). ``se_conditional`` is ``sqrt(2 / H_ii)``, the others held fixed; ``se`` is the
    marginal ``sqrt(diag(2 H^-1))`` over the parameters that are not flat, given the flat ones
    at their fitted values. A parameter is flat when its profile meets a point the scenario
    refuses, has no positive curvature, or gives an SE of more than half its range; all are,
    with no marginal SE, when the Hessian of the others is not positive definite (a ridge).

    Examples
    --------
    >>> cov = np.array([[0.01, 0.006], [0.006, 0.04]])  # SEs 0.1 and 0.2, correlation 0.3
    >>> quad = lambda v: float((v - 0.5) @ np.linalg.inv(cov) @ (v - 0.5))  # sum z^2, at 0.5
    >>> se, se_cond, flat, corr = _profile(quad, np.array([0.5, 0.5]), 0.0, np.zeros(2), np.full(2, 2.0))
    >>> se.round(6).tolist(), round(float(corr[0, 1]), 6), flat.tolist()
    ([0.1, 0.2], 0.3, [False, False])
    """
    k = x.size
    se_cond = np.full(k, math.nan)
    step = np.zeros(k)  # the signed step whose point f(x + step_i e_i) is known
    f_step = np.zeros(k)
    hess = np.zeros((k, k))
    refused = np.zeros(k, bool)
    for i in range(k):
        h = 0.1 * (hi[i] - lo[i])
        for _ in range(_SHRINKS + 1):
            if x[i] - h < lo[i]:
                u = np.array([x[i], x[i] + h, x[i] + 2 * h])
            elif x[i] + h > hi[i]:
                u = np.array([x[i] - 2 * h, x[i] - h, x[i]])
            else:
                u = np.array([x[i] - h, x[i], x[i] + h])
            f = []
            for t in u:
                xt = x.copy()
                xt[i] = min(max(t, lo[i]), hi[i])
                f.append(f0 if xt[i] == x[i] else objective(xt))
            # a step that climbs more than 3 SEs (9 on the sum z^2 scale) measures the far
            # walls, not the curvature at the fit: halve it
            if max(f) - f0 <= _RISE:
                break
            h /= 2
        # a point the scenario refuses is a wall of its rules, not the targets' curvature
        refused[i] = max(f) >= INVALID
        if refused[i]:
            continue
        hess[i, i] = 2 * float(np.polyfit(u - x[i], np.array(f), 2)[0])
        j = int(np.argmax(np.abs(u - x[i])))  # a point away from x (inward at a bound)
        step[i], f_step[i] = u[j] - x[i], f[j]
        if hess[i, i] > 0:
            se_cond[i] = inflate * math.sqrt(2 / hess[i, i])
    flat = refused | ~(hess.diagonal() > 0) | ~(se_cond <= 0.5 * (hi - lo))
    for i in range(k):
        for j in range(i + 1, k):
            if flat[i] or flat[j]:
                continue
            xt = x.copy()
            xt[i] += step[i]
            xt[j] += step[j]
            f_ij = objective(np.clip(xt, lo, hi))
            if f_ij < INVALID:
                hess[i, j] = hess[j, i] = (f_ij - f_step[i] - f_step[j] + f0) / (step[i] * step[j])
    se = np.full(k, math.nan)
    corr = np.full((k, k), math.nan)
    keep = np.flatnonzero(~flat)
    if keep.size:
        sub = hess[np.ix_(keep, keep)]
        ev = np.linalg.eigvalsh(sub)
        if ev.min() > 1e-9 * ev.max():  # positive definite beyond round-off
            cov = 2 * np.linalg.inv(sub)
            sd = np.sqrt(np.diag(cov))
            se[keep] = inflate * sd
            corr[np.ix_(keep, keep)] = cov / np.outer(sd, sd)
        else:
            # curvature along every axis but not jointly: the targets pin a combination of
            # the parameters, not each one (a ridge)
            flat[keep] = True
    flat |= ~(se <= 0.5 * (hi - lo))
    return se, se_cond, flat, corr


def _se_text(se: float, se_conditional: float) -> str:
    """The marginal SE, else (a flat key) the SE along its own axis, else none."""
    if se == se:
        return f"SE {se:.3g}"
    return f"SE {se_conditional:.3g} along its axis" if se_conditional == se_conditional else "no SE"


def _residuals(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    out = before[["target", "source", "value", "n"]].copy()
    out["before"], out["z_before"] = before["simulated"], before["z"]
    out["after"], out["z_after"] = after["simulated"], after["z"]
    out["within_before"] = before["z"].abs() <= Z99
    out["within_after"] = after["z"].abs() <= Z99
    out["worse"] = out["within_before"] & ~out["within_after"]
    return out


def fitted_toml(result: FitResult, targets_label: str, today: dt.date | None = None) -> str:
    """The fitted scenario as TOML (every value resolved, so it runs from wherever it is written),
    each fitted key with a comment: ``fitted to TARGETS on DATE, SE ..., residual z = ...``."""
    day = (today or dt.date.today()).isoformat()
    sc = result.scenario
    data = sc.to_dict()
    # its own name, so that `rplsim run fitted.toml` writes beside the original's results
    data["scenario"]["name"] = f"{sc.name}_fitted"
    text = dumps_toml(data)
    worst = result.residuals.reindex(result.residuals["z_after"].abs().sort_values(ascending=False).index)
    top = ", ".join(f"{r.target} {r.z_after:+.2f}" for r in worst.head(3).itertuples())
    notes: dict[tuple[str, str], list[str]] = {}
    for r in result.parameters.itertuples():
        parts = str(r.key).split(".")
        # an inline table's key carries the comment for all of its fitted fields
        for depth in range(len(parts) - 1, 0, -1):
            section, leaf = ".".join(parts[:depth]), parts[depth]
            if f"[{section}]" in text or depth == 1:
                break
        se = _se_text(r.se, r.se_conditional)
        se += ", flat: the targets do not pin it" if r.flat else ""
        notes.setdefault((section, leaf), []).append(f"{parts[-1]} {format_value(float(r.fitted))} ({se})")
    lines, current = [], ""
    for line in text.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        key = line.split("=", 1)[0].strip() if "=" in line else ""
        if (current, key) in notes:
            line += f"  # fitted to {targets_label} on {day}: {'; '.join(notes[(current, key)])}"
        lines.append(line)
    head = (
        f"# Fitted by rplsim fit to {targets_label} on {day}: sum z^2 {result.objective_before:,.1f} -> "
        f"{result.objective_after:,.1f} over {len(result.residuals)} targets ({result.method}, "
        f"{result.evaluations} evaluations); largest residual z: {top}.\n"
    )
    return head + "\n".join(lines) + "\n"
