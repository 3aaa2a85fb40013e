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


# ----------------------------------------------------------------------------- lock and repair
def _ours(final, text="old"):
    with results_folder(final) as f:
        f.text("a.txt", text)


def test_a_second_writer_is_refused_at_once_while_the_lock_is_held(tmp_path):
    import os

    from rplsim.outputs.folder import locked_target

    final = tmp_path / "demo"
    with locked_target(final):
        assert (tmp_path / ".demo.rplsim-lock").read_text().strip() == str(os.getpid())
        with (
            pytest.raises(
                ResultsExistError, match=rf"another rplsim run \(pid {os.getpid()}\) is writing it"
            ),
            results_folder(final, force=True),
        ):
            pass  # pragma: no cover
        assert not final.exists()
    assert list(tmp_path.iterdir()) == [], "the holder removes its lock file"
    _ours(final)  # free again
    assert (final / "a.txt").read_text() == "old"


def test_stale_temporary_folders_of_a_killed_run_are_removed_and_reported(tmp_path):
    final = tmp_path / "demo"
    (tmp_path / ".tmp-demo-4242-deadbeef").mkdir()
    (tmp_path / ".tmp-demo-4242-deadbeef" / "cohort.csv").write_text("half")
    (tmp_path / ".tmp-demo-2-4242-deadbeef").mkdir()  # the temporary folder of target "demo-2"
    said: list[str] = []
    with results_folder(final, say=said.append) as f:
        f.text("a.txt", "x")
    assert said == [f"removed 1 stale temporary folder(s) of a killed run beside {final}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-demo-2-4242-deadbeef", "demo"]


def test_a_kill_between_the_two_renames_is_restored_by_the_next_run(tmp_path, monkeypatch):
    """--force renames the old folder aside, then the new one in: killed between the two, the
    next run to that target puts the old results back first."""
    from pathlib import Path

    final = tmp_path / "demo"
    _ours(final, "old")
    real = Path.rename

    def killed_at_the_second(self, target):
        if self.name.startswith(".tmp-"):
            raise KeyboardInterrupt  # the process dies here
        return real(self, target)

    monkeypatch.setattr(Path, "rename", killed_at_the_second)
    with pytest.raises(KeyboardInterrupt), results_folder(final, force=True) as f:
        f.text("a.txt", "new")
    monkeypatch.setattr(Path, "rename", real)
    olds = [p.name for p in tmp_path.iterdir()]
    assert not final.exists() and len(olds) == 1 and olds[0].startswith(".old-demo-")
    said: list[str] = []
    with pytest.raises(ResultsExistError, match="exists"), results_folder(final, say=said.append):
        pass  # pragma: no cover
    assert said == [
        f"restored the previous results of {final} from {olds[0]}: a run was killed while replacing them"
    ]
    assert (final / "a.txt").read_text() == "old"
    # an .old- folder beside a complete target (killed while deleting it) is removed
    (tmp_path / ".old-demo-77").mkdir()
    with results_folder(final, force=True, say=said.append) as f:
        f.text("a.txt", "new")
    assert said[-1] == f"removed 1 stale temporary folder(s) of a killed run beside {final}"
    assert (final / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_force_refuses_a_symbolic_link_and_leaves_it(tmp_path):
    real = tmp_path / "real"
    _ours(real)
    link = tmp_path / "link"
    link.symlink_to(real)
    with (
        pytest.raises(ResultsExistError, match="not an rplsim results folder: a symbolic link"),
        results_folder(link, force=True),
    ):
        pass  # pragma: no cover
    assert link.is_symlink() and (real / "a.txt").read_text() == "old"


# ----------------------------------------------------------------------------- output paths
def test_check_output_folder_names_the_flag_and_the_reason(tmp_path):
    from pathlib import Path

    from rplsim import ScenarioError
    from rplsim.outputs.folder import check_output_folder

    (tmp_path / "file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path)
    cases = {
        "": "--out '': must name a folder.",
        str(tmp_path / "file"): "is a file, not a folder",
        str(tmp_path / "file" / "x"): f"{tmp_path / 'file'} is a file, not a folder",
        str(tmp_path / "a\nb" / ".."): "must end in a folder name",
        str(tmp_path / ("n" * 250)): "the folder name is 250 bytes long",
        str(tmp_path / "link"): "is a symbolic link",
    }
    if Path("/proc/self").is_dir():  # Linux
        cases["/proc/rplsim-x"] = "cannot create a folder in /proc"
    for path, reason in cases.items():
        with pytest.raises(ScenarioError, match=r"^--out ") as info:
            check_output_folder("--out", path)
        assert reason in str(info.value) and "\n" not in str(info.value), (path, info.value)
    assert check_output_folder("--out", str(tmp_path / "new" / "deeper")) == tmp_path / "new" / "deeper"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "link"], "the probe is removed"


def test_check_output_file_and_atomic_file(tmp_path):
    from rplsim import ScenarioError
    from rplsim.outputs.folder import atomic_file, check_output_file

    for path, reason in {
        "": "-o '': must name a file.",
        str(tmp_path): "is a folder; give a file name",
        str(tmp_path / "missing" / "x.csv"): "does not exist; create it first",
    }.items():
        with pytest.raises(ScenarioError, match=r"^-o ") as info:
            check_output_file("-o", path)
        assert reason in str(info.value)
    assert check_output_file("-o", "/dev/stdout").name == "stdout"
    target = tmp_path / "t.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half of a new one")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
