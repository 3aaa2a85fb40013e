"""The paper's numbers as data: Han et al. 2025, Front. Endocrinol. 16:1546602.

Every value is transcribed from ``shared/TARGETS.md`` with its table or section. Calibration
compares against these; the scenario defaults cite the same places. Where the paper
contradicts itself, :data:`CONFLICTS` says which reading rplsim follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = [
    "CONFLICTS",
    "FUNNEL",
    "OUTCOMES",
    "TABLE1",
    "Conflict",
    "paper_funnel",
]

CITATION = (
    "Han JW, Park JS, Kim J-S, Lee SK. Efficacy of intravenous immunoglobulin in "
    "recurrent pregnancy loss. Front. Endocrinol. 16:1546602 (2025). "
    "doi:10.3389/fendo.2025.1546602"
)

# Figure 1, section 2.2: (step, n, kind) in the order of the flow chart.
FUNNEL: tuple[tuple[str, int, str], ...] = (
    ("RPL women seen, Jan 2007 - Dec 2020 (>= 2 spontaneous abortions)", 987, "seen"),
    ("incomplete work-up", 76, "excluded"),
    ("work-up done outside the hospital", 92, "excluded"),
    ("lost to follow-up", 290, "excluded"),
    ("stillbirth (20, 22, 34 weeks)", 3, "excluded"),
    ("chemical pregnancy", 7, "excluded"),
    ("did not follow treatment protocol", 53, "excluded"),
    ("analysed", 466, "analysed"),
)

STRATA_N = {"KN": 118, "KA": 97, "IN": 151, "IA": 100}  # Table 1
ABNORMAL_PREVALENCE = {"known": 0.451, "idiopathic": 0.398}  # Section 3.2, Figure 2
NK_ALONE_SHARE = {"known": 0.153, "idiopathic": 0.171}  # Section 3.2 (read as "NK alone")
TH1_TH2_KNOWN = {"2-3": 0.113, ">=4": 0.234}  # Section 3.7, Figure 6A
# Section 3.6, Figure 5: trend of abnormal prevalence with previous miscarriages (p-values).
ABNORMAL_TREND_P = {"all": 0.032, "known": 0.026, "idiopathic": 0.432}

# Table 1: (mean, sd, min, max) per stratum.
TABLE1: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "age": {
        "KN": (32.78, 3.72, 22, 43),
        "KA": (32.39, 3.78, 25, 45),
        "IN": (33.66, 3.85, 25, 42),
        "IA": (33.42, 3.46, 26, 42),
    },
    "bmi": {
        "KN": (23.00, 4.2, 14.5, 39.3),
        "KA": (21.71, 3.15, 16, 36.1),
        "IN": (21.9, 3.01, 16.7, 33.6),
        "IA": (21.99, 3.45, 16.7, 33.2),
    },
    "previous_miscarriages": {
        "KN": (2.89, 1.23, 2, 10),
        "KA": (3.18, 1.23, 2, 8),
        "IN": (2.87, 1.13, 2, 10),
        "IA": (2.95, 1.14, 2, 7),
    },
    "parity": {
        "KN": (0.09, 0.32, 0, 2),
        "KA": (0.11, 0.32, 0, 1),
        "IN": (0.18, 0.42, 0, 2),
        "IA": (0.15, 0.35, 0, 1),
    },
}
ANOVA_F = {
    "age": (2.872, 0.036),
    "bmi": (2.7, 0.045),
    "previous_miscarriages": (1.705, None),
    "parity": (1.687, None),
}  # Table 1
IVIG_DOSE = {"KA": (114.53, 105.32, 20, 498), "IA": (154.06, 79.18, 0, 422)}  # Table 1, grams

# Table 3: per stratum (n, miscarriages, karyotyped, euploid, failure numerator, denominator).
OUTCOMES: dict[str, tuple[int, int, int, int, int, int]] = {
    "KN": (118, 22, 14, 7, 7, 110),
    "KA": (97, 16, 14, 8, 6, 95),
    "IN": (151, 30, 21, 10, 11, 142),
    "IA": (100, 22, 11, 7, 4, 89),
}
LBR_ABNORMAL_TEXT = (163, 197)  # Section 3.3 and abstract: 82.7% (conflict with Table 3)
LBR_NORMAL = (217, 269)  # Section 3.3: 80.7%, agrees with Table 3
LBR_CHI2_P = 0.569  # Section 3.3
LBR_4PLUS = {"all": 0.781, "known": 0.787, "idiopathic": 0.776}  # Section 4 / Figure 4
PROFILE_LBR_IA = {"NK+NKa": 0.905, "NK+Th": 0.75}  # Section 3.3, Figure 3B
KARYOTYPED = (60, 90)  # Section 3.8: 60 tests in 90 miscarriages

# Table 2: (OR, CI low, CI high, B as printed).
TABLE2: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "all": {
        "age": (0.924, 0.867, 0.984, -0.080),
        "bmi": (0.920, 0.864, 0.981, -0.083),
        "previous_miscarriages": (1.015, 0.822, 1.253, 0.015),
    },
    "known": {
        "age": (0.984, 0.895, 1.083, -0.016),
        "bmi": (0.922, 0.844, 1.008, 0.081),
        "previous_miscarriages": (0.945, 0.713, 1.252, 0.056),
    },
    "idiopathic": {
        "age": (0.868, 0.792, 0.952, -0.141),
        "bmi": (0.911, 0.828, 1.003, -0.093),
        "previous_miscarriages": (1.140, 0.816, 1.593, -0.131),
    },
}

# Outside figures the paper cites (Section 1 and 4), for alternative trial scenarios.
YAMADA_2022 = (0.580, 0.347)  # ongoing pregnancy, IVIG vs placebo, >= 4 unexplained losses
MORARU_2012 = (0.825, 0.125)  # LBR with vs without IVIG, NK > 12%


@dataclass(frozen=True)
class Conflict:
    """A place where the paper contradicts itself, and what rplsim does about it."""

    what: str
    readings: str
    followed: str


CONFLICTS: tuple[Conflict, ...] = (
    Conflict(
        "size of the known and idiopathic groups",
        "abstract and section 2.1: idiopathic 215, known 251; Table 1 and section 3.1: "
        "known 215, idiopathic 251",
        "Table 1 (known 215, idiopathic 251); the swapped labels are reported as a miss",
    ),
    Conflict(
        "live-birth rate of the IVIG-treated (abnormal) women",
        "text and abstract: 82.7% (163/197); Table 3: 38 losses in 197, i.e. 159/197 = 80.7%",
        "Table 3 (per-stratum counts, 159/197); 163/197 is reported as a miss",
    ),
    Conflict(
        "treatment-failure numerators in Table 3",
        "the failure numerators (KN 7, KA 6, IN 11, IA 4) should be the euploid losses, "
        "but the euploid counts in the same table are 7, 8, 10, 7",
        "the euploid counts (they follow from the karyotyped and euploid shares); the "
        "printed failure rates are reported beside, as 'not followed' where they differ",
    ),
    Conflict(
        "signs in Table 2",
        "B and OR disagree in sign in three rows (known BMI, known previous miscarriages, "
        "idiopathic previous miscarriages)",
        "the OR and its CI (they agree in every row); B is not used",
    ),
)


def paper_funnel() -> pd.DataFrame:
    """The enrollment funnel of Figure 1 as a table the trial-planning stage can reuse.

    Returns
    -------
    pandas.DataFrame
        Columns ``step, n, kind, remaining`` where ``remaining`` is the number still in after
        the step (987 at the top, 466 at the end).

    Examples
    --------
    >>> int(paper_funnel().remaining.iloc[-1])
    466
    """
    rows = []
    remaining = 0
    for step, n, kind in FUNNEL:
        if kind == "seen":
            remaining = n
        elif kind == "excluded":
            remaining -= n
        rows.append({"step": step, "n": n, "kind": kind, "remaining": remaining})
    df = pd.DataFrame(rows)
    assert df.remaining.iloc[-1] == FUNNEL[-1][1]  # the paper's flow chart adds up
    return df
