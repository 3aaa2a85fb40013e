"""Objects that behave in a notebook (issue 14, part 5): a short repr, an HTML table, a summary,
a frame and, where there is a figure, ``plot()``. One small trial stage serves every check."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from rplsim import (
    find_sample_size,
    generate_cohort,
    load_scenario,
    power_curve,
    sample_size,
    simulate_timeline,
)
from rplsim import size_trial as _size_trial
from rplsim._core.display import REPR_CHARS, Summary

from ..conftest import SCENARIOS

SMALL = [
    "sensitivity.control_lbr=[0.55, 0.6]",
    "sensitivity.treatment_lbr=[0.807]",
    "sensitivity.simulate_points=0",
    "sensitivity.control_lbr_range=[0.5, 0.62]",
    "sensitivity.treatment_lbr_range=[0.78, 0.85]",
]


@pytest.fixture(scope="module")
def stage():
    return _size_trial(load_scenario(SCENARIOS / "paper.toml", SMALL), n_per_arm=83, replicates=1024)


@pytest.fixture(scope="module")
def objects(stage):
    return _objects(stage)


def _objects(stage):
    sc = stage.scenario
    cohort = generate_cohort(sc, n=30, seed=1)
    return {
        "PowerResult": stage.power,
        "ExactPower": stage.exact,
        "Feasibility": stage.feasibility,
        "SampleSize": sample_size(0.6, 0.807),
        "TrialStage": stage,
        "PowerCurve": power_curve(sc, n=[60, 83]),
        "TimelineResult": simulate_timeline(cohort, sc, seed=1),
        "SampleSizeSearch": find_sample_size(sc),
    }


def test_repr_is_one_short_line_and_html_is_a_table(objects):
    for name, obj in objects.items():
        text = repr(obj)
        assert text.startswith(f"<{name} ") and "\n" not in text and len(text) <= REPR_CHARS, text
        page = obj._repr_html_()
        assert page.startswith("<table>") and "<td" in page, name
        s = obj.summary()
        assert str(s).strip() and s._repr_html_(), name


def test_tabular_results_have_frames(stage, objects):
    objs = objects
    assert objs["PowerResult"].to_frame().iloc[0]["n_control"] == 83
    assert objs["ExactPower"].to_frame().iloc[0]["power"] == stage.exact.power
    assert objs["PowerCurve"].to_frame()["n_per_arm"].tolist() == [60, 83]
    assert objs["TrialStage"].to_frame().equals(stage.power_table())
    assert isinstance(Summary("t", (("a", "1"),)).to_frame(), pd.DataFrame)


@pytest.mark.parametrize("kind", ["curve", "sensitivity", "assumptions", "funnel"])
def test_stage_plots_its_figures(stage, kind):
    assert isinstance(stage.plot(kind), Figure)


def test_plot_of_curve_search_and_timeline(stage, objects):
    objs = objects
    for name in ("PowerCurve", "SampleSizeSearch", "TimelineResult"):
        assert isinstance(objs[name].plot(), Figure), name
    with pytest.raises(ValueError, match="kind == 'x'"):
        stage.plot("x")
