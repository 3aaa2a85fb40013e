"""The documented upper bounds on input and work (issue 20: nothing hangs, bounded work).

Every limit is a plain constant here, so the README, the error messages and the tests quote the
same number. The values are far above any real use (the paper's cohort is 466 women; its
scenarios nest tables three deep) and far below what would exhaust this machine's memory or
the user's patience.
"""

from __future__ import annotations

__all__ = [
    "DASK_NO_WORKERS_SECONDS",
    "MAX_CALIBRATION_REPLICATES",
    "MAX_COHORT_N",
    "MAX_ESTIMATED_SECONDS",
    "MAX_EXTENDS_DEPTH",
    "MAX_GRID_POINTS",
    "MAX_GRID_POINTS_FORCED",
    "MAX_NESTING_DEPTH",
    "MAX_N_PER_ARM",
    "MAX_REPLICATES",
    "MAX_SCENARIO_BYTES",
    "MAX_SEED",
    "MAX_WORKERS",
    "SAY_ESTIMATE_SECONDS",
]

MAX_SCENARIO_BYTES = 1_048_576
"""A scenario file (and each file of its ``extends`` chain) is read only up to 1 MiB."""

MAX_NESTING_DEPTH = 16
"""Tables and arrays nest at most this deep in a scenario (the shipped ones: at most 5)."""

MAX_EXTENDS_DEPTH = 16
"""At most this many files in one ``extends`` chain, the scenario itself included."""

MAX_SEED = 2**63 - 1
"""Largest root seed (``scenario.seed``, ``--seed``): numpy's SeedSequence takes any; the manifest's
JSON readers take an int64."""

MAX_COHORT_N = 50_000_000
"""Women per generated cohort (``cohort.n``, ``rplsim cohort -n``, ``timeline -n``)."""

MAX_REPLICATES = 100_000_000
"""Simulated trials per power point (``trial.replicates``, ``--replicates`` of power/sweep/run)."""

MAX_N_PER_ARM = 1_000_000
"""Control-arm size of a simulated trial (``trial.n_per_arm``, ``sweep.n_per_arm``, ``--n-per-arm``)."""

MAX_CALIBRATION_REPLICATES = 100_000
"""Simulated cohorts of ``rplsim calibrate --replicates`` (and the calibration stage of run)."""

MAX_GRID_POINTS = 10_000
"""Sweep grid points allowed without ``--force-large``."""

MAX_GRID_POINTS_FORCED = 1_000_000
"""Sweep grid points allowed at all, even with ``--force-large``."""

MAX_WORKERS = 256
"""Local worker processes; more are refused, and any above the useful number are not started."""

MAX_ESTIMATED_SECONDS = 24 * 3600
"""Work estimated to take longer than a day is refused unless ``--force-large`` is given."""

SAY_ESTIMATE_SECONDS = 60
"""Work estimated to take longer than a minute is announced, with the estimate, before it starts."""

DASK_NO_WORKERS_SECONDS = 60
"""A Dask sweep with no worker for this long stops (its finished points kept for ``--resume``)."""
