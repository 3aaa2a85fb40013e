"""The ``rplsim`` command line.

Exit status: 0 success; 2 a bad scenario file or argument (one line per problem on stderr, no
traceback, nothing written); 3 ``rplsim check`` found a failing property; 75 a Dask sweep
stopped (no worker, or the scheduler lost: one line naming ``--resume``); 130 interrupted; 1 an
internal error (a short message; ``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from rplsim._core.limits import (
    MAX_CALIBRATION_REPLICATES,
    MAX_COHORT_N,
    MAX_N_PER_ARM,
    MAX_REPLICATES,
    MAX_SEED,
    MAX_WORKERS,
    SAY_ESTIMATE_SECONDS,
)
from rplsim._core.validation import check_integer
from rplsim.app.arguments import ArgError, build_parser, parse_range
from rplsim.calibration.compare import calibrate, missed_targets
from rplsim.cohort.generate import generate_cohort
from rplsim.exceptions import ResultsExistError, RplsimError, ScenarioError, SweepStopped
from rplsim.planning.stages import TrialStage, size_trial
from rplsim.scenario import NO_TRIAL, Scenario, load_scenario
from rplsim.scenario.tomlio import echo_text
from rplsim.scenario.trial_params import SWEEP_BLOCK
from rplsim.timeline.simulation import simulate_timeline

__all__ = ["main"]

_ADDRESS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\x00-\x1f\x7f]+|[^\s\x00-\x1f\x7f:/]+:[0-9]{1,5}")
"""A scheduler address: ``tcp://host:8786`` (any protocol) or ``host:port``."""

EXIT_TEMPFAIL = 75
"""Exit status of a sweep stopped by its Dask cluster (sysexits.h EX_TEMPFAIL): run again with --resume."""

ISSUES_URL = "the rplsim issue tracker (include the command and the scenario file)"


def _flags(args: argparse.Namespace, **keys: str) -> dict[str, str]:
    """Dotted key -> the command-line flag that set it, so a problem with it names the flag.

    ``keys`` maps a dotted key (with ``__`` for the dot) to the attribute of ``args`` holding
    the flag's value; ``--seed`` is always included.
    """
    pairs = {"scenario.seed": ("--seed", "seed")}
    pairs.update({k.replace("__", "."): (f"--{v.replace('_', '-')}", v) for k, v in keys.items()})
    return {
        key: f"{flag} {getattr(args, attr)}"
        for key, (flag, attr) in pairs.items()
        if getattr(args, attr, None) is not None
    }


def _with_seed(args: argparse.Namespace) -> list[str]:
    return list(args.overrides) + ([f"scenario.seed={args.seed}"] if args.seed is not None else [])


def _load(args: argparse.Namespace, **keys: str) -> Scenario:
    return load_scenario(args.scenario, _with_seed(args), flags=_flags(args, **keys))


def _int_flag(flag: str, value: int | None, low: int, high: int | None = None, why: str = "") -> None:
    """``value`` (when given) is an integer in [low, high]; else one line naming ``flag``."""
    if value is None:
        return
    if high is None:
        check_integer(flag, value, low, rule=f"an integer >= {low}")
    elif isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ScenarioError(f"{flag} == {value}, must be an integer from {low:,} to {high:,}{why}.")


POWER_SIBLINGS = ("curve", "feasibility", "sensitivity", "power_vs_n", "power_vs_control")
"""Tables ``power -o FILE`` writes beside FILE (the power table), as ``STEM_<name>SUFFIX``."""


def _power_outputs(output: str) -> dict[str, str]:
    """Table name -> file of ``power -o FILE``: FILE is the power table, the others its siblings.

    ``-o a_power.csv`` writes ``a_power.csv`` (power at the chosen n), ``a_power_curve.csv``,
    ``a_power_feasibility.csv`` and, with ``--sensitivity``, ``a_power_sensitivity.csv``; with
    ``--curve`` also ``a_power_power_vs_n.csv`` and ``.png``, with ``--control-lbr``
    ``a_power_power_vs_control.csv`` and ``.png``. With ``--solve``, FILE is the solution's row.
    """
    out = Path(output)
    return {"power": output} | {n: str(out.with_name(f"{out.stem}_{n}{out.suffix}")) for n in POWER_SIBLINGS}


