"""Candidate designs side by side over the unknown placebo rate (``rplsim compare``).

Each design (a scenario: fixed, group-sequential, with futility, with blinded re-estimation) keeps
its own n — :func:`rplsim.find_sample_size` at its planned rates, the same n ``rplsim run``
reports (a re-estimation design: the fixed design's n the pilot starts from) — and is run at each
true placebo live-birth rate with its **planned effect held fixed**: the odds ratio of its planned
rates (the difference for a re-estimation design that holds the difference). At each true rate:
power, type-I error (both arms at the true placebo rate), expected women randomised under H0 and
H1, P(stopping early) and, where the scenario has ``[prior]``, its assurance (which does not
depend on the true rate). Every cell is one :func:`rplsim.exact_power` where it covers the design
(no Monte-Carlo error), else one :func:`rplsim.simulate_power` with the scenario's seed at every
true rate (common random numbers along a design's row). Cells are tasks on the sweep executors
(local processes or a Dask cluster); the table does not depend on where they run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rplsim._core.rng import SeedLike, root_entropy
from rplsim._core.text import plain_title
from rplsim.exceptions import ScenarioError
from rplsim.figures.palette import TARGET
from rplsim.scenario import Scenario
from rplsim.sweep.executors import DaskExecutor, LocalExecutor, Task
from rplsim.sweep.tasks import _scenario
from rplsim.trial import exact_applies, exact_power, find_sample_size, simulate_power, trial_design
from rplsim.trial.reestimation import planned_n_per_arm

__all__ = [
    "COMPARE_COLUMNS",
    "DEFAULT_CONTROL_LBR",
    "compare_designs",
    "compare_figure",
    "design_label",
    "write_compare",
]

#: The true placebo live-birth rates of ``rplsim compare`` by default (the evidence range of the
#: placebo arms of RPL IVIG trials is about 0.35-0.63, EVIDENCE.md; 0.75 is above it).
DEFAULT_CONTROL_LBR = (0.45, 0.55, 0.65, 0.75)

#: Columns of :func:`compare_designs`' table (and ``compare.csv``).
COMPARE_COLUMNS = (
    "design",
    "kind",
    "true_control_lbr",
    "true_treatment_lbr",
    "n_per_arm",
    "n_max_per_arm",
    "power",
    "type1_error",
    "expected_n_h0",
    "expected_n_h1",
    "early_stop_h0",
    "early_stop_h1",
    "assurance",
    "method",
    "replicates",
)


def design_label(scenario: Scenario) -> str:
    """What kind of design a scenario's trial is, in a few words (the table's ``kind``)."""
    t = scenario.require_trial()
    if t.reestimation is not None:
        r = t.reestimation
        return f"re-estimation at {r.at:.0%}, cap {r.max_factor:g}x"
    if t.looks > 1:
        fut = "" if t.futility == "none" else f", {t.futility} futility"
        return f"{t.looks} looks ({t.boundary}{fut})"
    return "fixed"


def _truth(scenario: Scenario, control: float) -> float:
    """The treated rate at true placebo rate ``control`` with the design's planned effect."""
    t = scenario.require_trial()
    d = trial_design(scenario)
    if t.reestimation is not None and t.reestimation.effect == "difference":
        out = control + (d.p_treatment - d.p_control)
        if not 0.0 < out < 1.0:
            raise ScenarioError(
                f"{scenario.name}: the planned difference {d.p_treatment - d.p_control:+.3f} puts the "
                f"IVIG rate at {out:.3f} for a placebo rate of {control}; choose other --control-lbr."
            )
        return out
    odds = (d.p_treatment / (1 - d.p_treatment)) / (d.p_control / (1 - d.p_control))
    o = odds * control / (1 - control)
    return o / (1 + o)


