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


@pytest.mark.parametrize(
    "bad", ["", ".", "..", "../../x", "/abs", "a/b", "x" * 65, "a\x00b", "line\nbreak", "-lead", " sp"]
)
def test_scenario_name_must_be_one_safe_path_component(bad):
    """Issue 20: the name is the default results folder, so it is one slug, or exit 2 naming the key."""
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict({"scenario": {"name": bad}}, "s.toml")
    (line,) = [p for p in err.value.problems if "scenario.name" in p]
    assert line.startswith("s.toml: scenario.name == ") and "\n" not in line


@pytest.mark.parametrize("good", ["paper", "trial_superiority", "yamada_4plus", "a.b-c", "X" * 64])
def test_scenario_names_of_letters_digits_dot_dash_underscore_are_accepted(good):
    assert scenario_from_dict({"scenario": {"name": good}}, "s.toml").name == good
