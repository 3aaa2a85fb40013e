"""Tests of rplsim.stats.registry: adding an analysis is one function and one entry."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from rplsim import load_scenario
from rplsim.exceptions import InvalidArgumentError, ScenarioError
from rplsim.stats.registry import (
    ANALYSES,
    ANALYSIS_NAMES,
    LookData,
    count_sign,
    get_analysis,
    register_analysis,
    unregister_analysis,
)
from rplsim.trial.power import default_path, simulate_power
from tests.conftest import SCENARIOS


# Edit 1 of 2: the analysis itself.
def _treatment_count_larger(data: LookData) -> tuple[np.ndarray, np.ndarray]:
    """Reject (p = 0) whenever the treated arm has more live births than control."""
    return np.where(data.x_t > data.x_c, 0.0, 1.0), count_sign(data)


@pytest.fixture
def toy() -> Iterator[str]:
    # Edit 2 of 2: its registry entry. Nothing else in the package changes.
    register_analysis("toy-count", _treatment_count_larger, path="counts", description="toy")
    try:
        yield "toy-count"
    finally:
        unregister_analysis("toy-count")


def test_builtin_analyses_and_paths() -> None:
    assert tuple(ANALYSIS_NAMES) == ("chi2", "fisher", "logistic", "cmh", "boschloo")
    assert {a.name: a.path for a in ANALYSES.values()} == {
        "chi2": "counts",
        "fisher": "counts",
        "logistic": "patients",
        "cmh": "counts",
        "boschloo": "counts",
    }
    assert [a.name for a in ANALYSES.values() if a.conservative] == ["fisher", "boschloo"]


def test_unknown_analysis_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgumentError, match=r"analysis == 'chi', must be one of \('chi2', "):
        get_analysis("chi")
    with pytest.raises(ScenarioError, match=r'trial\.analysis == "chi", must be one of "chi2"'):
        load_scenario(SCENARIOS / "trial_superiority.toml", {"trial": {"analysis": "chi"}})


def test_registering_twice_needs_replace(toy: str) -> None:
    with pytest.raises(InvalidArgumentError, match="already registered"):
        register_analysis(toy, _treatment_count_larger)


def test_registered_toy_analysis_runs_through_simulate_power(toy: str) -> None:
    sc = load_scenario(SCENARIOS / "trial_superiority.toml", {"trial": {"analysis": toy}})
    assert sc.trial is not None and sc.trial.analysis == toy  # the scenario schema accepts it
    assert default_path(sc.trial) == "counts"
    res = simulate_power(sc, n_per_arm=100, replicates=2048, seed=3)
    assert res.analysis == toy and res.path == "counts"
    # Rates 0.807 vs 0.65 with ~90 analysed women per arm: more treated live births in
    # nearly every trial (normal approximation: P > 0.99); under the null about half the
    # trials (no ties) reject, in either direction.
    assert 0.97 <= res.power <= 1.0
    assert 0.35 <= res.type1_error <= 0.6
    chi2 = simulate_power(
        load_scenario(SCENARIOS / "trial_superiority.toml"), n_per_arm=100, replicates=2048, seed=3
    )
    assert res.power >= chi2.power  # it rejects whenever chi2 does in that direction, and more


def test_unregistered_analysis_is_refused_again() -> None:
    register_analysis("toy-gone", _treatment_count_larger)
    unregister_analysis("toy-gone")
    assert "toy-gone" not in ANALYSIS_NAMES
    with pytest.raises(ScenarioError, match=r"trial\.analysis"):
        load_scenario(SCENARIOS / "trial_superiority.toml", {"trial": {"analysis": "toy-gone"}})
