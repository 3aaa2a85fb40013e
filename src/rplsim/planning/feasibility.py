"""What a trial costs in the real world: women to screen, years to recruit, grams of IVIG.

The screening funnel follows the paper's (Figure 1) with the trial's own eligibility:

    RPL women seen at the centres
      × complete the immune work-up            (recruitment.workup_share: Figure 1, 819/987)
      × have an index pregnancy and attend      (recruitment.pregnancy_share: Figure 1, 529/819)
      × are eligible (strata × losses filter)   (cohort model: e.g. 197/466 abnormal)
      × consent to randomisation               (recruitment.consent_share: ASSUMPTION)
      = randomised

Years to recruit = women to screen / (centres × RPL women per centre per year).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from rplsim.scenario import Scenario
from rplsim.trial.power import PowerResult
from rplsim.trial.simulation import trial_design

__all__ = ["Feasibility", "feasibility", "screening_funnel"]


@dataclass(frozen=True)
class Feasibility:
    """A trial design's real-world size (see the module doc)."""

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
        rows = [
            ("women to screen (RPL women seen)", self.n_screened, "women"),
            ("complete the immune work-up", self.n_worked_up, "women"),
            ("index pregnancy at the centre", self.n_pregnant, "women"),
            ("eligible", self.n_eligible, "women"),
            ("randomised", self.n_randomised, "women"),
            ("  control arm", self.n_control, "women"),
            ("  IVIG arm", self.n_treatment, "women"),
            ("expected dropouts", round(self.expected_dropouts, 1), "women"),
            ("years to recruit", round(self.years_to_recruit, 2), f"years at {self.centres} centre(s)"),
            ("IVIG, total", round(self.ivig_grams_total), "g"),
            ("IVIG, total cost", round(self.ivig_cost_total), self.currency),
        ]
        return pd.DataFrame(rows, columns=["quantity", "value", "unit"])


def _ceil(x: float) -> int:
    # Guarded like the arm-size rule: a quotient such as 1100.0000000001 (the last bit depends
    # on the machine's floating-point kernels) must give 1100 women on every machine.
    return math.ceil(x - 1e-9)


def feasibility(scenario: Scenario, power: PowerResult) -> Feasibility:
    """Screening, recruitment time and IVIG for the design of ``power``.

    Parameters
    ----------
    scenario : Scenario
        Uses ``[trial]`` (population) and ``[recruitment]``, ``[clinic]`` (price).
    power : PowerResult
        The design (arm sizes) and the IVIG grams per randomised woman.
    """
    rec = scenario.recruitment
    design = trial_design(scenario)
    n = power.n_total
    consent = rec.consent_share
    eligible = n / consent
    pregnant = eligible / design.eligible_share
    worked_up = pregnant / rec.pregnancy_share
    screened = worked_up / rec.workup_share
    years = screened / (rec.centres * rec.rpl_women_per_centre_year)
    grams = power.mean_ivig_grams_per_woman * n
    return Feasibility(
        n_randomised=n,
        n_control=power.n_control,
        n_treatment=power.n_treatment,
        expected_dropouts=n * scenario.trial.dropout if scenario.trial else 0.0,
        n_screened=_ceil(screened),
        n_worked_up=_ceil(worked_up),
        n_pregnant=_ceil(pregnant),
        n_eligible=_ceil(eligible),
        years_to_recruit=years,
        centres=rec.centres,
        ivig_grams_total=grams,
        ivig_cost_total=grams * scenario.clinic.ivig_price_per_g,
        currency=scenario.clinic.currency,
        eligible_share=design.eligible_share,
    )


def screening_funnel(f: Feasibility) -> pd.DataFrame:
    """The trial's funnel as ``step, n`` rows (for the funnel chart)."""
    return pd.DataFrame(
        {
            "step": [
                "RPL women screened",
                "immune work-up complete",
                "index pregnancy",
                "eligible",
                "randomised",
            ],
            "n": [f.n_screened, f.n_worked_up, f.n_pregnant, f.n_eligible, f.n_randomised],
        }
    )
