"""Scenario loading: every problem named with file, key, value and rule."""

from __future__ import annotations

import dataclasses
import os
import time
import tomllib

import pytest

from rplsim import ScenarioError, load_scenario
from rplsim._core.limits import MAX_EXTENDS_DEPTH, MAX_NESTING_DEPTH, MAX_SCENARIO_BYTES
from rplsim.app.cli import main
from rplsim.scenario.load import nesting_depth, parse_overrides
from rplsim.scenario.trial_params import POPULATION_STRATA, TrialParams
from rplsim.trial.simulation import POPULATIONS

from ..conftest import SCENARIOS


def _write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _problems(path, **kw):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path, **kw)
    return exc.value.problems


def test_unknown_key_suggests(tmp_path):
    p = _write(tmp_path, '[scenario]\nname = "x"\n[cohort]\nnn = 3\n')
    (msg,) = _problems(p)
    assert str(p) in msg and "cohort.nn" in msg and 'did you mean "n"' in msg


def test_all_problems_reported_together(tmp_path):
    p = _write(tmp_path, '[scenario]\nname = "x"\nseed = -1\n[cohort]\nn = 0\nivf_share = "a"\n')
    probs = _problems(p)
    assert len(probs) == 3
    assert any("scenario.seed == -1" in m for m in probs)
    assert any("cohort.n == 0" in m for m in probs)
    assert any("cohort.ivf_share" in m and "must be a number" in m for m in probs)


@pytest.mark.parametrize(
    "text, key",
    [
        ('[scenario]\nname = "x"\n[cohort]\nivf_share = nan\n', "cohort.ivf_share"),
        ('[scenario]\nname = "x"\n[cohort]\nivf_share = inf\n', "cohort.ivf_share"),
        ('[scenario]\nname = "x"\n[cohort.strata]\nKN = 0.9\n', "cohort.strata"),
        (
            '[scenario]\nname = "x"\n[cohort.age]\nKN = { mean = 50, sd = 3, min = 22, max = 43 }\n',
            "cohort.age.KN",
        ),
        (
            '[scenario]\nname = "x"\n[cohort.immune]\ncytotoxicity_rule = "anyy"\n',
            "cohort.immune.cytotoxicity_rule",
        ),
        ('[scenario]\nname = "x"\n[trial]\ncontrol_lbr = 0.6\n', "trial"),
        ('[scenario]\nname = "x"\n[outcome]\nadherence = 0.9\n', "outcome"),
        ("[scenario]\nseed = 1\n", "scenario.name"),
        ('[scenario]\nname = "x"\ncohort = 3\n', "scenario.cohort"),
    ],
)
def test_bad_values_name_their_key(tmp_path, text, key):
    p = _write(tmp_path, text)
    probs = _problems(p)
    assert all(m.startswith(f"{p}: ") for m in probs)
    assert any(key in m for m in probs), probs


@pytest.mark.parametrize(
    "content, phrase",
    [
        (b"", "is empty"),
        (b"[scenario\nname=1", "TOML syntax error"),
        (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "not UTF-8"),
    ],
)
def test_broken_files(tmp_path, content, phrase):
    p = tmp_path / "b.toml"
    p.write_bytes(content)
    (msg,) = _problems(p)
    assert phrase in msg and str(p) in msg
    assert "\n" not in msg


def test_missing_file_and_directory(tmp_path):
    assert "no such file" in _problems(tmp_path / "nope.toml")[0]
    assert "is a directory" in _problems(tmp_path)[0]


def test_extends_merges_and_detects_cycles(tmp_path):
    _write(tmp_path, '[scenario]\nname = "base"\n[cohort]\nn = 100\nivf_share = 0.3\n', "base.toml")
    child = _write(
        tmp_path, 'extends = "base.toml"\n[scenario]\nname = "child"\n[cohort]\nn = 50\n', "child.toml"
    )
    sc = load_scenario(child)
    assert (sc.name, sc.cohort.n, sc.cohort.ivf_share) == ("child", 50, 0.3)
    a = _write(tmp_path, 'extends = "b.toml"\n[scenario]\nname = "a"\n', "a.toml")
    _write(tmp_path, 'extends = "a.toml"\n[scenario]\nname = "b"\n', "b.toml")
    assert "cycle" in _problems(a)[0]


