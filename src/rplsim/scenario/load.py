"""Scenario files: TOML in, one frozen, validated :class:`~rplsim.scenario.model.Scenario` out.

A file may ``extends = "other.toml"`` (a file in the same folder or below) and override only
what differs; ``--set section.key=value`` overrides are applied after that and validated the
same way. Files are data: nothing is executed and no other path is read.

What is read, and its limits (:mod:`rplsim._core.limits`): only regular files (a FIFO, a
device or a socket is refused before it is opened, and opened without blocking, so it can never
hang or stream); at most :data:`~rplsim._core.limits.MAX_SCENARIO_BYTES` per file; at most
:data:`~rplsim._core.limits.MAX_EXTENDS_DEPTH` files in an ``extends`` chain; tables and arrays
nested at most :data:`~rplsim._core.limits.MAX_NESTING_DEPTH` deep. Each is one problem line.
"""

from __future__ import annotations

import errno
import os
import stat
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rplsim._core.keys import deep_merge, set_dotted, split_key
from rplsim._core.limits import MAX_EXTENDS_DEPTH, MAX_NESTING_DEPTH, MAX_SCENARIO_BYTES
from rplsim.exceptions import ScenarioError
from rplsim.scenario.model import Scenario
from rplsim.scenario.prior_params import PRIOR_FORMS
from rplsim.scenario.schema import build
from rplsim.scenario.tomlio import ECHO_LIMIT, echo_key, echo_text, echo_value

__all__ = [
    "label_problems",
    "load_scenario",
    "merge_scenario_data",
    "nesting_depth",
    "override_flags",
    "parse_overrides",
    "resolve_scenario",
    "scenario_from_dict",
    "scenario_path",
]

# A file name is echoed in full unless it is absurdly long (a path can be ~4,000 characters).
_LABEL_LIMIT = 4 * ECHO_LIMIT
_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _label(path: str | os.PathLike[str]) -> str:
    return echo_text(os.fspath(path), _LABEL_LIMIT)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.0f} kB"


def _too_large(label: str, size: int | None) -> ScenarioError:
    what = f"is {_size(size)}" if size is not None else "holds more than 1 MiB"
    return ScenarioError(
        f"{label}: {what}, larger than the {MAX_SCENARIO_BYTES // 2**20} MiB a scenario may be; "
        "a scenario is a short text file (the shipped ones are under 5 kB)."
    )


def _not_regular(label: str, mode: int) -> ScenarioError:
    if stat.S_ISDIR(mode):
        return ScenarioError(f"{label}: is a directory, must be a .toml scenario file.")
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    return ScenarioError(f"{label}: is not a regular file ({kind}); give a .toml scenario file.")


def _os_problem(label: str, exc: OSError) -> ScenarioError:
    if exc.errno == errno.ENOENT:
        return ScenarioError(f"{label}: no such file; give the path of a .toml scenario.")
    if exc.errno == errno.ELOOP:
        return ScenarioError(f"{label}: is a symbolic link loop; give the path of a .toml scenario.")
    if exc.errno == errno.ENOTDIR:
        return ScenarioError(f"{label}: a part of the path is a file, not a folder; no such scenario.")
    if exc.errno == errno.ENAMETOOLONG:
        return ScenarioError(f"{label}: the file name is too long for this system.")
    return ScenarioError(f"{label}: cannot be read ({exc.strerror or exc}).")


def _read_bytes(path: Path, label: str) -> bytes:
    """The file's bytes: a regular file only, checked before and after opening, size-capped."""
    try:
        before = os.stat(path)  # follows symbolic links, like open() will
    except OSError as exc:
        raise _os_problem(label, exc) from None
    except ValueError:  # an embedded NUL byte
        raise ScenarioError(f"{label}: the path holds a NUL byte; no such scenario.") from None
    if not stat.S_ISREG(before.st_mode):
        raise _not_regular(label, before.st_mode)
    if before.st_size > MAX_SCENARIO_BYTES:
        raise _too_large(label, before.st_size)
    # O_NONBLOCK: if the path was swapped for a FIFO since the stat, open() still returns at once.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _os_problem(label, exc) from None
    try:
        after = os.fstat(fd)
        if not stat.S_ISREG(after.st_mode):
            raise _not_regular(label, after.st_mode)
        chunks: list[bytes] = []
        left = MAX_SCENARIO_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise _os_problem(label, exc) from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > MAX_SCENARIO_BYTES:
        raise _too_large(label, None)
    return raw


