"""Power over a grid of scenarios (``rplsim sweep``), on local processes or a Dask cluster.

A sweep is the Cartesian product of the ``[sweep] grid`` axes (dotted scenario keys → lists of
values, plus ``--grid`` flags). Every point is one scenario, built with
:func:`rplsim.scenario.load_scenario` and validated before anything runs
(:mod:`rplsim.sweep.grid`). The work is split into tasks (:mod:`rplsim.sweep.tasks`) — first one
:func:`prepare_point` per point (the trial's rates and the analytic n), then one
:func:`run_batch` per (point, batch of replicate blocks) — and handed to a
:class:`concurrent.futures.ProcessPoolExecutor` or to ``distributed.Client.submit``; rplsim does
no scheduling, retrying or data transfer of its own.

Reproducibility: a point's root entropy comes from its scenario seed and its canonical key
(``trial.analysis=fisher;trial.control_lbr=0.6``), and its replicates are simulated in keyed
blocks of :data:`rplsim.trial.REPLICATE_BLOCK` by the engine of :mod:`rplsim.power`. Each task
returns integer counts, which are summed; so a point's numbers are the same for any number of
workers, any backend, any batch size, and whichever other points are in the grid.

Results stream into ``points.csv`` (a row as soon as all batches of a point are in,
:mod:`rplsim.sweep.store`), so an interrupted sweep keeps what it finished and ``resume=True``
computes only the rest. The folder is locked and, with ``force``, replaced atomically exactly
like a run's results folder (:mod:`rplsim.outputs.folder`): ``sweep --force`` streams into a
temporary sibling, and the old folder stays untouched until the new sweep has finished.
"""

from __future__ import annotations

import csv
import shutil
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rplsim.exceptions import ScenarioError
from rplsim.outputs.folder import library_versions, locked_target, swap_in, temp_sibling, write_manifest
from rplsim.outputs.plots import save_png
from rplsim.sweep.executors import DaskExecutor, LocalExecutor, Task
from rplsim.sweep.grid import SweepPlan, SweepPoint, _canonical
from rplsim.sweep.store import POINTS_CSV, kept_rows, replaces, sort_points_csv, start_points_csv
from rplsim.sweep.tasks import point_row, prepare_point, run_batch
from rplsim.trial.simulation import REPLICATE_BLOCK

__all__ = ["SweepResult", "run_sweep", "sweep_figure"]

Backend = LocalExecutor | DaskExecutor


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