def test_extends_cannot_leave_the_folder(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    _write(tmp_path, '[scenario]\nname = "x"\n', "outside.toml")
    p = _write(sub, 'extends = "../outside.toml"\n[scenario]\nname = "y"\n')
    assert "own folder" in _problems(p)[0]


def test_overrides_are_validated():
    assert parse_overrides(["cohort.n=10", "scenario.name=abc"]) == {
        "cohort": {"n": 10},
        "scenario": {"name": "abc"},
    }
    sc = load_scenario(SCENARIOS / "paper.toml", ["cohort.n=1000"])
    assert sc.cohort.n == 1000
    probs = _problems(SCENARIOS / "paper.toml", overrides=["cohort.n=-5"])
    assert "cohort.n == -5" in probs[0]
    with pytest.raises(ScenarioError, match="KEY=VALUE"):
        parse_overrides(["cohort.n"])


def test_every_shipped_scenario_validates():
    for f in sorted(SCENARIOS.glob("*.toml")):
        assert load_scenario(f).name


# ----------------------------------------------------------------------------- what is read (issue 20)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "f.toml"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    (msg,) = _problems(fifo)
    assert msg == f"{fifo}: is not a regular file (a FIFO); give a .toml scenario file."
    child = _write(tmp_path, 'extends = "f.toml"\n[scenario]\nname = "x"\n', "child.toml")
    (msg,) = _problems(child)
    assert msg.startswith(f"{child} (extends f.toml): is not a regular file (a FIFO)")
    assert time.perf_counter() - t0 < 1


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_is_refused_before_it_is_read():
    (msg,) = _problems("/dev/zero")
    assert msg == "/dev/zero: is not a regular file (a character device); give a .toml scenario file."


def test_a_file_over_the_size_cap_is_refused(tmp_path):
    p = tmp_path / "big.toml"
    p.write_text('[scenario]\nname = "x"\n' + "#" * 1_200_000 + "\n")
    (msg,) = _problems(p)
    assert msg.startswith(f"{p}: is 1.2 MB, larger than the 1 MiB a scenario may be")
    assert MAX_SCENARIO_BYTES == 2**20


def test_a_symlink_loop_is_one_line(tmp_path):
    loop = tmp_path / "loop.toml"
    loop.symlink_to(loop)
    (msg,) = _problems(loop)
    assert msg == f"{loop}: is a symbolic link loop; give the path of a .toml scenario."
    child = _write(tmp_path, 'extends = "loop.toml"\n[scenario]\nname = "x"\n', "child.toml")
    (msg,) = _problems(child)
    assert "symbolic link loop" in msg and msg.startswith(str(child))


@pytest.mark.parametrize(
    "value",
    ["[" * 3000 + "]" * 3000, "{ a = " * 3000 + "1" + " }" * 3000, "[" * 20 + "]" * 20],
    ids=["arrays-3000", "inline-tables-3000", "arrays-20"],
)
def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path, value):
    p = _write(tmp_path, f'[scenario]\nname = "x"\n[cohort]\nx = {value}\n')
    (msg,) = _problems(p)
    assert msg.startswith(f"{p}: ")
    assert f"at most {MAX_NESTING_DEPTH} levels" in msg or f"more than the {MAX_NESTING_DEPTH}" in msg


def test_3000_nested_table_headers_are_one_line(tmp_path):
    p = _write(tmp_path, '[scenario]\nname = "x"\n[' + ".".join(["a"] * 3000) + "]\nb = 1\n")
    (msg,) = _problems(p)
    assert msg.startswith(f"{p}: a.a.a.a") and "3000 levels deep, more than the 16" in msg
    assert len(msg) < 300


def test_nesting_depth_counts_tables_and_arrays():
    assert nesting_depth({"sweep": {"grid": {"trial.alpha": [0.1]}}}) == (3, 'sweep.grid."trial.alpha"')
    # The documented "the shipped ones: 5" (prior.alternatives.<name>.control_lbr.quantiles).
    for f in sorted(SCENARIOS.glob("*.toml")):
        assert nesting_depth(tomllib.loads(f.read_text()))[0] <= 5, f


