"""What a trial costs in the real world: women to screen, years to recruit, grams of IVIG.

The screening funnel follows the paper's (Figure 1) with the trial's own eligibility:

    RPL women seen at the centres
      × complete the immune work-up            (recruitment.workup_share: Figure 1, 819/987)
      × have an index pregnancy and attend      (recruitment.pregnancy_share: Figure 1, 529/819)
      × are eligible (strata × losses filter)   (cohort model: e.g. 197/466 abnormal)
      × consent to randomisation               (recruitment.consent_share: ASSUMPTION)
      = randomised

Years to recruit = women to screen / (centres × RPL women per centre per year).

Counts of women are whole numbers by one rule (:func:`whole_women`): the smallest integer at
least the quantity, where a quantity within :data:`COUNT_TOLERANCE` (relative) of an integer *is*
that integer. 550 randomised at a consent share of 0.5 and an eligible share of 1 are 1100
eligible women, although the float quotient may be 1100.0000000000002 (its last bit depends on
the order the shares were multiplied): a plain ``ceil`` would report 1101. Expected dropouts,
years and grams are not counts and stay real numbers (rounded in the table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from rplsim._core.display import Displayed
from rplsim.scenario import Scenario
from rplsim.trial.power import PowerResult
from rplsim.trial.recruitment import scenario_accrual
from rplsim.trial.simulation import trial_design

__all__ = ["COUNT_TOLERANCE", "Feasibility", "centres_text", "feasibility", "screening_funnel", "whole_women"]

COUNT_TOLERANCE = 1e-9
"""Relative distance to an integer below which a count of women is that integer (module doc).

