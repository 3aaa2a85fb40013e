"""``rplsim cohort``: --codebook, --format csv|parquet, --with-outcomes, and no warning."""

from __future__ import annotations

import io
import signal
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rplsim import COLUMNS, calibrate, generate_cohort
from rplsim.app import cli
from rplsim.app.cli import PARQUET_MISSING, main
from rplsim.cohort.codebook import OUTCOME_SCHEMA
from rplsim.cohort.distributions import discrete_maxent
from rplsim.cohort.model import _cohort_model_cached
from rplsim.timeline import simulate_twin

ROOT = Path(__file__).resolve().parents[2]
PAPER = ROOT / "scenarios" / "paper.toml"


@pytest.fixture(autouse=True)
def _keep_sigterm_handler():
    old = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, old)


def _no_generation(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("no cohort may be generated")

    monkeypatch.setattr(cli, "generate_cohort", fail)


def test_codebook_prints_the_docs_and_generates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _no_generation(monkeypatch)
    assert main(["cohort", str(PAPER), "--codebook", "--format", "parquet"]) == 0
    out = capsys.readouterr().out
    assert out == (ROOT / "docs" / "cohort.md").read_text(encoding="utf-8")
    assert list(tmp_path.iterdir()) == []


def test_default_is_csv_on_stdout_with_the_schema_columns(capsys):
    assert main(["--quiet", "cohort", str(PAPER), "-n", "6"]) == 0
    df = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(df.columns) == list(COLUMNS) and len(df) == 6
    assert df["age"].astype(str).str.fullmatch(r"\d+\.\d").all()  # 0.1 year, not 16 digits


def test_parquet_without_pyarrow_is_one_line_exit_2_nothing_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` raises ImportError
    monkeypatch.chdir(tmp_path)
    _no_generation(monkeypatch)
    for extra in (["--format", "parquet"], ["--format", "parquet", "-o", "c.pq"], ["-o", "c.parquet"]):
        assert main(["cohort", str(PAPER), *extra]) == 2
        assert capsys.readouterr().err.splitlines() == [PARQUET_MISSING]
    assert list(tmp_path.iterdir()) == []


def test_parquet_to_stdout_is_refused(monkeypatch, capsys):
    pytest.importorskip("pyarrow")
    _no_generation(monkeypatch)
    assert main(["cohort", str(PAPER), "--format", "parquet", "-o", "-"]) == 2
    assert "binary" in capsys.readouterr().err


def test_parquet_keeps_values_and_types(tmp_path, monkeypatch, paper):
    pytest.importorskip("pyarrow")
    monkeypatch.chdir(tmp_path)
    assert main(["--quiet", "cohort", str(PAPER), "-n", "50", "--format", "parquet"]) == 0
    back = pd.read_parquet(tmp_path / "cohort.parquet")  # the default name follows the format
    pd.testing.assert_frame_equal(back, generate_cohort(paper, n=50), check_categorical=False)
    assert isinstance(back["stratum"].dtype, pd.CategoricalDtype)
    # -o NAME.parquet without --format: the format follows the name
    assert main(["--quiet", "cohort", str(PAPER), "-n", "7", "-o", "x.parquet", "--with-outcomes"]) == 0
    back = pd.read_parquet(tmp_path / "x.parquet")
    assert len(back) == 7 and isinstance(back["outcome"].dtype, pd.CategoricalDtype)


def test_with_outcomes_adds_the_twins_columns_row_for_row(tmp_path, paper):
    target = tmp_path / "c.csv"
    assert main(["--quiet", "cohort", str(PAPER), "-n", "300", "--with-outcomes", "-o", str(target)]) == 0
    df = pd.read_csv(target)
    assert list(df.columns) == [*COLUMNS, *(c.column for c in OUTCOME_SCHEMA)]
    cohort = generate_cohort(paper, n=300)
    twin = simulate_twin(cohort, paper)
    assert (df["outcome"] == twin["outcome"].astype(str)).all()
    np.testing.assert_allclose(df["ivig_grams"], twin["ivig_grams"], atol=0.05 + 1e-9)
    assert (df.loc[df["immunity"] == "normal", "ivig_grams"] == 0).all()  # Section 2.3
    assert (df["outcome_week"] == df["outcome_week"].round(1)).all()


def test_outcome_schema_is_every_outcome_column_of_the_twin(paper):
    from rplsim.outcome.model import FATES

    twin = simulate_twin(generate_cohort(paper, n=20), paper)
    in_cohort = {"patient_id", "stratum", "conception"}  # already columns of the cohort
    assert [c.column for c in OUTCOME_SCHEMA] == [c for c in twin.columns if c not in in_cohort]
    levels = next(c.generated for c in OUTCOME_SCHEMA if c.column == "outcome")
    assert all(f'"{f}"' in levels for f in FATES)


def test_cohort_and_calibrate_emit_no_calibration_warning(tmp_path, paper, capsys):
    """Any warning is an error here: main() would exit 1 and calibrate() raise; the parity SD
    that {0, 1} cannot reach is a row of the table instead, with its reason."""
    discrete_maxent.cache_clear()  # solve afresh, as a new process does
    _cohort_model_cached.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["--quiet", "cohort", str(PAPER), "-n", "5", "-o", str(tmp_path / "c.csv")]) == 0
        tab = calibrate(paper, replicates=2, seed=1)
    parity = tab[tab["target"] == "parity SD KA"].iloc[0]
    assert parity["reason"].startswith("unreachable on the support {0, 1}")
    assert "warning" not in capsys.readouterr().err
