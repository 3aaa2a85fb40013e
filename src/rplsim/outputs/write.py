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

from rplsim import figures
from rplsim.calibration.compare import missed_targets
from rplsim.outputs import plots
from rplsim.outputs.folder import ResultsFolder, results_folder
from rplsim.outputs.html import build_html
from rplsim.outputs.report import (
    FigureFiles,
    Link,
    dose_cost_note,
    render_markdown,
    report_blocks,
    stage_answer,
)
from rplsim.paper import paper_funnel
from rplsim.planning.stages import RunResult, TrialStage
from rplsim.scenario import Scenario, scenario_path
from rplsim.trial.curve import design_label

__all__ = ["FIGURE_ORDER", "figure_captions", "render_run", "run_manifest", "summary_lines", "write_run"]

#: The order of the figures in the report: the answer's first, the model's checks after.
FIGURE_ORDER = (
    "assurance",
    "recruitment",
    "centres",
    "assumptions",
    "power_curve",
    "sensitivity",
    "screening_funnel",
    "calibration",
    "ivig_dose",
    "timeline",
    "paper_funnel",
)

#: Misses named one by one in the terminal summary before "and K more".
MISSES_LISTED = 10


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
    missed = missed_targets(cal)
    names = [str(t) for t in missed["target"].iloc[:MISSES_LISTED]]
    more = f" and {len(missed) - MISSES_LISTED} more (calibration.csv)" if len(missed) > MISSES_LISTED else ""
    listed = f": {', '.join(names)}{more}" if names else ""
    out.append(f"calibration: {len(cal)} targets, {len(missed)} outside the 99% tolerance{listed}")
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
        a = result.trial.assurance
        if a is not None:
            out.append(
                "assurance: "
                + "; ".join(
                    f"{x.label} {x.at_n.assurance:.3f} ({x.at_n.method}, ceiling "
                    f"{x.at_n.prior_probability_benefit:.3f})"
                    for x in a.answers
                )
                + f" at {a.n_per_arm} per arm"
            )
    return out


def _write_calendar(w: Any, sc: Scenario, cal: Any) -> None:
    """``calendar.csv``, ``calendar_events.csv``, ``recruitment.png`` and ``centres.png`` of a trial
    on the calendar."""
    from rplsim.trial.calendar_des import simulate_calendar_des

    w.table("calendar", cal.summary_table(), "the trial on the calendar")
    t = cal.trials
    looks = [
        float(t[f"look{k}_years"].median()) for k in range(1, sum(c.endswith("_pipeline") for c in t) + 1)
    ]
    acc = cal.accrual
    w.figure(
        "recruitment",
        figures.recruitment_chart(
            cal.randomised_times, cal.known_times, looks, centres=acc.centres, subtitle=_subtitle(sc)
        ),
    )
    # one trial's events, from the SimPy engine: the centres, the looks and the chairs' load
    _, log = simulate_calendar_des(sc, cal.n_control, 1, log=True)
    w.table("calendar_events", log, "the event log of one simulated trial (SimPy)")
    w.figure("centres", figures.centres_chart(log, subtitle=_subtitle(sc)))


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


