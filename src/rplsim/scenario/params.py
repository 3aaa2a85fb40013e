"""The ``[scenario]``, ``[outcome]``, ``[protocol]`` and ``[clinic]`` sections: keys, rules, defaults.

Each a frozen dataclass declared with
:func:`rplsim.scenario.schema.param`. Defaults are the paper's values (Han et al. 2025, cited per
key) or labelled assumptions.
"""

from __future__ import annotations

from dataclasses import dataclass

from rplsim._core.limits import MAX_SEED
from rplsim.scenario.cohort_params import Moments
from rplsim.scenario.schema import param

__all__ = [
    "CauseTreatmentWeeks",
    "ClinicParams",
    "FailedCycles",
    "IncompleteMinimum",
    "IncompleteShare",
    "OddsRatios",
    "OutcomeParams",
    "PerStratumRate",
    "ProfileLbr",
    "ProtocolParams",
    "ScenarioMeta",
    "UniformWeeks",
    "WeekRange",
]


# ----------------------------------------------------------------------------- [scenario]
@dataclass(frozen=True, kw_only=True)
class ScenarioMeta:
    """``[scenario]``: what the file is."""

    name: str = param(doc="short name; the results folder is results/<name>/ by default")
    seed: int = param(
        20250604,
        lo=0,
        hi=MAX_SEED,
        doc="root seed of every random stream",
        source="ASSUMPTION: any fixed integer; the paper's publication date",
    )
    description: str = param("", doc="one or two sentences: what this scenario asks")


# ----------------------------------------------------------------------------- [outcome]
@dataclass(frozen=True, kw_only=True)
class PerStratumRate:
    """One probability per stratum."""

    KN: float = param(lo=0, hi=1, lo_open=True, hi_open=True)
    KA: float = param(lo=0, hi=1, lo_open=True, hi_open=True)
    IN: float = param(lo=0, hi=1, lo_open=True, hi_open=True)
    IA: float = param(lo=0, hi=1, lo_open=True, hi_open=True)


@dataclass(frozen=True, kw_only=True)
class OddsRatios:
    """Odds ratios of live birth per unit of each covariate (logistic model)."""

    age: float = param(lo=0, lo_open=True, unit="per year")
    bmi: float = param(lo=0, lo_open=True, unit="per kg/m2")
    previous_miscarriages: float = param(lo=0, lo_open=True, unit="per miscarriage")


@dataclass(frozen=True, kw_only=True)
class WeekRange:
    """A gestational-week distribution: truncated normal with this mean and SD on [min, max]."""

    mean: float = param(lo=0, hi=45, unit="weeks")
    sd: float = param(lo=0, lo_open=True, unit="weeks")
    min: float = param(lo=0, hi=45, unit="weeks")
    max: float = param(lo=0, hi=45, unit="weeks")

    def _rules(self) -> list[str]:
        return Moments(mean=self.mean, sd=self.sd, min=self.min, max=self.max)._rules()


@dataclass(frozen=True, kw_only=True)
class UniformWeeks:
    """A uniform interval of gestational weeks."""

    min: float = param(lo=0, hi=45, unit="weeks")
    max: float = param(lo=0, hi=45, unit="weeks")

    def _rules(self) -> list[str]:
        return [] if self.min <= self.max else [f"min == {self.min}, must be <= max ({self.max})."]


@dataclass(frozen=True, kw_only=True)
class ProfileLbr:
    """Live-birth rates of immune-profile subgroups of the idiopathic abnormal stratum."""

    nk_nka: float | None = param(
        0.905,
        lo=0,
        hi=1,
        lo_open=True,
        hi_open=True,
        doc='IA women with profile "NK+NKa"',
        source="Figure 3B, 90.5%",
    )
    nk_th: float | None = param(
        0.75,
        lo=0,
        hi=1,
        lo_open=True,
        hi_open=True,
        doc='IA women with profile "NK+Th"',
        source="Figure 3B, 75%",
    )


