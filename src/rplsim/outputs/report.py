"""``report.md``: the one-page answer of a run, in Markdown.

The report says what was asked (the scenario's description), the answer, where the model
misses the paper, and every assumption the answer rests on, then links the figures and
tables of the same results folder. Tables are written by hand so that no optional
dependency (``tabulate``) decides whether the report renders.

Every string that can come from a scenario file (name, description, currency, assumed values,
any cell) goes through :func:`rplsim.outputs.escape.markdown_text`: a ``<script>`` in a
description is shown as text, and ``*``, ``_``, ``|``, ``#`` or a newline cannot change the
page's structure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, NamedTuple

import pandas as pd

from rplsim.calibration.compare import missed_targets
from rplsim.outputs.escape import markdown_text, one_line
from rplsim.planning.assurance_stage import AssuranceStage, PriorAnswer
from rplsim.planning.feasibility import Feasibility, centres_text
from rplsim.planning.protocol import ProtocolSummary
from rplsim.planning.stages import TrialStage
from rplsim.scenario import Scenario
from rplsim.scenario.schema import iter_params
from rplsim.scenario.tomlio import format_value
from rplsim.trial.assurance import ASSURANCE_MAX_N
from rplsim.trial.exact import ExactPower
from rplsim.trial.power import PowerResult

__all__ = [
    "Block",
    "FigureFiles",
    "answer_sentence",
    "build_report",
    "dose_cost_note",
    "format_value",
    "markdown_table",
    "render_markdown",
    "report_blocks",
    "scenario_assumptions",
    "stage_answer",
]

ASSUMPTION_MARKERS = ("ASSUMPTION", "not in the paper")

Link = str | PurePath | tuple[str, str | PurePath]


def _fmt_number(x: float) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        return str(x)
    return format(x, ".4g")


def _cell(value: Any) -> str:
    if value is None:
        text = ""
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        text = _fmt_number(value)  # NaN stays visible: a statistic that could not be computed
    else:
        return markdown_text(value, inline=True)
    return text


def markdown_table(rows: Iterable[Sequence[Any]], header: Sequence[str], code: Sequence[bool] = ()) -> str:
    """A GitHub-flavoured Markdown table (text escaped by ``markdown_text``, numbers to 4 digits).

    Parameters
    ----------
    rows : iterable of sequences
        One sequence of cell values per row.
    header : sequence of str
        Column names.
    code : sequence of bool, optional
        Per column, whether a text cell is a code span (schema keys); default none.

    Returns
    -------
    str
        The table, without a trailing newline.
    """
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    flags = tuple(code) or (False,) * len(header)
    lines += ["| " + " | ".join(_md_cell(v, c) for v, c in zip(r, flags, strict=True)) + " |" for r in rows]
    return "\n".join(lines)


def _md_cell(value: Any, code: bool) -> str:
    if code and isinstance(value, str) and value:
        return f"`{value.replace('`', '')}`"
    return _cell(value)


def _lookup(data: Any, dotted: str) -> tuple[bool, Any]:
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def scenario_assumptions(scenario: Scenario) -> list[str]:
    """Every value of ``scenario`` whose default is an assumption rather than the paper.

    Walks the schema (:func:`rplsim.schema.iter_params`) and keeps each key whose ``source``
    contains "ASSUMPTION" or "not in the paper" and which has a value in this scenario
    (absent optional keys and sections are left out: nothing rests on them).

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    list of str
        ``"path = value (source)"``, with the scenario's actual value, in schema order.

    Examples
    --------
    >>> scenario_assumptions(load_scenario("scenarios/paper.toml"))[0]  # doctest: +SKIP
    'scenario.seed = 20250604 (ASSUMPTION: any fixed integer; the publication date)'
    """
    return [f"{path} = {value} ({src})" for path, value, src in _assumed(scenario)]


def _assumed(scenario: Scenario) -> list[tuple[str, str, str]]:
    """(schema path, the scenario's value in TOML form, source) of every assumed value."""
    data = scenario.to_dict()
    out = []
    for info in iter_params(type(scenario)):
        src = info.source
        if not any(m.lower() in src.lower() for m in ASSUMPTION_MARKERS):
            continue
        found, value = _lookup(data, info.path)
        if found and _rests_on(scenario, info.path):
            out.append((info.path, format_value(value), src))
    return out


_CENTRES_ONLY = (
    "recruitment.centre_rate_cv",
    "recruitment.activation_months",
    "recruitment.months_to_pregnancy",
)


def _rests_on(scenario: Scenario, path: str) -> bool:
    """Whether anything in the run uses the key at ``path`` (a threshold of a rule not chosen
    is a default nothing rests on)."""
    t = scenario.trial
    if path == "trial.futility_threshold":
        return t is not None and t.looks > 1 and t.futility == "conditional-power"
    # read by `rplsim centres` (the recruitment time), not by a run
    return path not in _CENTRES_ONLY


def _link(item: Link) -> tuple[str, str]:
    if isinstance(item, tuple):
        caption, path = item
        return caption, PurePath(path).as_posix()
    p = PurePath(item)
    return p.stem.replace("_", " "), p.as_posix()


def answer_sentence(
    scenario: Scenario,
    power: PowerResult,
    feas: Feasibility,
    *,
    markdown: bool = True,
    searched: bool = True,
    exact: ExactPower | None = None,
    stays_from: int | None = None,
    on_calendar: bool = False,
) -> str:
    """The answer of a trial stage in one sentence.

    Short sentences, one quantity each. After a search (``searched``): "A trial would need N
    women randomised per arm (M in all; a + b expected analysed after D dropout) to show ...
    with P power (...)."; for a fixed n (``--n-per-arm``, ``trial.n_per_arm``): "With N women
    randomised per arm (...), the power to show ... is P (...)", and "below the T target" when
    it is. Then the women to screen and years, the IVIG, and the rates it assumes. ``N`` and
    ``P`` are those of ``power``: the same object every table and figure of the run shows.

    Parameters
    ----------
    scenario : Scenario
        Must have a ``[trial]`` section.
    power : PowerResult
    feas : Feasibility
    markdown : bool
        True (the default): Markdown, the numbers that answer the question in bold and the
        scenario's words (currency, analysis, boundary, population) escaped by
        :func:`~rplsim.outputs.escape.markdown_text`. False: plain text for a terminal, no
        bold, those words on one line (:func:`~rplsim.outputs.escape.one_line`).
    searched : bool
        Whether the n came from a sample-size search (True, the default) or was given.
    exact : ExactPower, optional
        Exact power at the same n (count-path designs): then the sentence gives the exact power
        and type-I error, and the simulated power as the confirming check.
    stays_from : int, optional
        The smallest n from which exact power stays at or above target up to +20% (exact tests
        saw-tooth), said when it differs from the n.

    Returns
    -------
    str
    """
    t = scenario.trial
    assert t is not None

    def text(s: str) -> str:
        return markdown_text(s, inline=True) if markdown else one_line(s)

    b = "**" if markdown else ""
    keep = 1 - t.dropout
    arms = (
        f"{b}{power.n_control} women {'randomised per arm' if t.randomised else 'enrolled per group'}{b} "
        f"({power.n_total} in all; "
        f"{power.n_control * keep:.0f} + {power.n_treatment * keep:.0f} expected analysed after "
        f"{t.dropout:.0%} dropout)"
    )
    what = f"non-inferiority (margin {t.margin:.0%})" if t.design == "non-inferiority" else "superiority"
    how = f"(95% CI {power.power_ci[0]:.1%}-{power.power_ci[1]:.1%}; {text(t.analysis)}, alpha {t.alpha})"
    kind, shown = "simulated", power.power
    if exact is not None:
        kind, shown = "exact", exact.power
        how = (
            f"(exact type-I error {exact.type1_error:.2%}; {text(t.analysis)}, alpha {t.alpha}; "
            f"simulated check {power.power:.1%}, 95% CI {power.power_ci[0]:.1%}-"
            f"{power.power_ci[1]:.1%}, {power.replicates:,} trials)"
        )
    centres = centres_text(feas.centres)
    sentences = []
    if searched:
        sentences.append(f"A trial would need {arms} to show {what} with {shown:.1%} {kind} power {how}.")
    else:
        short = f", below the {t.power:.0%} target" if shown < t.power else ""
        sentences.append(f"With {arms}, the {kind} power to show {what} is {b}{shown:.1%}{b} {how}{short}.")
    if stays_from is not None and stays_from != power.n_control:
        sentences.append(f"Exact power stays at or above the target from {stays_from} per arm on (to +20%).")
    if t.looks > 1:
        # The expected size of a sequential trial is the exact one when there is one (one number).
        expected_n = exact.expected_women if exact is not None and exact.looks > 1 else power.expected_n_h1
        fut = "" if t.futility == "none" else f", {text(t.futility)} futility"
        sentences.append(
            f"With {t.looks} looks ({text(t.boundary)}{fut}) the expected number randomised is "
            f"{expected_n:.0f} if IVIG works."
        )
    if t.reestimation is not None and "reestimated_n_mean" in power.extra:
        x = power.extra
        cap = math.floor(t.reestimation.max_factor * power.n_control + 1e-9)
        sentences.append(
            f"That is the planned n: re-estimated (blinded) at {t.reestimation.at:.0%} of the women, "
            f"the arm grows to {x['reestimated_n_mean']:.0f} on average (90th centile "
            f"{x['reestimated_n_q90']:.0f}, cap {cap})."
        )
    if on_calendar:  # the calendar's sentence gives the time: one number for it
        sentences.append(f"It means screening {b}{feas.n_screened:,} RPL women{b} at {b}{centres}{b}.")
    else:
        sentences.append(
            f"It means screening {b}{feas.n_screened:,} RPL women{b}: "
            f"{b}{feas.years_to_recruit:.1f} years at {centres}{b}."
        )
    sentences.append(
        f"IVIG for the trial: {feas.ivig_grams_total / 1000:,.1f} kg ({feas.ivig_cost_total:,.0f} "
        f"{text(feas.currency)})."
    )
    sentences.append(
        f"This assumes a live-birth rate of {power.p_control:.1%} with {text(t.comparator)} and "
        f"{power.p_treatment:.1%} with IVIG in eligible women ({text(t.population)}, ≥ "
        f"{t.min_previous_miscarriages} losses)."
    )
    return " ".join(sentences)


def stage_answer(scenario: Scenario, stage: TrialStage, *, markdown: bool = True) -> str:
    """:func:`answer_sentence` of a sized trial stage: its power, feasibility, whether its n was
    searched, and its exact power and saw-tooth n where it has them; then, with a ``[prior]``,
    :func:`assurance_sentence`."""
    text = answer_sentence(
        scenario,
        stage.power,
        stage.feasibility,
        markdown=markdown,
        searched=stage.searched,
        exact=stage.exact,
        stays_from=stage.stays_from,
        on_calendar=stage.calendar is not None,
    )
    if stage.calendar is not None:
        text += " " + calendar_sentence(scenario, stage.calendar)
    if stage.assurance is not None:
        text += " " + assurance_sentence(scenario, stage, markdown=markdown)
    return text


def calendar_sentence(scenario: Scenario, cal: Any) -> str:
    """How long the trial takes on the calendar, at how many centres, and its pipeline at each look."""
    t, acc = cal.trials, cal.accrual
    unit = "centre" if acc.centres == 1 else "centres"
    how = f"{acc.centres} {unit}"
    if acc.activation > 0:
        how += f" opened over {acc.activation * 12:g} months"
    median, q90 = cal.years_to_recruit
    out = (
        f"On the calendar ({how}): recruitment ends a median {median:.1f} years after the first centre "
        f"opens (90% of trials within {q90:.1f}; a trial stopped at a look recruits no more) and the "
        f"trial decides after a median {t.duration_years.median():.1f} years."
    )
    k = sum(c.endswith("_pipeline") for c in t.columns)
    if k > 1:
        pipes = ", ".join(f"{t[f'look{j}_pipeline'].mean():.0f}" for j in range(1, k))
        waits = ", ".join(f"{t[f'look{j}_waiting'].mean():.0f}" for j in range(1, k))
        out += (
            f" At the interim looks {pipes} randomised women on average are still pregnant (and {waits} "
            "more have an outcome whose window is still open, analysed at a later look)"
        )
        over = [(j + 1, x) for j, x in enumerate(cal.overrun_by_look()[:-1]) if x == x]  # not NaN
        if over:
            at = ", ".join(f"{x:.0f} at look {j}" for j, x in over)
            out += f"; a trial that stops early still has them to follow up ({at})"
        out += (
            f". Recruiting on while the looks wait for outcomes, it randomises {t.randomised.mean():.0f} "
            f"women on average, and its power on the calendar is {cal.power:.1%} (an interim look "
            f"analyses the women whose outcome window has closed, {scenario.outcome.live_birth_week.max:g} "
            "weeks of pregnancy; the simulated power and expected n above take each outcome as known "
            "at once)."
        )
    out += (
        f" Its IVIG (above) is {t.ivig_infusions.mean():,.0f} infusions on average, beside "
        f"{t.placebo_infusions.mean():,.0f} placebo infusions on the same schedule."
    )
    return out


def reach_text(answer: PriorAnswer, target: float) -> str:
    """Where a prior's assurance reaches the target, or why it does not.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> a = NS(n_for_target=None, n_near_ceiling=412, at_n=NS(prior_probability_benefit=0.71))
    >>> reach_text(a, 0.8)
    '80% assurance is out of reach: the ceiling is 71% (95% of it at 412 per arm)'
    """
    ceiling = answer.at_n.prior_probability_benefit
    if answer.n_for_target:
        se = getattr(answer, "n_for_target_se", None)
        spread = f" (simulated; one Monte-Carlo SE moves it by about {se:.0f})" if se else ""
        return f"{target:.0%} assurance needs {answer.n_for_target:,} per arm{spread}"
    if target >= ceiling:
        near = (
            f"95% of it at {answer.n_near_ceiling:,} per arm"
            if answer.n_near_ceiling
            else f"95% of it not reached by {ASSURANCE_MAX_N:,} per arm"
        )
        return f"{target:.0%} assurance is out of reach: the ceiling is {ceiling:.0%} ({near})"
    return f"{target:.0%} assurance is not reached by {ASSURANCE_MAX_N:,} per arm (ceiling {ceiling:.0%})"


def assurance_sentence(scenario: Scenario, stage: TrialStage, *, markdown: bool = True) -> str:
    """The answer's assurance: the power at the assumed rates against the probability of success
    under the headline prior, where the target assurance is reached, and the other priors.

    The power is the stage's (exact where it has it), the assurance the stage's at the same n:
    one number each, as the tables and the figure show them.
    """
    t = scenario.require_trial()
    a = stage.assurance
    assert a is not None
    b = "**" if markdown else ""
    power = stage.exact.power if stage.exact is not None else stage.power.power
    h = a.headline
    r = h.at_n

    def text(x: str) -> str:
        return markdown_text(x, inline=True) if markdown else one_line(x)

    comparator = text(t.comparator)
    rates = f"if {comparator} is {t.control_lbr:.0%} and IVIG {stage.power.p_treatment:.1%}"
    first = (
        f"{r.n_control} per arm give {power:.0%} power {rates}, but a "
        f"{b}{r.assurance:.0%} probability of success{b} under the {text(h.label)} prior ({r.method} "
        f"assurance); {reach_text(h, a.target)}."
    )
    others = [
        f" Under the {o.label} prior: {o.at_n.assurance:.0%}; {reach_text(o, a.target)}."
        for o in a.answers[1:]
    ]
    return first + "".join(others)


class FigureFiles(NamedTuple):
    """One figure of a results folder: its name, caption and files (PNG first)."""

    name: str
    caption: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    """One block of a report, before it is written as Markdown or HTML.

    ``kind`` is ``"h1"``, ``"h2"``, ``"h3"``, ``"p"`` (plain text), ``"md"`` (text already in
    Markdown, with ``html`` its HTML-safe plain twin), ``"list"`` (``items``), ``"table"``
    (``header``, ``rows``, ``caption``) or ``"figure"`` (``figure``, ``number``). Text is plain:
    each renderer escapes it for its format, so the two formats cannot say different things.
    """

    kind: str
    text: str = ""
    html: str = ""
    items: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()
    caption: str = ""
    figure: FigureFiles | None = None
    number: int = 0
    code: tuple[bool, ...] = field(default=())


def _misses_blocks(calibration: pd.DataFrame, note: str = "") -> list[Block]:
    within = calibration["within"].astype(bool)
    followed = calibration["followed"].astype(bool)
    header = ["target", "source", "paper", "simulated", "tolerance"]
    reasons = calibration["reason"].fillna("").astype(str) if "reason" in calibration.columns else None
    out = [
        Block(
            "p",
            f"{len(calibration)} targets; the tolerance is the 99% prediction interval of one "
            "cohort of the paper's size, so about 1% miss by chance.",
        )
    ]
    missed = missed_targets(calibration)
    out.append(Block("h3", f"Followed readings outside tolerance ({len(missed)})"))
    cols = [*header, "reason"] if reasons is not None and (reasons[missed.index] != "").any() else header
    if len(missed):
        out.append(Block("table", header=tuple(cols), rows=tuple(missed[cols].itertuples(index=False))))
    else:
        out.append(Block("p", "none"))
    if note:
        out.append(Block("p", note))
    if reasons is not None:
        exact = calibration[(reasons != "") & within]
        if len(exact):
            out.append(Block("h3", f"Targets the model cannot meet exactly as printed ({len(exact)})"))
            out.append(
                Block(
                    "p",
                    "Inside their tolerance, so not misses; the reason is why the simulated value cannot "
                    "equal the printed one.",
                )
            )
            rcols = [*header, "reason"]
            out.append(Block("table", header=tuple(rcols), rows=tuple(exact[rcols].itertuples(index=False))))
    # Every reading rplsim does not follow is listed, inside its tolerance or not: the gap
    # between the two readings is the point, whether or not one cohort could tell them apart.
    other = calibration[~followed]
    out.append(
        Block(
            "h3",
            f"Readings of paper conflicts that rplsim does not follow ({len(other)}; "
            f"{int((~within & ~followed).sum())} outside tolerance)",
        )
    )
    if len(other):
        cols = [*header, "within"]
        out.append(Block("table", header=tuple(cols), rows=tuple(other[cols].itertuples(index=False))))
    else:
        out.append(Block("p", "none"))
    return out


def dose_cost_note(
    calibration: pd.DataFrame,
    feas: Feasibility | None,
    grams_per_treated: float | None,
    *,
    on_calendar: bool = False,
) -> str:
    """The sentence that ties the IVIG-dose misses of the calibration to the trial's IVIG cost.

    Empty when no IVIG-dose target misses or there is no trial. The cost is the simulated
    protocol's dose times the price (``on_calendar``: the calendar trials' mean); a dose
    distribution narrower or shifted from the paper's
    Table 1 moves the cost estimate with it, so the report says so where the misses are listed.

    Examples
    --------
    >>> dose_cost_note(pd.DataFrame({"target": [], "within": [], "followed": []}), None, None)
    ''
    """
    if feas is None or grams_per_treated is None or not len(calibration):
        return ""
    dose = calibration[calibration["target"].astype(str).str.startswith("total IVIG dose")]
    missed = missed_targets(dose)
    if not len(missed):
        return ""

    def row(stat: str, stratum: str) -> pd.Series | None:
        r = dose[dose["target"].astype(str).str.startswith(f"total IVIG dose {stat} {stratum}")]
        return r.iloc[0] if len(r) else None

    parts = []
    for stratum in ("KA", "IA"):
        mean, sd = row("mean", stratum), row("SD", stratum)
        if mean is not None and sd is not None:
            off = mean["simulated"] / mean["paper"] - 1
            parts.append(
                f"{stratum}: mean {mean['simulated']:.0f} g simulated vs {mean['paper']:.0f} g in the paper "
                f"({off:+.0%}), SD {sd['simulated']:.0f} vs {sd['paper']:.0f} g"
            )
    detail = f" ({'; '.join(parts)}; Table 1)" if parts else ""
    basis = (
        "is the mean over the trials on the calendar of each randomised woman's course from her "
        "confirmed pregnancy (a trial stopped at a look treats fewer)"
        if on_calendar
        else f"is {grams_per_treated:.0f} g per treated woman from the simulated protocol times the "
        "women treated"
    )
    return (
        f"{len(missed)} of these misses are IVIG doses{detail}, and the dose feeds the cost estimate: "
        f"the trial's {feas.ivig_grams_total / 1000:,.1f} kg of IVIG ({feas.ivig_cost_total:,.0f} "
        f"{one_line(feas.currency)}) {basis}. The simulated doses vary less than the paper's, so the cost "
        "of a single woman varies more in a clinic than here; the total is the protocol's dose, not the "
        "paper's observed one."
    )


def _n_text(n: float) -> str:
    return f"{n:,.0f}" if math.isfinite(n) else "not reachable"


def _tornado_blocks(frame: pd.DataFrame, figure: FigureFiles | None, number: int) -> list[Block]:
    """The ranked assumptions: the tornado figure and its table."""
    out = []
    first = frame.iloc[0]
    method = str(first["method"])
    moves = first["n_low"] != first["n_high"]
    out.append(
        Block(
            "p",
            f"The assumption that moves n most is the {first['label']} ({first['key']}): over "
            f"{first['low']:g} to {first['high']:g} the trial needs {_n_text(first['n_low'])} to "
            f"{_n_text(first['n_high'])} women randomised per arm ({method} n; "
            f"{_n_text(first['n_base'])} at the scenario's {first['base']:g})."
            if moves
            else "No assumption with a range moves n; the table shows the women screened at each end.",
        )
    )
    if figure is not None:
        out.append(Block("figure", figure=figure, number=number))
    rows = tuple(
        (
            r.label,
            r.key,
            f"{r.low:g} to {r.high:g}",
            f"{r.base:g}",
            f"{_n_text(r.n_low)} / {_n_text(r.n_high)}",
            f"{_n_text(r.screened_low)} / {_n_text(r.screened_high)}",
            r.source,
        )
        for r in frame.itertuples(index=False)
    )
    out.append(
        Block(
            "table",
            header=(
                "assumption",
                "key",
                "range",
                "scenario",
                "n per arm at low / high",
                "women screened at low / high",
                "range from",
            ),
            rows=rows,
            caption=f"n per arm by the {method} method; the scenario's own: {_n_text(first['n_base'])} "
            f"per arm (the headline: {int(first['headline_n'])}).",
            code=(False, True, False, False, False, False, False),
        )
    )
    return out


def _assurance_blocks(
    stage: AssuranceStage, stage_trial: Any, figure: FigureFiles | None, number: int
) -> list[Block]:
    """Probability of success under each prior: what assurance is, the table, the figure
    (``stage_trial`` the scenario's ``[trial]``: superiority or non-inferiority words)."""
    n = stage.n_per_arm
    methods = sorted({a.at_n.method for a in stage.answers})
    how = {
        "exact": "exact: the design's exact power integrated over the prior by Gauss quadrature (error "
        "shown as ±)",
        "simulated": "simulated: one trial per prior draw (95% Monte-Carlo CI shown)",
    }
    t = stage_trial
    if t.design == "non-inferiority":
        success = f"shows non-inferiority (its test rejects, margin {t.margin:.0%})"
        benefit = f"that IVIG is less than {t.margin:.0%} worse than {one_line(t.comparator)}"
    else:
        success = "rejects in favour of IVIG"
        benefit = f"that IVIG is better than {one_line(t.comparator)}"
    out = [
        Block(
            "p",
            f"Assurance is the probability that this trial succeeds ({success}) when the two arms' "
            "live-birth rates are drawn from a prior instead of being fixed. As the trial grows it "
            f"approaches the prior's probability {benefit} (the ceiling), and it passes the ceiling only "
            "by chance (a trial can reject where there is no benefit, at most at its alpha). "
            f"At {n} per arm: {'; '.join(how[m] for m in methods)}.",
        )
    ]
    rows = []
    for ans in stage.answers:
        r = ans.at_n
        value = (
            f"{r.assurance:.1%} ({r.ci_low:.1%}-{r.ci_high:.1%})"
            if r.method == "simulated"
            else f"{r.assurance:.1%} (± {r.error:.0e})"
        )
        if ans.check is not None:
            c = ans.check
            value += (
                f"; simulated check {c.assurance:.1%} ({c.ci_low:.1%}-{c.ci_high:.1%}, {c.draws:,} draws)"
            )
        rows.append((ans.label, ans.description, value, f"{r.power_at_prior_mean:.1%}",
                     f"{r.prior_probability_benefit:.1%}", f"{r.expected_power_given_benefit:.1%}",
                     reach_text(ans, stage.target)))  # fmt: skip
    out.append(
        Block(
            "table",
            header=(
                "prior",
                "what it says",
                f"assurance at {n} per arm",
                "power at the prior means",
                "ceiling P(benefit)",
                "E[power | benefit]",
                f"for {stage.target:.0%} assurance",
            ),
            rows=tuple(rows),
            caption="assurance.csv has every (prior, n) computed; assurance_priors.csv this table.",
        )
    )
    if figure is not None:
        out.append(Block("figure", figure=figure, number=number))
    return out


def _protocol_blocks(summary: ProtocolSummary) -> list[Block]:
    out = [
        Block(
            "table",
            header=("item", "value", "source"),
            rows=tuple(summary.design.itertuples(index=False)),
        ),
        Block("p", summary.paragraph),
    ]
    if summary.boundaries is not None:
        b = summary.boundaries
        futility = "z_futility" in b.columns
        futility_note = (
            "; the trial stops for futility when the Z in favour of IVIG is at or below the futility "
            "bound (P(stop) counts rejections, P(futile) futility stops)"
            if futility
            else ""
        )
        rows = tuple(
            (
                int(r.look),
                f"{r.information_fraction:.3f}",
                int(r.n_randomised),
                f"{r.z_efficacy:.3f}",
                f"{r.nominal_p:.4f}",
                f"{r.cumulative_alpha:.4f}",
                f"{r.stop_h0:.4f}",
                f"{r.stop_h1:.4f}",
                *(
                    (
                        "–" if math.isnan(r.z_futility) else f"{r.z_futility:.3f}",
                        f"{r.futility_h0:.4f}",
                        f"{r.futility_h1:.4f}",
                    )
                    if futility
                    else ()
                ),
            )
            for r in b.itertuples(index=False)
        )
        out.append(Block("h3", "Boundaries and stopping"))
        out.append(
            Block(
                "table",
                header=(
                    "look",
                    "information",
                    "randomised",
                    "z (efficacy)",
                    "nominal p",
                    "cumulative alpha",
                    "P(stop) under H0",
                    "P(stop) if IVIG works",
                    *(("z (futility)", "P(futile) under H0", "P(futile) if IVIG works") if futility else ()),
                ),
                rows=rows,
                caption=f"Efficacy boundaries of the design (z and nominal p per look, alpha spent up to "
                f"it){futility_note}; stopping probabilities {summary.boundaries_method}.",
            )
        )
    return out


def report_blocks(
    scenario: Scenario,
    *,
    summary_lines: Sequence[str],
    calibration: pd.DataFrame | None = None,
    answer: str | None = None,
    answer_plain: str | None = None,
    assumptions: Sequence[str] | None = None,
    figures: Sequence[Link | FigureFiles] = (),
    tables: Sequence[Link] = (),
    protocol: ProtocolSummary | None = None,
    ranges: pd.DataFrame | None = None,
    dose_note: str = "",
    assurance: AssuranceStage | None = None,
) -> list[Block]:
    """The report of a run as a list of :class:`Block` (what :func:`build_report` and
    :func:`rplsim.outputs.html.build_html` write; see :func:`build_report` for the parameters).

    ``ranges`` (the tornado table, :func:`rplsim.planning.tornado.assumption_ranges`) puts the
    assumptions that have a range first, ranked; the figure named ``assumptions`` goes with it.
    """
    meta = scenario.scenario
    out = [Block("h1", f"rplsim report: {meta.name}")]
    if meta.description:
        out.append(Block("p", meta.description))
    out.append(Block("p", f"Seed {meta.seed}; scenario digest {scenario.digest()[:12]}."))
    out.append(Block("h2", "The answer"))
    if answer:
        out.append(Block("md", answer, html=answer_plain or answer))
    else:
        out.append(
            Block(
                "p",
                "No answer in this run: no stage that sizes a trial has run (the scenario has no "
                "[trial] section, or that stage is not implemented yet).",
            )
        )
    if protocol is not None:
        out += [Block("h2", "Sample size for the protocol"), *_protocol_blocks(protocol)]
    figs = [f if isinstance(f, FigureFiles) else _legacy_figure(f) for f in figures]
    tornado = next((f for f in figs if f.name == "assumptions"), None)
    chart = next((f for f in figs if f.name == "assurance"), None) if assurance is not None else None
    rest = [f for f in figs if f is not tornado and f is not chart]
    number = 1
    if assurance is not None:
        out.append(Block("h2", "Probability of success under the priors"))
        out += _assurance_blocks(assurance, scenario.require_trial(), chart, number)
        number += chart is not None
    ranged: set[str] = set()
    if ranges is not None and len(ranges):
        out.append(Block("h2", "What drives the answer"))
        out += _tornado_blocks(ranges, tornado, number)
        ranged = set(ranges["key"])
        number += tornado is not None
    if summary_lines:
        out += [Block("h2", "Summary"), Block("list", items=tuple(summary_lines))]
    if calibration is not None:
        out += [Block("h2", "Calibration misses"), *_misses_blocks(calibration, dose_note)]
    listed = tuple(assumptions or ())
    keyed = [(path, value, src) for path, value, src in _assumed(scenario) if path not in ranged]
    title = "Other assumptions this rests on" if ranged else "Assumptions this rests on"
    out.append(Block("h2", title))
    if listed or keyed:
        out.append(Block("list", items=listed))
        out.append(
            Block(
                "table",
                header=("key", "value", "source"),
                rows=tuple(keyed),
                code=(True, False, False),
            )
        )
    else:
        out.append(Block("p", "none"))
    if rest:
        out.append(Block("h2", "Figures"))
        for f in rest:
            out.append(Block("figure", figure=f, number=number))
            number += 1
    if tables:
        out.append(Block("h2", "Tables"))
        out.append(Block("list", items=tuple(f"{c}\t{p}" for c, p in map(_link, tables))))
    return out


def _legacy_figure(item: Link) -> FigureFiles:
    caption, path = _link(item)
    return FigureFiles(PurePath(path).stem, caption, (path,))


def render_markdown(blocks: Sequence[Block]) -> str:
    """The blocks as Markdown (every plain text escaped by :func:`markdown_text`)."""
    out: list[str] = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            out += ["#" * int(b.kind[1]) + " " + markdown_text(b.text, inline=True), ""]
        elif b.kind == "p":
            out += [markdown_text(b.text), ""]
        elif b.kind == "md":
            out += [b.text, ""]
        elif b.kind == "list":
            if not b.items:
                continue
            for item in b.items:
                caption, tab, path = item.partition("\t")
                text = f"[{markdown_text(caption, inline=True)}]({path})" if tab else markdown_text(item)
                out.append(f"- {text}")
            out.append("")
        elif b.kind == "table":
            if not b.rows:
                continue
            out += [markdown_table(b.rows, b.header, b.code), ""]
            if b.caption:
                out += [f"*{markdown_text(b.caption, inline=True)}*", ""]
        elif b.kind == "figure" and b.figure is not None:
            f = b.figure
            first = f.files[0]
            links = ", ".join(f"[{PurePath(p).suffix[1:].upper()}]({p})" for p in f.files)
            out += [
                f"![{markdown_text(f.caption, inline=True)}]({first})",
                "",
                f"**Figure {b.number}.** {markdown_text(f.caption, inline=True)} ({links})",
                "",
            ]
    return "\n".join(out).rstrip("\n") + "\n"


def build_report(
    scenario: Scenario,
    *,
    summary_lines: Sequence[str],
    calibration: pd.DataFrame | None = None,
    answer: str | None = None,
    assumptions: Sequence[str] | None = None,
    figures: Sequence[Link | FigureFiles] = (),
    tables: Sequence[Link] = (),
    protocol: ProtocolSummary | None = None,
    ranges: pd.DataFrame | None = None,
    dose_note: str = "",
    assurance: AssuranceStage | None = None,
) -> str:
    """The Markdown report of a run (``report.md``), summary first.

    The answer; the protocol's sample-size section (design table, paragraph, boundary table of
    a sequential design); what drives the answer (the tornado and its ranked table); the stages'
    summary; the calibration misses; every other assumption; the figures with numbered
    captions; the tables.

    Parameters
    ----------
    scenario : Scenario
        The scenario that was run (title, description and assumed values come from it).
    summary_lines : sequence of str
        One line per stage, shown as a bullet list (plain text: escaped here).
    calibration : pandas.DataFrame, optional
        The table of :func:`rplsim.calibrate`; its misses are listed, split into followed
        readings and the 'not followed' readings of paper conflicts.
    answer : str, optional
        The answer in a few short sentences, as Markdown (its scenario words already escaped, as
        :func:`answer_sentence` does).
    assumptions : sequence of str, optional
        Extra assumptions of this run, listed before the scenario's own
        (:func:`scenario_assumptions`).
    figures : sequence of path, (caption, path) or FigureFiles
        Figures of the results folder, linked by the relative path given, numbered in order.
    tables : sequence of path or (caption, path)
        Tables of the results folder.
    protocol : ProtocolSummary, optional
        From :func:`rplsim.planning.protocol.protocol_summary`.
    ranges : pandas.DataFrame, optional
        From :func:`rplsim.planning.tornado.assumption_ranges`.
    dose_note : str
        :func:`dose_cost_note`, put under the calibration misses.
    assurance : AssuranceStage, optional
        The probability of success under the priors (its table and the figure named
        ``assurance``), after the protocol section.

    Returns
    -------
    str
        Markdown text ending in a newline.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> text = build_report(load_scenario("scenarios/paper.toml"), summary_lines=["cohort: 466 women"])
    >>> text.splitlines()[0]
    '# rplsim report: paper'
    """
    return render_markdown(
        report_blocks(
            scenario,
            summary_lines=summary_lines,
            calibration=calibration,
            answer=answer,
            assumptions=assumptions,
            figures=figures,
            tables=tables,
            protocol=protocol,
            ranges=ranges,
            dose_note=dose_note,
            assurance=assurance,
        )
    )
