"""Power over a grid of scenarios (``rplsim sweep``), on local processes or a Dask cluster.

A sweep is the Cartesian product of the ``[sweep] grid`` axes (dotted scenario keys → lists of
values, plus ``--grid`` flags). Every point is one scenario, built with
:func:`rplsim.scenario.load_scenario` and validated before anything runs. The work is split into
tasks — first one :func:`prepare_point` per point (the trial's rates and the analytic n), then
one :func:`run_batch` per (point, batch of replicate blocks) — and handed to a
:class:`concurrent.futures.ProcessPoolExecutor` or to ``distributed.Client.submit``; rplsim does
no scheduling, retrying or data transfer of its own.

Reproducibility: a point's root entropy comes from its scenario seed and its canonical key
(``trial.analysis=fisher;trial.control_lbr=0.6``), and its replicates are simulated in keyed
blocks of :data:`rplsim.trial.REPLICATE_BLOCK` by the engine of :mod:`rplsim.power`. Each task
returns integer counts, which are summed; so a point's numbers are the same for any number of
workers, any backend, any batch size, and whichever other points are in the grid.

Results stream into ``points.csv`` (a row as soon as all batches of a point are in), so an
interrupted sweep keeps what it finished and ``resume=True`` computes only the rest.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rplsim.exceptions import ResultsExistError, RplsimError, ScenarioError
from rplsim.sweep.executors import DaskExecutor, LocalExecutor, Task
from rplsim.trial.power import (
    analytic_power as _analytic_power,
    run_blocks as _run_blocks,
    analytic_n_per_arm,
    default_path,
    treatment_size,
    wilson_interval,
)
from rplsim._core.rng import child_seed
from rplsim.scenario.model import Scenario, load_scenario, parse_overrides, scenario_from_dict
from rplsim.scenario.schema import deep_merge
from rplsim.trial.simulation import REPLICATE_BLOCK, TrialDesign, look_sizes, trial_design

__all__ = [
    "SweepPlan",
    "SweepPoint",
    "SweepResult",
    "parse_grid_args",
    "plan_sweep",
    "point_entropy",
    "prepare_point",
    "run_batch",
    "run_sweep",
    "sweep_figure",
]

STATS = ("n_per_arm", "n_treatment", "n_total", "replicates", "p_control", "p_treatment",
         "power", "power_ci_low", "power_ci_high", "type1_error", "type1_ci_low", "type1_ci_high",
         "analytic_power", "expected_n_h1", "expected_n_h0", "stop_probability", "tasks",
         "seconds", "digest")


# ----------------------------------------------------------------------------- the grid
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
            raise ScenarioError(f"--grid {item}: must be KEY=V1,V2,..., e.g. --grid "
                                "trial.control_lbr=0.55,0.6.")
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


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node[part]
    return node


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = out
        *parents, last = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":"),
                                     default=str).encode()).hexdigest()


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
        return [blocks[i:i + per] for i in range(0, len(blocks), per)]


def point_entropy(seed: int, key: str) -> int:
    """Root entropy of a point: stream ``("sweep", h)`` of ``seed``, ``h`` = 64 bits of sha256(key).

    sha256 rather than crc32 so that two points of a large grid never share streams by accident.
    """
    h = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    words = child_seed(seed, "sweep", h).generate_state(4, np.uint32)
    return int.from_bytes(words.astype("<u4").tobytes(), "little")


def plan_sweep(path: str | Path, overrides: Sequence[str] = (),
               grid: dict[str, list[Any]] | None = None) -> SweepPlan:
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
    bad = [f"{label}: --grid {k} is not a dotted key, must be section.key, e.g. trial.alpha."
           for k in axes if len(k.split(".")) < 2 or k.startswith("sweep.")]
    bad += [f"{label}: --grid {k} has no values." for k, v in axes.items() if not v]
    if spec and spec.n_per_arm is not None and "trial.n_per_arm" in axes:
        bad.append(f"{label}: sweep.n_per_arm and a trial.n_per_arm axis both set n: give one.")
    if bad:
        raise ScenarioError(bad)
    set_over = parse_overrides(list(overrides)) if overrides else {}
    n_fixed = spec.n_per_arm if spec else None
    points: list[SweepPoint] = []
    problems: dict[str, list[str]] = {}  # problem -> the points that have it
    seen: dict[str, int] = {}
    for i, combo in enumerate(itertools.product(*axes.values())):
        raw = dict(zip(axes, combo, strict=True))
        name = ";".join(f"{k}={_canonical(v)}" for k, v in sorted(raw.items()))
        try:
            sc = load_scenario(path, deep_merge(set_over, _nest(raw)))
        except ScenarioError as exc:
            for line in exc.problems:
                rule = line.removeprefix(f"{label}: ")
                problems.setdefault(rule, []).append(name)
            continue
        if sc.trial is None:
            problems.setdefault("has no [trial] section, so there is no power to simulate; copy "
                                "one from scenarios/trial_superiority.toml.", []).append(name)
            continue
        d = sc.to_dict()
        values = {k: _get(d, k) for k in axes}
        key = ";".join(f"{k}={_canonical(v)}" for k, v in sorted(values.items()))
        if key in seen:
            problems.setdefault(f"is listed twice (points {seen[key]} and {i}): remove the "
                                "duplicate value.", []).append(key)
            continue
        seen[key] = i
        reps = (spec.replicates if spec and spec.replicates else None) or sc.trial.replicates
        d.pop("sweep", None)
        digest = _sha({"scenario": d, "replicates": reps, "n_per_arm": n_fixed})
        points.append(SweepPoint(index=i, key=key, values=values, scenario=sc,
                                 entropy=point_entropy(sc.seed, key), digest=digest))
    if problems:
        # One line per problem, naming its first point: a bad value in one axis would otherwise
        # repeat the same line for every combination of the other axes.
        raise ScenarioError([f"{label} [point {names[0]}]: {rule}"
                             + (f" (and {len(names) - 1} more points)" if len(names) > 1 else "")
                             for rule, names in problems.items()])
    reps = {(base.sweep.replicates if base.sweep else None) or p.scenario.trial.replicates
            for p in points}  # type: ignore[union-attr]
    if len(reps) > 1:  # trial.replicates is an axis: one replicate count per sweep
        raise ScenarioError(f"{label}: trial.replicates differs between points; set "
                            "[sweep] replicates instead.")
    return SweepPlan(base=base, axes=tuple(axes), points=tuple(points), n_per_arm=n_fixed,
                     replicates=reps.pop(), batch=spec.batch if spec else 4096)


# ----------------------------------------------------------------------------- tasks
_SCENARIOS: dict[str, Scenario] = {}


def _scenario(scenario_dict: dict[str, Any]) -> Scenario:
    """Validate a task's scenario once per process (a batch of one block is ~10 ms of work)."""
    key = json.dumps(scenario_dict, sort_keys=True)
    if key not in _SCENARIOS:
        if len(_SCENARIOS) > 256:
            _SCENARIOS.clear()
        _SCENARIOS[key] = scenario_from_dict(scenario_dict, "<sweep task>")
    return _SCENARIOS[key]


