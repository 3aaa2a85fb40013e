"""``points.csv``: one row a finished point, appended as points finish, so a sweep can resume."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rplsim.exceptions import ResultsExistError, ScenarioError
from rplsim.sweep.grid import SweepPlan

__all__: list[str] = []

POINTS_CSV = "points.csv"


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


def kept_rows(plan: SweepPlan, out: Path, *, resume: bool, force: bool) -> dict[str, dict[str, str]]:
    """The rows of an existing ``out/points.csv`` that ``resume`` keeps, by point key.

    Raises
    ------
    ResultsExistError
        ``out`` holds a ``rplsim run``, or points.csv exists without ``resume`` or ``force``.
    ScenarioError
        A kept row was computed from another scenario, seed, replicates or n.
    """
    csv_path = out / POINTS_CSV
    kept: dict[str, dict[str, str]] = {}
    if (out / "manifest.json").exists() and not csv_path.exists():
        # A `rplsim run` folder of the same name: never mix a sweep into it, even with --force.
        raise ResultsExistError(
            f"{out}: holds the results of `rplsim run`, not a sweep; give "
            "the sweep its own folder with --out DIR."
        )
    if csv_path.exists() and not force:
        if not resume:
            raise ResultsExistError(
                f"{csv_path}: exists; use --resume to continue that sweep, "
                "--force to start over, or --out DIR."
            )
        by_key = {p.key: p for p in plan.points}
        for r in _read_rows(csv_path, plan.columns):
            p = by_key.get(r["point"])
            if p is not None and r["digest"] != p.digest:
                raise ScenarioError(
                    f"{csv_path}: point {p.key} was computed from another "
                    "scenario, seed, replicates or n; use --out DIR for a new "
                    "sweep or --force to start over."
                )
            kept[r["point"]] = r
    return kept


def start_points_csv(plan: SweepPlan, out: Path, kept: Iterable[dict[str, str]]) -> None:
    """Make ``out`` and rewrite points.csv with the kept rows (dropping a half-written last line)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("sweep.png", "manifest.json"):
        (out / stale).unlink(missing_ok=True)
    _write_rows(out / POINTS_CSV, plan.columns, kept)


def sort_points_csv(plan: SweepPlan, out: Path) -> None:
    """Rewrite points.csv in grid order (the same bytes per row: floats are written by repr)."""
    csv_path = out / POINTS_CSV
    rows = _read_rows(csv_path, plan.columns)
    order = {p.key: p.index for p in plan.points}
    rows.sort(key=lambda r: order.get(r["point"], len(order)))
    _write_rows(csv_path, plan.columns, rows)
