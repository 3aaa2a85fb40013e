"""The cohort as a dataset: one schema of its columns, and the codebook generated from it.

:func:`cohort_schema` lists every column of :func:`rplsim.generate_cohort` once: name, unit,
type, the precision it is rounded to *at generation* (before any cut-off is applied, so a flag
is always the cut-off applied to the value as written), how it is drawn and the paper's source.
The generator takes its column order and precisions from here, ``docs/cohort.md`` is generated
from it (``python -m rplsim.cohort [PATH]``; a test compares the file with the text),
and ``rplsim cohort FILE --codebook`` prints it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rplsim.scenario import STRATA, CohortParams

__all__ = [
    "COHORT_SCHEMA",
    "DEFAULT_CODEBOOK_PATH",
    "OUTCOME_SCHEMA",
    "ColumnSpec",
    "cohort_codebook",
    "cohort_schema",
    "round_column",
    "write_cohort_docs",
]

DEFAULT_CODEBOOK_PATH = Path("docs") / "cohort.md"


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the cohort table.

    Attributes
    ----------
    column : str
        Column name (snake_case).
    unit : str
        Unit, or "" for codes, flags and counts.
    dtype : str
        "int", "float", "bool" or "category" (with its levels in ``generated``).
    decimals : int or None
        Digits after the decimal point the value is rounded to at generation (0 for counts);
        None for flags and categories.
    generated : str
        How the value is drawn or derived.
    source : str
        Where the paper gives it, or ``ASSUMPTION`` with the reason.
    """

    column: str
    unit: str
    dtype: str
    decimals: int | None
    generated: str
    source: str

    @property
    def precision(self) -> float | None:
        """The rounding step (0.1 for one decimal); None when not rounded."""
        return None if self.decimals is None else 10.0**-self.decimals

    def precision_text(self) -> str:
        """The rounding step as written in the codebook ("0.1", "1", "")."""
        if self.decimals is None:
            return ""
        return "1" if self.decimals == 0 else f"{10.0**-self.decimals:.{self.decimals}f}"


def _levels(*names: str) -> str:
    return " / ".join(f'"{n}"' for n in names)


def _bmi_support(p: CohortParams) -> str:
    """The BMI supports of the four strata, once when they are all the same ("12-60")."""
    bounds = {s: (getattr(p.bmi, s).min, getattr(p.bmi, s).max) for s in STRATA}
    if len(set(bounds.values())) == 1:
        lo, hi = bounds[STRATA[0]]
        return f"{lo:g}-{hi:g}"
    return ", ".join(f"{s} {lo:g}-{hi:g}" for s, (lo, hi) in bounds.items())


