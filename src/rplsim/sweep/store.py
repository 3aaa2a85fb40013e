"""``points.csv``: one row a finished point, appended as points finish, so a sweep can resume.

A sweep folder is recognised by its ``manifest.json`` (``"rplsim_manifest"``, ``"kind":
"sweep"``): a provisional one (``"complete": false``, no files listed) is written before the
first row, and the full one replaces it when the sweep has finished. So a sweep killed at any
moment leaves a folder that ``--resume`` continues and ``--force`` may replace. A folder of an
older rplsim killed before its manifest (only ``points.csv``, with a sweep's header, and the
sweep's own files) is recognised too.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rplsim.exceptions import ResultsExistError, ScenarioError
from rplsim.outputs.folder import check_target, write_manifest
from rplsim.sweep.grid import SweepPlan

__all__: list[str] = []

POINTS_CSV = "points.csv"

SWEEP_FILES = frozenset(
    {POINTS_CSV, f".{POINTS_CSV}.tmp", "sweep.png", "manifest.json", ".manifest.json.tmp"}
)
"""Every file a sweep writes into its folder."""


def _read_rows(path: Path, columns: list[str]) -> list[dict[str, str]]:
    """Complete rows of an existing points.csv (a row cut short by a crash is dropped)."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return []
        if header != columns:
            raise ScenarioError(
                f"{path}: its columns are not this sweep's (was the grid "
                "changed?); use --out DIR for a new sweep or --force to start "
                "over."
            )
        # The digest (last column) is 64 hex digits: a shorter one is a row cut short.
        return [
            dict(zip(columns, r, strict=True)) for r in reader if len(r) == len(columns) and len(r[-1]) == 64
        ]


def _write_rows(path: Path, columns: list[str], rows: Iterable[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, columns)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)  # atomic: a crash leaves the old file or the new one


def folder_kind(out: Path) -> str:
    """What ``out`` is: ``"missing"``, ``"empty"``, ``"sweep"``, ``"run"`` or ``"other"``.

    ``"sweep"``: its manifest says it is a sweep's (provisional or complete), or it holds only a
    sweep's files with a points.csv whose header is a sweep's. ``"run"``: an rplsim manifest
    of another kind (``rplsim run``). ``"other"``: anything else (a file, a symbolic link, a
    folder of someone else's files).
    """
    if out.is_symlink():
        return "other"
    if not out.exists():
        return "missing"
    if not out.is_dir():
        return "other"
    names = {p.name for p in out.iterdir()}
    if not names:
        return "empty"
    if "manifest.json" in names:
        try:
            manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "other"
        if not isinstance(manifest, dict) or "rplsim_manifest" not in manifest:
            return "other"
        return "sweep" if manifest.get("kind") == "sweep" else "run"
    if POINTS_CSV in names and names <= SWEEP_FILES:
        try:
            with open(out / POINTS_CSV, newline="", encoding="utf-8") as fh:
                header = next(csv.reader(fh), [])
        except (OSError, UnicodeDecodeError, csv.Error):
            return "other"
        if header[:1] == ["point"] and header[-1:] == ["digest"]:
            return "sweep"
    return "other"


def replaces(out: Path, *, force: bool) -> bool:
    """Whether a sweep to ``out`` streams into a temporary sibling (``force`` over a non-empty folder).

    Then the old folder stays untouched until the new sweep has finished; otherwise the sweep
    streams into ``out`` itself, which is what ``--resume`` continues.
    """
    return force and folder_kind(out) not in ("missing", "empty")


def kept_rows(
    plan: SweepPlan,
    out: Path,
    *,
    resume: bool,
    force: bool,
    say: Callable[[str], None] | None = None,
) -> dict[str, dict[str, str]]:
    """The rows of an existing ``out/points.csv`` that ``resume`` keeps, by point key.

    Only rows of points in the current grid are kept (the others are dropped, with one line to
    ``say``), so a resumed sweep's table holds exactly the current grid.

    Raises
    ------
    ResultsExistError
        ``out`` holds a ``rplsim run`` or is not an rplsim folder; or points.csv exists
        without ``resume`` or ``force``.
    ScenarioError
        A kept row was computed from another scenario, seed, replicates or n.
    """
    kind = folder_kind(out)
    if kind == "run":
        # A `rplsim run` folder of the same name: never mix a sweep into it, even with --force.
        raise ResultsExistError(
            f"{out}: holds the results of `rplsim run`, not a sweep; give the sweep its own "
            "folder with --out DIR."
        )
    if kind == "other":
        check_target(out, force=True)  # the reason in one line: a symbolic link, a file, not ours
        raise ResultsExistError(
            f"{out}: not an rplsim results folder: it holds files that are not a sweep's; "
            "remove it yourself or choose another --out."
        )
    csv_path = out / POINTS_CSV
    kept: dict[str, dict[str, str]] = {}
    if force or not csv_path.exists():
        return kept
    if not resume:
        raise ResultsExistError(
            f"{csv_path}: exists; use --resume to continue that sweep, --force to start over, or --out DIR."
        )
    by_key = {p.key: p for p in plan.points}
    dropped = 0
    for r in _read_rows(csv_path, plan.columns):
        p = by_key.get(r["point"])
        if p is None:
            dropped += 1
            continue
        if r["digest"] != p.digest:
            raise ScenarioError(
                f"{csv_path}: point {p.key} was computed from another "
                "scenario, seed, replicates or n; use --out DIR for a new "
                "sweep or --force to start over."
            )
        kept[r["point"]] = r
    if dropped and say is not None:
        say(f"dropped {dropped} rows not in the current grid from {csv_path}")
    return kept


def start_points_csv(plan: SweepPlan, out: Path, kept: Iterable[dict[str, str]]) -> None:
    """Make ``out`` a sweep folder: a provisional manifest, then points.csv with the kept rows.

    The provisional manifest (written first) is what marks the folder as a sweep's from its
    first moment; the stale figure of an earlier sweep is removed. Rewriting points.csv also
    drops a half-written last line.
    """
    out.mkdir(parents=True, exist_ok=True)
    provisional = {
        "rplsim_manifest": 1,
        "kind": "sweep",
        "complete": False,
        "scenario": plan.base.scenario.name,
        "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    write_manifest(out, provisional, [])
    (out / "sweep.png").unlink(missing_ok=True)
    _write_rows(out / POINTS_CSV, plan.columns, kept)


def sort_points_csv(plan: SweepPlan, out: Path) -> None:
    """Rewrite points.csv in grid order (the same bytes per row: floats are written by repr)."""
    csv_path = out / POINTS_CSV
    rows = _read_rows(csv_path, plan.columns)
    order = {p.key: p.index for p in plan.points}
    rows.sort(key=lambda r: order.get(r["point"], len(order)))
    _write_rows(csv_path, plan.columns, rows)
