"""Figures for the results folder, now drawn by :mod:`rplsim.figures` (re-exported here).

Every function takes plain DataFrames and returns a :class:`matplotlib.figure.Figure` built
without :mod:`matplotlib.pyplot`. :func:`save_figure` writes PNG (200 dpi), SVG and PDF;
:func:`save_png` one PNG.
"""

from __future__ import annotations

from rplsim.figures.base import check_formats, save_figure, save_png
from rplsim.figures.calibration import calibration_panel
from rplsim.figures.cohort import ivig_dose_histogram, timeline_chart
from rplsim.figures.flow import flow_diagram, funnel_chart
from rplsim.figures.power import power_curve
from rplsim.figures.sensitivity import sensitivity_heatmap, tornado

__all__ = [
    "calibration_panel",
    "check_formats",
    "flow_diagram",
    "funnel_chart",
    "ivig_dose_histogram",
    "power_curve",
    "save_figure",
    "save_png",
    "sensitivity_heatmap",
    "timeline_chart",
    "tornado",
]