def _check_power_questions(args: argparse.Namespace) -> None:
    """``--solve``, ``--curve`` and ``--control-lbr``: parsed, and their combinations checked."""
    args.curve_n = parse_range("--curve", args.curve, integer=True) if args.curve else None
    if args.curve_n is not None:
        for n in (args.curve_n[0], args.curve_n[-1]):
            _int_flag("--curve", n, 2, MAX_N_PER_ARM, " (per arm; MAX_N_PER_ARM)")
    args.control_values = (
        parse_range("--control-lbr", args.control_lbr, integer=False) if args.control_lbr else None
    )
    if args.control_values is not None and not 0 < args.control_values[0] <= args.control_values[-1] < 1:
        raise ScenarioError(f"--control-lbr {args.control_lbr}: placebo rates must lie in (0, 1).")
    if args.solve is None:
        return
    if args.solve == "n_per_arm" and args.n_per_arm is not None:
        raise ScenarioError(
            f"--solve n_per_arm with --n-per-arm {args.n_per_arm}: the n is the unknown; leave one out."
        )
    clash = [f for f, v in (("--curve", args.curve), ("--control-lbr", args.control_lbr)) if v]
    clash += ["--sensitivity"] if args.sensitivity else []
    if clash:
        raise ScenarioError(
            f"--solve {args.solve} with {' and '.join(clash)}: --solve answers one question; "
            "run the curves or the grid without it."
        )


def _check_args(args: argparse.Namespace) -> None:
    """Every command-line value and output path, before any file is read or any work done.

    Each problem is one line naming the flag; the maximums are those of :mod:`rplsim._core.limits`.
    """
    cmd = args.command
    _int_flag("--seed", getattr(args, "seed", None), 0, MAX_SEED)
    if cmd in ("cohort", "timeline"):
        _int_flag("-n", args.n, 1, MAX_COHORT_N, " (MAX_COHORT_N)")
    if cmd in ("calibrate", "run"):
        _int_flag(
            "--replicates",
            args.replicates,
            2,
            min(MAX_CALIBRATION_REPLICATES, MAX_REPLICATES),
            " (MAX_CALIBRATION_REPLICATES: cohorts of the calibration)",
        )
    if cmd == "assurance":
        _int_flag("--replicates", args.replicates, 1, MAX_REPLICATES, " (MAX_REPLICATES)")
        _int_flag("--workers", args.workers, 1, MAX_WORKERS, " (MAX_WORKERS)")
        _int_flag("--n-per-arm", args.n_per_arm, 2, MAX_N_PER_ARM, " (MAX_N_PER_ARM)")
        if args.target is not None and not 0.0 < args.target < 1.0:  # nan too
            raise ScenarioError(f"--target == {args.target:g}, must be a probability in (0, 1), e.g. 0.8.")
    if cmd in ("power", "sweep", "compare"):
        _int_flag("--replicates", args.replicates, 1, MAX_REPLICATES, " (MAX_REPLICATES)")
        _int_flag("--workers", args.workers, 1, MAX_WORKERS, " (MAX_WORKERS)")
        if cmd != "compare":
            _int_flag("--n-per-arm", args.n_per_arm, 2, MAX_N_PER_ARM, " (MAX_N_PER_ARM)")
    if cmd == "sweep" and args.batch is not None and (args.batch < SWEEP_BLOCK or args.batch % SWEEP_BLOCK):
        raise ScenarioError(f"--batch == {args.batch}, must be a positive multiple of {SWEEP_BLOCK}.")
    if cmd == "power":
        _check_power_questions(args)
    if cmd == "run":
        from rplsim.figures import check_formats  # deferred: matplotlib

        try:
            args.formats = check_formats(args.format)
        except ValueError as exc:
            raise ScenarioError(f"--format {echo_text(args.format) or chr(39) * 2}: {exc}") from None
    if cmd == "sweep" and args.resume and args.force:
        raise ScenarioError(
            "--resume and --force together: --resume keeps the finished points, --force "
            "discards them; give one of the two."
        )
    if cmd in ("sweep", "compare") and args.scheduler is not None and not _ADDRESS.fullmatch(args.scheduler):
        raise ScenarioError(
            f"--scheduler {echo_text(args.scheduler) or chr(39) * 2}: must be a Dask scheduler address, e.g. "
            "tcp://host:8786 (leave the flag out to run on local processes)."
        )
    if cmd == "check":
        _int_flag("--examples", args.examples, 1)
        if not args.budget > 0:  # nan too
            raise ScenarioError(f"--budget == {args.budget:g}, must be a number > 0.")
    # deferred: rplsim.outputs loads matplotlib, which checking a number does not need
    from rplsim.outputs.folder import check_output_file, check_output_folder

    if cmd in ("run", "sweep") and args.out is not None:
        check_output_folder("--out", args.out)
    files: list[tuple[str, str | None]] = []
    if cmd == "cohort":
        _check_cohort_format(args)
        if not args.codebook and cohort_output(args) != "-":
            files.append(("-o/--output", cohort_output(args)))
    if cmd == "calibrate":
        files.append(("-o/--output", args.output))
    if cmd == "power" and args.output is not None:
        files += [("-o/--output", f) for f in _power_outputs(args.output).values()]
    if cmd == "assurance":
        files.append(("-o/--output", args.output))
    if cmd == "timeline":
        files += [("--events", args.events), ("--outcomes", args.outcomes)]
    for flag, path in files:
        if path is not None:
            check_output_file(flag, path)


