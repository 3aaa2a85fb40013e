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
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from rplsim.exceptions import ResultsExistError

__all__ = ["ResultsFolder", "library_versions", "results_folder", "sha256_file"]


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
        df.to_csv(self.path(f"{name}.csv"), index=False)
        if parquet:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                return
            df.to_parquet(self.path(f"{name}.parquet"), index=False)

    def text(self, name: str, text: str) -> None:
        """Write a text file."""
        self.path(name).write_text(text, encoding="utf-8")


@contextmanager
def results_folder(final: str | Path, *, force: bool = False,
                   manifest: dict[str, Any] | None = None) -> Iterator[ResultsFolder]:
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
    final = Path(final)
    if final.exists() and not force:
        raise ResultsExistError(f"{final}: exists; use --force to replace it or --out DIR.")
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
        folder.manifest["files"] = [
            {"name": f, "bytes": (tmp / f).stat().st_size, "sha256": sha256_file(tmp / f)}
            for f in folder.files
        ]
        (tmp / "manifest.json").write_text(json.dumps(folder.manifest, indent=2, default=str),
                                           encoding="utf-8")
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
