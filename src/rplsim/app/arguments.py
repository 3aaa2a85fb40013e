"""The ``rplsim`` command line's arguments: the parser, its subcommands and their examples.

Split from :mod:`rplsim.app.cli` (which runs the commands) to keep each module short.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from rplsim import __version__
from rplsim._core.limits import (
    MAX_CALIBRATION_REPLICATES,
    MAX_COHORT_N,
    MAX_REPLICATES,
    MAX_WORKERS,
)
from rplsim.exceptions import ScenarioError

__all__ = ["EXAMPLES", "SOLVABLE", "ArgError", "build_parser", "parse_range"]

EXAMPLES = {
    "run": "rplsim run scenarios/paper.toml\n  rplsim run scenarios/paper.toml --set "
    "cohort.n=1000 --seed 7 --out /tmp/paper7 --force",
    "cohort": "rplsim cohort scenarios/paper.toml -n 10000 -o cohort.csv\n  rplsim cohort "
    "scenarios/paper.toml --format parquet --with-outcomes  (writes cohort.parquet)\n"
    "  rplsim cohort scenarios/paper.toml --codebook > cohort.md",
    "calibrate": "rplsim calibrate scenarios/paper.toml --replicates 500 -o calibration.csv",
    "validate": "rplsim validate scenarios/*.toml",
    "check": "rplsim check scenarios/paper.toml\n  rplsim check my.toml --examples 100 "
    "--budget 300 --only outcome\n\nexit status: 0 every property passed (or was "
    "skipped), 3 a property failed\n  (its shrunk counterexample is printed), 2 a bad "
    "file or argument or hypothesis\n  missing, 1 an internal error",
    "timeline": "rplsim timeline scenarios/paper.toml -n 2000 --events events.csv --outcomes outcomes.csv",
    "power": "rplsim power scenarios/trial_superiority.toml\n  rplsim power "
    "scenarios/trial_superiority.toml --n-per-arm 120 --replicates 20000 --workers 2\n"
    "  rplsim power scenarios/paper.toml --sensitivity -o a_power.csv  (writes a_power.csv,\n"
    "    a_power_curve.csv, a_power_feasibility.csv, a_power_sensitivity.csv)",
    "assurance": "rplsim assurance scenarios/assurance.toml\n  rplsim assurance "
    "scenarios/assurance.toml --n-per-arm 200\n  rplsim assurance scenarios/assurance.toml "
    "--target 0.7 -o assurance.csv\n\nexit status: 2 when the target is out of reach (above "
    "the prior's ceiling P(benefit))",
    "compare": "rplsim compare scenarios/paper.toml scenarios/group_sequential.toml "
    "scenarios/futility.toml scenarios/reestimation.toml\n  rplsim compare scenarios/paper.toml "
    "scenarios/reestimation.toml --control-lbr 0.5,0.6,0.7 --out my_compare",
    "centres": "rplsim centres scenarios/paper.toml --years 3\n  rplsim centres scenarios/paper.toml "
    "--years 3 --probability 0.9 --set recruitment.centre_rate_cv=0.5 --set "
    "recruitment.activation_months=12",
    "fit": "rplsim fit scenarios/paper.toml --targets scenarios/targets/han2025.toml --out results/fit\n"
    "  rplsim fit my_clinic.toml --targets my_table1.toml --out fit --free cohort.ivf_share "
    "--budget 120",
    "serve": "rplsim serve scenarios/paper.toml\n  rplsim serve scenarios/assurance.toml --port 8800 --open",
    "sweep": "rplsim sweep scenarios/sweep_example.toml --workers 2\n  rplsim sweep "
    "scenarios/sweep_example.toml --grid trial.looks=1,3 --scheduler tcp://host:8786\n"
    "  rplsim sweep scenarios/sweep_example.toml --resume",
}


SOLVABLE = ("n_per_arm", "power", "treatment_lbr", "control_lbr")
"""What ``rplsim power --solve`` can solve for (the arguments of :func:`rplsim.solve`)."""


def parse_range(flag: str, text: str, *, integer: bool) -> list[float] | list[int]:
    """``"40:200:10"`` -> ``[40, 50, ..., 200]`` (STOP included when the steps land on it).

    Raises
    ------
    ScenarioError
        One line naming ``flag`` for anything else (three numbers, STEP > 0, START <= STOP, at
        most 1,000 values).

    Examples
    --------
    >>> parse_range("--curve", "40:60:10", integer=True)
    [40, 50, 60]
    >>> parse_range("--control-lbr", "0.5:0.6:0.05", integer=False)
    [0.5, 0.55, 0.6]
    """
    parts = text.split(":")
    kind = "integers" if integer else "numbers"
    try:
        if len(parts) != 3:
            raise ValueError
        start, stop, step = (int(p) if integer else float(p) for p in parts)
    except ValueError:
        raise ScenarioError(
            f"{flag} {text!r}: must be START:STOP:STEP, three {kind}, e.g. "
            + ("40:200:10" if integer else "0.45:0.75:0.05")
        ) from None
    if not step > 0 or not start <= stop:
        raise ScenarioError(f"{flag} {text!r}: needs STEP > 0 and START <= STOP.")
    count = int((stop - start) / step + 1e-9) + 1
    if count > 1000:
        raise ScenarioError(f"{flag} {text!r}: {count:,} values, at most 1,000.")
    if integer:
        return [int(start + i * step) for i in range(count)]
    return [round(start + i * step, 12) for i in range(count)]


class ArgError(Exception):
    """A bad command line: one line for stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as for a bad file
        raise ArgError(f"{self.prog}: {message} (see {self.prog} --help)")


