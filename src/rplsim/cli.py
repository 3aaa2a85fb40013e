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

from . import __version__
from .exceptions import ResultsExistError, RplsimError, ScenarioError
from .scenario import Scenario, load_scenario

__all__ = ["main"]

ISSUES_URL = "the rplsim issue tracker (include the command and the scenario file)"

EXAMPLES = {
    "run": "rplsim run scenarios/paper.toml\n  rplsim run scenarios/paper.toml --set "
           "cohort.n=1000 --seed 7 --out /tmp/paper7 --force",
    "cohort": "rplsim cohort scenarios/paper.toml -n 10000 -o cohort.csv",
    "calibrate": "rplsim calibrate scenarios/paper.toml --replicates 500 -o calibration.csv",
    "validate": "rplsim validate scenarios/*.toml",
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
        return sub.add_parser(name, help=help_, description=help_,
                              epilog=f"example:\n  {EXAMPLES[name]}",
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    r = add("run", "run every stage the scenario has and write results/<name>/")
    _add_scenario_args(r)
    r.add_argument("--out", default=None, help="results folder (default results/<name>)")
    r.add_argument("--force", action="store_true", help="replace an existing results folder")
    r.add_argument("--replicates", type=int, default=None,
                   help="calibration cohorts (default 200)")

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
    return p


def _load(args: argparse.Namespace) -> Scenario:
    over = list(args.overrides)
    if args.seed is not None:
        over.append(f"scenario.seed={args.seed}")
    return load_scenario(args.scenario, over)


def _positive(name: str, value: int | None, minimum: int = 1) -> None:
    if value is not None and value < minimum:
        raise ScenarioError(f"--{name} == {value}, must be an integer >= {minimum}.")


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
    from .cohort import generate_cohort

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
    from .calibration import calibrate

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
    sc = _load(args)
    _positive("replicates", args.replicates, 2)
    out = Path(args.out) if args.out else Path("results") / sc.name
    from .pipeline import run_pipeline

    t0 = time.perf_counter()
    summary = run_pipeline(sc, out, force=args.force, replicates=args.replicates,
                           say=lambda m: _say(args, m), command=sys.argv)
    print(summary)
    _say(args, f"wrote {out}/ in {time.perf_counter() - t0:.1f} s")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "cohort": cmd_cohort,
    "calibrate": cmd_calibrate,
    "validate": cmd_validate,
}


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
