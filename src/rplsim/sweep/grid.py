"""The grid of a sweep: ``--grid`` parsing, the points (each a validated scenario), their seeds."""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rplsim._core.keys import deep_merge, get_dotted, nest, split_key
from rplsim._core.rng import child_seed
from rplsim.exceptions import ScenarioError
from rplsim.scenario import NO_TRIAL, Scenario
from rplsim.scenario.load import load_scenario, parse_overrides
from rplsim.scenario.trial_params import SweepParams
from rplsim.trial.simulation import REPLICATE_BLOCK

__all__ = ["SweepPlan", "SweepPoint", "parse_grid_args", "plan_sweep", "point_entropy"]

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


def parse_grid_args(items: Sequence[str]) -> dict[str, list[Any]]:
    """Turn ``["trial.control_lbr=0.55,0.6", "trial.analysis=chi2,fisher"]`` into grid axes.

    Values are read as TOML (``0.55``, ``true``, ``"chi2"``); bare words are strings.

    Raises
    ------
    ScenarioError
        If an item is not ``KEY=V1,V2,...``.
    """
    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise ScenarioError(
                f"--grid {item}: must be KEY=V1,V2,..., e.g. --grid trial.control_lbr=0.55,0.6."
            )
        try:
            values = tomllib.loads(f"v = [{text}]")["v"]
        except tomllib.TOMLDecodeError:  # bare words: chi2,fisher
            values = [parse_overrides([f"v={v}"])["v"] for v in text.split(",")]
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

    @property
    def columns(self) -> list[str]:
        """The header of ``points.csv``."""
        return ["point", "point_index", *self.axes, *STATS]

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


def plan_sweep(
    path: str | Path, overrides: Sequence[str] = (), grid: dict[str, list[Any]] | None = None
) -> SweepPlan:
    """Read a scenario with a ``[sweep]`` section and validate every grid point.

    Parameters
    ----------
    path : str or Path
        The scenario file.
    overrides : list of "section.key=value"
        ``--set`` overrides, applied to every point (before the point's own values).
    grid : dict, optional
        Axes added to, or replacing, those of ``[sweep] grid`` (``--grid``).

    Returns
    -------
    SweepPlan

    Raises
    ------
    ScenarioError
        Every problem of every point, one line each naming the point:
        ``file [point trial.alpha=2]: trial.alpha == 2.0, must be in (0, 0.5].``

    Examples
    --------
    >>> plan = plan_sweep("scenarios/sweep_example.toml")  # doctest: +SKIP
    >>> len(plan.points)  # doctest: +SKIP
    12
    """
    label = str(path)
    base = load_scenario(path, list(overrides))
    spec = base.sweep
    axes: dict[str, list[Any]] = dict(spec.grid) if spec else {}
    axes.update(grid or {})
    bad = _axes_problems(label, axes, spec)
    if bad:
        raise ScenarioError(bad)
    set_over = parse_overrides(list(overrides)) if overrides else {}
    n_fixed = spec.n_per_arm if spec else None
    points: list[SweepPoint] = []
    problems: dict[str, list[str]] = {}  # problem -> the points that have it
    seen: dict[str, int] = {}
    for i, combo in enumerate(itertools.product(*axes.values())):
        sc = _point_scenario(path, label, dict(zip(axes, combo, strict=True)), set_over, problems)
        if sc is None:
            continue
        d = sc.to_dict()
        values = {k: get_dotted(d, k) for k in axes}
        key = _point_key(values)
        if key in seen:
            problems.setdefault(
                f"is listed twice (points {seen[key]} and {i}): remove the duplicate value.", []
            ).append(key)
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
                f"{label} [point {names[0]}]: {rule}"
                + (f" (and {len(names) - 1} more points)" if len(names) > 1 else "")
                for rule, names in problems.items()
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


def _axes_problems(label: str, axes: dict[str, list[Any]], spec: SweepParams | None) -> list[str]:
    bad = [
        f"{label}: --grid {k} is not a dotted key, must be section.key, e.g. trial.alpha."
        for k in axes
        if len(split_key(k)) < 2 or k.startswith("sweep.")
    ]
    bad += [f"{label}: --grid {k} has no values." for k, v in axes.items() if not v]
    if spec and spec.n_per_arm is not None and "trial.n_per_arm" in axes:
        bad.append(f"{label}: sweep.n_per_arm and a trial.n_per_arm axis both set n: give one.")
    return bad


def _point_scenario(
    path: str | Path,
    label: str,
    raw: dict[str, Any],
    set_over: dict[str, Any],
    problems: dict[str, list[str]],
) -> Scenario | None:
    """The point's validated scenario, or None with its problems added to ``problems``."""
    name = _point_key(raw)
    try:
        sc = load_scenario(path, deep_merge(set_over, nest(raw)))
    except ScenarioError as exc:
        for line in exc.problems:
            problems.setdefault(line.removeprefix(f"{label}: "), []).append(name)
        return None
    if sc.trial is None:
        problems.setdefault(NO_TRIAL, []).append(name)
        return None
    return sc
