"""The sample-size section of a protocol: a design table, the paragraph, the boundary table.

:func:`protocol_summary` reads a sized trial (:class:`~rplsim.planning.stages.TrialStage`) and
its scenario and writes what a statistician pastes into a protocol, as rpact's ``summary()``
does for its designs: the hypotheses, the test, its sidedness and level, the assumed rates with
their sources, allocation, dropout, looks, the randomised and analysed n, the power (exact where
the design is enumerated, simulated otherwise, with its interval) and the type-I error; the
sample-size paragraph; and, for a group-sequential design, the boundary table.

It computes nothing new: every number is a field of the stage (its ``power``, ``exact``,
``feasibility``) or of the design's boundaries (:func:`rplsim.trial.formulas.sequential_design`,
the same object the simulation and the exact recursion read their thresholds from), so the
summary, ``report.md``, ``report.html`` and ``power.csv`` show one number for one quantity.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from rplsim.planning.feasibility import centres_text
from rplsim.scenario import Scenario
from rplsim.scenario.schema import iter_params
from rplsim.scenario.trial_params import POPULATION_STRATA
from rplsim.stats.registry import get_analysis
from rplsim.trial.formulas import futility_of, look_thresholds, sequential_design
from rplsim.trial.randomisation import look_sizes

if TYPE_CHECKING:
    from rplsim.planning.stages import TrialStage

__all__ = ["BOUNDARY_COLUMNS", "DESIGN_COLUMNS", "FUTILITY_COLUMNS", "ProtocolSummary", "protocol_summary"]

DESIGN_COLUMNS = ("item", "value", "source")
BOUNDARY_COLUMNS = (
    "look",
    "information_fraction",
    "n_randomised",
    "z_efficacy",
    "nominal_p",
    "cumulative_alpha",
    "stop_h0",
    "stop_h1",
)
#: Added to :data:`BOUNDARY_COLUMNS` for a design with futility stops: the futility bound on the
#: Z in favour of IVIG (NaN at the final look) and P(stopping for futility) under H0 and H1.
FUTILITY_COLUMNS = ("z_futility", "futility_h0", "futility_h1")

_BOUNDARY_NAMES = {
    "obrien-fleming": "O'Brien-Fleming",
    "pocock": "Pocock",
    "ld-obrien-fleming": "Lan-DeMets O'Brien-Fleming-type alpha spending",
    "ld-pocock": "Lan-DeMets Pocock-type alpha spending",
}
_TESTS = {
    "chi2": "Pearson chi-square test",
    "fisher": "Fisher's exact test",
    "cmh": "Cochran-Mantel-Haenszel test stratified by immune stratum",
    "logistic": "Wald test of the arm in a logistic regression on age and BMI",
    "boschloo": "Boschloo's exact unconditional test",
}
#: Who each ``trial.population`` is, in a protocol's words.
_WHO = {
    "abnormal": "abnormal cellular immunity",
    "idiopathic-abnormal": "unexplained RPL and abnormal cellular immunity",
    "known-abnormal": "a known cause of RPL and abnormal cellular immunity",
    "idiopathic": "unexplained RPL",
    "all": "normal or abnormal cellular immunity",
}


@dataclass(frozen=True, repr=False)
class ProtocolSummary:
    """What a protocol's sample-size section says about one sized trial.

    Attributes
    ----------
    scenario : str
        The scenario's name.
    design : pandas.DataFrame
        Columns :data:`DESIGN_COLUMNS`: one row a design item (hypotheses, test, α, rates, n,
        power, …), its value as text, and where it comes from.
    paragraph : str
        The sample-size paragraph, in plain text.
    boundaries : pandas.DataFrame or None
        Group-sequential designs: columns :data:`BOUNDARY_COLUMNS`, one row a look (z and
        nominal p of the efficacy boundary, the type-I error spent up to the look, women
        randomised at the look, and the probability of stopping there — a rejection in either
        direction — under H0 and under H1).
    boundaries_method : str
        How the stopping probabilities were computed (``"exact"`` or ``"simulated, N trials"``).
    expected_n : tuple of float or None
        Expected women randomised (if IVIG works, under H0) for a sequential design.
    comparator : str
        The control arm, as ``trial.comparator`` names it.

    Examples
    --------
    >>> from rplsim import load_scenario, size_trial
    >>> sc = load_scenario("scenarios/paper.toml")
    >>> s = protocol_summary(sc, size_trial(sc, n_per_arm=80, replicates=1024, sensitivity=False))
    >>> s.comparator, s.boundaries is None, s.to_frame().shape
    ('placebo', True, (18, 3))
    """

    scenario: str
    design: pd.DataFrame
    paragraph: str
    boundaries: pd.DataFrame | None
    boundaries_method: str
    expected_n: tuple[float, float] | None
    comparator: str

    def to_frame(self) -> pd.DataFrame:
        """The design table (columns :data:`DESIGN_COLUMNS`)."""
        return self.design

    def __repr__(self) -> str:
        first = self.paragraph.split(". ")[0]
        return f"<ProtocolSummary {self.scenario}: {first}.>"

    def __str__(self) -> str:
        width = int(self.design["item"].str.len().max())
        lines = [f"Sample size: {self.scenario}", ""]
        for r in self.design.itertuples(index=False):
            src = f"  [{r.source}]" if r.source else ""
            lines.append(f"  {r.item.ljust(width)}  {r.value}{src}")
        lines += ["", *textwrap.wrap(self.paragraph, 100)]
        if self.boundaries is not None:
            lines += ["", f"Boundaries (stopping probabilities {self.boundaries_method}):"]
            lines.append(self.boundaries.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
            for r in self.design.itertuples(index=False)
        )
        out = (
            f"<table><caption>Sample size: {html.escape(self.scenario)}</caption>"
            f"<thead><tr><th>item</th><th>value</th><th>source</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p>{html.escape(self.paragraph)}</p>"
        )
        if self.boundaries is not None:
            out += self.boundaries.to_html(index=False, float_format=lambda x: f"{x:.4f}")
        return out


def _source(path: str, scenario: Scenario) -> str:
    """Where the scenario's value of a key comes from: the schema's source text while the value
    is the default that text is about, else the key itself (the scenario file sets it)."""
    section, key = path.split(".", 1)
    value = getattr(getattr(scenario, section), key)
    for info in iter_params(type(scenario)):
        if info.path == path:
            return info.source if value == info.default and info.source else f"{path} = {value!r}"
    return path  # pragma: no cover - every path asked for is in the schema


def _sided(alternative: str) -> str:
    return "two-sided" if alternative == "two-sided" else "one-sided"


def _hypotheses(scenario: Scenario) -> str:
    t = scenario.require_trial()
    if t.design == "non-inferiority":
        m = f"{t.margin:g}"
        return f"H0: p_IVIG − p_control ≤ −{m}; H1: p_IVIG − p_control > −{m}"
    if t.alternative == "two-sided":
        return "H0: p_IVIG = p_control; H1: p_IVIG ≠ p_control"
    if t.alternative == "larger":
        return "H0: p_IVIG ≤ p_control; H1: p_IVIG > p_control"
    return "H0: p_IVIG ≥ p_control; H1: p_IVIG < p_control"


def _test(scenario: Scenario) -> str:
    t = scenario.require_trial()
    if t.analysis == "chi2" and t.design == "non-inferiority":
        return "Farrington-Manning score test"
    return _TESTS.get(t.analysis, get_analysis(t.analysis).description or t.analysis)


def _allocation(scenario: Scenario) -> str:
    t = scenario.require_trial()
    ratio = f"{t.allocation_ratio:g}:1 (IVIG:{t.comparator})"
    if not t.randomised:
        return f"{ratio} enrolment"
    blocks = f"permuted blocks of {t.block_size}" if t.block_size else "simple randomisation"
    return f"{ratio}, {blocks}"


def _looks(scenario: Scenario) -> str:
    t = scenario.require_trial()
    if t.looks == 1:
        re = t.reestimation
        if re is None:
            return "one final analysis"
        return (
            f"one final analysis; the sample size re-estimated, blinded, when {re.at:.0%} of the "
            f"planned women per arm have an outcome (pooled live-birth rate, the planned {re.effect} "
            f"held fixed; {re.min_factor:g} to {re.max_factor:g} times the planned n)"
        )
    name = _BOUNDARY_NAMES.get(t.boundary, t.boundary)
    return f"{t.looks} analyses at equal information, {name} efficacy boundaries{_futility_text(t)}"


def _type1_shown(stage: TrialStage) -> float:
    return stage.exact.type1_error if stage.exact is not None else stage.power.type1_error


def _years_row(stage: TrialStage) -> tuple[str, str, str]:
    """Years to recruit: the calendar's when the run has one (the answer's number), else the
    funnel's at the centres' mean rate."""
    f, cal = stage.feasibility, stage.calendar
    if cal is not None:
        median, q90 = cal.years_to_recruit
        return (
            "Years to recruit",
            f"median {median:.1f} from the first centre's opening (90% of trials within {q90:.1f}) at "
            f"{centres_text(f.centres)}",
            f"the trial on the calendar, {cal.replicates:,} simulated trials (recruitment.*)",
        )
    return (
        "Years to recruit",
        f"{f.years_to_recruit:.1f} at {centres_text(f.centres)}",
        "recruitment.centres, recruitment.rpl_women_per_centre_year",
    )


def _looks_keys(scenario: Scenario) -> str:
    t = scenario.require_trial()
    keys = ["trial.looks", "trial.boundary"]
    if t.looks > 1 and t.futility != "none":
        keys.append("trial.futility")
    if t.reestimation is not None:
        keys.append("trial.reestimation")
    return ", ".join(keys)


def _futility_text(t: Any) -> str:
    """How the interim looks stop for futility, as a clause after the efficacy boundaries."""
    kind = "binding" if t.futility_binding else "non-binding"
    if t.futility == "beta-spending":
        return f", {kind} futility boundaries by beta-spending of the same type"
    if t.futility == "conditional-power":
        return (
            f", stopping ({kind}) for futility when the conditional power under the planned effect "
            f"is below {t.futility_threshold:.0%}"
        )
    return " (no futility stop)"


def _treatment_value(scenario: Scenario, p_treatment: float) -> str:
    t = scenario.require_trial()
    if t.ivig_odds_ratio is not None:
        return f"{p_treatment:.1%} (odds ratio {t.ivig_odds_ratio:g} against control)"
    return f"{p_treatment:.1%}"


def _rate_sources(scenario: Scenario) -> tuple[str, str]:
    t = scenario.require_trial()
    control = t.control_lbr_source or _source("trial.control_lbr", scenario)
    key = "trial.ivig_odds_ratio" if t.ivig_odds_ratio is not None else "trial.treatment_lbr"
    treatment = t.treatment_lbr_source or f"the scenario's {key}"
    return control, treatment


def _power_rows(scenario: Scenario, stage: TrialStage) -> list[tuple[str, str, str]]:
    p, ex = stage.power, stage.exact
    null = (
        "the IVIG arm at the control rate minus the margin"
        if scenario.require_trial().design == "non-inferiority"
        else "both arms at the control rate"
    )
    sim = f"{p.power:.1%} (95% CI {p.power_ci[0]:.1%}-{p.power_ci[1]:.1%}; {p.replicates:,} simulated trials)"
    sim_t1 = f"{p.type1_error:.2%} (95% CI {p.type1_ci[0]:.2%}-{p.type1_ci[1]:.2%})"
    if ex is None:  # simulated only
        return [
            ("Power", sim, "simulation of the whole trial (Wilson interval)"),
            ("Type-I error", sim_t1, f"the same simulated trials under H0: {null}"),
        ]
    bound = f"; at most {ex.max_error:.1e} of probability left out" if ex.max_error else ""
    return [
        ("Power", f"{ex.power:.2%} exact", f"enumeration of every outcome{bound}"),
        ("Power, simulated check", sim, "simulation of the whole trial (Wilson interval)"),
        (
            "Type-I error",
            f"{ex.type1_error:.2%} exact; simulated {p.type1_error:.2%}, 95% CI "
            f"{p.type1_ci[0]:.2%}-{p.type1_ci[1]:.2%}",
            "enumeration under H0; the same simulated trials under H0",
        ),
    ]


def _expected_n(stage: TrialStage) -> tuple[tuple[float, float] | None, str]:
    """(expected randomised if IVIG works, under H0) of a sequential design, and its method."""
    p, ex = stage.power, stage.exact
    if len(p.stop_probability) <= 1:
        return None, ""
    if ex is not None and ex.looks > 1:
        return (ex.expected_women, ex.expected_women_null), "exact"
    return (p.expected_n_h1, p.expected_n_h0), f"simulated, {p.replicates:,} trials"


def _boundaries(scenario: Scenario, stage: TrialStage) -> tuple[pd.DataFrame | None, str]:
    t = scenario.require_trial()
    if t.looks == 1:
        return None, ""
    d = sequential_design(t)
    fd = futility_of(t)
    p, ex = stage.power, stage.exact
    if ex is not None and ex.looks > 1:
        h1, h0, method = ex.stop_probability, ex.stop_probability_null, "exact"
        f1, f0 = ex.futility_probability, ex.futility_probability_null
    else:
        h1, h0 = p.stop_probability, p.stop_probability_null
        f1, f0 = p.futility_probability, p.futility_probability_null
        method = f"simulated, {p.replicates:,} trials"
    sizes = look_sizes(p.n_total, t.looks)
    columns: dict[str, Any] = {
        "look": range(1, t.looks + 1),
        "information_fraction": d.information_fractions,
        "n_randomised": [int(s) for s in sizes],
        # binding futility lowers the efficacy bounds (look_thresholds reads the same design)
        "z_efficacy": d.efficacy_z if fd is None else fd.efficacy_z,
        "nominal_p": d.nominal_alpha if fd is None else look_thresholds(t),
        "cumulative_alpha": d.cumulative_alpha,
        "stop_h0": list(h0) if h0 else [float("nan")] * t.looks,
        "stop_h1": list(h1),
    }
    if fd is not None:
        columns["z_futility"] = [*fd.futility_z[:-1], float("nan")]
        columns["futility_h0"] = list(f0) if f0 else [float("nan")] * t.looks
        columns["futility_h1"] = list(f1) if f1 else [float("nan")] * t.looks
    return pd.DataFrame(columns), method


def _paragraph(scenario: Scenario, stage: TrialStage, expected: tuple[float, float] | None) -> str:
    t = scenario.require_trial()
    p, ex = stage.power, stage.exact
    keep = 1 - t.dropout
    comparator = t.comparator
    control_src, treatment_src = _rate_sources(scenario)
    strata = " + ".join(POPULATION_STRATA[t.population])
    alloc = "1:1" if t.allocation_ratio == 1 else f"{t.allocation_ratio:g}:1 (IVIG:{comparator})"
    who = (
        f"women with recurrent pregnancy loss (≥ {t.min_previous_miscarriages} losses) and "
        f"{_WHO.get(t.population, t.population)} (strata {strata})"
    )
    kind = "exact" if ex is not None else "simulated"
    shown = ex.power if ex is not None else p.power
    sided = _sided(t.alternative)
    test = f"a {sided} {_test(scenario)} at alpha = {t.alpha:g}"
    if t.design == "non-inferiority" and t.margin is not None:
        aim = (
            f"to show, with {test}, that the live-birth rate with IVIG is not lower than that of "
            f"{comparator} by more than {t.margin * 100:.0f} percentage points"
        )
    else:
        aim = (
            f"to detect a difference of {abs(p.p_treatment - p.p_control) * 100:.1f} percentage points "
            f"with {test}"
        )
    arms = (
        f"{p.n_control} per arm"
        if p.n_control == p.n_treatment
        else f"{p.n_control} control, {p.n_treatment} IVIG"
    )
    whom = who[len("women with ") :]
    verb = "randomised" if t.randomised else "enrolled"
    if t.randomised:
        first = (
            f"A total of {p.n_total} women ({arms}) with {whom} will be randomised {alloc} to IVIG or "
            f"{comparator}."
        )
    else:  # two groups side by side (immunity cannot be randomised)
        first = (
            f"A total of {p.n_total} women ({arms.replace('arm', 'group')}) with {whom} will be enrolled "
            f"{alloc} in two groups, not randomised: women treated with IVIG, and {comparator}."
        )
    digits = 2 if ex is not None else 1
    planned, regrown = "expected", ""
    if t.reestimation is not None:
        planned, regrown = "planned", ", re-estimated as below,"
    out = [
        first,
        f"Assuming a live-birth rate of {p.p_control:.1%} with {comparator} (based on {control_src}) and "
        f"{p.p_treatment:.1%} with IVIG (based on {treatment_src}), and {t.dropout:.0%} of {verb} women "
        f"without an outcome, the {planned} {p.n_control * keep:.0f} + {p.n_treatment * keep:.0f} "
        f"analysed women{regrown} give {shown:.{digits}%} {kind} power {aim}.",
    ]
    if ex is not None:
        out.append(
            f"Power and type-I error ({ex.type1_error:.2%}) are exact, by enumeration of every trial "
            "outcome; "
            f"a simulation of {p.replicates:,} trials gives {p.power:.1%} (95% CI "
            f"{p.power_ci[0]:.1%}-{p.power_ci[1]:.1%})."
        )
    else:
        out.append(
            f"Power is from {p.replicates:,} simulated trials (95% CI "
            f"{p.power_ci[0]:.1%}-{p.power_ci[1]:.1%}); "
            f"the simulated type-I error is {p.type1_error:.2%}."
        )
    if stage.stays_from is not None and stage.stays_from != p.n_control:
        out.append(
            f"Exact power saw-tooths with n; it stays at or above {t.power:.0%} from "
            f"{stage.stays_from} per arm on."
        )
    if t.looks > 1 and expected is not None:
        name = _BOUNDARY_NAMES.get(t.boundary, t.boundary)
        out.append(
            f"The trial has {t.looks} analyses at equal information with {name} efficacy boundaries"
            f"{_futility_text(t)}; the expected number randomised is {expected[0]:.0f} if IVIG works "
            f"as assumed and {expected[1]:.0f} if it does not."
        )
    if t.looks > 1 and t.futility != "none":
        if t.futility_binding:
            out.append("The efficacy boundaries count on the futility stops (binding): they must be obeyed.")
        else:
            sided = (
                " (a trial going against IVIG stops for futility, so the test is one-sided in effect)"
                if t.alternative == "two-sided"
                else ""
            )
            out.append(
                "The futility stops are non-binding: the efficacy boundaries are those without them, "
                f"so the type-I error stays at most {t.alpha:g} if they are overruled, and is "
                f"{_type1_shown(stage):.2%} with them obeyed{sided}."
            )
    if t.reestimation is not None and "reestimated_n_mean" in p.extra:
        re, x = t.reestimation, p.extra
        out.append(
            f"The sample size will be re-estimated, blinded, when {re.at:.0%} of the planned women per "
            f"arm have an outcome, from the pooled live-birth rate with the planned {re.effect} held "
            f"fixed, between {re.min_factor:g} and {re.max_factor:g} times the n above; in the "
            f"simulated trials the re-estimated arm averages {x['reestimated_n_mean']:.0f} women "
            f"(10th-90th centile {x['reestimated_n_q10']:.0f}-{x['reestimated_n_q90']:.0f}; at the cap "
            f"in {x['reestimated_at_cap']:.1%}), and the power and type-I error above include it."
        )
    if stage.searched and t.reestimation is not None:
        out.append(
            f"The planned n is the smallest n per arm whose power without re-estimation reaches the "
            f"{t.power:.0%} target."
        )
    elif stage.searched:
        out.append(f"This is the smallest n per arm whose {kind} power reaches the {t.power:.0%} target.")
    elif shown < t.power:
        out.append(f"The n per arm is given (not searched); its power is below the {t.power:.0%} target.")
    return " ".join(out)


def protocol_summary(scenario: Scenario, stage: TrialStage) -> ProtocolSummary:
    """The protocol's sample-size section of a sized trial.

    Parameters
    ----------
    scenario : Scenario
        The scenario the stage was sized for (its ``[trial]`` and ``[recruitment]``).
    stage : TrialStage
        From :func:`rplsim.size_trial` or a run's ``trial``.

    Returns
    -------
    ProtocolSummary
        Prints as text; ``_repr_html_`` in a notebook; ``to_frame()`` is the design table.

    Examples
    --------
    >>> from rplsim import load_scenario, size_trial
    >>> sc = load_scenario("scenarios/paper.toml")
    >>> s = protocol_summary(sc, size_trial(sc, replicates=1024, sensitivity=False))
    >>> s.paragraph.startswith("A total of")
    True
    >>> s.design.columns.tolist()
    ['item', 'value', 'source']
    """
    t = scenario.require_trial()
    p, f = stage.power, stage.feasibility
    control_src, treatment_src = _rate_sources(scenario)
    keep = 1 - t.dropout
    expected, exp_method = _expected_n(stage)
    rows: list[tuple[str, str, str]] = [
        (
            "Design",
            f"{'randomised' if t.randomised else 'two groups enrolled side by side, not randomised'}, "
            f"IVIG vs {t.comparator}, {t.design}",
            "trial.design, trial.comparator, trial.randomised",
        ),
        (
            "Population",
            f"{t.population} ({' + '.join(POPULATION_STRATA[t.population])}), "
            f"≥ {t.min_previous_miscarriages} losses",
            "trial.population",
        ),
        ("Hypotheses", _hypotheses(scenario), "p = live-birth rate of the index pregnancy"),
        ("Test", _test(scenario), f"trial.analysis = {t.analysis}"),
        (
            "Sidedness, alpha",
            f"{_sided(t.alternative)}, alpha = {t.alpha:g}",
            "trial.alternative, trial.alpha",
        ),
        ("Target power", f"{t.power:.0%}", "trial.power"),
        (f"Live-birth rate, {t.comparator}", f"{p.p_control:.1%}", control_src),
        ("Live-birth rate, IVIG", _treatment_value(scenario, p.p_treatment), treatment_src),
    ]
    if t.margin is not None:
        rows.append(
            ("Non-inferiority margin", f"{t.margin:.0%} (absolute)", _source("trial.margin", scenario))
        )
    rows += [
        (
            "Allocation",
            _allocation(scenario),
            _source("trial.block_size", scenario) if t.randomised else "trial.allocation_ratio",
        ),
        (
            "Dropout",
            f"{t.dropout:.0%} of {'randomised' if t.randomised else 'enrolled'} women without an outcome",
            _source("trial.dropout", scenario),
        ),
        ("Analyses", _looks(scenario), _looks_keys(scenario)),
        (
            "Randomised" if t.randomised else "Enrolled",
            f"{p.n_control} {t.comparator} + {p.n_treatment} IVIG = {p.n_total}",
            "sample-size search" if stage.searched else "given (trial.n_per_arm or --n-per-arm)",
        ),
        (
            "Analysed (expected)",
            f"{p.n_control * keep:.1f} + {p.n_treatment * keep:.1f} = {p.n_total * keep:.1f}"
            + (
                f" planned; {p.expected_n_h1 * keep:.1f} in all on average after re-estimation"
                if t.reestimation is not None and "reestimated_n_mean" in p.extra
                else ""
            ),
            f"{'randomised' if t.randomised else 'enrolled'} × (1 − dropout)",
        ),
        *_power_rows(scenario, stage),
    ]
    if expected is not None:
        rows.append(
            (
                "Expected randomised",
                f"{expected[0]:.1f} if IVIG works, {expected[1]:.1f} under H0",
                exp_method,
            )
        )
    rows += [
        ("Women to screen", f"{f.n_screened:,}", "screening funnel (recruitment.*)"),
        _years_row(stage),
    ]
    boundaries, method = _boundaries(scenario, stage)
    return ProtocolSummary(
        scenario=scenario.name,
        design=pd.DataFrame(rows, columns=list(DESIGN_COLUMNS)),
        paragraph=_paragraph(scenario, stage, expected),
        boundaries=boundaries,
        boundaries_method=method,
        expected_n=expected,
        comparator=t.comparator,
    )
