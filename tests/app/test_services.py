"""rplsim.app.services: compute in memory (run_stages, size_trial), then write (write_run)."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

import rplsim
from rplsim import ResultsExistError, RunResult, run_stages, size_trial, write_run
from rplsim.app.services import run_scenario


@pytest.fixture(scope="module")
def small(paper):
    return paper.replace(cohort=dataclasses.replace(paper.cohort, n=150))


@pytest.fixture(scope="module")
def computed(small):
    return run_stages(small, replicates=2)


def test_run_stages_computes_in_memory_and_is_frozen(computed, tmp_path):
    assert isinstance(computed, RunResult)
    assert len(computed.cohort) == 150 and computed.calibration_replicates == 2
    assert computed.trial is not None and computed.trial.sensitivity is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        computed.trial = None  # type: ignore[misc]


def test_write_run_renders_what_was_computed(computed, tmp_path, no_figures):
    out = tmp_path / "run"
    summary = write_run(computed, out, command=["rplsim", "run"])
    assert summary.startswith("A trial would need")
    cohort = pd.read_csv(out / "cohort.csv")
    assert list(cohort.columns) == list(computed.cohort.columns) and len(cohort) == 150
    power = pd.read_csv(out / "power.csv")
    assert power["power"].iloc[0] == pytest.approx(computed.trial.power.power, rel=1e-12)
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["command_line"] == ["rplsim", "run"] and m["calibration_replicates"] == 2
    assert {"power.csv", "sensitivity.csv", "report.md"} <= {f["name"] for f in m["files"]}
    with pytest.raises(ResultsExistError):
        write_run(computed, out)


def test_size_trial_is_the_trial_stage_of_a_run(small, computed):
    tr = size_trial(small, replicates=2)
    assert tr.power.power == computed.trial.power.power
    pd.testing.assert_frame_equal(tr.sensitivity, computed.trial.sensitivity)
    no_grid = size_trial(small, replicates=2, n_per_arm=tr.power.n_control, sensitivity=False)
    assert no_grid.sensitivity is None and not no_grid.searched
    assert no_grid.power.power == tr.power.power


def test_run_scenario_refuses_an_existing_folder_before_any_work(small, tmp_path):
    said = []
    with pytest.raises(ResultsExistError):
        run_scenario(small, tmp_path, say=said.append)
    assert said == []


def test_write_run_is_exported_lazily():
    assert rplsim.write_run is write_run and "write_run" in rplsim.__all__
