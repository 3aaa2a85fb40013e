"""Hypothesis strategies for rplsim scenarios, in the spirit of ``hypothesis.extra.numpy``.

Write property tests of your own analyses on scenarios *near* one you trust::

    from hypothesis import given
    from rplsim.testing.strategies import scenarios

    @given(scenarios("scenarios/paper.toml", sections=["cohort"]))
    def test_my_property(sc): ...

Every strategy is driven by the declarative schema (:func:`rplsim.schema.iter_params`): bounds,
open ends and choices come from the same ``param()`` declarations that validate files, so a new
key is perturbed without a change here. The cross-field rules are respected by construction
(shares renormalised, ranges sorted, the non-inferiority margin and alternative repaired) and,
for what only the calibration solvers know, by shrinking the perturbation towards the base
until it is feasible, so draws are never rejected. See ``docs/strategies.md``.
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

from rplsim.cohort.generate import cohort_model
from rplsim.cohort.distributions import truncnorm_for_moments
from rplsim.exceptions import CalibrationWarning, ConvergenceError, ScenarioError
from rplsim.scenario import CohortParams, Scenario, ScenarioMeta, TrialParams, load_scenario, scenario_from_dict
from rplsim.scenario.schema import ParamInfo, iter_params
from rplsim.scenario.tomlio import dumps_toml

try:  # the outcome stage is optional for the cohort-only strategies
    from rplsim.outcome.model import outcome_model as _outcome_model
except ImportError:  # pragma: no cover
    _outcome_model = None

__all__ = ["cohort_params", "invalid_scenarios", "scenarios", "seeds", "trial_designs"]

SEED_MAX = 2**63 - 1
SECTIONS: tuple[str, ...] = ("scenario", "cohort", "outcome", "protocol", "clinic", "trial",
                             "recruitment", "sensitivity")
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


# ----------------------------------------------------------------------------- helpers
def seeds() -> st.SearchStrategy[int]:
    """Root seeds: integers in ``[0, 2**63 - 1]``, the range ``scenario.seed`` allows.

    Returns
    -------
    SearchStrategy of int
    """
    return st.integers(min_value=0, max_value=SEED_MAX)


def _as_scenario(base: Scenario | CohortParams | str | os.PathLike[str] | None) -> Scenario:
    if base is None:
        return scenario_from_dict({"scenario": {"name": "default"}}, "<defaults>")
    if isinstance(base, Scenario):
        return base
    if isinstance(base, CohortParams):
        return Scenario(scenario=ScenarioMeta(name="cohort"), cohort=base)
    if isinstance(base, (str, os.PathLike)):
        return load_scenario(Path(base))
    raise InvalidArgument(f"base is a {type(base).__name__}, must be a Scenario, CohortParams, "
                          "the path of a .toml scenario, or None (the schema defaults).")


def _check_rel(max_rel_change: float) -> float:
    if isinstance(max_rel_change, bool) or not isinstance(max_rel_change, (int, float)) \
            or not 0 <= max_rel_change < 1:
        raise InvalidArgument(f"max_rel_change == {max_rel_change!r}, must be in [0, 1).")
    return float(max_rel_change)


def _is_int(info: ParamInfo | None, path: str) -> bool:
    if path.startswith(_COUNT_MOMENTS) and path.rsplit(".", 1)[-1] in ("min", "max"):
        return True
    return info is not None and info.type.startswith("integer")


def _move(v: float, u: float, m: float, info: ParamInfo | None, integer: bool,
          anchor: float | None = None) -> float:
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
            if path == "outcome.adherence" and "untreated_abnormal_lbr" not in d \
                    and "ivig_odds_ratio" not in d:
                continue  # adherence < 1 would need an untreated effect the base does not state
            yield path, "num"
        elif isinstance(v, str) and path in _INFO and _INFO[path].choices:
            yield path, "choice"


def _get(d: dict[str, Any], path: str) -> tuple[Any, Any]:
    """(container, key) of a dotted path with optional ``[i]`` list index at the end."""
    *parents, last = path.split(".")
    node: Any = d
    for p in parents:
        node = node[p]
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
                raw = {k: v * (1 + u * delta)
                       for (k, v), u in zip(node[key].items(), draw, strict=True)}
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
    # OutcomeParams rule (Section 2.2): miscarriages end before 20 weeks, stillbirths from 20.
    out = d.get("outcome", {})
    mw, sw = out.get("miscarriage_week"), out.get("stillbirth_week")
    if isinstance(mw, dict) and mw.get("max", 0) >= 20:
        mw["max"] = base["outcome"]["miscarriage_week"]["max"]
    if isinstance(sw, dict) and sw.get("min", 20) < 20:
        sw["min"] = 20.0
        sw["max"] = max(sw.get("max", 20.0), 20.0)
    return d


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
    logc = np.log([x.median for x in ln]) + np.log([x.gsd for x in ln]) * z
    above = logc > np.log([imm.cytotoxicity_50_cutoff, imm.cytotoxicity_25_cutoff,
                           imm.cytotoxicity_12_5_cutoff])
    high = {"any": above.any(axis=1), "all": above.all(axis=1),
            "majority": above.sum(axis=1) >= 2}.get(imm.cytotoxicity_rule, above[:, 0])
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
            if outcome and _outcome_model is not None:
                _outcome_model(sc)
        except (ValueError, ConvergenceError):  # CalibrationError, ScenarioError, and a
            return False                        # brentq bracket failure in discrete_maxent
    return True


def _attempt(base: dict[str, Any], plan: dict[str, Any], m: float, feasible: bool | str
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


def _plan_strategy(base: dict[str, Any], sections: frozenset[str]) -> st.SearchStrategy[dict]:
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


# ----------------------------------------------------------------------------- trials
@st.composite
def _trial_dicts(draw: st.DrawFn, designs: tuple[str, ...]) -> dict[str, Any]:
    design = draw(st.sampled_from(designs))
    control = draw(st.floats(0.3, 0.85))
    d: dict[str, Any] = {
        "population": draw(st.sampled_from(_INFO["trial.population"].choices or ())),
        "min_previous_miscarriages": draw(st.integers(2, 4)),
        "control_lbr": control,
        "design": design,
        "analysis": draw(st.sampled_from(_INFO["trial.analysis"].choices or ())),
        "alpha": draw(st.sampled_from([0.05, 0.025, 0.01, 0.1]) | st.floats(0.005, 0.2)),
        "power": draw(st.floats(0.7, 0.95)),
        "allocation_ratio": draw(st.sampled_from([1.0, 2.0, 0.5]) | st.floats(0.5, 3.0)),
        "dropout": draw(st.floats(0.0, 0.3)),
        "looks": draw(st.integers(1, 5)),
        "boundary": draw(st.sampled_from(_INFO["trial.boundary"].choices or ())),
        "replicates": draw(st.integers(100, 10_000)),
    }
    d["block_size"] = draw(st.sampled_from(
        [b for b in range(0, 13) if _whole_block(b, d["allocation_ratio"])]))
    by_rate = draw(st.booleans())
    if design == "superiority":
        d["alternative"] = draw(st.sampled_from(["two-sided", "larger"]))
        if by_rate:
            d["treatment_lbr"] = control + draw(st.floats(0.05, min(0.3, 0.97 - control)))
        else:
            d["ivig_odds_ratio"] = draw(st.floats(1.2, 5.0))
    else:
        d["alternative"] = "larger"
        d["margin"] = draw(st.floats(0.05, 0.2))
        if by_rate:
            d["treatment_lbr"] = control + draw(st.floats(-0.05, min(0.1, 0.97 - control)))
        else:
            d["ivig_odds_ratio"] = draw(st.floats(0.8, 2.0))
    if draw(st.booleans()):
        d["n_per_arm"] = draw(st.integers(20, 500))
    return d


def trial_designs(
    *, designs: Iterable[str] = ("superiority", "non-inferiority")
) -> st.SearchStrategy[TrialParams]:
    """Valid ``[trial]`` sections (:class:`~rplsim.scenario.TrialParams`) in sensible ranges.

    Parameters
    ----------
    designs : iterable of str
        The designs to draw from: "superiority" and/or "non-inferiority".

    Returns
    -------
    SearchStrategy of TrialParams
        ``control_lbr`` in [0.3, 0.85]; exactly one of ``treatment_lbr`` (superiority: control
        + [0.05, 0.3], capped at 0.97; non-inferiority: control + [-0.05, 0.1]) or
        ``ivig_odds_ratio`` ([1.2, 5] resp. [0.8, 2]); ``alpha`` a usual level or in
        [0.005, 0.2]; ``power`` in [0.7, 0.95]; a margin in [0.05, 0.2] and alternative
        "larger" exactly for non-inferiority; ``looks`` 1-5, ``dropout`` [0, 0.3],
        ``allocation_ratio`` [0.5, 3], ``replicates`` 100-10 000, ``n_per_arm`` absent or
        20-500; every choice key drawn from its choices.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(trial_designs(designs=["superiority"]))
    ... def test_positive_effect(trial):
    ...     assert trial.treatment_lbr is None or trial.treatment_lbr > trial.control_lbr
    """
    ds = tuple(designs)
    allowed = _INFO["trial.design"].choices or ()
    if not ds or any(x not in allowed for x in ds):
        raise InvalidArgument(f"designs == {ds!r}, must be a non-empty subset of {allowed!r}.")
    return _trial_dicts(ds).map(_build_trial)


def _build_trial(d: dict[str, Any]) -> TrialParams:
    trial = scenario_from_dict({"scenario": {"name": "trial"}, "trial": d}, "<trial_designs()>").trial
    assert trial is not None
    return trial


# ----------------------------------------------------------------------------- scenarios
@st.composite
def _scenarios(draw: st.DrawFn, base: dict[str, Any], sections: frozenset[str], m: float,
               names: st.SearchStrategy[str], feasible: bool | str) -> Scenario:
    base = copy.deepcopy(base)
    if "trial" in sections and "trial" not in base:
        base["trial"] = draw(_trial_dicts(("superiority", "non-inferiority")))
    if "scenario" in sections:
        base["scenario"]["seed"] = draw(seeds())
    base["scenario"]["name"] = draw(names)
    plan = draw(_plan_strategy(base, sections))
    return _attempt(base, plan, m, feasible)[0]


def scenarios(
    base: Scenario | str | os.PathLike[str] | None = None,
    *,
    sections: Iterable[str] | None = None,
    max_rel_change: float = 0.2,
    names: st.SearchStrategy[str] | None = None,
    feasible: bool | str = True,
) -> st.SearchStrategy[Scenario]:
    """Valid :class:`~rplsim.Scenario` objects near a base scenario.

    Every number of the chosen sections moves by at most ``max_rel_change`` of its base
    value (measured from the key's lower bound when that is positive, e.g. a gsd from 1) and
    is clipped into its allowed range; integers stay integers; each string key with choices
    is drawn from its choices (shrinking to the base's). Cross-field rules hold by
    construction: shares (``cohort.strata``, ``cohort.known_causes``) are renormalised (each
    moves by at most ``max_rel_change`` after it), min/max pairs are sorted, each
    mean/sd/min/max table is pulled back towards the base until its truncated normal exists,
    a non-inferiority trial gets alternative "larger" (and a margin of 0.1 if it had none), a
    superiority trial loses its margin, and ``outcome.adherence`` stays put unless the base
    states an untreated effect. Whole draws that the schema or (with ``feasible``) the
    calibration solvers reject are pulled back by halving every change, up to six times, then
    fall back to the base, so nothing is rejected and health checks pass.

    Parameters
    ----------
    base : Scenario, path of a .toml file, or None
        The scenario to perturb; ``None`` means the schema defaults (the paper's values).
    sections : iterable of str, optional
        Top-level sections to perturb, e.g. ``["cohort"]``; others are copied from the base.
        ``None`` means every section of the base. "scenario" draws a new seed; "trial" adds a
        :func:`trial_designs` trial when the base has none. The name is always drawn.
    max_rel_change : float
        Largest relative change of a value, in [0, 1). The default 0.2 keeps scenarios near
        the paper's feasible for the calibration solvers; larger values are pulled back more
        often (or, with ``feasible=False``, may raise ``CalibrationError`` downstream).
    names : SearchStrategy of str, optional
        Scenario names; default lowercase identifiers of 1-16 characters.
    feasible : bool or "outcome"
        True: also require that :func:`rplsim.cohort.cohort_model` (Table 1 moments, Figure 6
        shares), the cytotoxicity rejection sampler and the gestational-week distributions
        accept the scenario (about 0.05 s per draw); "outcome": the outcome model's intercepts
        too (about 0.5 s more per draw); False: the schema only (fast).

    Returns
    -------
    SearchStrategy of Scenario

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For a bad ``base``, ``sections`` or ``max_rel_change``.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(scenarios("scenarios/paper.toml", sections=["cohort"], max_rel_change=0.1))
    ... def test_n(sc):
    ...     assert 419 <= sc.cohort.n <= 513
    """
    m = _check_rel(max_rel_change)
    base_d = _as_scenario(base).to_dict()
    if sections is None:
        secs = frozenset(base_d)
    else:
        secs = frozenset([sections] if isinstance(sections, str) else sections)
        bad = sorted(secs - set(SECTIONS))
        if bad:
            raise InvalidArgument(f"sections == {sorted(secs)!r}: {bad} not sections; "
                                  f"choose from {SECTIONS!r}.")
    if names is None:
        names = _NAMES
    if feasible not in (True, False, "outcome"):
        raise InvalidArgument(f'feasible == {feasible!r}, must be True, False or "outcome".')
    return _scenarios(base_d, secs, m, names, feasible)


def cohort_params(
    base: Scenario | CohortParams | str | os.PathLike[str] | None = None,
    *,
    max_rel_change: float = 0.2,
    feasible: bool | str = True,
) -> st.SearchStrategy[CohortParams]:
    """Valid ``[cohort]`` sections (:class:`~rplsim.scenario.CohortParams`) near a base.

    Parameters
    ----------
    base : Scenario, CohortParams, path of a .toml file, or None
        Where to start; ``None`` means the paper's cohort (the schema defaults).
    max_rel_change, feasible
        As for :func:`scenarios`.

    Returns
    -------
    SearchStrategy of CohortParams
        Ready for ``rplsim.generate_cohort(params, n, seed)``.
    """
    sc = _as_scenario(base)
    return scenarios(sc, sections=["cohort"], max_rel_change=max_rel_change,
                     names=st.just("cohort"), feasible=feasible).map(lambda s: s.cohort)


# ----------------------------------------------------------------------------- invalid files
def _misspell(key: str, draw: st.DrawFn) -> str:
    how = draw(st.sampled_from(["double", "drop", "swap", "suffix", "case"]))
    i = draw(st.integers(0, max(len(key) - 1, 0)))
    if how == "double" or len(key) < 3:
        return key[: i + 1] + key[i:]
    if how == "drop":
        return key[:i] + key[i + 1:]
    if how == "swap":
        i = min(i, len(key) - 2)
        return key[:i] + key[i + 1] + key[i] + key[i + 2:]
    if how == "suffix":
        return key + "s"
    return key.swapcase()


def _tables(d: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.append(prefix + k)
            out.extend(_tables(v, f"{prefix}{k}."))
    return out


def _scalars(d: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.extend(_scalars(v, f"{prefix}{k}."))
        elif not isinstance(v, list) and f"{prefix}{k}" in _INFO:
            out.append(prefix + k)
    return out


_DEFAULT_TRIAL = {"control_lbr": 0.6, "treatment_lbr": 0.75}
_RULES: tuple[str, ...] = (
    "unknown-key", "wrong-type", "out-of-range", "non-finite", "shares-sum", "moments-mean",
    "min-above-max", "missing-required", "trial-both-effects", "trial-no-effect",
    "margin-without-non-inferiority", "non-inferiority-alternative", "adherence-untreated",
    "bad-choice", "syntax-error",
)


@st.composite
def _invalid(draw: st.DrawFn, base: dict[str, Any], rules: tuple[str, ...]) -> tuple[str, str, str]:
    d = copy.deepcopy(base)
    d["scenario"]["name"] = "invalid"
    rule = draw(st.sampled_from(rules))
    key = ""
    if rule == "unknown-key":
        table = draw(st.sampled_from(_tables(d)))
        node, last = _get(d, table)
        known = node[last]
        original = draw(st.sampled_from(sorted(known)))
        bad = _misspell(original, draw)
        if bad in known or not bad:
            bad = original + "_x"
        known[bad] = copy.deepcopy(known[original])
        key = f"{table}.{bad}"
    elif rule in ("wrong-type", "out-of-range", "non-finite", "bad-choice"):
        candidates = [p for p in _scalars(d) if _fits(rule, _INFO[p])]
        key = draw(st.sampled_from(candidates))
        node, last = _get(d, key)
        node[last] = _bad_value(rule, _INFO[key], node[last], draw)
    elif rule == "shares-sum":
        key = draw(st.sampled_from(sorted(_SHARES)))
        node, last = _get(d, key)
        k = draw(st.sampled_from(sorted(node[last])))
        v = node[last][k]
        step = draw(st.floats(0.01, 0.5))
        node[last][k] = v + step if v + step <= 1 else v - step
    elif rule == "moments-mean":
        key = draw(st.sampled_from([p for p, kind in _leaves(d, "", frozenset(d))
                                    if kind == "moments"]))
        node, last = _get(d, key)
        t = node[last]
        width = t["max"] - t["min"]
        f = draw(st.sampled_from([0.0, 0.01, 0.05]))
        t["mean"] = draw(st.sampled_from([t["min"] - f * width, t["max"] + f * width]))
    elif rule == "min-above-max":
        key = "protocol.ivig_interval.min"
        iv = d["protocol"]["ivig_interval"]
        iv["min"] = iv["max"] + draw(st.floats(0.5, 2.0))
    elif rule == "missing-required":
        # Partial tables are merged with their defaults, so only keys without any default
        # can be missing: the name, and a trial's control rate.
        key = draw(st.sampled_from(["scenario.name", "trial.control_lbr"]))
        d.setdefault("trial", dict(_DEFAULT_TRIAL))
        node, last = _get(d, key)
        del node[last]
    elif rule.startswith(("trial", "margin", "non-inferiority")):
        trial = d.setdefault("trial", dict(_DEFAULT_TRIAL))
        for k in ("treatment_lbr", "ivig_odds_ratio", "margin"):
            trial.pop(k, None)
        trial.update(design="superiority", alternative="two-sided", treatment_lbr=0.75)
        if rule == "trial-both-effects":
            trial["ivig_odds_ratio"] = draw(st.floats(1.1, 5.0))
            key = "trial.treatment_lbr"
        elif rule == "trial-no-effect":
            del trial["treatment_lbr"]
            key = "trial.treatment_lbr"
        elif rule == "margin-without-non-inferiority":
            trial["margin"] = draw(st.floats(0.01, 0.5))
            key = "trial.margin"
        else:
            trial.update(design="non-inferiority", margin=0.1,
                         alternative=draw(st.sampled_from(["two-sided", "smaller"])))
            key = "trial.alternative"
    elif rule == "adherence-untreated":
        for k in ("untreated_abnormal_lbr", "ivig_odds_ratio"):
            d["outcome"].pop(k, None)
        d["outcome"]["adherence"] = draw(st.floats(0.0, 0.99))
        key = "outcome.adherence"
    else:  # syntax-error
        text = dumps_toml(d)
        how = draw(st.sampled_from(["header", "value", "string", "duplicate", "equals"]))
        if how == "header":
            text = text.replace("[cohort]", "[cohort", 1)
        elif how == "value":
            text += "dangling =\n"
        elif how == "string":
            text = text.replace('name = "invalid"', 'name = "invalid', 1)
        elif how == "duplicate":
            text += '\n[scenario]\nname = "again"\n'
        else:
            text = text.replace("n = ", "n == ", 1)
        return text, rule, ""
    return dumps_toml(d), rule, key


def _fits(rule: str, info: ParamInfo) -> bool:
    if rule == "wrong-type":
        return True
    if rule == "bad-choice":
        return bool(info.choices)
    if rule == "non-finite":
        return info.type.startswith("number")
    # out of range: a bound exists and an integer beyond it still fits in TOML's 64 bits
    return (info.lo is not None or (info.hi is not None and info.hi < 2**62)) and not info.choices


def _bad_value(rule: str, info: ParamInfo, v: Any, draw: st.DrawFn) -> Any:
    integer = info.type.startswith("integer")
    if rule == "wrong-type":
        if info.type.startswith("string"):
            return draw(st.sampled_from([3, 0.5, True, [1, 2]]))
        return draw(st.sampled_from(["abc", True, [1.0]] + ([2.5] if integer else [])))
    if rule == "bad-choice":
        bad = _misspell(v, draw)
        return bad if bad not in (info.choices or ()) else v + "x"
    if rule == "non-finite":
        return draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    sides = []
    if info.lo is not None:
        sides.append("lo")
    if info.hi is not None and info.hi < 2**62:
        sides.append("hi")
    side = draw(st.sampled_from(sides))
    bound = info.lo if side == "lo" else info.hi
    is_open = info.lo_open if side == "lo" else info.hi_open
    sign = -1 if side == "lo" else 1
    if is_open and draw(st.booleans()):
        return int(bound) if integer else float(bound)  # type: ignore[arg-type]
    if integer:
        return int(bound) + sign * draw(st.integers(1, 100))  # type: ignore[arg-type]
    return float(bound) + sign * draw(st.sampled_from([1e-6, 0.01, 0.5, 10.0]))  # type: ignore[arg-type]


def invalid_scenarios(
    base: Scenario | str | os.PathLike[str] | None = None,
    *,
    rules: Iterable[str] | None = None,
) -> st.SearchStrategy[tuple[str, str, str]]:
    """TOML files that :func:`rplsim.load_scenario` must reject, each breaking one rule.

    Each draw is the base scenario written out in full, with exactly one thing broken.

    Parameters
    ----------
    base : Scenario, path of a .toml file, or None
        The valid scenario to break; ``None`` means the schema defaults.
    rules : iterable of str, optional
        Restrict to these rules (default all): "unknown-key" (a near-miss spelling of a real
        key), "wrong-type", "out-of-range" (below lo, above hi, or on an open bound),
        "non-finite" (``nan``, ``inf``, ``-inf``), "shares-sum", "moments-mean" (mean on or
        outside [min, max]), "min-above-max", "missing-required", "trial-both-effects",
        "trial-no-effect", "margin-without-non-inferiority", "non-inferiority-alternative",
        "adherence-untreated", "bad-choice", "syntax-error".

    Returns
    -------
    SearchStrategy of (str, str, str)
        ``(toml_text, rule, key)``: ``key`` is the dotted key the error message must name
        ("" for a syntax error, whose message says "TOML syntax error").

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(invalid_scenarios(rules=["out-of-range"]))
    ... def test_named(case):
    ...     text, rule, key = case
    """
    chosen = _RULES if rules is None else tuple([rules] if isinstance(rules, str) else rules)
    bad = [r for r in chosen if r not in _RULES]
    if bad or not chosen:
        raise InvalidArgument(f"rules == {chosen!r}: unknown {bad}; choose from {_RULES!r}.")
    return _invalid(_as_scenario(base).to_dict(), chosen)
