"""Render a computed run into its results folder: tables, figures, ``report.md``, manifest.

:func:`write_run` takes the in-memory :class:`~rplsim.planning.stages.RunResult` of
:func:`~rplsim.planning.stages.run_stages` and computes nothing itself. The folder is written
atomically (:func:`rplsim.outputs.folder.results_folder`): an interrupted run leaves nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rplsim.outputs import plots
from rplsim.outputs.folder import ResultsFolder, results_folder
from rplsim.outputs.report import Link, build_report, stage_answer
from rplsim.paper import paper_funnel
from rplsim.planning.stages import RunResult, TrialStage
from rplsim.scenario import Scenario, scenario_path
from rplsim.trial.curve import design_label

__all__ = ["render_run", "run_manifest", "summary_lines", "write_run"]


_FORMULA = {"normal": "normal-approximation"}  # sensitivity n_method -> its name in a title


def _n_text(n: float) -> str:
    return f"{n:,.0f} randomised per arm" if math.isfinite(n) else "no n (IVIG not better)"


def summary_lines(result: RunResult) -> list[str]:
    """One line per stage of ``result`` (the Summary of ``report.md``).

    Parameters
    ----------
    result : RunResult

    Returns
    -------
    list of str
    """
    cohort, cal, tl = result.cohort, result.calibration, result.timeline
    counts = cohort["stratum"].value_counts().reindex(["KN", "KA", "IN", "IA"])
    out = [f"cohort: {len(cohort)} women, strata " + ", ".join(f"{k} {v}" for k, v in counts.items())]
    missed = cal[~cal["within"] & cal["followed"]]
    out.append(f"calibration: {len(cal)} targets, {len(missed)} outside the 99% tolerance (listed below)")
    an = tl.outcomes[tl.outcomes["analysed"]]
    lbr = an.groupby("stratum", observed=True)["outcome"].apply(lambda s: (s == "live_birth").mean())
    c = tl.clinic
    out.append(
        "timeline: live-birth rate "
        + ", ".join(f"{k} {v:.1%}" for k, v in lbr.items())
        + f"; {c['infusions']} infusions, {c['total_ivig_grams'] / 1000:.1f} kg "
        f"IVIG, chair utilisation {c['chair_utilisation']:.1%}, mean wait "
        f"{c['mean_wait_hours']:.2f} h"
    )
    if result.trial is not None:
        p, ex = result.trial.power, result.trial.exact
        simulated = (
            f"{p.power:.3f} (95% CI {p.power_ci[0]:.3f}-{p.power_ci[1]:.3f}; {p.replicates:,} "
            f"simulated trials), type-I error {p.type1_error:.4f}"
        )
        head = (
            f"exact {ex.power:.4f}, exact type-I error {ex.type1_error:.4f}; simulated check {simulated}"
            if ex is not None
            else simulated
        )
        out.append(
            f"power: {head}; at {p.n_control}/{p.n_treatment} randomised; analytic power "
            f"{p.analytic_power:.3f}"
        )
    return out


def run_manifest(
    sc: Scenario, calibration_replicates: int, trial_replicates: int | None, command: Sequence[str] = ()
) -> dict[str, Any]:
    """The run's own entries of ``manifest.json`` (files, versions and times are added on writing).

    Known before any stage runs (:func:`rplsim.planning.stages.stage_replicates` gives the
    replicates), so the results folder can be opened, and its start time taken, first.

    Parameters
    ----------
    sc : Scenario
    calibration_replicates : int
    trial_replicates : int or None
    command : sequence of str
        The command line (left out when empty).

    Returns
    -------
    dict
    """
    manifest: dict[str, Any] = {
        "scenario_file": scenario_path(sc),
        "scenario_name": sc.name,
        "scenario_sha256": sc.digest(),
        "seed": sc.seed,
        "resolved_scenario": sc.to_dict(),
        "calibration_replicates": calibration_replicates,
        "trial_replicates": trial_replicates,
    }
    if command:
        manifest["command_line"] = list(command)
    return manifest


class _Writer:
    """The results folder of one run, with the figure and table links of its report."""

    def __init__(self, folder: ResultsFolder) -> None:
        self.folder = folder
        self.figures: list[Link] = []
        self.tables: list[Link] = []

    def table(self, name: str, df: pd.DataFrame, caption: str | None = None) -> None:
        self.folder.table(name, df)
        self.tables.append((caption or name.replace("_", " "), f"{name}.csv"))

    def figure(self, name: str, fig: Any) -> None:
        plots.save_png(fig, self.folder.path(f"{name}.png"))
        self.figures.append((name.replace("_", " "), f"{name}.png"))


def _write_stages(w: _Writer, result: RunResult) -> None:
    """Cohort, calibration and timeline: tables and figures, in the order of the report."""
    tl = result.timeline
    name = result.scenario.name
    w.table("cohort", result.cohort)
    w.table("calibration", result.calibration, "calibration against the paper")
    w.figure(
        "calibration",
        plots.calibration_panel(
            result.calibration,
            subtitle=f"{name}: {result.calibration_replicates:,} simulated cohorts of the paper's size",
        ),
    )
    w.table("events", tl.events, "timeline events")
    w.table("outcomes", tl.outcomes)
    w.table("clinic", pd.DataFrame([tl.clinic]), "clinic load")
    w.figure("ivig_dose", plots.ivig_dose_histogram(tl.outcomes, subtitle=name))
    w.figure("timeline", plots.timeline_chart(tl.events, tl.outcomes, subtitle=name))
    w.figure(
        "paper_funnel",
        plots.flow_diagram(
            paper_funnel(), title="The paper's enrolment (Figure 1)", subtitle="Han et al. 2025"
        ),
    )


def _write_trial(w: _Writer, scenario: Scenario, tr: TrialStage) -> None:
    """Power, power curve, feasibility and sensitivity tables and their figures."""
    assert scenario.trial is not None
    w.table("power", tr.power_table())
    w.table("power_curve", tr.curve)
    w.table("feasibility", tr.feasibility.as_frame())
    sens = tr.sensitivity
    if sens is not None:
        w.table("sensitivity", sens)
    w.figure(
        "power_curve",
        plots.power_curve(
            tr.curve,
            chosen_n=tr.power.n_control,
            target_power=scenario.trial.power,
            subtitle=design_label(scenario),
        ),
    )
    if sens is not None:
        refs = sens[sens["label"] != ""]
        points = [
            (f"{r.label}: {_n_text(r.n_per_arm)}", r.control_lbr, r.treatment_lbr) for r in refs.itertuples()
        ]
        formulas = ", ".join(
            sorted(
                {_FORMULA.get(m, m) for m in sens["n_method"] if isinstance(m, str) and m not in ("", "run")}
            )
        )
        w.figure(
            "sensitivity",
            plots.sensitivity_heatmap(
                sens[sens["label"] == ""],
                points=points,
                method=f"the {formulas} formula, inflated for {scenario.trial.dropout:.0%} dropout",
                subtitle=design_label(scenario),
            ),
        )
    w.figure(
        "screening_funnel",
        plots.flow_diagram(tr.funnel, title="Screening flow of the trial", subtitle=design_label(scenario)),
    )


def render_run(folder: ResultsFolder, result: RunResult) -> str:
    """Write the tables, figures and ``report.md`` of ``result`` into an open results folder.

    Parameters
    ----------
    folder : ResultsFolder
        From :func:`rplsim.outputs.folder.results_folder` (which adds the manifest on closing).
    result : RunResult

    Returns
    -------
    str
        The answer and a line per stage (also at the top of ``report.md``), as plain text.
    """
    sc = result.scenario
    summary = summary_lines(result)
    answer = plain = None
    if result.trial is not None:
        tr = result.trial
        answer = stage_answer(sc, tr)
        # the terminal gets the scenario's words as written, not Markdown-escaped
        plain = stage_answer(sc, tr, markdown=False)
    w = _Writer(folder)
    _write_stages(w, result)
    if result.trial is not None:
        _write_trial(w, sc, result.trial)
    folder.text(
        "report.md",
        build_report(
            sc,
            summary_lines=summary,
            calibration=result.calibration,
            answer=answer,
            figures=w.figures,
            tables=w.tables,
        ),
    )
    return "\n".join(([plain] if plain else []) + summary)


def write_run(result: RunResult, out: str | Path, *, force: bool = False, command: Sequence[str] = ()) -> str:
    """Write the results folder ``out`` of a computed run (atomically).

    Parameters
    ----------
    result : RunResult
        From :func:`rplsim.run_stages`.
    out : str or Path
        Results folder to create.
    force : bool
        Replace ``out`` if it exists.
    command : sequence of str
        The command line, for the manifest.

    Returns
    -------
    str
        The answer and a line per stage (also at the top of ``report.md``).

    Raises
    ------
    ResultsExistError
        If ``out`` exists and ``force`` is False.
    """
    manifest = run_manifest(result.scenario, result.calibration_replicates, result.trial_replicates, command)
    with results_folder(out, force=force, manifest=manifest) as folder:
        return render_run(folder, result)