def _write_csv(df: pd.DataFrame, target: str | Path | TextIO) -> None:
    """A table as CSV to a stream, or atomically to a file (a failure leaves no half file)."""
    # deferred: rplsim.outputs loads matplotlib, which `rplsim --version` does not need
    from rplsim.outputs.folder import atomic_file, write_csv

    if not isinstance(target, str | Path):
        write_csv(df, target)
        return
    with atomic_file(target) as tmp:
        write_csv(df, tmp)


def _say(args: argparse.Namespace, msg: str) -> None:
    if not args.quiet:
        print(msg, file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    bad = 0
    for f in args.files:
        try:
            load_scenario(f)
        except ScenarioError as exc:
            bad += 1
            for line in exc.problems:
                print(line, file=sys.stderr)
        else:
            print(f"{f}: ok")
    return 2 if bad else 0


PARQUET_MISSING = "rplsim cohort: --format parquet needs pyarrow; pip install 'rplsim[parquet]'"


def cohort_format(args: argparse.Namespace) -> str:
    """``--format``, else parquet when ``-o`` ends in .parquet, else csv."""
    if args.format is not None:
        return str(args.format)
    return "parquet" if str(args.output or "").lower().endswith(".parquet") else "csv"


def cohort_output(args: argparse.Namespace) -> str:
    """Where ``rplsim cohort`` writes: ``-o``, else stdout for CSV and cohort.parquet for Parquet."""
    if args.output is not None:
        return str(args.output)
    return "-" if cohort_format(args) == "csv" else "cohort.parquet"


def _check_cohort_format(args: argparse.Namespace) -> None:
    """``--format parquet`` needs pyarrow and a file (it is binary); checked before any work."""
    if args.codebook or cohort_format(args) != "parquet":
        return
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ScenarioError(PARQUET_MISSING) from None
    if cohort_output(args) == "-":
        raise ScenarioError("-o -: --format parquet is binary, give -o FILE (default cohort.parquet).")


def cohort_with_outcomes(cohort: pd.DataFrame, sc: Scenario) -> pd.DataFrame:
    """The cohort with its index pregnancy's outcome columns (codebook: ``OUTCOME_SCHEMA``).

    The join is made here, above both stages: the outcomes come from the vectorised timeline
    (:func:`rplsim.timeline.simulate_twin`, the same per-woman draws as ``rplsim timeline``),
    one row per woman in the cohort's order, rounded to the codebook's precisions.
    """
    from rplsim.cohort.codebook import OUTCOME_SCHEMA, round_column
    from rplsim.timeline import simulate_twin

    out = simulate_twin(cohort, sc)
    if not (out["patient_id"].to_numpy() == cohort["patient_id"].to_numpy()).all():
        raise AssertionError("the twin's rows are not the cohort's")  # pragma: no cover
    extra = {c.column: out[c.column] for c in OUTCOME_SCHEMA}
    for c in OUTCOME_SCHEMA:
        if c.dtype == "float":
            extra[c.column] = pd.Series(round_column(out[c.column].to_numpy(float), c), index=out.index)
    return pd.concat([cohort, pd.DataFrame(extra).set_index(cohort.index)], axis=1)


def cmd_cohort(args: argparse.Namespace) -> int:
    sc = _load(args)
    if args.codebook:
        from rplsim.cohort.codebook import cohort_codebook

        sys.stdout.write(cohort_codebook(sc.cohort))
        return 0
    df = generate_cohort(sc, n=args.n)
    if args.with_outcomes:
        df = cohort_with_outcomes(df, sc)
    target = cohort_output(args)
    if cohort_format(args) == "parquet":
        from rplsim.outputs.folder import atomic_file  # deferred: loads matplotlib

        with atomic_file(target) as tmp:
            df.to_parquet(tmp, index=False)
    elif target == "-":
        _write_csv(df, sys.stdout)
        return 0
    else:
        _write_csv(df, target)
    _say(args, f"wrote {len(df)} women to {target}")
    return 0


def _format_calibration(tab: pd.DataFrame) -> str:
    show = tab.copy()
    show["within"] = show["within"].map({True: "yes", False: "MISS"})
    show.loc[~tab["followed"], "within"] += " (not followed)"
    return str(
        show.drop(columns=["followed"]).to_string(
            index=False, float_format=lambda x: f"{x:.4g}", max_colwidth=48
        )
    )


def cmd_calibrate(args: argparse.Namespace) -> int:
    sc = _load(args)
    tab = calibrate(sc, replicates=args.replicates)
    print(_format_calibration(tab))
    missed = missed_targets(tab)
    print(
        f"\n{len(tab)} targets, {len(missed)} outside the 99% tolerance "
        f"({args.replicates} cohorts of {sc.cohort.n}); rows marked 'not followed' show the "
        "reading of a paper conflict rplsim does not follow."
    )
    if args.output is not None:
        _write_csv(tab, args.output)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    files = list(args.scenario)
    if args.out is not None and len(files) > 1:
        raise ScenarioError(
            f"--out {args.out}: only with one scenario file ({len(files)} given); "
            "without --out each goes to results/<name>/."
        )
    over = _with_seed(args)
    scenarios = [
        load_scenario(f, over, flags=_flags(args)) for f in files
    ]  # every file checked before any work
    outs = [Path(args.out) if args.out is not None else Path("results") / sc.name for sc in scenarios]
    from rplsim.app.services import run_scenario  # deferred: matplotlib, not for --version
    from rplsim.outputs.folder import check_output_folder, check_target  # deferred: the same

    seen: dict[Path, str] = {}
    for f, out in zip(files, outs, strict=True):
        if out in seen:
            raise ScenarioError(
                f"{f}: scenario.name names the folder {out}/ of {seen[out]} too; give each "
                "scenario its own scenario.name."
            )
        seen[out] = f
    for out in outs:  # every target checked before any work: writable, exists, or not ours
        if args.out is None:
            check_output_folder("results folder", out)
        check_target(out, force=args.force)

    for sc, out in zip(scenarios, outs, strict=True):
        t0 = time.perf_counter()
        summary = run_scenario(
            sc,
            out,
            force=args.force,
            replicates=args.replicates,
            say=lambda m: _say(args, m),
            command=sys.argv,
            formats=args.formats,
        )
        print(f"== {sc.name}\n{summary}")
        _say(args, f"wrote {out}/ in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    sc = _load(args)
    try:  # deferred: only this command needs hypothesis, and a broken install gets a hint
        from rplsim.app.check import EXIT_CHECK_FAILED, run_checks
    except ModuleNotFoundError as exc:
        if exc.name != "hypothesis":
            raise
        print(
            "rplsim check needs hypothesis (a dependency of rplsim): pip install 'hypothesis>=6.90'",
            file=sys.stderr,
        )
        return 2

    results = run_checks(sc, max_examples=args.examples, budget_seconds=args.budget, only=args.only)
    table = pd.DataFrame(
        [
            {"property": r.name, "examples": r.examples, "result": r.status, "seconds": round(r.seconds, 2)}
            for r in results
        ]
    )
    print(table.to_string(index=False))
    failed = [r for r in results if r.status == "FAIL"]
    for r in failed:
        print(f"\nFAIL {r.name}\n  {r.counterexample}")
    n_pass = sum(r.status == "pass" for r in results)
    print(
        f"\n{n_pass} passed, {len(failed)} failed, "
        f"{sum(r.status == 'skipped' for r in results)} skipped ({args.scenario})"
    )
    return EXIT_CHECK_FAILED if failed else 0


def cmd_timeline(args: argparse.Namespace) -> int:
    sc = _load(args)
    cohort = generate_cohort(sc, n=args.n)
    res = simulate_timeline(cohort, sc)
    o = res.outcomes
    an = o[o["analysed"]]
    table = an.groupby("stratum", observed=True).agg(
        analysed=("outcome", "size"),
        live_birth_rate=("outcome", lambda s: (s == "live_birth").mean()),
        ivig_g_mean=("ivig_grams", "mean"),
        ivig_g_sd=("ivig_grams", "std"),
    )
    print(table.to_string(float_format=lambda x: f"{x:.3f}"))
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in o["outcome"].value_counts().items()))
    print(
        "clinic: "
        + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in res.clinic.items())
    )
    if args.events is not None:
        _write_csv(res.events, args.events)
    if args.outcomes is not None:
        _write_csv(o, args.outcomes)
    return 0