def test_a_1500_file_extends_chain_is_one_line(tmp_path):
    for i in range(1500):
        parent = f'extends = "c{i + 1}.toml"\n' if i < 1499 else ""
        (tmp_path / f"c{i}.toml").write_text(f'{parent}[scenario]\nname = "c{i}"\n')
    (msg,) = _problems(tmp_path / "c0.toml")
    assert msg.startswith(
        f"{tmp_path / 'c0.toml'}: the extends chain has more than {MAX_EXTENDS_DEPTH} files"
    )
    # exactly at the limit: accepted
    (tmp_path / f"c{MAX_EXTENDS_DEPTH - 1}.toml").write_text('[scenario]\nname = "last"\n')
    assert load_scenario(tmp_path / "c0.toml").name == "c0"


def test_nul_bytes_and_long_values_are_one_short_line(tmp_path):
    p = tmp_path / "nul.toml"
    p.write_bytes(b'[scenario]\nname = "a\x00b"\n')
    (msg,) = _problems(p)
    assert "TOML syntax error" in msg and "\x00" not in msg
    p = _write(tmp_path, '[scenario]\nname = "a\\u0000b"\n')
    (msg,) = _problems(p)
    assert 'scenario.name == "a\\u0000b"' in msg
    p = _write(tmp_path, '[scenario]\nname = "' + "x" * 100_000 + '"\n')
    (msg,) = _problems(p)
    assert 'scenario.name == "' + "x" * 59 + "…, must be" in msg and len(msg) < 400


# ----------------------------------------------------------------------------- echoed values
def test_control_characters_never_split_a_problem(tmp_path):
    p = _write(
        tmp_path,
        '[scenario]\nname = "x"\n"a\\nb" = 1\ndescription = "ok"\n'
        '[trial]\ncontrol_lbr = 0.6\ntreatment_lbr = 0.75\nanalysis = "chi2\\nfisher"\n',
    )
    probs = _problems(p)
    assert len(probs) == 2 and all("\n" not in m for m in probs)
    assert f'{p}: scenario."a\\nb" is not a known key' in probs[0]
    assert 'trial.analysis == "chi2\\nfisher", must be one of' in probs[1]


def test_dates_are_echoed_in_toml_form(tmp_path):
    (msg,) = _problems(_write(tmp_path, "[scenario]\nname = 1979-05-27\n"))
    assert msg == f"{tmp_path / 's.toml'}: scenario.name == 1979-05-27, must be a string."


# ----------------------------------------------------------------------------- the command line
def test_set_problems_name_the_flag_not_the_file(tmp_path):
    p = _write(tmp_path, '[scenario]\nname = "x"\n[trial]\ncontrol_lbr = 0.6\ntreatment_lbr = 0.75\n')
    probs = _problems(p, overrides=["trial.alpha=2", "cohort.n=5", "trial.foo.bar=1"])
    assert probs == [
        "--set trial.foo.bar=1: trial.foo is not a known key; allowed here: "
        + ", ".join(f.name for f in dataclasses.fields(TrialParams))
        + ".",
        "--set trial.alpha=2: trial.alpha == 2.0, must be in (0, 0.5].",
    ]
    (msg,) = _problems(p, overrides=["scenario.seed=-1"], flags={"scenario.seed": "--seed -1"})
    assert msg.startswith("--seed -1: scenario.seed == -1, must be in [0, ")
    # a rule across a file key and a flag's key names both
    (msg,) = _problems(p, overrides=["trial.control_lbr=0.8"])
    assert msg.startswith(f"{p} (with --set trial.control_lbr=0.8): trial.treatment_lbr == 0.75 is below")
    (msg,) = _problems(p, overrides=["scenario.seed=a\nb=c"])
    assert msg == '--set scenario.seed=a\\nb=c: scenario.seed == "a\\nb=c", must be an integer.'


def test_bad_set_items_are_echoed_on_one_line():
    with pytest.raises(ScenarioError) as exc:
        parse_overrides(["trial\nalpha"])
    assert exc.value.problems == ["--set trial\\nalpha: must be KEY=VALUE, e.g. --set trial.alpha=0.025."]
    with pytest.raises(ScenarioError, match=r"nests too deep|levels deep"):
        parse_overrides(["cohort.x=" + "[" * 3000 + "]" * 3000])


