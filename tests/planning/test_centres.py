"""rplsim.find_centres and ``rplsim centres`` (issue 17 groundwork)."""

from __future__ import annotations

import pytest

from rplsim import find_centres, load_scenario
from rplsim.exceptions import ScenarioError
from rplsim.planning.centres import randomised_share, scenario_accrual


def test_paper_trial_centres_for_three_years_closed_form_and_simulated_agree():
    """The closed form's answer; the simulation (same model, 20,000 trials) gives the same number
    of centres: P at 7 centres is 0.563 and at 8 is 0.973, each more than 20 SE from 0.8."""
    sc = load_scenario("scenarios/paper.toml")
    closed = find_centres(sc, years=3)
    sim = find_centres(sc, years=3, method="simulated")
    assert closed.method == "closed form" and sim.method.startswith("simulated")
    assert closed.n_randomised == 166 and closed.centres == sim.centres
    below = closed.curve.set_index("centres").probability[closed.centres - 1]
    assert below < 0.8 <= closed.achieved
    assert (
        abs(sim.achieved - closed.achieved) <= 4 * (closed.achieved * (1 - closed.achieved) / 20_000) ** 0.5
    )


def test_the_funnel_share_is_feasibility_s():
    """Women randomised per woman seen: the same funnel as the feasibility table (its ratio)."""
    from rplsim import feasibility, simulate_power

    sc = load_scenario("scenarios/paper.toml")
    f = feasibility(sc, simulate_power(sc, n_per_arm=83, replicates=1024))
    assert randomised_share(sc) == pytest.approx(f.n_randomised / f.n_screened, rel=2e-3)  # rounding up
    assert scenario_accrual(sc, centres=4).centres == 4


def test_slow_opening_needs_more_centres_and_the_impossible_is_one_line():
    sc = load_scenario(
        "scenarios/paper.toml",
        {"recruitment": {"centre_rate_cv": 0.5, "activation_months": 12, "months_to_pregnancy": 6}},
    )
    slow = find_centres(sc, years=3, replicates=2000)
    assert slow.centres > find_centres(load_scenario("scenarios/paper.toml"), years=3).centres
    with pytest.raises(ScenarioError, match="even 1000 centres"):
        find_centres(sc, years=0.05, replicates=500)


def test_cli_answers_and_bad_years_exit_2(capsys):
    from rplsim.app.cli import main

    assert main(["centres", "scenarios/paper.toml", "--years", "3"]) == 0
    assert "needs 8 centres" in capsys.readouterr().out
    assert main(["centres", "scenarios/paper.toml", "--years", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--years" in err[0]