def figure_captions(result: RunResult) -> dict[str, str]:
    """The caption of every figure of a run, by figure name (numbers from the run itself)."""
    cal = result.calibration
    missed = len(missed_targets(cal))
    out = {
        "calibration": f"Calibration against the paper: each of the {len(cal)} targets, by the table it "
        f"comes from; the distance of the simulated value from the paper's in units of its 99% tolerance "
        f"(inside the band: within; {missed} followed readings outside).",
        "ivig_dose": "Total IVIG dose per treated woman in the simulated timeline, by stratum, against "
        "the paper's Table 1.",
        "timeline": "The index pregnancies of the first women of the cohort through the protocol: one row "
        "a woman (stratum, IVIG or not), one marker an event, by gestational week.",
        "paper_funnel": "The paper's enrolment (Figure 1) as a flow diagram: women seen, excluded at each "
        "step, and analysed.",
    }
    tr = result.trial
    if tr is not None:
        t = result.scenario.require_trial()
        method = "exact" if tr.exact_n is not None else "simulated"
        out |= {
            "power_curve": (
                f"Power of the fixed design (without re-estimation) against women randomised per arm "
                f"({method}); the planned n ({tr.power.n_control} per arm) and the {t.power:.0%} target "
                "marked."
                if t.reestimation is not None
                else f"Power against women randomised per arm ({method}); the chosen n "
                f"({tr.power.n_control} per arm) and the {t.power:.0%} target marked."
            ),
            "sensitivity": "Women randomised per arm needed over the placebo and IVIG live-birth rates "
            "(formula inflated for dropout; the scenario's own cell outlined, its n the run's); "
            "literature rates marked.",
            "screening_funnel": "The trial's screening funnel: women to screen at each step and the share "
            "assumed to pass it, down to the women randomised.",
        }
        if tr.calendar is not None:
            out["recruitment"] = (
                "Women randomised (median and 10-90% of the simulated trials) and outcomes known "
                "(median) against calendar time, the looks at their median time: the gap is the "
                "pipeline of women still pregnant (and those lost to follow-up)."
            )
            out["centres"] = (
                "One simulated trial's centres, from the SimPy engine's event log (calendar_events.csv): "
                "each centre recruiting from its opening until recruitment closes, each woman it "
                "randomises in her arm's colour (count on the right), every infusion (both arms, "
                "blind) as a dot below, and the looks with their verdict."
            )
        if tr.assurance is not None:
            a = tr.assurance
            kinds = " and ".join(sorted(set(a.curve["method"])))
            out["assurance"] = (
                f"Probability of success (assurance, {kinds}) against women randomised per arm under each "
                f"prior (solid), with the classical power at the prior's mean rates (dashed) and the "
                f"ceiling P(benefit) (dotted); the run's n ({a.n_per_arm} per arm) and the "
                f"{a.target:.0%} target marked. Right: the priors' densities of the placebo and the "
                "IVIG rate."
            )
        if tr.assumptions is not None and len(tr.assumptions):
            a = tr.assumptions
            out["assumptions"] = (
                f"What drives the answer: women randomised per arm (left) and women to screen (right) at "
                f"the low and high end of each assumption's range, the others at the scenario's values "
                f"({a['method'].iloc[0]} n; the line is the scenario's own n). Ranked by how far n moves."
            )
    return out


class _Writer:
    """The results folder of one run, with the figure and table links of its report."""

    def __init__(
        self,
        folder: ResultsFolder,
        formats: Sequence[str] = figures.DEFAULT_FORMATS,
        captions: dict[str, str] | None = None,
    ) -> None:
        self.folder = folder
        self.formats = tuple(formats)
        self.captions = captions or {}
        self.figures: list[FigureFiles] = []
        self.tables: list[Link] = []

    def table(self, name: str, df: pd.DataFrame, caption: str | None = None) -> None:
        self.folder.table(name, df)
        self.tables.append((caption or name.replace("_", " "), f"{name}.csv"))

    def figure(self, name: str, fig: Any) -> None:
        files = tuple(f"{name}.{fmt}" for fmt in self.formats)
        for f in files:
            self.folder.path(f)  # registered for the manifest
        figures.save_figure(fig, self.folder.path(files[0]).with_suffix(""), self.formats)
        caption = self.captions.get(name, name.replace("_", " "))
        self.figures.append(FigureFiles(name, caption, files))

    def read(self, name: str) -> str | None:
        """The text of a file already written, or None."""
        p = self.folder.tmp / name
        return p.read_text(encoding="utf-8") if p.exists() else None

    def read_bytes(self, name: str) -> bytes | None:
        """The bytes of a file already written, or None."""
        p = self.folder.tmp / name
        return p.read_bytes() if p.exists() else None


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
    feas = tr.feasibility.as_frame()
    if tr.calendar is not None:  # the calendar's time is the answer's: say what this one is
        years = feas["quantity"] == "years to recruit"
        feas.loc[years, "unit"] = (
            feas.loc[years, "unit"] + ", all open at the mean rate (calendar.csv: the calendar's)"
        )
        ivig = feas["quantity"].str.startswith("IVIG")
        feas.loc[ivig, "unit"] = feas.loc[ivig, "unit"] + ", mean a trial on the calendar (calendar.csv)"
    w.table("feasibility", feas)
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


