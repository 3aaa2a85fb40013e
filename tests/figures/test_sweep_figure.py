"""sweep_figure: the right panel shows what the table has, axes in plain words, legend off the data."""

from __future__ import annotations

import shutil

import pandas as pd

from rplsim.sweep.grid import plan_sweep
from rplsim.sweep.run import axis_label, sweep_figure
from tests.conftest import SCENARIOS


def _table(plan, n_of) -> pd.DataFrame:
    """A points table with the columns sweep_figure reads (powers made up, n as the plan sets it)."""
    rows = []
    for k, p in enumerate(plan.points):
        power = 0.7 + 0.01 * k
        rows.append(
            {
                **p.values,
                "n_per_arm": n_of(p.values),
                "power": power,
                "power_ci_low": power - 0.01,
                "power_ci_high": power + 0.01,
                "analytic_power": power - 0.005,
                "type1_error": 0.05,
                "type1_ci_low": 0.045,
                "type1_ci_high": 0.055,
            }
        )
    return pd.DataFrame(rows)


def test_n_on_the_x_axis_is_not_plotted_against_itself(tmp_path):
    for f in SCENARIOS.glob("*.toml"):  # extends must name a file in the scenario's own folder
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "n_sweep.toml").write_text(
        'extends = "trial_superiority.toml"\n[scenario]\nname = "n_sweep"\n[sweep]\n'
        'grid = { "trial.n_per_arm" = [60, 90], "trial.dropout" = [0.05, 0.1] }\nreplicates = 100\n'
    )
    plan = plan_sweep(tmp_path / "n_sweep.toml")
    fig = sweep_figure(_table(plan, lambda v: v["trial.n_per_arm"]), plan)
    left, right = fig.axes[:2]
    assert left.get_xlabel() == right.get_xlabel() == "women randomised per arm"
    assert right.get_ylabel().startswith("type-I error"), "not n against n"
    assert "analytic" not in right.get_ylabel()


def test_formula_n_is_labelled_as_such_and_the_legend_is_outside_the_axes():
    plan = plan_sweep(SCENARIOS / "sweep_example.toml")
    table = _table(plan, lambda v: int(100 * v["trial.control_lbr"]))
    fig = sweep_figure(table, plan)
    left, right = fig.axes[:2]
    assert left.get_xlabel() == "placebo live-birth rate"
    assert right.get_ylabel() == "women randomised per arm\n(formula n, inflated for dropout)"
    assert left.get_legend() is None and fig.legends, "the legend is the figure's, below the panels"


def test_axis_label():
    assert axis_label("trial.n_per_arm") == "women randomised per arm"
    assert axis_label("trial.control_lbr") == "placebo live-birth rate"
    assert axis_label("recruitment.rpl_women_per_centre_year") == "rpl women per centre year"