Float noise in a chain of four divisions is ~1e-15 relative; a real fraction of a woman at
the sizes here (< 1e7 women) is > 1e-7 relative: 1e-9 separates the two with room on both
sides."""


@dataclass(frozen=True, repr=False)
class Feasibility(Displayed):
    """A trial design's real-world size (see the module doc).

    Examples
    --------
    >>> from rplsim import load_scenario, simulate_power
    >>> sc = load_scenario("scenarios/paper.toml")
    >>> f = feasibility(sc, simulate_power(sc, n_per_arm=80, replicates=1024))
    >>> f.n_randomised, f.n_eligible, f.to_frame().shape
    (160, 320, (11, 3))
    """

    n_randomised: int
    n_control: int
    n_treatment: int
    expected_dropouts: float
    n_screened: int
    n_worked_up: int
    n_pregnant: int
    n_eligible: int
    years_to_recruit: float
    centres: int
    ivig_grams_total: float
    ivig_cost_total: float
    currency: str
    eligible_share: float

    def as_frame(self) -> pd.DataFrame:
        """One row a quantity, with units: the table written to ``feasibility.csv``."""
        # Whole numbers stay ints in the CSV ("1100", not "1100.0"): the column holds objects.
        rows: list[tuple[str, int | float, str]] = [
            ("women to screen (RPL women seen)", self.n_screened, "women"),
            ("complete the immune work-up", self.n_worked_up, "women"),
            ("index pregnancy at the centre", self.n_pregnant, "women"),
            ("eligible", self.n_eligible, "women"),
            ("randomised", self.n_randomised, "women"),
            ("  control arm", self.n_control, "women"),
            ("  IVIG arm", self.n_treatment, "women"),
            ("expected dropouts", round(self.expected_dropouts, 1), "women"),
            ("years to recruit", round(self.years_to_recruit, 2), f"years at {centres_text(self.centres)}"),
            ("IVIG, total", round(self.ivig_grams_total), "g"),
            ("IVIG, total cost", round(self.ivig_cost_total), self.currency),
        ]
        out = pd.DataFrame(rows, columns=["quantity", "value", "unit"])
        out["value"] = pd.Series([v for _, v, _ in rows], dtype=object)
        return out

    def to_frame(self) -> pd.DataFrame:
        """:meth:`as_frame` (``feasibility.csv``)."""
        return self.as_frame()

    def _display_title(self) -> str:
        return "Feasibility"

    def _display_rows(self) -> list[tuple[str, str]]:
        return [
            ("randomised", f"{self.n_randomised:,} ({self.n_control:,} control, {self.n_treatment:,} IVIG)"),
            ("women to screen", f"{self.n_screened:,}"),
            ("years to recruit", f"{self.years_to_recruit:.1f} at {centres_text(self.centres)}"),
            ("IVIG", f"{self.ivig_grams_total / 1000:,.1f} kg, {self.ivig_cost_total:,.0f} {self.currency}"),
        ]


def centres_text(n: int) -> str:
    """``"1 centre"``, ``"3 centres"`` (the one wording of every table, sentence and figure).

    Examples
    --------
    >>> centres_text(1), centres_text(3)
    ('1 centre', '3 centres')
    """
    return f"{n} centre" if n == 1 else f"{n} centres"


def whole_women(x: float) -> int:
    """The number of women a quantity ``x`` of women stands for (the rule of the module doc).

    Parameters
    ----------
    x : float
        A non-negative quantity of women (e.g. randomised / consent share).

    Returns
    -------
    int
        ``round(x)`` when ``x`` is within :data:`COUNT_TOLERANCE` × max(1, x) of it, else
        ``ceil(x)``: no woman is invented by float noise, and a real fraction of one is
        always rounded up.

    Examples
    --------
    >>> whole_women(1100.0000000000002), whole_women(1099.9999999999998), whole_women(1100.2)
    (1100, 1100, 1101)
    """
    nearest = round(x)
    if abs(x - nearest) <= COUNT_TOLERANCE * max(1.0, abs(x)):
        return int(nearest)
    return math.ceil(x)


def feasibility(scenario: Scenario, power: PowerResult) -> Feasibility:
    """Screening, recruitment time and IVIG for the design of ``power``.

    Parameters
    ----------
    scenario : Scenario
        Uses ``[trial]`` (population) and ``[recruitment]``, ``[clinic]`` (price).
    power : PowerResult
        The design (arm sizes) and the IVIG grams per randomised woman.

    Examples
    --------
    >>> from rplsim import load_scenario, simulate_power
    >>> sc = load_scenario("scenarios/paper.toml")
    >>> f = feasibility(sc, simulate_power(sc, n_per_arm=80, replicates=1024))
    >>> f.n_screened, f.centres, round(f.years_to_recruit, 1)
    (1413, 1, 20.0)
    """
    rec = scenario.recruitment
    design = trial_design(scenario)
    n = power.n_total
    consent = rec.consent_share
    eligible = n / consent
    pregnant = eligible / design.eligible_share
    worked_up = pregnant / rec.pregnancy_share
    screened = worked_up / rec.workup_share
    # the recruitment model's mean rate with every centre open (rplsim.trial.recruitment)
    years = n / scenario_accrual(scenario).randomised_per_year
    grams = power.mean_ivig_grams_per_woman * n
    return Feasibility(
        n_randomised=n,
        n_control=power.n_control,
        n_treatment=power.n_treatment,
        expected_dropouts=n * scenario.trial.dropout if scenario.trial else 0.0,
        n_screened=whole_women(screened),
        n_worked_up=whole_women(worked_up),
        n_pregnant=whole_women(pregnant),
        n_eligible=whole_women(eligible),
        years_to_recruit=years,
        centres=rec.centres,
        ivig_grams_total=grams,
        ivig_cost_total=grams * scenario.clinic.ivig_price_per_g,
        currency=scenario.clinic.currency,
        eligible_share=design.eligible_share,
    )


def screening_funnel(f: Feasibility) -> pd.DataFrame:
    """The trial's funnel as ``step, n, share, lost, basis`` rows (for the flow diagram).

    ``share`` is the fraction of the step before that passes into the step (NaN on the first):
    the eligible share exactly, the others as the ratio of the whole-women counts (each count
    is rounded up, so a ratio can differ from its scenario value in the third decimal).
    ``lost`` says why the others leave before the step; ``basis`` names the scenario key and
    the paper's number the share comes from.

    Examples
    --------
    >>> f = Feasibility(100, 50, 50, 10.0, 1000, 830, 536, 200, 1.0, 1, 0.0, 0.0, "EUR", 0.373)
    >>> screening_funnel(f)[["n", "share"]].round(2).to_dict("list")
    {'n': [1000, 830, 536, 200, 100], 'share': [nan, 0.83, 0.65, 0.37, 0.5]}
    """
    counts = [f.n_screened, f.n_worked_up, f.n_pregnant, f.n_eligible, f.n_randomised]

    def ratio(a: int, b: int) -> float:
        return a / b if b else math.nan

    return pd.DataFrame(
        {
            "step": [
                "RPL women screened",
                "immune work-up complete",
                "index pregnancy",
                "eligible",
                "randomised",
            ],
            "n": counts,
            "share": [
                math.nan,
                ratio(f.n_worked_up, f.n_screened),
                ratio(f.n_pregnant, f.n_worked_up),
                f.eligible_share,
                ratio(f.n_randomised, f.n_eligible),
            ],
            "lost": [
                "",
                "work-up incomplete",
                "no index pregnancy at the centre",
                "not eligible",
                "do not consent",
            ],
            "basis": [
                f"RPL women seen at {centres_text(f.centres)}",
                "recruitment.workup_share (Figure 1: 819/987)",
                "recruitment.pregnancy_share (Figure 1: 529/819)",
                "trial.population and losses filter (cohort model)",
                "recruitment.consent_share (assumption)",
            ],
        }
    )