def run_sweep(
    plan: SweepPlan,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    batch: int | None = None,
    resume: bool = False,
    force: bool = False,
    on_point: Callable[[int, int], None] | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    command: Sequence[str] = (),
    say: Callable[[str], None] | None = None,
) -> SweepResult:
    """Simulate every point of ``plan`` and write ``out/points.csv``, ``sweep.png``, ``manifest.json``.

    The sweep holds ``out``'s exclusive lock (:func:`rplsim.outputs.folder.locked_target`)
    from before it looks at ``out`` until its folder is complete, and first repairs what a
    killed run left beside ``out``. Into a new (or empty) folder, or with ``resume``, it
    streams into ``out`` itself, a row as each point finishes. With ``force`` over an existing
    sweep folder it streams into a temporary sibling and swaps it in only at the end, so the
    old points.csv, sweep.png and manifest.json stay untouched until then; an interrupted
    ``force`` sweep leaves them as they were and its own partial points are discarded.

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
        rest. Rows of points no longer in the grid are dropped. Without it (or ``force``), an
        existing points.csv is an error.
    force : bool
        Start over, replacing an existing sweep folder (only once the new one is complete).
    on_point : callable, optional
        ``on_point(done, total)`` after each point's row is written (progress bars).
    on_result : callable, optional
        Called with every task's result as it arrives (tests, monitoring).
    command : sequence of str
        The command line, for the manifest.
    say : callable, optional
        One-line notes (dropped rows, a killed run's leftovers); default :func:`warnings.warn`.

    Returns
    -------
    SweepResult

    Raises
    ------
    ResultsExistError
        Another run is writing ``out``; ``out/points.csv`` exists and neither ``resume`` nor
        ``force`` is given; or ``out`` is not a sweep folder (a run's, someone else's, a link).
    ScenarioError
        A point whose rates cannot be met (every such point, before any simulation), or a
        points.csv from another sweep with ``resume``.
    """
    t0 = time.perf_counter()
    out = Path(out)
    plan = _with_batch(plan, batch)
    tell = say if say is not None else _warn
    with locked_target(out, say=tell):
        kept = kept_rows(plan, out, resume=resume, force=force, say=tell)
        replacing = replaces(out, force=force)
        todo = [p for p in plan.points if p.key not in kept]
        backend: Backend = (
            DaskExecutor(scheduler, client)
            if scheduler or client is not None
            else LocalExecutor(workers, tasks=len(todo) * len(plan.batches()))
        )
        res = SweepResult(
            table=pd.DataFrame(),
            out=out,
            computed=0,
            resumed=len(kept),
            tasks=0,
            seconds=0.0,
            backend=backend.label,
        )
        work: Path | None = None
        try:
            try:
                preps = _prepare(plan, todo, backend, res, on_result)
                # Only now, with every point known to be good, touch a folder: rewrite what is
                # kept, then append as points finish.
                work = temp_sibling(out) if replacing else out
                res.out = work
                start_points_csv(plan, work, kept.values())
                _simulate(plan, todo, preps, backend, res, on_point, on_result)
            finally:
                backend.close()
            res.table = _finish(plan, work, res, command, t0)
            if replacing:
                swap_in(work, out, force=True)
            res.out = out
        finally:
            if replacing and work is not None and work.exists():
                shutil.rmtree(work, ignore_errors=True)
    res.seconds = time.perf_counter() - t0
    return res


def _warn(message: str) -> None:
    warnings.warn(message, stacklevel=3)


def _with_batch(plan: SweepPlan, batch: int | None) -> SweepPlan:
    """``plan`` with ``batch`` replicates per task (checked), or as it is."""
    if batch is None:
        return plan
    if batch < REPLICATE_BLOCK or batch % REPLICATE_BLOCK:
        raise ScenarioError(f"--batch == {batch}, must be a positive multiple of {REPLICATE_BLOCK}.")
    return SweepPlan(plan.base, plan.axes, plan.points, plan.n_per_arm, plan.replicates, batch)