# ----------------------------------------------------------------------------- cross-field rules at load
TRIAL = '[scenario]\nname = "x"\n[trial]\n'
NI = (
    'control_lbr = {control}\ntreatment_lbr = {treated}\ndesign = "non-inferiority"\n'
    'margin = {margin}\nalternative = "larger"'
)


@pytest.mark.parametrize(
    "trial, start, phrase",
    [
        (
            "control_lbr = 0.6\ntreatment_lbr = 0.5",
            "trial.treatment_lbr == 0.5 is below trial.control_lbr == 0.6",
            "can never reach trial.power == 0.8",
        ),
        (
            "control_lbr = 0.6\ntreatment_lbr = 0.6",
            "trial.treatment_lbr == 0.6 equals trial.control_lbr == 0.6",
            "power stays at trial.alpha",
        ),
        (
            "control_lbr = 0.6\nivig_odds_ratio = 1.0",
            "trial.ivig_odds_ratio == 1.0 means no effect",
            "never reach",
        ),
        (
            "control_lbr = 0.6\nivig_odds_ratio = 0.5",
            "trial.ivig_odds_ratio == 0.5 is below 1",
            "never reach",
        ),
        (
            'control_lbr = 0.6\ntreatment_lbr = 0.7\nalternative = "smaller"',
            "trial.treatment_lbr == 0.7 is above trial.control_lbr",
            "lower rate on IVIG",
        ),
        (
            NI.format(control=0.6, treated=0.45, margin=0.1),
            "trial.treatment_lbr == 0.45 is at or below trial.control_lbr - trial.margin == 0.5",
            "non-inferiority",
        ),
        (
            NI.format(control=0.3, treated=0.3, margin=0.4),
            "trial.margin == 0.4 is not below trial.control_lbr == 0.3",
            "above 0",
        ),
    ],
    ids=["below", "equal", "or-one", "or-below", "smaller-above", "ni-below-bound", "ni-margin"],
)
def test_designs_with_no_possible_success_are_refused_at_load(tmp_path, trial, start, phrase):
    p = _write(tmp_path, TRIAL + trial + "\n")
    t0 = time.perf_counter()
    (msg,) = _problems(p)
    assert time.perf_counter() - t0 < 0.5
    assert msg.startswith(f"{p}: {start}") and phrase in msg, msg


def test_the_hang_case_fails_at_load_through_the_cli(capsys):
    t0 = time.perf_counter()
    rc = main(
        [
            "power",
            str(SCENARIOS / "trial_superiority.toml"),
            "--set",
            "trial.treatment_lbr=0.5",
            "--set",
            "trial.control_lbr=0.6",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and time.perf_counter() - t0 < 1
    assert err[0].startswith(
        "--set trial.treatment_lbr=0.5: trial.treatment_lbr == 0.5 is below trial.control_lbr == 0.6"
    )


@pytest.mark.parametrize(
    "extra, trial, start",
    [
        (
            "[cohort.strata]\nKN = 0.5\nKA = 0\nIN = 0.5\nIA = 0\n",
            "",
            'trial.population == "abnormal" has no eligible women: cohort.strata.KA == 0 and '
            "cohort.strata.IA == 0; give KA or IA a positive share",
        ),
        (
            "[cohort.strata]\nKN = 0.5\nKA = 0.5\nIN = 0\nIA = 0\n",
            'population = "idiopathic"\n',
            'trial.population == "idiopathic" has no eligible women: cohort.strata.IN == 0 and '
            "cohort.strata.IA == 0",
        ),
        (
            "",
            "min_previous_miscarriages = 11\n",
            'trial.min_previous_miscarriages == 11 leaves trial.population == "abnormal" no eligible '
            "women (cohort.previous_miscarriages.KA.max == 8, cohort.previous_miscarriages.IA.max "
            "== 7); lower it to at most 8",
        ),
    ],
    ids=["no-abnormal-strata", "no-idiopathic-strata", "too-many-losses"],
)
def test_a_trial_population_without_women_is_refused_at_load(tmp_path, extra, trial, start):
    p = _write(tmp_path, f"{TRIAL}control_lbr = 0.6\ntreatment_lbr = 0.75\n{trial}{extra}")
    (msg,) = _problems(p)
    assert msg.startswith(f"{p}: {start}"), msg


def test_population_strata_agree_with_the_trial_stage():
    assert POPULATION_STRATA == POPULATIONS