def compare_cell(
    scenario_dict: dict[str, Any], n_per_arm: int, truth: tuple[float, float], replicates: int, entropy: int
) -> dict[str, Any]:
    """One design at one true rate: a row of the table (a sweep task; plain data in and out)."""
    t0 = time.perf_counter()
    sc = _scenario(scenario_dict)
    trial = sc.require_trial()
    k = trial.looks
    early = float("nan"), float("nan")
    if exact_applies(sc):
        ex = exact_power(sc, n_per_arm, truth=truth)
        power, type1, method, reps = ex.power, ex.type1_error, "exact", 0
        en = ex.expected_women_null, ex.expected_women
        if k > 1:
            fut1, fut0 = (ex.futility_probability or (0.0,) * k), (ex.futility_probability_null or (0.0,) * k)
            early = (
                float(sum(ex.stop_probability_null[:-1]) + sum(fut0[:-1])),
                float(sum(ex.stop_probability[:-1]) + sum(fut1[:-1])),
            )
    else:
        res = simulate_power(sc, n_per_arm, replicates, seed=entropy, truth=truth)
        power, type1, method, reps = res.power, res.type1_error, "simulated", res.replicates
        en = res.expected_n_h0, res.expected_n_h1
        if k > 1:
            early = (
                float(sum(res.stop_probability_null[:-1]) + sum(res.futility_probability_null[:-1])),
                float(sum(res.stop_probability[:-1]) + sum(res.futility_probability[:-1])),
            )
    if k == 1:
        early = (0.0, 0.0)
    n_t = math.ceil(trial.allocation_ratio * n_per_arm - 1e-9)
    n_max = n_per_arm
    if trial.reestimation is not None:
        n_max = math.floor(trial.reestimation.max_factor * n_per_arm + 1e-9)
    return {
        "true_control_lbr": float(truth[0]),
        "true_treatment_lbr": float(truth[1]),
        "n_per_arm": int(n_per_arm),
        "n_treatment": int(n_t),
        "n_max_per_arm": int(n_max),
        "power": float(power),
        "type1_error": float(type1),
        "expected_n_h0": float(en[0]),
        "expected_n_h1": float(en[1]),
        "early_stop_h0": early[0],
        "early_stop_h1": early[1],
        "method": method,
        "replicates": int(reps),
        "seconds": time.perf_counter() - t0,
    }


def _design_n(scenario: Scenario, replicates: int | None, seed: SeedLike) -> int:
    """The design's n, as ``rplsim run`` finds it (a re-estimation design's: the planned n)."""
    t = scenario.require_trial()
    if t.n_per_arm:
        return int(t.n_per_arm)
    if t.reestimation is not None:
        return planned_n_per_arm(scenario)
    return int(find_sample_size(scenario, replicates=replicates, seed=seed).n_per_arm)


def _assurance(scenario: Scenario, n: int) -> float:
    if scenario.prior is None:
        return float("nan")
    from rplsim.trial.assurance import assurance  # the prior's probability of success at n

    try:
        return float(assurance(scenario, n).assurance)
    except ScenarioError:  # e.g. a re-estimation design: not computed (said in the docs)
        return float("nan")


