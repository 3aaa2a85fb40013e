"""The results folder: written atomically, locked while written, with a manifest of everything in it.

Files go into a temporary folder beside the target (``results/.tmp-<name>-<pid>-<hex>``); only
when every stage has finished is it renamed to ``results/<name>/``. An interrupted or failed run
leaves no half-written folder.

**One writer per target: an exclusive lock.** While a run or a sweep writes ``<parent>/<name>``
it holds an exclusive ``fcntl.flock`` (``LOCK_EX | LOCK_NB``) on the lock file
``<parent>/.<name>.rplsim-lock``, taken *before* the target is looked at and before any stage
runs, and held until the final rename is done. A second run to the same target fails at once
(exit 2, "another rplsim run (pid N) is writing it"). The kernel releases a flock when its
process dies, SIGKILL included, so a lock is never stale; the lock file is removed by its holder
at the end. (Processes forked by the run, such as local pool workers, share the lock until they
exit.) On platforms without :mod:`fcntl` the lock is a lock file created with
``O_CREAT | O_EXCL`` instead; a killed run leaves it behind, and the message names it so it can
be removed by hand.

Because the existence check and the final rename happen under the same lock, the final step
never replaces a folder that appeared after the start: without ``force`` an existing target is
refused, at the start and again at the end.

**Nothing lost across a kill.** ``--force`` swaps by two renames: the old folder to
``.old-<name>-<pid>``, the new one into place, then the old one is deleted. Under the lock, the
next run to a target first repairs what a killed run left beside it: every ``.tmp-<name>-…``
folder (a dead run's partial results) is removed; if the target is missing and an
``.old-<name>-…`` folder exists (killed between the two renames), the old folder is renamed back
to the target; an ``.old-`` folder beside an existing target is removed. Each repair is
reported in one line.

**What ``--force`` replaces.** Only an empty folder or a folder whose ``manifest.json`` says
``"rplsim_manifest"`` (results of ``rplsim run``, and sweep folders, which have a provisional
manifest from their start); anything else, a file, or a symbolic link, is refused and left
untouched.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import stat
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from rplsim.exceptions import ResultsExistError, ScenarioError
from rplsim.outputs.escape import neutralise_frame

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "SIGNIFICANT_DIGITS",
    "ResultsFolder",
    "atomic_file",
    "check_output_file",
    "check_output_folder",
    "check_target",
    "is_replaceable",
    "library_versions",
    "locked_target",
    "results_folder",
    "round_float",
    "round_significant",
    "sha256_file",
    "swap_in",
    "temp_sibling",
    "write_csv",
    "write_manifest",
]

SIGNIFICANT_DIGITS = 12
"""Significant digits of every float in a written table.

Two machines whose BLAS/SIMD kernels sum in a different order differ at the 1e-15 level;
twelve digits is far above the Monte-Carlo noise of any number here and far below that level,
so the tables are the same bytes everywhere.
"""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries the numbers depend on."""
    out = {"python": platform.python_version()}
    for lib in ("rplsim", "numpy", "scipy", "pandas", "simpy", "statsmodels", "matplotlib"):
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = "not installed"
    return out