def prepare_point(scenario_dict: dict[str, Any], n_per_arm: int | None = None) -> dict[str, Any]:
    """Resolve a point's trial: arm rates, n per arm, analytic power (the slow, per-point part).

    Returns
    -------
    dict
        ``design`` (:class:`~rplsim.trial.TrialDesign`), ``n_per_arm``, ``n_treatment``,
        ``analytic_power``, ``path``, ``seconds``; or ``{"error": message}`` when the point's
        rates cannot be met (reported like a bad key, before any simulation).
    """
    t0 = time.perf_counter()
    sc = _scenario(scenario_dict)
    trial = sc.trial
    assert trial is not None
    try:
        design = trial_design(sc)
        n_c = int(n_per_arm or trial.n_per_arm or analytic_n_per_arm(sc, design))
    except (RplsimError, ValueError) as exc:
        return {"error": str(exc).replace("\n", "; ")}
    n_t = treatment_size(trial, n_c)
    return {"design": design, "n_per_arm": n_c, "n_treatment": n_t,
            "analytic_power": _analytic_power(trial, design, n_c * (1 - trial.dropout), n_t / n_c),
            "path": default_path(trial),
            "seconds": time.perf_counter() - t0}


def run_batch(scenario_dict: dict[str, Any], point_key: str, n_per_arm: int,
              block_indices: Sequence[int], entropy: int, *, replicates: int | None = None,
              n_treatment: int | None = None, design: TrialDesign | None = None,
              path: str | None = None) -> dict[str, Any]:
    """Simulate some replicate blocks of one point and count, under H1 and H0.

    Parameters
    ----------
    scenario_dict : dict
        The point's scenario (:meth:`SweepPoint.scenario_dict`).
    point_key : str
        The point's key (returned, to match results to points).
    n_per_arm : int
        Control-arm size (randomised women).
    block_indices : sequence of int
        Which blocks of :data:`~rplsim.trial.REPLICATE_BLOCK` replicates.
    entropy : int
        The point's root entropy (:func:`point_entropy`).
    replicates : int, optional
        The point's total replicates: rows of the last block beyond it are not counted.
    n_treatment, design, path : optional
        From :func:`prepare_point`, so workers need not solve the rates again.

    Returns
    -------
    dict
        Integer counts: ``replicates``, ``power_rejections`` (H1, in the alternative's
        direction), ``type1_rejections`` (H0, any direction), ``stop_h1`` / ``stop_h0``
        (trials stopping at each look), ``efficacy_h1`` (H1 rejections per look); and
        ``point``, ``blocks``, ``seconds``, ``worker``.
    """
    t0 = time.perf_counter()
    sc = _scenario(scenario_dict)
    trial = sc.trial
    assert trial is not None
    design = design or trial_design(sc)
    n_t = n_treatment if n_treatment is not None else treatment_size(trial, n_per_arm)
    path = path or default_path(trial)
    res = _run_blocks(sc, design, n_per_arm, n_t, list(block_indices), entropy, path)
    # Global replicate index of each row, to drop the tail of the last block.
    idx = np.concatenate([b * REPLICATE_BLOCK + np.arange(REPLICATE_BLOCK) for b in block_indices])
    keep = idx < (replicates if replicates is not None else idx.max() + 1)
    looks = trial.looks
    stop, stop0 = res["stop"][keep], res["stop0"][keep]
    return {
        "point": point_key, "blocks": list(block_indices), "replicates": int(keep.sum()),
        "power_rejections": int(res["good"][keep].sum()),
        "type1_rejections": int(res["any0"][keep].sum()),
        "stop_h1": np.bincount(stop, minlength=looks).tolist(),
        "stop_h0": np.bincount(stop0, minlength=looks).tolist(),
        "efficacy_h1": np.bincount(stop[res["any"][keep]], minlength=looks).tolist(),
        "seconds": time.perf_counter() - t0, "worker": f"{os.uname().nodename}:{os.getpid()}",
    }


