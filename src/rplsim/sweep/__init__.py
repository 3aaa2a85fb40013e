"""Power sweeps over grids of scenario keys: plan, tasks, executors (local or Dask), the store."""

from __future__ import annotations

from rplsim.sweep import compare as _compare
from rplsim.sweep import executors as _executors
from rplsim.sweep import grid as _grid
from rplsim.sweep import run as _run
from rplsim.sweep import store as _store
from rplsim.sweep import tasks as _tasks
from rplsim.sweep.compare import *  # noqa: F403
from rplsim.sweep.executors import *  # noqa: F403
from rplsim.sweep.grid import *  # noqa: F403
from rplsim.sweep.run import *  # noqa: F403
from rplsim.sweep.store import *  # noqa: F403
from rplsim.sweep.tasks import *  # noqa: F403

__all__ = [
    *_compare.__all__,
    *_executors.__all__,
    *_grid.__all__,
    *_run.__all__,
    *_store.__all__,
    *_tasks.__all__,
]
