"""The cohort's schema: docs/cohort.md, the generated columns, their types and precisions."""

from __future__ import annotations

import dataclasses
import difflib

import numpy as np
import pandas as pd
import pytest

from rplsim import COLUMNS, generate_cohort
from rplsim.cohort.codebook import (
    COHORT_SCHEMA,
    cohort_codebook,
    cohort_schema,
    main,
    round_column,
)

from ..conftest import ROOT

DOCS = ROOT / "docs" / "cohort.md"


@pytest.fixture(scope="module")
def cohort(paper) -> pd.DataFrame:
    return generate_cohort(paper, n=3000, seed=5)


def test_committed_codebook_is_the_generated_one():
    on_disk, fresh = DOCS.read_text(encoding="utf-8"), cohort_codebook()
    diff = "\n".join(difflib.unified_diff(on_disk.splitlines(), fresh.splitlines(), lineterm="", n=1))
    assert on_disk == fresh, f"docs/cohort.md is stale: run `python -m rplsim.cohort`.\n{diff}"


def test_schema_columns_are_the_cohort_columns_exactly(cohort):
    assert [c.column for c in COHORT_SCHEMA] == list(cohort.columns) == list(COLUMNS)


def test_schema_types_are_the_frame_types(cohort):
    kinds = {"int": "i", "float": "f", "bool": "b"}
    for c in COHORT_SCHEMA:
        dtype = cohort[c.column].dtype
        if c.dtype == "category":
            assert isinstance(dtype, pd.CategoricalDtype), c.column
        else:
            assert dtype.kind == kinds[c.dtype], (c.column, dtype)
        assert (c.decimals is None) == (c.dtype in ("bool", "category")), c.column


def test_every_float_is_rounded_to_its_precision(cohort):
    for c in COHORT_SCHEMA:
        if c.dtype == "float":
            x = cohort[c.column].to_numpy(float)
            np.testing.assert_array_equal(x, round_column(x, c), err_msg=c.column)
            # not coarser than stated either: some value uses the last decimal
            assert (np.round(x, c.decimals - 1) != x).any(), c.column


def test_codebook_quotes_the_scenario_cut_offs(paper):
    imm = dataclasses.replace(paper.cohort.immune, nk_cutoff=12.5, cytotoxicity_rule="all")
    text = cohort_codebook(dataclasses.replace(paper.cohort, immune=imm))
    assert "nk_percent > 12.5" in text and 'rule "all"' in text
    assert "nk_percent > 16.1" in cohort_codebook(paper.cohort)
    # names, types and precisions do not depend on the scenario
    other = cohort_schema(dataclasses.replace(paper.cohort, immune=imm))
    assert [(c.column, c.dtype, c.decimals) for c in other] == [
        (c.column, c.dtype, c.decimals) for c in COHORT_SCHEMA
    ]


def test_every_row_of_the_codebook_has_a_source_and_a_unit_column():
    lines = [ln for ln in cohort_codebook().splitlines() if ln.startswith("| `")]
    assert len(lines) == len(COHORT_SCHEMA) + 10  # the cohort's columns, then --with-outcomes'
    for ln in lines:
        cells = ln.strip("|").split(" | ")
        assert len(cells) == 6 and cells[5].strip(), ln


def test_main_writes_the_file_and_refuses_a_flag(tmp_path, capsys):
    assert main([str(tmp_path / "d" / "cohort.md")]) == 0
    assert (tmp_path / "d" / "cohort.md").read_text(encoding="utf-8") == cohort_codebook()
    assert main(["--bad"]) == 2 and "usage" in capsys.readouterr().err
