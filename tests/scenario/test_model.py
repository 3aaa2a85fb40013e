"""The Scenario model: frozen, round-trips through its dict, digests, require_trial."""

from __future__ import annotations

import pytest

from rplsim import ScenarioError
from rplsim.scenario.load import scenario_from_dict
from rplsim.scenario.model import NO_TRIAL


def test_scenario_is_frozen(paper):
    with pytest.raises(AttributeError):
        paper.cohort.n = 5  # type: ignore[misc]


def test_round_trip_dict_and_digest(paper):
    again = scenario_from_dict(paper.to_dict())
    assert again == paper
    assert again.digest() == paper.digest()
    other = scenario_from_dict({**paper.to_dict(), "scenario": {"name": "other"}})
    assert other.digest() != paper.digest()


def test_require_trial_names_the_scenario(paper):
    bare = scenario_from_dict({"scenario": {"name": "bare"}})
    with pytest.raises(ScenarioError, match=r"^bare: has no \[trial\] section") as exc:
        bare.require_trial()
    assert exc.value.problems == [f"bare: {NO_TRIAL}"]
    assert paper.require_trial() is paper.trial
