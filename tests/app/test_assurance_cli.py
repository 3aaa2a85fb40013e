"""rplsim assurance and rplsim run on a scenario with [prior] (issue 15): the command, its errors, the
results folder's assurance table, figure and sentence, all from one computation per (prior, n)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rplsim import assurance, load_scenario
from rplsim.app.cli import main
from rplsim.trial.assurance import ASSURANCE_COLUMNS, scenario_priors

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "assurance.toml"


def test_assurance_command_prints_and_writes_every_prior(tmp_path, capsys):
    out = tmp_path / "a.csv"
    assert main(["--quiet", "assurance", str(SCENARIO), "--n-per-arm", "60", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    table = pd.read_csv(out)
    sc = load_scenario(SCENARIO)
    priors = scenario_priors(sc)
    assert list(table.columns) == ["prior", *ASSURANCE_COLUMNS]
    assert list(table["prior"]) == list(priors)
    for label, joint in priors.items():
        assert f"== {label} prior" in text
        ref = assurance(sc, 60, prior=joint)
        row = table[table["prior"] == label].iloc[0]
        assert row["method"] == "exact" and row["assurance"] == pytest.approx(ref.assurance, rel=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n-per-arm", "60", "--target", "0.99"], "cannot exceed P(benefit) = 0.976"),
        (["--target", "1.5"], "--target == 1.5, must be a probability in (0, 1)"),
        (["--replicates", "0"], "--replicates"),
    ],
)
def test_assurance_command_errors_are_one_line_exit_2(args, message, capsys):
    assert main(["--quiet", "assurance", str(SCENARIO), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]


def test_assurance_command_without_prior(capsys):
    assert main(["--quiet", "assurance", str(ROOT / "scenarios" / "paper.toml")]) == 2
    assert "has no [prior] section" in capsys.readouterr().err


def test_run_writes_the_assurance_table_figure_and_sentence(tmp_path, capsys, no_figures):
    out = tmp_path / "run"
    argv = ["--quiet", "run", str(SCENARIO), "--out", str(out), "--replicates", "20"]
    # CMH over the two eligible strata: every point takes the simulated path (the exact path has
    # its own tests), through the per-draw stratum rates; it keeps the test at a few seconds.
    argv += [
        "--set",
        "trial.n_per_arm=40",
        "--set",
        "trial.analysis=cmh",
        "--set",
        "sensitivity.simulate_points=0",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    curve = pd.read_csv(out / "assurance.csv")
    per_prior = pd.read_csv(out / "assurance_priors.csv")
    assert (out / "assurance.png").exists() and (out / "assurance.svg").exists()
    assert list(curve.columns) == ["prior", *ASSURANCE_COLUMNS]
    assert set(curve["prior"]) == {"evidence-based", "sceptical", "enthusiastic"}
    # One computation per (prior, n): the per-prior table's row at the run's n is the curve's.
    at_n = curve[curve["n_per_arm"] == 40].set_index("prior")
    assert set(curve["method"]) == {"simulated"}
    for row in per_prior.itertuples():
        assert row.assurance == at_n.loc[row.prior, "assurance"]
        assert row.ceiling == at_n.loc[row.prior, "ceiling"]
    # Never above the ceiling beyond its error: the exact rows' bound, the simulated rows' 95% CI.
    assert (curve["ci_low"] <= curve["ceiling"] + 1e-12).all()
    report = (out / "report.md").read_text(encoding="utf-8")
    head = per_prior.iloc[0]
    assert "## Probability of success under the priors" in report
    assert f"a **{head.assurance:.0%} probability of success** under the evidence-based prior" in report
    assert "(out of reach" not in report  # the reach text is a clause, not a nested parenthesis
    assert "assurance.png" in report and "- assurance: evidence-based" in report
    # Reproducible to the byte: a rerun writes the same assurance tables (and the same report).
    again = tmp_path / "again"
    assert main([*argv[:3], "--out", str(again), *argv[5:]]) == 0
    for name in ("assurance.csv", "assurance_priors.csv", "report.md"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