def cohort_schema(params: CohortParams | None = None) -> tuple[ColumnSpec, ...]:
    """The columns of a cohort drawn from ``params``, in the generator's order.

    Parameters
    ----------
    params : CohortParams, optional
        The ``[cohort]`` section whose cut-offs and rule the text quotes (default: the paper's).
        Names, units, types and precisions do not depend on it.

    Returns
    -------
    tuple of ColumnSpec

    Examples
    --------
    >>> [c.column for c in cohort_schema()][:4]
    ['patient_id', 'etiology', 'immunity', 'stratum']
    >>> {c.column: c.precision_text() for c in cohort_schema()}["nk_percent"]
    '0.1'
    """
    p = CohortParams() if params is None else params
    imm = p.immune
    logit = (
        "logit-normal on (0, 100): 100·expit(N(logit(median/100), log gsd)), gsd the geometric SD "
        "of the odds (`cohort.immune.{key}`)"
    )
    return (
        ColumnSpec("patient_id", "", "int", 0, "0, 1, ... in order of drawing", "—"),
        ColumnSpec(
            "etiology", "", "category", None, f"{_levels('known', 'idiopathic')}, from the stratum", "Table 1"
        ),
        ColumnSpec(
            "immunity",
            "",
            "category",
            None,
            f"{_levels('normal', 'abnormal')}, from the stratum; abnormal = at least one marker flag",
            "Section 2.1, Table 1",
        ),
        ColumnSpec(
            "stratum",
            "",
            "category",
            None,
            f"{_levels('KN', 'KA', 'IN', 'IA')}, drawn with the shares `cohort.strata`",
            "Table 1: 118 / 97 / 151 / 100 of 466",
        ),
        ColumnSpec(
            "age",
            "years",
            "float",
            1,
            "normal truncated to the stratum's range, solved so the truncated mean and SD are Table 1's",
            "Table 1 (mean ± SD, range in whole years)",
        ),
        ColumnSpec(
            "bmi",
            "kg/m²",
            "float",
            1,
            f"{p.bmi_family} law on the stratum's support [min, max] ({_bmi_support(p)}), solved to "
            "Table 1's mean and SD",
            "Table 1 (mean ± SD, printed to 0.1); the support an ASSUMPTION (paper.toml: 12-60, wider "
            "than Table 1's ranges, which are a sample's extremes)",
        ),
        ColumnSpec(
            "height_m",
            "m",
            "float",
            3,
            "normal truncated to `cohort.height` [min, max], solved to its mean and SD",
            "ASSUMPTION: the paper gives BMI only (KNHANES heights)",
        ),
        ColumnSpec(
            "weight_kg",
            "kg",
            "float",
            1,
            "bmi × height_m² of the rounded values; IVIG is dosed by it (0.4 g/kg)",
            "Section 2.3 (dose per kg)",
        ),
        ColumnSpec(
            "previous_miscarriages",
            "",
            "int",
            0,
            "maximum-entropy pmf on the stratum's range with Table 1's mean and SD",
            "Table 1",
        ),
        ColumnSpec(
            "parity",
            "",
            "int",
            0,
            "maximum-entropy pmf on the stratum's range with Table 1's mean and SD; on {0, 1} the "
            "mean fixes the SD (the calibration table gives the reason beside that row)",
            "Table 1",
        ),
        ColumnSpec(
            "nk_percent",
            "% of lymphocytes",
            "float",
            1,
            logit.format(key="nk_percent") + ", drawn on the side of the cut-off its immune profile gives",
            "Section 2.1 (CD56+, cut-off); law ASSUMPTION",
        ),
        *(
            ColumnSpec(
                f"nk_cytotoxicity_{ratio}",
                "%",
                "float",
                1,
                logit.format(key=f"cytotoxicity_{ratio}")
                + "; the three ratios correlated on the logit scale "
                "(`cytotoxicity_correlation`) and drawn together until the rule gives the "
                "profile's flag",
                f"Section 2.1 (E:T {label}, cut-off); law ASSUMPTION",
            )
            for ratio, label in (("50", "50:1"), ("25", "25:1"), ("12_5", "12.5:1"))
        ),
        ColumnSpec(
            "th1_th2_ratio",
            "ratio",
            "float",
            2,
            "log-normal (median, gsd: `cohort.immune.th1_th2`), drawn on the side of the cut-off "
            "its immune profile gives",
            "Section 2.1 (TNF-α+ / IL-10+ CD4+ T cells, cut-off); law ASSUMPTION",
        ),
        ColumnSpec("nk_high", "", "bool", None, f"nk_percent > {imm.nk_cutoff}", "Section 2.1"),
        ColumnSpec(
            "nk_cytotoxicity_high",
            "",
            "bool",
            None,
            f'rule "{imm.cytotoxicity_rule}" over nk_cytotoxicity_50 > {imm.cytotoxicity_50_cutoff}, '
            f"_25 > {imm.cytotoxicity_25_cutoff}, _12_5 > {imm.cytotoxicity_12_5_cutoff}",
            "Section 2.1 (cut-offs); rule ASSUMPTION",
        ),
        ColumnSpec("th1_th2_high", "", "bool", None, f"th1_th2_ratio > {imm.th1_th2_cutoff}", "Section 2.1"),
        ColumnSpec(
            "immune_profile",
            "",
            "category",
            None,
            "one of the seven combinations (NK, NKa, Th, NK+NKa, NK+Th, NKa+Th, NK+NKa+Th) drawn "
            'with the profile weights (per band of losses in KA), "none" in the normal strata',
            "Section 3.2, Figures 2, 3B and 6A",
        ),
        ColumnSpec(
            "known_cause",
            "",
            "category",
            None,
            'one primary cause in the known strata with the shares `cohort.known_causes`; "none" '
            "in the idiopathic strata",
            "ASSUMPTION: ESHRE 2022 (the paper gives no shares)",
        ),
        ColumnSpec(
            "conception",
            "",
            "category",
            None,
            f'{_levels("natural", "ivf")}, "ivf" with probability `cohort.ivf_share` ({p.ivf_share})',
            "ASSUMPTION: Section 2.3 treats IVF cycles without their share",
        ),
    )


COHORT_SCHEMA: tuple[ColumnSpec, ...] = cohort_schema()
"""The paper scenario's :func:`cohort_schema`."""

