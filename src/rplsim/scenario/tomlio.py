"""Write scenarios back to TOML: the inverse of :func:`tomllib.loads` for plain dicts.

The standard library reads TOML but does not write it, and the one dependency-free job here
(plain dicts of str/int/float/bool, lists and tables, as :meth:`Scenario.to_dict` returns) is
small enough that a writer of ~100 lines beats a new dependency. Floats are written with
``repr``, so every finite float, ``inf`` and ``nan`` reads back bit for bit.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rplsim.scenario.model import Scenario

__all__ = [
    "ECHO_LIMIT",
    "dumps_toml",
    "echo_key",
    "echo_text",
    "echo_value",
    "format_value",
    "write_scenario",
]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
# Leaf tables of at most this many scalars are written inline: { mean = 1.0, sd = 2.0, ... }.
_INLINE_MAX = 4

ECHO_LIMIT = 60
"""Characters of a value (or key) a problem line echoes before cutting it with "…"."""


def _escaped(s: str, *, strict: bool = True, quotes: bool = True) -> str:
    """``s`` with TOML's basic-string escapes (no quotes); control characters never kept raw.

    With ``strict=False`` (for echoing, never for writing) a lone surrogate is shown as
    ``\\uD800`` instead of raising, and other characters a terminal might act on (C1 controls,
    the line and paragraph separators, bidirectional overrides) are escaped as well. With
    ``quotes=False`` quotes and backslashes are kept as they are (free text, not a string).
    """
    out = []
    for ch in s:
        code = ord(ch)
        if not quotes and ch in '"\\':
            out.append(ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        elif 0xD800 <= code <= 0xDFFF:
            if strict:
                raise ValueError(f"string {s!r} holds a lone surrogate, which TOML cannot encode.")
            out.append(f"\\u{code:04X}")
        elif not strict and (0x80 <= code <= 0x9F or code in _UNSAFE):
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    return "".join(out)


# Line/paragraph separators and the bidirectional embeddings, overrides and isolates.
_UNSAFE = frozenset({0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)})


def _string(s: str) -> str:
    return '"' + _escaped(s) + '"'


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
    r"""A scenario value as it would be written in TOML (floats to 6 significant digits).

    Strings are TOML basic strings with every control character escaped (``"a\\nb"``), so
    the result is always one line; keys that are not bare are quoted; dates and times are
    written in TOML's (ISO 8601) form, ``1979-05-27``.

    Examples
    --------
    >>> format_value({"rule": "a\nb", "NK+NKa": 0.9, "on": [True, 1.0 / 3]})
    '{ rule = "a\\nb", "NK+NKa" = 0.9, on = [true, 0.333333] }'
    >>> import datetime
    >>> format_value(datetime.date(1979, 5, 27))
    '1979-05-27'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + _escaped(value, strict=False) + '"'
    if isinstance(value, float):
        return format(value, ".6g")
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return (
            "{ "
            + ", ".join(f"{echo_key(k, limit=None)} = {format_value(v)}" for k, v in value.items())
            + " }"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return _escaped(str(value), strict=False)


def _cut(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[:limit] + "…"


def echo_value(value: Any, limit: int | None = ECHO_LIMIT) -> str:
    """A value as a problem line echoes it: :func:`format_value`, cut after ``limit`` characters.

    Floats keep every digit (``repr``), so ``0.1 + 0.2`` is not shown as ``0.3``.

    Examples
    --------
    >>> echo_value("x" * 100)[-3:], len(echo_value("x" * 100))
    ('xx…', 61)
    >>> echo_value(0.30000000000000004)
    '0.30000000000000004'
    """
    if isinstance(value, float):
        text = "nan" if math.isnan(value) else repr(value)
    elif isinstance(value, str) and limit is not None and len(value) > 4 * limit:
        text = format_value(value[: 2 * limit])  # a long string is not escaped in full to be cut
    else:
        text = format_value(value)
    return _cut(text, limit)


def echo_key(key: Any, limit: int | None = ECHO_LIMIT) -> str:
    r"""One key as TOML writes it: bare if it can be, else a quoted, escaped string.

    Examples
    --------
    >>> echo_key("control_lbr"), echo_key("a b\nc"), echo_key("trial.alpha")
    ('control_lbr', '"a b\\nc"', '"trial.alpha"')
    """
    k = str(key)
    if _BARE_KEY.fullmatch(k):
        return _cut(k, limit)
    if limit is not None and len(k) > 4 * limit:
        k = k[: 2 * limit]
    return _cut('"' + _escaped(k, strict=False) + '"', limit)


def echo_text(text: str, limit: int | None = ECHO_LIMIT) -> str:
    r"""Free text (a command-line argument, a file name) escaped to one line and cut, unquoted.

    Only what could break the line (control characters, separators) is escaped; quotes and
    backslashes are kept as typed.

    Examples
    --------
    >>> echo_text("trial.alpha=0.1\nx")
    'trial.alpha=0.1\\nx'
    """
    if limit is not None and len(text) > 4 * limit:
        text = text[: 2 * limit]
    return _cut(_escaped(text, strict=False, quotes=False), limit)
