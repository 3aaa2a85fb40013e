"""The ``rplsim`` command line.

Exit status: 0 success; 2 a bad scenario file or argument (one line per problem on stderr, no
traceback, nothing written); 1 an internal error (a short message; ``--debug`` shows the
traceback).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rplsim import __version__
from rplsim.exceptions import ResultsExistError, RplsimError, ScenarioError
from rplsim.scenario.model import Scenario, load_scenario
from rplsim._core.validation import check_integer

__all__ = ["main"]

ISSUES_URL = "the rplsim issue tracker (include the command and the scenario file)"

EXAMPLES = {
    "run": "rplsim run scenarios/paper.toml\n  rplsim run scenarios/paper.toml --set "
           "cohort.n=1000 --seed 7 --out /tmp/paper7 --force",
    "cohort": "rplsim cohort scenarios/paper.toml -n 10000 -o cohort.csv",
    "calibrate": "rplsim calibrate scenarios/paper.toml --replicates 500 -o calibration.csv",
    "validate": "rplsim validate scenarios/*.toml",
    "check": "rplsim check scenarios/paper.toml\n  rplsim check my.toml --examples 100 "
             "--budget 300 --only outcome\n\nexit status: 0 every property passed (or was "
             "skipped), 3 a property failed\n  (its shrunk counterexample is printed), 2 a bad "
             "file or argument or hypothesis\n  missing, 1 an internal error",
    "timeline": "rplsim timeline scenarios/paper.toml -n 2000 --events events.csv "
                "--outcomes outcomes.csv",
    "power": "rplsim power scenarios/trial_superiority.toml\n  rplsim power "
             "scenarios/trial_superiority.toml --n-per-arm 120 --replicates 20000 --workers 2\n"
             "  rplsim power scenarios/paper.toml --sensitivity -o sensitivity.csv",
    "sweep": "rplsim sweep scenarios/sweep_example.toml --workers 2\n  rplsim sweep "
             "scenarios/sweep_example.toml --grid trial.looks=1,3 --scheduler tcp://host:8786\n"
             "  rplsim sweep scenarios/sweep_example.toml --resume",
}


class _ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for a bad file
        raise _ArgError(f"{self.prog}: {message} (see {self.prog} --help)")


def _add_scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario file (.toml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set cohort.n=1000 (repeatable)")
    p.add_argument("--seed", type=int, default=None, help="root seed (overrides scenario.seed)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="rplsim", description="RPL cohorts, IVIG timelines and trial power "
                "calibrated to Han et al. 2025.")
    p.add_argument("--version", action="version", version=f"rplsim {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_,
                            epilog=f"example:\n  {EXAMPLES[name]}",
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        # Also accepted after the subcommand, where people type them.
        sp.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress output")
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks of internal errors")
        return sp

    r = add("run", "run every stage the scenario has and write results/<name>/")
    r.add_argument("scenario", nargs="+", help="scenario file(s) (.toml); each is validated "
                   "before any runs")
    r.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, e.g. --set cohort.n=1000 (repeatable)")
    r.add_argument("--seed", type=int, default=None, help="root seed (overrides scenario.seed)")
    r.add_argument("--out", default=None, help="results folder (default results/<name>; only "
                   "with one scenario)")
    r.add_argument("--force", action="store_true", help="replace an existing results folder")
    r.add_argument("--replicates", type=int, default=None,
                   help="calibration cohorts (default 200) and simulated trials per power point "
                        "(default trial.replicates)")

    c = add("cohort", "generate a cohort and write it as CSV")
    _add_scenario_args(c)
    c.add_argument("-n", type=int, default=None, help="women (default cohort.n)")
    c.add_argument("-o", "--output", default="-", help="CSV file (default: stdout)")

    k = add("calibrate", "compare the scenario with the paper's targets")
    _add_scenario_args(k)
    k.add_argument("--replicates", type=int, default=200, help="simulated cohorts (default 200)")
    k.add_argument("-o", "--output", default=None, help="also write the table as CSV")

    v = add("validate", "check scenario files without running them")
    v.add_argument("files", nargs="+", help="scenario files")

    h = add("check", "run the invariant suite (hypothesis properties) against a scenario")
    _add_scenario_args(h)
    h.add_argument("--examples", type=int, default=25, help="examples per property (25)")
    h.add_argument("--budget", type=float, default=180.0,
                   help="seconds; properties not started by then are skipped (180)")
    h.add_argument("--only", default=None, help="run only properties whose name contains this")

    t = add("timeline", "run the pregnancies through the protocol (SimPy) and summarise")
    _add_scenario_args(t)
    t.add_argument("-n", type=int, default=None, help="women (default cohort.n)")
    t.add_argument("--events", default=None, help="write the event log as CSV")
    t.add_argument("--outcomes", default=None, help="write one row a woman as CSV")

    w = add("power", "size the scenario's [trial]: analytic n, simulated power, feasibility")
    _add_scenario_args(w)
    w.add_argument("--n-per-arm", type=int, default=None,
                   help="simulate at this control-arm size (default: search for the n)")
    w.add_argument("--replicates", type=int, default=None,
                   help="simulated trials per point (default trial.replicates)")
    w.add_argument("--workers", type=int, default=1, help="processes (same numbers for any)")
    w.add_argument("--sensitivity", action="store_true",
                   help="also the grid control x treatment rate -> n per arm")
    w.add_argument("-o", "--output", default=None, help="write the result table(s) as CSV")

    s = add("sweep", "simulated power at every point of a grid of scenario keys ([sweep] grid)")
    _add_scenario_args(s)
    s.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="add or replace a grid axis, e.g. --grid trial.control_lbr=0.55,0.6")
    s.add_argument("--n-per-arm", type=int, default=None,
                   help="simulate every point at this n (default: each point's analytic n)")
    s.add_argument("--replicates", type=int, default=None,
                   help="simulated trials per point (default sweep.replicates)")
    s.add_argument("--batch", type=int, default=None,
                   help="replicates per task, a multiple of 1024 (same numbers for any)")
    s.add_argument("--workers", type=int, default=None,
                   help="local processes (default: all CPUs; same numbers for any)")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on a Dask cluster, e.g. tcp://host:8786 (see docs/sweeps.md)")
    s.add_argument("--out", default=None, help="results folder (default results/<name>)")
    s.add_argument("--resume", action="store_true",
                   help="keep the points already in points.csv, compute the rest")
    s.add_argument("--force", action="store_true", help="start over, replacing points.csv")
    return p


def _load(args: argparse.Namespace) -> Scenario:
    over = list(args.overrides)
    if args.seed is not None:
        over.append(f"scenario.seed={args.seed}")
    return load_scenario(args.scenario, over)


def _positive(name: str, value: int | None, minimum: int = 1) -> None:
    if value is not None:
        check_integer(f"--{name}", value, minimum, rule=f"an integer >= {minimum}")


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


def cmd_cohort(args: argparse.Namespace) -> int:
    sc = _load(args)
    _positive("n", args.n)
    from rplsim.cohort.generate import generate_cohort

    df = generate_cohort(sc, n=args.n)
    if args.output == "-":
        df.to_csv(sys.stdout, index=False)
    else:
        df.to_csv(args.output, index=False)
        _say(args, f"wrote {len(df)} women to {args.output}")
    return 0


def _format_calibration(tab: pd.DataFrame) -> str:
    show = tab.copy()
    show["within"] = show["within"].map({True: "yes", False: "MISS"})
    show.loc[~tab["followed"], "within"] += " (not followed)"
    return show.drop(columns=["followed"]).to_string(
        index=False, float_format=lambda x: f"{x:.4g}", max_colwidth=48)


def cmd_calibrate(args: argparse.Namespace) -> int:
    sc = _load(args)
    _positive("replicates", args.replicates, 2)
    from rplsim.calibration.compare import calibrate

    tab = calibrate(sc, replicates=args.replicates)
    print(_format_calibration(tab))
    missed = tab[~tab.within & tab.followed]
    print(f"\n{len(tab)} targets, {len(missed)} outside the 99% tolerance "
          f"({args.replicates} cohorts of {sc.cohort.n}); rows marked 'not followed' show the "
          "reading of a paper conflict rplsim does not follow.")
    if args.output:
        tab.to_csv(args.output, index=False)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    _positive("replicates", args.replicates, 2)
    files = list(args.scenario)
    if args.out and len(files) > 1:
        raise ScenarioError(f"--out {args.out}: only with one scenario file ({len(files)} given); "
                            "without --out each goes to results/<name>/.")
    over = list(args.overrides) + ([f"scenario.seed={args.seed}"] if args.seed is not None else [])
    scenarios = [load_scenario(f, over) for f in files]  # every file checked before any work
    outs = [Path(args.out) if args.out else Path("results") / sc.name for sc in scenarios]
    if not args.force:
        for out in outs:
            if out.exists():
                raise ResultsExistError(f"{out}: exists; use --force to replace it or --out DIR.")
    from rplsim.app.pipeline import run_pipeline

    for sc, out in zip(scenarios, outs, strict=True):
        t0 = time.perf_counter()
        summary = run_pipeline(sc, out, force=args.force, replicates=args.replicates,
                               say=lambda m: _say(args, m), command=sys.argv)
        print(f"== {sc.name}\n{summary}")
        _say(args, f"wrote {out}/ in {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    sc = _load(args)
    _positive("examples", args.examples)
    try:  # deferred: only this command needs hypothesis, and a broken install gets a hint
        from rplsim.app.check import EXIT_CHECK_FAILED, run_checks
    except ModuleNotFoundError as exc:
        if exc.name != "hypothesis":
            raise
        print("rplsim check needs hypothesis (a dependency of rplsim): pip install "
              "'hypothesis>=6.90'", file=sys.stderr)
        return 2

    results = run_checks(sc, max_examples=args.examples, budget_seconds=args.budget,
                         only=args.only)
    table = pd.DataFrame([{"property": r.name, "examples": r.examples, "result": r.status,
                           "seconds": round(r.seconds, 2)} for r in results])
    print(table.to_string(index=False))
    failed = [r for r in results if r.status == "FAIL"]
    for r in failed:
        print(f"\nFAIL {r.name}\n  {r.counterexample}")
    n_pass = sum(r.status == "pass" for r in results)
    print(f"\n{n_pass} passed, {len(failed)} failed, "
          f"{sum(r.status == 'skipped' for r in results)} skipped ({args.scenario})")
    return EXIT_CHECK_FAILED if failed else 0


def cmd_timeline(args: argparse.Namespace) -> int:
    sc = _load(args)
    _positive("n", args.n)
    from rplsim.cohort.generate import generate_cohort
    from rplsim.timeline.simulation import simulate_timeline

    cohort = generate_cohort(sc, n=args.n)
    res = simulate_timeline(cohort, sc)
    o = res.outcomes
    an = o[o["analysed"]]
    table = an.groupby("stratum", observed=True).agg(
        analysed=("outcome", "size"),
        live_birth_rate=("outcome", lambda s: (s == "live_birth").mean()),
        ivig_g_mean=("ivig_grams", "mean"), ivig_g_sd=("ivig_grams", "std"))
    print(table.to_string(float_format=lambda x: f"{x:.3f}"))
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in o["outcome"].value_counts().items()))
    print("clinic: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                 for k, v in res.clinic.items()))
    if args.events:
        res.events.to_csv(args.events, index=False)
    if args.outcomes:
        o.to_csv(args.outcomes, index=False)
    return 0


def cmd_power(args: argparse.Namespace) -> int:
    over = list(args.overrides)
    if args.replicates is not None:
        _positive("replicates", args.replicates)
        over.append(f"trial.replicates={args.replicates}")
    args.overrides = over
    sc = _load(args)
    if sc.trial is None:
        raise ScenarioError(f"{args.scenario}: has no [trial] section; copy one from "
                            "scenarios/trial_superiority.toml.")
    _positive("n-per-arm", args.n_per_arm, 2)
    _positive("workers", args.workers)
    from rplsim.planning.feasibility import feasibility
    from rplsim.app.pipeline import answer_sentence
    from rplsim.trial.power import analytic_sample_size, find_sample_size, simulate_power
    from rplsim.planning.sensitivity import sensitivity_grid
    from rplsim.trial.simulation import trial_design

    t = sc.trial
    d = trial_design(sc)
    ss = analytic_sample_size(t, d.p_control, d.p_treatment)
    print(f"analytic ({ss.method}): {ss.n_control} + {ss.n_treatment} analysed "
          f"(before {t.dropout:.0%} dropout)")
    bar = _progress(args, sc.trial.replicates)
    if args.n_per_arm is None:
        n, curve = find_sample_size(sc, workers=args.workers)
        print(curve.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    else:
        n, curve = args.n_per_arm, None
    res = simulate_power(sc, n_per_arm=n, workers=args.workers,
                         progress=bar.update_to if bar else None)
    if bar:
        bar.close()
    feas = feasibility(sc, res)
    print(feas.as_frame().to_string(index=False))
    print(answer_sentence(sc, res, feas).replace("**", ""))
    frames = {"power": pd.DataFrame([res.as_dict()]), "feasibility": feas.as_frame()}
    if curve is not None:
        frames["power_curve"] = curve
    if args.sensitivity:
        grid = sensitivity_grid(sc)
        print(grid.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        frames["sensitivity"] = grid
    if args.output:
        out = Path(args.output)
        for name, df in frames.items():
            target = out if len(frames) == 1 else out.with_name(f"{out.stem}_{name}{out.suffix}")
            df.to_csv(target, index=False)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    for name, value in (("n_per_arm", args.n_per_arm), ("replicates", args.replicates),
                        ("batch", args.batch)):
        if value is not None:  # validated with the file, like any [sweep] key
            args.overrides.append(f"sweep.{name}={value}")
    _positive("workers", args.workers)
    from rplsim.sweep.run import parse_grid_args, plan_sweep, run_sweep

    if args.seed is not None:
        args.overrides.append(f"scenario.seed={args.seed}")
    plan = plan_sweep(args.scenario, args.overrides, parse_grid_args(args.grid))
    out = Path(args.out) if args.out else Path("results") / plan.base.name
    bar = _progress(args, len(plan.points))
    if bar:
        bar.unit = "point"
    try:
        res = run_sweep(plan, out, workers=args.workers, scheduler=args.scheduler,
                        resume=args.resume, force=args.force, command=sys.argv,
                        on_point=(lambda done, _total: bar.update_to(done)) if bar else None)
    except KeyboardInterrupt:
        print(f"rplsim: interrupted; the finished points are in {out}/points.csv: run again "
              "with --resume to compute the rest.", file=sys.stderr)
        return 130
    finally:
        if bar:
            bar.close()
    cols = ["point", "n_per_arm", "power", "power_ci_low", "power_ci_high", "type1_error",
            "expected_n_h1"]
    print(res.table[cols].to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    _say(args, f"wrote {out}/ ({len(res.table)} points: {res.computed} computed, {res.resumed} "
               f"resumed; {res.backend}) in {res.seconds:.1f} s")
    return 0


def _progress(args: argparse.Namespace, total: int) -> Any:
    """A tqdm bar on stderr when it is a terminal and --quiet is not given."""
    if args.quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    class _Bar(tqdm):
        def update_to(self, done: int) -> None:
            self.update(done - self.n)

    return _Bar(total=total, unit="trial", file=sys.stderr, leave=False)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "timeline": cmd_timeline,
    "check": cmd_check,
    "power": cmd_power,
    "sweep": cmd_sweep,
    "cohort": cmd_cohort,
    "calibrate": cmd_calibrate,
    "validate": cmd_validate,
}


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str,
                      lineno: int, file: Any = None, line: str | None = None) -> None:
    print(f"rplsim: warning: {message}", file=sys.stderr)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # unwinds through the results folder's clean-up


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rplsim`` console script; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except _ArgError as exc:
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
        return COMMANDS[args.command](args)
    except ScenarioError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    except ResultsExistError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rplsim: interrupted; nothing was written.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if args.debug:
            raise
        kind = "rplsim error" if isinstance(exc, RplsimError) else "internal error"
        print(f"rplsim: {kind}: {type(exc).__name__}: {exc} (run again with --debug for the "
              f"traceback; please report it to {ISSUES_URL})", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
