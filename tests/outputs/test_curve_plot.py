"""Tests of rplsim.outputs.curve_plot: the figure of a power curve."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from rplsim import load_scenario
from rplsim.outputs.curve_plot import power_curve_figure
from rplsim.outputs.figure import save_png
from rplsim.trial.curve import power_curve
from rplsim.trial.power import power_with
from tests.conftest import SCENARIOS


def test_exact_and_simulated_figures(tmp_path: Path) -> None:
    s = power_with(load_scenario(SCENARIOS / "paper.toml"), control_lbr=0.4, treatment_lbr=0.8, n_per_arm=24)
    exact = power_curve_figure(power_curve(s, n=range(20, 27)))
    assert isinstance(exact, Figure)
    ax = exact.axes[0]
    assert "power against n per arm (exact)" in ax.get_title() and "chi2" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "target 0.8" in labels and "chosen n = 24" in labels
    sim = power_curve_figure(power_curve(power_with(s, looks=2), n=[20, 30], replicates=1024))
    assert any("95% CI" in t.get_text() for t in sim.axes[0].get_legend().get_texts())
    across = power_curve_figure(power_curve(s, control_lbr=[0.4, 0.5]))
    assert "IVIG rate 0.8 held fixed" in across.axes[0].get_xlabel()
    assert save_png(exact, tmp_path / "curve.png").stat().st_size > 1000