@dataclass(frozen=True, kw_only=True)
class OutcomeParams:
    """``[outcome]``: the live-birth model and when a pregnancy ends."""

    lbr: PerStratumRate = param(
        PerStratumRate(KN=96 / 118, KA=81 / 97, IN=121 / 151, IA=78 / 100),
        doc="live-birth rate among live births + miscarriages of protocol-adherent women, "
        "with the protocol (IVIG for abnormal immunity)",
        source="Table 3 (159/197 treated; the text's 163/197 is the conflict, reported as a miss)",
    )
    odds_ratios_known: OddsRatios = param(
        OddsRatios(age=0.984, bmi=0.922, previous_miscarriages=0.945),
        doc="known etiology",
        source="Table 2, known group; OR and CI followed where B disagrees",
    )
    odds_ratios_idiopathic: OddsRatios = param(
        OddsRatios(age=0.868, bmi=0.911, previous_miscarriages=1.140),
        doc="idiopathic",
        source="Table 2, idiopathic group; OR and CI followed where B disagrees",
    )
    profile_lbr: ProfileLbr | None = param(ProfileLbr(), doc="optional IA subgroup rates")
    use_profile_lbr: bool = param(
        True,
        doc="apply profile_lbr inside IA (false: one intercept "
        "for all IA women; TOML has no null to drop a table)",
        source="Figure 3B",
    )
    untreated_abnormal_lbr: float | None = param(
        None,
        lo=0,
        hi=1,
        lo_open=True,
        hi_open=True,
        doc="live-birth rate of abnormal-immunity women WITHOUT IVIG (marginal over them)",
        source="not in the paper (every abnormal woman was treated): required wherever an "
        "abnormal woman can go untreated",
    )
    ivig_odds_ratio: float | None = param(
        None,
        lo=0,
        lo_open=True,
        doc="odds ratio of live birth with vs without IVIG in abnormal immunity "
        "(alternative to untreated_abnormal_lbr)",
        source="not in the paper",
    )
    adherence: float = param(
        1.0,
        lo=0,
        hi=1,
        doc="share of IVIG-indicated women who follow it",
        source="Section 2.2: the 53 non-adherent were excluded, so 1 here",
    )
    chemical_rate: float = param(
        7 / 476,
        lo=0,
        hi=0.5,
        doc="chemical pregnancy (ends before confirmation)",
        source="Section 2.2: 7 of 466 + 7 + 3",
    )
    stillbirth_rate: float = param(
        3 / 469, lo=0, hi=0.5, doc="stillbirth (>= 20 weeks)", source="Section 2.2: 3 of 466 + 3"
    )
    miscarriage_week: WeekRange = param(
        WeekRange(mean=9.0, sd=2.5, min=6.0, max=19.9),
        doc="week of a clinical miscarriage (after confirmation, so min >= protocol.confirmation_week.max)",
        source="ASSUMPTION: ~80% of miscarriages are before 12 weeks (ACOG PB 200, 2018)",
    )
    stillbirth_week: UniformWeeks = param(
        UniformWeeks(min=20.0, max=36.0),
        doc="week of a stillbirth",
        source="Section 2.2: 20, 22 and 34 weeks",
    )
    live_birth_week: WeekRange = param(
        WeekRange(mean=38.6, sd=1.6, min=24.0, max=42.0),
        doc="week of a live birth",
        source="ASSUMPTION: ~8% preterm (< 37 weeks), as in national birth statistics",
    )
    chemical_week: UniformWeeks = param(
        UniformWeeks(min=3.5, max=5.0),
        doc="week a chemical pregnancy ends",
        source="ASSUMPTION: before sac visualisation",
    )
    karyotype_share: PerStratumRate = param(
        PerStratumRate(KN=14 / 22, KA=14 / 16, IN=21 / 30, IA=11 / 22),
        doc="share of miscarriages whose abortus is karyotyped",
        source="Table 3",
    )
    euploid_share: PerStratumRate = param(
        PerStratumRate(KN=7 / 14, KA=8 / 14, IN=10 / 21, IA=7 / 11),
        doc="share of karyotyped abortuses that are euploid",
        source="Table 3",
    )

    def _rules(self) -> list[str]:
        if self.miscarriage_week.max >= 20:
            return [
                f"miscarriage_week.max == {self.miscarriage_week.max}, must be < 20: a loss "
                "from 20 weeks is a stillbirth (Section 2.2)."
            ]
        if self.stillbirth_week.min < 20:
            return [
                f"stillbirth_week.min == {self.stillbirth_week.min}, must be >= 20: an "
                "earlier loss is a miscarriage (Section 2.2)."
            ]
        if self.untreated_abnormal_lbr is not None and self.ivig_odds_ratio is not None:
            return ["untreated_abnormal_lbr and ivig_odds_ratio both given: give exactly one."]
        if self.adherence < 1 and self.untreated_abnormal_lbr is None and self.ivig_odds_ratio is None:
            return [
                f"adherence == {self.adherence} leaves abnormal women untreated, so "
                "untreated_abnormal_lbr or ivig_odds_ratio is required (the paper has no "
                "untreated abnormal group: state your assumption)."
            ]
        return []


