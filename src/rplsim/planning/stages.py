"""Every stage of a scenario, computed in memory: cohort, calibration, timeline, trial.

:func:`run_stages` is what ``rplsim run`` computes and :func:`size_trial` what ``rplsim power``
computes (``run_stages`` calls it for the trial stage, so the two commands cannot drift apart).
Nothing here writes a file: rendering the results is :func:`rplsim.outputs.write.write_run`.
The results are frozen dataclasses; the layer sits here, under ``outputs``, so that the
renderer can take them as its input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from rplsim._core.display import Displayed
from rplsim.calibration.compare import calibrate, missed_targets
from rplsim.cohort.generate import generate_cohort
from rplsim.design.analytic import SampleSize
from rplsim.exceptions import ScenarioError
from rplsim.planning.assurance_stage import AssuranceStage, assess_assurance
from rplsim.planning.feasibility import Feasibility, feasibility, screening_funnel
from rplsim.planning.protocol import ProtocolSummary, protocol_summary
from rplsim.planning.sensitivity import reference_points, sensitivity_grid
from rplsim.planning.tornado import assumption_ranges
from rplsim.scenario import Scenario
from rplsim.timeline.simulation import TimelineResult, simulate_timeline
from rplsim.trial.calendar import CalendarResult, calendar_applies, simulate_calendar
from rplsim.trial.exact import ExactPower, ExactSampleSize, exact_applies, exact_power
from rplsim.trial.power import (
    PowerResult,
    analytic_sample_size,
    curve_row,
    find_sample_size,
    simulate_power,
)
from rplsim.trial.simulation import trial_design

__all__ = [
    "DEFAULT_REPLICATES",
    "RunResult",
    "TrialStage",
    "run_stages",
    "sensitivity_replicates",
    "size_trial",
    "stage_replicates",
]

DEFAULT_REPLICATES = 200
"""Calibration cohorts of a run when ``replicates`` is not given."""


def _silent(message: str) -> None:
    """Default progress callback: say nothing."""


def stage_replicates(scenario: Scenario, replicates: int | None = None) -> tuple[int, int | None]:
    """(calibration cohorts, simulated trials per power point) of a run given ``replicates``.

    ``replicates`` sets both; without it the calibration uses :data:`DEFAULT_REPLICATES` and the
    trial ``trial.replicates`` (None when the scenario has no ``[trial]``).
    """
    trial = (replicates or scenario.trial.replicates) if scenario.trial else None
    return replicates or DEFAULT_REPLICATES, trial


def sensitivity_replicates(replicates: int) -> int:
    """Simulated trials per checked point of the sensitivity grid.

    The trial's replicates clipped to [200, 2000]: enough for a check of the analytic n, not
    the full cost of a power point (the rule of ``rplsim run``, which ``rplsim power`` shares).

    Examples
    --------
    >>> sensitivity_replicates(10000), sensitivity_replicates(50), sensitivity_replicates(1024)
    (2000, 200, 1024)
    """
    return max(200, min(replicates, 2000))


@dataclass(frozen=True, repr=False)
class TrialStage(Displayed):
    """The sized trial of a scenario (see :func:`size_trial`).

    Attributes
    ----------
    analytic : SampleSize
        The closed-form sample size (analysed women, before dropout).
    power : PowerResult
        Simulated power at the chosen control-arm size: after a search, the search's own
        confirming run at that n (same seed, same replicates), so every table, figure and
        sentence of the run shows this one number for this n.
    curve : pandas.DataFrame
        The power curve of the search (one row, the chosen n, when no search ran); its row at
        the chosen n is ``power``.
    searched : bool
        Whether ``n`` came from :func:`rplsim.find_sample_size`.
    feasibility : Feasibility
        Women to screen, years, grams of IVIG.
    funnel : pandas.DataFrame
        The trial's screening funnel (``step, n``).
    sensitivity : pandas.DataFrame or None
        The control x treatment grid (None when not asked for).
    points : tuple of (label, control rate, treatment rate)
        The reference points drawn on the sensitivity heat map.
    exact : ExactPower or None
        Exact power and type-I error at the chosen n, for designs the exact enumeration covers
        (count path, one look or no dropout; :func:`rplsim.trial.exact.exact_applies`); ``power`` is then the
        simulation that checks it.
    exact_n : ExactSampleSize or None
        The exact sample-size search (its n is the chosen n; also the n from which power stays
        above target), when the n was searched on the exact path; ``curve`` is then exact power.
    assumptions : pandas.DataFrame or None
        n and women screened at the low and high end of each assumption's range, the one that
        moves n most first (:func:`rplsim.planning.tornado.assumption_ranges`; with the
        sensitivity grid).
    scenario : Scenario or None
        The scenario sized (for :meth:`summary`).
    assurance : AssuranceStage or None
        Probability of success at the chosen n and against n under each prior of ``[prior]``
        (:func:`rplsim.planning.assurance_stage.assess_assurance`), when the scenario has one.
    calendar : CalendarResult or None
        The trial on the calendar at the chosen n (:func:`rplsim.simulate_calendar`), when the
        scenario recruits at more than one centre or over time
        (:func:`rplsim.trial.calendar.calendar_applies`).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> sc = load_scenario("scenarios/paper.toml")
    >>> st = size_trial(sc, n_per_arm=80, replicates=1024, sensitivity=False)
    >>> st.power.n_control, st.exact.n_control, st.sensitivity is None
    (80, 80, True)
    """

    analytic: SampleSize
    power: PowerResult
    curve: pd.DataFrame
    searched: bool
    feasibility: Feasibility
    funnel: pd.DataFrame
    sensitivity: pd.DataFrame | None
    points: tuple[tuple[str, float, float], ...]
    exact: ExactPower | None = None
    exact_n: ExactSampleSize | None = None
    assumptions: pd.DataFrame | None = None
    scenario: Scenario | None = None
    assurance: AssuranceStage | None = None
    calendar: CalendarResult | None = None

    def protocol(self, scenario: Scenario | None = None) -> ProtocolSummary:
        """The protocol's sample-size section (:func:`rplsim.planning.protocol.protocol_summary`)."""
        sc = scenario or self.scenario
        if sc is None:
            raise ScenarioError("TrialStage.protocol: pass the scenario this stage was sized for.")
        return protocol_summary(sc, self)

    def summary(self) -> ProtocolSummary:  # type: ignore[override]
        """The design table, the sample-size paragraph and (sequential) the boundary table.

        Examples
        --------
        >>> from rplsim import load_scenario, size_trial
        >>> st = size_trial(load_scenario("scenarios/paper.toml"), replicates=1024, sensitivity=False)
        >>> print(st.summary().paragraph[:40])
        A total of 166 women (83 per arm) with r
        """
        return self.protocol()

    def to_frame(self) -> pd.DataFrame:
        """:meth:`power_table` (``power.csv``)."""
        return self.power_table()

    def plot(self, kind: str = "curve") -> Any:
        """A figure of the stage: ``"curve"`` (power against n), ``"sensitivity"`` (heat map),
        ``"assumptions"`` (tornado), ``"assurance"`` (probability of success against n) or
        ``"funnel"`` (screening flow); a matplotlib Figure."""
        from rplsim import figures

        t = self.scenario.trial if self.scenario is not None else None
        target = t.power if t is not None else 0.80
        if kind == "curve":
            return figures.power_curve(self.curve, chosen_n=self.power.n_control, target_power=target)
        if kind == "sensitivity" and self.sensitivity is not None:
            grid = self.sensitivity[self.sensitivity["label"] == ""]
            return figures.sensitivity_heatmap(grid, points=list(self.points))
        if kind == "assumptions" and self.assumptions is not None:
            return figures.tornado(self.assumptions)
        if kind == "assurance" and self.assurance is not None:
            return self.assurance.plot()
        if kind == "funnel":
            return figures.flow_diagram(self.funnel, title="Screening funnel of the trial")
        raise ValueError(
            f"kind == {kind!r}, must be 'curve', 'sensitivity', 'assumptions' or 'assurance' (when "
            "computed) or 'funnel'."
        )

    def _display_title(self) -> str:
        name = self.scenario.name if self.scenario is not None else "trial"
        return f"Trial stage: {name}"

    def _display_rows(self) -> list[tuple[str, str]]:
        p, ex = self.power, self.exact
        rows = [("randomised per arm", f"{p.n_control} control, {p.n_treatment} IVIG")]
        if ex is not None:
            rows.append(("power", f"{ex.power:.4f} exact (simulated {p.power:.4f})"))
        else:
            rows.append(
                ("power", f"{p.power:.4f} simulated (95% CI {p.power_ci[0]:.4f}-{p.power_ci[1]:.4f})")
            )
        rows += [
            ("women to screen", f"{self.feasibility.n_screened:,}"),
            ("years to recruit", f"{self.feasibility.years_to_recruit:.1f}"),
        ]
        return rows

    @property
    def stays_from(self) -> int | None:
        """The n from which exact power stays at or above target (up to +20%), if searched."""
        return self.exact_n.n_stays_above if self.exact_n is not None else None

    def power_table(self) -> pd.DataFrame:
        """``power.csv``: the simulated point's columns, then the exact ones when there are any.

        ``exact_power``, ``exact_type1_error`` and ``exact_max_error`` (the enumeration's bound
        on what it left out); for a group-sequential design also ``exact_stop_probability``
        (per look, ";"-joined as ``stop_probability``) and ``exact_expected_n_h1`` /
        ``exact_expected_n_h0`` (expected women randomised when the trial stops); and
        ``n_stays_above`` after an exact search.
        """
        row = self.power.as_dict()
        if self.exact is not None:
            row |= {
                "exact_power": self.exact.power,
                "exact_type1_error": self.exact.type1_error,
                "exact_max_error": self.exact.max_error,
            }
            if self.exact.looks > 1:
                row |= {
                    "exact_stop_probability": ";".join(f"{x:.4f}" for x in self.exact.stop_probability),
                    "exact_expected_n_h1": self.exact.expected_women,
                    "exact_expected_n_h0": self.exact.expected_women_null,
                }
        if self.exact_n is not None:
            row["n_stays_above"] = self.exact_n.n_stays_above
        return pd.DataFrame([row])


