"""Shared sweep helpers and fixtures: a small 4-point plan and its one-process reference table."""

from __future__ import annotations

import pandas as pd
import pytest

from rplsim.sweep.grid import plan_sweep
from rplsim.sweep.run import run_sweep

from ..conftest import SCENARIOS

EXAMPLE = SCENARIOS / "sweep_example.toml"


# The numbers that must not depend on workers, backend or batch (runtime columns excluded).
NUMBERS = [
    "point",
    "n_per_arm",
    "n_total",
    "replicates",
    "power",
    "power_ci_low",
    "power_ci_high",
    "type1_error",
    "type1_ci_low",
    "type1_ci_high",
    "expected_n_h1",
    "expected_n_h0",
    "stop_probability",
    "analytic_power",
    "digest",
]


# 4 points; 2,500 replicates = 2 whole blocks and a partial one, so batching is exercised.
SMALL = {"trial.control_lbr": [0.6, 0.65], "trial.analysis": ["chi2", "fisher"], "trial.dropout": [0.1]}


SMALL_SET = ["sweep.n_per_arm=60", "sweep.replicates=2500", "sweep.batch=1024"]


def small_plan(extra_set: tuple[str, ...] = (), looks: int = 1):
    return plan_sweep(EXAMPLE, [*SMALL_SET, f"trial.looks={looks}", *extra_set], SMALL)


def numbers(table: pd.DataFrame) -> pd.DataFrame:
    return table[NUMBERS].reset_index(drop=True)


@pytest.fixture(scope="module")
def local_table(tmp_path_factory):
    """The reference: one process, batches of one block."""
    res = run_sweep(small_plan(), tmp_path_factory.mktemp("ref"), workers=1)
    return res.table


# ----------------------------------------------------------------------------- Dask
@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as c:
        yield c