def _add_scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario file (.toml)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key, e.g. --set cohort.n=1000 (repeatable)",
    )
    p.add_argument("--seed", type=int, default=None, help="root seed (overrides scenario.seed)")


def _subcommand(sub: Any, name: str, help_: str) -> argparse.ArgumentParser:
    """A subcommand with its help, its example as epilog and the global flags repeated."""
    sp: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_,
        description=help_,
        epilog=f"example:\n  {EXAMPLES[name]}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Also accepted after the subcommand, where people type them.
    sp.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress output")
    sp.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show tracebacks of internal errors",
    )
    return sp


def _add_run(sub: Any) -> None:
    """The arguments of ``rplsim run``."""
    r = _subcommand(sub, "run", "run every stage the scenario has and write results/<name>/")
    r.add_argument("scenario", nargs="+", help="scenario file(s) (.toml); each is validated before any runs")
    r.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key, e.g. --set cohort.n=1000 (repeatable)",
    )
    r.add_argument("--seed", type=int, default=None, help="root seed (overrides scenario.seed)")
    r.add_argument(
        "--out", default=None, help="results folder (default results/<name>; only with one scenario)"
    )
    r.add_argument(
        "--force",
        action="store_true",
        help="replace an existing rplsim results folder (only once the new one is complete; "
        "anything else is refused)",
    )
    r.add_argument(
        "--replicates",
        type=int,
        default=None,
        help="calibration cohorts (default 200) and simulated trials per power point "
        f"(default trial.replicates); 2 to {MAX_CALIBRATION_REPLICATES:,}",
    )
    r.add_argument(
        "--format",
        default="png,svg",
        metavar="FORMATS",
        help="figure formats, comma-separated, of png, svg, pdf (default png,svg; report.html "
        "inlines the SVGs, or embeds the PNGs without svg)",
    )


def _add_inputs(sub: Any) -> None:
    """The arguments of ``cohort``, ``calibrate``, ``validate``, ``check`` and ``timeline``."""
    c = _subcommand(sub, "cohort", "generate a cohort and write it as CSV or Parquet")
    _add_scenario_args(c)
    c.add_argument("-n", type=int, default=None, help=f"women (default cohort.n; at most {MAX_COHORT_N:,})")
    c.add_argument(
        "-o",
        "--output",
        default=None,
        help="output file; - is stdout (default: stdout for csv, cohort.parquet for parquet)",
    )
    c.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default=None,
        help="csv (default; parquet when -o ends in .parquet) or parquet (keeps the column "
        "types; needs pyarrow: pip install 'rplsim[parquet]')",
    )
    c.add_argument(
        "--with-outcomes",
        action="store_true",
        help="add the index pregnancy's outcome columns (the vectorised timeline), see --codebook",
    )
    c.add_argument(
        "--codebook",
        action="store_true",
        help="print the codebook of the columns (Markdown) and exit without generating",
    )

    k = _subcommand(sub, "calibrate", "compare the scenario with the paper's targets")
    _add_scenario_args(k)
    k.add_argument(
        "--replicates",
        type=int,
        default=200,
        help=f"simulated cohorts (default 200; 2 to {MAX_CALIBRATION_REPLICATES:,})",
    )
    k.add_argument("-o", "--output", default=None, help="also write the table as CSV")

    v = _subcommand(sub, "validate", "check scenario files without running them")
    v.add_argument("files", nargs="+", help="scenario files")

    h = _subcommand(sub, "check", "run the invariant suite (hypothesis properties) against a scenario")
    _add_scenario_args(h)
    h.add_argument("--examples", type=int, default=25, help="examples per property (25)")
    h.add_argument(
        "--budget",
        type=float,
        default=180.0,
        help="seconds; properties not started by then are skipped (180)",
    )
    h.add_argument("--only", default=None, help="run only properties whose name contains this")

    t = _subcommand(sub, "timeline", "run the pregnancies through the protocol (SimPy) and summarise")
    _add_scenario_args(t)
    t.add_argument("-n", type=int, default=None, help=f"women (default cohort.n; at most {MAX_COHORT_N:,})")
    t.add_argument("--events", default=None, help="write the event log as CSV")
    t.add_argument("--outcomes", default=None, help="write one row a woman as CSV")