def _row(plan: SweepPlan, point: SweepPoint, prep: dict[str, Any], parts: list[dict[str, Any]]
         ) -> dict[str, Any]:
    """One points.csv row from a point's batch counts (integer sums: order-free, exact)."""
    trial = point.scenario.trial
    assert trial is not None
    reps = sum(p["replicates"] for p in parts)
    k1 = sum(p["power_rejections"] for p in parts)
    k0 = sum(p["type1_rejections"] for p in parts)
    n_c, n_t = prep["n_per_arm"], prep["n_treatment"]
    sizes = look_sizes(n_c + n_t, trial.looks)
    stop1, stop0, eff = (np.sum([p[k] for p in parts], axis=0) for k in
                         ("stop_h1", "stop_h0", "efficacy_h1"))
    row: dict[str, Any] = {"point": point.key, "point_index": point.index, **point.values}
    lo1, hi1 = wilson_interval(k1, reps)
    lo0, hi0 = wilson_interval(k0, reps)
    row.update(
        n_per_arm=n_c, n_treatment=n_t, n_total=n_c + n_t, replicates=reps,
        p_control=prep["design"].p_control, p_treatment=prep["design"].p_treatment,
        power=k1 / reps, power_ci_low=lo1, power_ci_high=hi1,
        type1_error=k0 / reps, type1_ci_low=lo0, type1_ci_high=hi0,
        analytic_power=prep["analytic_power"],
        expected_n_h1=int(np.dot(sizes, stop1)) / reps,
        expected_n_h0=int(np.dot(sizes, stop0)) / reps,
        stop_probability=";".join(f"{x / reps:.4f}" for x in eff),
        tasks=len(parts) + 1, seconds=prep["seconds"] + sum(p["seconds"] for p in parts),
        digest=point.digest,
    )
    return {k: _canonical(v) if isinstance(v, (list, dict)) else v for k, v in row.items()}