@dataclass(frozen=True, repr=False)
class RunResult(Displayed):
    """Every stage of a run, in memory (see :func:`run_stages`).

    Attributes
    ----------
    scenario : Scenario
    calibration_replicates : int
        Simulated cohorts of the calibration.
    trial_replicates : int or None
        Simulated trials per power point (None without ``[trial]``).
    cohort : pandas.DataFrame
    calibration : pandas.DataFrame
    timeline : TimelineResult
    trial : TrialStage or None
        None when the scenario has no ``[trial]`` section.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> sc = load_scenario("scenarios/paper.toml", {"cohort": {"n": 60}}).replace(trial=None)
    >>> run = run_stages(sc, replicates=2)
    >>> len(run.cohort), run.calibration_replicates, run.trial is None
    (60, 2, True)
    """

    scenario: Scenario
    calibration_replicates: int
    trial_replicates: int | None
    cohort: pd.DataFrame
    calibration: pd.DataFrame
    timeline: TimelineResult
    trial: TrialStage | None

    def summary(self) -> Any:
        """The trial's protocol summary (:meth:`TrialStage.summary`), or the stages' table
        without a ``[trial]``."""
        if self.trial is not None:
            return self.trial.protocol(self.scenario)
        return Displayed.summary(self)

    def _display_title(self) -> str:
        return f"Run of {self.scenario.name}"

    def _display_rows(self) -> list[tuple[str, str]]:
        cal = self.calibration
        missed = len(missed_targets(cal))
        rows = [
            ("cohort", f"{len(self.cohort):,} women"),
            ("calibration", f"{len(cal)} targets, {missed} outside tolerance"),
            ("timeline", f"{len(self.timeline.outcomes):,} pregnancies"),
        ]
        if self.trial is not None:
            rows += self.trial._display_rows()
        return rows


