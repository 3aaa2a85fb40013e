"""Calibration: the comparison table, its tolerance rule and the target groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rplsim import ScenarioError, calibrate
from rplsim.calibration import compare
from rplsim.calibration.rows import CALIBRATION_COLUMNS, Z99, CalibrationRow, row


@pytest.fixture(scope="module")
def table(paper) -> pd.DataFrame:
    return calibrate(paper, replicates=20, seed=3)


def test_table_has_the_columns_and_one_row_a_target(table):
    assert list(table.columns) == list(CALIBRATION_COLUMNS)
    assert table["target"].is_unique
    assert table["within"].dtype == bool and table["followed"].dtype == bool
    groups = (
        "n KN",
        "age mean KN",
        "high NK alone, known",
        "live-birth rate KN",
        "treatment failure KN",
        "total IVIG dose mean KA (g)",
        "odds ratio age, all",
    )
    for target in groups:  # every group of targets is there: cohort, outcome, dose, Table 2
        assert target in set(table["target"])


def test_the_paper_scenario_meets_its_followed_targets(table):
    followed = table[table["followed"]]
    # A correct model misses ~1% of the targets by chance; 20 replicates are a noisy sd_rep.
    assert followed["within"].mean() >= 0.9, followed.loc[~followed["within"], "target"].tolist()


def test_same_seed_same_table(paper, table):
    pd.testing.assert_frame_equal(calibrate(paper, replicates=20, seed=3), table)


def test_too_few_replicates_are_refused(paper):
    with pytest.raises(ScenarioError):
        calibrate(paper, replicates=1)


def test_row_tolerance_is_the_99_percent_prediction_half_width():
    v = np.array([1.0, 2.0, 3.0, 4.0, np.nan])
    r = row("x", "here", 2.5, v)
    assert isinstance(r, CalibrationRow)
    sd = np.std([1.0, 2.0, 3.0, 4.0], ddof=1)
    assert r.simulated == 2.5 and r.mc_se == pytest.approx(sd / 2)
    assert r.tolerance == pytest.approx(Z99 * sd * np.sqrt(1 + 1 / 4))
    assert r.within and r.followed


def test_skewed_row_uses_the_central_99_percent_widened_by_the_precision():
    v = np.arange(1000, dtype=float)
    lo, hi = np.quantile(v, [0.005, 0.995])
    assert not row("max", "t", hi + 0.4, v, skewed=True).within
    assert row("max", "t", hi + 0.4, v, skewed=True, precision=1.0).within
    assert row("max", "t", lo, v, skewed=True).tolerance == pytest.approx((hi - lo) / 2)


def test_a_row_without_finite_values_is_a_miss():
    r = row("x", "t", 1, np.array([np.nan, np.inf]), followed=False)
    assert np.isnan(r.simulated) and not r.within and not r.followed


def test_a_registered_group_may_return_dict_rows(paper, monkeypatch):
    def extra(scenario, df, reps, n_rep, seed):
        return [
            {
                "target": "extra",
                "source": "test",
                "paper": 1.0,
                "simulated": 1.0,
                "mc_se": 0.0,
                "tolerance": 0.0,
                "within": True,
                "followed": True,
            }
        ]

    monkeypatch.setattr(compare, "_TARGET_GROUPS", list(compare._TARGET_GROUPS))
    assert compare.register_targets(extra) is extra
    compare.register_targets(extra)  # twice: added once
    tab = calibrate(paper, replicates=2, seed=1)
    assert (tab["target"] == "extra").sum() == 1
    assert tab["target"].iloc[-1] == "extra"
