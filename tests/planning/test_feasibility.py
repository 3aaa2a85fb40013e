"""rplsim.planning.feasibility: the screening funnel arithmetic."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rplsim import load_scenario
from rplsim.exceptions import ScenarioError
from rplsim.planning.feasibility import feasibility, screening_funnel
from rplsim.trial.power import simulate_power
from rplsim.trial.simulation import REPLICATE_BLOCK, trial_design

from ..conftest import SCENARIOS


@pytest.fixture(scope="module")
def superiority():
    return load_scenario(SCENARIOS / "trial_superiority.toml")


@pytest.fixture(scope="module")
def result(superiority):
    """The analytic design of trial_superiority (139 per arm), one block of trials."""
    return simulate_power(superiority, 139, REPLICATE_BLOCK, seed=1)


def _with_centres(scenario, centres: int):
    return scenario.replace(recruitment=dataclasses.replace(scenario.recruitment, centres=centres))


# ------------------------------------------------------------------ feasibility arithmetic


def test_funnel_arithmetic(superiority, result) -> None:
    """screened = randomised / (consent x eligible share x pregnancy share x work-up share),
    years = screened / (centres x RPL women per centre-year); exact up to rounding up."""
    f = feasibility(superiority, result)
    rec = superiority.recruitment
    share = trial_design(superiority).eligible_share
    n = result.n_total
    screened = n / (rec.consent_share * share * rec.pregnancy_share * rec.workup_share)
    assert f.n_randomised == n == 278
    assert 0 <= f.n_screened - screened < 1 + 1e-9
    assert f.years_to_recruit == pytest.approx(
        screened / (rec.centres * rec.rpl_women_per_centre_year), rel=1e-12
    )
    assert 0 <= f.n_eligible - n / rec.consent_share < 1 + 1e-9
    assert f.eligible_share == share
    assert f.expected_dropouts == pytest.approx(n * superiority.trial.dropout)
    assert f.ivig_grams_total == pytest.approx(result.mean_ivig_grams_per_woman * n)
    assert f.ivig_cost_total == pytest.approx(f.ivig_grams_total * superiority.clinic.ivig_price_per_g)
    # By hand: 278 / (0.5 x 0.422747 x 0.6459 x 0.8298) = 2453.9 women -> 2454, and
    # 2453.9 / 70.5 = 34.81 years at one centre (Figure 1 rates, Table 1 strata shares).
    assert f.n_screened == 2454
    assert f.years_to_recruit == pytest.approx(34.81, abs=0.01)


def test_funnel_narrows(superiority, result) -> None:
    f = feasibility(superiority, result)
    funnel = screening_funnel(f)
    assert list(funnel["n"]) == sorted(funnel["n"], reverse=True)
    assert funnel["n"].iloc[-1] == f.n_randomised
    table = f.as_frame()
    assert set(table.columns) == {"quantity", "value", "unit"}


@given(centres=st.integers(1, 60), more=st.integers(1, 40))
def test_years_fall_with_centres(superiority, result, centres: int, more: int) -> None:
    """More centres: same women to screen, fewer years, years x centres constant (exact)."""
    a = feasibility(_with_centres(superiority, centres), result)
    b = feasibility(_with_centres(superiority, centres + more), result)
    assert a.n_screened == b.n_screened
    assert b.years_to_recruit < a.years_to_recruit
    assert a.years_to_recruit * centres == pytest.approx(b.years_to_recruit * (centres + more), rel=1e-12)


def test_feasibility_needs_a_trial(superiority, result) -> None:
    with pytest.raises(ScenarioError, match="no \\[trial\\] section"):
        feasibility(superiority.replace(trial=None), result)


# ------------------------------------------------------------------ whole women (issue 13)


def test_whole_women_rule() -> None:
    """The count rule of the module doc: float noise above or below an integer is that integer,
    a real fraction of a woman rounds up. At the largest trials (MAX_N_PER_ARM = 1e6 per arm,
    ~4e7 women screened) one ulp is 7.5e-9, so the old absolute guard ceil(x - 1e-9) turned
    one ulp of noise into an extra woman; the relative tolerance does not."""
    import math

    from rplsim.planning.feasibility import whole_women

    for k in (1100, 1703, 40_000_001):
        above = math.nextafter(float(k), math.inf)
        below = math.nextafter(float(k), -math.inf)
        assert whole_women(above) == whole_women(below) == whole_women(float(k)) == k
        assert math.ceil(above - 1e-9) == k + (k > 10**7)  # the old rule, wrong at 4e7
    assert whole_women(1100.2) == 1101 and whole_women(1100.0001) == 1101
    assert whole_women(0.0) == 0 and whole_women(0.3) == 1


def test_feasibility_table_counts_are_integers(superiority, result) -> None:
    """issue 13: the feasibility table held every count as a float (2454.0); counts of women
    are ints, years and dropouts the decimals they are."""
    table = feasibility(superiority, result).as_frame().set_index("quantity")["value"]
    for q in ("women to screen (RPL women seen)", "eligible", "randomised", "  control arm", "IVIG, total"):
        assert type(table[q]) is int, (q, table[q])
    assert table["women to screen (RPL women seen)"] == 2454
    assert type(table["years to recruit"]) is float


def test_feasibility_csv_counts_are_integers(superiority, result, tmp_path) -> None:
    """feasibility.csv writes the counts as integers ("2454", not "2454.0")."""
    from rplsim.outputs.folder import write_csv

    f = feasibility(superiority, result)
    write_csv(f.as_frame(), tmp_path / "feasibility.csv")
    lines = (tmp_path / "feasibility.csv").read_text().splitlines()
    values = {line.rsplit(",", 2)[0].strip('"'): line.rsplit(",", 2)[1] for line in lines[1:]}
    assert values["women to screen (RPL women seen)"] == "2454"
    for q in ("eligible", "randomised", "  control arm", "  IVIG arm", "IVIG, total"):
        assert values[q].isdigit(), (q, values[q])
    assert values["years to recruit"] == f"{round(f.years_to_recruit, 2)}"
    assert values["expected dropouts"] == "27.8"
