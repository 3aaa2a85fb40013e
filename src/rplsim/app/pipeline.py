"""``rplsim run``: every stage the scenario has, into one results folder.

Stages: cohort → calibration → timeline (SimPy) → trial power, feasibility and sensitivity (when
the scenario has a ``[trial]`` section) → figures → ``report.md``. The folder is written
atomically (:mod:`rplsim.results`): an interrupted run leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rplsim.outputs import plots
from rplsim.calibration.compare import calibrate
from rplsim.cohort.generate import generate_cohort
from rplsim.paper import paper_funnel
from rplsim.outputs.report import build_report
from rplsim.outputs.folder import ResultsFolder, results_folder
from rplsim.scenario import Scenario, scenario_path
from rplsim.timeline.simulation import simulate_timeline

__all__ = ["DEFAULT_REPLICATES", "answer_sentence", "run_pipeline", "run_trial_stage"]

DEFAULT_REPLICATES = 200


def _figure(folder: ResultsFolder, name: str, fig: Any, figures: list) -> None:
    plots.save_png(fig, folder.path(f"{name}.png"))
    figures.append((name.replace("_", " "), f"{name}.png"))


def _n_text(n: float) -> str:
    return f"{n:,.0f}" if n == n and n != float("inf") else "no n (IVIG not better)"


def answer_sentence(scenario: Scenario, power: Any, feas: Any) -> str:
    """"A trial would need N women per arm, M screened, Y years at K centres, under A"."""
    t = scenario.trial
    assert t is not None
    seq = (f", at most; expected {power.expected_n_h1:.0f} randomised if IVIG works "
           f"({t.looks} looks, {t.boundary})" if t.looks > 1 else "")
    what = (f"non-inferiority (margin {t.margin:.0%})" if t.design == "non-inferiority"
            else "superiority")
    return (
        f"A trial would need **{power.n_control} women per arm** ({power.n_total} randomised"
        f"{seq}), **{feas.n_screened:,} RPL women screened**, "
        f"**{feas.years_to_recruit:.1f} years at {feas.centres} centre(s)** and "
        f"{feas.ivig_grams_total / 1000:,.1f} kg of IVIG ({feas.ivig_cost_total:,.0f} "
        f"{feas.currency}), to show {what} with {power.power:.1%} simulated power "
        f"(95% CI {power.power_ci[0]:.1%}-{power.power_ci[1]:.1%}; {t.analysis}, "
        f"alpha {t.alpha}), under the assumption that placebo gives a live-birth rate of "
        f"{power.p_control:.1%} and IVIG {power.p_treatment:.1%} in eligible women "
        f"({t.population}, >= {t.min_previous_miscarriages} losses), {t.dropout:.0%} dropout.")


def run_trial_stage(scenario: Scenario, *, replicates: int | None = None,
                    say: Callable[[str], None] = print) -> dict[str, Any]:
    """Power (found or at the scenario's n), feasibility and sensitivity, as tables."""
    from rplsim.planning.feasibility import feasibility, screening_funnel
    from rplsim.trial.power import curve_row, find_sample_size, simulate_power
    from rplsim.planning.sensitivity import reference_points, sensitivity_grid

    t = scenario.trial
    assert t is not None
    reps = replicates or t.replicates
    if t.n_per_arm is not None:
        say(f"  simulated power at {t.n_per_arm} per arm ({reps} trials)")
        n = t.n_per_arm
        curve = None
    else:
        say(f"  sample-size search ({reps} trials per point)")
        n, curve = find_sample_size(scenario, replicates=reps)
    power = simulate_power(scenario, n_per_arm=n, replicates=reps)
    if curve is None:
        curve = pd.DataFrame([curve_row(power)])
    feas = feasibility(scenario, power)
    say("  sensitivity grid")
    sens = sensitivity_grid(scenario, replicates=max(200, min(reps, 2000)))
    return {"power": power, "curve": curve, "feasibility": feas,
            "funnel": screening_funnel(feas), "sensitivity": sens,
            "points": reference_points(scenario), "answer": answer_sentence(scenario, power, feas)}


def run_pipeline(scenario: Scenario, out: str | Path, *, force: bool = False,
                 replicates: int | None = None, say: Callable[[str], None] = print,
                 command: Sequence[str] = ()) -> str:
    """Run every stage of ``scenario`` and write the results folder ``out``.

    Parameters
    ----------
    scenario : Scenario
    out : str or Path
        Results folder to create.
    force : bool
        Replace ``out`` if it exists.
    replicates : int, optional
        Calibration cohorts (default 200) and simulated trials per power point (default
        ``trial.replicates``).
    say : callable
        Progress messages.
    command : sequence of str
        The command line, for the manifest.

    Returns
    -------
    str
        The answer and a line per stage (also at the top of ``report.md``).
    """
    cal_reps = replicates or DEFAULT_REPLICATES
    manifest: dict[str, Any] = {
        "scenario_file": scenario_path(scenario),
        "scenario_name": scenario.name,
        "scenario_sha256": scenario.digest(),
        "seed": scenario.seed,
        "resolved_scenario": scenario.to_dict(),
        "calibration_replicates": cal_reps,
        "trial_replicates": (replicates or scenario.trial.replicates) if scenario.trial
        else None,
    }
    if command:
        manifest["command_line"] = list(command)
    summary: list[str] = []
    figures: list = []
    tables: list = []
    stages = 4 if scenario.trial else 3
    with results_folder(out, force=force, manifest=manifest) as folder:
        say(f"stage 1/{stages}: cohort of {scenario.cohort.n}")
        cohort = generate_cohort(scenario)
        folder.table("cohort", cohort)
        tables.append(("cohort", "cohort.csv"))
        counts = cohort["stratum"].value_counts().reindex(["KN", "KA", "IN", "IA"])
        summary.append(f"cohort: {len(cohort)} women, strata "
                       + ", ".join(f"{k} {v}" for k, v in counts.items()))

        say(f"stage 2/{stages}: calibration ({cal_reps} cohorts of {scenario.cohort.n})")
        cal = calibrate(scenario, replicates=cal_reps)
        folder.table("calibration", cal)
        tables.append(("calibration against the paper", "calibration.csv"))
        missed = cal[~cal["within"] & cal["followed"]]
        summary.append(f"calibration: {len(cal)} targets, {len(missed)} outside the 99% "
                       "tolerance (listed below)")
        _figure(folder, "calibration", plots.calibration_panel(cal), figures)

        say(f"stage 3/{stages}: timeline (SimPy) of {len(cohort)} pregnancies")
        tl = simulate_timeline(cohort, scenario)
        folder.table("events", tl.events)
        folder.table("outcomes", tl.outcomes)
        folder.table("clinic", pd.DataFrame([tl.clinic]))
        tables += [("timeline events", "events.csv"), ("outcomes", "outcomes.csv"),
                   ("clinic load", "clinic.csv")]
        an = tl.outcomes[tl.outcomes["analysed"]]
        lbr = an.groupby("stratum", observed=True)["outcome"].apply(
            lambda s: (s == "live_birth").mean())
        c = tl.clinic
        summary.append("timeline: live-birth rate " + ", ".join(f"{k} {v:.1%}" for k, v in
                                                                lbr.items())
                       + f"; {c['infusions']} infusions, {c['total_ivig_grams'] / 1000:.1f} kg "
                       f"IVIG, chair utilisation {c['chair_utilisation']:.1%}, mean wait "
                       f"{c['mean_wait_hours']:.2f} h")
        _figure(folder, "ivig_dose", plots.ivig_dose_histogram(tl.outcomes), figures)
        _figure(folder, "timeline", plots.timeline_chart(tl.events), figures)
        _figure(folder, "paper_funnel", plots.funnel_chart(paper_funnel(),
                                                           title="The paper's enrolment "
                                                                 "(Figure 1)"), figures)

        answer = None
        if scenario.trial is not None:
            say(f"stage 4/{stages}: trial power, feasibility, sensitivity")
            tr = run_trial_stage(scenario, replicates=replicates, say=say)
            folder.table("power", pd.DataFrame([tr["power"].as_dict()]))
            folder.table("power_curve", tr["curve"])
            folder.table("feasibility", tr["feasibility"].as_frame())
            folder.table("sensitivity", tr["sensitivity"])
            tables += [("power", "power.csv"), ("power curve", "power_curve.csv"),
                       ("feasibility", "feasibility.csv"), ("sensitivity", "sensitivity.csv")]
            p = tr["power"]
            _figure(folder, "power_curve", plots.power_curve(tr["curve"], chosen_n=p.n_control,
                                                             target_power=scenario.trial.power),
                    figures)
            sens = tr["sensitivity"]
            refs = sens[sens["label"] != ""]
            points = [(f"{r.label}: {_n_text(r.n_per_arm)} per arm", r.control_lbr,
                       r.treatment_lbr) for r in refs.itertuples()]
            _figure(folder, "sensitivity", plots.sensitivity_heatmap(
                sens[sens["label"] == ""], points=points), figures)
            _figure(folder, "screening_funnel", plots.funnel_chart(
                tr["funnel"], title="Screening funnel of the trial"), figures)
            answer = tr["answer"]
            summary.append(f"power: {p.power:.3f} (95% CI {p.power_ci[0]:.3f}-"
                           f"{p.power_ci[1]:.3f}) at {p.n_control}/{p.n_treatment}; type-I "
                           f"error {p.type1_error:.4f}; analytic power {p.analytic_power:.3f}")
        folder.text("report.md", build_report(
            scenario, summary_lines=summary, calibration=cal, answer=answer,
            figures=figures, tables=tables))
    return "\n".join(([answer.replace("**", "")] if answer else []) + summary)