def cmd_power(args: argparse.Namespace) -> int:
    if args.replicates is not None:
        args.overrides = [*args.overrides, f"trial.replicates={args.replicates}"]
    sc = _load(args, trial__replicates="replicates")
    if sc.trial is None:
        raise ScenarioError(f"{args.scenario}: {NO_TRIAL}")  # names the file, not the scenario
    if args.solve is not None:
        return _solve(args, sc)
    bar = _progress(args, sc.trial.replicates)
    try:
        tr = size_trial(
            sc,
            n_per_arm=args.n_per_arm,
            scenario_n=False,
            workers=args.workers,
            sensitivity=args.sensitivity,
            assurance=False,  # rplsim assurance (and rplsim run) answer it
            progress=bar.update_to if bar else None,
        )
    finally:
        if bar:
            bar.close()
    _print_trial(sc, tr)
    if args.summary:
        print()
        print(tr.protocol(sc))
    curves = _power_curves(args, sc, tr.power.n_control)
    if args.output is None:
        return 0
    frames = {
        "power": tr.power_table(),
        "curve": tr.curve,
        "feasibility": tr.feasibility.as_frame(),
    }
    if tr.sensitivity is not None:
        frames["sensitivity"] = tr.sensitivity
    names = _power_outputs(args.output)
    for name, df in frames.items():
        _write_csv(df, names[name])
    written = [names[n] for n in frames]
    if curves:
        from rplsim.outputs.curve_plot import power_curve_figure  # deferred: matplotlib
        from rplsim.outputs.figure import save_png

    for name, curve in curves.items():
        _write_csv(curve.table, names[name])
        png = str(Path(names[name]).with_suffix(".png"))
        save_png(power_curve_figure(curve), png)
        written += [names[name], png]
    _say(args, "wrote " + ", ".join(written))
    return 0


