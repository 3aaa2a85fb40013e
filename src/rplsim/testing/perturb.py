"""How the scenario strategies perturb a base scenario: the schema's leaves, moved within their rules.

The cross-field rules are respected by construction (shares renormalised, ranges sorted) and, for
what only the calibration solvers know, by shrinking the perturbation towards the base until it is
feasible (:func:`_attempt`), so draws are never rejected. Private: the public strategies are in
:mod:`rplsim.testing.strategies`.
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from scipy import special

from rplsim._core.keys import get_dotted
from rplsim.cohort.distributions import truncnorm_for_moments
from rplsim.cohort.generate import cohort_model
from rplsim.exceptions import CalibrationWarning, ConvergenceError, ScenarioError
from rplsim.outcome.model import outcome_model
from rplsim.scenario import CohortParams, Scenario, ScenarioMeta, load_scenario, scenario_from_dict
from rplsim.scenario.schema import ParamInfo, iter_params

__all__: list[str] = []

# Tables whose values are shares that must sum to 1 (renormalised after the perturbation).
_SHARES = frozenset({"cohort.strata", "cohort.known_causes"})
# Moments of integer variables: their min and max must stay integers (rplsim.cohort counts).
_COUNT_MOMENTS = ("cohort.previous_miscarriages.", "cohort.parity.")
_MOMENT_KEYS = frozenset({"mean", "sd", "min", "max"})
# Ordering rules of the min <= max tables: a key is raised to each of these.
_CEILINGS: tuple[tuple[str, str], ...] = (  # (upper, lower), applied in this order
    ("outcome.miscarriage_week.min", "protocol.confirmation_week.max"),
    ("protocol.confirmation_week.max", "protocol.confirmation_week.min"),
)
_FLOORS: dict[str, tuple[str, ...]] = {
    "protocol.ivig_interval.max": ("protocol.ivig_interval.min",),
    "protocol.confirmation_week.max": ("protocol.confirmation_week.min",),
    "protocol.first_dose_delay.max": ("protocol.first_dose_delay.min",),
    "outcome.stillbirth_week.max": ("outcome.stillbirth_week.min",),
    "outcome.chemical_week.max": ("outcome.chemical_week.min",),
}
# Each halving of the perturbation is tried in turn; after the last one the base is used.
_SHRINKS = 6
# The cytotoxicity markers are drawn by rejection (rplsim.cohort): each side of the rule must
# have at least this probability, or 500 rounds may not be enough for a block of 8192 women.
_MIN_RULE_PROB = 0.05
_NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,15}", fullmatch=True)

_INFO: dict[str, ParamInfo] = {p.path: p for p in iter_params(Scenario)}


def _as_scenario(base: Scenario | CohortParams | str | os.PathLike[str] | None) -> Scenario:
    if base is None:
        return scenario_from_dict({"scenario": {"name": "default"}}, "<defaults>")
    if isinstance(base, Scenario):
        return base
    if isinstance(base, CohortParams):
        return Scenario(scenario=ScenarioMeta(name="cohort"), cohort=base)
    if isinstance(base, (str, os.PathLike)):
        return load_scenario(Path(base))
    raise InvalidArgument(
        f"base is a {type(base).__name__}, must be a Scenario, CohortParams, "
        "the path of a .toml scenario, or None (the schema defaults)."
    )


def _check_rel(max_rel_change: float) -> float:
    if (
        isinstance(max_rel_change, bool)
        or not isinstance(max_rel_change, (int, float))
        or not 0 <= max_rel_change < 1
    ):
        raise InvalidArgument(f"max_rel_change == {max_rel_change!r}, must be in [0, 1).")
    return float(max_rel_change)


def _is_int(info: ParamInfo | None, path: str) -> bool:
    if path.startswith(_COUNT_MOMENTS) and path.rsplit(".", 1)[-1] in ("min", "max"):
        return True
    # the items of a list of integers (prior counts = [x, n]) stay integers too
    return info is not None and info.type.startswith(("integer", "list of integer"))


def _move(
    v: float, u: float, m: float, info: ParamInfo | None, integer: bool, anchor: float | None = None
) -> float:
    """``v`` moved by ``u * m`` (u in [-1, 1]) of its distance from the key's lower bound.

    The distance is measured from the lower bound when it is positive (a gsd > 1, a power
    > 0.5) and from 0 otherwise, so the change is at most ``m * |v|`` and never crosses an
    open lower bound; the result is then clipped into the key's range.
    """
    lo = info.lo if info is not None else None
    hi = info.hi if info is not None else None
    if anchor is None:
        anchor = lo if lo is not None and lo > 0 else 0.0
    span = m * abs(v - anchor)
    x = v + u * m * (v - anchor)
    if integer:
        x = min(max(round(x), math.ceil(v - span)), math.floor(v + span))
    if lo is not None and (x < lo or (info.lo_open and x <= lo)):  # type: ignore[union-attr]
        x = (v + lo) / 2 if info.lo_open else lo  # type: ignore[union-attr]
    if hi is not None and (x > hi or (info.hi_open and x >= hi)):  # type: ignore[union-attr]
        x = (v + hi) / 2 if info.hi_open else hi  # type: ignore[union-attr]
    if integer:
        return float(round(x)) if isinstance(v, float) else round(x)
    return float(x)


def _moments_ok(m: dict[str, float], path: str, base: dict[str, float]) -> bool:
    if not (m["min"] < m["mean"] < m["max"] and 0 < m["sd"] < (m["max"] - m["min"]) / 2):
        return False
    if path.startswith(_COUNT_MOMENTS):
        return True  # the max-entropy pmf meets any mean inside the support

    # A truncated normal with mean t and SD s (both in units of the range, t from the nearer
    # end) exists below the truncated-exponential limit s ~ t for small t and 1/sqrt(12) at
    # t = 1/2; staying inside 0.7 t and 0.22 (or the base's own ratios, if it is nearer the
    # edge) keeps the moment solver well conditioned. The solver itself is run by _feasible.
    def ratios(x: dict[str, float]) -> tuple[float, float]:
        w = x["max"] - x["min"]
        t = min(x["mean"] - x["min"], x["max"] - x["mean"]) / w
        return x["sd"] / w / t, x["sd"] / w

    r, s = ratios(m)
    r0, s0 = ratios(base)
    return r < max(0.7, r0 * 1.0001) and s < max(0.22, s0 * 1.0001)


def _leaves(d: Mapping[str, Any], prefix: str, sections: frozenset[str]) -> Iterable[tuple[str, str]]:
    """(path, kind) of every perturbable value: "num", "choice", "shares" or "moments"."""
    for k, v in d.items():
        path = f"{prefix}{k}"
        if (not prefix and k not in sections) or path.startswith("scenario"):
            continue
        if isinstance(v, Mapping):
            if path in _SHARES:
                yield path, "shares"
            elif set(v) == _MOMENT_KEYS:
                yield path, "moments"
            else:
                yield from _leaves(v, path + ".", sections)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                if isinstance(x, (int, float)) and not isinstance(x, bool):
                    yield f"{path}[{i}]", "num"
        elif isinstance(v, bool):
            continue
        elif isinstance(v, (int, float)):
            if (
                path == "outcome.adherence"
                and "untreated_abnormal_lbr" not in d
                and "ivig_odds_ratio" not in d
            ):
                continue  # adherence < 1 would need an untreated effect the base does not state
            yield path, "num"
        elif isinstance(v, str) and path in _INFO and _INFO[path].choices:
            yield path, "choice"


def _get(d: dict[str, Any], path: str) -> tuple[Any, Any]:
    """(container, key) of a dotted path with optional ``[i]`` list index at the end."""
    parent, _, last = path.rpartition(".")
    node: Any = get_dotted(d, parent) if parent else d
    if last.endswith("]"):
        name, idx = last[:-1].split("[")
        return node[name], int(idx)
    return node, last


def _info(path: str) -> ParamInfo | None:
    return _INFO.get(path.split("[", 1)[0])


def _realise(base: dict[str, Any], plan: dict[str, Any], m: float) -> dict[str, Any]:
    """The base dict with every planned perturbation applied at relative size ``m``."""
    d = copy.deepcopy(base)
    moments = []
    for path, (kind, draw) in plan.items():
        node, key = _get(d, path)
        if kind == "num":
            info = _info(path)
            node[key] = _move(node[key], draw, m, info, _is_int(info, path))
        elif kind == "choice":
            node[key] = draw
        elif kind == "shares":
            if m > 0:  # (renormalising unchanged shares would still move them by an ulp)
                delta = m / (2 + m)  # so that each renormalised share moves by at most m
                raw = {k: v * (1 + u * delta) for (k, v), u in zip(node[key].items(), draw, strict=True)}
                total = sum(raw.values())
                node[key] = {k: v / total for k, v in raw.items()}
        else:
            moments.append((path, draw))
    for path, (kind, _) in plan.items():  # in declaration order: a table's min before its max
        if kind == "num":
            node, key = _get(d, path)
            node[key] = _floor(d, path, node[key])
    # Moments last, each pulled back alone towards its base until its distribution exists.
    for path, draw in moments:
        node, key = _get(d, path)
        old = node[key]
        for k in range(_SHRINKS + 1):
            mk = m / 2**k if k < _SHRINKS else 0.0
            new = {}
            for (name, v), u in zip(old.items(), draw, strict=True):
                p = f"{path}.{name}"
                # A mean moves relative to its distance from the range's lower end: 20 % of
                # 3.18 losses would move it by 0.64 on a range starting at 2.
                anchor = max(old["min"], 0.0) if name == "mean" else None
                new[name] = _move(v, u, mk, _INFO.get(p), _is_int(_INFO.get(p), p), anchor)
            if new["min"] > new["max"]:  # sorting keeps both within m of their bases
                new["min"], new["max"] = new["max"], new["min"]
            if _moments_ok(new, path, old):
                break
        node[key] = new
    # Scenario._rules: confirmation before the earliest miscarriage. Lowering the confirmation
    # week (not raising the miscarriage range) keeps the delicate week distribution intact.
    for upper, lower in _CEILINGS:
        try:
            node, key = _get(d, lower)
            top_node, top_key = _get(d, upper)
        except (KeyError, TypeError):
            continue
        node[key] = min(node[key], top_node[top_key])
    trial = d.get("trial")
    if trial is not None:
        if not _whole_block(trial.get("block_size", 0), trial.get("allocation_ratio", 1.0)):
            trial["allocation_ratio"] = base["trial"].get("allocation_ratio", 1.0)
        if trial.get("design") == "non-inferiority":
            trial["alternative"] = "larger"
            trial.setdefault("margin", 0.1)
        else:
            trial.pop("margin", None)
        if not _can_succeed(trial):  # Scenario rule: the effect points where the test looks
            for name in ("control_lbr", "treatment_lbr", "alternative", "margin"):
                if name in base["trial"]:
                    trial[name] = base["trial"][name]
    # OutcomeParams rule (Section 2.2): miscarriages end before 20 weeks, stillbirths from 20.
    out = d.get("outcome", {})
    mw, sw = out.get("miscarriage_week"), out.get("stillbirth_week")
    if isinstance(mw, dict) and mw.get("max", 0) >= 20:
        mw["max"] = base["outcome"]["miscarriage_week"]["max"]
    if isinstance(sw, dict) and sw.get("min", 20) < 20:
        sw["min"] = 20.0
        sw["max"] = max(sw.get("max", 20.0), 20.0)
    return d


def _can_succeed(trial: dict[str, Any]) -> bool:
    """The trial rules of :class:`~rplsim.scenario.Scenario`: power can reach its target."""
    pc, pt, ratio = trial.get("control_lbr"), trial.get("treatment_lbr"), trial.get("ivig_odds_ratio")
    if trial.get("design") == "non-inferiority":
        margin = trial.get("margin") or 0.0
        return bool(pc is None or (margin < pc and (pt is None or pt > pc - margin)))
    up = trial.get("alternative", "two-sided") != "smaller"
    if pt is not None and pc is not None:
        return bool(pt != pc and (pt > pc) == up)
    return bool(ratio is None or (ratio != 1 and (ratio > 1) == up))


def _whole_block(block: int, ratio: float) -> bool:
    """TrialParams rule: a permuted block holds a whole number of treated women."""
    treated = block * ratio / (1 + ratio)
    return block == 0 or abs(treated - round(treated)) < 1e-9


def _floor(d: dict[str, Any], path: str, value: Any) -> Any:
    """``value`` raised to every key it must not be below (a base meeting the rule keeps the
    result within ``max_rel_change`` of it)."""
    for lower in _FLOORS.get(path, ()):
        try:
            node, key = _get(d, lower)
            value = max(value, node[key])
        except (KeyError, TypeError):
            continue
    return value


def _cytotoxicity_ok(imm: Any) -> bool:
    ln = [imm.cytotoxicity_50, imm.cytotoxicity_25, imm.cytotoxicity_12_5]
    rho = imm.cytotoxicity_correlation
    chol = np.linalg.cholesky(np.full((3, 3), rho) + (1 - rho) * np.eye(3))
    z = np.random.default_rng(0).standard_normal((4000, 3)) @ chol.T
    # the generator's law: logit-normal percentages (rplsim.cohort.generate)
    logit_c = special.logit(np.array([x.median for x in ln]) / 100) + np.log([x.gsd for x in ln]) * z
    above = logit_c > special.logit(
        np.array([imm.cytotoxicity_50_cutoff, imm.cytotoxicity_25_cutoff, imm.cytotoxicity_12_5_cutoff]) / 100
    )
    high = {"any": above.any(axis=1), "all": above.all(axis=1), "majority": above.sum(axis=1) >= 2}.get(
        imm.cytotoxicity_rule, above[:, 0]
    )
    p = float(high.mean())
    return min(p, 1 - p) >= _MIN_RULE_PROB


def _feasible(sc: Scenario, outcome: bool) -> bool:
    """True when the calibration solvers accept the scenario (cohort, and outcome if asked)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)
        try:
            cohort_model(sc.cohort)
            if not _cytotoxicity_ok(sc.cohort.immune):
                return False
            for w in (sc.outcome.miscarriage_week, sc.outcome.live_birth_week):
                truncnorm_for_moments(float(w.mean), float(w.sd), float(w.min), float(w.max))
            if outcome:
                outcome_model(sc)
        except (ValueError, ConvergenceError):  # CalibrationError, ScenarioError, and a
            return False  # brentq bracket failure in discrete_maxent
    return True


