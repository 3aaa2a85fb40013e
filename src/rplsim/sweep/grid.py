"""The grid of a sweep: ``--grid`` parsing, the points (each a validated scenario), their seeds."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rplsim._core.keys import get_dotted, nest, split_key
from rplsim._core.limits import MAX_ESTIMATED_SECONDS, MAX_GRID_POINTS, MAX_GRID_POINTS_FORCED
from rplsim._core.rng import child_seed
from rplsim.exceptions import ScenarioError
from rplsim.scenario import NO_TRIAL, Scenario
from rplsim.scenario.load import (
    label_problems,
    load_scenario,
    merge_scenario_data,
    override_flags,
    parse_overrides,
    resolve_scenario,
    scenario_from_dict,
)
from rplsim.scenario.tomlio import echo_text
from rplsim.scenario.trial_params import SweepParams
from rplsim.trial.simulation import REPLICATE_BLOCK

__all__ = [
    "PLAN_SECONDS_PER_POINT",
    "PREPARE_SECONDS_PER_POINT",
    "SIMULATION_SECONDS_PER_1000",
    "SweepPlan",
    "SweepPoint",
    "estimate_sweep_seconds",
    "format_duration",
    "parse_grid_args",
    "plan_sweep",
    "point_entropy",
]

# What a sweep costs, measured on the development machine (2 cores, Python 3.11) on 2025-06 with
# scenarios/sweep_example.toml and scenarios/trial_superiority.toml: plan_sweep over 100 points,
# prepare_point (rates and analytic n) over 160 points, and simulate_power of 4,096 replicates at
# 150 women per arm, one look, one process. Rough by design: an estimate, not a promise.
PLAN_SECONDS_PER_POINT = 0.002
"""Validating one grid point (``plan_sweep``)."""
PREPARE_SECONDS_PER_POINT = 0.055
"""Resolving one point's arm rates and analytic n (the sweep's ``prepare_point``)."""
SIMULATION_SECONDS_PER_1000 = {
    "chi2": 0.003,
    "cmh": 0.008,
    "fisher": 0.035,
    "logistic": 0.7,
    "boschloo": 0.6,
}
"""Seconds per 1,000 simulated trials (H1 and null) at 150 women per arm and one look, by
analysis; the patient path (logistic) grows in proportion to n, every path with the looks.
Boschloo's is its first run at those arm sizes (2.6 s for 4,096 replicates with 10% dropout,
measured 2026-12 on the same machine; the lattices of p-values it computes are kept, and a
second run takes 0.03 s)."""
_REFERENCE_N = 150

STATS = (
    "n_per_arm",
    "n_treatment",
    "n_total",
    "replicates",
    "p_control",
    "p_treatment",
    "power",
    "power_ci_low",
    "power_ci_high",
    "type1_error",
    "type1_ci_low",
    "type1_ci_high",
    "analytic_power",
    "expected_n_h1",
    "expected_n_h0",
    "stop_probability",
    "tasks",
    "seconds",
    "digest",
)

#: Columns added before ``tasks`` when the scenario has a ``[prior]``: assurance at the point's n
#: (:func:`rplsim.assurance`, computed with the point's preparation, on the same executor).
ASSURANCE_STATS = ("assurance", "assurance_ci_low", "assurance_ci_high", "assurance_method", "ceiling")


def parse_grid_args(items: Sequence[str]) -> dict[str, list[Any]]:
    """Turn ``["trial.control_lbr=0.55,0.6", "trial.analysis=chi2,fisher"]`` into grid axes.

    Values are read as TOML (``0.55``, ``true``, ``"chi2"``); bare words are strings.

    Raises
    ------
    ScenarioError
        If an item is not ``KEY=V1,V2,...`` (one line, ``--grid ITEM: ...``), or names an axis
        twice.
    """
    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        shown = f"--grid {echo_text(item)}"
        if not sep or not key or not text.strip():
            raise ScenarioError(f"{shown}: must be KEY=V1,V2,..., e.g. --grid trial.control_lbr=0.55,0.6.")
        try:
            values = tomllib.loads(f"v = [{text}]")["v"]
        except tomllib.TOMLDecodeError:  # bare words: chi2,fisher
            try:
                values = [parse_overrides([f"v={v}"])["v"] for v in text.split(",")]
            except ScenarioError:
                raise ScenarioError(f"{shown}: a value is empty or not a TOML value.") from None
        except RecursionError:
            raise ScenarioError(f"{shown}: a value nests too deep.") from None
        if key in out:
            raise ScenarioError(f"{shown}: --grid {echo_text(key)} is given twice; give each axis once.")
        out[key] = values
    return out


def _canonical(value: Any) -> str:
    """A value as written in a point key (floats by repr, so 0.6 and 0.60 are one point)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _sha(obj: Any) -> str:
    return hashlib.sha256(
        json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


@dataclass(frozen=True)
class SweepPoint:
    """One grid point: a validated scenario and its keyed random streams.

    Attributes
    ----------
    index : int
        Position in the grid (the last axis varies fastest).
    key : str
        Canonical key: ``axis=value`` pairs sorted by axis, joined by ``;``.
    values : dict
        Axis -> value, as validated (``0.60`` and ``0.6`` both read 0.6).
    scenario : Scenario
    entropy : int
        Root entropy of the point's replicate blocks (from the scenario seed and ``key``).
    digest : str
        sha256 of what the point's numbers depend on (scenario, replicates, n); ``resume``
        reuses a row only when it matches.
    """

    index: int
    key: str
    values: dict[str, Any]
    scenario: Scenario
    entropy: int
    digest: str

    def scenario_dict(self) -> dict[str, Any]:
        """The point's scenario as a plain dict (what a task receives), without ``[sweep]``."""
        d = self.scenario.to_dict()
        d.pop("sweep", None)
        return d


@dataclass(frozen=True)
class SweepPlan:
    """A validated sweep: its points and how each is simulated (see :func:`plan_sweep`)."""

    base: Scenario
    axes: tuple[str, ...]
    points: tuple[SweepPoint, ...]
    n_per_arm: int | None
    replicates: int
    batch: int

    def estimated_seconds(self, workers: int = 1) -> float:
        """Rough wall time of the whole sweep (:func:`estimate_sweep_seconds` of each point)."""
        total = 0.0
        for p in self.points:
            trial = p.scenario.require_trial()
            total += estimate_sweep_seconds(
                1,
                self.replicates,
                analysis=trial.analysis,
                n_per_arm=self.n_per_arm or trial.n_per_arm,
                looks=trial.looks,
                planned=True,
            )
        return total / max(1, min(workers, len(self.points)))

    @property
    def columns(self) -> list[str]:
        """The header of ``points.csv``."""
        extra = ASSURANCE_STATS if self.base.prior is not None else ()
        return ["point", "point_index", *self.axes, *STATS[:-3], *extra, *STATS[-3:]]

    def batches(self) -> list[list[int]]:
        """Block indices of each task of one point."""
        blocks = list(range(-(-self.replicates // REPLICATE_BLOCK)))
        per = self.batch // REPLICATE_BLOCK
        return [blocks[i : i + per] for i in range(0, len(blocks), per)]


def point_entropy(seed: int, key: str) -> int:
    """Root entropy of a point: stream ``("sweep", h)`` of ``seed``, ``h`` = 64 bits of sha256(key).

    sha256 rather than crc32 so that two points of a large grid never share streams by accident.
    """
    h = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    words = child_seed(seed, "sweep", h).generate_state(4, np.uint32)
    return int.from_bytes(words.astype("<u4").tobytes(), "little")


def format_duration(seconds: float) -> str:
    """A duration as a person says it: ``"40 seconds"``, ``"12 minutes"``, ``"89 days"``.

    Examples
    --------
    >>> format_duration(42), format_duration(7200), format_duration(89 * 86400)
    ('42 seconds', '2.0 hours', '89 days')
    """
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} hours"
    if seconds < 2 * 365 * 86400:
        return f"{seconds / 86400:,.0f} days"
    return f"{seconds / (365.25 * 86400):,.0f} years"


def estimate_sweep_seconds(
    points: int,
    replicates: int,
    *,
    analysis: str = "chi2",
    n_per_arm: int | None = None,
    looks: int = 1,
    workers: int = 1,
    planned: bool = False,
) -> float:
    """Rough wall time of a sweep at today's speed (the measured constants of this module).

    Parameters
    ----------
    points : int
        Grid points.
    replicates : int
        Simulated trials per point.
    analysis : str
        The trial's analysis (unknown names cost as much as the slowest known one).
    n_per_arm : int, optional
        Control-arm size; absent = 150 (the patient path's cost grows with n).
    looks : int
        Analyses per trial.
    workers : int
        Processes sharing the points.
    planned : bool
        True when the points are already validated (the planning cost is spent).

    Returns
    -------
    float
        Seconds.

    Examples
    --------
    >>> round(estimate_sweep_seconds(12, 10_000))
    1
    """
    sim = SIMULATION_SECONDS_PER_1000.get(analysis, max(SIMULATION_SECONDS_PER_1000.values()))
    if analysis == "logistic":
        sim *= max(1.0, (n_per_arm or _REFERENCE_N) / _REFERENCE_N)
    per_point = (
        (0.0 if planned else PLAN_SECONDS_PER_POINT)
        + PREPARE_SECONDS_PER_POINT
        + sim * max(1, looks) * replicates / 1000
    )
    return points * per_point / max(1, workers)


def _size_problem(label: str, n_points: int, seconds: float, force_large: bool) -> str | None:
    """The one line refusing a sweep too large to start, or None."""
    about = f"this sweep has {n_points:,} points, about {format_duration(seconds)} at today's speed"
    if n_points > MAX_GRID_POINTS_FORCED:
        return (
            f"{label}: {about}; refusing beyond {MAX_GRID_POINTS_FORCED:,} points even with "
            "--force-large: split the grid into several sweeps."
        )
    if force_large:
        return None
    if n_points > MAX_GRID_POINTS:
        return (
            f"{label}: {about}; refusing beyond {MAX_GRID_POINTS:,} points; use --force-large "
            f"(up to {MAX_GRID_POINTS_FORCED:,})."
        )
    if seconds > MAX_ESTIMATED_SECONDS:
        return (
            f"{label}: {about}; refusing work estimated at more than "
            f"{format_duration(MAX_ESTIMATED_SECONDS)}; use --force-large, fewer points or "
            "fewer replicates."
        )
    return None


def plan_sweep(
    path: str | Path,
    overrides: Sequence[str] = (),
    grid: dict[str, list[Any]] | None = None,
    *,
    force_large: bool = False,
    flags: Mapping[str, str] | None = None,
) -> SweepPlan:
    """Read a scenario with a ``[sweep]`` section and validate every grid point.

    The file (and its ``extends`` chain) is read once. Before any point is built the grid's
    size and the sweep's cost are checked: more than
    :data:`~rplsim._core.limits.MAX_GRID_POINTS` points, or an estimate above
    :data:`~rplsim._core.limits.MAX_ESTIMATED_SECONDS`, is refused unless ``force_large``;
    more than :data:`~rplsim._core.limits.MAX_GRID_POINTS_FORCED` always.

    Parameters
    ----------
    path : str or Path
        The scenario file.
    overrides : list of "section.key=value"
        ``--set`` overrides, applied to every point (before the point's own values).
    grid : dict, optional
        Axes added to, or replacing, those of ``[sweep] grid`` (``--grid``); their problems
        are reported as ``--grid KEY=V1,V2: ...``.
    force_large : bool
        Allow up to ``MAX_GRID_POINTS_FORCED`` points and any estimated time (``--force-large``).
    flags : mapping, optional
        Dotted key -> command-line flag, for overrides that did not come from ``--set``
        (``{"scenario.seed": "--seed 5"}``), as for :func:`~rplsim.scenario.load_scenario`.

    Returns
    -------
    SweepPlan

    Raises
    ------
    ScenarioError
        Every problem of every point, one line each naming the point (and the flag, for a
        ``--grid`` axis): ``--grid trial.alpha=0.05,2 [point trial.alpha=2]: trial.alpha ==
        2.0, must be in (0, 0.5].``

    Examples
    --------
    >>> plan = plan_sweep("scenarios/sweep_example.toml")  # doctest: +SKIP
    >>> len(plan.points)  # doctest: +SKIP
    12
    """
    label = echo_text(str(path), 240)
    base = load_scenario(path, list(overrides), flags=flags)
    spec = base.sweep
    cli = dict(grid or {})
    axes: dict[str, list[Any]] = dict(spec.grid) if spec else {}
    axes.update(cli)
    grid_flags = {k: f"--grid {echo_text(k + '=' + ','.join(_canonical(v) for v in cli[k]))}" for k in cli}
    bad = _axes_problems(label, axes, spec, grid_flags)
    if bad:
        raise ScenarioError(bad)
    n_fixed = spec.n_per_arm if spec else None
    n_points = math.prod(len(v) for v in axes.values())
    trial = base.trial
    reps = (spec.replicates if spec and spec.replicates else None) or (trial.replicates if trial else 1)
    analyses = [str(a) for a in axes.get("trial.analysis", [trial.analysis if trial else "chi2"])]
    ns = [v for v in axes.get("trial.n_per_arm", []) if isinstance(v, int)]
    seconds = max(
        estimate_sweep_seconds(
            n_points,
            reps,
            analysis=a,
            n_per_arm=n_fixed or max(ns, default=None) or (trial.n_per_arm if trial else None),
            looks=max(
                [v for v in axes.get("trial.looks", []) if isinstance(v, int)]
                or [trial.looks if trial else 1]
            ),
        )
        for a in analyses
    )
    too_big = _size_problem(label, n_points, seconds, force_large)
    if too_big:
        raise ScenarioError(too_big)
    data = resolve_scenario(path)
    set_over = parse_overrides(list(overrides)) if overrides else {}
    names = {**override_flags(list(overrides)), **(flags or {}), **grid_flags}
    points: list[SweepPoint] = []
    problems: dict[tuple[str, str], list[str]] = {}  # (source, problem) -> the points that have it
    seen: dict[str, int] = {}
    for i, combo in enumerate(itertools.product(*axes.values())):
        raw = dict(zip(axes, combo, strict=True))
        sc = _point_scenario(data, set_over, raw, label, str(path), names, problems)
        if sc is None:
            continue
        d = sc.to_dict()
        values = {k: get_dotted(d, k) for k in axes}
        key = _point_key(values)
        if key in seen:
            # Values that differ as written but not as validated (1 and 1.0 of a number key).
            problems.setdefault((label, "is listed twice: remove the duplicate value."), []).append(key)
            continue
        seen[key] = i
        reps = (spec.replicates if spec and spec.replicates else None) or sc.require_trial().replicates
        d.pop("sweep", None)
        digest = _sha({"scenario": d, "replicates": reps, "n_per_arm": n_fixed})
        points.append(
            SweepPoint(
                index=i,
                key=key,
                values=values,
                scenario=sc,
                entropy=point_entropy(sc.seed, key),
                digest=digest,
            )
        )
    if problems:
        # One line per problem, naming its first point: a bad value in one axis would otherwise
        # repeat the same line for every combination of the other axes.
        raise ScenarioError(
            [
                f"{source} [point {where[0]}]: {rule}"
                + (f" (and {len(where) - 1} more points)" if len(where) > 1 else "")
                for (source, rule), where in problems.items()
            ]
        )
    reps_all = {(spec.replicates if spec else None) or p.scenario.require_trial().replicates for p in points}
    if len(reps_all) > 1:  # trial.replicates is an axis: one replicate count per sweep
        raise ScenarioError(
            f"{label}: trial.replicates differs between points; set [sweep] replicates instead."
        )
    return SweepPlan(
        base=base,
        axes=tuple(axes),
        points=tuple(points),
        n_per_arm=n_fixed,
        replicates=reps_all.pop(),
        batch=spec.batch if spec else 4096,
    )


def _point_key(values: dict[str, Any]) -> str:
    return ";".join(f"{k}={_canonical(v)}" for k, v in sorted(values.items()))


def _value_key(value: Any) -> str:
    """Equal as a grid value (0.6 and 0.60; 1 and 1.0 of a number key; true is not 1)."""
    if isinstance(value, bool):
        return f"b:{value}"
    if isinstance(value, (int, float)):
        return f"n:{float(value)!r}"
    return "j:" + json.dumps(value, sort_keys=True, default=str)


def _duplicates(values: Sequence[Any]) -> list[Any]:
    seen: set[str] = set()
    out: list[Any] = []
    for v in values:
        k = _value_key(v)
        if k in seen and not any(_value_key(d) == k for d in out):
            out.append(v)
        seen.add(k)
    return out


def _axes_problems(
    label: str, axes: dict[str, list[Any]], spec: SweepParams | None, flags: Mapping[str, str]
) -> list[str]:
    bad = []
    for k, values in axes.items():
        src = flags.get(k, label)
        shown = echo_text(k)
        if len(split_key(k)) < 2 or not all(split_key(k)) or k.startswith("sweep."):
            bad.append(
                f"{src}: {shown} is not a dotted key of a scenario section, must be "
                "section.key, e.g. trial.alpha."
            )
        elif not values:
            bad.append(f"{src}: {shown} has no values.")
        elif k == "trial.replicates":
            bad.append(
                f"{src}: trial.replicates cannot be a grid axis: the sweep simulates every point "
                "with one replicate count; use --replicates or [sweep] replicates."
            )
        elif k in flags:  # a [sweep] grid's duplicates are a rule of the file (SweepParams)
            for v in _duplicates(values):
                bad.append(f"{src}: {shown} lists {_canonical(v)} twice; give each value once.")
    if spec and spec.n_per_arm is not None and "trial.n_per_arm" in axes:
        src = flags.get("trial.n_per_arm", label)
        bad.append(f"{src}: sweep.n_per_arm and a trial.n_per_arm axis both set n: give one.")
    return bad


def _point_scenario(
    data: dict[str, Any],
    set_over: dict[str, Any],
    raw: dict[str, Any],
    label: str,
    path: str,
    flags: Mapping[str, str],
    problems: dict[tuple[str, str], list[str]],
) -> Scenario | None:
    """The point's validated scenario, or None with its problems added to ``problems``."""
    name = echo_text(_point_key(raw), 240)
    try:
        merged = merge_scenario_data(merge_scenario_data(data, set_over), nest(raw))
        sc = scenario_from_dict(merged, "\0", path)
    except ScenarioError as exc:
        for line in exc.problems:
            rule = line.removeprefix("\0: ")
            (labelled,) = label_problems([rule], label, flags)
            source = labelled[: len(labelled) - len(rule) - 2]
            problems.setdefault((source, rule), []).append(name)
        return None
    if sc.trial is None:
        problems.setdefault((label, NO_TRIAL), []).append(name)
        return None
    return sc
