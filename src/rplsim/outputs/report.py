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
from pathlib import PurePath
from typing import Any

import pandas as pd

from rplsim.outputs.escape import markdown_text, one_line
from rplsim.planning.feasibility import Feasibility
from rplsim.planning.stages import TrialStage
from rplsim.scenario import Scenario
from rplsim.scenario.schema import iter_params
from rplsim.scenario.tomlio import format_value
from rplsim.trial.exact import ExactPower
from rplsim.trial.power import PowerResult

__all__ = [
    "answer_sentence",
    "build_report",
    "format_value",
    "markdown_table",
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


def markdown_table(rows: Iterable[Sequence[Any]], header: Sequence[str]) -> str:
    """A GitHub-flavoured Markdown table (text escaped by ``markdown_text``, numbers to 4 digits).

    Parameters
    ----------
    rows : iterable of sequences
        One sequence of cell values per row.
    header : sequence of str
        Column names.

    Returns
    -------
    str
        The table, without a trailing newline.
    """
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


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
        if found:
            out.append((info.path, format_value(value), src))
    return out


def _link(item: Link) -> tuple[str, str]:
    if isinstance(item, tuple):
        caption, path = item
        return caption, PurePath(path).as_posix()
    p = PurePath(item)
    return p.stem.replace("_", " "), p.as_posix()


def _misses_section(calibration: pd.DataFrame) -> list[str]:
    within = calibration["within"].astype(bool)
    followed = calibration["followed"].astype(bool)
    header = ["target", "source", "paper", "simulated", "tolerance"]
    out = [
        f"{len(calibration)} targets; the tolerance is the 99% prediction interval of one "
        "cohort of the paper's size, so about 1% miss by chance.",
        "",
    ]
    missed = calibration[~within & followed]
    out.append(f"**Followed readings outside tolerance ({len(missed)})**")
    out.append("")
    if len(missed):
        out.append(markdown_table(missed[header].itertuples(index=False), header))
    else:
        out.append("none")
    out.append("")
    # Every reading rplsim does not follow is listed, inside its tolerance or not: the gap
    # between the two readings is the point, whether or not one cohort could tell them apart.
    other = calibration[~followed]
    out.append(
        f"**Readings of paper conflicts that rplsim does not follow ({len(other)}; "
        f"{int((~within & ~followed).sum())} outside tolerance)**"
    )
    out.append("")
    if len(other):
        cols = [*header, "within"]
        out.append(markdown_table(other[cols].itertuples(index=False), cols))
    else:
        out.append("none")
    return out


def answer_sentence(
    scenario: Scenario,
    power: PowerResult,
    feas: Feasibility,
    *,
    markdown: bool = True,
    searched: bool = True,
    exact: ExactPower | None = None,
    stays_from: int | None = None,
) -> str:
    """The answer of a trial stage in one sentence.

    After a search (``searched``): "A trial would need N women randomised per arm (M in all;
    a + b expected analysed after D dropout), S RPL women screened, ... with P power". For a
    fixed n (``--n-per-arm``, ``trial.n_per_arm``): "With N women randomised per arm (...), the
    power is P ...", and "below the T target" when it is. ``N`` and ``P`` are those of
    ``power``: the same object every table and figure of the run shows.

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
    # The expected size of a sequential trial is the exact one when there is one (one number).
    expected_n = exact.expected_women if exact is not None and exact.looks > 1 else power.expected_n_h1
    seq = (
        f"; at most, expected {expected_n:.0f} randomised if IVIG works ({t.looks} looks, {text(t.boundary)})"
        if t.looks > 1
        else ""
    )
    keep = 1 - t.dropout
    arms = (
        f"{b}{power.n_control} women randomised per arm{b} ({power.n_total} in all{seq}; "
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
    if stays_from is not None and stays_from != power.n_control:
        how += f"; power stays at or above the target from {stays_from} per arm on (to +20%)"
    cost = (
        f"{b}{feas.n_screened:,} RPL women screened{b}, "
        f"{b}{feas.years_to_recruit:.1f} years at {feas.centres} centre(s){b} and "
        f"{feas.ivig_grams_total / 1000:,.1f} kg of IVIG ({feas.ivig_cost_total:,.0f} "
        f"{text(feas.currency)})"
    )
    rates = (
        f"under the assumption that placebo gives a live-birth rate of "
        f"{power.p_control:.1%} and IVIG {power.p_treatment:.1%} in eligible women "
        f"({text(t.population)}, >= {t.min_previous_miscarriages} losses)."
    )
    if searched:
        return (
            f"A trial would need {arms}, {cost}, to show {what} with {shown:.1%} {kind} power {how}, {rates}"
        )
    short = f", below the {t.power:.0%} target" if shown < t.power else ""
    return (
        f"With {arms}, the {kind} power to show {what} is {b}{shown:.1%}{b} {how}"
        f"{short}; it needs {cost}, {rates}"
    )


def stage_answer(scenario: Scenario, stage: TrialStage, *, markdown: bool = True) -> str:
    """:func:`answer_sentence` of a sized trial stage: its power, feasibility, whether its n was
    searched, and its exact power and saw-tooth n where it has them."""
    return answer_sentence(
        scenario,
        stage.power,
        stage.feasibility,
        markdown=markdown,
        searched=stage.searched,
        exact=stage.exact,
        stays_from=stage.stays_from,
    )


def build_report(
    scenario: Scenario,
    *,
    summary_lines: Sequence[str],
    calibration: pd.DataFrame | None = None,
    answer: str | None = None,
    assumptions: Sequence[str] | None = None,
    figures: Sequence[Link] = (),
    tables: Sequence[Link] = (),
) -> str:
    """The one-page Markdown report of a run (``report.md``).

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
        The answer in a sentence or two, as Markdown (its scenario words already escaped, as
        :func:`answer_sentence` does), e.g. "a trial would need 230 women per arm, 2,900
        screened, 4.1 years at 3 centres, if placebo gives 60% live births".
    assumptions : sequence of str, optional
        Extra assumptions of this run, listed before the scenario's own
        (:func:`scenario_assumptions`).
    figures, tables : sequence of path or (caption, path)
        Files of the results folder, linked by the relative path given.

    Returns
    -------
    str
        Markdown text ending in a newline.
    """
    meta = scenario.scenario
    out = [f"# rplsim report: {markdown_text(meta.name, inline=True)}", ""]
    if meta.description:
        out += [markdown_text(meta.description), ""]
    out += [f"Seed {meta.seed}; scenario digest `{scenario.digest()[:12]}`.", ""]
    out += [
        "## The answer",
        "",
        answer
        if answer
        else "No answer in this run: no stage that "
        "sizes a trial has run (the scenario has no [trial] section, or that stage is not "
        "implemented yet).",
        "",
    ]
    if summary_lines:
        out += ["## Summary", "", *[f"- {markdown_text(s)}" for s in summary_lines], ""]
    if calibration is not None:
        out += ["## Calibration misses", "", *_misses_section(calibration), ""]
    # the schema's own key names go in code spans (no escaping needed, none is scenario text)
    listed = [markdown_text(a) for a in assumptions or ()] + [
        f"`{path}` = {markdown_text(value, inline=True)} ({markdown_text(src, inline=True)})"
        for path, value, src in _assumed(scenario)
    ]
    out += ["## Assumptions this rests on", ""]
    out += [f"- {a}" for a in listed] if listed else ["none"]
    out.append("")
    if figures:
        out += ["## Figures", ""]
        for caption, path in map(_link, figures):
            out += [f"![{markdown_text(caption, inline=True)}]({path})", ""]
    if tables:
        out += ["## Tables", ""]
        out += [f"- [{markdown_text(caption, inline=True)}]({path})" for caption, path in map(_link, tables)]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
