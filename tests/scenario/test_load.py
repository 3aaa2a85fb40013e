"""Scenario loading: every problem named with file, key, value and rule."""

from __future__ import annotations

import pytest

from rplsim import ScenarioError, load_scenario
from rplsim.scenario.load import parse_overrides

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