def cmd_assurance(args: argparse.Namespace) -> int:
    """``rplsim assurance``: assurance at one n under every prior, and the n for ``--target``."""
    from rplsim import find_sample_size
    from rplsim.trial.assurance import ASSURANCE_COLUMNS, assurance, assurance_sample_size, scenario_priors

    sc = _load(args)
    if sc.trial is None:
        raise ScenarioError(f"{args.scenario}: {NO_TRIAL}")
    priors = scenario_priors(sc)  # one line, exit 2, without [prior]
    n = args.n_per_arm or sc.trial.n_per_arm
    if n is None:
        _say(args, "finding n for the trial's target power (as rplsim power does)")
        n = find_sample_size(sc).n_per_arm
    rows = []
    for label, joint in priors.items():
        _say(args, f"assurance under the {label} prior")
        res = assurance(
            sc, n, replicates=args.replicates, workers=args.workers, method=args.method, prior=joint
        )
        print(f"== {label} prior")
        print(res.summary())
        rows.append({"prior": label, **res.to_frame().iloc[0].to_dict()})
    if args.target is not None:
        head = next(iter(priors))
        n_t, _, res_t, _ = assurance_sample_size(
            sc, args.target, replicates=args.replicates, workers=args.workers, prior=priors[head]
        )
        print(
            f"{args.target:.0%} assurance under the {head} prior needs {n_t} per arm "
            f"(assurance {res_t.assurance:.4f}, {res_t.method})"
        )
    if args.output is not None:
        _write_csv(pd.DataFrame(rows, columns=["prior", *ASSURANCE_COLUMNS]), args.output)
    return 0


