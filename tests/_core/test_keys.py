"""Dotted keys into nested dicts: get, set, nest, flatten, deep_merge."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rplsim._core import keys
from rplsim._core.keys import deep_merge, flatten, get_dotted, has_dotted, nest, set_dotted

PARTS = st.text(alphabet="abcxyz_", min_size=1, max_size=4)
LEAVES = st.integers() | st.text(max_size=3)
TABLES = st.recursive(
    st.dictionaries(PARTS, LEAVES, min_size=1, max_size=4),
    lambda t: st.dictionaries(PARTS, t, min_size=1, max_size=4),
    max_leaves=12,
)


def test_doctests():
    assert doctest.testmod(keys).failed == 0


@given(TABLES)
def test_flatten_then_nest_round_trips(d):
    flat = dict(flatten(d))
    assert all(get_dotted(d, k) == v for k, v in flat.items())
    assert nest(flat) == {k: v for k, v in d.items() if not (isinstance(v, dict) and not v)}


def test_missing_keys():
    d = {"a": {"b": 1}}
    with pytest.raises(KeyError):
        get_dotted(d, "a.c")
    assert get_dotted(d, "a.b.c", "no") == "no"  # a value on the way is not a table
    assert has_dotted(d, "a.b") and not has_dotted(d, "a.b.c")


def test_set_dotted_refuses_a_value_as_a_table():
    with pytest.raises(ValueError, match="set twice"):
        set_dotted({"a": 1}, "a.b", 2)


def test_deep_merge_leaves_its_inputs_alone():
    base, top = {"a": {"b": 1, "c": 2}}, {"a": {"c": 3}, "d": 4}
    assert deep_merge(base, top) == {"a": {"b": 1, "c": 3}, "d": 4}
    assert base == {"a": {"b": 1, "c": 2}} and top == {"a": {"c": 3}, "d": 4}
