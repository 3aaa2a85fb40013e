"""Rendering: the results folder and its manifest, tables, figures and the report."""

from __future__ import annotations

from rplsim.outputs import cohort_plots as _cohort_plots
from rplsim.outputs import escape as _escape
from rplsim.outputs import figure as _figure
from rplsim.outputs import folder as _folder
from rplsim.outputs import plots as _plots
from rplsim.outputs import report as _report
from rplsim.outputs import write as _write
from rplsim.outputs.cohort_plots import *  # noqa: F403
from rplsim.outputs.escape import *  # noqa: F403
from rplsim.outputs.figure import *  # noqa: F403
from rplsim.outputs.folder import *  # noqa: F403
from rplsim.outputs.plots import *  # noqa: F403
from rplsim.outputs.report import *  # noqa: F403
from rplsim.outputs.write import *  # noqa: F403

# plots re-exports the figures of cohort_plots and figure.save_png: each name once
__all__ = list(
    dict.fromkeys(
        [
            *_escape.__all__,
            *_figure.__all__,
            *_cohort_plots.__all__,
            *_plots.__all__,
            *_folder.__all__,
            *_report.__all__,
            *_write.__all__,
        ]
    )
)