def nesting_depth(data: Any) -> tuple[int, str]:
    """How deep tables and arrays nest in ``data``, and the dotted path of the deepest.

    The document itself is level 0, ``[cohort]`` level 1, ``[cohort.age.KN]`` level 3; an
    array counts as a level (``grid."trial.alpha" = [...]`` of ``[sweep]`` is level 3). The
    walk is iterative, so any depth is measured without exhausting Python's stack.

    Examples
    --------
    >>> nesting_depth({"cohort": {"age": {"KN": {"mean": 30.0}}}, "a": [[1]]})
    (3, 'cohort.age.KN')
    """
    deepest, where = 0, ""
    stack: list[tuple[Any, int, str]] = [(data, 0, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth > deepest:
            deepest, where = depth, path
        if isinstance(node, Mapping):
            for k, v in node.items():
                if isinstance(v, (Mapping, list)):
                    key = echo_key(k)
                    stack.append((v, depth + 1, f"{path}.{key}" if path else key))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                if isinstance(v, (Mapping, list)):
                    stack.append((v, depth + 1, f"{path}[{i}]"))
    return deepest, where


def _check_depth(data: Any, label: str) -> None:
    depth, where = nesting_depth(data)
    if depth > MAX_NESTING_DEPTH:
        shown = where if len(where) <= ECHO_LIMIT else where[:ECHO_LIMIT] + "…"
        raise ScenarioError(
            f"{label}: {shown} nests tables and arrays {depth} levels deep, more than the "
            f"{MAX_NESTING_DEPTH} a scenario may (the shipped scenarios nest at most 5)."
        )


def _too_deep(label: str) -> ScenarioError:
    return ScenarioError(
        f"{label}: nests tables or arrays so deep that the TOML reader gave up; a scenario may "
        f"nest at most {MAX_NESTING_DEPTH} levels (the shipped scenarios nest at most 5)."
    )


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    raw = _read_bytes(path, label)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{label}: is not UTF-8 text, must be a TOML scenario file.") from None
    if not text.strip():
        raise ScenarioError(f"{label}: is empty, must hold at least [scenario] name = ...")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{label}: TOML syntax error: {echo_text(str(exc), None)}.") from None
    except RecursionError:
        raise _too_deep(label) from None
    _check_depth(data, label)
    return data


def _resolve(path: Path, label: str, seen: tuple[Path, ...], root: str) -> dict[str, Any]:
    data = _read_toml(path, label)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.endswith(".toml"):
        raise ScenarioError(
            f"{label}: extends == {echo_value(parent)}, must be the name of a .toml file "
            'in the same folder, e.g. extends = "paper.toml".'
        )
    shown = echo_value(parent)
    if len(seen) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(
            f"{root}: the extends chain has more than {MAX_EXTENDS_DEPTH} files "
            f"({seen[0].name} -> {seen[1].name} -> ... -> {echo_text(path.name)} -> {shown}), "
            f"more than the {MAX_EXTENDS_DEPTH} a chain may hold (the scenario itself included); "
            "copy the keys you need into fewer files."
        )
    try:
        folder = path.parent.resolve()
        target = (folder / parent).resolve()
    except (RuntimeError, OSError):  # Python < 3.13 raises RuntimeError for a symlink loop
        raise ScenarioError(
            f"{label}: extends == {shown} is a symbolic link loop; name a .toml file."
        ) from None
    except ValueError:
        raise ScenarioError(f"{label}: extends == {shown} holds a NUL byte; name a .toml file.") from None
    if folder not in target.parents:
        raise ScenarioError(
            f"{label}: extends == {shown}, must name a file in the "
            "scenario's own folder (no paths outside it)."
        )
    if target in seen:
        chain = " -> ".join(echo_text(p.name) for p in (*seen, target))
        raise ScenarioError(f"{label}: extends == {shown} makes a cycle ({chain}).")
    base = _resolve(target, f"{label} (extends {echo_text(parent)})", (*seen, target), root)
    return merge_scenario_data(base, data)


def resolve_scenario(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A scenario file read with its ``extends`` chain merged, not yet validated.

    Every file of the chain is read under the limits of this module (regular file, size,
    nesting, chain length).

    Raises
    ------
    ScenarioError
        One line naming the file (``a.toml (extends b.toml): ...`` for a parent).
    """
    p = Path(path)
    label = _label(path)
    try:
        first = p.resolve()
    except (RuntimeError, OSError):
        raise ScenarioError(f"{label}: is a symbolic link loop; give the path of a .toml scenario.") from None
    except ValueError:
        raise ScenarioError(f"{label}: the path holds a NUL byte; no such scenario.") from None
    return _resolve(p, label, (first,), label)


def _parse_one(item: str) -> tuple[str, Any]:
    shown = f"--set {echo_text(item)}"
    if "=" not in item:
        raise ScenarioError(f"{shown}: must be KEY=VALUE, e.g. --set trial.alpha=0.025.")
    key, text = item.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in split_key(key)):
        raise ScenarioError(f"{shown}: the key must be section.key, e.g. cohort.n.")
    if key.count(".") >= MAX_NESTING_DEPTH:
        raise ScenarioError(
            f"{shown}: the key nests {key.count('.') + 1} levels deep, more than the "
            f"{MAX_NESTING_DEPTH} a scenario may."
        )
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    except RecursionError:
        raise ScenarioError(
            f"{shown}: the value nests too deep; a scenario may nest at most {MAX_NESTING_DEPTH} levels."
        ) from None
    depth, _ = nesting_depth(value)
    if depth + key.count(".") + 1 > MAX_NESTING_DEPTH:
        raise ScenarioError(
            f"{shown}: nests tables and arrays {depth + key.count('.') + 1} levels deep, more than "
            f"the {MAX_NESTING_DEPTH} a scenario may."
        )
    return key, value


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Turn ``["trial.control_lbr=0.55", "cohort.n=1000"]`` into a nested dict.

    Values are read as TOML values (``0.55``, ``true``, ``"chi2"``, ``[1, 2]``); a bare word
    that is not valid TOML is taken as a string.

    Raises
    ------
    ScenarioError
        ``--set ITEM: ...`` for an item that is not ``KEY=VALUE`` (the item echoed on one line).
    """
    out: dict[str, Any] = {}
    for item in items:
        key, value = _parse_one(item)
        try:
            set_dotted(out, key, value)
        except ValueError as exc:
            raise ScenarioError(f"--set {echo_text(item)}: {exc}") from None
    return out


def override_flags(items: Sequence[str]) -> dict[str, str]:
    """Dotted key -> ``--set KEY=VALUE``: the flag each override's problems are reported under.

    Examples
    --------
    >>> override_flags(["trial.alpha=0.1", "cohort.n = 5"])
    {'trial.alpha': '--set trial.alpha=0.1', 'cohort.n': '--set cohort.n = 5'}
    """
    return {item.split("=", 1)[0].strip(): f"--set {echo_text(item)}" for item in items if "=" in item}


def _echo_dotted(key: str) -> str:
    return ".".join(echo_key(p, None) for p in split_key(key))


def label_problems(problems: Sequence[str], label: str, flags: Mapping[str, str] | None = None) -> list[str]:
    """Prefix each problem with where it came from: the file, or the flag that set its key.

    Parameters
    ----------
    problems : list of str
        Problem messages, each starting with the dotted key it is about
        (``trial.alpha == 2.0, must be ...``), as :func:`~rplsim.scenario.schema.build` gives.
    label : str
        The file (``scenarios/x.toml``).
    flags : mapping, optional
        Dotted key -> flag label (``{"trial.alpha": "--set trial.alpha=2", "scenario.seed":
        "--seed 5"}``). A problem whose key is one of these, inside one, or the table one of
        them sets, starts with the flag; a problem about a key of the file that names a
        flag's key (a rule across two keys) starts with ``file (with FLAG)``.

    Returns
    -------
    list of str
        One line per problem.
    """
    if not flags:
        return [f"{label}: {p}" for p in problems]
    shown = {k: _echo_dotted(k) for k in flags}
    out = []
    for msg in problems:
        best, best_len = "", 0
        for k, e in shown.items():
            # The key itself (or a key inside it, or an item of it), else a table on its way.
            parts = split_key(k)
            heads = [e] + [_echo_dotted(".".join(parts[:j])) for j in range(len(parts) - 1, 0, -1)]
            for j, head in enumerate(heads):
                follow = msg[len(head) : len(head) + 1]
                ok = follow in ("", " ", "[", ":", ",", ".") if j == 0 else follow == " "
                if msg.startswith(head) and ok:
                    if len(head) > best_len:
                        best, best_len = k, len(head)
                    break
        if best:
            out.append(f"{flags[best]}: {msg}")
            continue
        named = [flags[k] for k, e in shown.items() if _names(msg, e)]
        out.append(f"{label} (with {', '.join(named)}): {msg}" if named else f"{label}: {msg}")
    return out


def _names(msg: str, dotted: str) -> bool:
    """Whether ``msg`` names the key ``dotted`` as a whole word."""
    start = msg.find(dotted)
    while start >= 0:
        end = start + len(dotted)
        before = msg[start - 1] if start else " "
        after = msg[end] if end < len(msg) else " "
        if not (before.isalnum() or before in "_.") and not (after.isalnum() or after in "_"):
            return True
        start = msg.find(dotted, start + 1)
    return False


def scenario_from_dict(
    data: dict[str, Any],
    label: str = "<scenario>",
    path: str = "",
    *,
    flags: Mapping[str, str] | None = None,
) -> Scenario:
    """Validate a plain dict (as read from TOML) into a :class:`Scenario`.

    Parameters
    ----------
    data : dict
        The scenario's tables.
    label : str
        What the problem lines start with (the file).
    path : str
        The file the scenario came from (:func:`scenario_path`).
    flags : mapping, optional
        Dotted key -> the command-line flag that set it; problems about those keys name the
        flag instead of ``label`` (see :func:`label_problems`).

    Raises
    ------
    ScenarioError
        With one line per problem, each starting with ``label`` (or the flag).

    Examples
    --------
    >>> sc = scenario_from_dict({"scenario": {"name": "demo"}, "cohort": {"n": 60}})
    >>> sc.name, sc.cohort.n, sc.trial is None
    ('demo', 60, True)
    >>> scenario_from_dict({"scenario": {"name": "demo"}, "cohort": {"n": -5}})
    Traceback (most recent call last):
    ...
    rplsim.exceptions.ScenarioError: <scenario>: cohort.n == -5, must be in [1, 50000000].
    """
    errors: list[str] = []
    obj: Scenario = build(Scenario, data, "", errors)
    if errors:
        raise ScenarioError(label_problems(errors, label, flags))
    object.__setattr__(obj, "_path", path)
    return obj


def merge_scenario_data(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base`` table by table, except that a prior's distribution is replaced whole.

    Tables merge key by key (:func:`~rplsim._core.keys.deep_merge`), but a ``[prior]`` table
    that names one of its distribution keys (beta, counts, quantiles, lognormal, mixture) drops
    the others of ``base``: ``--set prior.control_lbr.beta=[10,10]`` over a file's
    ``counts = [17, 49]`` is a new prior, not a table with two; likewise an effect key
    (treatment_lbr, ivig_odds_ratio, ivig_relative_risk) drops the other two, and each of
    ``[prior.alternatives.<name>]`` is merged the same way. ``extends``, ``--set`` and a sweep's
    grid points all merge this way.

    Examples
    --------
    >>> merge_scenario_data({"prior": {"control_lbr": {"counts": [17, 49]}, "draws": 500}},
    ...                     {"prior": {"control_lbr": {"beta": [10, 10]}}})
    {'prior': {'control_lbr': {'beta': [10, 10]}, 'draws': 500}}
    """
    out = deep_merge(base, top)
    over, merged = top.get("prior"), out.get("prior")
    if not (isinstance(over, dict) and isinstance(merged, dict)):
        return out
    prior = _replace_priors(merged, over)
    alts_over, alts = over.get("alternatives"), prior.get("alternatives")
    if isinstance(alts_over, dict) and isinstance(alts, dict):
        prior["alternatives"] = {
            name: _replace_priors(table, alts_over[name])
            if isinstance(table, dict) and isinstance(alts_over.get(name), dict)
            else table
            for name, table in alts.items()
        }
    return {**out, "prior": prior}


_EFFECT_KEYS = ("treatment_lbr", "ivig_odds_ratio", "ivig_relative_risk")


def _replace_priors(merged: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """One prior table (``[prior]`` or an alternative) after ``over``: a distribution key given
    drops the table's other distribution keys, and an effect key given drops the other two."""
    prior = dict(merged)
    for key, table in over.items():
        if (
            isinstance(table, dict)
            and isinstance(prior.get(key), dict)
            and any(f in table for f in PRIOR_FORMS)
        ):
            prior[key] = {k: v for k, v in prior[key].items() if k not in PRIOR_FORMS or k in table}
    given = [k for k in _EFFECT_KEYS if k in over]
    if given:
        prior = {k: v for k, v in prior.items() if k not in _EFFECT_KEYS or k in given}
    return prior


#: A rate key -> the key that says where its value comes from (the report's source column).
_RATE_SOURCES = {
    "control_lbr": "control_lbr_source",
    "treatment_lbr": "treatment_lbr_source",
    "ivig_odds_ratio": "treatment_lbr_source",
}


def _sources_follow(over: dict[str, Any]) -> dict[str, Any]:
    """``over`` with the source of each overridden rate replaced, unless it is overridden too.

    A file's ``treatment_lbr_source`` ("Table 3: 159 of 197") must not stay beside a rate set
    on the command line (``--set trial.treatment_lbr=0.9``): the report would cite the paper
    for a number it does not give.
    """
    trial = over.get("trial")
    if not isinstance(trial, dict):
        return over
    added = {
        source: f"an override (trial.{key} = {trial[key]!r}), not the scenario file"
        for key, source in _RATE_SOURCES.items()
        if key in trial and source not in trial
    }
    return {**over, "trial": {**trial, **added}} if added else over


def load_scenario(
    path: str | Path,
    overrides: Sequence[str] | dict[str, Any] | None = None,
    *,
    flags: Mapping[str, str] | None = None,
) -> Scenario:
    """Read, resolve and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        A ``.toml`` scenario file.
    overrides : list of "section.key=value" strings, or a nested dict, optional
        Applied after ``extends`` and before validation (``rplsim run --set``).
    flags : mapping of str to str, optional
        Dotted key -> the command-line flag to name in its problems, for overrides that did
        not come from ``--set`` (``{"scenario.seed": "--seed 5"}`` when ``--seed 5`` is passed
        as the override ``scenario.seed=5``). Each string override is named ``--set ITEM``
        unless ``flags`` names its key.

    Returns
    -------
    Scenario
        Frozen; every value checked.

    Raises
    ------
    ScenarioError
        Every problem of the file, one line each: ``file: key == value, rule.``, or
        ``--set key=value: key == value, rule.`` when the value came from the command line.

    Examples
    --------
    >>> sc = load_scenario("scenarios/paper.toml", ["trial.control_lbr=0.55"])
    >>> sc.cohort.n, sc.trial.control_lbr
    (466, 0.55)
    """
    label = _label(path)
    data = resolve_scenario(path)
    names: dict[str, str] = {}
    if overrides:
        if isinstance(overrides, dict):
            over = overrides
        else:
            items = list(overrides)
            over = parse_overrides(items)
            names = override_flags(items)
        _check_depth(over, "the command-line overrides")
        data = merge_scenario_data(data, _sources_follow(over))
    names.update(flags or {})
    return scenario_from_dict(data, label, str(path), flags=names)


def scenario_path(scenario: Scenario) -> str:
    """The file a scenario was loaded from ("" if built in code)."""
    return getattr(scenario, "_path", "")
