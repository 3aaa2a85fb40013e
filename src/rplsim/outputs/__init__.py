"""Rendering: the results folder and its manifest, tables, figures and the report."""

from __future__ import annotations

from rplsim.outputs import folder as _folder
from rplsim.outputs import plots as _plots
from rplsim.outputs import report as _report
from rplsim.outputs import write as _write
from rplsim.outputs.folder import *  # noqa: F403
from rplsim.outputs.plots import *  # noqa: F403
from rplsim.outputs.report import *  # noqa: F403
from rplsim.outputs.write import *  # noqa: F403

__all__ = [*_folder.__all__, *_plots.__all__, *_report.__all__, *_write.__all__]
