"""rplsim.outputs.folder: the atomic results folder, its manifest and the table writer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rplsim import ResultsExistError
from rplsim.outputs.folder import (
    check_target,
    results_folder,
    round_significant,
    sha256_file,
    write_csv,
    write_manifest,
)


# ----------------------------------------------------------------------------- results folder
def test_results_folder_writes_manifest_with_hashes(tmp_path):
    final = tmp_path / "out" / "demo"
    with results_folder(final, manifest={"seed": 5}) as folder:
        folder.table("t", pd.DataFrame({"a": [1, 2]}), parquet=False)
        folder.text("sub/note.md", "hello\n")
        assert not final.exists(), "nothing at the target until the end"
    manifest = json.loads((final / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 5
    assert [f["name"] for f in manifest["files"]] == ["t.csv", "sub/note.md"]
    for f in manifest["files"]:
        assert sha256_file(final / f["name"]) == f["sha256"]
        assert (final / f["name"]).stat().st_size == f["bytes"]
    assert {"started", "finished", "versions", "command_line"} <= set(manifest)
    assert sorted(p.name for p in final.parent.iterdir()) == ["demo"]


def test_results_folder_failure_leaves_nothing(tmp_path):
    final = tmp_path / "demo"
    with pytest.raises(RuntimeError), results_folder(final) as folder:
        folder.text("a.txt", "x")
        raise RuntimeError("stage failed")
    assert list(tmp_path.iterdir()) == []


def test_results_folder_interrupt_leaves_old_copy_intact(tmp_path):
    final = tmp_path / "demo"
    with results_folder(final) as folder:
        folder.text("a.txt", "old")
    with pytest.raises(KeyboardInterrupt), results_folder(final, force=True) as folder:
        folder.text("a.txt", "new")
        raise KeyboardInterrupt
    assert (final / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_results_folder_exists_needs_force(tmp_path):
    final = tmp_path / "demo"
    final.mkdir()
    with pytest.raises(ResultsExistError, match="exists"), results_folder(final):
        pass  # pragma: no cover
    with results_folder(final, force=True) as folder:
        folder.text("b.txt", "y")
    assert (final / "b.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


# ----------------------------------------------------------------------------- table writer
def test_write_csv_is_blind_below_twelve_digits(tmp_path):
    """Differences at the 1e-15 level (another BLAS kernel) cannot change a byte."""
    base = np.array([0.1 + 0.2, 1 / 3, 2.5e-7, 1100.0, 123456.789012345, np.nan, np.inf])
    noisy = base * (1 + 4e-16)  # one ulp: what another summation order gives
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_csv(pd.DataFrame({"x": base, "k": range(7), "s": list("abcdefg")}), a)
    write_csv(pd.DataFrame({"x": noisy, "k": range(7), "s": list("abcdefg")}), b)
    assert a.read_bytes() == b.read_bytes()
    back = pd.read_csv(a)
    np.testing.assert_allclose(back["x"], base, rtol=5e-12)  # half a unit in the 12th digit
    assert back["k"].tolist() == list(range(7))


def test_round_significant_keeps_types_and_object_columns():
    df = pd.DataFrame({"f": [2 / 3, np.nan], "i": [1, 2], "b": [True, False], "o": [1100.0000000001, "text"]})
    out = round_significant(df)
    assert out.dtypes.tolist() == df.dtypes.tolist()
    assert out["f"].iloc[0] == 0.666666666667 and np.isnan(out["f"].iloc[1])
    assert out["o"].tolist() == [1100.0, "text"]
    assert df["o"].iloc[0] == 1100.0000000001, "the input is not modified"


# ----------------------------------------------------------------------------- manifest
def test_write_manifest_lists_files_last_and_replaces_atomically(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    write_manifest(tmp_path, {"kind": "demo"}, ["a.csv"])
    (tmp_path / "a.csv").write_text("x\n2\n")
    path = write_manifest(tmp_path, {"kind": "demo", "n": 2}, ["a.csv"])
    m = json.loads(path.read_text(encoding="utf-8"))
    assert list(m) == ["kind", "n", "files"]
    assert m["files"] == [{"name": "a.csv", "bytes": 4, "sha256": sha256_file(tmp_path / "a.csv")}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "manifest.json"]


def test_check_target(tmp_path):
    assert check_target(str(tmp_path / "new")) == tmp_path / "new"
    with pytest.raises(ResultsExistError, match="--force"):
        check_target(tmp_path)
    assert check_target(tmp_path, force=True) == tmp_path


def test_force_never_replaces_a_folder_that_is_not_rplsims(tmp_path):
    """Issue 20: --force deleted a decoy folder holding .bashrc; now it is refused, untouched."""
    from rplsim.exceptions import ResultsExistError
    from rplsim.outputs.folder import check_target, results_folder

    decoy = tmp_path / "home"
    decoy.mkdir()
    (decoy / ".bashrc").write_text("keep me")
    with pytest.raises(ResultsExistError, match="not an rplsim results folder"):
        check_target(decoy, force=True)
    with (
        pytest.raises(ResultsExistError, match="not an rplsim results folder"),
        results_folder(decoy, force=True),
    ):
        pass
    assert (decoy / ".bashrc").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]  # no .tmp- left beside it
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ResultsExistError):
        check_target(tmp_path / "a_file", force=True)
    (tmp_path / "empty").mkdir()
    assert check_target(tmp_path / "empty", force=True) == tmp_path / "empty"
    with results_folder(tmp_path / "ours") as f:
        f.table("t", pd.DataFrame({"x": [1.0]}))
    assert check_target(tmp_path / "ours", force=True) == tmp_path / "ours"
