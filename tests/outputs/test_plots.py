"""rplsim.plots: every figure builds from a small frame, is titled and labelled, and saves a PNG."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from rplsim import paper_funnel, plots
from rplsim.outputs.escape import MAX_TITLE_CHARS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _calibration_tab() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "target": ["age mean KN", "age max KN", "n known (other reading)", "bmi SD IA", "flat"],
            "source": ["Table 1", "Table 1", "Abstract", "Table 1", "Section 3.3"],
            "paper": [32.78, 43.0, 251.0, 3.45, 0.0],
            "simulated": [32.70, 41.0, 215.0, 3.40, 0.0],
            "mc_se": [0.02, 0.1, 0.5, 0.01, 0.0],
            "tolerance": [0.9, 1.5, 20.0, 0.3, 0.0],
            "within": [True, False, False, True, True],
            "followed": [True, True, False, True, True],
        }
    )


def _power_curve() -> pd.DataFrame:
    n = np.arange(20, 300, 20)
    p = 1 - np.exp(-n / 120)
    return pd.DataFrame(
        {"n_per_arm": n, "power": p, "ci_low": p - 0.02, "ci_high": p + 0.02, "analytic_power": p + 0.005}
    )


def _grid() -> pd.DataFrame:
    rows = []
    for c in (0.35, 0.55, 0.7):
        for t in (0.6, 0.8, 0.9):
            rows.append((c, t, np.inf if t <= c else 8 * (c * (1 - c) + t * (1 - t)) / (t - c) ** 2))
    grid = pd.DataFrame(rows, columns=["control_lbr", "treatment_lbr", "n_per_arm"])
    grid.loc[0, "n_per_arm"] = np.nan  # a NaN cell must be tolerated as well as inf
    return grid


def _outcomes() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"stratum": rng.choice(["KN", "KA", "IN", "IA"], 200), "ivig_grams": rng.gamma(3.0, 45.0, 200)}
    )


def _events() -> pd.DataFrame:
    rows = []
    for pid in range(1, 16):
        rows += [
            (pid, 2.0, "conception", ""),
            (pid, 5.0, "confirmation", ""),
            (pid, 5.5, "treatment_start", ""),
            (pid, 5.5, "ivig_infusion", "24 g"),
            (pid, 9.0, "ivig_infusion", "24 g"),
        ]
        rows.append((pid, 10.0, "miscarriage", "") if pid % 3 == 0 else (pid, 38.0, "live_birth", ""))
    rows.append((4, 12.0, "something_new", "unknown event type"))
    return pd.DataFrame(rows, columns=["patient_id", "gestational_week", "event", "detail"])


CASES = {
    "calibration_panel": lambda: plots.calibration_panel(_calibration_tab()),
    "power_curve": lambda: plots.power_curve(_power_curve(), chosen_n=140, target_power=0.8),
    "power_curve_plain": lambda: plots.power_curve(_power_curve().drop(columns="analytic_power")),
    "sensitivity_heatmap": lambda: plots.sensitivity_heatmap(
        _grid(), points=[("paper", 0.6, 0.807), ("Yamada 2022", 0.347, 0.58)]
    ),
    "ivig_dose_histogram": lambda: plots.ivig_dose_histogram(_outcomes()),
    "timeline_chart": lambda: plots.timeline_chart(_events(), max_patients=8),
    "funnel_chart": lambda: plots.funnel_chart(paper_funnel()),
    "funnel_chart_plain": lambda: plots.funnel_chart(
        pd.DataFrame({"step": ["screened", "eligible", "randomised"], "n": [900, 400, 200]})
    ),
}


def _titles(fig: Figure) -> list[str]:
    out = [ax.get_title() for ax in fig.axes]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    return [t for t in out if t]


@pytest.mark.parametrize("name", sorted(CASES))
def test_figure_is_titled_labelled_and_saves_png(name, tmp_path):
    fig = CASES[name]()
    assert isinstance(fig, Figure)
    assert _titles(fig), "every figure has a title"
    data_axes = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.axison]
    for ax in data_axes:  # a facet without its own x label shares the one of the panel below
        ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert ax.get_ylabel() or ticks, f"{name}: unlabelled y axis"
    assert any(ax.get_xlabel() for ax in data_axes) or not data_axes, f"{name}: no x label"
    path = plots.save_png(fig, tmp_path / f"{name}.png")
    blob = path.read_bytes()
    assert blob[:8] == PNG_SIGNATURE
    assert len(blob) > 1024


def test_calibration_panel_shows_every_row_facetted_by_table():
    tab = pd.concat([_calibration_tab()] * 30, ignore_index=True)  # 150 rows
    fig = plots.calibration_panel(tab)
    labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert len(labels) == 150, "no target is left out"
    titles = sorted(ax.get_title(loc="left").split(":")[0] for ax in fig.axes)
    assert titles == ["Table 1", "Text (sections, abstract)"]


def test_timeline_chart_picks_patients_and_handles_unknown_events():
    fig = plots.timeline_chart(_events(), patient_ids=[4, 6])
    ax = fig.axes[0]
    rows = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)}
    assert set(rows) == {"#4", "#6"}
    assert rows["#4"] > rows["#6"]  # first patient on top
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "something new" in legend and "live birth" in legend


def test_ivig_histogram_empty_stratum_and_custom_paper():
    out = pd.DataFrame({"stratum": ["KA", "KA", "KN"], "ivig_grams": [100.0, 140.0, 0.0]})
    fig = plots.ivig_dose_histogram(out, paper={"KA": (120.0, 20.0, 90.0, 160.0)})
    assert len(fig.axes) == 2


def test_missing_columns_are_a_clear_error():
    with pytest.raises(ValueError, match="n_per_arm"):
        plots.power_curve(pd.DataFrame({"power": [0.5]}))


# ----------------------------------------------------------------------------- data text
TEX = "$\\frac{1}{0}$ $x^$ $$ \\"  # mathtext that raises, an empty formula, a lone backslash

HOSTILE_CASES = {
    "funnel_chart": lambda: plots.funnel_chart(
        pd.DataFrame({"step": [TEX, "x" * 400], "n": [10, 5], "kind": [TEX, "seen"]}), title=TEX * 30
    ),
    "sensitivity_heatmap": lambda: plots.sensitivity_heatmap(_grid(), points=[(TEX, 0.6, 0.8)]),
    "calibration_panel": lambda: plots.calibration_panel(_calibration_tab().assign(target=TEX)),
    "timeline_chart": lambda: plots.timeline_chart(
        _events().assign(event=TEX, patient_id=lambda d: d["patient_id"].astype(str) + "$^")
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_CASES))
def test_figure_draws_tex_and_long_text_from_data_as_written(name, tmp_path):
    fig = HOSTILE_CASES[name]()
    blob = plots.save_png(fig, tmp_path / f"{name}.png").read_bytes()
    assert blob[:8] == PNG_SIGNATURE
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert any("\\$\\frac{1}{0}\\$" in t for t in texts), "the TeX is drawn as its characters"
    # a long title or step is cut to MAX_TITLE_CHARS (each "$" then takes two characters)
    assert all(len(line) <= 2 * MAX_TITLE_CHARS for t in texts for line in t.splitlines())