def _with_chosen(curve: pd.DataFrame, power: PowerResult) -> pd.DataFrame:
    """``curve`` with its row at the chosen n taken from ``power`` (added if the search had none).

    With the same seed and replicates the row is already equal; writing it from ``power``
    makes the table and the summary one object by construction.
    """
    row = pd.DataFrame([curve_row(power)])
    rest = curve[curve["n_per_arm"] != power.n_control]
    out = pd.concat([rest, row], ignore_index=True) if len(rest) else row
    return out.sort_values("n_per_arm", kind="stable").reset_index(drop=True).astype(curve.dtypes.to_dict())


def size_trial(
    scenario: Scenario,
    *,
    replicates: int | None = None,
    n_per_arm: int | None = None,
    scenario_n: bool = True,
    workers: int = 1,
    sensitivity: bool = True,
    assumptions: bool | None = None,
    assurance: bool | None = None,
    progress: Callable[[int], None] | None = None,
    say: Callable[[str], None] = _silent,
) -> TrialStage:
    """Size the scenario's trial: analytic n, simulated power, feasibility, sensitivity.

    Parameters
    ----------
    scenario : Scenario
        Must have a ``[trial]`` section.
    replicates : int, optional
        Simulated trials per power point (default ``trial.replicates``); also the prior draws per
        simulated assurance point (default ``prior.draws``).
    n_per_arm : int, optional
        Simulate at this control-arm size instead of searching for it.
    scenario_n : bool
        Without ``n_per_arm``, simulate at ``trial.n_per_arm`` when the scenario sets it
        (``rplsim run``); False always searches (``rplsim power``).
    workers : int
        Processes (the numbers do not depend on it).
    sensitivity : bool
        Also compute the sensitivity grid, with :func:`sensitivity_replicates` trials per
        checked point.
    assumptions : bool, optional
        Also n at the ends of each assumption's range (the tornado,
        :func:`rplsim.planning.tornado.assumption_ranges`); default: as ``sensitivity``.
    assurance : bool, optional
        Also the assurance stage (:func:`~rplsim.planning.assurance_stage.assess_assurance`);
        default: when the scenario has a ``[prior]``.
    progress : callable, optional
        Called with the trials done of the final power simulation.
    say : callable
        Progress messages (default: none).

    Returns
    -------
    TrialStage

    Raises
    ------
    ScenarioError
        If the scenario has no ``[trial]`` section.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> sc = load_scenario("scenarios/paper.toml")
    >>> st = size_trial(sc, n_per_arm=80, replicates=1024, sensitivity=False)
    >>> st.power.replicates, st.feasibility.n_randomised
    (1024, 160)
    """
    t = scenario.trial
    if t is None:
        raise ScenarioError(
            f"{scenario.name}: has no [trial] section; copy one from scenarios/trial_superiority.toml."
        )
    design = trial_design(scenario)
    analytic = analytic_sample_size(t, design.p_control, design.p_treatment)
    reps = replicates or t.replicates
    n = n_per_arm if n_per_arm is not None else (t.n_per_arm if scenario_n else None)
    curve: pd.DataFrame | None = None
    exact_n: ExactSampleSize | None = None
    use_exact = exact_applies(scenario)
    searched = n is None
    if n is not None:
        say(f"  simulated power at {n} per arm ({reps} trials)")
        power = simulate_power(scenario, n_per_arm=n, replicates=reps, workers=workers, progress=progress)
    else:
        say("  exact sample-size search" if use_exact else f"  sample-size search ({reps} trials per point)")
        # The summary, the tables and the curve's row for n are one computation: the search's
        # run at n (its confirming run, or the exact search's simulated check) is reused.
        search = find_sample_size(
            scenario, replicates=reps, workers=workers, return_result=True, progress=progress
        )
        n, curve, power, exact_n = search.n_per_arm, search.curve, search.result, search.exact
        assert power is not None  # return_result=True
        if exact_n is None:
            curve = _with_chosen(search.curve, power)
    exact = exact_power(scenario, n) if use_exact else None
    feas = feasibility(scenario, power)
    grid = None
    if sensitivity:
        say("  sensitivity grid")
        grid = sensitivity_grid(scenario, replicates=sensitivity_replicates(reps), chosen=power)
    stage = TrialStage(
        analytic=analytic,
        power=power,
        curve=curve if curve is not None else pd.DataFrame([curve_row(power)]),
        searched=searched,
        feasibility=feas,
        funnel=screening_funnel(feas),
        sensitivity=grid,
        points=tuple(reference_points(scenario)),
        exact=exact,
        exact_n=exact_n,
        scenario=scenario,
    )
    if sensitivity if assumptions is None else assumptions:
        say("  assumption ranges (tornado)")
        stage = replace(stage, assumptions=assumption_ranges(scenario, stage))
    if scenario.prior is not None if assurance is None else assurance:
        say("  assurance (probability of success under the priors)")
        stage = replace(
            stage,
            assurance=assess_assurance(
                scenario, stage.power.n_control, replicates=replicates, workers=workers, say=say
            ),
        )
    if calendar_applies(scenario):
        say(f"  the trial on the calendar ({reps} trials)")
        cal = simulate_calendar(scenario, stage.power.n_control, replicates=reps, workers=workers)
        # one number for the trial's IVIG: the calendar's, whose women are the trial's (randomised
        # at confirmation, followed after a stop), not n times the eligible woman's mean
        t = cal.trials
        feas = replace(
            stage.feasibility,
            ivig_grams_total=float(t.ivig_grams.mean()),
            ivig_cost_total=float(t.ivig_cost.mean()),
        )
        stage = replace(stage, calendar=cal, feasibility=feas)
    return stage


