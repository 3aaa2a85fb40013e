"""The TOML writer: whatever it writes, tomllib reads back equal."""

from __future__ import annotations

import datetime
import math
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rplsim import load_scenario, scenario_from_dict
from rplsim.scenario.tomlio import dumps_toml, echo_key, echo_text, echo_value, format_value, write_scenario

KEYS = st.text(min_size=0, max_size=8)
SCALARS = st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=20)
VALUES = SCALARS | st.lists(SCALARS, max_size=4)
TABLES = st.recursive(
    st.dictionaries(KEYS, VALUES, max_size=5),
    lambda inner: st.dictionaries(KEYS, VALUES | inner, max_size=5),
    max_leaves=20,
)


def test_paper_round_trips(paper):
    d = paper.to_dict()
    assert tomllib.loads(dumps_toml(d)) == d


@given(TABLES)
def test_nested_dicts_round_trip(d):
    assert tomllib.loads(dumps_toml(d)) == d


@pytest.mark.parametrize(
    "s", ['q"uote', "back\\slash", "new\nline\r\t", "\x00\x1f\x7f", "é中😀", "'''", '"""']
)
def test_strings_escaped(s):
    assert tomllib.loads(dumps_toml({"s": s, s: 1})) == {"s": s, s: 1}


@pytest.mark.parametrize("key", ["NK+NKa", "a.b", "", " ", "KN", "x-y_1"])
def test_keys_quoted_when_not_bare(key):
    text = dumps_toml({"t": {key: 1.5}})
    assert tomllib.loads(text) == {"t": {key: 1.5}}
    assert (f"\n{key} = 1.5" in text) == (key in ("KN", "x-y_1"))


def test_floats_exact_and_special():
    xs = [0.1, 1e-300, 5e-324, 1e16, -0.0, 123456789.123456789, math.inf, -math.inf]
    back = tomllib.loads(dumps_toml({"x": xs}))["x"]
    assert [repr(a) for a in back] == [repr(a) for a in xs]
    assert math.isnan(tomllib.loads(dumps_toml({"x": math.nan}))["x"])


def test_leaf_tables_inline_sections_headed():
    text = dumps_toml({"cohort": {"age": {"KN": {"mean": 1.0, "sd": 2.0, "min": 0, "max": 3}}}})
    assert "[cohort.age]\nKN = { mean = 1.0, sd = 2.0, min = 0, max = 3 }" in text


@pytest.mark.parametrize("bad", [{"x": None}, {"x": object()}, {1: 2}, {"x": "\ud800"}])
def test_unwritable_values_raise(bad):
    with pytest.raises((TypeError, ValueError)):
        dumps_toml(bad)


def test_write_scenario_loads_equal(tmp_path, paper):
    for sc in (paper, scenario_from_dict({"scenario": {"name": "defaults"}})):
        path = write_scenario(sc, tmp_path / f"{sc.name}.toml")
        again = load_scenario(path)
        assert again == sc
        assert again.digest() == sc.digest()


# ----------------------------------------------------------------------------- echoing (issue 20)
def test_format_value_is_toml_on_one_line():
    assert format_value("a\nb") == '"a\\nb"'
    assert format_value(datetime.date(1979, 5, 27)) == "1979-05-27"
    assert format_value(datetime.datetime(1979, 5, 27, 7, 32)) == "1979-05-27T07:32:00"
    assert format_value({"NK+NKa": 0.9, "a\tb": "\x1b[31m"}) == '{ "NK+NKa" = 0.9, "a\\tb" = "\\u001B[31m" }'
    assert format_value("\u2028\ud800") == '"\\u2028\\uD800"'  # never a raw separator or surrogate


def test_echo_cuts_long_values_and_keys():
    assert echo_value("x" * 100_000) == '"' + "x" * 59 + "…"
    assert echo_value(0.1 + 0.2) == "0.30000000000000004"
    assert echo_key("k" * 100) == "k" * 60 + "…"
    assert echo_key("a.b") == '"a.b"' and echo_key("ab") == "ab"
    assert echo_text("x=1\ny") == "x=1\\ny"