# ----------------------------------------------------------------------------- [protocol]
_PRECONCEPTION = "ASSUMPTION: the paper says 'before conception' without timing"


@dataclass(frozen=True, kw_only=True)
class CauseTreatmentWeeks:
    """Gestational week each known cause's treatment starts (negative = before the last period)."""

    chromosomal: float = param(
        0.0, lo=-52, hi=2, unit="weeks", doc="genetic counselling, conservative care", source=_PRECONCEPTION
    )
    anatomical: float = param(
        -12.0, lo=-52, hi=2, unit="weeks", doc="surgical correction before conception", source=_PRECONCEPTION
    )
    thyroid: float = param(
        -8.0, lo=-52, hi=2, unit="weeks", doc="levothyroxine, TSH kept < 2.5 mU/L", source=_PRECONCEPTION
    )
    prolactin: float = param(-8.0, lo=-52, hi=2, unit="weeks", doc="dopamine agonist", source=_PRECONCEPTION)
    infection: float = param(
        -6.0, lo=-52, hi=2, unit="weeks", doc="antibiotics for the confirmed infection", source=_PRECONCEPTION
    )
    thrombophilia: float = param(
        -4.0, lo=-52, hi=2, unit="weeks", doc="aspirin 100 mg + LMWH daily", source=_PRECONCEPTION
    )


_TABLE1_DOSE = (
    "ASSUMPTION (issue 18): 0 keeps the protocol as modelled; Table 1's dose spread and maxima "
    "(KA SD 105 g, max 498 g; IA SD 79 g, max 422 g) exceed what one course to week 30 gives (~260 g)"
)


@dataclass(frozen=True, kw_only=True)
class FailedCycles:
    """Mean failed IVF cycles before the index pregnancy, per abnormal-immunity stratum."""

    known: float = param(
        0.0, lo=0, hi=20, unit="cycles", doc="KA women conceiving by IVF", source=_TABLE1_DOSE
    )
    idiopathic: float = param(
        0.0, lo=0, hi=20, unit="cycles", doc="IA women conceiving by IVF", source=_TABLE1_DOSE
    )


@dataclass(frozen=True, kw_only=True)
class IncompleteShare:
    """Share of IVIG-treated women whose course stops early, per abnormal-immunity stratum."""

    known: float = param(0.0, lo=0, hi=1, doc="KA women on IVIG", source=_TABLE1_DOSE)
    idiopathic: float = param(
        0.0, lo=0, hi=1, doc="IA women on IVIG", source=_TABLE1_DOSE + "; Table 1: IA's minimum is 0 g"
    )


@dataclass(frozen=True, kw_only=True)
class IncompleteMinimum:
    """Fewest infusions a course that stops early still gives, per abnormal-immunity stratum."""

    known: int = param(
        1,
        lo=0,
        hi=10,
        unit="infusions",
        doc="KA women",
        source="Table 1: KA's total dose minimum is 20 g, one dose",
    )
    idiopathic: int = param(
        0, lo=0, hi=10, unit="infusions", doc="IA women", source="Table 1: IA's total dose minimum is 0 g"
    )