def run_stages(
    scenario: Scenario, *, replicates: int | None = None, say: Callable[[str], None] = _silent
) -> RunResult:
    """Compute every stage the scenario has, in memory (no file is written).

    Parameters
    ----------
    scenario : Scenario
    replicates : int, optional
        Calibration cohorts (default :data:`DEFAULT_REPLICATES`) and simulated trials per
        power point (default ``trial.replicates``).
    say : callable
        Progress messages, one a stage (default: none).

    Returns
    -------
    RunResult
        Render it with :func:`rplsim.outputs.write.write_run`.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> sc = load_scenario("scenarios/paper.toml", {"cohort": {"n": 60}}).replace(trial=None)
    >>> run = run_stages(sc, replicates=2)
    >>> len(run.timeline.outcomes), len(run.calibration) > 0
    (60, True)
    """
    cal_reps, trial_reps = stage_replicates(scenario, replicates)
    stages = 4 if scenario.trial else 3
    say(f"stage 1/{stages}: cohort of {scenario.cohort.n}")
    cohort = generate_cohort(scenario)
    say(f"stage 2/{stages}: calibration ({cal_reps} cohorts of {scenario.cohort.n})")
    cal = calibrate(scenario, replicates=cal_reps)
    say(f"stage 3/{stages}: timeline (SimPy) of {len(cohort)} pregnancies")
    timeline = simulate_timeline(cohort, scenario)
    trial = None
    if scenario.trial is not None:
        say(f"stage 4/{stages}: trial power, feasibility, sensitivity")
        trial = size_trial(scenario, replicates=replicates, say=say)
    return RunResult(
        scenario=scenario,
        calibration_replicates=cal_reps,
        trial_replicates=trial_reps,
        cohort=cohort,
        calibration=cal,
        timeline=timeline,
        trial=trial,
    )