# ----------------------------------------------------------------------------- points.csv
def _read_rows(path: Path, columns: list[str]) -> list[dict[str, str]]:
    """Complete rows of an existing points.csv (a row cut short by a crash is dropped)."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return []
        if header != columns:
            raise ScenarioError(f"{path}: its columns are not this sweep's (was the grid "
                                "changed?); use --out DIR for a new sweep or --force to start "
                                "over.")
        # The digest (last column) is 64 hex digits: a shorter one is a row cut short.
        return [dict(zip(columns, r, strict=True)) for r in reader
                if len(r) == len(columns) and len(r[-1]) == 64]


def _write_rows(path: Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, columns)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)  # atomic: a crash leaves the old file or the new one


@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    table : pandas.DataFrame
        points.csv, one row a point, in grid order.
    out : Path
        The folder with points.csv, sweep.png and manifest.json.
    computed, resumed : int
        Points simulated now, and points taken from an earlier points.csv.
    tasks : int
        Tasks submitted (prepare + batches).
    seconds : float
        Wall time.
    """

    table: pd.DataFrame
    out: Path
    computed: int
    resumed: int
    tasks: int
    seconds: float
    backend: str = ""
    task_seconds: float = 0.0
    workers_seen: set[str] = field(default_factory=set)


def run_sweep(plan: SweepPlan, out: str | Path, *, workers: int | None = None,
              scheduler: str | None = None, client: Any = None, batch: int | None = None,
              resume: bool = False, force: bool = False,
              on_point: Callable[[int, int], None] | None = None,
              on_result: Callable[[dict[str, Any]], None] | None = None,
              command: Sequence[str] = ()) -> SweepResult:
    """Simulate every point of ``plan`` and write ``out/points.csv``, ``sweep.png``, ``manifest.json``.

    Parameters
    ----------
    plan : SweepPlan
        From :func:`plan_sweep`.
    out : str or Path
        Results folder (``rplsim sweep`` uses ``results/<scenario name>``).
    workers : int, optional
        Local processes (default ``os.cpu_count()``); 1 runs in this process.
    scheduler : str, optional
        A Dask scheduler address (``tcp://host:8786``); overrides ``workers``.
    client : distributed.Client, optional
        An existing Dask client (not closed here); overrides ``scheduler``.
    batch : int, optional
        Replicates per task (default ``plan.batch``), a multiple of 1024; results do not
        depend on it.
    resume : bool
        Keep the rows of an existing points.csv whose point key and digest match; compute the
        rest. Without it (or ``force``), an existing points.csv is an error.
    force : bool
        Start over, replacing an existing points.csv.
    on_point : callable, optional
        ``on_point(done, total)`` after each point's row is written (progress bars).
    on_result : callable, optional
        Called with every task's result as it arrives (tests, monitoring).

    Returns
    -------
    SweepResult

    Raises
    ------
    ResultsExistError
        ``out/points.csv`` exists and neither ``resume`` nor ``force`` is given.
    ScenarioError
        A point whose rates cannot be met (every such point, before any simulation), or a
        points.csv from another sweep with ``resume``.
    """
    t0 = time.perf_counter()
    out = Path(out)
    csv_path = out / "points.csv"
    if batch is not None:
        if batch < REPLICATE_BLOCK or batch % REPLICATE_BLOCK:
            raise ScenarioError(f"--batch == {batch}, must be a positive multiple of "
                                f"{REPLICATE_BLOCK}.")
        plan = SweepPlan(plan.base, plan.axes, plan.points, plan.n_per_arm, plan.replicates, batch)
    columns = plan.columns
    kept: dict[str, dict[str, str]] = {}
    if (out / "manifest.json").exists() and not csv_path.exists():
        # A `rplsim run` folder of the same name: never mix a sweep into it, even with --force.
        raise ResultsExistError(f"{out}: holds the results of `rplsim run`, not a sweep; give "
                                "the sweep its own folder with --out DIR.")
    if csv_path.exists() and not force:
        if not resume:
            raise ResultsExistError(f"{csv_path}: exists; use --resume to continue that sweep, "
                                    "--force to start over, or --out DIR.")
        by_key = {p.key: p for p in plan.points}
        for r in _read_rows(csv_path, columns):
            p = by_key.get(r["point"])
            if p is not None and r["digest"] != p.digest:
                raise ScenarioError(f"{csv_path}: point {p.key} was computed from another "
                                    "scenario, seed, replicates or n; use --out DIR for a new "
                                    "sweep or --force to start over.")
            kept[r["point"]] = r
    todo = [p for p in plan.points if p.key not in kept]
    backend: LocalExecutor | DaskExecutor = (
        DaskExecutor(scheduler, client) if scheduler or client is not None
        else LocalExecutor(workers or os.cpu_count() or 1))
    res = SweepResult(table=pd.DataFrame(), out=out, computed=0, resumed=len(kept), tasks=0,
                      seconds=0.0, backend=backend.label)
    total = len(plan.points)
    try:
        preps = _prepare(plan, todo, backend, res, on_result)
        # Only now, with every point known to be good, touch the folder: rewrite what is kept
        # (dropping a half-written last line), then append as points finish.
        out.mkdir(parents=True, exist_ok=True)
        for stale in ("sweep.png", "manifest.json"):
            (out / stale).unlink(missing_ok=True)
        _write_rows(csv_path, columns, kept.values())
        with open(csv_path, "a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, columns)
            parts: dict[str, list[dict[str, Any]]] = {p.key: [] for p in todo}
            need = len(plan.batches())
            for task, r in backend.run(_batch_tasks(plan, todo, preps)):
                res.tasks += 1
                res.task_seconds += r["seconds"]
                res.workers_seen.add(r["worker"])
                if on_result:
                    on_result(r)
                got = parts[r["point"]]
                got.append(r)
                if len(got) == need:
                    point = task.point
                    writer.writerow(_row(plan, point, preps[point.key], got))
                    fh.flush()  # a row on disk as soon as its point is done: --resume sees it
                    del parts[point.key]
                    res.computed += 1
                    if on_point:
                        on_point(res.resumed + res.computed, total)
    finally:
        backend.close()
    res.table = _finish(plan, out, res, command, t0)
    res.seconds = time.perf_counter() - t0
    return res


def _prepare(plan: SweepPlan, todo: list[SweepPoint], backend: LocalExecutor | DaskExecutor, res: SweepResult,
             on_result: Callable[[dict[str, Any]], None] | None) -> dict[str, dict[str, Any]]:
    """Resolve every point's trial (in parallel) and fail on any bad one before simulating."""
    tasks = (Task(prepare_point, (p.scenario_dict(), plan.n_per_arm), {}, p,
                   f"rplsim-prepare-{p.digest[:16]}") for p in todo)
    preps: dict[str, dict[str, Any]] = {}
    for t, r in backend.run(tasks):
        res.tasks += 1
        res.task_seconds += r.get("seconds", 0.0)
        preps[t.point.key] = r
    bad = [f"{plan.base.scenario.name} [point {p.key}]: {preps[p.key]['error']}"
           for p in todo if "error" in preps[p.key]]
    if bad:
        raise ScenarioError(bad)
    return preps


def _batch_tasks(plan: SweepPlan, todo: list[SweepPoint], preps: dict[str, dict[str, Any]]
                 ) -> Iterator[Task]:
    for p in todo:
        pr = preps[p.key]
        d = p.scenario_dict()
        for blocks in plan.batches():
            yield Task(run_batch, (d, p.key, pr["n_per_arm"], blocks, p.entropy),
                        {"replicates": plan.replicates, "n_treatment": pr["n_treatment"],
                         "design": pr["design"], "path": pr["path"]},
                        p, f"rplsim-batch-{p.digest[:16]}-{blocks[0]}")


def _finish(plan: SweepPlan, out: Path, res: SweepResult, command: Sequence[str], t0: float
            ) -> pd.DataFrame:
    """Rewrite points.csv in grid order, draw sweep.png, write manifest.json."""
    from rplsim.outputs.plots import save_png
    from rplsim.outputs.folder import library_versions, sha256_file

    csv_path = out / "points.csv"
    columns = plan.columns
    rows = _read_rows(csv_path, columns)
    order = {p.key: p.index for p in plan.points}
    rows.sort(key=lambda r: order.get(r["point"], len(order)))
    _write_rows(csv_path, columns, rows)  # the same bytes per row: floats are written by repr
    table = pd.read_csv(csv_path)
    save_png(sweep_figure(table, plan), out / "sweep.png")
    manifest = {
        "rplsim_manifest": 1, "kind": "sweep", "scenario": plan.base.scenario.name,
        "scenario_file": str(getattr(plan.base, "_path", "")), "seed": plan.base.seed,
        "grid": {a: sorted({p.values[a] for p in plan.points}, key=str) for a in plan.axes},
        "points": len(plan.points), "computed": res.computed, "resumed": res.resumed,
        "replicates": plan.replicates, "n_per_arm": plan.n_per_arm, "batch": plan.batch,
        "backend": res.backend, "tasks": res.tasks, "workers_seen": sorted(res.workers_seen),
        "seconds": round(time.perf_counter() - t0, 3),
        "command_line": list(command), "versions": library_versions(),
        "files": [{"name": f, "bytes": (out / f).stat().st_size, "sha256": sha256_file(out / f)}
                  for f in ("points.csv", "sweep.png")],
    }
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, out / "manifest.json")
    return table


