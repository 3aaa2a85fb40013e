"""Power sweeps over grids of scenario keys: plan, tasks, executors (local or Dask), the store."""

from __future__ import annotations

from rplsim.sweep import executors as _executors
from rplsim.sweep import run as _run
from rplsim.sweep.executors import *  # noqa: F403
from rplsim.sweep.run import *  # noqa: F403

__all__ = [*_executors.__all__, *_run.__all__]
