"""rplsim.compare_designs and ``rplsim compare``: one table of designs over true placebo rates."""

from __future__ import annotations

import pandas as pd
import pytest

from rplsim import compare_designs, exact_power, load_scenario
from rplsim.sweep.compare import COMPARE_COLUMNS


@pytest.fixture(scope="module")
def table():
    fixed = load_scenario("scenarios/paper.toml")
    fut = load_scenario("scenarios/futility.toml", {"trial": {"replicates": 2048}})
    return compare_designs([fixed, fut], control_lbr=[0.55, 0.7])


def test_table_columns_and_planned_effect_held(table):
    assert list(table.columns[: len(COMPARE_COLUMNS)]) == list(COMPARE_COLUMNS)
    assert table["design"].tolist() == ["paper", "paper", "futility", "futility"]
    odds = (0.807 / 0.193) / (0.6 / 0.4)
    got = (
        table.true_treatment_lbr
        / (1 - table.true_treatment_lbr)
        / (table.true_control_lbr / (1 - table.true_control_lbr))
    )
    assert got.to_numpy() == pytest.approx([odds] * 4)


def test_cells_are_the_one_computation_of_exact_power(table):
    """The fixed design's cell is exact_power at its n with the true rates: the same number."""
    row = table.iloc[1]
    ex = exact_power(
        load_scenario("scenarios/paper.toml"), int(row.n_per_arm), truth=(0.7, row.true_treatment_lbr)
    )
    assert (row.power, row.type1_error, row.method) == (ex.power, ex.type1_error, "exact")


def test_futility_stops_early_and_costs_less_under_h0(table):
    fut = table[table.design == "futility"]
    assert (fut.early_stop_h0 > 0.5).all() and (fut.expected_n_h0 < fut.n_per_arm * 2 * 0.7).all()
    assert (table[table.design == "paper"].early_stop_h0 == 0).all()


def test_cli_writes_table_and_figure(tmp_path, capsys):
    from rplsim.app.cli import main

    out = tmp_path / "cmp"
    code = main(["compare", "scenarios/paper.toml", "--control-lbr", "0.6,0.7", "--out", str(out), "--quiet"])
    assert code == 0
    assert {"compare.csv", "compare.png", "compare.svg", "manifest.json"} <= {p.name for p in out.iterdir()}
    csv = pd.read_csv(out / "compare.csv")
    assert csv["true_control_lbr"].tolist() == [0.6, 0.7]
    assert "paper" in capsys.readouterr().out
    assert main(["compare", "scenarios/paper.toml", "--out", str(out)]) == 2  # exists: --force


@pytest.mark.parametrize("rates", ["0.5,1.2", "a,b", "0.5,0.5"])
def test_bad_control_lbr_one_line(rates, tmp_path, capsys):
    from rplsim.app.cli import main

    assert (
        main(["compare", "scenarios/paper.toml", "--control-lbr", rates, "--out", str(tmp_path / "x")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--control-lbr" in err[0] and not (tmp_path / "x").exists()