def round_float(x: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """``x`` rounded to ``digits`` significant digits if it is a float, else ``x`` unchanged.

    For tables written row by row (a sweep's ``points.csv``); :func:`round_significant` does a
    whole DataFrame.

    Examples
    --------
    >>> round_float(0.1 + 0.2), round_float(7), round_float("a"), round_float(float("inf"))
    (0.3, 7, 'a', inf)
    """
    if isinstance(x, float | np.floating):
        return float(f"{float(x):.{digits}g}")  # nan and inf survive the round trip
    return x


def round_significant(df: pd.DataFrame, digits: int = SIGNIFICANT_DIGITS) -> pd.DataFrame:
    """A copy of ``df`` with every float rounded to ``digits`` significant digits.

    Float columns and floats inside object columns are rounded; integers, strings and booleans
    are left alone. Written by ``repr`` afterwards, a rounded float prints in at most ``digits``
    digits, so differences below that precision cannot change a byte of the CSV.

    Parameters
    ----------
    df : pandas.DataFrame
    digits : int
        Significant digits to keep (default :data:`SIGNIFICANT_DIGITS`).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> round_significant(pd.DataFrame({"x": [0.1 + 0.2, 1100.0000000001]}))["x"].tolist()
    [0.3, 1100.0]
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_float_dtype(s.dtype) or s.dtype == object:
            # a list, not s.map: pandas 3 infers float64 for an object column of ints and
            # floats, which would write the integer counts of feasibility.csv as "1483.0"
            out[col] = pd.Series([round_float(x, digits) for x in s], index=s.index, dtype=s.dtype)
    return out


def write_csv(df: pd.DataFrame, path: str | Path | TextIO) -> None:
    """Write ``df`` as CSV (no index) with floats to :data:`SIGNIFICANT_DIGITS` digits.

    ``path`` may be an open text stream (``sys.stdout``). Every table rplsim writes goes
    through here, so a table is the same bytes wherever it is written, and every string cell
    is neutralised for spreadsheets (:func:`rplsim.outputs.escape.neutralise_frame`: a text
    cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    ``'``; numbers are never changed).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_csv(pd.DataFrame({"x": [2 / 3]}), Path(d) / "t.csv")
    ...     (Path(d) / "t.csv").read_text()
    'x\\n0.666666666667\\n'
    """
    neutralise_frame(round_significant(df)).to_csv(path, index=False)


def write_manifest(folder: Path, manifest: Mapping[str, Any], files: Sequence[str]) -> Path:
    """Write ``folder/manifest.json``: ``manifest`` plus the size and sha256 of each of ``files``.

    The file is written beside and renamed over any old one, so a reader sees the old
    manifest or the new one, never half of one. Used by run folders and sweep folders alike.

    Parameters
    ----------
    folder : Path
        The folder holding ``files`` (names relative to it).
    manifest : mapping
        The entries (scenario, seed, versions, command line ...), in the order to write them;
        ``files`` is added last.
    files : sequence of str
        Files of the folder to list.

    Returns
    -------
    Path
        The manifest written.
    """
    body = {
        **manifest,
        "files": [
            {"name": f, "bytes": (folder / f).stat().st_size, "sha256": sha256_file(folder / f)}
            for f in files
        ],
    }
    tmp = folder / ".manifest.json.tmp"
    tmp.write_text(json.dumps(body, indent=2, default=str), encoding="utf-8")
    target = folder / "manifest.json"
    os.replace(tmp, target)
    return target


class ResultsFolder:
    """A results folder being written (see :func:`results_folder`)."""

    def __init__(self, tmp: Path, final: Path) -> None:
        self.tmp = tmp
        self.final = final
        self.files: list[str] = []
        self.manifest: dict[str, Any] = {}

    def path(self, name: str) -> Path:
        """Where to write ``name`` now (inside the temporary folder)."""
        p = self.tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if name not in self.files:
            self.files.append(name)
        return p

    def table(self, name: str, df: pd.DataFrame, *, parquet: bool = True) -> None:
        """Write ``name.csv`` (and ``name.parquet`` when pyarrow is installed)."""
        write_csv(df, self.path(f"{name}.csv"))
        if parquet:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                return
            df.to_parquet(self.path(f"{name}.parquet"), index=False)

    def text(self, name: str, text: str) -> None:
        """Write a text file."""
        self.path(name).write_text(text, encoding="utf-8")


# ----------------------------------------------------------------------------- output paths
NAME_RESERVE = 40
"""Bytes a target's name leaves for the ``.tmp-<name>-<pid>-<hex>`` sibling written beside it."""

NAME_MAX = 255
"""Longest file name (bytes) of the common file systems."""


def _show(path: str | Path) -> str:
    """A path as a message shows it: as typed, or quoted with escapes if it has control characters."""
    text = str(path)
    if text == "" or any(ord(c) < 32 or ord(c) == 127 for c in text):
        return json.dumps(text) if text else "''"
    return text


def _nearest_existing(path: Path) -> Path:
    """The nearest ancestor of ``path`` (``path`` excluded) that exists (``.`` for a relative one)."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            return parent
    return Path(".")


def _probe_writable(folder: Path) -> str | None:
    """Why nothing can be created in ``folder`` (None when something can): creates and removes a probe."""
    try:
        probe = tempfile.mkdtemp(prefix=".rplsim-probe-", dir=folder)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    os.rmdir(probe)
    return None


def _named_path(flag: str, path: str | Path, what: str) -> tuple[Path, str]:
    """``path`` and its echo, if it names something at all (not empty, no NUL byte)."""
    text = str(path)
    if text == "":
        raise ScenarioError(f"{flag} '': must name a {what}.")
    shown = _show(text)
    if "\x00" in text:
        raise ScenarioError(f"{flag} {shown}: contains a NUL byte; give a {what} name without one.")
    return Path(text), shown


def check_output_folder(flag: str, path: str | Path) -> Path:
    """``path`` as a Path, if a results folder can be written there; checked before any work.

    The target must name a folder (not ``''``, ``.``, ``..`` or ``/``), must not be a symbolic
    link or a file, its name must leave room for the temporary sibling, and the nearest
    existing folder above it must be a folder in which this process can create one (a probe
    folder is created and removed at once). Whether an existing target may be replaced is
    :func:`check_target`'s question, asked again under the lock.

    Parameters
    ----------
    flag : str
        The flag the path came from, as the message names it (``--out``).
    path : str or Path

    Returns
    -------
    Path

    Raises
    ------
    ScenarioError
        One line naming ``flag``, the path and the reason: ``--out '': must name a folder``.
    """
    p, shown = _named_path(flag, path, "folder")
    if p.name in ("", ".", ".."):
        raise ScenarioError(f"{flag} {shown}: must end in a folder name (not '.', '..' or '/').")
    if len(os.fsencode(p.name)) > NAME_MAX - NAME_RESERVE:
        raise ScenarioError(
            f"{flag} {shown}: the folder name is {len(os.fsencode(p.name))} bytes long, "
            f"must be at most {NAME_MAX - NAME_RESERVE}."
        )
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        st = None  # a file above it: found below
    except OSError as exc:
        raise ScenarioError(f"{flag} {shown}: cannot use it: {exc.strerror}.") from None
    if st is not None and stat.S_ISLNK(st.st_mode):
        raise ScenarioError(
            f"{flag} {shown}: is a symbolic link; rplsim writes only a real folder: "
            "give the folder it points to, or another --out."
        )
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise ScenarioError(f"{flag} {shown}: is a file, not a folder; choose another {flag}.")
    above = _nearest_existing(p)
    if not above.is_dir():
        raise ScenarioError(f"{flag} {shown}: {_show(above)} is a file, not a folder; choose another {flag}.")
    why = _probe_writable(above)
    if why is not None:
        raise ScenarioError(f"{flag} {shown}: cannot create a folder in {_show(above)}: {why}.")
    return p


def check_output_file(flag: str, path: str | Path) -> Path:
    """``path`` as a Path, if a single output file (a CSV) can be written there; before any work.

    The folder it goes into must exist and be writable (a probe file is created and removed
    in it), and the target must not be a folder. A character device or FIFO that exists
    (``/dev/stdout``) is accepted as it is: :func:`atomic_file` writes such a target directly.

    Raises
    ------
    ScenarioError
        One line naming ``flag``, the path and the reason.
    """
    p, shown = _named_path(flag, path, "file")
    try:
        st = os.stat(p)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    except OSError as exc:
        raise ScenarioError(f"{flag} {shown}: cannot use it: {exc.strerror}.") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise ScenarioError(f"{flag} {shown}: is a folder; give a file name.")
    if st is not None and not stat.S_ISREG(st.st_mode):
        return p  # /dev/stdout, a FIFO: written as it is
    parent = p.resolve().parent if p.is_symlink() else p.parent
    if not parent.exists():
        raise ScenarioError(f"{flag} {shown}: the folder {_show(parent)} does not exist; create it first.")
    if not parent.is_dir():
        raise ScenarioError(f"{flag} {shown}: {_show(parent)} is a file, not a folder.")
    try:
        fd, probe = tempfile.mkstemp(prefix=".rplsim-probe-", dir=parent)
    except OSError as exc:
        raise ScenarioError(f"{flag} {shown}: cannot write in {_show(parent)}: {exc.strerror}.") from None
    os.close(fd)
    os.unlink(probe)
    return p


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Write one file atomically: yield a temporary path beside ``path``, renamed over it at the end.

    A failure or interrupt leaves the old file (or none), never half of a new one. A symbolic
    link is followed (the file it points to is replaced, the link kept); a target that exists
    and is not a regular file (``/dev/stdout``, a FIFO) is written directly.

    Examples
    --------
    >>> d = Path(tempfile.mkdtemp())
    >>> with atomic_file(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text(), sorted(p.name for p in d.iterdir())
    ('hello', ['a.txt'])
    """
    target = Path(path)
    if target.is_symlink():
        target = target.resolve()
    if target.exists() and not target.is_file():
        yield target
        return
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- the lock
LOCK_SUFFIX = ".rplsim-lock"


def _lock_file(final: Path) -> Path:
    return final.parent / f".{final.name}{LOCK_SUFFIX}"


def _busy(final: Path, pid: str, lock: Path | None = None) -> ResultsExistError:
    hint = f" (if no rplsim run is, remove {lock})" if lock is not None else ""
    return ResultsExistError(
        f"{final}: another rplsim run (pid {pid or 'unknown'}) is writing it{hint}; "
        "wait for it or choose another --out."
    )


def _holder(fd: int) -> str:
    """The pid the lock's holder wrote into it (it may not have written it yet: wait a little)."""
    for _ in range(20):
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if text:
            return text
        time.sleep(0.005)
    return ""


@contextmanager
def _exclusive(final: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``final`` (see the module docstring) or raise at once."""
    path = _lock_file(final)
    if fcntl is None:  # pragma: no cover - Windows: an O_EXCL lock file
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            raise _busy(final, path.read_text(errors="replace").strip(), path) from None
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            os.close(fd)
            path.unlink(missing_ok=True)
        return
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder(fd)
            os.close(fd)
            raise _busy(final, pid) from None
        # The holder before us removes the file as it finishes: a lock on a removed file
        # locks nothing, so take it again on the file that is there now.
        try:
            now = os.stat(path)
        except FileNotFoundError:
            now = None
        mine = os.fstat(fd)
        if now is not None and (now.st_ino, now.st_dev) == (mine.st_ino, mine.st_dev):
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        path.unlink(missing_ok=True)  # while still holding it, so no one locks a removed file
        os.close(fd)


def _tell(say: Callable[[str], None] | None, message: str) -> None:
    if say is not None:
        say(message)
    else:
        warnings.warn(message, stacklevel=3)


def _leftovers(final: Path) -> tuple[list[Path], list[Path]]:
    """The ``.tmp-`` and ``.old-`` siblings that writes to ``final`` leave when killed."""
    name = re.escape(final.name)
    tmp_re = re.compile(rf"\.tmp-{name}-\d+-[0-9a-f]{{8}}")
    old_re = re.compile(rf"\.old-{name}-\d+")
    tmps, olds = [], []
    try:
        siblings = list(final.parent.iterdir())
    except OSError:
        return [], []
    for p in siblings:
        if tmp_re.fullmatch(p.name):
            tmps.append(p)
        elif old_re.fullmatch(p.name):
            olds.append(p)
    return tmps, olds


def _repair(final: Path, say: Callable[[str], None] | None) -> None:
    """Under the lock: clean what a killed run left beside ``final`` (see the module docstring)."""
    tmps, olds = _leftovers(final)
    if olds and not (final.exists() or final.is_symlink()):
        olds.sort(key=lambda p: p.stat().st_mtime)
        keep = olds.pop()
        keep.rename(final)
        _tell(
            say,
            f"restored the previous results of {final} from {keep.name}: a run was killed "
            "while replacing them",
        )
    stale = tmps + olds
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
    if stale:
        _tell(say, f"removed {len(stale)} stale temporary folder(s) of a killed run beside {final}")


@contextmanager
def locked_target(final: str | Path, *, say: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Hold the exclusive lock of the results folder ``final`` while writing it.

    Makes ``final``'s parent, takes the lock (or raises at once), then repairs what a killed run
    left beside ``final`` (stale ``.tmp-`` folders removed, an ``.old-`` folder restored when
    ``final`` is missing); the lock is released when the block ends.

    Parameters
    ----------
    final : str or Path
    say : callable, optional
        Where the one-line repair notes go (default: :func:`warnings.warn`).

    Yields
    ------
    Path
        ``final``.

    Raises
    ------
    ResultsExistError
        Another process holds the lock: "another rplsim run (pid N) is writing it".
    """
    final = Path(final)
    if final.name in ("", ".", ".."):
        raise ResultsExistError(f"{final}: must end in a folder name (not '.', '..' or '/').")
    final.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(final):
        _repair(final, say)
        yield final


def temp_sibling(final: Path) -> Path:
    """Make and return the temporary folder ``.tmp-<name>-<pid>-<hex>`` beside ``final``."""
    # not tempfile.mkdtemp: its folder is private (0700) and the rename would keep that mode
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    return tmp


def swap_in(tmp: Path, final: Path, *, force: bool) -> None:
    """Under the lock: rename the finished ``tmp`` to ``final``.

    An existing ``final`` is replaced only with ``force`` and only if :func:`is_replaceable`;
    it is renamed to ``.old-<name>-<pid>`` first and deleted only once ``tmp`` is in its place,
    so a kill between the two renames leaves it for the next run to restore.

    Raises
    ------
    ResultsExistError
        ``final`` exists (it appeared while this run worked) and ``force`` is False, or it is
        not an rplsim folder.
    """
    if final.exists() or final.is_symlink():
        check_target(final, force=force)
        old = final.with_name(f".old-{final.name}-{os.getpid()}")
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(final)


def _not_ours(folder: Path) -> str | None:
    """Why ``--force`` may not replace ``folder`` (None when it may)."""
    if folder.is_symlink():
        return "a symbolic link"
    if not folder.is_dir():
        return "a file, not a folder"
    if not any(folder.iterdir()):
        return None
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no rplsim manifest.json in it, and it is not empty"
    if isinstance(manifest, dict) and "rplsim_manifest" in manifest:
        return None
    return "its manifest.json is not rplsim's"


def check_target(final: str | Path, *, force: bool = False) -> Path:
    """``final`` as a Path, if a results folder may be written there.

    Raises
    ------
    ResultsExistError
        ``final`` is a symbolic link; it exists and ``force`` is False; or it exists and is not
        an rplsim results folder (:func:`is_replaceable`).
    """
    final = Path(final)
    if final.is_symlink():
        raise ResultsExistError(
            f"{final}: not an rplsim results folder: a symbolic link; remove it yourself or "
            "choose another --out."
        )
    if final.exists() and not force:
        raise ResultsExistError(f"{final}: exists; use --force to replace it or --out DIR.")
    why = _not_ours(final) if final.exists() else None
    if why is not None:
        raise ResultsExistError(
            f"{final}: not an rplsim results folder: {why}; remove it yourself or choose another --out."
        )
    return final


def is_replaceable(folder: Path) -> bool:
    """Whether ``--force`` may replace ``folder``: an empty folder, or one with an rplsim manifest.

    A folder whose ``manifest.json`` does not say ``"rplsim_manifest"`` (a home folder, a decoy
    with ``.bashrc`` in it), a file or a symbolic link is never deleted by rplsim. Sweep folders
    qualify from their start: their provisional manifest is written before the first row.

    Examples
    --------
    >>> d = Path(tempfile.mkdtemp())
    >>> is_replaceable(d)
    True
    >>> _ = (d / ".bashrc").write_text("alias ls=rm")
    >>> is_replaceable(d)
    False
    """
    return _not_ours(folder) is None


@contextmanager
def results_folder(
    final: str | Path,
    *,
    force: bool = False,
    manifest: dict[str, Any] | None = None,
    say: Callable[[str], None] | None = None,
) -> Iterator[ResultsFolder]:
    """Write a results folder atomically, holding its lock (see the module docstring).

    Parameters
    ----------
    final : str or Path
        The folder to create, e.g. ``results/paper``.
    force : bool
        Replace an existing rplsim folder (only after the new one is complete).
    manifest : dict, optional
        Entries for ``manifest.json`` (scenario, seed, command line ...); the file list with
        sizes and sha256, versions and start/end times are added here.
    say : callable, optional
        Where the notes on a killed run's leftovers go (default :func:`warnings.warn`).

    Raises
    ------
    ResultsExistError
        Another run is writing ``final``; ``final`` exists and ``force`` is False; or it is not
        an rplsim folder (all checked before any work is done, under the lock).
    """
    with locked_target(final, say=say) as target:
        target = check_target(target, force=force)
        head = {
            "rplsim_manifest": 1,
            "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "command_line": sys.argv,
            "versions": library_versions(),
            **(manifest or {}),
        }
        tmp = temp_sibling(target)
        folder = ResultsFolder(tmp, target)
        folder.manifest = head
        try:
            yield folder
            folder.manifest["finished"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
            write_manifest(tmp, folder.manifest, folder.files)
            swap_in(tmp, target, force=force)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
