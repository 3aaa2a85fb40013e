"""``rplsim run`` as it was first written: thin wrappers over :mod:`rplsim.app.services`.

Stages: cohort → calibration → timeline (SimPy) → trial power, feasibility and sensitivity (when
the scenario has a ``[trial]`` section) → figures → ``report.md``. Computing is
:func:`rplsim.run_stages`, writing :func:`rplsim.write_run`; these names are kept so that code
written against this module keeps working.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rplsim.app.services import run_scenario, size_trial
from rplsim.outputs.report import answer_sentence, stage_answer
from rplsim.planning.stages import DEFAULT_REPLICATES
from rplsim.scenario import Scenario

__all__ = ["DEFAULT_REPLICATES", "answer_sentence", "run_pipeline", "run_trial_stage"]


def run_trial_stage(
    scenario: Scenario, *, replicates: int | None = None, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Power (found or at the scenario's n), feasibility and sensitivity, as tables.

    The trial stage of :func:`rplsim.size_trial` as the dict this function always returned
    (``power, curve, feasibility, funnel, sensitivity, points, answer``); new code should use
    the typed :class:`~rplsim.planning.stages.TrialStage` of ``size_trial``.
    """
    tr = size_trial(scenario, replicates=replicates, say=say)
    return {
        "power": tr.power,
        "curve": tr.curve,
        "feasibility": tr.feasibility,
        "funnel": tr.funnel,
        "sensitivity": tr.sensitivity,
        "points": list(tr.points),
        "answer": stage_answer(scenario, tr),
    }


def run_pipeline(
    scenario: Scenario,
    out: str | Path,
    *,
    force: bool = False,
    replicates: int | None = None,
    say: Callable[[str], None] = print,
    command: Sequence[str] = (),
    formats: Sequence[str] = ("png", "svg"),
) -> str:
    """Run every stage of ``scenario`` and write the results folder ``out``.

    The same as :func:`rplsim.app.services.run_scenario` (compute with
    :func:`rplsim.run_stages`, then write with :func:`rplsim.write_run`).

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
    formats : sequence of str
        Figure formats (default PNG and SVG).

    Returns
    -------
    str
        The answer and a line per stage (also at the top of ``report.md``).
    """
    return run_scenario(
        scenario, out, force=force, replicates=replicates, say=say, command=command, formats=formats
    )