def _power_curves(args: argparse.Namespace, sc: Scenario, n: int) -> dict[str, Any]:
    """``--curve`` and ``--control-lbr``: the power curves asked for, printed; name -> curve."""
    from rplsim.trial.curve import power_curve

    common = {"replicates": args.replicates, "seed": args.seed, "workers": args.workers}
    curves = {}
    if args.curve_n is not None:
        step = args.curve_n[1] - args.curve_n[0] if len(args.curve_n) > 1 else 1
        ns = range(args.curve_n[0], args.curve_n[-1] + 1, step)
        curves["power_vs_n"] = power_curve(sc, n=ns, chosen_n=n, **common)
    if args.control_values is not None:
        curves["power_vs_control"] = power_curve(sc, control_lbr=args.control_values, n_per_arm=n, **common)
    for curve in curves.values():
        print(f"\n{curve.design}")
        print(curve.table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    return curves


def _solve(args: argparse.Namespace, sc: Scenario) -> int:
    """``rplsim power --solve X``: the one missing quantity, printed (and written with -o)."""
    from rplsim.trial.solve import solve

    given: dict[str, Any] = {args.solve: None}
    if args.n_per_arm is not None:
        given["n_per_arm"] = args.n_per_arm
    sol = solve(sc, **given, replicates=args.replicates, seed=args.seed, workers=args.workers)
    print(_solution_text(sol))
    if args.output is not None:
        _write_csv(pd.DataFrame([sol.as_dict()]), args.output)
        _say(args, f"wrote {args.output}")
    return 0


def _solution_text(sol: Any) -> str:
    """One line of what was solved, then the design it holds for."""
    value = f"{sol.value:,}" if sol.solved == "n_per_arm" else f"{sol.value:.4f}"
    ci = f" (95% CI {sol.power_ci[0]:.3f}-{sol.power_ci[1]:.3f})" if sol.power_ci else ""
    what = {
        "n_per_arm": "women randomised per arm",
        "power": "power",
        "treatment_lbr": "the smallest IVIG live-birth rate detected",
        "control_lbr": "the largest placebo live-birth rate covered",
    }[sol.solved]
    target = f" against a target of {sol.target_power:.2f}" if sol.target_power is not None else ""
    lines = [
        f"{sol.solved} = {value} ({sol.method}): {what}; power {sol.power:.4f}{ci}{target}, "
        f"type-I error {sol.type1_error:.4f}",
        f"  {sol.n_per_arm} + {sol.n_treatment} randomised, placebo {sol.control_lbr:.4f}, IVIG "
        f"{sol.treatment_lbr:.4f}, {sol.analysis}, alpha {sol.alpha}, {sol.alternative}, "
        f"{sol.dropout:.0%} dropout",
    ]
    if sol.stable_n is not None:
        lines.append(f"  power stays at or above the target for every n from {sol.stable_n} up to +20%")
    if sol.note:
        lines.append(f"  {sol.note}")
    return "\n".join(lines)


def _print_trial(sc: Scenario, tr: TrialStage) -> None:
    """What ``rplsim power`` prints: analytic n, search curve, feasibility, answer, grid."""
    from rplsim.outputs.report import stage_answer  # deferred: rplsim.outputs loads matplotlib

    assert sc.trial is not None
    ss = tr.analytic
    print(
        f"analytic ({ss.method}): {ss.n_control} + {ss.n_treatment} analysed "
        f"(before {sc.trial.dropout:.0%} dropout)"
    )
    if tr.searched:
        print(tr.curve.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print(tr.feasibility.as_frame().to_string(index=False))
    print(stage_answer(sc, tr, markdown=False))
    if tr.sensitivity is not None:
        print(tr.sensitivity.to_string(index=False, float_format=lambda x: f"{x:.3f}"))


def cmd_sweep(args: argparse.Namespace) -> int:
    for name, value in (
        ("n_per_arm", args.n_per_arm),
        ("replicates", args.replicates),
        ("batch", args.batch),
    ):
        if value is not None:  # checked as flags already; the file's rules apply on top
            args.overrides.append(f"sweep.{name}={value}")
    from rplsim.outputs.folder import check_output_folder  # deferred: loads matplotlib
    from rplsim.sweep import parse_grid_args, plan_sweep, run_sweep
    from rplsim.sweep.grid import format_duration
    from rplsim.sweep.store import replaces

    plan = plan_sweep(
        args.scenario,
        _with_seed(args),
        parse_grid_args(args.grid),
        force_large=args.force_large,
        flags=_flags(
            args, sweep__n_per_arm="n_per_arm", sweep__replicates="replicates", sweep__batch="batch"
        ),
    )
    estimate = plan.estimated_seconds(args.workers or os.cpu_count() or 1)
    if estimate > SAY_ESTIMATE_SECONDS:
        _say(
            args,
            f"{len(plan.points):,} points of {plan.replicates:,} replicates: about "
            f"{format_duration(estimate)} at today's speed.",
        )
    out = Path(args.out) if args.out is not None else Path("results") / plan.base.name
    if args.out is None:
        check_output_folder("results folder", out)
    replacing = replaces(out, force=args.force)
    bar = _progress(args, len(plan.points))
    if bar:
        bar.unit = "point"
    try:
        res = run_sweep(
            plan,
            out,
            workers=args.workers,
            scheduler=args.scheduler,
            resume=args.resume,
            force=args.force,
            command=sys.argv,
            on_point=(lambda done, _total: bar.update_to(done)) if bar else None,
            say=lambda m: _say(args, m),
        )
    except KeyboardInterrupt:
        if replacing:
            print(
                f"rplsim: interrupted; {out}/ is unchanged (the new sweep's points are discarded).",
                file=sys.stderr,
            )
        else:
            print(
                f"rplsim: interrupted; the finished points are in {out}/points.csv: run again "
                "with --resume to compute the rest.",
                file=sys.stderr,
            )
        return 130
    finally:
        if bar:
            bar.close()
    cols = ["point", "n_per_arm", "power", "power_ci_low", "power_ci_high", "type1_error", "expected_n_h1"]
    cols += [c for c in ("assurance",) if c in res.table.columns]
    print(res.table[cols].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    _say(
        args,
        f"wrote {out}/ ({len(res.table)} points: {res.computed} computed, {res.resumed} "
        f"resumed; {res.backend}) in {res.seconds:.1f} s",
    )
    return 0


def parse_rates(flag: str, text: str) -> list[float]:
    """``"0.45,0.55"`` -> ``[0.45, 0.55]``, each in (0, 1), none twice; else one line naming ``flag``."""
    try:
        rates = [float(x) for x in text.split(",")]
    except ValueError:
        raise ScenarioError(
            f"{flag} {echo_text(text) or chr(39) * 2}: must be comma-separated rates, e.g. 0.45,0.55,0.65."
        ) from None
    if not rates or any(not 0.0 < r < 1.0 for r in rates):  # nan too
        raise ScenarioError(f"{flag} {echo_text(text)}: each rate must lie in (0, 1), e.g. 0.45,0.55,0.65.")
    if len(set(rates)) != len(rates):
        raise ScenarioError(f"{flag} {echo_text(text)}: a rate is listed twice; give each once.")
    return rates


def cmd_compare(args: argparse.Namespace) -> int:
    """``rplsim compare``: each design's power, type-I error and expected n over true placebo rates."""
    from rplsim.outputs.folder import check_output_folder, check_target
    from rplsim.sweep.compare import compare_designs, write_compare

    rates = parse_rates("--control-lbr", args.control_lbr)
    out = Path(args.out) if args.out is not None else Path("results") / "compare"
    check_output_folder("--out" if args.out is not None else "results folder", out)
    check_target(out, force=args.force)  # before any work: an existing folder needs --force
    scenarios = [load_scenario(f, _with_seed(args), flags=_flags(args)) for f in args.scenario]
    for f, sc in zip(args.scenario, scenarios, strict=True):
        if sc.trial is None:
            raise ScenarioError(f"{f}: {NO_TRIAL}")
    bar = _progress(args, len(scenarios) * len(rates))
    try:
        table = compare_designs(
            scenarios, rates, replicates=args.replicates, seed=args.seed, workers=args.workers,
            scheduler=args.scheduler,
            on_cell=(lambda done, _total: bar.update_to(done)) if bar else None,
        )  # fmt: skip
    finally:
        if bar:
            bar.close()
    cols = ["design", "true_control_lbr", "n_per_arm", "power", "type1_error", "expected_n_h0"]
    cols += ["expected_n_h1", "early_stop_h0", "early_stop_h1", "assurance", "method"]
    shown = table[cols].dropna(axis=1, how="all")
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    write_compare(
        table, out, force=args.force,
        manifest={"scenarios": list(args.scenario), "control_lbr": rates, "overrides": list(args.overrides)},
    )  # fmt: skip
    _say(args, f"wrote {out}/compare.csv and compare.png")
    return 0


def cmd_centres(args: argparse.Namespace) -> int:
    """``rplsim centres``: the smallest number of centres that recruit the trial within --years."""
    from rplsim.planning.centres import find_centres

    _int_flag("--replicates", args.replicates, 100, MAX_REPLICATES, " (MAX_REPLICATES)")
    if not (math.isfinite(args.years) and args.years > 0):
        raise ScenarioError(f"--years {args.years:g}: must be a number of years > 0, e.g. 3.")
    if not 0.0 < args.probability < 1.0:
        raise ScenarioError(f"--probability {args.probability:g}: must be in (0, 1), e.g. 0.8.")
    sc = _load(args)
    if sc.trial is None:
        raise ScenarioError(f"{args.scenario}: {NO_TRIAL}")
    ans = find_centres(sc, args.years, args.probability, replicates=args.replicates, seed=args.seed)
    print(ans.sentence())
    print(ans.curve.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    """``rplsim fit``: the free keys fitted to a targets file; fitted.toml, residuals.csv,
    parameters.csv and correlation.csv."""
    from rplsim.calibration.fit import fit, fitted_toml
    from rplsim.calibration.targets_file import load_targets
    from rplsim.outputs.folder import check_output_folder, check_target, results_folder

    _int_flag("--replicates", args.replicates, 5, 10_000, "")
    _int_flag("--evaluations", args.evaluations, 2, 100_000, "")
    if not (math.isfinite(args.budget) and args.budget > 0):
        raise ScenarioError(f"--budget {args.budget:g}: must be a number of seconds > 0, e.g. 120.")
    out = Path(args.out)
    check_output_folder("--out", out)
    check_target(out, force=args.force)  # before any work: an existing folder needs --force
    sc = _load(args)
    targets = load_targets(args.targets)
    bar = _progress(args, args.evaluations)
    try:
        res = fit(
            sc, targets, args.free or None, method=args.method, replicates=args.replicates,
            budget=args.evaluations, budget_seconds=args.budget, seed=args.seed,
            progress=(lambda done, _best: bar.update_to(min(done, args.evaluations))) if bar else None,
        )  # fmt: skip
    finally:
        if bar:
            bar.close()
    print(res)
    r = res.residuals
    print(
        f"targets within the 99% band: {int(r.within_before.sum())} -> {int(r.within_after.sum())} of "
        f"{len(r)}; made worse: {', '.join(r.target[r.worse]) or 'none'}"
    )
    with results_folder(
        out, force=args.force, manifest={"scenario": args.scenario, "targets": args.targets}
    ) as folder:
        folder.text("fitted.toml", fitted_toml(res, args.targets))
        folder.table("residuals", r, parquet=False)
        folder.table("parameters", res.parameters, parquet=False)
        folder.table("correlation", res.correlation.reset_index(names="key"), parquet=False)
    _say(args, f"wrote {out}/fitted.toml, residuals.csv, parameters.csv and correlation.csv")
    return 0


def _check_port(host: str, port: int) -> None:
    """One line and exit 2 when ``host:port`` cannot be listened on (in use, or no such address),
    before the server starts (uvicorn would log its own error and exit 3)."""
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise ScenarioError(
            f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc}); give another "
            "--port, or a --host of this computer such as 127.0.0.1."
        ) from None


def cmd_serve(args: argparse.Namespace) -> int:
    """``rplsim serve``: the local web page (``docs/web.md``) until Ctrl-C."""
    _int_flag("--port", args.port, 1, 65535, "")
    sc = load_scenario(args.scenario)  # a bad file: one line and exit 2, before the server starts
    if sc.trial is None:
        raise ScenarioError(f"{args.scenario}: {NO_TRIAL}")
    _check_port(args.host, args.port)
    from rplsim.app.web.server import serve  # deferred: fastapi and uvicorn, not for --help

    serve(args.scenario, host=args.host, port=args.port, open_browser=args.open)
    return 0


def _progress(args: argparse.Namespace, total: int) -> Any:
    """A tqdm bar on stderr when it is a terminal and --quiet is not given."""
    if args.quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm  # deferred: only for a terminal, not for --version

    class _Bar(tqdm):  # type: ignore[misc]  # tqdm ships no types
        def update_to(self, done: int) -> None:
            self.update(done - self.n)

    return _Bar(total=total, unit="trial", file=sys.stderr, leave=False)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "timeline": cmd_timeline,
    "check": cmd_check,
    "power": cmd_power,
    "assurance": cmd_assurance,
    "sweep": cmd_sweep,
    "compare": cmd_compare,
    "centres": cmd_centres,
    "fit": cmd_fit,
    "serve": cmd_serve,
    "cohort": cmd_cohort,
    "calibrate": cmd_calibrate,
    "validate": cmd_validate,
}


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    print(f"rplsim: warning: {message}", file=sys.stderr)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # unwinds through the results folder's clean-up


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rplsim`` console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except ArgError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if args.quiet:
        warnings.simplefilter("ignore")
    else:
        warnings.showwarning = _one_line_warning
    try:
        _check_args(args)
        return COMMANDS[args.command](args)
    except ScenarioError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    except ResultsExistError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except SweepStopped as exc:  # not bad input, not a bug: run again with --resume
        print(f"rplsim: {exc}", file=sys.stderr)
        return EXIT_TEMPFAIL
    except KeyboardInterrupt:
        print("rplsim: interrupted; nothing was written.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if args.debug:
            raise
        kind = "rplsim error" if isinstance(exc, RplsimError) else "internal error"
        print(
            f"rplsim: {kind}: {type(exc).__name__}: {exc} (run again with --debug for the "
            f"traceback; please report it to {ISSUES_URL})",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