def _simulate(
    plan: SweepPlan,
    todo: list[SweepPoint],
    preps: dict[str, dict[str, Any]],
    backend: Backend,
    res: SweepResult,
    on_point: Callable[[int, int], None] | None,
    on_result: Callable[[dict[str, Any]], None] | None,
) -> None:
    """Run every batch of ``todo`` and append each point's row to points.csv once all are in."""
    total = len(plan.points)
    with open(res.out / POINTS_CSV, "a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, plan.columns)
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
                writer.writerow(point_row(plan, point, preps[point.key], got))
                fh.flush()  # a row on disk as soon as its point is done: --resume sees it
                del parts[point.key]
                res.computed += 1
                if on_point:
                    on_point(res.resumed + res.computed, total)


def _prepare(
    plan: SweepPlan,
    todo: list[SweepPoint],
    backend: Backend,
    res: SweepResult,
    on_result: Callable[[dict[str, Any]], None] | None,
) -> dict[str, dict[str, Any]]:
    """Resolve every point's trial (in parallel) and fail on any bad one before simulating."""
    tasks = (
        Task(
            prepare_point,
            (p.scenario_dict(), plan.n_per_arm, p.entropy),
            {},
            p,
            f"rplsim-prepare-{p.digest[:16]}",
        )
        for p in todo
    )
    preps: dict[str, dict[str, Any]] = {}
    for t, r in backend.run(tasks):
        res.tasks += 1
        res.task_seconds += r.get("seconds", 0.0)
        preps[t.point.key] = r
    bad = [
        f"{plan.base.scenario.name} [point {p.key}]: {preps[p.key]['error']}"
        for p in todo
        if "error" in preps[p.key]
    ]
    if bad:
        raise ScenarioError(bad)
    return preps


def _batch_tasks(plan: SweepPlan, todo: list[SweepPoint], preps: dict[str, dict[str, Any]]) -> Iterator[Task]:
    for p in todo:
        pr = preps[p.key]
        d = p.scenario_dict()
        for blocks in plan.batches():
            yield Task(
                run_batch,
                (d, p.key, pr["n_per_arm"], blocks, p.entropy),
                {
                    "replicates": plan.replicates,
                    "n_treatment": pr["n_treatment"],
                    "design": pr["design"],
                    "path": pr["path"],
                },
                p,
                f"rplsim-batch-{p.digest[:16]}-{blocks[0]}",
            )


def _finish(plan: SweepPlan, out: Path, res: SweepResult, command: Sequence[str], t0: float) -> pd.DataFrame:
    """Rewrite points.csv in grid order, draw sweep.png, write manifest.json."""
    sort_points_csv(plan, out)
    table = pd.read_csv(out / POINTS_CSV)
    save_png(sweep_figure(table, plan), out / "sweep.png")
    _write_manifest(plan, out, res, command, t0)
    return table


def _axis_values(plan: SweepPlan, axis: str) -> list[Any]:
    """The distinct values of one axis (a list-valued key's values are lists: not hashable)."""
    seen: dict[str, Any] = {}
    for p in plan.points:
        seen.setdefault(_canonical(p.values[axis]), p.values[axis])
    return sorted(seen.values(), key=str)


def _write_manifest(plan: SweepPlan, out: Path, res: SweepResult, command: Sequence[str], t0: float) -> None:
    manifest = {
        "rplsim_manifest": 1,
        "kind": "sweep",
        "complete": True,
        "scenario": plan.base.scenario.name,
        "scenario_file": str(getattr(plan.base, "_path", "")),
        "seed": plan.base.seed,
        "grid": {a: _axis_values(plan, a) for a in plan.axes},
        "points": len(plan.points),
        "computed": res.computed,
        "resumed": res.resumed,
        "replicates": plan.replicates,
        "n_per_arm": plan.n_per_arm,
        "batch": plan.batch,
        "backend": res.backend,
        "tasks": res.tasks,
        "workers_seen": sorted(res.workers_seen),
        "seconds": round(time.perf_counter() - t0, 3),
        "command_line": list(command),
        "versions": library_versions(),
    }
    write_manifest(out, manifest, ("points.csv", "sweep.png"))


# ----------------------------------------------------------------------------- the figure
AXIS_LABELS = {
    "trial.n_per_arm": "women randomised per arm",
    "trial.control_lbr": "placebo live-birth rate",
    "trial.treatment_lbr": "IVIG live-birth rate",
    "trial.ivig_odds_ratio": "IVIG odds ratio",
    "trial.dropout": "dropout (share of randomised women)",
    "trial.analysis": "analysis",
    "trial.alpha": "significance level (alpha)",
    "trial.power": "target power",
    "trial.looks": "number of looks",
    "trial.boundary": "stopping boundary",
    "trial.allocation_ratio": "allocation ratio (IVIG : placebo)",
    "trial.margin": "non-inferiority margin",
    "trial.block_size": "randomisation block size",
    "trial.alternative": "alternative hypothesis",
    "recruitment.consent_share": "consent share",
    "recruitment.centres": "centres",
}
"""Plain-language names of the scenario keys a sweep usually varies (figure axes and legends)."""


def axis_label(key: str) -> str:
    """A readable name for a dotted scenario key (:data:`AXIS_LABELS`, else its last part).

    Examples
    --------
    >>> axis_label("trial.n_per_arm"), axis_label("cohort.mean_age")
    ('women randomised per arm', 'mean age')
    """
    return AXIS_LABELS.get(key, key.rpartition(".")[2].replace("_", " "))


def sweep_figure(table: pd.DataFrame, plan: SweepPlan) -> Figure:
    """Power (95% CI, with the formula's power dashed) and n per arm or type-I error across the grid.

    The x axis is the first numeric axis with more than one value (else the first axis); one
    line per combination of the other axes. The right panel shows the n per arm when it
    varies with something other than the x axis (labelled "analytic" only when the formula
    chose it), else the simulated type-I error. Every text from the scenario or the grid is
    drawn as written (:func:`rplsim._core.text.plain_title`): a ``$`` is never mathtext.
    """
    from rplsim._core.text import plain_title

    fig = Figure(figsize=(11, 4.4), layout="constrained")
    FigureCanvasAgg(fig)
    ax_p, ax_r = fig.subplots(1, 2)
    axes = [a for a in plan.axes if a in table.columns]
    numeric = [a for a in axes if pd.api.types.is_numeric_dtype(table[a]) and table[a].nunique() > 1]
    x = numeric[0] if numeric else (axes[0] if axes else "point_index")
    others = [a for a in axes if a != x]
    n_is_x = x == "trial.n_per_arm"
    right = "n_per_arm" if table["n_per_arm"].nunique() > 1 and not n_is_x else "type1_error"
    analytic_n = plan.n_per_arm is None and "trial.n_per_arm" not in axes
    trial = plan.base.trial
    analytic_n = analytic_n and (trial is None or trial.n_per_arm is None)
    cats = None if pd.api.types.is_numeric_dtype(table[x]) else sorted(table[x].astype(str).unique())
    groups = table.groupby(others, sort=True) if others else [((), table)]
    for name, g in groups:
        g = g.sort_values(x)
        xs = g[x].to_numpy() if cats is None else [cats.index(str(v)) for v in g[x]]
        label = plain_title(", ".join(str(v) for v in (name if isinstance(name, tuple) else (name,))))
        err = np.vstack([g["power"] - g["power_ci_low"], g["power_ci_high"] - g["power"]])
        line = ax_p.errorbar(xs, g["power"], yerr=err, marker="o", capsize=3, label=label or "simulated")
        colour = line.lines[0].get_color()
        if "analytic_power" in g.columns and g["analytic_power"].notna().any():
            ax_p.plot(xs, g["analytic_power"], ls="--", lw=1, color=colour, alpha=0.8)
        if right == "type1_error":
            err0 = np.vstack([g["type1_error"] - g["type1_ci_low"], g["type1_ci_high"] - g["type1_error"]])
            ax_r.errorbar(xs, g[right], yerr=err0, marker="o", capsize=3, color=colour)
        else:
            ax_r.plot(xs, g[right], marker="o", color=colour)
    if trial is not None:
        ax_p.axhline(trial.power, color="#7f7f7f", ls=":", lw=1)
        if right == "type1_error":
            ax_r.axhline(trial.alpha, color="#7f7f7f", ls=":", lw=1)
    for ax in (ax_p, ax_r):
        ax.set_xlabel(plain_title(axis_label(x)))
        if cats is not None:
            ax.set_xticks(range(len(cats)), [plain_title(c, 40) for c in cats])
        ax.grid(alpha=0.3)
    ax_p.set_ylabel("power\n(simulated, 95% Wilson CI; dashed: formula)")
    if right == "n_per_arm":
        how = "formula n, inflated for dropout" if analytic_n else "as set"
        ax_r.set_ylabel(f"women randomised per arm\n({how})")
    else:
        ax_r.set_ylabel("type-I error\n(simulated, 95% Wilson CI)")
    n_lines = len(groups) if others else 1
    handles, labels = ax_p.get_legend_handles_labels()
    if others and n_lines <= 12:
        from matplotlib.lines import Line2D

        handles = [*handles, Line2D([], [], ls=":", color="#7f7f7f")]
        labels = [*labels, f"target power {trial.power:g}" if trial is not None else ""]
        fig.legend(
            handles,
            labels,
            loc="outside lower center",
            ncol=min(len(labels), 5),
            fontsize=8,
            frameon=False,
            title=plain_title(", ".join(a.rpartition(".")[2].replace("_", " ") for a in others)),
            title_fontsize=8,
        )
    fig.suptitle(
        f"{plain_title(plan.base.scenario.name)}: {len(table)} points, {plan.replicates:,} replicates each",
        fontsize=10,
    )
    return fig