OUTCOME_SCHEMA: tuple[ColumnSpec, ...] = (
    ColumnSpec(
        "outcome",
        "",
        "category",
        None,
        f"fate of the index pregnancy, {_levels('live_birth', 'miscarriage', 'stillbirth', 'chemical')}, "
        "from the outcome model (logistic in age, BMI and losses per stratum)",
        "Tables 2 and 3; section 2.2 (7 chemical pregnancies, 3 stillbirths)",
    ),
    ColumnSpec(
        "outcome_week", "weeks", "float", 1, "gestational week the pregnancy ends", "Section 2.2; ASSUMPTION"
    ),
    ColumnSpec(
        "analysed",
        "",
        "bool",
        None,
        "in the paper's denominator: a live birth or miscarriage of a woman who followed the protocol",
        "Section 2.2",
    ),
    ColumnSpec(
        "on_ivig", "", "bool", None, "received IVIG (abnormal immunity, by the protocol)", "Section 2.3"
    ),
    ColumnSpec(
        "adherent",
        "",
        "bool",
        None,
        "followed the treatment protocol",
        "Figure 1: 53 did not (`outcome.adherence`)",
    ),
    ColumnSpec("ivig_infusions", "", "int", 0, "infusions given, every 3-4 weeks to week 30", "Section 2.3"),
    ColumnSpec(
        "ivig_grams",
        "g",
        "float",
        1,
        "ivig_infusions × the dose, 0.4 g/kg × weight_kg (rounded up to `protocol.dose_rounding_g`)",
        "Section 2.3",
    ),
    ColumnSpec(
        "ivig_cost",
        "`clinic.currency`",
        "float",
        2,
        "ivig_grams × `clinic.ivig_price_per_g`",
        "ASSUMPTION (the paper gives no price)",
    ),
    ColumnSpec("karyotyped", "", "bool", None, "a lost pregnancy's abortus was karyotyped", "Table 3"),
    ColumnSpec("euploid", "", "bool", None, "the karyotyped abortus was euploid", "Table 3"),
)
"""The columns ``rplsim cohort --with-outcomes`` adds (the vectorised timeline's outcomes)."""


def round_column(x: np.ndarray, spec: ColumnSpec) -> np.ndarray:
    """``x`` rounded to ``spec``'s precision (unchanged when it has none).

    Examples
    --------
    >>> spec = [c for c in COHORT_SCHEMA if c.column == "age"][0]
    >>> round_column(np.array([32.449, 32.45001]), spec).tolist()
    [32.4, 32.5]
    """
    if spec.decimals is None:
        return x
    out: np.ndarray = np.round(x, spec.decimals)
    return out


INTRO = """\
# The cohort table

<!-- Generated by `python -m rplsim.cohort` from src/rplsim/cohort/codebook.py: do not edit. -->

`rplsim cohort FILE` (or `rplsim.generate_cohort`) draws one row a woman with the columns below,
in this order; `rplsim cohort FILE --codebook` prints this page. Every number is rounded to its
*precision* when it is drawn, before any cut-off is applied, so each `*_high` flag is exactly the
paper's rule ("abnormal when > cut-off", section 2.1) applied to the value as written.
Percentages come from laws bounded to (0, 100) (logit-normal), never clipped. The cut-offs,
rule and shares quoted are the paper scenario's; another scenario file prints its own.
`--format parquet` keeps the types (categories, booleans, integers); CSV writes them as text.
"""

_HEADER = "| column | unit | type | precision | how it is generated | source |\n|---|---|---|---|---|---|"


def _table(specs: Sequence[ColumnSpec]) -> list[str]:
    rows = [_HEADER]
    for c in specs:
        cells = [f"`{c.column}`", c.unit, c.dtype, c.precision_text(), c.generated, c.source]
        rows.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return rows


def cohort_codebook(params: CohortParams | None = None) -> str:
    """The codebook (Markdown) of the cohort table: one row a column.

    Parameters
    ----------
    params : CohortParams, optional
        The section whose cut-offs the text quotes (default the paper's, as in docs/cohort.md).

    Returns
    -------
    str
        An introduction, the cohort's columns, then those ``--with-outcomes`` adds.

    Examples
    --------
    >>> cohort_codebook().splitlines()[0]
    '# The cohort table'
    """
    out = [INTRO, "## Columns", "", *_table(cohort_schema(params)), ""]
    out += [
        "## With `--with-outcomes`",
        "",
        "The index pregnancy of each woman, run through the treatment protocol by the vectorised "
        "timeline (the same draws as `rplsim timeline` when clinic chairs never run short), joined "
        "on `patient_id`:",
        "",
        *_table(OUTCOME_SCHEMA),
    ]
    return "\n".join(out) + "\n"


def write_cohort_docs(path: str | Path = DEFAULT_CODEBOOK_PATH) -> Path:
    """Write :func:`cohort_codebook` to ``path`` (default ``docs/cohort.md``); return the path.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_cohort_docs(Path(d) / "cohort.md").read_text(encoding="utf-8") == cohort_codebook()
    True
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cohort_codebook(), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rplsim.cohort [PATH]``: write the codebook."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0].startswith("-")):
        print(
            f"usage: python -m rplsim.cohort [PATH]  (default {DEFAULT_CODEBOOK_PATH})",
            file=sys.stderr,
        )
        return 0 if args and args[0] in ("-h", "--help") else 2
    print(f"wrote {write_cohort_docs(args[0] if args else DEFAULT_CODEBOOK_PATH)}")
    return 0
