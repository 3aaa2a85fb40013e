"""The adversarial corpus of issue 20, as data, and the one judge of a run of any case.

Each :class:`Case` is a bad (or hostile but legal) input: the argv of one ``rplsim`` command,
the files to create first (scenario TOML, symlinks, FIFOs, big files, decoy folders) and what
the promise says must happen. The promise for a bad input: exit status 2, one line per problem
on stderr naming the file or flag and the key, no traceback, nothing written (no results
folder, no output file, no ``.tmp-`` sibling). A few cases are legal inputs with a documented
behaviour (a CSV cell neutralised, workers capped with a note): exit 0 and a check of the
output.

``tests/app/test_adversarial.py`` runs the corpus in-process; ``benchmarks/adversarial.py``
runs all of it, in subprocesses, and counts the inputs that meet the promise. Both build the
files with :func:`materialize`, take :func:`snapshot` before and after, and call :func:`judge`.

Layout of a case's folder: the snapshot root is the temporary folder; the command runs in
``<root>/home/work`` (so ``name = "../../x"`` lands inside the root, where the judge sees it);
file paths are relative to that working folder and :data:`TOKEN` in any argv item or file
text is replaced by the root's absolute path.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import os
import shutil
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "CASES",
    "TOKEN",
    "Case",
    "Copy",
    "Dir",
    "Fifo",
    "Link",
    "judge",
    "materialize",
    "snapshot",
]

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
TOKEN = "@ROOT@"
WORK = Path("home") / "work"


# ----------------------------------------------------------------------------- file specs
@dataclass(frozen=True)
class Copy:
    """A copy of ``scenarios/<name>`` (a valid base)."""

    name: str


@dataclass(frozen=True)
class Link:
    """A symbolic link to ``target`` (as written, relative or absolute)."""

    target: str


@dataclass(frozen=True)
class Fifo:
    """A named pipe nobody writes to."""


@dataclass(frozen=True)
class Dir:
    """An empty folder."""


FileSpec = str | bytes | Copy | Link | Fifo | Dir

#: Every case also gets these valid bases in its working folder.
BASES: dict[str, FileSpec] = {
    "paper.toml": Copy("paper.toml"),
    "trial_superiority.toml": Copy("trial_superiority.toml"),
    "sweep_example.toml": Copy("sweep_example.toml"),
}


@dataclass(frozen=True)
class Case:
    """One adversarial input and the outcome the promise asks for.

    Attributes
    ----------
    id : str
        Short, unique.
    attacks : str
        What it tries (one phrase).
    argv : tuple of str
        The ``rplsim`` arguments (no program name).
    files : mapping
        Path (relative to the working folder, may start with ``../``) -> content or spec.
    exit : int or tuple of int
        The allowed exit statuses.
    stderr : tuple
        Fragments that must all appear on stderr; a tuple item is "any one of these".
    lines : int or None
        Exactly this many non-empty stderr lines when the exit status is not 0 (one per problem).
    forbid : tuple of str
        Fragments that must not appear on stderr (beyond the generic "Traceback", "internal error").
    outputs : tuple of str
        Glob patterns (relative to the working folder) a run that exits 0 may write.
    check : callable, optional
        ``check(workdir) -> list of problems`` for a run that exits 0 (e.g. CSV cells).
    subprocess : str
        Non-empty: the reason the case runs only in a subprocess (a FIFO, a device, a process
        flood, unbounded memory); the in-process test skips it.
    slow : bool
        True when a correct run takes seconds (a whole pipeline): only the runner runs it.
    signal_after : float, optional
        The runner sends SIGINT this many seconds after the start.
    """

    id: str
    attacks: str
    argv: tuple[str, ...]
    files: Mapping[str, FileSpec] = field(default_factory=dict)
    exit: int | tuple[int, ...] = 2
    stderr: tuple[str | tuple[str, ...], ...] = ()
    lines: int | None = 1
    forbid: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    check: Callable[[Path], list[str]] | None = None
    subprocess: str = ""
    slow: bool = False
    signal_after: float | None = None

    @property
    def exits(self) -> tuple[int, ...]:
        """The allowed exit statuses as a tuple."""
        return self.exit if isinstance(self.exit, tuple) else (self.exit,)

    @property
    def expected(self) -> str:
        """A short description of the expected outcome, for the runner's table."""
        codes = "/".join(str(c) for c in self.exits)
        frags = " ".join("|".join(f) if isinstance(f, tuple) else f for f in self.stderr)
        return f"exit {codes}" + (f" [{frags}]" if frags else "")


# ----------------------------------------------------------------------------- building blocks
QUICK_RUN = ("--replicates", "2", "--set", "cohort.n=200", "--quiet")
QUICK_SWEEP = (
    "--replicates",
    "1024",
    "--n-per-arm",
    "20",
    "--workers",
    "1",
    "--grid",
    "trial.control_lbr=0.6",
    "--grid",
    "trial.analysis=chi2",
    "--grid",
    "trial.dropout=0.1",
    "--quiet",
)
QUICK_POWER = ("--n-per-arm", "20", "--replicates", "1024", "--quiet")
# A traceback or an internal error is never the answer to bad input; a value echoed as a Python
# repr ('x', ['x'], {'k': 1}, datetime.date(...)) is not "in TOML form" (the issue, item 4).
GENERIC_FORBID = ("Traceback", "internal error", "rplsim error", "== '", "['", "{'", "datetime.")


def toml(body: str = "", *, name: str = '"adv"', extends: str | None = "paper.toml") -> str:
    """A scenario file: ``extends``, ``[scenario] name`` (TOML text, quoted) and ``body``."""
    head = f'extends = "{extends}"\n' if extends else ""
    return f"{head}[scenario]\nname = {name}\n{body}"


def trial(body: str = "", **kw: str) -> str:
    """A scenario extending the superiority trial."""
    return toml(body, extends="trial_superiority.toml", **kw)


def sweep_file(body: str = "", **kw: str) -> str:
    """A scenario extending the sweep example."""
    return toml(body, extends="sweep_example.toml", **kw)


def run(path: str, *extra: str) -> tuple[str, ...]:
    """``rplsim run path ... --replicates 2 --set cohort.n=200 --quiet``."""
    return ("run", path, *extra, *QUICK_RUN)


def chain(n: int) -> dict[str, FileSpec]:
    """``c0.toml`` extends ``c1.toml`` ... extends ``c<n-1>.toml`` extends ``paper.toml``."""
    files: dict[str, FileSpec] = {}
    for i in range(n):
        parent = f"c{i + 1}.toml" if i + 1 < n else "paper.toml"
        files[f"c{i}.toml"] = f'extends = "{parent}"\n[scenario]\nname = "c{i}"\n'
    return files