@dataclass(frozen=True, kw_only=True)
class ProtocolParams:
    """``[protocol]``: the treatment timeline of section 2.3."""

    ivig_dose_g_per_kg: float = param(
        0.4, lo=0, lo_open=True, hi=2, unit="g/kg", doc="IVIG dose per infusion", source="Section 2.3"
    )
    ivig_interval: UniformWeeks = param(
        UniformWeeks(min=3.0, max=4.0), doc="weeks between infusions", source="Section 2.3: every 3-4 weeks"
    )
    ivig_last_week: float = param(
        30.0, lo=0, hi=42, unit="weeks", doc="no infusion after this week", source="Section 2.3"
    )
    confirmation_week: UniformWeeks = param(
        UniformWeeks(min=4.5, max=6.0),
        doc="pregnancy confirmed (beta-hCG rise or gestational sac)",
        source="ASSUMPTION: beta-hCG from ~4.5 weeks, sac on TVUS by ~6 weeks",
    )
    first_dose_delay: UniformWeeks = param(
        UniformWeeks(min=0.0, max=1.0),
        doc="from confirmation to the first infusion (natural conception)",
        source="ASSUMPTION: 'immediately after confirmation' read as within a week",
    )
    ivf_first_dose_week: float = param(
        2.0,
        lo=0,
        hi=10,
        unit="weeks",
        doc="IVF: first infusion on the day of oocyte retrieval / transfer",
        source="Section 2.3; ASSUMPTION: gestational week 2 (retrieval = conception + 0)",
    )
    ivf_retrieval_dose_share: float = param(
        0.5,
        lo=0,
        hi=1,
        doc="IVF: share of cycles whose first infusion is on the retrieval day (the rest: on "
        "the transfer day)",
        source="ASSUMPTION: Section 2.3 says 'on the day of oocyte retrieval or embryo "
        "transfer' without the split; half each",
    )
    ivf_day5_transfer_share: float = param(
        0.25,
        lo=0,
        hi=1,
        doc="IVF: share of cycles with a day-5 (blastocyst) transfer; the rest transfer on day 3",
        source="ASSUMPTION: the paper gives no transfer day",
    )
    cause_treatment_week: CauseTreatmentWeeks = param(
        CauseTreatmentWeeks(),
        doc="start of each known cause's treatment",
        source="Section 2.3: known causes treated before and during pregnancy",
    )
    dose_rounding_g: float = param(
        0.0,
        lo=0,
        hi=50,
        unit="g",
        doc="round each dose up to a multiple of this (vial size); 0 = exact",
        source="ASSUMPTION: the paper dosed exactly",
    )
    karyotype_delay: float = param(
        2.0, lo=0, hi=10, unit="weeks", doc="from miscarriage to karyotype result", source="ASSUMPTION"
    )
    ivf_failed_cycles_mean: FailedCycles = param(
        FailedCycles(),
        doc="IVF women on IVIG: mean failed IVF cycles before the index pregnancy (Poisson, capped at "
        "ivf_failed_cycles_max), each one IVIG dose on its retrieval or transfer day",
        source="Section 2.3: 'in patients undergoing IVF cycles, IVIG was administered on the day of "
        "oocyte retrieval or embryo transfer', so a failed cycle before the index pregnancy cost a dose",
    )
    ivf_failed_cycles_max: int = param(
        6,
        lo=0,
        hi=30,
        unit="cycles",
        doc="cap of the failed IVF cycles a woman has before the index pregnancy",
        source="ASSUMPTION: few clinics offer more than 6 IVF cycles",
    )
    ivig_incomplete_share: IncompleteShare = param(
        IncompleteShare(),
        doc="IVIG-treated women whose index-pregnancy course stops early: their number of infusions "
        "is uniform on ivig_incomplete_minimum to one less than the protocol's (their outcome is the "
        "treated group's)",
        source="Table 1: IA's total dose minimum is 0 g, so some women of the treated group had none",
    )
    ivig_incomplete_minimum: IncompleteMinimum = param(
        IncompleteMinimum(),
        doc="a course that stops early gives at least this many infusions (uniform from it to one less "
        "than the protocol's)",
        source="Table 1's minima: KA 20 g (one dose), IA 0 g",
    )


# ----------------------------------------------------------------------------- [clinic]
@dataclass(frozen=True, kw_only=True)
class ClinicParams:
    """``[clinic]``: calendar time and infusion capacity."""

    accrual_per_year: float | None = param(
        None,
        lo=0,
        lo_open=True,
        unit="women/year",
        doc="index pregnancies starting per year at the clinic (one centre); absent = the recruitment "
        "model's: recruitment.rpl_women_per_centre_year x workup_share x pregnancy_share",
        source="Figure 1: 529 index pregnancies at the centre in 14 years (2007-2020) = 37.8/year, "
        "which the recruitment model's default gives (70.5 x 0.8298 x 0.6459)",
    )
    chairs: int = param(4, lo=1, hi=10_000, doc="infusion chairs", source="ASSUMPTION")
    infusion_hours: float = param(
        3.0,
        lo=0,
        lo_open=True,
        hi=24,
        unit="hours",
        doc="chair time per infusion",
        source="ASSUMPTION: 0.4 g/kg over 2-4 h",
    )
    ivig_price_per_g: float = param(
        60.0,
        lo=0,
        unit="currency/g",
        doc="IVIG price",
        source="ASSUMPTION: ~USD 60 per gram (list prices 50-100)",
    )
    currency: str = param("USD", doc="currency of ivig_price_per_g")
