"""Write scenarios back to TOML: the inverse of :func:`tomllib.loads` for plain dicts.

The standard library reads TOML but does not write it, and the one dependency-free job here
(plain dicts of str/int/float/bool, lists and tables, as :meth:`Scenario.to_dict` returns) is
small enough that a writer of ~100 lines beats a new dependency. Floats are written with
``repr``, so every finite float, ``inf`` and ``nan`` reads back bit for bit.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rplsim.scenario.model import Scenario

__all__ = ["dumps_toml", "format_value", "write_scenario"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
# Leaf tables of at most this many scalars are written inline: { mean = 1.0, sd = 2.0, ... }.
_INLINE_MAX = 4


def _string(s: str) -> str:
    out = []
    for ch in s:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        elif 0xD800 <= code <= 0xDFFF:
            raise ValueError(f"string {s!r} holds a lone surrogate, which TOML cannot encode.")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(k: Any) -> str:
    if not isinstance(k, str):
        raise TypeError(f"key {k!r} is a {type(k).__name__}, must be a string.")
    return k if _BARE_KEY.fullmatch(k) else _string(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        x = float(v)
        if math.isnan(x):
            return "nan"  # TOML has no signed nan worth keeping; repr would give "nan" anyway
        return repr(x)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    if v is None:
        raise TypeError("None has no TOML form: leave the key out instead.")
    raise TypeError(f"{v!r} is a {type(v).__name__}, which this TOML writer does not handle.")


def _is_scalar(v: Any) -> bool:
    return not isinstance(v, (Mapping, list, tuple))


def _inline(v: Any) -> bool:
    """True when a table value is written inline rather than under its own [header]."""
    return isinstance(v, Mapping) and len(v) <= _INLINE_MAX and all(_is_scalar(x) for x in v.values())


def _table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    # Sections of the document ([cohort], [trial]) always get a header, however small.
    def inline(v: Any) -> bool:
        return not isinstance(v, Mapping) or (bool(path) and _inline(v))

    direct = [(k, v) for k, v in table.items() if inline(v)]
    subs = [(k, v) for k, v in table.items() if not inline(v)]
    if path and (direct or not subs):
        if lines:
            lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    for k, v in direct:
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in subs:
        _table(lines, (*path, k), v)


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Write a plain nested dict as TOML text that :func:`tomllib.loads` reads back equal.

    Parameters
    ----------
    data : mapping
        String keys; values are ``bool``, ``int``, ``float`` (including ``inf`` and ``nan``),
        ``str``, lists of these or of tables, and nested mappings (tables). ``None`` is not
        allowed: TOML has no null, so leave such keys out (as :meth:`Scenario.to_dict` does).

    Returns
    -------
    str
        TOML text: scalars of the root first, then one ``[section]`` per table; leaf tables of
        at most four scalars are written inline, ``{ mean = 1.0, sd = 2.0, min = 0, max = 3 }``.
        Keys that are not bare (e.g. ``"NK+NKa"``) are quoted; strings are escaped.

    Raises
    ------
    TypeError
        For a value or key of a type TOML (or this writer) cannot hold, e.g. ``None``.
    ValueError
        For a string with a lone surrogate code point.

    Examples
    --------
    >>> print(dumps_toml({"scenario": {"name": "x"}, "cohort": {"n": 10, "age": {"mean": 1.5}}}))
    [scenario]
    name = "x"
    <BLANKLINE>
    [cohort]
    n = 10
    age = { mean = 1.5 }
    <BLANKLINE>
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"data is a {type(data).__name__}, must be a dict (a TOML document).")
    lines: list[str] = []
    _table(lines, (), data)
    return "\n".join(lines) + "\n"


def write_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write a scenario's resolved values (no ``extends``) to a TOML file.

    ``load_scenario(write_scenario(sc, p)) == sc`` for every valid scenario ``sc``.

    Parameters
    ----------
    scenario : Scenario
        The scenario to write.
    path : str or Path
        The file to (over)write.

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> sc = load_scenario("scenarios/paper.toml")  # doctest: +SKIP
    >>> load_scenario(write_scenario(sc, "/tmp/copy.toml")) == sc  # doctest: +SKIP
    True
    """
    p = Path(path)
    header = f"# Scenario {scenario.name!r}, every value resolved (written by rplsim.tomlio).\n"
    p.write_text(header + dumps_toml(scenario.to_dict()), encoding="utf-8")
    return p


def format_value(value: Any) -> str:
    """A scenario value as it would be written in TOML (floats to 6 significant digits)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {format_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)
