"""rplsim.planning.tornado: n at the ends of each assumption's range, ranked.

References are the functions the table is built from, called on the moved scenario in the test
(exact_sample_size, analytic_n_per_arm, feasibility): the test checks the wiring (which key
moves, which is held, one method for the whole table), and the directions the statistics
guarantee (a higher placebo rate or dropout needs more women, a higher IVIG rate fewer, the
consent share moves the women screened and not n).
"""

from __future__ import annotations

import math

import pytest

from rplsim import load_scenario, size_trial
from rplsim.planning.tornado import TORNADO_COLUMNS, assumption_ranges
from rplsim.trial.exact import exact_sample_size
from rplsim.trial.formulas import analytic_n_per_arm
from rplsim.trial.power import power_with

from ..conftest import SCENARIOS

# narrow ranges keep the exact searches small (n < 120 per arm): about 1 s for the table
NARROW = [
    "sensitivity.control_lbr_range=[0.5, 0.62]",
    "sensitivity.treatment_lbr_range=[0.78, 0.85]",
]


@pytest.fixture(scope="module")
def exact_table():
    sc = load_scenario(SCENARIOS / "paper.toml", NARROW)
    st = size_trial(sc, replicates=1024, sensitivity=False)
    return sc, st, assumption_ranges(sc, st)


def _row(table, key):
    return table[table["key"] == key].iloc[0]


def test_columns_and_one_method(exact_table):
    _, st, t = exact_table
    assert tuple(t.columns) == TORNADO_COLUMNS
    assert set(t["method"]) == {"exact"}
    assert (t["n_base"] == st.power.n_control).all() and (t["headline_n"] == st.power.n_control).all()


def test_ends_are_the_exact_search_of_the_moved_scenario(exact_table):
    sc, _, t = exact_table
    r = _row(t, "trial.control_lbr")
    assert r["n_low"] == exact_sample_size(power_with(sc, control_lbr=0.5)).n_per_arm
    r = _row(t, "trial.dropout")
    assert r["n_high"] == exact_sample_size(power_with(sc, dropout=r["high"])).n_per_arm


def test_directions(exact_table):
    _, _, t = exact_table
    c, tr, d, k = (_row(t, key) for key in ("trial.control_lbr", "trial.treatment_lbr", "trial.dropout",
                                             "recruitment.consent_share"))  # fmt: skip
    assert c["n_low"] < c["n_base"] < c["n_high"]
    assert tr["n_low"] > tr["n_base"] > tr["n_high"]
    assert d["n_low"] <= d["n_base"] <= d["n_high"]
    assert k["n_low"] == k["n_high"] == k["n_base"]
    assert k["screened_low"] > k["screened_base"] > k["screened_high"], "fewer consent: screen more"


def test_ranked_by_how_far_n_moves(exact_table):
    _, _, t = exact_table
    swing = (t["n_high"] - t["n_low"]).abs().tolist()
    assert swing == sorted(swing, reverse=True)
    assert t["key"].iloc[-1] == "recruitment.consent_share"


def test_sequential_design_takes_the_formula_for_every_n():
    sc = load_scenario(SCENARIOS / "group_sequential.toml")
    st = size_trial(sc, n_per_arm=100, replicates=1024, sensitivity=False)
    t = assumption_ranges(sc, st)
    assert set(t["method"]) == {"analytic"}
    assert (t["n_base"] == analytic_n_per_arm(sc)).all() and (t["headline_n"] == 100).all()
    r = _row(t, "trial.control_lbr")
    assert r["n_high"] == analytic_n_per_arm(power_with(sc, control_lbr=r["high"]))


def test_unreachable_end_is_infinite():
    """A placebo range reaching above the IVIG rate: no n shows superiority there."""
    sc = load_scenario(SCENARIOS / "group_sequential.toml", ["sensitivity.control_lbr_range=[0.5, 0.85]"])
    st = size_trial(sc, n_per_arm=100, replicates=1024, sensitivity=False)
    r = _row(assumption_ranges(sc, st), "trial.control_lbr")
    assert math.isinf(r["n_high"]) and math.isinf(r["screened_high"]) and math.isfinite(r["n_low"])


def test_bad_range_is_one_clear_line():
    from rplsim.exceptions import ScenarioError

    with pytest.raises(ScenarioError, match=r"dropout_range .* must be two values \[low, high\]"):
        load_scenario(SCENARIOS / "paper.toml", ["sensitivity.dropout_range=[0.2, 0.1]"])


def test_exact_only_when_every_moved_design_is_covered():
    """A sequential design without dropout is enumerated exactly, but the ends of its dropout
    range are not (sequential with dropout): the whole table takes the formula, no end is
    "not reachable" for want of a method (review of issue 14)."""
    over = ["trial.dropout=0", "sensitivity.control_lbr_range=[0.55, 0.62]",
            "sensitivity.treatment_lbr_range=[0.8, 0.85]"]  # fmt: skip
    sc = load_scenario(SCENARIOS / "group_sequential.toml", over)
    st = size_trial(sc, n_per_arm=100, replicates=1024, sensitivity=False)
    t = assumption_ranges(sc, st)
    assert set(t["method"]) == {"analytic"}
    assert all(math.isfinite(v) for v in (*t["n_low"], *t["n_high"]))
