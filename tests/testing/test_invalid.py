"""invalid_scenarios: every drawn file is rejected, naming the key it broke."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from rplsim import ScenarioError, load_scenario
from rplsim.testing import invalid as rs

from .conftest import _write


@settings(max_examples=120)
@given(rs.invalid_scenarios())
def test_invalid_scenarios_rejected_naming_key(case):
    text, rule, key = case
    path = _write(text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert key in msg, (rule, key, msg)
    assert all("\n" not in line and "\r" not in line for line in exc.value.problems), msg
    if rule == "syntax-error":
        assert "TOML syntax error" in msg
    else:
        assert len(exc.value.problems) == 1, (rule, msg)  # exactly one rule broken