def compare_designs(
    scenarios: Sequence[Scenario],
    control_lbr: Sequence[float] = DEFAULT_CONTROL_LBR,
    *,
    replicates: int | None = None,
    seed: SeedLike = None,
    workers: int | None = 1,
    scheduler: str | None = None,
    client: Any = None,
    on_cell: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Power, type-I error, expected n and early stopping of each design at each true placebo rate.

    Parameters
    ----------
    scenarios : sequence of Scenario
        The designs, each with ``[trial]``; names must differ (they label the rows).
    control_lbr : sequence of float, default (0.45, 0.55, 0.65, 0.75)
        True placebo live-birth rates, each in (0, 1); the IVIG rate follows from each design's
        planned odds ratio (see the module doc).
    replicates : int, optional
        Simulated trials per cell where a cell is simulated (default each ``trial.replicates``).
    seed : int, optional
        Root seed (default each scenario's).
    workers : int or None, default 1
        Local processes for the cells (None: one per CPU); results do not depend on it.
    scheduler, client : optional
        A Dask scheduler address or client instead (``rplsim sweep``'s executors).
    on_cell : callable, optional
        ``on_cell(done, total)`` after each cell (progress bars).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARE_COLUMNS` (plus ``n_treatment`` and ``seconds``), one row per design
        and true rate, designs in the order given. ``expected_n_*`` are women randomised (both
        arms); ``early_stop_*`` P(stopping before the final analysis, for efficacy or futility).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> t = compare_designs([load_scenario("scenarios/paper.toml")], control_lbr=[0.6, 0.7])
    >>> t[["design", "true_control_lbr", "n_per_arm", "method"]].values.tolist()
    [['paper', 0.6, 83, 'exact'], ['paper', 0.7, 83, 'exact']]
    >>> bool(t.power.iloc[1] < 0.8)  # the fixed design loses power if placebo does better
    True
    """
    if not scenarios:
        raise ScenarioError("compare needs at least one scenario.")
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScenarioError(
            f"scenario names {', '.join(dupes)} appear twice: each design needs its own [scenario] name."
        )
    rates = [float(c) for c in control_lbr]
    if not rates or any(not 0.0 < c < 1.0 for c in rates):
        raise ScenarioError(f"--control-lbr {rates}: each true placebo rate must lie in (0, 1).")
    plans = []
    for sc in scenarios:
        trial = sc.require_trial()
        n = _design_n(sc, replicates, seed)
        entropy = root_entropy(sc.seed if seed is None else seed)
        reps = int(trial.replicates if replicates is None else replicates)
        truths = [(c, _truth(sc, c)) for c in rates]
        plans.append((sc, n, entropy, reps, truths, _assurance(sc, n)))
    tasks = [
        Task(compare_cell, (sc.to_dict(), n, truth, reps, entropy), {}, (i, j), f"{sc.name}@{truth[0]:g}")
        for i, (sc, n, entropy, reps, truths, _a) in enumerate(plans)
        for j, truth in enumerate(truths)
    ]
    backend: Any = (
        DaskExecutor(scheduler, client)
        if scheduler or client is not None
        else LocalExecutor(workers, tasks=len(tasks))
    )
    cells: dict[tuple[int, int], dict[str, Any]] = {}
    try:
        for task, row in backend.run(tasks):
            cells[task.point] = row
            if on_cell:
                on_cell(len(cells), len(tasks))
    finally:
        backend.close()
    rows = []
    for i, (sc, _n, _e, _r, truths, assur) in enumerate(plans):
        for j in range(len(truths)):
            rows.append({"design": sc.name, "kind": design_label(sc), **cells[i, j], "assurance": assur})
    table = pd.DataFrame(rows)
    extra = [c for c in table.columns if c not in COMPARE_COLUMNS]
    return table[list(COMPARE_COLUMNS) + extra]


#: One colour per design (Okabe-Ito, colour-blind safe), then repeated with other markers.
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")


def compare_figure(table: pd.DataFrame, *, target_power: float | None = 0.8) -> Figure:
    """Power (left) and expected women randomised (right) against the true placebo rate, one
    line per design (:func:`compare_designs`' table); every text from a scenario drawn as
    written (:func:`rplsim._core.text.plain_title`)."""
    fig = Figure(figsize=(11.0, 5.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax_p, ax_n = fig.subplots(1, 2)
    designs = list(dict.fromkeys(table["design"]))
    markers = "osD^vP*X"
    for k, name in enumerate(designs):
        d = table[table["design"] == name].sort_values("true_control_lbr")
        colour, m = _COLOURS[k % len(_COLOURS)], markers[k % len(markers)]
        label = plain_title(f"{name}: {d['kind'].iloc[0]}, n = {int(d['n_per_arm'].iloc[0])}/arm")
        # earlier designs drawn wider and below, so a line on top of another still shows
        style = {
            "marker": m,
            "color": colour,
            "lw": 1.2 + 2.4 * (len(designs) - 1 - k) / max(1, len(designs) - 1),
            "ms": 5 + 3 * (len(designs) - 1 - k) / max(1, len(designs) - 1),
            "zorder": 2 + k,
        }
        ax_p.plot(d["true_control_lbr"], d["power"], label=label, **style)
        ax_n.plot(d["true_control_lbr"], d["expected_n_h1"], **style)
        ax_n.plot(d["true_control_lbr"], d["expected_n_h0"], ls=":", mfc="white", **style)
    if target_power is not None:
        ax_p.axhline(target_power, color=TARGET, lw=0.9, ls="--", label=f"target power {target_power:.0%}")
    low = float(table["power"].min())
    ax_p.set_ylim(max(0.0, math.floor((low - 0.05) * 10) / 10), 1.0)
    ax_p.set_ylabel("power (the planned odds ratio held)")
    ax_p.set_title("Power")
    ax_n.set_ylabel("expected women randomised (both arms)")
    ax_n.set_title("Expected size: solid if IVIG works, dotted under H0")
    for ax in (ax_p, ax_n):
        ax.set_xlabel("true placebo live-birth rate")
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    ax_p.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
    fig.legend(
        *ax_p.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=8, frameon=False
    )
    fig.suptitle("Designs compared over the unknown placebo live-birth rate")
    return fig


def write_compare(
    table: pd.DataFrame,
    out: str | Path,
    *,
    force: bool = False,
    formats: Sequence[str] = ("png", "svg"),
    manifest: dict[str, Any] | None = None,
) -> Path:
    """Write ``out/compare.csv``, ``out/compare.png`` (and the other ``formats``) and
    ``manifest.json`` atomically (:func:`rplsim.outputs.folder.results_folder`): a folder that
    exists is replaced only with ``force``, and only once the new one is complete.

    Returns
    -------
    Path
        ``out``.
    """
    from rplsim.figures.base import save_figure
    from rplsim.outputs.folder import results_folder, round_significant

    out = Path(out)
    with results_folder(out, force=force, manifest=manifest) as folder:
        folder.table(
            "compare", round_significant(table.drop(columns=["seconds"], errors="ignore")), parquet=False
        )
        for fmt in formats:
            folder.path(f"compare.{fmt}")  # listed in the manifest
        save_figure(compare_figure(table), folder.tmp / "compare", formats)
    return out
