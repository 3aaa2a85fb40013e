"""rplsim.figures: saving (formats, bytes), and each figure's reading: what a reader sees is the data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle

from rplsim import paper_funnel
from rplsim.calibration.rows import row
from rplsim.figures import (
    FIGURE_FORMATS,
    calibration_distance,
    calibration_panel,
    cell_text,
    check_formats,
    flow_diagram,
    new_figure,
    power_curve,
    save_figure,
    save_png,
    sensitivity_heatmap,
    timeline_chart,
    tornado,
)
from rplsim.figures.palette import EVENT_STYLE
from rplsim.planning.feasibility import Feasibility, screening_funnel


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


# ----------------------------------------------------------------------------- saving
def test_save_figure_writes_each_format_with_the_same_bytes_twice(tmp_path):
    def draw():
        fig = new_figure(2.0, 1.5)
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], label="a line")
        ax.set_title("demo $x$")
        ax.legend()
        return fig

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = save_figure(draw(), tmp_path / "a" / "x", FIGURE_FORMATS)
    b = save_figure(draw(), tmp_path / "b" / "x.png", FIGURE_FORMATS)  # a suffix given is replaced
    assert [p.name for p in a] == ["x.png", "x.svg", "x.pdf"] == [p.name for p in b]
    for pa, pb in zip(a, b, strict=True):
        assert pa.read_bytes() == pb.read_bytes(), f"{pa.name} differs between two saves"
    assert a[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in a[1].read_bytes()[:400] and a[2].read_bytes()[:5] == b"%PDF-"


def test_png_is_200_dpi(tmp_path):
    from PIL import Image

    fig = power_curve(pd.DataFrame({"n_per_arm": [60], "power": [0.7], "ci_low": [0.6], "ci_high": [0.8]}))
    with Image.open(save_png(fig, tmp_path / "p.png")) as im:
        assert round(im.info["dpi"][0]) == 200


def test_check_formats_keeps_order_drops_duplicates_and_names_bad_values():
    assert check_formats("PNG,svg, png,pdf") == ("png", "svg", "pdf")
    with pytest.raises(ValueError, match=r"'jpg' is not one of png, svg, pdf"):
        check_formats("png,jpg")
    with pytest.raises(ValueError, match="name no format"):
        check_formats(" , ")


# ----------------------------------------------------------------------------- calibration
def _real_rows() -> pd.DataFrame:
    """Rows made by calibration.rows.row: symmetric ones and skewed (min/max) ones."""
    rng = np.random.default_rng(3)
    values = rng.gamma(2.0, 1.0, 400)
    cases = [
        ("mean in", float(values.mean()), False),
        ("mean out", float(values.mean()) + 5.0, False),
        ("mean far out", float(values.mean()) + 30.0, False),
        ("max in", float(np.quantile(values, 0.99)), True),
        ("max out", float(values.max()) + 1.0, True),
        # inside the central 99% but far from the mean in tolerance units: the old figure's bug
        ("skewed in, far from mean", float(np.quantile(values, 0.006)), True),
    ]
    recs = [row(name, "Table 1, KA", p, values, skewed=sk).__dict__ for name, p, sk in cases]
    return pd.DataFrame(recs)


def test_position_and_colour_tell_the_same_story():
    tab = _real_rows()
    z = calibration_distance(tab)
    assert list(np.abs(z) <= 1 + 1e-9) == list(tab["within"]), "inside the band exactly when within"
    fig = calibration_panel(tab, clip=50)
    ax = fig.axes[0]
    drawn = {}
    for line in ax.get_lines():
        x, y = line.get_xdata(), line.get_ydata()
        if len(x) == 1 and line.get_marker() == "o":
            drawn[round(float(np.asarray(y)[0]))] = (float(np.asarray(x)[0]), to_hex(line.get_color()))
    names = [t.get_text() for t in ax.get_yticklabels()]
    ys = list(ax.get_yticks())
    for name, w in zip(tab["target"], tab["within"], strict=True):
        x, colour = drawn[int(ys[names.index(name)])]
        assert (abs(x) <= 1 + 1e-9) == w, name
        assert (colour == "#0072b2") == w, name


def test_calibration_panel_shows_every_target_and_writes_clipped_distances():
    tab = pd.concat([_real_rows()] * 30, ignore_index=True)
    tab.loc[:9, "source"] = "Table 3, KN"
    fig = calibration_panel(tab, clip=4)
    assert sum(len(ax.get_yticklabels()) for ax in fig.axes) == len(tab)
    assert {ax.get_title(loc="left").split(":")[0] for ax in fig.axes} == {"Table 1", "Table 3"}
    far = calibration_distance(tab)
    beyond = far[np.abs(far) > 4]
    assert beyond.size, "the fixture has a target beyond the axis"
    assert f"{beyond[0]:+.1f}" in _texts(fig), "a clipped point says how far it is"
    assert (
        not fig._suptitle.get_text().startswith(" ") and f"all {len(tab)} targets" in fig._suptitle.get_text()
    )


# ----------------------------------------------------------------------------- timeline
def test_every_event_type_has_its_own_marker_and_colour():
    styles = [(m, c) for m, c, _, _ in EVENT_STYLE.values()]
    assert len(set(styles)) == len(styles)
    assert len({c for _, c in styles}) == len(styles), "colour alone tells the events apart too"


def test_timeline_rows_name_stratum_and_arm_and_the_legend_is_outside():
    ev = pd.DataFrame(
        {
            "patient_id": [5, 5, 5, 9, 9],
            "gestational_week": [-4.0, 2.0, 38.0, 2.0, 9.0],
            "event": ["aspirin_lmwh_start", "conception", "live_birth", "conception", "miscarriage"],
        }
    )
    out = pd.DataFrame({"patient_id": [5, 9], "stratum": ["KA", "IN"], "on_ivig": [True, False]})
    fig = timeline_chart(ev, out, subtitle="paper")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["#5 · KA · IVIG", "#9 · IN · no IVIG"]
    anchor = ax.get_legend().get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    assert anchor.x0 >= 1.0, "legend outside the data"
    assert "weeks since" in ax.get_xlabel()
    assert "paper" in fig._suptitle.get_text()


# ----------------------------------------------------------------------------- flow
def test_paper_flow_has_counts_and_one_exclusion_box():
    texts = _texts(flow_diagram(paper_funnel(), "Figure 1"))
    assert "n = 987" in texts and "n = 466" in texts
    assert "excluded: n = 521" in texts  # 987 - 466, Figure 1
    assert "lost to follow-up: 290" in texts


def test_screening_flow_shows_the_share_of_each_step_and_its_basis():
    f = Feasibility(166, 83, 83, 16.6, 1466, 1216, 786, 332, 20.8, 1, 0.0, 0.0, "USD", 332 / 786)
    funnel = screening_funnel(f)
    assert list(funnel.columns) == ["step", "n", "share", "lost", "basis"]
    assert funnel["share"].iloc[3] == pytest.approx(332 / 786)
    texts = "\n".join(_texts(flow_diagram(funnel, "Screening")))
    assert "× 0.83 pass" in texts and "× 0.50 pass" in texts
    assert "recruitment.consent_share" in texts
    assert "do not consent: n = 166" in texts


# ----------------------------------------------------------------------------- power
def test_power_curve_is_zoomed_shows_its_ci_and_names_the_design():
    n = np.arange(60, 121, 10)
    p = np.linspace(0.62, 0.9, n.size)
    c = pd.DataFrame({"n_per_arm": n, "power": p, "ci_low": p - 0.01, "ci_high": p + 0.01})
    fig = power_curve(c, chosen_n=90, target_power=0.8, subtitle="chi2, two-sided alpha 0.05")
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    assert 0.55 < lo < 0.62 and 0.9 < hi < 0.95, "y axis zoomed to the data"
    assert max(coll.get_alpha() or 0 for coll in ax.collections) >= 0.25
    assert "randomised per arm" in ax.get_xlabel()
    assert "chi2, two-sided alpha 0.05" in fig._suptitle.get_text()
    assert any("chosen n = 90" in t for t in _texts(fig))


# ----------------------------------------------------------------------------- heat map
def test_heatmap_cells_outline_and_legend():
    g = pd.DataFrame(
        {
            "control_lbr": [0.5, 0.5, 0.6, 0.6],
            "treatment_lbr": [0.6, 0.7, 0.6, 0.7],
            "n_per_arm": [1204.4, 93.0, math.inf, 344.0],
        }
    )
    pts = [("this scenario: 93", 0.5, 0.7), ("Yamada 2022", 0.347, 0.58)]
    fig = sensitivity_heatmap(g, pts, method="the normal formula", subtitle="paper: chi2")
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["1,204", "344", "93", "–"]
    boxes = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_linewidth() >= 2.5]
    assert [(b.get_x(), b.get_y()) for b in boxes] == [(-0.5, 0.5)], "the own cell (col 0, row 1) outlined"
    assert not ax.get_lines(), "no marker drawn over the map or its ticks"
    legend = ax.get_legend()
    assert any("Yamada 2022" in t.get_text() for t in legend.get_texts())
    assert legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted()).x0 > 1.0
    assert "normal formula" in fig._suptitle.get_text()


def test_cell_text():
    assert [cell_text(v) for v in (344.0, 1204.0, math.inf, math.nan, 0.0)] == ["344", "1,204", "–", "–", "–"]


# ----------------------------------------------------------------------------- tornado
def tornado_frame() -> pd.DataFrame:
    """Assumption ranges of the paper scenario (n from the normal formula, 10% dropout)."""
    return pd.DataFrame(
        {
            "key": ["trial.dropout", "trial.control_lbr", "trial.treatment_lbr", "recruitment.consent_share"],
            "label": ["dropout", "placebo LBR", "IVIG LBR", "consent share"],
            "low": [0.05, 0.35, 0.70, 0.3],
            "high": [0.20, 0.70, 0.90, 0.7],
            "base": [0.10, 0.60, 0.807, 0.5],
            "n_low": [79.0, 20.0, 396.0, 83.0],
            "n_high": [94.0, 283.0, 37.0, 83.0],
            "n_base": [83.0] * 4,
            "screened_low": [1395.0, 353.0, 6992.0, 2443.0],
            "screened_high": [1660.0, 4998.0, 653.0, 1047.0],
            "screened_base": [1466.0] * 4,
            "method": ["normal"] * 4,
        }
    )


def test_tornado_keeps_the_ranked_order_and_labels_bar_ends():
    """Rows top to bottom in the frame's order (rplsim.planning.tornado ranks them, the
    report's table shows the same order); a scenario value outside its range is said."""
    frame = tornado_frame()
    frame.loc[2, "n_low"] = math.inf  # IVIG LBR 0.70 cannot reach the target
    frame.loc[0, "base"] = 0.3  # dropout 0.3: outside [0.05, 0.2]
    fig = tornado(frame, subtitle="paper")
    left = fig.axes[0]
    headings = [t for t in left.texts if t.get_weight() == "bold"]
    rows = [t.get_text() for t in sorted(headings, key=lambda t: -t.get_position()[1])]  # top first
    assert rows == ["dropout (the scenario's 0.3 is outside the range)", "placebo LBR", "IVIG LBR",
                    "consent share"]  # fmt: skip
    texts = _texts(fig)
    assert "0.7 → not reachable" in texts  # IVIG LBR at its low end
    assert "0.35 → 20" in texts and "0.7 → 283" in texts  # placebo LBR at both ends
    assert "women screened in total: base 1,466" in texts