# ----------------------------------------------------------------------------- the figure
def sweep_figure(table: pd.DataFrame, plan: SweepPlan) -> Figure:
    """Power (95% CI) and n per arm (or type-I error, when n is fixed) across the grid.

    The x axis is the first numeric axis with more than one value (else the first axis); one
    line per combination of the other axes.
    """
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax_p, ax_r = fig.subplots(1, 2)
    axes = [a for a in plan.axes if a in table.columns]
    numeric = [a for a in axes if pd.api.types.is_numeric_dtype(table[a])
               and table[a].nunique() > 1]
    x = numeric[0] if numeric else (axes[0] if axes else "point_index")
    others = [a for a in axes if a != x]
    right = "n_per_arm" if table["n_per_arm"].nunique() > 1 else "type1_error"
    cats = None if pd.api.types.is_numeric_dtype(table[x]) else sorted(table[x].astype(str).unique())
    groups = table.groupby(others, sort=True) if others else [((), table)]
    for name, g in groups:
        g = g.sort_values(x)
        xs = g[x].to_numpy() if cats is None else [cats.index(str(v)) for v in g[x]]
        label = ", ".join(f"{a.rpartition('.')[2]}={v}" for a, v in
                          zip(others, name if isinstance(name, tuple) else (name,), strict=True))
        err = np.vstack([g["power"] - g["power_ci_low"], g["power_ci_high"] - g["power"]])
        line = ax_p.errorbar(xs, g["power"], yerr=err, marker="o", capsize=3, label=label or None)
        if right == "type1_error":
            err0 = np.vstack([g["type1_error"] - g["type1_ci_low"],
                              g["type1_ci_high"] - g["type1_error"]])
            ax_r.errorbar(xs, g[right], yerr=err0, marker="o", capsize=3,
                          color=line.lines[0].get_color())
        else:
            ax_r.plot(xs, g[right], marker="o", color=line.lines[0].get_color())
    trial = plan.base.trial
    if trial is not None:
        ax_p.axhline(trial.power, color="#7f7f7f", ls="--", lw=1)
        if right == "type1_error":
            ax_r.axhline(trial.alpha, color="#7f7f7f", ls="--", lw=1)
    for ax in (ax_p, ax_r):
        ax.set_xlabel(x)
        if cats is not None:
            ax.set_xticks(range(len(cats)), cats)
        ax.grid(alpha=0.3)
    ax_p.set_ylabel("simulated power (95% Wilson CI)")
    ax_r.set_ylabel("control-arm n (analytic, inflated for dropout)" if right == "n_per_arm"
                    else "type-I error (95% Wilson CI)")
    n_lines = len(groups) if others else 1
    if others and n_lines <= 12:
        ax_p.legend(fontsize=8, title=", ".join(a.rpartition(".")[2] for a in others),
                    title_fontsize=8)
    fig.suptitle(f"{plan.base.scenario.name}: {len(table)} points, {plan.replicates:,} "
                 "replicates each", fontsize=10)
    return fig
