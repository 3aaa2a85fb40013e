"""The ``[cohort]`` section: who the women are (strata, moments per stratum, immune markers, causes).

Every key, its rule and the source of its default is declared once, here, with
:func:`rplsim.scenario.schema.param`. Defaults are the paper's values (Han et al. 2025, cited per
key) or labelled assumptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rplsim.scenario.schema import param

__all__ = [
    "KNOWN_CAUSES",
    "PROFILES",
    "PROFILE_FIELDS",
    "SHARE_TOL",
    "STRATA",
    "CohortParams",
    "Height",
    "Immune",
    "KnownCauses",
    "LogNormal",
    "LogitNormal",
    "Moments",
    "PerStratumMoments",
    "ProfileWeights",
    "StrataShares",
]

STRATA: tuple[str, ...] = ("KN", "KA", "IN", "IA")
PROFILES: tuple[str, ...] = ("NK", "NKa", "Th", "NK+NKa", "NK+Th", "NKa+Th", "NK+NKa+Th")
PROFILE_FIELDS: tuple[str, ...] = ("nk", "nka", "th", "nk_nka", "nk_th", "nka_th", "nk_nka_th")
KNOWN_CAUSES: tuple[str, ...] = (
    "chromosomal",
    "anatomical",
    "thyroid",
    "prolactin",
    "infection",
    "thrombophilia",
)
SHARE_TOL = 1e-3


def _sum_rule(obj: Any, names: tuple[str, ...], what: str) -> list[str]:
    total = sum(getattr(obj, n) for n in names)
    if abs(total - 1.0) > SHARE_TOL:
        return [f"{{{', '.join(names)}}} sum to {total:.6g}, must sum to 1 (within {SHARE_TOL}) as {what}."]
    return []


# ----------------------------------------------------------------------------- [cohort]
@dataclass(frozen=True, kw_only=True)
class StrataShares:
    """Share of each stratum in the cohort (KN, KA, IN, IA)."""

    KN: float = param(
        118 / 466, lo=0, hi=1, doc="known etiology, normal immunity", source="Table 1: 118 of 466"
    )
    KA: float = param(
        97 / 466, lo=0, hi=1, doc="known etiology, abnormal immunity", source="Table 1: 97 of 466"
    )
    IN: float = param(151 / 466, lo=0, hi=1, doc="idiopathic, normal immunity", source="Table 1: 151 of 466")
    IA: float = param(
        100 / 466, lo=0, hi=1, doc="idiopathic, abnormal immunity", source="Table 1: 100 of 466"
    )

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
            out.append(
                f"mean == {self.mean}, must lie strictly inside [min, max] = [{self.min}, {self.max}]."
            )
        elif self.sd >= (self.max - self.min) / 2:
            out.append(
                f"sd == {self.sd}, must be < (max - min) / 2 = "
                f"{(self.max - self.min) / 2} for a distribution on [min, max]."
            )
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

    mean: float = param(
        1.605,
        lo=1.3,
        hi=2.0,
        unit="m",
        doc="mean height",
        source="ASSUMPTION: Korean women aged 30-39, KNHANES 2010-2019, ~160.5 cm",
    )
    sd: float = param(
        0.053, lo=0, lo_open=True, hi=0.2, unit="m", doc="SD of height", source="ASSUMPTION: KNHANES, ~5.3 cm"
    )
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
class LogitNormal:
    """A percentage: logit-normal on (0, 100), 100·expit(N(logit(median/100), log gsd)).

    Bounded by its law (never clipped); ``gsd`` is the geometric SD of the odds
    value / (100 - value), as a log-normal's is of the value.
    """

    median: float = param(lo=0, lo_open=True, hi=100, hi_open=True, unit="%", doc="median of the marker")
    gsd: float = param(
        lo=1,
        lo_open=True,
        hi=10,
        doc="geometric standard deviation of the odds value / (100 - value)",
    )


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

    nk_cutoff: float = param(
        16.1,
        lo=0,
        hi=100,
        hi_open=True,
        unit="% of lymphocytes",
        doc="NK (CD56+) high above",
        source="Section 2.1",
    )
    cytotoxicity_50_cutoff: float = param(
        34.3, lo=0, hi=100, hi_open=True, unit="%", doc="NK cytotoxicity E:T 50:1", source="Section 2.1"
    )
    cytotoxicity_25_cutoff: float = param(
        23.8, lo=0, hi=100, hi_open=True, unit="%", doc="NK cytotoxicity E:T 25:1", source="Section 2.1"
    )
    cytotoxicity_12_5_cutoff: float = param(
        9.6, lo=0, hi=100, hi_open=True, unit="%", doc="NK cytotoxicity E:T 12.5:1", source="Section 2.1"
    )
    th1_th2_cutoff: float = param(36.2, lo=0, doc="TNF-a+/IL-10+ CD4+ ratio high above", source="Section 2.1")
    cytotoxicity_rule: str = param(
        "any",
        choices=("any", "majority", "all", "50:1"),
        doc="how the three E:T ratios make one 'high cytotoxicity' flag",
        source="ASSUMPTION: the paper lists three cut-offs without the rule; 'any' ratio above",
    )
    # The percentages are logit-normal (bounded to (0, 100)). Their medians are the former
    # log-normal's; each gsd is re-derived so the law's share above its cut-off is the former
    # log-normal's, gsd = exp((logit(c/100) - logit(m/100)) / z) with z = log(c/m) / log(gsd_old)
    # (nk 1.45 -> 1.54, 50:1 1.45 -> 1.70, 25:1 1.5 -> 1.67, 12.5:1 1.6 -> 1.67), so with the
    # same correlation (a Gaussian copula) the joint shares above the cut-offs are kept too.
    nk_percent: LogitNormal = param(
        LogitNormal(median=12.0, gsd=1.54),
        doc="NK % of lymphocytes: logit-normal on (0, 100), gsd of the odds",
        source="ASSUMPTION: RPL cohorts report ~12 +- 5 %; gsd keeps the former log-normal's "
        "share above the cut-off",
    )
    cytotoxicity_50: LogitNormal = param(
        LogitNormal(median=26.0, gsd=1.70),
        doc="cytotoxicity at 50:1: logit-normal on (0, 100), gsd of the odds",
        source="ASSUMPTION: gsd keeps the former log-normal's share above the cut-off",
    )
    cytotoxicity_25: LogitNormal = param(
        LogitNormal(median=18.0, gsd=1.67),
        doc="cytotoxicity at 25:1: logit-normal on (0, 100), gsd of the odds",
        source="ASSUMPTION: gsd keeps the former log-normal's share above the cut-off",
    )
    cytotoxicity_12_5: LogitNormal = param(
        LogitNormal(median=7.5, gsd=1.67),
        doc="cytotoxicity at 12.5:1: logit-normal on (0, 100), gsd of the odds",
        source="ASSUMPTION: gsd keeps the former log-normal's share above the cut-off",
    )
    cytotoxicity_correlation: float = param(
        0.8,
        lo=0,
        hi=0.99,
        doc="correlation of the three logit cytotoxicities",
        source="ASSUMPTION: the same cells at three dilutions",
    )
    th1_th2: LogNormal = param(LogNormal(median=22.0, gsd=1.5), doc="Th1/Th2 ratio", source="ASSUMPTION")
    profiles_known: ProfileWeights = param(
        ProfileWeights(nk=33, nka=22, th=17, nk_nka=12, nk_th=6, nka_th=4, nk_nka_th=3),
        doc="profile weights among the 97 KA women",
        source="Section 3.2: NK alone 15.3% of 215 = 33; the rest ASSUMPTION ordered as "
        "Figure 2 (NK > cytotoxicity > Th1/Th2)",
    )
    profiles_idiopathic: ProfileWeights = param(
        ProfileWeights(nk=43, nka=18, th=10, nk_nka=21, nk_th=8, nka_th=0, nk_nka_th=0),
        doc="profile weights among the 100 IA women",
        source="Section 3.2: NK alone 17.1% of 251 = 43; Figure 3B: NK+NKa 90.5% = 19/21 -> 21, "
        "NK+Th 75% -> 8 (6/8, ASSUMPTION), no NKa+Th; NKa 18, Th 10 ASSUMPTION",
    )
    th1_th2_known_2_3: float | None = param(
        0.113,
        lo=0,
        hi=1,
        doc="share with high Th1/Th2 among known-etiology women with 2-3 losses",
        source="Section 3.7, Figure 6A",
    )
    th1_th2_known_4plus: float | None = param(
        0.234,
        lo=0,
        hi=1,
        doc="share with high Th1/Th2 among known-etiology women with >= 4 losses",
        source="Section 3.7, Figure 6A",
    )

    def _rules(self) -> list[str]:
        if (self.th1_th2_known_2_3 is None) != (self.th1_th2_known_4plus is None):
            return ["th1_th2_known_2_3 and th1_th2_known_4plus go together: give both or neither."]
        return []


@dataclass(frozen=True, kw_only=True)
class KnownCauses:
    """Share of each identified cause among known-etiology women (one primary cause each)."""

    chromosomal: float = param(
        0.07,
        lo=0,
        hi=1,
        doc="parental chromosomal abnormality",
        source="ASSUMPTION: 2-5% of RPL couples (ESHRE 2022)",
    )
    anatomical: float = param(
        0.18, lo=0, hi=1, doc="uterine septum and other anomalies", source="ASSUMPTION: ESHRE 2022"
    )
    thyroid: float = param(
        0.25, lo=0, hi=1, doc="antithyroid antibodies or high TSH", source="ASSUMPTION: ESHRE 2022"
    )
    prolactin: float = param(0.08, lo=0, hi=1, doc="hyperprolactinaemia", source="ASSUMPTION")
    infection: float = param(0.07, lo=0, hi=1, doc="confirmed infection", source="ASSUMPTION")
    thrombophilia: float = param(
        0.35,
        lo=0,
        hi=1,
        doc="thrombophilia incl. APS",
        source="ASSUMPTION: APS 5-20% of RPL, the most common cause",
    )

    def _rules(self) -> list[str]:
        return _sum_rule(self, KNOWN_CAUSES, "shares of the known causes")


@dataclass(frozen=True, kw_only=True)
class CohortParams:
    """``[cohort]``: who the women are."""

    n: int = param(466, lo=1, hi=50_000_000, doc="women per cohort", source="Table 1")
    strata: StrataShares = param(StrataShares(), doc="stratum shares")
    age: PerStratumMoments = param(
        _per(
            _m(32.78, 3.72, 22, 43), _m(32.39, 3.78, 25, 45), _m(33.66, 3.85, 25, 42), _m(33.42, 3.46, 26, 42)
        ),
        unit="years",
        doc="age per stratum",
        source="Table 1",
    )
    bmi: PerStratumMoments = param(
        _per(
            _m(23.00, 4.2, 12, 60), _m(21.71, 3.15, 12, 60), _m(21.9, 3.01, 12, 60), _m(21.99, 3.45, 12, 60)
        ),
        unit="kg/m2",
        doc="BMI per stratum: Table 1's mean and SD on the support [min, max]",
        source="Table 1 (mean, SD); min and max ASSUMPTION: 12-60 kg/m2, not Table 1's ranges (KN "
        "14.5-39.3, KA 16-36.1, IN 16.7-33.6, IA 16.7-33.2), which are the extremes of 97-151 women: a "
        "law cut there never passes them, so a simulated cohort's maximum fell short of the paper's",
    )
    previous_miscarriages: PerStratumMoments = param(
        _per(_m(2.89, 1.23, 2, 10), _m(3.18, 1.23, 2, 8), _m(2.87, 1.13, 2, 10), _m(2.95, 1.14, 2, 7)),
        doc="previous miscarriages (integer) per stratum",
        source="Table 1",
    )
    parity: PerStratumMoments = param(
        _per(_m(0.09, 0.32, 0, 2), _m(0.11, 0.32, 0, 1), _m(0.18, 0.42, 0, 2), _m(0.15, 0.35, 0, 1)),
        doc="parity (integer) per stratum",
        source="Table 1",
    )
    bmi_family: str = param(
        "lognormal",
        choices=("normal", "lognormal"),
        doc="shape of BMI's law on each stratum's support [min, max] (its mean and SD are Table 1's "
        "either way)",
        source="ASSUMPTION: BMI is right-skewed; Table 1's maxima lie 3.2-4.6 SD above the means, "
        "which a symmetric law on the same support almost never reaches",
    )
    height: Height = param(Height(), doc="height of the women")
    immune: Immune = param(Immune(), doc="immune markers")
    known_causes: KnownCauses = param(KnownCauses(), doc="causes in the known strata")
    ivf_share: float = param(
        0.20,
        lo=0,
        hi=1,
        doc="share of index pregnancies conceived by IVF",
        source="ASSUMPTION: the paper treats IVF cycles but gives no share",
    )
