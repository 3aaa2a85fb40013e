"""Scenario files: TOML in, one frozen, validated :class:`~rplsim.scenario.model.Scenario` out.

A file may ``extends = "other.toml"`` (a file in the same folder or below) and override only
what differs; ``--set section.key=value`` overrides are applied after that and validated the
same way. Files are data: nothing is executed and no other path is read.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from rplsim._core.keys import deep_merge, set_dotted, split_key
from rplsim.exceptions import ScenarioError
from rplsim.scenario.model import Scenario
from rplsim.scenario.schema import build

__all__ = ["load_scenario", "parse_overrides", "scenario_from_dict", "scenario_path"]


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    if not path.exists():
        raise ScenarioError(f"{label}: no such file; give the path of a .toml scenario.")
    if path.is_dir():
        raise ScenarioError(f"{label}: is a directory, must be a .toml scenario file.")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{label}: cannot be read ({exc.strerror}).") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{label}: is not UTF-8 text, must be a TOML scenario file.") from None
    if not text.strip():
        raise ScenarioError(f"{label}: is empty, must hold at least [scenario] name = ...")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{label}: TOML syntax error: {exc}.") from None


def _resolve(path: Path, label: str, seen: tuple[Path, ...]) -> dict[str, Any]:
    data = _read_toml(path, label)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.endswith(".toml"):
        raise ScenarioError(
            f"{label}: extends == {parent!r}, must be the name of a .toml file "
            'in the same folder, e.g. extends = "paper.toml".'
        )
    folder = path.parent.resolve()
    target = (folder / parent).resolve()
    if folder not in target.parents:
        raise ScenarioError(
            f'{label}: extends == "{parent}", must name a file in the '
            "scenario's own folder (no paths outside it)."
        )
    if target in seen:
        chain = " -> ".join(p.name for p in (*seen, target))
        raise ScenarioError(f'{label}: extends == "{parent}" makes a cycle ({chain}).')
    base = _resolve(target, f"{label} (extends {parent})", (*seen, target))
    return deep_merge(base, data)


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Turn ``["trial.control_lbr=0.55", "cohort.n=1000"]`` into a nested dict.

    Values are read as TOML values (``0.55``, ``true``, ``"chi2"``, ``[1, 2]``); a bare word
    that is not valid TOML is taken as a string.
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ScenarioError(f"--set {item}: must be KEY=VALUE, e.g. --set trial.alpha=0.025.")
        key, text = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in split_key(key)):
            raise ScenarioError(f"--set {item}: the key must be section.key, e.g. cohort.n.")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        try:
            set_dotted(out, key, value)
        except ValueError as exc:
            raise ScenarioError(f"--set {item}: {exc}") from None
    return out


def scenario_from_dict(data: dict[str, Any], label: str = "<scenario>", path: str = "") -> Scenario:
    """Validate a plain dict (as read from TOML) into a :class:`Scenario`.

    Raises
    ------
    ScenarioError
        With one line per problem, each starting with ``label``.
    """
    errors: list[str] = []
    obj: Scenario = build(Scenario, data, "", errors)
    if errors:
        raise ScenarioError([f"{label}: {e}" for e in errors])
    object.__setattr__(obj, "_path", path)
    return obj


def load_scenario(
    path: str | Path,
    overrides: list[str] | tuple[str, ...] | dict[str, Any] | None = None,
) -> Scenario:
    """Read, resolve and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        A ``.toml`` scenario file.
    overrides : list of "section.key=value" strings, or a nested dict, optional
        Applied after ``extends`` and before validation (``rplsim run --set``).

    Returns
    -------
    Scenario
        Frozen; every value checked.

    Raises
    ------
    ScenarioError
        Every problem of the file, one line each: ``file: key == value, rule.``

    Examples
    --------
    >>> sc = load_scenario("scenarios/paper.toml", ["trial.control_lbr=0.55"])
    >>> sc.cohort.n, sc.trial.control_lbr
    (466, 0.55)
    """
    p = Path(path)
    label = str(path)
    data = _resolve(p, label, (p.resolve(),))
    if overrides:
        over = overrides if isinstance(overrides, dict) else parse_overrides(list(overrides))
        data = deep_merge(data, over)
    return scenario_from_dict(data, label, str(p))


def scenario_path(scenario: Scenario) -> str:
    """The file a scenario was loaded from ("" if built in code)."""
    return getattr(scenario, "_path", "")
