"""The service layer: one function per thing a face (CLI, script, notebook) asks for.

Computing and writing are apart: :func:`run_stages` computes every stage in memory, and
:func:`write_run` renders a computed run into its results folder; :func:`size_trial` is the
trial stage alone (``rplsim power``). ``rplsim run`` is :func:`run_scenario`: the two in a
row, inside a results folder opened first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from rplsim.outputs.folder import results_folder
from rplsim.outputs.write import render_run, run_manifest, write_run
from rplsim.planning.stages import RunResult, TrialStage, run_stages, size_trial, stage_replicates
from rplsim.scenario import Scenario

__all__ = ["RunResult", "TrialStage", "run_scenario", "run_stages", "size_trial", "write_run"]


def run_scenario(
    scenario: Scenario,
    out: str | Path,
    *,
    force: bool = False,
    replicates: int | None = None,
    say: Callable[[str], None] = print,
    command: Sequence[str] = (),
    formats: Sequence[str] = ("png", "svg"),
) -> str:
    """Compute every stage of ``scenario`` and write the results folder ``out``.

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
        Progress messages, and the notes on what a killed run left beside ``out``.
    command : sequence of str
        The command line, for the manifest.
    formats : sequence of str
        Figure formats (``rplsim run --format``; :data:`rplsim.figures.FIGURE_FORMATS`).

    Returns
    -------
    str
        The answer and a line per stage (also at the top of ``report.md``).

    Raises
    ------
    ResultsExistError
        If another run is writing ``out`` (its lock is held), ``out`` exists and ``force`` is
        False, or ``out`` is not an rplsim folder (all before any work).
    """
    manifest = run_manifest(scenario, *stage_replicates(scenario, replicates), command)
    # The folder is opened before the stages run, as it always was: an existing one is refused
    # before minutes of work, the manifest's start time is the run's, and an interrupt at any
    # stage cleans up the same way.
    with results_folder(out, force=force, manifest=manifest, say=say) as folder:
        return render_run(folder, run_stages(scenario, replicates=replicates, say=say), formats)
