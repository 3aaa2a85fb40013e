"""The ``[trial]``, ``[recruitment]``, ``[sensitivity]`` and ``[sweep]`` sections: a trial to size.

Each a frozen dataclass declared with :func:`rplsim.scenario.schema.param`. Defaults are the
paper's values (Han et al. 2025, cited per key) or labelled assumptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rplsim._core.keys import split_key
from rplsim._core.limits import MAX_N_PER_ARM
from rplsim._core.vocabulary import ALTERNATIVES
from rplsim.design.futility import FUTILITY_RULES
from rplsim.design.reestimation import EFFECTS as REESTIMATION_EFFECTS
from rplsim.design.sequential import BOUNDARIES
from rplsim.scenario.schema import param
from rplsim.scenario.tomlio import echo_key, echo_value
from rplsim.stats.registry import ANALYSIS_NAMES

__all__ = [
    "FUTILITY_CHOICES",
    "POPULATION_STRATA",
    "SWEEP_BLOCK",
    "RecruitmentParams",
    "ReestimationParams",
    "SensitivityParams",
    "SweepParams",
    "TrialParams",
]

#: The strata each ``trial.population`` is drawn from (``rplsim.trial.simulation.POPULATIONS``
#: holds the same table; ``tests/scenario/test_model.py`` checks the two agree).
POPULATION_STRATA: dict[str, tuple[str, ...]] = {
    "abnormal": ("KA", "IA"),
    "idiopathic-abnormal": ("IA",),
    "known-abnormal": ("KA",),
    "idiopathic": ("IN", "IA"),
    "all": ("KN", "KA", "IN", "IA"),
}


#: ``trial.futility``: none, or a rule of :data:`rplsim.design.futility.FUTILITY_RULES`.
FUTILITY_CHOICES = ("none", *FUTILITY_RULES)


# ----------------------------------------------------------------------------- [trial]
@dataclass(frozen=True, kw_only=True)
class TrialParams:
    """``[trial]``: a prospective randomised IVIG trial."""

    population: str = param(
        "abnormal",
        choices=tuple(POPULATION_STRATA),
        doc="eligible women (strata: abnormal = KA + IA, idiopathic = IN + IA)",
    )
    min_previous_miscarriages: int = param(2, lo=2, hi=20, doc="eligible from this many losses")
    control_lbr: float = param(
        lo=0,
        hi=1,
        lo_open=True,
        hi_open=True,
        doc="live-birth rate of eligible women on placebo",
        source="ASSUMPTION, always: the paper has no untreated group",
    )
    treatment_lbr: float | None = param(
        None, lo=0, hi=1, lo_open=True, hi_open=True, doc="live-birth rate on IVIG (or ivig_odds_ratio)"
    )
    ivig_odds_ratio: float | None = param(
        None, lo=0, lo_open=True, doc="odds ratio IVIG vs placebo (or treatment_lbr)"
    )
    design: str = param("superiority", choices=("superiority", "non-inferiority"))
    margin: float | None = param(
        None, lo=0, lo_open=True, hi=0.5, doc="non-inferiority margin (largest acceptable loss in LBR)"
    )
    analysis: str = param("chi2", choices=ANALYSIS_NAMES)  # live: registered analyses count
    alternative: str = param("two-sided", choices=ALTERNATIVES)
    alpha: float = param(0.05, lo=0, lo_open=True, hi=0.5)
    power: float = param(0.80, lo=0.5, lo_open=True, hi=1, hi_open=True)
    allocation_ratio: float = param(1.0, lo=0.1, hi=10, doc="n_treatment / n_control")
    block_size: int = param(
        4,
        lo=0,
        hi=1000,
        doc="permuted-block size for randomisation; 0 = simple randomisation",
        source="ASSUMPTION: permuted blocks of 4, the usual choice",
    )
    dropout: float = param(
        0.10,
        lo=0,
        hi=0.9,
        doc="share randomised but without outcome",
        source="ASSUMPTION: the paper lost 290/987 to follow-up "
        "retrospectively; a prospective trial does better",
    )
    looks: int = param(1, lo=1, hi=10, doc="analyses, the last one final")
    boundary: str = param("obrien-fleming", choices=BOUNDARIES)
    futility: str = param(
        "none",
        choices=FUTILITY_CHOICES,
        doc="stopping for futility at the interim looks (looks > 1): beta-spending of the "
        "boundary's family (obrien-fleming: rpact bsOF; pocock: bsP), or conditional power "
        "under the planned effect below futility_threshold",
    )
    futility_binding: bool = param(
        False,
        doc="false: futility stops may be overruled, the efficacy boundaries are those without "
        "futility (type-I error at most alpha); true: the efficacy boundaries count on them",
    )
    futility_threshold: float = param(
        0.10,
        lo=0,
        lo_open=True,
        hi=0.5,
        hi_open=True,
        doc='conditional power below which futility == "conditional-power" stops the trial',
        source="ASSUMPTION: 10%, a common stochastic-curtailment threshold",
    )
    reestimation: ReestimationParams | None = param(
        None,
        doc="the trial sized again at an interim from the pooled (blinded) live-birth rate",
    )
    replicates: int = param(10_000, lo=1, hi=100_000_000, doc="simulated trials per power point")
    n_per_arm: int | None = param(
        None, lo=2, hi=MAX_N_PER_ARM, doc="fixed control-arm size; absent = found by search"
    )
    comparator: str = param(
        "placebo",
        doc="what the IVIG arm is compared with, as the report and the protocol paragraph name it "
        '(e.g. "placebo", "women with normal immunity")',
    )
    randomised: bool = param(
        True,
        doc="false: the two arms are groups enrolled side by side (e.g. IVIG-treated abnormal "
        "immunity and untreated normal immunity), not randomised; the numbers are the same, the "
        "report and the protocol paragraph say 'enrolled' instead of 'randomised'",
    )
    control_lbr_source: str = param(
        "", doc="where control_lbr comes from, quoted in the design table and the protocol paragraph"
    )
    treatment_lbr_source: str = param(
        "",
        doc="where treatment_lbr (or ivig_odds_ratio) comes from, quoted in the design table and the "
        "protocol paragraph",
    )

    def _rules(self) -> list[str]:
        out = []
        if not self.comparator.strip():
            out.append('comparator == "", must name the control arm, e.g. "placebo".')
        if self.block_size > 0:
            t = self.block_size * self.allocation_ratio / (1 + self.allocation_ratio)
            if abs(t - round(t)) > 1e-9:
                out.append(
                    f"block_size == {self.block_size}, must hold a whole number of "
                    f"treated women at allocation_ratio {self.allocation_ratio} "
                    f"({t:.3g} per block); e.g. block_size = "
                    f"{_smallest_block(self.allocation_ratio)}, or 0 for simple "
                    "randomisation."
                )
        if (self.treatment_lbr is None) == (self.ivig_odds_ratio is None):
            out.append("treatment_lbr and ivig_odds_ratio: give exactly one of the two.")
        if self.design == "non-inferiority":
            if self.margin is None:
                out.append('margin is required when design == "non-inferiority".')
            if self.alternative != "larger":
                out.append(
                    f'alternative == "{self.alternative}", must be "larger" for a '
                    "non-inferiority design (one-sided)."
                )
        elif self.margin is not None:
            out.append(f'margin == {self.margin}, only allowed with design == "non-inferiority".')
        if self.futility != "none" and self.looks < 2:
            out.append(
                f'futility == "{self.futility}" needs interim looks: looks == {self.looks}, must be '
                '>= 2 (or futility = "none").'
            )
        if self.futility != "none" and self.design == "non-inferiority":
            out.append(
                f'futility == "{self.futility}" with design == "non-inferiority": futility stops are '
                'for superiority designs; use futility = "none".'
            )
        if self.reestimation is not None:
            if self.looks > 1:
                out.append(
                    f"reestimation with looks == {self.looks}: an internal pilot is for a fixed design "
                    "(looks = 1); remove [trial.reestimation] or set looks = 1."
                )
            if self.design == "non-inferiority":
                out.append(
                    'reestimation with design == "non-inferiority": re-estimation holds a superiority '
                    "effect fixed; remove [trial.reestimation]."
                )
        if self.analysis == "boschloo" and self.design == "non-inferiority":
            out.append(
                'analysis == "boschloo" with design == "non-inferiority": Boschloo\'s test has no '
                'margin; use analysis = "chi2" (Farrington-Manning).'
            )
        return out


@dataclass(frozen=True, kw_only=True)
class ReestimationParams:
    """``[trial.reestimation]``: an internal pilot with blinded sample-size re-estimation."""

    at: float = param(
        0.5,
        lo=0,
        hi=1,
        lo_open=True,
        hi_open=True,
        doc="fraction of the planned women (per arm) whose outcome is known at re-estimation",
        source="ASSUMPTION: half, the usual internal pilot (Kieser & Friede 2003)",
    )
    effect: str = param(
        "odds-ratio",
        choices=REESTIMATION_EFFECTS,
        doc="the planned effect held fixed when the pooled (blinded) rate is split into the arms' rates",
    )
    max_factor: float = param(
        2.0, lo=1, hi=10, doc="the new n is at most this times the planned n", source="ASSUMPTION: a 2x cap"
    )
    min_factor: float = param(
        1.0, lo=1, hi=10, doc="the new n is at least this times the planned n (1: never smaller)"
    )

    def _rules(self) -> list[str]:
        if self.min_factor > self.max_factor:
            return [f"min_factor == {self.min_factor}, must be <= max_factor == {self.max_factor}."]
        return []


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
        70.5,
        lo=0,
        lo_open=True,
        unit="women/centre/year",
        doc="RPL women seen per centre per year",
        source="Figure 1: 987 seen in 14 years (2007-2020)",
    )
    workup_share: float = param(
        (987 - 76 - 92) / 987,
        lo=0,
        lo_open=True,
        hi=1,
        doc="share of screened women who complete the immune work-up at the centre",
        source="Figure 1: (987 - 76 incomplete - 92 outside) / 987 = 0.830",
    )
    pregnancy_share: float = param(
        529 / 819,
        lo=0,
        lo_open=True,
        hi=1,
        doc="share of worked-up women with a documented index pregnancy",
        source="Figure 1: 466 + 3 + 7 + 53 = 529 of 819 worked up (290 lost to follow-up)",
    )
    consent_share: float = param(
        0.5,
        lo=0,
        lo_open=True,
        hi=1,
        doc="eligible women who consent to randomisation",
        source="ASSUMPTION: typical for placebo-controlled RPL trials",
    )
    centre_rate_cv: float = param(
        0.0,
        lo=0,
        hi=5,
        doc="coefficient of variation of the centres' rates (Gamma, the Poisson-gamma model of "
        "Anisimov & Fedorov 2007); 0 = every centre at the mean rate",
        source="ASSUMPTION: 0, every centre like the paper's one (multi-centre trials see 0.5-1)",
    )
    activation_months: float = param(
        0.0,
        lo=0,
        hi=240,
        unit="months",
        doc="the centres open evenly over this many months from the start (0 = all at once)",
        source="ASSUMPTION: 0, every centre open from the start",
    )
    months_to_pregnancy: float = param(
        0.0,
        lo=0,
        hi=120,
        unit="months",
        doc="mean time (exponential) from consent to the confirmed index pregnancy, when the woman "
        "is randomised (0 = at once)",
        source="ASSUMPTION: 0, randomised at consent",
    )


@dataclass(frozen=True, kw_only=True)
class SensitivityParams:
    """``[sensitivity]``: the grid of unknowns."""

    control_lbr: list[float] = param(
        [0.35, 0.45, 0.55, 0.60, 0.65, 0.70, 0.75],
        lo=0,
        hi=1,
        lo_open=True,
        hi_open=True,
        min_len=1,
        doc="placebo live-birth rates",
    )
    treatment_lbr: list[float] = param(
        [0.58, 0.70, 0.75, 0.80, 0.827, 0.85, 0.90],
        lo=0,
        hi=1,
        lo_open=True,
        hi_open=True,
        min_len=1,
        doc="IVIG live-birth rates",
    )
    simulate_points: int = param(3, lo=0, hi=50, doc="grid points checked by simulation")
    # The ranges of the tornado (assumptions.png): n at the low and the high end of each, the
    # others at the scenario's values. Defaults: EVIDENCE.md, or labelled assumptions.
    control_lbr_range: list[float] = param(
        [0.35, 0.63],
        lo=0,
        hi=1,
        lo_open=True,
        hi_open=True,
        min_len=2,
        doc="low and high placebo live-birth rate of the tornado",
        source="Yang & Meng 2020 review, Table 2: placebo-arm LBRs of the RPL IVIG trials lie between "
        "about 35% and 63% (EVIDENCE.md)",
    )
    treatment_lbr_range: list[float] = param(
        [0.748, 0.858],
        lo=0,
        hi=1,
        lo_open=True,
        hi_open=True,
        min_len=2,
        doc="low and high IVIG live-birth rate of the tornado (held as a rate, whichever of "
        "treatment_lbr / ivig_odds_ratio the trial gives)",
        source="Table 3: Jeffreys 95% interval of 159/197 IVIG-treated abnormal women, Beta(159.5, 38.5)",
    )
    dropout_range: list[float] = param(
        [0.05, 0.20],
        lo=0,
        hi=0.9,
        min_len=2,
        doc="low and high dropout of the tornado",
        source="ASSUMPTION: a prospective trial loses 5-20% (the retrospective study lost 290 of 819)",
    )
    consent_share_range: list[float] = param(
        [0.3, 0.7],
        lo=0,
        hi=1,
        lo_open=True,
        min_len=2,
        doc="low and high consent share of the tornado (moves the women screened, not n)",
        source="ASSUMPTION: 30-70% of eligible women accept randomisation to placebo",
    )

    def _rules(self) -> list[str]:
        out = []
        for name in ("control_lbr_range", "treatment_lbr_range", "dropout_range", "consent_share_range"):
            v = getattr(self, name)
            if len(v) != 2 or not v[0] < v[1]:
                out.append(
                    f"{name} == {v}, must be two values [low, high] with low < high, e.g. [0.35, 0.63]."
                )
        return out


# Replicates are simulated in keyed blocks of rplsim.trial.REPLICATE_BLOCK; trial.py imports this
# module, so the number is repeated here (tests/sweep/test_grid.py checks the two agree).
SWEEP_BLOCK = 1024


@dataclass(frozen=True, kw_only=True)
class SweepParams:
    """``[sweep]``: each point is this scenario with one value of every axis; power is simulated at each."""

    grid: dict[str, list[float | int | str | bool]] = param(
        {},
        min_len=1,
        doc='quoted dotted scenario key -> its values, e.g. { "trial.control_lbr" = [0.55, 0.6] }; '
        "the points are the Cartesian product; a key whose value is a list takes lists, e.g. "
        '{ "prior.control_lbr.beta" = [[10, 10], [20, 20]] }',
    )
    n_per_arm: int | None = param(
        None,
        lo=2,
        hi=MAX_N_PER_ARM,
        doc="simulate every point at this control-arm size; absent = "
        "trial.n_per_arm, else the point's analytic n inflated for "
        "dropout",
    )
    replicates: int | None = param(
        None, lo=1, hi=100_000_000, doc="simulated trials per point; absent = trial.replicates"
    )
    batch: int = param(
        4096,
        lo=SWEEP_BLOCK,
        hi=100_000_000,
        doc="replicates per task (a multiple of 1024); results do not depend on it",
    )

    def _rules(self) -> list[str]:
        out = []
        if self.batch % SWEEP_BLOCK:
            out.append(
                f"batch == {self.batch}, must be a multiple of {SWEEP_BLOCK} (replicates "
                f"are simulated in keyed blocks of {SWEEP_BLOCK})."
            )
        for key in self.grid:
            parts = split_key(key)
            if len(parts) < 2 or not all(parts):
                out.append(
                    f"grid.{echo_key(key)} is not a dotted key, must be section.key, e.g. "
                    '"trial.control_lbr" (quoted).'
                )
            elif parts[0] == "sweep":
                out.append(f"grid.{echo_key(key)}: the [sweep] section cannot be swept.")
            for v in _repeated(self.grid[key]):
                out.append(f"grid.{echo_key(key)} lists {echo_value(v)} twice; give each value once.")
        return out


def _repeated(values: list[float | int | str | bool]) -> list[float | int | str | bool]:
    """The values listed more than once (0.6 and 0.60 are one value; true is not 1), once each."""

    def key(v: Any) -> tuple[str, object]:
        if isinstance(v, bool):
            return ("bool", v)
        if isinstance(v, list):  # a list-valued key's value (prior.control_lbr.beta = [10, 10])
            return ("list", tuple(key(x) for x in v))
        return ("number", float(v)) if isinstance(v, (int, float)) else ("str", v)

    seen: set[tuple[str, object]] = set()
    out: list[float | int | str | bool] = []
    for v in values:
        k = key(v)
        if k in seen and all(key(d) != k for d in out):
            out.append(v)
        seen.add(k)
    return out
