"""Figures of the cohort and its timeline, now in :mod:`rplsim.figures` (re-exported here)."""

from __future__ import annotations

from rplsim.figures.cohort import ivig_dose_histogram, timeline_chart
from rplsim.figures.flow import flow_diagram as flow_diagram
from rplsim.figures.flow import funnel_chart

__all__ = ["funnel_chart", "ivig_dose_histogram", "timeline_chart"]