def render_run(
    folder: ResultsFolder, result: RunResult, formats: Sequence[str] = figures.DEFAULT_FORMATS
) -> str:
    """Write the tables, figures, ``report.md`` and ``report.html`` of ``result`` into an open folder.

    Parameters
    ----------
    folder : ResultsFolder
        From :func:`rplsim.outputs.folder.results_folder` (which adds the manifest on closing).
    result : RunResult
    formats : sequence of str
        Figure formats (:data:`rplsim.figures.FIGURE_FORMATS`; default PNG and SVG).

    Returns
    -------
    str
        The answer and a line per stage (also at the top of ``report.md``), as plain text.
    """
    sc = result.scenario
    summary = summary_lines(result)
    answer = plain = None
    protocol = ranges = None
    note = ""
    tr = result.trial
    if tr is not None:
        answer = stage_answer(sc, tr)
        # the terminal gets the scenario's words as written, not Markdown-escaped
        plain = stage_answer(sc, tr, markdown=False)
        protocol = tr.protocol(sc)
        ranges = tr.assumptions
        note = dose_cost_note(
            result.calibration,
            tr.feasibility,
            tr.power.extra.get("ivig_grams_per_treated_woman"),
            on_calendar=tr.calendar is not None,
        )
    w = _Writer(folder, formats, figure_captions(result))
    _write_stages(w, result)
    if tr is not None:
        _write_trial(w, sc, tr)
        if tr.assurance is not None:
            w.table("assurance", tr.assurance.curve, "assurance against n, every prior")
            w.table("assurance_priors", tr.assurance.table(), "assurance per prior at the run's n")
            w.figure(
                "assurance",
                figures.assurance_chart(
                    tr.assurance.curves(),
                    tr.assurance.densities,
                    chosen_n=tr.assurance.n_per_arm,
                    target=tr.assurance.target,
                    subtitle=_subtitle(sc),
                ),
            )
        if tr.calendar is not None:
            _write_calendar(w, sc, tr.calendar)
        if tr.assumptions is not None:
            w.table("assumptions", tr.assumptions, "assumption ranges (tornado)")
            w.figure("assumptions", figures.tornado(tr.assumptions, subtitle=_subtitle(sc)))
    order = {name: i for i, name in enumerate(FIGURE_ORDER)}
    figs = sorted(w.figures, key=lambda f: order.get(f.name, len(order)))
    blocks = report_blocks(
        sc,
        summary_lines=summary,
        calibration=result.calibration,
        answer=answer,
        answer_plain=plain,
        figures=figs,
        tables=[*w.tables, ("report as a web page", "report.html")],
        protocol=protocol,
        ranges=ranges,
        dose_note=note,
        assurance=tr.assurance if tr is not None else None,
    )
    folder.text("report.md", render_markdown(blocks))
    folder.text("report.html", build_html(blocks, w.read, w.read_bytes))
    return "\n".join(([plain] if plain else []) + summary)


def _subtitle(sc: Scenario) -> str:
    """A figure's second title line: the scenario and its design."""
    return design_label(sc) if sc.trial is not None else sc.name


def write_run(
    result: RunResult,
    out: str | Path,
    *,
    force: bool = False,
    command: Sequence[str] = (),
    formats: Sequence[str] = figures.DEFAULT_FORMATS,
) -> str:
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
    formats : sequence of str
        Figure formats (default PNG and SVG).

    Returns
    -------
    str
        The answer and a line per stage (also at the top of ``report.md``).

    Raises
    ------
    ResultsExistError
        If ``out`` exists and ``force`` is False.

    Examples
    --------
    Writing the figures takes seconds, so only the refusal to overwrite runs here:

    >>> import tempfile
    >>> from rplsim import load_scenario, run_stages
    >>> sc = load_scenario("scenarios/paper.toml", {"cohort": {"n": 60}}).replace(trial=None)
    >>> run = run_stages(sc, replicates=2)
    >>> write_run(run, tempfile.mkdtemp())  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    rplsim.exceptions.ResultsExistError: ...: exists; use --force to replace it or --out DIR.
    >>> print(write_run(run, tempfile.mkdtemp(), force=True).splitlines()[0])  # doctest: +SKIP
    cohort: 60 women, strata KN 12, KA 11, IN 28, IA 9
    """
    manifest = run_manifest(result.scenario, result.calibration_replicates, result.trial_replicates, command)
    with results_folder(out, force=force, manifest=manifest) as folder:
        return render_run(folder, result, formats)
