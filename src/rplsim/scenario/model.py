"""Scenario files: TOML in, one frozen, validated :class:`Scenario` out.

Every key, its rule and the source of its default is declared once, here, with
:func:`rplsim.schema.param`. Defaults are the paper's values (Han et al. 2025, cited per key)
or labelled assumptions, so a scenario file only needs to say what differs; the shipped
``scenarios/paper.toml`` nevertheless writes every cohort value out with its citation.

A file may ``extends = "other.toml"`` (a file in the same folder or below) and override only
what differs; ``--set section.key=value`` overrides are applied after that and validated the
same way. Files are data: nothing is executed and no other path is read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rplsim._core.vocabulary import ALTERNATIVES
from rplsim.design.sequential import BOUNDARIES
from rplsim.exceptions import ScenarioError
from rplsim.scenario.schema import build, deep_merge, param, to_dict
from rplsim.stats.registry import ANALYSIS_NAMES

__all__ = [
    "STRATA",
    "ClinicParams",
    "CohortParams",
    "OutcomeParams",
    "ProtocolParams",
    "RecruitmentParams",
    "Scenario",
    "ScenarioMeta",
    "SensitivityParams",
    "SweepParams",
    "TrialParams",
    "load_scenario",
    "parse_overrides",
    "scenario_from_dict",
]

STRATA: tuple[str, ...] = ("KN", "KA", "IN", "IA")
PROFILES: tuple[str, ...] = ("NK", "NKa", "Th", "NK+NKa", "NK+Th", "NKa+Th", "NK+NKa+Th")
PROFILE_FIELDS: tuple[str, ...] = ("nk", "nka", "th", "nk_nka", "nk_th", "nka_th", "nk_nka_th")
KNOWN_CAUSES: tuple[str, ...] = (
    "chromosomal", "anatomical", "thyroid", "prolactin", "infection", "thrombophilia",
)
SHARE_TOL = 1e-3


def _sum_rule(obj: Any, names: tuple[str, ...], what: str) -> list[str]:
    total = sum(getattr(obj, n) for n in names)
    if abs(total - 1.0) > SHARE_TOL:
        return [f"{{{', '.join(names)}}} sum to {total:.6g}, must sum to 1 "
                f"(within {SHARE_TOL}) as {what}."]
    return []


# ----------------------------------------------------------------------------- [scenario]
@dataclass(frozen=True, kw_only=True)
class ScenarioMeta:
    """``[scenario]``: what the file is."""

    name: str = param(doc="short name; the results folder is results/<name>/ by default")
    seed: int = param(20250604, lo=0, hi=2**63 - 1, doc="root seed of every random stream",
                      source="ASSUMPTION: any fixed integer; the paper's publication date")
    description: str = param("", doc="one or two sentences: what this scenario asks")


# ----------------------------------------------------------------------------- [cohort]
@dataclass(frozen=True, kw_only=True)
class StrataShares:
    """Share of each stratum in the cohort (KN, KA, IN, IA)."""

    KN: float = param(118 / 466, lo=0, hi=1, doc="known etiology, normal immunity",
                      source="Table 1: 118 of 466")
    KA: float = param(97 / 466, lo=0, hi=1, doc="known etiology, abnormal immunity",
                      source="Table 1: 97 of 466")
    IN: float = param(151 / 466, lo=0, hi=1, doc="idiopathic, normal immunity",
                      source="Table 1: 151 of 466")
    IA: float = param(100 / 466, lo=0, hi=1, doc="idiopathic, abnormal immunity",
                      source="Table 1: 100 of 466")

    def _rules(self) -> list[str]:
        return _sum_rule(self, STRATA, "shares of the cohort")


@dataclass(frozen=True, kw_only=True)
class Moments:
    """Mean, SD and range of a bounded variable; the *truncated* distribution hits mean and SD."""

    mean: float = param(doc="mean of the distribution on [min, max]")
    sd: float = param(lo=0, lo_open=True, doc="standard deviation on [min, max]")
    min: float = param(doc="smallest possible value")
    max: float = param(doc="largest possible value")

    def _rules(self) -> list[str]:
        out = []
        if not self.min < self.max:
            out.append(f"min == {self.min}, must be < max ({self.max}).")
        elif not self.min < self.mean < self.max:
            out.append(f"mean == {self.mean}, must lie strictly inside [min, max] = "
                       f"[{self.min}, {self.max}].")
        elif self.sd >= (self.max - self.min) / 2:
            out.append(f"sd == {self.sd}, must be < (max - min) / 2 = "
                       f"{(self.max - self.min) / 2} for a distribution on [min, max].")
        return out


def _m(mean: float, sd: float, lo: float, hi: float) -> Moments:
    return Moments(mean=mean, sd=sd, min=lo, max=hi)


@dataclass(frozen=True, kw_only=True)
class PerStratumMoments:
    """One :class:`Moments` per stratum."""

    KN: Moments = param(doc="known etiology, normal immunity")
    KA: Moments = param(doc="known etiology, abnormal immunity")
    IN: Moments = param(doc="idiopathic, normal immunity")
    IA: Moments = param(doc="idiopathic, abnormal immunity")


def _per(kn: Moments, ka: Moments, in_: Moments, ia: Moments) -> PerStratumMoments:
    return PerStratumMoments(KN=kn, KA=ka, IN=in_, IA=ia)


@dataclass(frozen=True, kw_only=True)
class Height:
    """Height of the women (the paper gives BMI only; IVIG is dosed by weight = BMI x height^2)."""

    mean: float = param(1.605, lo=1.3, hi=2.0, unit="m", doc="mean height",
                        source="ASSUMPTION: Korean women aged 30-39, KNHANES 2010-2019, ~160.5 cm")
    sd: float = param(0.053, lo=0, lo_open=True, hi=0.2, unit="m", doc="SD of height",
                      source="ASSUMPTION: KNHANES, ~5.3 cm")
    min: float = param(1.45, lo=1.2, hi=2.0, unit="m", doc="shortest", source="ASSUMPTION")
    max: float = param(1.78, lo=1.3, hi=2.2, unit="m", doc="tallest", source="ASSUMPTION")

    def _rules(self) -> list[str]:
        return Moments(mean=self.mean, sd=self.sd, min=self.min, max=self.max)._rules()


@dataclass(frozen=True, kw_only=True)
class LogNormal:
    """A positive marker: log-normal with this median and geometric SD (before cut-off split)."""

    median: float = param(lo=0, lo_open=True, doc="median of the marker")
    gsd: float = param(lo=1, lo_open=True, hi=10, doc="geometric standard deviation")


@dataclass(frozen=True, kw_only=True)
class ProfileWeights:
    """Relative frequency of the seven abnormal profiles among abnormal women (normalised)."""

    nk: float = param(lo=0, doc='"NK": high NK level only')
    nka: float = param(lo=0, doc='"NKa": high NK cytotoxicity only')
    th: float = param(lo=0, doc='"Th": high Th1/Th2 only')
    nk_nka: float = param(lo=0, doc='"NK+NKa"')
    nk_th: float = param(lo=0, doc='"NK+Th"')
    nka_th: float = param(lo=0, doc='"NKa+Th"')
    nk_nka_th: float = param(lo=0, doc='"NK+NKa+Th": all three')

    def _rules(self) -> list[str]:
        if sum(getattr(self, f) for f in PROFILE_FIELDS) <= 0:
            return ["weights are all 0, at least one profile must have a positive weight."]
        return []

    def shares(self) -> dict[str, float]:
        """The seven profile shares, summing to 1, keyed by profile name."""
        w = [getattr(self, f) for f in PROFILE_FIELDS]
        total = sum(w)
        return {p: x / total for p, x in zip(PROFILES, w, strict=True)}


@dataclass(frozen=True, kw_only=True)
class Immune:
    """``[cohort.immune]``: the continuous markers, their cut-offs and the profile mix."""

    nk_cutoff: float = param(16.1, lo=0, unit="% of lymphocytes", doc="NK (CD56+) high above",
                             source="Section 2.1")
    cytotoxicity_50_cutoff: float = param(34.3, lo=0, unit="%", doc="NK cytotoxicity E:T 50:1",
                                          source="Section 2.1")
    cytotoxicity_25_cutoff: float = param(23.8, lo=0, unit="%", doc="NK cytotoxicity E:T 25:1",
                                          source="Section 2.1")
    cytotoxicity_12_5_cutoff: float = param(9.6, lo=0, unit="%",
                                            doc="NK cytotoxicity E:T 12.5:1", source="Section 2.1")
    th1_th2_cutoff: float = param(36.2, lo=0, doc="TNF-a+/IL-10+ CD4+ ratio high above",
                                  source="Section 2.1")
    cytotoxicity_rule: str = param(
        "any", choices=("any", "majority", "all", "50:1"),
        doc="how the three E:T ratios make one 'high cytotoxicity' flag",
        source="ASSUMPTION: the paper lists three cut-offs without the rule; 'any' ratio above")
    nk_percent: LogNormal = param(LogNormal(median=12.0, gsd=1.45), doc="NK % of lymphocytes",
                                  source="ASSUMPTION: RPL cohorts report ~12 +- 5 %")
    cytotoxicity_50: LogNormal = param(LogNormal(median=26.0, gsd=1.45), doc="cytotoxicity at 50:1",
                                       source="ASSUMPTION")
    cytotoxicity_25: LogNormal = param(LogNormal(median=18.0, gsd=1.5), doc="cytotoxicity at 25:1",
                                       source="ASSUMPTION")
    cytotoxicity_12_5: LogNormal = param(LogNormal(median=7.5, gsd=1.6), doc="cytotoxicity at 12.5:1",
                                         source="ASSUMPTION")
    cytotoxicity_correlation: float = param(
        0.8, lo=0, hi=0.99, doc="correlation of the three log cytotoxicities",
        source="ASSUMPTION: the same cells at three dilutions")
    th1_th2: LogNormal = param(LogNormal(median=22.0, gsd=1.5), doc="Th1/Th2 ratio", source="ASSUMPTION")
    profiles_known: ProfileWeights = param(
        ProfileWeights(nk=33, nka=22, th=17, nk_nka=12, nk_th=6, nka_th=4, nk_nka_th=3),
        doc="profile weights among the 97 KA women",
        source="Section 3.2: NK alone 15.3% of 215 = 33; the rest ASSUMPTION ordered as "
               "Figure 2 (NK > cytotoxicity > Th1/Th2)")
    profiles_idiopathic: ProfileWeights = param(
        ProfileWeights(nk=43, nka=18, th=10, nk_nka=21, nk_th=8, nka_th=0, nk_nka_th=0),
        doc="profile weights among the 100 IA women",
        source="Section 3.2: NK alone 17.1% of 251 = 43; Figure 3B: NK+NKa 90.5% = 19/21 -> 21, "
               "NK+Th 75% -> 8 (6/8, ASSUMPTION), no NKa+Th; NKa 18, Th 10 ASSUMPTION")
    th1_th2_known_2_3: float | None = param(
        0.113, lo=0, hi=1, doc="share with high Th1/Th2 among known-etiology women with 2-3 losses",
        source="Section 3.7, Figure 6A")
    th1_th2_known_4plus: float | None = param(
        0.234, lo=0, hi=1, doc="share with high Th1/Th2 among known-etiology women with >= 4 losses",
        source="Section 3.7, Figure 6A")

    def _rules(self) -> list[str]:
        if (self.th1_th2_known_2_3 is None) != (self.th1_th2_known_4plus is None):
            return ["th1_th2_known_2_3 and th1_th2_known_4plus go together: give both or neither."]
        return []


@dataclass(frozen=True, kw_only=True)
class KnownCauses:
    """Share of each identified cause among known-etiology women (one primary cause each)."""

    chromosomal: float = param(0.07, lo=0, hi=1, doc="parental chromosomal abnormality",
                               source="ASSUMPTION: 2-5% of RPL couples (ESHRE 2022)")
    anatomical: float = param(0.18, lo=0, hi=1, doc="uterine septum and other anomalies",
                              source="ASSUMPTION: ESHRE 2022")
    thyroid: float = param(0.25, lo=0, hi=1, doc="antithyroid antibodies or high TSH",
                           source="ASSUMPTION: ESHRE 2022")
    prolactin: float = param(0.08, lo=0, hi=1, doc="hyperprolactinaemia", source="ASSUMPTION")
    infection: float = param(0.07, lo=0, hi=1, doc="confirmed infection", source="ASSUMPTION")
    thrombophilia: float = param(0.35, lo=0, hi=1, doc="thrombophilia incl. APS",
                                 source="ASSUMPTION: APS 5-20% of RPL, the most common cause")

    def _rules(self) -> list[str]:
        return _sum_rule(self, KNOWN_CAUSES, "shares of the known causes")


@dataclass(frozen=True, kw_only=True)
class CohortParams:
    """``[cohort]``: who the women are."""

    n: int = param(466, lo=1, hi=50_000_000, doc="women per cohort", source="Table 1")
    strata: StrataShares = param(StrataShares(), doc="stratum shares")
    age: PerStratumMoments = param(_per(
        _m(32.78, 3.72, 22, 43), _m(32.39, 3.78, 25, 45), _m(33.66, 3.85, 25, 42),
        _m(33.42, 3.46, 26, 42)), unit="years", doc="age per stratum", source="Table 1")
    bmi: PerStratumMoments = param(_per(
        _m(23.00, 4.2, 14.5, 39.3), _m(21.71, 3.15, 16, 36.1), _m(21.9, 3.01, 16.7, 33.6),
        _m(21.99, 3.45, 16.7, 33.2)), unit="kg/m2", doc="BMI per stratum", source="Table 1")
    previous_miscarriages: PerStratumMoments = param(_per(
        _m(2.89, 1.23, 2, 10), _m(3.18, 1.23, 2, 8), _m(2.87, 1.13, 2, 10),
        _m(2.95, 1.14, 2, 7)), doc="previous miscarriages (integer) per stratum",
        source="Table 1")
    parity: PerStratumMoments = param(_per(
        _m(0.09, 0.32, 0, 2), _m(0.11, 0.32, 0, 1), _m(0.18, 0.42, 0, 2),
        _m(0.15, 0.35, 0, 1)), doc="parity (integer) per stratum", source="Table 1")
    bmi_family: str = param(
        "lognormal", choices=("normal", "lognormal"),
        doc="shape of BMI's law on each stratum's range (its mean and SD are Table 1's either way)",
        source="ASSUMPTION: BMI is right-skewed; Table 1's maxima lie 3-4 SD above the means, "
               "which a symmetric law on the same range almost never reaches")
    height: Height = param(Height(), doc="height of the women")
    immune: Immune = param(Immune(), doc="immune markers")
    known_causes: KnownCauses = param(KnownCauses(), doc="causes in the known strata")
    ivf_share: float = param(0.20, lo=0, hi=1, doc="share of index pregnancies conceived by IVF",
                             source="ASSUMPTION: the paper treats IVF cycles but gives no share")


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

    nk_nka: float | None = param(0.905, lo=0, hi=1, lo_open=True, hi_open=True,
                                 doc='IA women with profile "NK+NKa"', source="Figure 3B, 90.5%")
    nk_th: float | None = param(0.75, lo=0, hi=1, lo_open=True, hi_open=True,
                                doc='IA women with profile "NK+Th"', source="Figure 3B, 75%")


@dataclass(frozen=True, kw_only=True)
class OutcomeParams:
    """``[outcome]``: the live-birth model and when a pregnancy ends."""

    lbr: PerStratumRate = param(
        PerStratumRate(KN=96 / 118, KA=81 / 97, IN=121 / 151, IA=78 / 100),
        doc="live-birth rate among live births + miscarriages of protocol-adherent women, "
            "with the protocol (IVIG for abnormal immunity)",
        source="Table 3 (159/197 treated; the text's 163/197 is the conflict, reported as a miss)")
    odds_ratios_known: OddsRatios = param(
        OddsRatios(age=0.984, bmi=0.922, previous_miscarriages=0.945),
        doc="known etiology", source="Table 2, known group; OR and CI followed where B disagrees")
    odds_ratios_idiopathic: OddsRatios = param(
        OddsRatios(age=0.868, bmi=0.911, previous_miscarriages=1.140),
        doc="idiopathic", source="Table 2, idiopathic group; OR and CI followed where B disagrees")
    profile_lbr: ProfileLbr | None = param(ProfileLbr(), doc="optional IA subgroup rates")
    use_profile_lbr: bool = param(True, doc="apply profile_lbr inside IA (false: one intercept "
                                            "for all IA women; TOML has no null to drop a table)",
                                  source="Figure 3B")
    untreated_abnormal_lbr: float | None = param(
        None, lo=0, hi=1, lo_open=True, hi_open=True,
        doc="live-birth rate of abnormal-immunity women WITHOUT IVIG (marginal over them)",
        source="not in the paper (every abnormal woman was treated): required wherever an "
               "abnormal woman can go untreated")
    ivig_odds_ratio: float | None = param(
        None, lo=0, lo_open=True,
        doc="odds ratio of live birth with vs without IVIG in abnormal immunity "
            "(alternative to untreated_abnormal_lbr)", source="not in the paper")
    adherence: float = param(1.0, lo=0, hi=1, doc="share of IVIG-indicated women who follow it",
                             source="Section 2.2: the 53 non-adherent were excluded, so 1 here")
    chemical_rate: float = param(7 / 476, lo=0, hi=0.5,
                                 doc="chemical pregnancy (ends before confirmation)",
                                 source="Section 2.2: 7 of 466 + 7 + 3")
    stillbirth_rate: float = param(3 / 469, lo=0, hi=0.5, doc="stillbirth (>= 20 weeks)",
                                   source="Section 2.2: 3 of 466 + 3")
    miscarriage_week: WeekRange = param(
        WeekRange(mean=9.0, sd=2.5, min=6.0, max=19.9),
        doc="week of a clinical miscarriage (after confirmation, so min >= "
            "protocol.confirmation_week.max)",
        source="ASSUMPTION: ~80% of miscarriages are before 12 weeks (ACOG PB 200, 2018)")
    stillbirth_week: UniformWeeks = param(UniformWeeks(min=20.0, max=36.0), doc="week of a stillbirth",
                                          source="Section 2.2: 20, 22 and 34 weeks")
    live_birth_week: WeekRange = param(
        WeekRange(mean=38.6, sd=1.6, min=24.0, max=42.0), doc="week of a live birth",
        source="ASSUMPTION: ~8% preterm (< 37 weeks), as in national birth statistics")
    chemical_week: UniformWeeks = param(UniformWeeks(min=3.5, max=5.0),
                                        doc="week a chemical pregnancy ends",
                                        source="ASSUMPTION: before sac visualisation")
    karyotype_share: PerStratumRate = param(
        PerStratumRate(KN=14 / 22, KA=14 / 16, IN=21 / 30, IA=11 / 22),
        doc="share of miscarriages whose abortus is karyotyped", source="Table 3")
    euploid_share: PerStratumRate = param(
        PerStratumRate(KN=7 / 14, KA=8 / 14, IN=10 / 21, IA=7 / 11),
        doc="share of karyotyped abortuses that are euploid", source="Table 3")

    def _rules(self) -> list[str]:
        if self.miscarriage_week.max >= 20:
            return [f"miscarriage_week.max == {self.miscarriage_week.max}, must be < 20: a loss "
                    "from 20 weeks is a stillbirth (Section 2.2)."]
        if self.stillbirth_week.min < 20:
            return [f"stillbirth_week.min == {self.stillbirth_week.min}, must be >= 20: an "
                    "earlier loss is a miscarriage (Section 2.2)."]
        if self.untreated_abnormal_lbr is not None and self.ivig_odds_ratio is not None:
            return ["untreated_abnormal_lbr and ivig_odds_ratio both given: give exactly one."]
        if self.adherence < 1 and self.untreated_abnormal_lbr is None and \
                self.ivig_odds_ratio is None:
            return [f"adherence == {self.adherence} leaves abnormal women untreated, so "
                    "untreated_abnormal_lbr or ivig_odds_ratio is required (the paper has no "
                    "untreated abnormal group: state your assumption)."]
        return []


# ----------------------------------------------------------------------------- [protocol]
@dataclass(frozen=True, kw_only=True)
class ProtocolParams:
    """``[protocol]``: the treatment timeline of section 2.3."""

    ivig_dose_g_per_kg: float = param(0.4, lo=0, lo_open=True, hi=2, unit="g/kg",
                                      doc="IVIG dose per infusion", source="Section 2.3")
    ivig_interval: UniformWeeks = param(UniformWeeks(min=3.0, max=4.0), doc="weeks between infusions",
                                        source="Section 2.3: every 3-4 weeks")
    ivig_last_week: float = param(30.0, lo=0, hi=42, unit="weeks",
                                  doc="no infusion after this week", source="Section 2.3")
    confirmation_week: UniformWeeks = param(
        UniformWeeks(min=4.5, max=6.0), doc="pregnancy confirmed (beta-hCG rise or gestational sac)",
        source="ASSUMPTION: beta-hCG from ~4.5 weeks, sac on TVUS by ~6 weeks")
    first_dose_delay: UniformWeeks = param(
        UniformWeeks(min=0.0, max=1.0), doc="from confirmation to the first infusion (natural conception)",
        source="ASSUMPTION: 'immediately after confirmation' read as within a week")
    ivf_first_dose_week: float = param(
        2.0, lo=0, hi=10, unit="weeks",
        doc="IVF: first infusion on the day of oocyte retrieval / transfer",
        source="Section 2.3; ASSUMPTION: gestational week 2 (retrieval = conception + 0)")
    dose_rounding_g: float = param(0.0, lo=0, hi=50, unit="g",
                                   doc="round each dose up to a multiple of this (vial size); 0 = "
                                       "exact", source="ASSUMPTION: the paper dosed exactly")
    karyotype_delay: float = param(2.0, lo=0, hi=10, unit="weeks",
                                   doc="from miscarriage to karyotype result", source="ASSUMPTION")


# ----------------------------------------------------------------------------- [clinic]
@dataclass(frozen=True, kw_only=True)
class ClinicParams:
    """``[clinic]``: calendar time and infusion capacity."""

    accrual_per_year: float = param(
        70.0, lo=0, lo_open=True, unit="women/year",
        doc="index pregnancies starting per year",
        source="Section 2.1: 987 RPL women seen in 14 years (2007-2020) ~ 70/year")
    chairs: int = param(4, lo=1, hi=10_000, doc="infusion chairs", source="ASSUMPTION")
    infusion_hours: float = param(3.0, lo=0, lo_open=True, hi=24, unit="hours",
                                  doc="chair time per infusion",
                                  source="ASSUMPTION: 0.4 g/kg over 2-4 h")
    ivig_price_per_g: float = param(60.0, lo=0, unit="currency/g", doc="IVIG price",
                                    source="ASSUMPTION: ~USD 60 per gram (list prices 50-100)")
    currency: str = param("USD", doc="currency of ivig_price_per_g")


# ----------------------------------------------------------------------------- [trial]
@dataclass(frozen=True, kw_only=True)
class TrialParams:
    """``[trial]``: a prospective randomised IVIG trial."""

    population: str = param("abnormal", choices=("abnormal", "idiopathic-abnormal",
                                                 "known-abnormal", "idiopathic", "all"),
                            doc="eligible women (strata: abnormal = KA + IA, idiopathic = IN + IA)")
    min_previous_miscarriages: int = param(2, lo=2, hi=20, doc="eligible from this many losses")
    control_lbr: float = param(lo=0, hi=1, lo_open=True, hi_open=True,
                               doc="live-birth rate of eligible women on placebo",
                               source="ASSUMPTION, always: the paper has no untreated group")
    treatment_lbr: float | None = param(None, lo=0, hi=1, lo_open=True, hi_open=True,
                                        doc="live-birth rate on IVIG (or ivig_odds_ratio)")
    ivig_odds_ratio: float | None = param(None, lo=0, lo_open=True,
                                          doc="odds ratio IVIG vs placebo (or treatment_lbr)")
    design: str = param("superiority", choices=("superiority", "non-inferiority"))
    margin: float | None = param(None, lo=0, lo_open=True, hi=0.5,
                                 doc="non-inferiority margin (largest acceptable loss in LBR)")
    analysis: str = param("chi2", choices=ANALYSIS_NAMES)  # live: registered analyses count
    alternative: str = param("two-sided", choices=ALTERNATIVES)
    alpha: float = param(0.05, lo=0, lo_open=True, hi=0.5)
    power: float = param(0.80, lo=0.5, lo_open=True, hi=1, hi_open=True)
    allocation_ratio: float = param(1.0, lo=0.1, hi=10, doc="n_treatment / n_control")
    block_size: int = param(4, lo=0, hi=1000,
                            doc="permuted-block size for randomisation; 0 = simple randomisation",
                            source="ASSUMPTION: permuted blocks of 4, the usual choice")
    dropout: float = param(0.10, lo=0, hi=0.9, doc="share randomised but without outcome",
                           source="ASSUMPTION: the paper lost 290/987 to follow-up "
                                  "retrospectively; a prospective trial does better")
    looks: int = param(1, lo=1, hi=10, doc="analyses, the last one final")
    boundary: str = param("obrien-fleming", choices=BOUNDARIES)
    replicates: int = param(10_000, lo=1, hi=100_000_000, doc="simulated trials per power point")
    n_per_arm: int | None = param(None, lo=2, hi=1_000_000,
                                  doc="fixed control-arm size; absent = found by search")

    def _rules(self) -> list[str]:
        out = []
        if self.block_size > 0:
            t = self.block_size * self.allocation_ratio / (1 + self.allocation_ratio)
            if abs(t - round(t)) > 1e-9:
                out.append(f"block_size == {self.block_size}, must hold a whole number of "
                           f"treated women at allocation_ratio {self.allocation_ratio} "
                           f"({t:.3g} per block); e.g. block_size = "
                           f"{_smallest_block(self.allocation_ratio)}, or 0 for simple "
                           "randomisation.")
        if (self.treatment_lbr is None) == (self.ivig_odds_ratio is None):
            out.append("treatment_lbr and ivig_odds_ratio: give exactly one of the two.")
        if self.design == "non-inferiority":
            if self.margin is None:
                out.append('margin is required when design == "non-inferiority".')
            if self.alternative != "larger":
                out.append(f'alternative == "{self.alternative}", must be "larger" for a '
                           "non-inferiority design (one-sided).")
        elif self.margin is not None:
            out.append(f'margin == {self.margin}, only allowed with design == "non-inferiority".')
        return out


def _smallest_block(ratio: float) -> int:
    for b in range(2, 1001):
        t = b * ratio / (1 + ratio)
        if abs(t - round(t)) < 1e-9 and 0 < round(t) < b:
            return b
    return 0


@dataclass(frozen=True, kw_only=True)
class RecruitmentParams:
    """``[recruitment]``: how fast a trial can find its women."""

    centres: int = param(1, lo=1, hi=1000, doc="recruiting centres")
    rpl_women_per_centre_year: float = param(
        70.5, lo=0, lo_open=True, unit="women/centre/year",
        doc="RPL women seen per centre per year",
        source="Figure 1: 987 seen in 14 years (2007-2020)")
    workup_share: float = param(
        (987 - 76 - 92) / 987, lo=0, lo_open=True, hi=1,
        doc="share of screened women who complete the immune work-up at the centre",
        source="Figure 1: (987 - 76 incomplete - 92 outside) / 987 = 0.830")
    pregnancy_share: float = param(
        529 / 819, lo=0, lo_open=True, hi=1,
        doc="share of worked-up women with a documented index pregnancy",
        source="Figure 1: 466 + 3 + 7 + 53 = 529 of 819 worked up (290 lost to follow-up)")
    consent_share: float = param(0.5, lo=0, lo_open=True, hi=1,
                                 doc="eligible women who consent to randomisation",
                                 source="ASSUMPTION: typical for placebo-controlled RPL trials")


@dataclass(frozen=True, kw_only=True)
class SensitivityParams:
    """``[sensitivity]``: the grid of unknowns."""

    control_lbr: list[float] = param([0.35, 0.45, 0.55, 0.60, 0.65, 0.70, 0.75],
                                     lo=0, hi=1, lo_open=True, hi_open=True, min_len=1,
                                     doc="placebo live-birth rates")
    treatment_lbr: list[float] = param([0.58, 0.70, 0.75, 0.80, 0.827, 0.85, 0.90],
                                       lo=0, hi=1, lo_open=True, hi_open=True, min_len=1,
                                       doc="IVIG live-birth rates")
    simulate_points: int = param(3, lo=0, hi=50, doc="grid points checked by simulation")


# Replicates are simulated in keyed blocks of rplsim.trial.REPLICATE_BLOCK; trial.py imports this
# module, so the number is repeated here (tests/test_sweep.py checks the two agree).
SWEEP_BLOCK = 1024


@dataclass(frozen=True, kw_only=True)
class SweepParams:
    """``[sweep]``: each point is this scenario with one value of every axis; power is simulated at each."""

    grid: dict[str, list[float | int | str | bool]] = param(
        {}, min_len=1,
        doc='quoted dotted scenario key -> its values, e.g. { "trial.control_lbr" = [0.55, 0.6] }; '
            "the points are the Cartesian product")
    n_per_arm: int | None = param(None, lo=2, hi=1_000_000,
                                  doc="simulate every point at this control-arm size; absent = "
                                      "trial.n_per_arm, else the point's analytic n inflated for "
                                      "dropout")
    replicates: int | None = param(None, lo=1, hi=100_000_000,
                                   doc="simulated trials per point; absent = trial.replicates")
    batch: int = param(4096, lo=SWEEP_BLOCK, hi=100_000_000,
                       doc="replicates per task (a multiple of 1024); results do not depend on it")

    def _rules(self) -> list[str]:
        out = []
        if self.batch % SWEEP_BLOCK:
            out.append(f"batch == {self.batch}, must be a multiple of {SWEEP_BLOCK} (replicates "
                       f"are simulated in keyed blocks of {SWEEP_BLOCK}).")
        for key in self.grid:
            parts = key.split(".")
            if len(parts) < 2 or not all(parts):
                out.append(f'grid."{key}" is not a dotted key, must be section.key, e.g. '
                           '"trial.control_lbr" (quoted).')
            elif parts[0] == "sweep":
                out.append(f'grid."{key}": the [sweep] section cannot be swept.')
        return out


# ----------------------------------------------------------------------------- the scenario
@dataclass(frozen=True, kw_only=True)
class Scenario:
    """A whole, validated scenario. Build it with :func:`load_scenario`.

    Attributes
    ----------
    path : str
        The file it came from ("" for a scenario built in code).
    """

    scenario: ScenarioMeta = param(doc="what the file is")
    cohort: CohortParams = param(CohortParams(), doc="the women")
    outcome: OutcomeParams = param(OutcomeParams(), doc="the live-birth model")
    protocol: ProtocolParams = param(ProtocolParams(), doc="the treatment timeline")
    clinic: ClinicParams = param(ClinicParams(), doc="calendar and capacity")
    trial: TrialParams | None = param(None, doc="a prospective trial to size")
    recruitment: RecruitmentParams = param(RecruitmentParams(), doc="trial feasibility")
    sensitivity: SensitivityParams | None = param(None, doc="a grid of assumptions")
    sweep: SweepParams | None = param(None, doc="a grid of scenarios for `rplsim sweep`")

    def _rules(self) -> list[str]:
        out = []
        if self.outcome.miscarriage_week.min < self.protocol.confirmation_week.max:
            out.append(f"outcome.miscarriage_week.min == {self.outcome.miscarriage_week.min}, "
                       f"must be >= protocol.confirmation_week.max "
                       f"({self.protocol.confirmation_week.max}): a clinical miscarriage comes "
                       "after confirmation (earlier losses are chemical pregnancies).")
        span = self.protocol.ivig_last_week - self.protocol.ivf_first_dose_week
        if self.protocol.ivig_interval.min * 15 < span:
            out.append(f"protocol.ivig_interval.min == {self.protocol.ivig_interval.min}, must be "
                       f">= {span / 15:.2f} weeks: a woman has at most 16 infusions to week "
                       f"{self.protocol.ivig_last_week} (the protocol says every 3-4 weeks).")
        return out

    @property
    def name(self) -> str:
        """The scenario's short name."""
        return self.scenario.name

    @property
    def seed(self) -> int:
        """The root seed."""
        return self.scenario.seed

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as a TOML-ready dict (no ``extends``)."""
        return to_dict(self)

    def digest(self) -> str:
        """sha256 of the resolved scenario (canonical JSON): equal scenarios, equal digests."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def replace(self, **sections: Any) -> Scenario:
        """A copy with whole sections replaced (sections are frozen dataclasses)."""
        return dataclasses.replace(self, **sections)