def _attempt(
    base: dict[str, Any], plan: dict[str, Any], m: float, feasible: bool | str
) -> tuple[Scenario, int]:
    """The first valid (and feasible) scenario on the way from the full perturbation to the base.

    Returns the scenario and how many halvings it took (``_SHRINKS`` = the base itself).
    """
    for k in range(_SHRINKS + 1):
        mk = m / 2**k if k < _SHRINKS else 0.0
        d = _realise(base, plan if k < _SHRINKS else {}, mk)
        try:
            sc = scenario_from_dict(d, "<scenarios()>")
        except ScenarioError:
            if k == _SHRINKS:
                raise
            continue
        if not feasible or k == _SHRINKS or _feasible(sc, feasible == "outcome"):
            return sc, k
    raise AssertionError("unreachable")  # pragma: no cover


def _plan_strategy(base: dict[str, Any], sections: frozenset[str]) -> st.SearchStrategy[dict[str, Any]]:
    unit = st.floats(-1.0, 1.0, allow_nan=False)
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for path, kind in _leaves(base, "", sections):
        if kind == "num":
            parts[path] = st.tuples(st.just(kind), unit)
        elif kind == "choice":
            node, key = _get(base, path)
            info = _INFO[path]
            options = (node[key], *(c for c in info.choices or () if c != node[key]))
            parts[path] = st.tuples(st.just(kind), st.sampled_from(options))
        else:
            node, key = _get(base, path)
            parts[path] = st.tuples(st.just(kind), st.tuples(*[unit] * len(node[key])))
    return st.fixed_dictionaries(parts)
