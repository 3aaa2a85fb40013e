"""Which assumption drives the answer: n at the low and high end of each assumption's range.

One assumption moves at a time over its range (``[sensitivity]``: ``control_lbr_range``,
``treatment_lbr_range``, ``dropout_range``, ``consent_share_range``; defaults from EVIDENCE.md
or labelled assumptions), the others stay at the scenario's values, and the required n per arm
and the women to screen are recomputed at both ends. The table is ranked by how far n moves
(then, for the consent share, which moves no n, by the women screened), so the report and the
tornado figure (``assumptions.png``) put the assumption that drives the answer first.

**One method for one figure.** Every n of one table comes from one method, so the bars and the
base line compare like with like. It is the exact sample-size search
(:func:`rplsim.trial.exact.exact_sample_size`) when the enumeration covers the design
(:func:`rplsim.trial.exact.exact_applies`) and every n of the table is at most
:data:`EXACT_N_LIMIT` per arm by the formula (the search's cost grows with n squared: about a
second at 170 per arm for the chi-square test, 8 s at 270 for the Farrington-Manning test); the
scenario's own n is then the run's headline n, the same search. Otherwise every n is the
analytic formula inflated for dropout (:func:`rplsim.trial.formulas.analytic_n_per_arm`,
without its saw-tooth check, as the sensitivity heat map), the base included, and the run's
headline n (exact or simulated) is given beside it (``headline_n``), not mixed into the bars.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import pandas as pd

from rplsim.exceptions import CalibrationError, ScenarioError
from rplsim.planning.feasibility import feasibility
from rplsim.scenario import Scenario, SensitivityParams
from rplsim.scenario.schema import iter_params
from rplsim.trial.exact import exact_applies, exact_sample_size
from rplsim.trial.formulas import analytic_sample_size, inflate_for_dropout, treatment_size
from rplsim.trial.power import power_with
from rplsim.trial.simulation import trial_design

if TYPE_CHECKING:
    from rplsim.planning.stages import TrialStage

__all__ = ["EXACT_N_LIMIT", "TORNADO_COLUMNS", "assumption_ranges"]

TORNADO_COLUMNS = (
    "key",
    "label",
    "low",
    "high",
    "base",
    "n_low",
    "n_high",
    "n_base",
    "screened_low",
    "screened_high",
    "screened_base",
    "headline_n",
    "method",
    "source",
)

EXACT_N_LIMIT = 250
"""Largest control-arm size (by the formula) of a table sized by the exact search."""


def _formula_n(scenario: Scenario) -> float:
    """Randomised control-arm n of the formula (inflated for dropout); inf when none reaches power."""
    t = scenario.require_trial()
    if t.design == "superiority" and t.treatment_lbr is not None and t.treatment_lbr <= t.control_lbr:
        return math.inf
    try:
        design = trial_design(scenario)
        # no saw-tooth notes (as the heat map's formula): a check costs seconds for Fisher
        ss = analytic_sample_size(t, design.p_control, design.p_treatment, sawtooth=False)
    except (ScenarioError, CalibrationError, ValueError):
        return math.inf
    return float(inflate_for_dropout(ss.n_control, t.dropout))


def _exact_n(scenario: Scenario) -> float:
    """Randomised control-arm n of the exact search; inf when exact power never reaches the target."""
    try:
        return float(exact_sample_size(scenario).n_per_arm)
    except ScenarioError:
        return math.inf


def _screened(scenario: Scenario, stage: TrialStage, n: float) -> float:
    """Women to screen for ``n`` randomised control women (the feasibility funnel's one rule)."""
    if not math.isfinite(n):
        return math.inf
    t = scenario.require_trial()
    n_t = treatment_size(t, int(n))
    design = replace(stage.power, n_control=int(n), n_treatment=n_t, n_total=int(n) + n_t)
    return float(feasibility(scenario, design).n_screened)


def _variants(
    scenario: Scenario, params: SensitivityParams
) -> list[tuple[str, str, list[float], float, str]]:
    """(key, label, [low, high], base value, source) of every assumption with a range."""
    t = scenario.require_trial()
    rec = scenario.recruitment
    info = {i.path: i.source for i in iter_params(type(params), "sensitivity")}
    return [
        (
            "trial.control_lbr",
            f"live-birth rate, {t.comparator}",
            list(params.control_lbr_range),
            t.control_lbr,
            info["sensitivity.control_lbr_range"],
        ),
        (
            "trial.treatment_lbr",
            "live-birth rate, IVIG",
            list(params.treatment_lbr_range),
            _treated_rate(scenario),
            info["sensitivity.treatment_lbr_range"],
        ),
        (
            "trial.dropout",
            "dropout",
            list(params.dropout_range),
            t.dropout,
            info["sensitivity.dropout_range"],
        ),
        (
            "recruitment.consent_share",
            "consent to randomisation",
            list(params.consent_share_range),
            rec.consent_share,
            info["sensitivity.consent_share_range"],
        ),
    ]


def _treated_rate(scenario: Scenario) -> float:
    return float(trial_design(scenario).p_treatment)


def _moved(scenario: Scenario, key: str, value: float) -> Scenario:
    if key == "trial.control_lbr":
        return power_with(scenario, control_lbr=value)
    if key == "trial.treatment_lbr":
        return power_with(scenario, treatment_lbr=value, ivig_odds_ratio=None)
    if key == "trial.dropout":
        return power_with(scenario, dropout=value)
    return scenario.replace(recruitment=replace(scenario.recruitment, consent_share=value))


def assumption_ranges(scenario: Scenario, stage: TrialStage) -> pd.DataFrame:
    """n and women screened at the low and high end of each assumption's range.

    Parameters
    ----------
    scenario : Scenario
        Its ``[sensitivity]`` ranges (the defaults without one).
    stage : TrialStage
        The sized trial whose n is the base (``headline_n``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TORNADO_COLUMNS`, one row an assumption, the largest swing in women
        screened first. ``n_*`` are randomised control-arm sizes (inf: the target is not
        reachable there), ``screened_*`` women to screen.

    Examples
    --------
    >>> from rplsim import load_scenario, size_trial
    >>> sc = load_scenario("scenarios/paper.toml")
    >>> t = assumption_ranges(sc, size_trial(sc, replicates=1024, sensitivity=False))
    >>> t["method"].iloc[0], bool(t["n_base"].eq(t["headline_n"]).all())
    ('exact', True)
    """
    params = scenario.sensitivity or SensitivityParams()
    variants = _variants(scenario, params)
    moved = {(key, v): _moved(scenario, key, v) for key, _, ends, _, _ in variants for v in ends}
    formula = {k: _formula_n(sc) for k, sc in moved.items() if k[0] != "recruitment.consent_share"}
    base_formula = _formula_n(scenario)
    sizes = [*formula.values(), base_formula]
    # every moved scenario must be one the enumeration covers (a sequential design without
    # dropout is, its dropout range's ends are not): else the formula for the whole table
    exact = (
        exact_applies(scenario)
        and all(exact_applies(m) for m in moved.values())
        and all(math.isfinite(n) and n <= EXACT_N_LIMIT for n in sizes)
    )
    headline = stage.power.n_control
    if exact:
        method = "exact"
        n_of = {k: _exact_n(moved[k]) for k in formula}
        base_n = float(headline) if stage.searched and stage.exact_n is not None else _exact_n(scenario)
    else:
        method = "analytic"
        n_of, base_n = formula, base_formula
    rows = []
    for key, label, (lo, hi), base, source in variants:
        ns = [n_of.get((key, v), base_n) for v in (lo, hi)]  # the consent share moves no n
        rows.append(
            {
                "key": key,
                "label": label,
                "low": lo,
                "high": hi,
                "base": base,
                "n_low": ns[0],
                "n_high": ns[1],
                "n_base": base_n,
                "screened_low": _screened(moved[(key, lo)], stage, ns[0]),
                "screened_high": _screened(moved[(key, hi)], stage, ns[1]),
                "screened_base": _screened(scenario, stage, base_n),
                "headline_n": headline,
                "method": method,
                "source": source,
            }
        )
    out = pd.DataFrame(rows, columns=list(TORNADO_COLUMNS))
    # ranked by how far n moves, then (the consent share moves no n) by the women screened
    swing = pd.DataFrame(
        {
            "n": (out["n_high"] - out["n_low"]).abs().fillna(math.inf),
            "screened": (out["screened_high"] - out["screened_low"]).abs().fillna(math.inf),
        }
    )
    order = swing.sort_values(["n", "screened"], ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True)