def _add_replicates_workers(p: argparse.ArgumentParser, replicates: str) -> None:
    """``--replicates`` (``replicates``: what it counts and its default, the bound added) and
    ``--workers``, as ``power`` and ``assurance`` take them."""
    p.add_argument("--replicates", type=int, default=None, help=f"{replicates}; at most {MAX_REPLICATES:,})")
    p.add_argument(
        "--workers", type=int, default=1, help=f"processes (same numbers for any; at most {MAX_WORKERS})"
    )


def _add_power(sub: Any) -> None:
    """The arguments of ``rplsim power``."""
    w = _subcommand(sub, "power", "size the scenario's [trial]: analytic n, simulated power, feasibility")
    _add_scenario_args(w)
    w.add_argument(
        "--n-per-arm",
        type=int,
        default=None,
        help="simulate at this control-arm size (default: search for the n)",
    )
    _add_replicates_workers(w, "simulated trials per point (default trial.replicates")
    w.add_argument(
        "--sensitivity",
        action="store_true",
        help="also the grid control x treatment rate -> n per arm, and n at the ends of each "
        "assumption's range",
    )
    w.add_argument(
        "--summary",
        action="store_true",
        help="print the protocol's sample-size section: the design table, the paragraph and "
        "(group-sequential) the boundary table",
    )
    w.add_argument(
        "--solve",
        default=None,
        choices=SOLVABLE,
        help="solve for this one quantity from the others (the scenario's values and the flags): "
        "n_per_arm, power (at --n-per-arm), treatment_lbr (the smallest detectable IVIG rate at "
        "--n-per-arm) or control_lbr (the largest placebo rate --n-per-arm still covers)",
    )
    w.add_argument(
        "--curve",
        default=None,
        metavar="START:STOP:STEP",
        help="power against n randomised per arm, e.g. 40:200:10 (STOP included; exact on the "
        "count path); with -o also STEM_power_vs_n.csv and .png",
    )
    w.add_argument(
        "--control-lbr",
        default=None,
        metavar="START:STOP:STEP",
        help="power at --n-per-arm (or the found n) across placebo rates, e.g. 0.45:0.75:0.05; "
        "with -o also STEM_power_vs_control.csv and .png",
    )
    w.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FILE",
        help="write the power table (power at the chosen n) to FILE, and beside it "
        "STEM_curve.csv (power against n), STEM_feasibility.csv and, with --sensitivity, "
        "STEM_sensitivity.csv (STEM: FILE without its suffix); with --solve, FILE is the solution's row",
    )


def _add_assurance(sub: Any) -> None:
    """The arguments of ``rplsim assurance``."""
    a = _subcommand(
        sub, "assurance", "probability of success of the [trial] under each prior of [prior] (assurance)"
    )
    _add_scenario_args(a)
    a.add_argument(
        "--n-per-arm",
        type=int,
        default=None,
        help="randomised women per arm (default trial.n_per_arm, else the n of `rplsim power`)",
    )
    a.add_argument(
        "--target",
        type=float,
        default=None,
        help="also the smallest n whose assurance under the headline prior reaches this, e.g. 0.8 "
        "(exit 2 when it is out of reach)",
    )
    a.add_argument(
        "--method",
        default="auto",
        choices=("auto", "exact", "simulated"),
        help="auto: exact for a fixed count-path design up to 250 per arm, simulated otherwise",
    )
    _add_replicates_workers(a, "prior draws on the simulated path (default prior.draws")
    a.add_argument(
        "-o", "--output", default=None, metavar="FILE", help="write one row per prior at the n to FILE (CSV)"
    )


def _add_sweep(sub: Any) -> None:
    """The arguments of ``rplsim sweep``."""
    s = _subcommand(sub, "sweep", "simulated power at every point of a grid of scenario keys ([sweep] grid)")
    _add_scenario_args(s)
    s.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="add or replace a grid axis, e.g. --grid trial.control_lbr=0.55,0.6",
    )
    s.add_argument(
        "--n-per-arm",
        type=int,
        default=None,
        help="simulate every point at this n (default: each point's analytic n)",
    )
    s.add_argument(
        "--replicates",
        type=int,
        default=None,
        help=f"simulated trials per point (default sweep.replicates; at most {MAX_REPLICATES:,})",
    )
    s.add_argument(
        "--batch",
        type=int,
        default=None,
        help="replicates per task, a multiple of 1024 (same numbers for any)",
    )
    s.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"local processes (default: all CPUs; at most {MAX_WORKERS}; same numbers for any)",
    )
    s.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on a Dask cluster, e.g. tcp://host:8786 (see docs/sweeps.md)",
    )
    s.add_argument("--out", default=None, help="results folder (default results/<name>)")
    s.add_argument(
        "--resume", action="store_true", help="keep the points already in points.csv, compute the rest"
    )
    s.add_argument(
        "--force",
        action="store_true",
        help="start over, replacing an existing sweep folder only once the new sweep has finished",
    )
    s.add_argument(
        "--force-large",
        action="store_true",
        help="allow more than 10,000 grid points or an estimated run beyond 24 h",
    )