def nested(depth: int, open_: str, close: str) -> str:
    """``x = `` and ``depth`` levels of ``open_ ... close``."""
    return toml(f"[cohort]\nx = {open_ * depth}1{close * depth}\n")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_cells_neutral(workdir: Path) -> list[str]:
    """Every text cell of every CSV under ``workdir`` is safe in a spreadsheet.

    A cell must not begin with ``=``, ``+`` or ``@``, nor with ``-`` unless it is a number
    (negative numbers are data): OWASP's CSV-injection triggers.
    """
    bad = []
    for path in sorted(workdir.rglob("*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    risky = cell[:1] in ("=", "+", "@") or (cell[:1] == "-" and not _is_number(cell))
                    if risky:
                        bad.append(f"{path.name}: cell {cell!r} would run as a formula")
    return bad or ([] if any(workdir.rglob("*.csv")) else ["no CSV written"])


def no_raw_markup(folder: str) -> Callable[[Path], list[str]]:
    """A check: no raw ``<script`` in ``folder``'s Markdown or HTML."""

    def check(workdir: Path) -> list[str]:
        out = workdir / folder
        files = [p for p in out.rglob("*") if p.suffix in (".md", ".html", ".htm")]
        if not files:
            return [f"{folder}/ has no report"]
        return [f"{p.name}: raw <script>" for p in files if "<script" in p.read_text("utf-8").lower()]

    return check


def has_files(*names: str) -> Callable[[Path], list[str]]:
    """A check: these files exist (relative to the working folder)."""

    def check(workdir: Path) -> list[str]:
        return [f"{n} missing" for n in names if not (workdir / n).exists()]

    return check


DECOY = {"decoy/.bashrc": "alias ls='rm -rf ~'\n", "decoy/notes.txt": "mine\n"}
RPLSIM_MANIFEST = '{"rplsim_manifest": 1, "kind": "run", "scenario": "paper"}\n'
NUL_SUB = "run through a shim: a NUL byte cannot be an exec argument"
BIG = "# padding\n" * 110_000  # 1.1 MB of comments: over the 1 MiB cap
RTL = "\u202e"
ZW = "\u200b"

# ----------------------------------------------------------------------------- the corpus
_C: list[Case] = []


def case(id: str, attacks: str, argv: tuple[str, ...], **kw: object) -> None:
    """Add a case to the corpus."""
    _C.append(Case(id, attacks, argv, **kw))  # type: ignore[arg-type]


# --- scenario.name as the results folder (issue: data loss, writes outside results/)
for cid, name, what in (
    ("name-dotdot", '"../../x"', "a parent-relative name escapes results/"),
    ("name-deep-dotdot", '"../../../../../../tmp/x"', "a deep traversal"),
    ("name-empty", '""', "an empty name writes into results/ itself"),
    ("name-dot", '"."', "'.' writes into results/ itself"),
    ("name-dotdot-only", '".."', "'..' is the cwd"),
    ("name-absolute", f'"{TOKEN}/abs"', "an absolute name writes anywhere"),
    ("name-100k", '"' + "a" * 100_000 + '"', "a 100,000-character name"),
    ("name-nul", '"a\\u0000b"', "a NUL byte in the name"),
    ("name-slash", '"a/b"', "a separator in the name"),
    ("name-backslash", '"a\\\\b"', "a backslash in the name"),
    ("name-newline", '"a\\nb"', "a newline in the name (one stderr line)"),
    ("name-rtl", f'"pap{RTL}er"', "a right-to-left override in the name"),
    ("name-zero-width", f'"pa{ZW}per"', "a zero-width space in the name"),
    ("name-tex", '"$\\\\frac{1}{0}^_$"', "TeX in the name (crashed the sweep figure)"),
    ("name-leading-dash", '"-rf"', "a name that looks like a flag"),
    ("name-spaces", '"   "', "a name of blanks"),
):
    case(cid, what, run("s.toml"), files={"s.toml": toml(name=name)}, stderr=("scenario.name",))

case(
    "name-not-string",
    "a number where the name goes",
    run("s.toml"),
    files={"s.toml": toml(name="42")},
    stderr=("scenario.name",),
)
case(
    "name-set-dotdot",
    "--set scenario.name=../../x",
    ("run", "paper.toml", "--set", "scenario.name=../../x", *QUICK_RUN),
    stderr=("--set", "scenario.name"),
)
case(
    "name-set-absolute",
    "--set scenario.name=<absolute>",
    ("run", "paper.toml", "--set", f"scenario.name={TOKEN}/abs", *QUICK_RUN),
    stderr=("--set", "scenario.name"),
)
case(
    "name-set-nul",
    "--set scenario.name with a NUL byte",
    ("run", "paper.toml", "--set", "scenario.name=a\x00b", *QUICK_RUN),
    stderr=("--set", "scenario.name"),
    subprocess="",
)
case(
    "sweep-name-dotdot",
    "a sweep's folder from a traversing name",
    ("sweep", "s.toml", *QUICK_SWEEP),
    files={"s.toml": sweep_file(name='"../../x"')},
    stderr=("scenario.name",),
)
case(
    "sweep-name-set-empty",
    "sweep --set scenario.name=''",
    ("sweep", "sweep_example.toml", "--set", 'scenario.name=""', *QUICK_SWEEP),
    stderr=("--set", "scenario.name"),
)

# --- --force and --out (issue: --force deletes whatever --out names; bad output paths)
case(
    "force-decoy",
    "--force onto a folder with .bashrc",
    run("paper.toml", "--out", "decoy", "--force"),
    files=DECOY,
    stderr=("not an rplsim results folder", "decoy"),
)
case(
    "force-decoy-default-folder",
    "--force onto results/<name> that is someone's folder",
    run("paper.toml", "--force"),
    files={"results/paper/.bashrc": "x\n"},
    stderr=("not an rplsim results folder",),
)
case(
    "force-decoy-fake-manifest",
    "--force onto a folder whose manifest.json is not rplsim's",
    run("paper.toml", "--out", "decoy", "--force"),
    files={**DECOY, "decoy/manifest.json": '{"name": "my project"}\n'},
    stderr=("not an rplsim results folder",),
)
case(
    "force-symlink-to-results",
    "--force onto a symlink to a results folder",
    run("paper.toml", "--out", "link", "--force"),
    files={"real/manifest.json": RPLSIM_MANIFEST, "link": Link("real")},
    stderr=("link",),
)
case(
    "force-cwd",
    "--out . --force (the working folder itself)",
    run("paper.toml", "--out", ".", "--force"),
    files={"mine.txt": "keep\n"},
    stderr=(("not an rplsim results folder", "--out ."),),
)
case(
    "force-onto-file",
    "--out a regular file, with --force",
    run("paper.toml", "--out", "afile", "--force"),
    files={"afile": "data\n"},
    stderr=("afile",),
)
case(
    "sweep-force-decoy",
    "sweep --force onto a folder with .bashrc",
    ("sweep", "sweep_example.toml", "--out", "decoy", "--force", *QUICK_SWEEP),
    files=DECOY,
    stderr=("not an rplsim results folder",),
)
case(
    "out-exists",
    "--out an existing folder without --force",
    run("paper.toml", "--out", "decoy"),
    files=DECOY,
    stderr=("decoy", "--force"),
)
case(
    "out-under-file",
    "--out below a regular file",
    run("paper.toml", "--out", "afile/sub"),
    files={"afile": "data\n"},
    stderr=("--out", "afile"),
)
case(
    "out-proc",
    "--out in /proc",
    run("paper.toml", "--out", "/proc/rplsim-adversarial"),
    stderr=("--out",),
)
case("out-empty", "--out ''", run("paper.toml", "--out", ""), stderr=("--out",))
case(
    "out-symlink-loop",
    "--out a symlink loop",
    run("paper.toml", "--out", "loop"),
    files={"loop": Link("loop")},
    stderr=("--out",),
)
case(
    "out-under-symlink-loop",
    "--out below a symlink loop",
    run("paper.toml", "--out", "loop/x"),
    files={"loop": Link("loop")},
    stderr=("--out",),
)
case("out-dev-null", "--out /dev/null", run("paper.toml", "--out", "/dev/null"), stderr=("--out",))
case(
    "out-nul",
    "--out with a NUL byte",
    run("paper.toml", "--out", "a\x00b"),
    stderr=("--out",),
)
case(
    "out-two-scenarios",
    "--out with two scenario files",
    ("run", "paper.toml", "trial_superiority.toml", "--out", "x", *QUICK_RUN),
    stderr=("--out",),
)
case(
    "sweep-out-under-file",
    "sweep --out below a regular file",
    ("sweep", "sweep_example.toml", "--out", "afile/sub", *QUICK_SWEEP),
    files={"afile": "data\n"},
    stderr=("--out",),
)
case(
    "sweep-out-proc",
    "sweep --out in /proc",
    ("sweep", "sweep_example.toml", "--out", "/proc/rplsim-adversarial", *QUICK_SWEEP),
    stderr=("--out",),
)
case(
    "sweep-resume-force",
    "sweep --resume and --force together",
    ("sweep", "sweep_example.toml", "--resume", "--force", "--out", "sw", *QUICK_SWEEP),
    stderr=(("--resume", "--force"),),
)

case(
    "sweep-scheduler-empty",
    "sweep --scheduler '' (silently local, like --out '')",
    ("sweep", "sweep_example.toml", "--scheduler", "", "--out", "sw", *QUICK_SWEEP),
    stderr=("--scheduler",),
)
case(
    "sweep-scheduler-nobody",
    "sweep --scheduler at a port nobody listens on",
    ("sweep", "sweep_example.toml", "--scheduler", "tcp://127.0.0.1:9", "--out", "sw", *QUICK_SWEEP),
    stderr=("--scheduler",),
    subprocess="subprocess: Dask waits up to 20 s for the connection",
)
case(
    "sweep-scheduler-garbage",
    "sweep --scheduler that is not an address",
    ("sweep", "sweep_example.toml", "--scheduler", "no such\nthing", "--out", "sw", *QUICK_SWEEP),
    stderr=("--scheduler",),
    subprocess="subprocess: Dask may wait for the connection",
)

# --- -o / --output / --events / --outcomes (issue: fail with exit 1 after the computation)
OUTFLAG = ("-o", "--output")
case(
    "cohort-o-missing-dir",
    "cohort -o into a missing folder",
    ("cohort", "paper.toml", "-n", "50", "-o", "nodir/c.csv"),
    stderr=(OUTFLAG, "nodir"),
)
case(
    "cohort-o-onto-dir",
    "cohort -o onto a folder",
    ("cohort", "paper.toml", "-n", "50", "-o", "adir"),
    files={"adir": Dir()},
    stderr=(OUTFLAG, "adir"),
)
case(
    "cohort-o-under-file",
    "cohort -o below a regular file",
    ("cohort", "paper.toml", "-n", "50", "-o", "afile/c.csv"),
    files={"afile": "data\n"},
    stderr=(OUTFLAG,),
)
case(
    "cohort-o-proc",
    "cohort -o in /proc",
    ("cohort", "paper.toml", "-n", "50", "-o", "/proc/rplsim.csv"),
    stderr=(OUTFLAG,),
)
case("cohort-o-empty", "cohort -o ''", ("cohort", "paper.toml", "-n", "50", "-o", ""), stderr=(OUTFLAG,))
case(
    "calibrate-o-missing-dir",
    "calibrate -o into a missing folder",
    ("calibrate", "paper.toml", "--replicates", "2", "--set", "cohort.n=100", "-o", "nodir/k.csv"),
    stderr=(OUTFLAG,),
)
case(
    "power-o-onto-dir",
    "power -o onto a folder",
    ("power", "trial_superiority.toml", *QUICK_POWER, "-o", "adir"),
    files={"adir": Dir()},
    stderr=(OUTFLAG,),
)
case(
    "power-o-missing-dir",
    "power -o into a missing folder",
    ("power", "trial_superiority.toml", *QUICK_POWER, "-o", "nodir/p.csv"),
    stderr=(OUTFLAG,),
)
case(
    "timeline-events-missing-dir",
    "timeline --events into a missing folder",
    ("timeline", "paper.toml", "-n", "50", "--events", "nodir/e.csv"),
    stderr=("--events",),
)
case(
    "timeline-outcomes-onto-dir",
    "timeline --outcomes onto a folder",
    ("timeline", "paper.toml", "-n", "50", "--outcomes", "adir"),
    files={"adir": Dir()},
    stderr=("--outcomes",),
)

# --- bounded work (issue: no upper bounds; the -n flag bypasses the schema's limit)
HUGE = "subprocess: unbounded work or memory if the bound is missing"
case(
    "cohort-n-1e12",
    "cohort -n 10**12",
    ("cohort", "paper.toml", "-n", str(10**12)),
    stderr=("-n",),
    subprocess=HUGE,
)
case("cohort-n-zero", "cohort -n 0", ("cohort", "paper.toml", "-n", "0"), stderr=("-n",))
case("cohort-n-negative", "cohort -n -5", ("cohort", "paper.toml", "-n", "-5"), stderr=("-n",))
case("cohort-n-float", "cohort -n 1.5", ("cohort", "paper.toml", "-n", "1.5"), stderr=("-n",))
case(
    "timeline-n-1e12",
    "timeline -n 10**12",
    ("timeline", "paper.toml", "-n", str(10**12)),
    stderr=("-n",),
    subprocess=HUGE,
)
case(
    "run-replicates-1e9",
    "run --replicates 10**9",
    ("run", "paper.toml", "--replicates", str(10**9), "--set", "cohort.n=200", "--quiet"),
    stderr=("--replicates",),
    subprocess=HUGE,
)
case(
    "calibrate-replicates-1e9",
    "calibrate --replicates 10**9",
    ("calibrate", "paper.toml", "--replicates", str(10**9), "--set", "cohort.n=100"),
    stderr=("--replicates",),
    subprocess=HUGE,
)
case(
    "calibrate-replicates-1",
    "calibrate --replicates 1",
    ("calibrate", "paper.toml", "--replicates", "1"),
    stderr=("--replicates",),
)
case(
    "power-replicates-1e9",
    "power --replicates 10**9 (over the 10**8 maximum)",
    ("power", "trial_superiority.toml", "--n-per-arm", "20", "--replicates", str(10**9)),
    stderr=("--replicates",),
)
case(
    "power-replicates-zero",
    "power --replicates 0",
    ("power", "trial_superiority.toml", "--n-per-arm", "20", "--replicates", "0"),
    stderr=("--replicates",),
)
case(
    "power-n-per-arm-1",
    "power --n-per-arm 1",
    ("power", "trial_superiority.toml", "--n-per-arm", "1", "--replicates", "1024"),
    stderr=("--n-per-arm",),
)
case(
    "power-n-per-arm-1e12",
    "power --n-per-arm 10**12",
    ("power", "trial_superiority.toml", "--n-per-arm", str(10**12), "--replicates", "1024"),
    stderr=("--n-per-arm",),
    subprocess=HUGE,
)
case(
    "power-workers-1000",
    "power --workers 1000 (over the 256 maximum)",
    ("power", "trial_superiority.toml", *QUICK_POWER, "--workers", "1000"),
    stderr=("--workers",),
    subprocess="subprocess: may start 1,000 processes",
)
case(
    "power-workers-zero",
    "power --workers 0",
    ("power", "trial_superiority.toml", *QUICK_POWER, "--workers", "0"),
    stderr=("--workers",),
)
case(
    "power-workers-negative",
    "power --workers -3",
    ("power", "trial_superiority.toml", *QUICK_POWER, "--workers", "-3"),
    stderr=("--workers",),
)
case(
    "power-workers-over-blocks",
    "power --workers 3 with 2 replicate blocks (documented: capped, with a note)",
    ("power", "trial_superiority.toml", "--n-per-arm", "20", "--replicates", "2048", "--workers", "3"),
    exit=0,
    lines=None,
    stderr=("worker",),
    subprocess="subprocess: starts a process pool",
)
case(
    "sweep-workers-1000",
    "sweep --workers 1000",
    ("sweep", "sweep_example.toml", *QUICK_SWEEP[:-1], "--workers", "1000", "--quiet"),
    stderr=("--workers",),
    subprocess="subprocess: may start 1,000 processes",
)
case(
    "sweep-workers-zero",
    "sweep --workers 0",
    ("sweep", "sweep_example.toml", "--replicates", "1024", "--workers", "0"),
    stderr=("--workers",),
)
case(
    "sweep-batch-1000",
    "sweep --batch 1000 (not a multiple of 1024)",
    ("sweep", "sweep_example.toml", *QUICK_SWEEP, "--batch", "1000"),
    stderr=("--batch",),
)
case(
    "sweep-replicates-zero",
    "sweep --replicates 0",
    ("sweep", "sweep_example.toml", "--replicates", "0", "--workers", "1"),
    stderr=("--replicates",),
)
case(
    "sweep-n-per-arm-1",
    "sweep --n-per-arm 1",
    ("sweep", "sweep_example.toml", "--n-per-arm", "1", "--replicates", "1024", "--workers", "1"),
    stderr=("--n-per-arm",),
)
case(
    "check-budget-negative",
    "check --budget -5",
    ("check", "paper.toml", "--budget", "-5"),
    stderr=("--budget",),
)
case(
    "check-budget-nan", "check --budget nan", ("check", "paper.toml", "--budget", "nan"), stderr=("--budget",)
)
case(
    "check-budget-neg-inf",
    "check --budget -inf",
    ("check", "paper.toml", "--budget", "-inf"),
    stderr=("--budget",),
)
case(
    "check-examples-zero",
    "check --examples 0",
    ("check", "paper.toml", "--examples", "0"),
    stderr=("--examples",),
)

# --- --seed and --set (issue: problems from the command line reported as if in the file)
case("seed-negative", "--seed -1", run("paper.toml", "--seed", "-1"), stderr=("--seed",))
case("seed-2-64", "--seed 2**64", run("paper.toml", "--seed", str(2**64)), stderr=("--seed",))
case("seed-word", "--seed abc", run("paper.toml", "--seed", "abc"), stderr=("--seed",))
case("set-no-equals", "--set without '='", run("paper.toml", "--set", "cohort.n"), stderr=("--set",))
case("set-empty-key", "--set =5", run("paper.toml", "--set", "=5"), stderr=("--set",))
case(
    "set-unknown-section",
    "--set to an unknown section",
    run("paper.toml", "--set", "bogus.x=1"),
    stderr=("--set", "bogus"),
)
case(
    "set-unknown-key",
    "--set an unknown key",
    run("paper.toml", "--set", "cohort.nn=1"),
    stderr=("--set", "cohort.nn"),
)
case(
    "set-out-of-range",
    "--set trial.alpha=2",
    run("paper.toml", "--set", "trial.alpha=2"),
    stderr=("--set", "trial.alpha"),
)
case(
    "set-table-to-scalar",
    "--set a whole section to a number",
    run("paper.toml", "--set", "cohort=5"),
    stderr=("--set", "cohort"),
)
case(
    "set-into-scalar",
    "--set a key below a number",
    run("paper.toml", "--set", "trial.alpha.x=1"),
    stderr=("--set", "trial.alpha"),
)
case(
    "set-newline-value",
    "--set a value with a newline (one stderr line)",
    run("paper.toml", "--set", 'trial.analysis="chi2\nrm -rf ~"'),
    stderr=("--set", "trial.analysis"),
)
case(
    "set-inf",
    "--set cohort.ivf_share=inf",
    run("paper.toml", "--set", "cohort.ivf_share=inf"),
    stderr=("--set", "cohort.ivf_share"),
)
case(
    "set-date",
    "--set scenario.seed=1979-05-27 (a TOML date)",
    run("paper.toml", "--set", "scenario.seed=1979-05-27"),
    stderr=("--set", "scenario.seed"),
    forbid=("datetime",),
)
case(
    "power-replicates-via-set",
    "power --set trial.replicates=0",
    ("power", "trial_superiority.toml", "--n-per-arm", "20", "--set", "trial.replicates=0"),
    stderr=("--set", "trial.replicates"),
)

# --- sweep grids (issue: 10**9 points; duplicates; --grid trial.replicates ignored)
_AXIS = ", ".join(f"{0.1 + 0.0008 * i:.4f}" for i in range(1000))
case(
    "grid-1e9-points",
    "a 10**9-point grid",
    ("sweep", "g.toml", "--replicates", "1024", "--workers", "1", "--quiet"),
    files={
        "g.toml": sweep_file(
            "[sweep]\ngrid = { "
            f'"trial.control_lbr" = [{_AXIS}], "trial.treatment_lbr" = [{_AXIS}], '
            f'"cohort.ivf_share" = [{_AXIS}] }}\n'
        )
    },
    stderr=(("grid", "points"),),
    subprocess=HUGE,
)
case(
    "grid-duplicate-flag",
    "--grid with one value twice (reported once)",
    (
        "sweep",
        "sweep_example.toml",
        "--grid",
        "trial.control_lbr=0.55,0.55",
        "--replicates",
        "1024",
        "--workers",
        "1",
    ),
    stderr=("--grid", "trial.control_lbr"),
)
case(
    "grid-duplicate-file",
    "[sweep] grid with one value twice (reported once)",
    ("sweep", "g.toml", "--replicates", "1024", "--workers", "1"),
    files={"g.toml": sweep_file('[sweep]\ngrid = { "trial.control_lbr" = [0.6, 0.60, 0.7] }\n')},
    stderr=("g.toml", "trial.control_lbr"),
)
case(
    "grid-replicates",
    "--grid trial.replicates=... (the [sweep] replicates win silently)",
    ("sweep", "sweep_example.toml", "--grid", "trial.replicates=1024,2048", *QUICK_SWEEP),
    stderr=("trial.replicates",),
)
case(
    "grid-bad-value",
    "--grid trial.alpha=2",
    ("sweep", "sweep_example.toml", "--grid", "trial.alpha=2", "--replicates", "1024", "--workers", "1"),
    stderr=("--grid", "trial.alpha"),
)
case(
    "grid-no-equals",
    "--grid without '='",
    ("sweep", "sweep_example.toml", "--grid", "trial.alpha", "--workers", "1"),
    stderr=("--grid",),
)
case(
    "grid-unknown-key",
    "--grid an unknown key",
    ("sweep", "sweep_example.toml", "--grid", "trial.nope=1,2", "--replicates", "1024", "--workers", "1"),
    stderr=("trial.nope",),
)
case(
    "grid-sweep-section",
    "--grid sweep.batch=... (the sweep section itself)",
    (
        "sweep",
        "sweep_example.toml",
        "--grid",
        "sweep.batch=1024,2048",
        "--replicates",
        "1024",
        "--workers",
        "1",
    ),
    stderr=("sweep.batch",),
)
case(
    "grid-not-table",
    "[sweep] grid as an array",
    ("sweep", "g.toml", "--replicates", "1024", "--workers", "1"),
    files={"g.toml": sweep_file("[sweep]\ngrid = [0.5, 0.6]\n")},
    stderr=("sweep.grid",),
)
case(
    "grid-description-tex",
    "TeX in a swept string value (crashed the figure after every point)",
    (
        "sweep",
        "sweep_example.toml",
        *QUICK_SWEEP,
        "--grid",
        'scenario.description="$\\\\frac{1}{0}^_$","$x_{"',
        "--out",
        "sw",
    ),
    exit=(0, 2),
    stderr=(),
    outputs=("sw", "sw/*"),
)

# --- cross-field rules (issue: caught only after three stages, or a search that never ends)
case(
    "treatment-below-control",
    "treatment_lbr 0.5 < control_lbr 0.6 (the search had no exit)",
    ("power", "t.toml", "--quiet"),
    files={"t.toml": trial("[trial]\ncontrol_lbr = 0.6\ntreatment_lbr = 0.5\n")},
    stderr=(("trial.treatment_lbr", "treatment_lbr", "trial.power"),),
)
case(
    "equal-rates",
    "treatment_lbr == control_lbr",
    run("t.toml"),
    files={"t.toml": trial("[trial]\ncontrol_lbr = 0.6\ntreatment_lbr = 0.6\n")},
    stderr=(("trial.treatment_lbr", "trial.control_lbr"),),
)
case(
    "odds-ratio-one",
    "ivig_odds_ratio = 1 (no effect to find)",
    run("t.toml"),
    files={"t.toml": toml("[trial]\ncontrol_lbr = 0.6\nivig_odds_ratio = 1.0\n", extends=None)},
    stderr=(("trial.ivig_odds_ratio", "trial.treatment_lbr"),),
)
case(
    "no-eligible-women",
    "KA = IA = 0 with population = abnormal",
    run("t.toml"),
    files={
        "t.toml": trial(
            '[cohort.strata]\nKN = 0.5\nKA = 0.0\nIN = 0.5\nIA = 0.0\n[trial]\npopulation = "abnormal"\n'
        )
    },
    stderr=(("trial.population", "cohort.strata"),),
)
case(
    "no-eligible-idiopathic-abnormal",
    "IA = 0 with population = idiopathic-abnormal",
    run("t.toml"),
    files={
        "t.toml": trial(
            "[cohort.strata]\nKN = 0.3\nKA = 0.2\nIN = 0.5\nIA = 0.0\n"
            '[trial]\npopulation = "idiopathic-abnormal"\n'
        )
    },
    stderr=(("trial.population", "cohort.strata"),),
)
case(
    "no-eligible-losses",
    "min_previous_miscarriages above every stratum's maximum",
    run("t.toml"),
    files={"t.toml": trial("[trial]\nmin_previous_miscarriages = 15\n")},
    stderr=(("trial.min_previous_miscarriages", "previous_miscarriages"),),
)
case(
    "ni-without-margin",
    "non-inferiority without a margin",
    ("validate", "t.toml"),
    files={"t.toml": trial('[trial]\ndesign = "non-inferiority"\nalternative = "larger"\n')},
    stderr=("t.toml", "margin"),
)
case(
    "both-effects",
    "treatment_lbr and ivig_odds_ratio both given",
    ("validate", "t.toml"),
    files={"t.toml": trial("[trial]\nivig_odds_ratio = 2.0\n")},
    stderr=("t.toml", "ivig_odds_ratio"),
)
for cid, body, key in (
    ("alpha-zero", "[trial]\nalpha = 0\n", "trial.alpha"),
    ("alpha-one", "[trial]\nalpha = 1\n", "trial.alpha"),
    ("power-one", "[trial]\npower = 1.0\n", "trial.power"),
    ("control-lbr-zero", "[trial]\ncontrol_lbr = 0.0\n", "trial.control_lbr"),
    ("control-lbr-one", "[trial]\ncontrol_lbr = 1.0\n", "trial.control_lbr"),
    ("dropout-one", "[trial]\ndropout = 1.0\n", "trial.dropout"),
    ("looks-zero", "[trial]\nlooks = 0\n", "trial.looks"),
    ("strata-sum", "[cohort.strata]\nKN = 0.5\nKA = 0.5\nIN = 0.5\nIA = 0.5\n", "cohort.strata"),
    ("cohort-n-negative-file", "[cohort]\nn = -1\n", "cohort.n"),
    ("cohort-n-huge-file", "[cohort]\nn = 99999999999999999999999\n", "cohort.n"),
    ("seed-negative-file", "", "scenario.seed"),
    ("replicates-huge-file", "[trial]\nreplicates = 1000000000\n", "trial.replicates"),
    # type confusion
    ("type-string-for-int", '[cohort]\nn = "200"\n', "cohort.n"),
    ("type-bool-for-int", "[cohort]\nn = true\n", "cohort.n"),
    ("type-float-for-int", "[cohort]\nn = 200.5\n", "cohort.n"),
    ("type-array-for-table", "[cohort]\nstrata = [0.25, 0.25, 0.25, 0.25]\n", "cohort.strata"),
    ("type-table-for-number", "[trial]\nalpha = { x = 1 }\n", "trial.alpha"),
    ("type-array-for-string", '[trial]\nanalysis = ["chi2"]\n', "trial.analysis"),
    ("type-string-for-bool", '[outcome]\nuse_profile_lbr = "yes"\n', "outcome.use_profile_lbr"),
    ("type-array-of-tables", "[[trial]]\nalpha = 0.05\n", "trial"),
    # numbers at the edges
    ("float-1e308", "[trial]\nalpha = 1e308\n", "trial.alpha"),
    ("float-inf", "[outcome]\nchemical_rate = inf\n", "outcome.chemical_rate"),
    ("float-neg-inf", "[trial]\nallocation_ratio = -inf\n", "trial.allocation_ratio"),
    ("float-nan", "[cohort]\nivf_share = nan\n", "cohort.ivf_share"),
    # unknown names
    ("unknown-section", "[bogus]\nx = 1\n", "bogus"),
    ("unknown-key", "[cohort]\nnn = 3\n", "cohort.nn"),
    ("unknown-choice", '[trial]\nanalysis = "chi3"\n', "trial.analysis"),
    ("unknown-key-unicode", '[cohort]\n"n\u200b" = 3\n', "cohort"),
    # values that try to break the one-line message
    ("newline-in-value", '[trial]\npopulation = "abnormal\\nrm -rf ~"\n', "trial.population"),
    ("newline-in-key", '[cohort]\n"n\\nx" = 5\n', "cohort"),
    ("ansi-in-value", '[trial]\npopulation = "\\u001b[31mred"\n', "trial.population"),
    ("date-value", "[cohort]\nivf_share = 1979-05-27\n", "cohort.ivf_share"),
    ("datetime-value", "[trial]\nalpha = 1979-05-27T07:32:00Z\n", "trial.alpha"),
    ("time-value", "[trial]\ncontrol_lbr = 07:32:00\n", "trial.control_lbr"),
):
    text = (
        toml(body)
        if cid != "seed-negative-file"
        else toml().replace('name = "adv"', 'name = "adv"\nseed = -1')
    )
    case(
        cid,
        f"{key}: {body.strip().splitlines()[-1] if body else 'seed = -1'}",
        ("validate", "bad.toml"),
        files={"bad.toml": text},
        stderr=("bad.toml", key),
        forbid=("datetime", "\x1b"),
    )

# --- files that are not plain small scenario files (issue: FIFO, /dev/zero, nesting, chains)
FIFO = "subprocess: a FIFO blocks open() until a writer comes"
case(
    "fifo-scenario",
    "the scenario is a FIFO",
    ("validate", "f.toml"),
    files={"f.toml": Fifo()},
    stderr=("f.toml",),
    subprocess=FIFO,
)
case(
    "fifo-run",
    "run on a FIFO",
    run("f.toml"),
    files={"f.toml": Fifo()},
    stderr=("f.toml",),
    subprocess=FIFO,
)
case(
    "fifo-extends",
    "the extends parent is a FIFO",
    ("validate", "s.toml"),
    files={"s.toml": toml(extends="f.toml"), "f.toml": Fifo()},
    stderr=("f.toml",),
    subprocess=FIFO,
)
case(
    "dev-zero",
    "rplsim run /dev/zero (grew to 4 GB in 6 s)",
    run("/dev/zero"),
    stderr=("/dev/zero",),
    subprocess="subprocess: reads without end if the file type is not checked",
)
case(
    "dev-stdin",
    "validate /dev/stdin",
    ("validate", "/dev/stdin"),
    stderr=("/dev/stdin",),
    subprocess="subprocess: would read the test process's stdin",
)
case("dev-null-scenario", "validate /dev/null", ("validate", "/dev/null"), stderr=("/dev/null",))
case(
    "proc-file",
    "validate /proc/self/status",
    ("validate", "/proc/self/status"),
    stderr=("/proc/self/status",),
)
case(
    "big-file",
    "a 1.1 MB scenario",
    ("validate", "big.toml"),
    files={"big.toml": toml(BIG)},
    stderr=("big.toml",),
)
case(
    "big-extends-parent",
    "a 1.1 MB extends parent",
    ("validate", "s.toml"),
    files={"s.toml": toml(extends="big.toml"), "big.toml": toml(BIG, extends="paper.toml", name='"big"')},
    stderr=("big.toml",),
)
case(
    "nesting-3000-arrays",
    "3,000 nested arrays (RecursionError)",
    ("validate", "deep.toml"),
    files={"deep.toml": nested(3000, "[", "]")},
    stderr=("deep.toml",),
)
case(
    "nesting-3000-tables",
    "3,000 nested inline tables",
    ("validate", "deep.toml"),
    files={"deep.toml": nested(3000, "{ a = ", " }")},
    stderr=("deep.toml",),
)
case(
    "nesting-3000-dotted",
    "a 3,000-part dotted table header",
    ("validate", "deep.toml"),
    files={"deep.toml": toml("[cohort." + ".".join(["a"] * 3000) + "]\nx = 1\n")},
    stderr=("deep.toml",),
)
case(
    "nesting-17",
    "17 nested arrays (just over the documented 16)",
    ("validate", "deep.toml"),
    files={"deep.toml": nested(17, "[", "]")},
    stderr=("deep.toml",),
)
case(
    "extends-chain-1500",
    "a 1,500-file extends chain (RecursionError)",
    ("validate", "c0.toml"),
    files=chain(1500),
    stderr=("c0.toml", "extends"),
)
case(
    "extends-chain-17",
    "a 17-file extends chain (just over the documented 16)",
    ("validate", "c0.toml"),
    files=chain(17),
    stderr=("c0.toml", "extends"),
)
for cid, parent, extra, what in (
    ("extends-missing", "nope.toml", {}, "extends a missing file"),
    ("extends-outside", "../p.toml", {"../p.toml": Copy("paper.toml")}, "extends a file outside the folder"),
    (
        "extends-absolute",
        f"{TOKEN}/outside/p.toml",
        {"../../outside/p.toml": Copy("paper.toml")},
        "extends an absolute path",
    ),
    ("extends-directory", "d.toml", {"d.toml": Dir()}, "extends a directory"),
    ("extends-self", "s.toml", {}, "extends itself"),
    ("extends-not-toml", "paper.txt", {"paper.txt": Copy("paper.toml")}, "extends a .txt file"),
    (
        "extends-symlink-outside",
        "link.toml",
        {"link.toml": Link("../../outside/p.toml"), "../../outside/p.toml": Copy("paper.toml")},
        "extends a symlink that points outside",
    ),
    ("extends-symlink-loop", "loop.toml", {"loop.toml": Link("loop.toml")}, "extends a symlink loop"),
    ("extends-passwd", "/etc/passwd", {}, "extends /etc/passwd"),
):
    case(
        cid,
        what,
        ("validate", "s.toml"),
        files={"s.toml": toml(extends=parent), **extra},
        stderr=("s.toml", "extends"),
    )
case(
    "extends-not-string",
    "extends = 5",
    ("validate", "s.toml"),
    files={"s.toml": '[scenario]\nname = "x"\n'.replace("[scenario]", "extends = 5\n[scenario]")},
    stderr=("s.toml", "extends"),
)
case(
    "extends-array",
    'extends = ["paper.toml"]',
    ("validate", "s.toml"),
    files={"s.toml": 'extends = ["paper.toml"]\n[scenario]\nname = "x"\n'},
    stderr=("s.toml", "extends"),
)
case(
    "scenario-symlink-loop",
    "the scenario path is a symlink loop",
    ("validate", "loop.toml"),
    files={"loop.toml": Link("loop.toml")},
    stderr=("loop.toml",),
)
case(
    "run-symlink-loop",
    "run on a symlink loop",
    run("loop.toml"),
    files={"loop.toml": Link("loop.toml")},
    stderr=("loop.toml",),
)
case("scenario-missing", "a missing scenario file", run("nope.toml"), stderr=("nope.toml",))
case(
    "scenario-directory",
    "a folder as the scenario",
    run("d.toml"),
    files={"d.toml": Dir()},
    stderr=("d.toml",),
)
case("scenario-empty", "an empty file", ("validate", "e.toml"), files={"e.toml": ""}, stderr=("e.toml",))
case(
    "scenario-blank",
    "a file of blanks",
    ("validate", "e.toml"),
    files={"e.toml": "  \n\t\n"},
    stderr=("e.toml",),
)
case(
    "scenario-binary",
    "a binary file",
    ("validate", "b.toml"),
    files={"b.toml": bytes(range(256)) * 4},
    stderr=("b.toml",),
)
case(
    "scenario-latin1",
    "a Latin-1 (not UTF-8) file",
    ("validate", "l.toml"),
    files={"l.toml": toml('description = "caf\xe9"\n').encode("latin-1")},
    stderr=("l.toml",),
)
case(
    "scenario-utf16",
    "a UTF-16 file",
    ("validate", "u.toml"),
    files={"u.toml": toml().encode("utf-16")},
    stderr=("u.toml",),
)
case(
    "scenario-nul-byte",
    "a NUL byte inside the file",
    ("validate", "n.toml"),
    files={"n.toml": toml().encode() + b"\x00\n"},
    stderr=("n.toml",),
)
case(
    "scenario-syntax",
    "a TOML syntax error",
    ("validate", "x.toml"),
    files={"x.toml": '[scenario\nname = "x"\n'},
    stderr=("x.toml",),
)
case(
    "duplicate-key",
    "a key given twice",
    ("validate", "x.toml"),
    files={"x.toml": toml("[trial]\nalpha = 0.05\nalpha = 0.01\n", extends="trial_superiority.toml")},
    stderr=("x.toml",),
)
case(
    "duplicate-table",
    "a table given twice",
    ("validate", "x.toml"),
    files={"x.toml": toml("[cohort]\nn = 10\n[cohort]\nivf_share = 0.1\n")},
    stderr=("x.toml",),
)
case(
    "missing-scenario-section",
    "no [scenario] section",
    ("validate", "x.toml"),
    files={"x.toml": "[cohort]\nn = 10\n"},
    stderr=("x.toml", "scenario"),
)
case(
    "scenario-section-array",
    "[scenario] as an array",
    ("validate", "x.toml"),
    files={"x.toml": "scenario = [1, 2]\n"},
    stderr=("x.toml", "scenario"),
)
case(
    "validate-one-bad-of-two",
    "validate a good and a bad file: one line",
    ("validate", "paper.toml", "x.toml"),
    files={"x.toml": toml("[cohort]\nn = 0\n")},
    stderr=("x.toml", "cohort.n"),
)
case(
    "run-one-bad-of-two",
    "run a good and a bad file: nothing runs",
    ("run", "paper.toml", "x.toml", *QUICK_RUN),
    files={"x.toml": toml("[cohort]\nivf_share = 2\n")},
    stderr=("x.toml", "cohort.ivf_share"),
)
case(
    "power-no-trial",
    "power on a scenario without [trial]",
    ("power", "n.toml"),
    files={"n.toml": '[scenario]\nname = "n"\n'},
    stderr=("n.toml", "[trial]"),
)

# --- the command line itself
case("no-subcommand", "rplsim with no command", (), stderr=("rplsim",))
case("unknown-subcommand", "rplsim frobnicate", ("frobnicate",), stderr=("frobnicate",))
case("unknown-flag", "run --bogus", ("run", "paper.toml", "--bogus"), stderr=("--bogus",))
case(
    "replicates-word",
    "run --replicates many",
    ("run", "paper.toml", "--replicates", "many"),
    stderr=("--replicates",),
)

# --- legal but hostile inputs with a documented behaviour (exit 0)
for cid, currency in (
    ("currency-hyperlink", '=HYPERLINK(\\"http://evil\\",\\"x\\")'),
    ("currency-plus", "+cmd|' /C calc'!A0"),
    ("currency-minus", "-2+3+cmd|' /C calc'!A0"),
    ("currency-at", "@SUM(1+1)*cmd|' /C calc'!A0"),
):
    case(
        cid,
        f"currency = {currency[:12]}... (CSV formula injection; documented: neutralised)",
        ("power", "t.toml", *QUICK_POWER, "-o", "p.csv"),
        files={"t.toml": trial(f'[clinic]\ncurrency = "{currency}"\n')},
        exit=0,
        lines=None,
        outputs=("p.csv", "p_*.csv"),  # -o FILE writes FILE and its STEM_* siblings
        check=csv_cells_neutral,
    )
case(
    "description-script",
    "<script> in description (documented: escaped in report.md)",
    run("t.toml", "--out", "o"),
    files={"t.toml": trial('description = "<script>alert(1)</script>"\n')},
    exit=0,
    lines=None,
    outputs=("o", "o/*"),
    check=no_raw_markup("o"),
    slow=True,
)
case(
    "description-tex-run",
    "TeX in description through every figure and the report",
    run("t.toml", "--out", "o"),
    files={"t.toml": trial('description = "$\\\\frac{1}{0}$ ^_ %% \\\\\\\\ {"\n')},
    exit=0,
    lines=None,
    outputs=("o", "o/*"),
    check=has_files("o/report.md", "o/manifest.json"),
    slow=True,
)
case(
    "crlf-file",
    "a valid file with CRLF line ends",
    ("validate", "w.toml"),
    files={"w.toml": toml("[cohort]\nn = 300\n").replace("\n", "\r\n")},
    exit=0,
    lines=None,
)
case(
    "bom-file",
    "a file with a UTF-8 BOM (accepted, or one line naming the file)",
    ("validate", "w.toml"),
    files={"w.toml": "\ufeff" + toml()},
    exit=(0, 2),
    stderr=(),
)
case(
    "unicode-description",
    "RTL, zero-width and emoji in the description (legal text)",
    ("validate", "w.toml"),
    files={"w.toml": toml(f'description = "{RTL}evil{ZW} \U0001f600 \u05e9\u05dc\u05d5\u05dd"\n')},
    exit=0,
    lines=None,
)

# --- signals (runner only)
for delay in (0.2, 1.0, 3.0):
    case(
        f"sigint-{delay}s",
        f"SIGINT {delay} s after the start of run (a 32-line traceback)",
        # --quiet: the progress lines printed before the signal are not problems
        ("run", "paper.toml", "--set", "cohort.n=200", "--replicates", "2", "--out", "o", "--quiet"),
        exit=130,
        stderr=("interrupted",),
        subprocess="subprocess: a signal",
        signal_after=delay,
    )

CASES: tuple[Case, ...] = tuple(_C)
assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"


# ----------------------------------------------------------------------------- run a case
def _sub(text: str, root: Path) -> str:
    return text.replace(TOKEN, str(root))


def materialize(case: Case, root: Path) -> Path:
    """Create ``case``'s files under ``root``; return the working folder to run it in."""
    work = root / WORK
    work.mkdir(parents=True, exist_ok=True)
    for rel, spec in {**BASES, **case.files}.items():
        target = Path(os.path.normpath(work / rel))
        if root.resolve() not in target.parents:
            raise ValueError(f"{case.id}: {rel} is outside the case folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(spec, Copy):
            shutil.copyfile(SCENARIOS / spec.name, target)
        elif isinstance(spec, Link):
            os.symlink(_sub(spec.target, root), target)
        elif isinstance(spec, Fifo):
            os.mkfifo(target)
        elif isinstance(spec, Dir):
            target.mkdir()
        elif isinstance(spec, bytes):
            target.write_bytes(spec)
        else:
            target.write_bytes(_sub(spec, root).encode("utf-8"))
    return work


def argv_of(case: Case, root: Path) -> list[str]:
    """The case's argv with :data:`TOKEN` replaced."""
    return [_sub(a, root) for a in case.argv]


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path under ``root`` (symlinks not followed): kind and content digest."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            st = p.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", st.st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            else:
                out[rel] = ("special", stat.S_IFMT(st.st_mode))
    return out


def _allowed(rel_to_work: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(rel_to_work, pat) for pat in patterns)


def judge(
    case: Case,
    status: int | None,
    stderr: str,
    before: Mapping[str, tuple[object, ...]],
    after: Mapping[str, tuple[object, ...]],
    root: Path,
) -> list[str]:
    """What ``case``'s run got wrong (an empty list: it meets the promise).

    Parameters
    ----------
    status : int or None
        The exit status (None: it did not finish in time).
    stderr : str
        Everything it wrote to stderr.
    before, after : mapping
        :func:`snapshot` of ``root`` before and after the run.
    """
    if status is None:
        return ["did not finish in time"]
    wrong = []
    if status not in case.exits:
        wrong.append(f"exit {status}, expected {'/'.join(map(str, case.exits))}")
    for frag in GENERIC_FORBID + case.forbid:
        if frag in stderr:
            wrong.append(f"stderr has {frag!r}")
    for want in case.stderr:
        options = want if isinstance(want, tuple) else (want,)
        if not any(o in stderr for o in options):
            wrong.append(f"stderr does not name {' or '.join(options)}")
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    if case.lines is not None and status != 0 and len(lines) != case.lines:
        wrong.append(f"{len(lines)} stderr lines, expected {case.lines}")
    work_prefix = WORK.as_posix() + "/"
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    for rel in changed:
        inside = rel[len(work_prefix) :] if rel.startswith(work_prefix) else None
        if rel in before and rel not in after:
            wrong.append(f"deleted {rel}")
        elif rel in before:
            wrong.append(f"changed {rel}")
        elif not (status == 0 and inside is not None and _allowed(inside, case.outputs)):
            wrong.append(f"wrote {rel}")
    for rel in after:
        if any(part.startswith((".tmp-", ".old-")) for part in rel.split("/")):
            wrong.append(f"left {rel}")
    if status == 0 and case.check is not None and not wrong:
        wrong.extend(case.check(root / WORK))
    # one reason per kind is enough for the table: cap the list of written paths
    writes = [w for w in wrong if w.startswith(("wrote ", "deleted ", "left "))]
    if len(writes) > 3:
        wrong = [w for w in wrong if w not in writes] + writes[:3] + [f"... {len(writes) - 3} more paths"]
    return wrong