# ----------------------------------------------------------------------------- loading
def _read_toml(path: Path, label: str) -> dict[str, Any]:
    if not path.exists():
        raise ScenarioError(f"{label}: no such file; give the path of a .toml scenario.")
    if path.is_dir():
        raise ScenarioError(f"{label}: is a directory, must be a .toml scenario file.")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{label}: cannot be read ({exc.strerror}).") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(f"{label}: is not UTF-8 text, must be a TOML scenario file.") from None
    if not text.strip():
        raise ScenarioError(f"{label}: is empty, must hold at least [scenario] name = ...")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{label}: TOML syntax error: {exc}.") from None


def _resolve(path: Path, label: str, seen: tuple[Path, ...]) -> dict[str, Any]:
    data = _read_toml(path, label)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.endswith(".toml"):
        raise ScenarioError(f'{label}: extends == {parent!r}, must be the name of a .toml file '
                            'in the same folder, e.g. extends = "paper.toml".')
    folder = path.parent.resolve()
    target = (folder / parent).resolve()
    if folder not in target.parents:
        raise ScenarioError(f'{label}: extends == "{parent}", must name a file in the '
                            "scenario's own folder (no paths outside it).")
    if target in seen:
        chain = " -> ".join(p.name for p in (*seen, target))
        raise ScenarioError(f'{label}: extends == "{parent}" makes a cycle ({chain}).')
    base = _resolve(target, f"{label} (extends {parent})", (*seen, target))
    return deep_merge(base, data)


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Turn ``["trial.control_lbr=0.55", "cohort.n=1000"]`` into a nested dict.

    Values are read as TOML values (``0.55``, ``true``, ``"chi2"``, ``[1, 2]``); a bare word
    that is not valid TOML is taken as a string.
    """
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ScenarioError(f"--set {item}: must be KEY=VALUE, e.g. --set trial.alpha=0.025.")
        key, text = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise ScenarioError(f"--set {item}: the key must be section.key, e.g. cohort.n.")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ScenarioError(f"--set {item}: {part} is set twice, as a value and a table.")
        node[parts[-1]] = value
    return out


def scenario_from_dict(data: dict[str, Any], label: str = "<scenario>", path: str = "") -> Scenario:
    """Validate a plain dict (as read from TOML) into a :class:`Scenario`.

    Raises
    ------
    ScenarioError
        With one line per problem, each starting with ``label``.
    """
    errors: list[str] = []
    obj = build(Scenario, data, "", errors)
    if errors:
        raise ScenarioError([f"{label}: {e}" for e in errors])
    object.__setattr__(obj, "_path", path)
    return obj


def load_scenario(
    path: str | Path,
    overrides: list[str] | tuple[str, ...] | dict[str, Any] | None = None,
) -> Scenario:
    """Read, resolve and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        A ``.toml`` scenario file.
    overrides : list of "section.key=value" strings, or a nested dict, optional
        Applied after ``extends`` and before validation (``rplsim run --set``).

    Returns
    -------
    Scenario
        Frozen; every value checked.

    Raises
    ------
    ScenarioError
        Every problem of the file, one line each: ``file: key == value, rule.``

    Examples
    --------
    >>> sc = load_scenario("scenarios/paper.toml")  # doctest: +SKIP
    >>> sc.cohort.n
    466
    """
    p = Path(path)
    label = str(path)
    data = _resolve(p, label, (p.resolve(),))
    if overrides:
        over = overrides if isinstance(overrides, dict) else parse_overrides(list(overrides))
        data = deep_merge(data, over)
    return scenario_from_dict(data, label, str(p))


def scenario_path(scenario: Scenario) -> str:
    """The file a scenario was loaded from ("" if built in code)."""
    return getattr(scenario, "_path", "")