def _add_compare(sub: Any) -> None:
    """The arguments of ``rplsim compare``."""
    c = _subcommand(
        sub, "compare", "designs side by side over true placebo rates: power, type-I error, expected n"
    )
    c.add_argument("scenario", nargs="+", help="scenario files (.toml), one design each")
    c.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key in every file, e.g. --set trial.control_lbr=0.6 (repeatable)",
    )
    c.add_argument("--seed", type=int, default=None, help="root seed (overrides scenario.seed)")
    c.add_argument(
        "--control-lbr",
        default="0.45,0.55,0.65,0.75",
        metavar="P1,P2,...",
        help="true placebo live-birth rates (the planned odds ratio held); default 0.45,0.55,0.65,0.75",
    )
    _add_replicates_workers(
        c, "simulated trials per cell where a cell is simulated (default trial.replicates"
    )
    c.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the cells on a Dask cluster (tcp://host:8786)",
    )
    c.add_argument("--out", default=None, help="results folder (default results/compare)")
    c.add_argument(
        "--force", action="store_true", help="replace an existing compare folder once the new one is done"
    )


def _add_centres(sub: Any) -> None:
    """The arguments of ``rplsim centres``."""
    c = _subcommand(sub, "centres", "the smallest number of centres that recruit the trial in time")
    _add_scenario_args(c)
    c.add_argument("--years", type=float, required=True, help="recruitment period allowed, in years")
    c.add_argument(
        "--probability",
        type=float,
        default=0.8,
        help="required probability of finishing in time (default 0.8)",
    )
    c.add_argument(
        "--replicates",
        type=int,
        default=20_000,
        help="simulated trials per number of centres (default 20,000)",
    )


def _add_fit(sub: Any) -> None:
    """The arguments of ``rplsim fit``."""
    c = _subcommand(sub, "fit", "fit the scenario's free parameters to a targets file")
    _add_scenario_args(c)
    c.add_argument(
        "--targets",
        required=True,
        help="a targets file (docs/targets.md), e.g. scenarios/targets/han2025.toml",
    )
    c.add_argument(
        "--out",
        required=True,
        help="folder for fitted.toml, residuals.csv, parameters.csv and correlation.csv",
    )
    c.add_argument(
        "--free", action="append", default=[], metavar="KEY",
        help="a key to fit (repeatable); default the IVF share and the dose mechanism's four keys",
    )  # fmt: skip
    c.add_argument("--budget", type=float, default=240.0, help="seconds the search may take (default 240)")
    c.add_argument(
        "--evaluations", type=int, default=400, help="most objective evaluations of the search (default 400)"
    )
    c.add_argument(
        "--method", choices=("nelder-mead", "differential-evolution"), default="nelder-mead",
        help="the search (default nelder-mead)",
    )  # fmt: skip
    c.add_argument("--replicates", type=int, default=40, help="simulated cohorts per evaluation (default 40)")
    c.add_argument(
        "--force", action="store_true", help="replace an existing fit folder once the new one is done"
    )


def _add_serve(sub: Any) -> None:
    """The arguments of ``rplsim serve``."""
    c = _subcommand(sub, "serve", "a local web page: move the assumptions, watch n, download the design")
    c.add_argument(
        "scenario", nargs="?", default="scenarios/paper.toml",
        help="scenario preselected on the page (default scenarios/paper.toml); the picker lists "
        "the .toml files of its folder",
    )  # fmt: skip
    c.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this computer only)"
    )
    c.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    c.add_argument("--open", action="store_true", help="open the page in the default browser")


def build_parser() -> argparse.ArgumentParser:
    """The ``rplsim`` parser: every subcommand with its arguments and an example."""
    p = _Parser(
        prog="rplsim",
        description="RPL cohorts, IVIG timelines and trial power calibrated to Han et al. 2025.",
    )
    p.add_argument("--version", action="version", version=f"rplsim {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    adders = (
        _add_run,
        _add_inputs,
        _add_power,
        _add_assurance,
        _add_sweep,
        _add_compare,
        _add_centres,
        _add_fit,
        _add_serve,
    )
    for add in adders:
        add(sub)
    return p
