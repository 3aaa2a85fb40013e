"""The results folder: written atomically, with a manifest of everything in it.

Files go into a temporary folder beside the target (``results/.tmp-<name>-<pid>``); only when
every stage has finished is it renamed to ``results/<name>/``. An interrupted or failed run
leaves no half-written folder. An existing folder is replaced only with ``force=True``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import secrets
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from rplsim.exceptions import ResultsExistError

__all__ = [
    "SIGNIFICANT_DIGITS",
    "ResultsFolder",
    "check_target",
    "is_replaceable",
    "library_versions",
    "results_folder",
    "round_float",
    "round_significant",
    "sha256_file",
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
            out[col] = s.map(lambda x: round_float(x, digits)).astype(s.dtype)
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
    from rplsim.outputs.escape import neutralise_frame

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


def check_target(final: str | Path, *, force: bool = False) -> Path:
    """``final`` as a Path, if a results folder may be written there.

    Raises
    ------
    ResultsExistError
        If ``final`` exists and ``force`` is False.
    """
    final = Path(final)
    if final.exists() and not force:
        raise ResultsExistError(f"{final}: exists; use --force to replace it or --out DIR.")
    if final.exists() and not is_replaceable(final):
        raise ResultsExistError(
            f"{final}: not an rplsim results folder (no rplsim manifest.json, and not empty); "
            "--force replaces only those: remove it yourself or choose another --out."
        )
    return final


def is_replaceable(folder: Path) -> bool:
    """Whether ``--force`` may replace ``folder``: an empty folder, or one with an rplsim manifest.

    A folder whose ``manifest.json`` does not say ``"rplsim_manifest"`` (a home folder, a decoy
    with ``.bashrc`` in it, a file) is never deleted by rplsim.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> is_replaceable(d)
    True
    >>> _ = (d / ".bashrc").write_text("alias ls=rm")
    >>> is_replaceable(d)
    False
    """
    if not folder.is_dir() or folder.is_symlink():
        return False
    if not any(folder.iterdir()):
        return True
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "rplsim_manifest" in manifest


@contextmanager
def results_folder(
    final: str | Path, *, force: bool = False, manifest: dict[str, Any] | None = None
) -> Iterator[ResultsFolder]:
    """Write a results folder atomically.

    Parameters
    ----------
    final : str or Path
        The folder to create, e.g. ``results/paper``.
    force : bool
        Replace an existing folder (only after the new one is complete).
    manifest : dict, optional
        Entries for ``manifest.json`` (scenario, seed, command line ...); the file list with
        sizes and sha256, versions and start/end times are added here.

    Raises
    ------
    ResultsExistError
        If ``final`` exists and ``force`` is False (checked before any work is done).
    """
    final = check_target(final, force=force)
    head = {
        "rplsim_manifest": 1,
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command_line": sys.argv,
        "versions": library_versions(),
        **(manifest or {}),
    }
    final.parent.mkdir(parents=True, exist_ok=True)
    # not tempfile.mkdtemp: its folder is private (0700) and the rename would keep that mode
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    folder = ResultsFolder(tmp, final)
    folder.manifest = head
    try:
        yield folder
        folder.manifest["finished"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        write_manifest(tmp, folder.manifest, folder.files)
        if final.exists():
            old = final.with_name(f".old-{final.name}-{os.getpid()}")
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
