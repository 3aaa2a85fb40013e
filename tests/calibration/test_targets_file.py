"""Targets as data (issue 18): the file format, its checks, and the paper's shipped file."""

from __future__ import annotations

from pathlib import Path

import pytest

from rplsim.calibration.targets_file import load_targets, paper_targets, targets_toml
from rplsim.exceptions import ScenarioError

ROOT = Path(__file__).resolve().parents[2]
HEAD = '[targets]\nname = "clinic"\n'
GOOD = '[[target]]\nkey = "age"\nstatistic = "mean"\nstratum = "KA"\nvalue = 33.0\nn = 90\n'


def test_the_shipped_file_is_the_paper_s_targets():
    """scenarios/targets/han2025.toml is paper_targets() from rplsim/paper.py, so the two cannot
    drift apart; it reads back equal and writes back to the same text."""
    shipped = load_targets(ROOT / "scenarios" / "targets" / "han2025.toml")
    assert shipped == paper_targets()
    assert load_targets_text(targets_toml(shipped)) == shipped


def load_targets_text(text: str, tmp: Path | None = None) -> object:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False, encoding="utf-8") as f:
        f.write(text)
    return load_targets(f.name)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (GOOD.replace('"KA"', '"XX"'), "stratum == 'XX' is unknown"),
        (GOOD.replace("n = 90", "n = -3"), "n == -3, must be a whole number of women >= 1"),
        (GOOD.replace('"mean"', '"sd"').replace("33.0", "-1.0"), "an SD must be >= 0"),
        (GOOD + GOOD, "mean of age in KA is given twice (also target 1)"),
        (GOOD.replace('"age"', '"height"'), "key == 'height' is not a variable"),
        (GOOD.replace('"mean"', '"share"'), "statistic == 'share' does not fit age"),
        (GOOD.replace("n = 90\n", ""), "n is missing"),
        (GOOD + 'colour = "red"\n', "colour is not a key"),
    ],
)
def test_a_bad_targets_file_is_one_line_and_exit_2(tmp_path, capsys, body, needle):
    f = tmp_path / "t.toml"
    f.write_text(HEAD + body, encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_targets(f)
    lines = str(err.value).splitlines()
    assert any(needle in line for line in lines), lines
    assert all(line.startswith(str(f)) for line in lines)
    from rplsim.app.cli import main

    paper = str(ROOT / "scenarios" / "paper.toml")
    assert main(["--quiet", "fit", paper, "--targets", str(f), "--out", str(tmp_path / "o")]) == 2
    err_text = capsys.readouterr().err
    assert needle in err_text and "Traceback" not in err_text
    assert not (tmp_path / "o").exists()  # nothing half-written


def test_a_file_without_a_name_or_targets_says_so(tmp_path):
    f = tmp_path / "t.toml"
    f.write_text("[targets]\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_targets(f)
    text = str(err.value)
    assert "[targets] name is missing" in text and "no [[target]] tables" in text


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (GOOD.replace('"KA"', '["KA"]'), "stratum == ['KA'], must be a string"),
        (GOOD.replace('"age"', '"ivig_grams"').replace("33.0", "-5.0"), "ivig_grams cannot be negative"),
    ],
)
def test_wrong_types_and_impossible_values_are_one_line(tmp_path, body, needle):
    f = tmp_path / "t.toml"
    f.write_text(HEAD + body, encoding="utf-8")
    with pytest.raises(ScenarioError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        load_targets(f)


def test_a_target_s_n_sets_its_standard_error():
    """A target's SE is the sampling SE on its own n: a quarter of the women, twice the SE (the
    same cohorts: common random numbers)."""
    from rplsim import evaluate_targets, load_scenario
    from rplsim.calibration.targets_file import Target, TargetSet

    sc = load_scenario(ROOT / "scenarios" / "paper.toml")
    t = [Target("age", "mean", "KA", 32.4, 97), Target("age", "mean", "IA", 33.4, 25)]
    res = evaluate_targets(sc, TargetSet("x", tuple(t)), replicates=20)
    base = evaluate_targets(sc, TargetSet("x", (Target("age", "mean", "IA", 33.4, 100),)), replicates=20)
    assert res.se.iloc[1] == pytest.approx(2 * base.se.iloc[0])


def test_an_sd_target_s_standard_error_is_the_spread_of_sds_over_cohorts():
    """The delta-method SE of an SD (pooled fourth moment) against brute force: the SD over 300
    simulated cohorts of 97 KA women of their age SDs. 300 SDs estimate that spread to within
    4.1% (1 / sqrt(2 * 299)), and the pooled SE has its own noise (2.9% over seeds, measured), so
    the ratio's SD is about 5%: the bound of 16% is about 3.2 SDs, about 1e-3 false failures per
    fresh draw of the seeds."""
    from rplsim import evaluate_targets, generate_cohort, load_scenario
    from rplsim.calibration.targets_file import Target, TargetSet

    sc = load_scenario(ROOT / "scenarios" / "paper.toml")
    res = evaluate_targets(sc, TargetSet("x", (Target("age", "sd", "KA", 4.0, 97),)), replicates=20)
    ka = generate_cohort(sc, n=300 * 97, seed=11, strata=("KA",))
    sds = ka.age.to_numpy().reshape(300, 97).std(axis=1, ddof=1)
    assert res.se.iloc[0] == pytest.approx(sds.std(ddof=1), rel=0.16)
