"""Declarative scenario schema: one description of every key serves validation, docs and tests.

Each scenario section is a frozen dataclass whose fields carry their rule in
``dataclasses.field(metadata=...)`` built by :func:`param`: bounds, choices, unit, default and
the source of the default (a paper table or ``ASSUMPTION``). :func:`build` turns a TOML table
into the dataclass and collects *every* problem as one line naming the key, the value and the
rule; :func:`to_dict` goes back; :func:`iter_params` walks the schema for the documentation
and for the hypothesis strategies.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import MISSING, dataclass
from typing import Any, Union, get_args, get_origin

from rplsim._core.keys import deep_merge
from rplsim.scenario.tomlio import echo_key, echo_value

__all__ = ["REQUIRED", "ParamInfo", "build", "deep_merge", "iter_params", "param", "to_dict"]

REQUIRED: Any = MISSING


def param(
    default: Any = MISSING,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    choices: Sequence[str] | None = None,
    unit: str = "",
    doc: str = "",
    source: str = "",
    min_len: int = 0,
) -> Any:
    """A dataclass field with its validation rule and documentation.

    Parameters
    ----------
    default : object, optional
        Value used when the key is absent; absent means the key is required. Mutable defaults
        (dataclass instances) are copied through ``default_factory``.
    lo, hi : float, optional
        Bounds on numbers (closed unless ``lo_open`` / ``hi_open``).
    choices : sequence of str, optional
        Allowed strings (a registry's live view of names keeps up with later entries).
    unit, doc, source : str
        Documentation: the unit, what the key means, and where the default comes from.
    min_len : int
        Smallest length of a list value.
    """
    meta = {
        "lo": lo,
        "hi": hi,
        "lo_open": lo_open,
        "hi_open": hi_open,
        "choices": choices,
        "unit": unit,
        "doc": doc,
        "source": source,
        "min_len": min_len,
    }
    if default is MISSING:
        return dataclasses.field(metadata=meta)
    if dataclasses.is_dataclass(default) or isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: _copy(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value  # frozen dataclasses are immutable: sharing is safe


@dataclass(frozen=True)
class ParamInfo:
    """One key of the schema, as documentation and test generators see it."""

    path: str
    type: str
    default: Any
    required: bool
    lo: float | None
    hi: float | None
    lo_open: bool
    hi_open: bool
    choices: Sequence[str] | None
    unit: str
    doc: str
    source: str

    @property
    def range_text(self) -> str:
        """The allowed values in interval notation, e.g. ``(0, 0.5]``."""
        if self.choices:
            return " | ".join(f'"{c}"' for c in self.choices)
        if self.lo is None and self.hi is None:
            return ""
        left = "(" if self.lo_open or self.lo is None else "["
        right = ")" if self.hi_open or self.hi is None else "]"
        lo = "-inf" if self.lo is None else _num(self.lo)
        hi = "inf" if self.hi is None else _num(self.hi)
        return f"{left}{lo}, {hi}{right}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@functools.cache  # get_type_hints evaluates every annotation anew: most of a point's planning
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _type_name(tp: Any) -> str:
    inner, optional = _unwrap_optional(tp)
    if dataclasses.is_dataclass(inner):
        name = "table"
    elif get_origin(inner) is list and dataclasses.is_dataclass(get_args(inner)[0]):
        name = "list of tables"
    elif get_origin(inner) is list:
        name = f"list of {_type_name(get_args(inner)[0])}"
    elif get_origin(inner) is dict:
        name = f"table of {_type_name(get_args(inner)[1])}"
    else:
        name = {int: "integer", float: "number", str: "string", bool: "boolean"}.get(inner, str(inner))
    return f"{name} or absent" if optional else name


def _fmt(value: Any) -> str:
    """A value as a problem echoes it: TOML form, one line, cut (tables are named, not shown)."""
    if isinstance(value, dict):
        return "a table"
    return echo_value(value)


def _check_scalar(tp: Any, value: Any, meta: dict[str, Any], path: str, errors: list[str]) -> Any:
    """Check one scalar; append a message and return MISSING when it is wrong."""
    if tp is bool:
        if not isinstance(value, bool):
            errors.append(f"{path} == {_fmt(value)}, must be true or false.")
            return MISSING
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                errors.append(f"{path} == {_fmt(value)}, must be an integer.")
                return MISSING
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path} == {_fmt(value)}, must be a number.")
            return MISSING
        value = float(value)
        if not math.isfinite(value):
            errors.append(f"{path} == {_fmt(value)}, must be a finite number.")
            return MISSING
    elif tp is str:
        if not isinstance(value, str):
            errors.append(f"{path} == {_fmt(value)}, must be a string.")
            return MISSING
        choices = meta.get("choices")
        if choices and value not in choices:
            hint = difflib.get_close_matches(value, choices, n=1)
            extra = f' (did you mean "{hint[0]}"?)' if hint else ""
            allowed = ", ".join(f'"{c}"' for c in choices)
            errors.append(f"{path} == {_fmt(value)}, must be one of {allowed}{extra}.")
            return MISSING
        return value
    lo, hi = meta.get("lo"), meta.get("hi")
    lo_open, hi_open = meta.get("lo_open"), meta.get("hi_open")
    bad = (lo is not None and (value < lo or (lo_open and value == lo))) or (
        hi is not None and (value > hi or (hi_open and value == hi))
    )
    if bad:
        if lo is not None and hi is not None:
            left, right = "(" if lo_open else "[", ")" if hi_open else "]"
            rule = f"must be in {left}{_num(lo)}, {_num(hi)}{right}"
        elif lo is not None:
            rule = f"must be {'>' if lo_open else '>='} {_num(lo)}"
        else:
            rule = f"must be {'<' if hi_open else '<='} {_num(hi)}"  # type: ignore[arg-type]
        errors.append(f"{path} == {_fmt(value)}, {rule}.")
        return MISSING
    return value


def _build_value(tp: Any, value: Any, meta: dict[str, Any], path: str, errors: list[str]) -> Any:
    inner, _ = _unwrap_optional(tp)
    if dataclasses.is_dataclass(inner):
        if not isinstance(value, dict):
            errors.append(f"{path} == {_fmt(value)}, must be a table ([{path}]).")
            return MISSING
        return build(inner, value, path, errors)  # type: ignore[arg-type]
    origin = get_origin(inner)
    if origin is list:
        if not isinstance(value, list):
            errors.append(f"{path} == {_fmt(value)}, must be a list ([a, b, ...]).")
            return MISSING
        if len(value) < meta.get("min_len", 0):
            errors.append(f"{path} has {len(value)} items, must have at least {meta['min_len']}.")
            return MISSING
        (item_tp,) = get_args(inner)
        if dataclasses.is_dataclass(item_tp):  # an array of tables: each built in its own right
            out = []
            for i, v in enumerate(value):
                if isinstance(v, dict):
                    out.append(build(item_tp, v, f"{path}[{i}]", errors))  # type: ignore[arg-type]
                else:
                    errors.append(f"{path}[{i}] == {_fmt(v)}, must be a table ({{ key = value, ... }}).")
                    out.append(MISSING)
            return MISSING if any(v is MISSING for v in out) else out
        out = [_check_scalar(item_tp, v, meta, f"{path}[{i}]", errors) for i, v in enumerate(value)]
        return MISSING if any(v is MISSING for v in out) else out
    if origin is dict:
        if not isinstance(value, dict):
            errors.append(f"{path} == {_fmt(value)}, must be a table.")
            return MISSING
        _, val_tp = get_args(inner)
        out_d = {k: _build_value(val_tp, v, meta, f"{path}.{echo_key(k)}", errors) for k, v in value.items()}
        return MISSING if any(v is MISSING for v in out_d.values()) else out_d
    if isinstance(value, (dict, list)):
        errors.append(
            f"{path} is a {'table' if isinstance(value, dict) else 'list'}, must be a {_type_name(inner)}."
        )
        return MISSING
    return _check_scalar(inner, value, meta, path, errors)


def build(cls: type, data: dict[str, Any], path: str, errors: list[str]) -> Any:
    """Build dataclass ``cls`` from a TOML table, appending every problem to ``errors``.

    Unknown keys are errors with a "did you mean" suggestion. After the fields are checked, a
    ``_rules(self) -> list[str]`` method on the class, if any, adds the cross-field problems
    (each message relative to ``path``).

    Returns
    -------
    object
        The instance, or ``MISSING`` when any problem was found at or below this table.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = _hints(cls)
    n_before = len(errors)
    prefix = f"{path}." if path else ""
    for key in data:
        if key not in fields:
            hint = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            extra = f' (did you mean "{hint[0]}"?)' if hint else ""
            allowed = ", ".join(fields)
            errors.append(f"{prefix}{echo_key(key)} is not a known key{extra}; allowed here: {allowed}.")
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name in data:
            value = data[name]
            default = _default_of(f)
            if isinstance(value, dict) and dataclasses.is_dataclass(default):
                # A partial table changes only the keys it names; the rest keep the default.
                value = deep_merge(to_dict(default), value)
            kwargs[name] = _build_value(hints[name], value, dict(f.metadata), prefix + name, errors)
        elif f.default is MISSING and f.default_factory is MISSING:
            errors.append(
                f"{prefix}{name} is missing, and is required ({_type_name(hints[name])}"
                f"{': ' + f.metadata['doc'] if f.metadata.get('doc') else ''})."
            )
    if len(errors) > n_before:
        return MISSING
    obj = cls(**kwargs)
    rules = getattr(obj, "_rules", None)
    if rules is not None:
        errors.extend(f"{prefix}{msg}" for msg in rules())
        if len(errors) > n_before:
            return MISSING
    return obj


def _default_of(f: dataclasses.Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None


def to_dict(obj: Any) -> Any:
    """The TOML-ready dict of a schema dataclass (``None`` fields left out)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        hints = _hints(type(obj))
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            # Defaults built in code may hold ints in float fields (nk=33) where a file gives
            # 33.0: write one form, so equal scenarios have equal digests.
            inner = _unwrap_optional(hints[f.name])[0]
            if inner is float:
                v = _as_float(v)
            elif get_origin(inner) is list and get_args(inner)[0] is float and isinstance(v, list):
                v = [_as_float(x) for x in v]
            if v is not None:
                out[f.name] = to_dict(v)
        return out
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


def _as_float(v: Any) -> Any:
    return float(v) if isinstance(v, int) and not isinstance(v, bool) else v


def iter_params(cls: type, path: str = "") -> Iterator[ParamInfo]:
    """Walk every key of the schema below ``cls`` (depth first, in declaration order).

    The keys of each table of an array of tables (``list[SomeDataclass]``) are walked below
    ``path[]``: ``prior.control_lbr.mixture[].weight``.
    """
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        tp = hints[f.name]
        inner, _ = _unwrap_optional(tp)
        p = f"{path}.{f.name}" if path else f.name
        if f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        else:
            default = MISSING
        m = f.metadata
        yield ParamInfo(
            path=p,
            type=_type_name(tp),
            default=default,
            required=default is MISSING,
            lo=m.get("lo"),
            hi=m.get("hi"),
            lo_open=bool(m.get("lo_open")),
            hi_open=bool(m.get("hi_open")),
            choices=m.get("choices"),
            unit=m.get("unit", ""),
            doc=m.get("doc", ""),
            source=m.get("source", ""),
        )
        if dataclasses.is_dataclass(inner):
            yield from iter_params(inner, p)  # type: ignore[arg-type]
        elif get_origin(inner) is list and dataclasses.is_dataclass(get_args(inner)[0]):
            yield from iter_params(get_args(inner)[0], f"{p}[]")
