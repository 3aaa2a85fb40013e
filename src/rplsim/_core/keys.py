"""Dotted keys (``"trial.control_lbr"``) into nested dicts: the one implementation every stage uses."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["deep_merge", "flatten", "get_dotted", "has_dotted", "nest", "set_dotted", "split_key"]

_MISSING = object()


def split_key(dotted: str) -> list[str]:
    """The parts of a dotted key.

    Examples
    --------
    >>> split_key("cohort.age.KN")
    ['cohort', 'age', 'KN']
    """
    return dotted.split(".")


def get_dotted(data: Mapping[str, Any], dotted: str, default: Any = _MISSING) -> Any:
    """The value at ``dotted`` in nested mappings.

    Parameters
    ----------
    data : mapping
        Nested tables, as read from TOML.
    dotted : str
        ``section.key[.subkey...]``.
    default : optional
        Returned when a part is missing (or a value on the way is not a table); without it,
        a missing key raises ``KeyError``.

    Examples
    --------
    >>> get_dotted({"trial": {"alpha": 0.05}}, "trial.alpha")
    0.05
    >>> get_dotted({"trial": {"alpha": 0.05}}, "trial.power", None) is None
    True
    """
    node: Any = data
    for part in split_key(dotted):
        if not isinstance(node, Mapping) or part not in node:
            if default is _MISSING:
                raise KeyError(dotted)
            return default
        node = node[part]
    return node


def has_dotted(data: Mapping[str, Any], dotted: str) -> bool:
    """Whether ``dotted`` names a value in ``data``.

    Examples
    --------
    >>> has_dotted({"a": {"b": None}}, "a.b"), has_dotted({"a": 1}, "a.b")
    (True, False)
    """
    absent = object()
    return get_dotted(data, dotted, absent) is not absent


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Set ``dotted`` to ``value`` in place, creating the tables on the way; returns ``data``.

    Raises
    ------
    ValueError
        If a part on the way already holds a value that is not a table.

    Examples
    --------
    >>> set_dotted({}, "cohort.age.KN", 1)
    {'cohort': {'age': {'KN': 1}}}
    """
    node = data
    *parents, last = split_key(dotted)
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"{part} is set twice, as a value and a table.")
    node[last] = value
    return data


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a.b": 1, "a.c": 2}`` -> ``{"a": {"b": 1, "c": 2}}``.

    Examples
    --------
    >>> nest({"trial.alpha": 0.05, "trial.power": 0.9})
    {'trial': {'alpha': 0.05, 'power': 0.9}}
    """
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        set_dotted(out, dotted, value)
    return out


def flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of nested tables as ``(dotted key, value)``, depth first, in table order.

    Examples
    --------
    >>> list(flatten({"a": {"b": 1}, "c": 2}))
    [('a.b', 1), ('c', 2)]
    """
    for k, v in data.items():
        path = f"{prefix}{k}"
        if isinstance(v, Mapping):
            yield from flatten(v, f"{path}.")
        else:
            yield path, v


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, table by table (neither is modified).

    Examples
    --------
    >>> deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}})
    {'a': {'b': 1, 'c': 3}}
    """
    out = dict(base)
    for k, v in top.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
