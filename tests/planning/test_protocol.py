"""rplsim.planning.protocol: the protocol's sample-size section says the stage's own numbers.

Every expected value is read from the stage object the summary was built from (or from the
design's boundaries), never typed in: the test is that the summary cannot drift from the
computation. Stages are sized at a fixed n (no search) with one block of simulated trials.
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

from rplsim import load_scenario, size_trial
from rplsim.planning.protocol import BOUNDARY_COLUMNS, DESIGN_COLUMNS, protocol_summary
from rplsim.trial.formulas import sequential_design

from ..conftest import SCENARIOS

REPS = 1024


def _stage(name: str, n: int, *over: str):
    sc = load_scenario(SCENARIOS / name, list(over))
    return sc, size_trial(sc, n_per_arm=n, replicates=REPS, sensitivity=False)


@pytest.fixture(scope="module")
def paper_stage():
    return _stage("paper.toml", 83)


@pytest.fixture(scope="module")
def sequential_stage():
    return _stage("group_sequential.toml", 60)


def test_design_table_names_every_item_a_protocol_needs(paper_stage):
    sc, st = paper_stage
    s = protocol_summary(sc, st)
    assert tuple(s.design.columns) == DESIGN_COLUMNS
    items = list(s.design["item"])
    for needed in ("Hypotheses", "Test", "Sidedness, alpha", "Target power", "Live-birth rate, placebo",
                   "Live-birth rate, IVIG", "Allocation", "Dropout", "Analyses", "Randomised",
                   "Analysed (expected)", "Power", "Type-I error"):  # fmt: skip
        assert needed in items, needed
    value = dict(zip(s.design["item"], s.design["value"], strict=True))
    source = dict(zip(s.design["item"], s.design["source"], strict=True))
    assert value["Randomised"] == f"83 placebo + {st.power.n_treatment} IVIG = {st.power.n_total}"
    assert value["Power"] == f"{st.exact.power:.2%} exact"
    assert source["Live-birth rate, IVIG"] == sc.require_trial().treatment_lbr_source
    assert source["Live-birth rate, placebo"] == sc.require_trial().control_lbr_source
    assert all(isinstance(v, str) and v for v in s.design["value"])


def test_paragraph_states_the_stages_numbers(paper_stage):
    sc, st = paper_stage
    p = protocol_summary(sc, st).paragraph
    t = sc.require_trial()
    keep = 1 - t.dropout
    assert p.startswith(f"A total of {st.power.n_total} women (83 per arm)")
    assert f"{st.exact.power:.2%} exact power" in p
    assert f"{st.power.p_control:.1%} with placebo" in p and f"{st.power.p_treatment:.1%} with IVIG" in p
    assert f"{83 * keep:.0f} + {st.power.n_treatment * keep:.0f} analysed" in p
    assert t.control_lbr_source in p and t.treatment_lbr_source in p
    assert "searched" not in p and "smallest n" not in p, "a fixed n is not a search result"


def test_non_inferiority_names_its_comparator_and_does_not_randomise_it():
    """The paper's own claim compares two groups side by side (immunity is not randomised):
    the paragraph says enrolled, never randomised, and names the comparator, never placebo."""
    sc, st = _stage("noninferiority.toml", 60)
    s = protocol_summary(sc, st)
    comparator = sc.require_trial().comparator
    assert comparator != "placebo" and s.comparator == comparator and not sc.require_trial().randomised
    assert f"women treated with IVIG, and {comparator}." in s.paragraph
    assert "placebo" not in s.paragraph and "randomised" not in s.paragraph.replace("not randomised", "")
    assert "Enrolled" in set(s.design["item"]) and "Randomised" not in set(s.design["item"])
    assert "Farrington-Manning" in s.paragraph
    assert f"Live-birth rate, {comparator}" in set(s.design["item"])


def test_boundary_table_is_the_designs_and_the_simulations(sequential_stage):
    """z and nominal p are the design's (nominal p = one-sided tail x 2 for two-sided), alpha
    spent ends at alpha, the looks' n end at the trial's, and the per-look stopping
    probabilities add up to the simulated type-I error (H0) and bound the power (H1)."""
    sc, st = sequential_stage
    s = protocol_summary(sc, st)
    b = s.boundaries
    assert b is not None and tuple(b.columns) == BOUNDARY_COLUMNS and len(b) == 3
    d = sequential_design(sc.require_trial())
    assert list(b["z_efficacy"]) == list(d.efficacy_z)
    assert b["nominal_p"].tolist() == pytest.approx((2 * stats.norm.sf(b["z_efficacy"])).tolist(), rel=1e-12)
    assert b["cumulative_alpha"].iloc[-1] == pytest.approx(sc.require_trial().alpha, abs=1e-6)
    assert b["n_randomised"].iloc[-1] == st.power.n_total
    # stopping counts a rejection in either direction; power only IVIG's: the rest is the rare
    # rejection the wrong way, rarer under H1 than under H0
    assert st.power.power - 1e-12 <= b["stop_h1"].sum() <= st.power.power + st.power.type1_error
    assert b["stop_h0"].sum() == pytest.approx(st.power.type1_error, abs=1e-12)
    assert s.boundaries_method == f"simulated, {REPS:,} trials"
    assert s.expected_n == (st.power.expected_n_h1, st.power.expected_n_h0)
    assert f"{st.power.expected_n_h1:.0f} if IVIG works" in s.paragraph


def test_fixed_design_has_no_boundary_table(paper_stage):
    s = protocol_summary(*paper_stage)
    assert s.boundaries is None and s.expected_n is None


def test_text_and_html_show_the_same_paragraph(paper_stage):
    _, st = paper_stage
    s = st.summary()
    text, page = str(s), s._repr_html_()
    assert " ".join(text.split()).count(s.paragraph.split(". ")[0]) == 1
    assert page.count("<tr><td>") == len(s.design) and "<script" not in page
    assert repr(s).startswith("<ProtocolSummary paper: A total of")
    assert s.to_frame() is s.design


def test_stage_summary_needs_its_scenario(paper_stage):
    import dataclasses

    _, st = paper_stage
    with pytest.raises(Exception, match="pass the scenario"):
        dataclasses.replace(st, scenario=None).summary()
    assert not math.isnan(st.power.power)


def test_an_overridden_rate_does_not_keep_the_files_citation():
    """--set trial.treatment_lbr=0.9 must not be quoted as "Table 3: 159 of 197" (80.7%)."""
    sc, st = _stage("paper.toml", 40, "trial.treatment_lbr=0.9")
    s = protocol_summary(sc, st)
    source = dict(zip(s.design["item"], s.design["source"], strict=True))["Live-birth rate, IVIG"]
    assert "159 of 197" not in source and "trial.treatment_lbr = 0.9" in source
    assert "159 of 197" not in s.paragraph
    kept = dict(zip(s.design["item"], s.design["source"], strict=True))["Live-birth rate, placebo"]
    assert kept == load_scenario(SCENARIOS / "paper.toml").require_trial().control_lbr_source


def test_a_key_off_its_default_is_cited_by_its_value():
    """The schema's basis of a default ("permuted blocks of 4") is not quoted for another value."""
    sc, st = _stage("paper.toml", 60, "trial.allocation_ratio=2", "trial.block_size=3")
    source = dict(zip(*(protocol_summary(sc, st).design[c] for c in ("item", "source")), strict=True))
    assert source["Allocation"] == "trial.block_size = 3"
