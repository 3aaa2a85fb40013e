"""TOML files that :func:`rplsim.load_scenario` must reject, each breaking exactly one rule."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from rplsim._core.limits import MAX_NESTING_DEPTH
from rplsim.scenario import Scenario
from rplsim.scenario.schema import ParamInfo
from rplsim.scenario.tomlio import dumps_toml, echo_key, echo_value
from rplsim.testing.perturb import _INFO, _SHARES, _as_scenario, _get, _leaves

__all__ = ["invalid_scenarios"]


def _misspell(key: str, draw: st.DrawFn) -> str:
    how = draw(st.sampled_from(["double", "drop", "swap", "suffix", "case"]))
    i = draw(st.integers(0, max(len(key) - 1, 0)))
    if how == "double" or len(key) < 3:
        return key[: i + 1] + key[i:]
    if how == "drop":
        return key[:i] + key[i + 1 :]
    if how == "swap":
        i = min(i, len(key) - 2)
        return key[:i] + key[i + 1] + key[i] + key[i + 2 :]
    if how == "suffix":
        return key + "s"
    return key.swapcase()


def _tables(d: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.append(prefix + k)
            out.extend(_tables(v, f"{prefix}{k}."))
    return out


def _scalars(d: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in d.items():
        if isinstance(v, Mapping):
            out.extend(_scalars(v, f"{prefix}{k}."))
        elif not isinstance(v, list) and f"{prefix}{k}" in _INFO:
            out.append(prefix + k)
    return out


_DEFAULT_TRIAL = {"control_lbr": 0.6, "treatment_lbr": 0.75}
_RULES: tuple[str, ...] = (
    "unknown-key",
    "wrong-type",
    "out-of-range",
    "non-finite",
    "shares-sum",
    "moments-mean",
    "min-above-max",
    "missing-required",
    "trial-both-effects",
    "trial-no-effect",
    "margin-without-non-inferiority",
    "non-inferiority-alternative",
    "adherence-untreated",
    "bad-choice",
    "syntax-error",
    "nesting-depth",
    "equal-rates",
    "treated-below-control",
    "empty-population",
    "duplicated-grid-value",
    "control-character",
    "prior-two-kinds",
    "prior-beta-length",
    "prior-counts-order",
    "prior-quantiles-order",
    "prior-control-lognormal",
    "prior-two-effects",
    "prior-no-effect",
    "prior-weight-outside-mixture",
    "prior-mixed-mixture",
    "prior-draws-range",
    "prior-without-trial",
)


@st.composite
def _invalid(draw: st.DrawFn, base: dict[str, Any], rules: tuple[str, ...]) -> tuple[str, str, str]:
    d = copy.deepcopy(base)
    d["scenario"]["name"] = "invalid"
    rule = draw(st.sampled_from(rules))
    key = ""
    if rule == "unknown-key":
        table = draw(st.sampled_from(_tables(d)))
        node, last = _get(d, table)
        known = node[last]
        original = draw(st.sampled_from(sorted(known)))
        bad = _misspell(original, draw)
        if bad in known or not bad:
            bad = original + "_x"
        known[bad] = copy.deepcopy(known[original])
        key = f"{table}.{bad}"
    elif rule in ("wrong-type", "out-of-range", "non-finite", "bad-choice"):
        candidates = [p for p in _scalars(d) if _fits(rule, _INFO[p])]
        key = draw(st.sampled_from(candidates))
        node, last = _get(d, key)
        node[last] = _bad_value(rule, _INFO[key], node[last], draw)
    elif rule == "shares-sum":
        key = draw(st.sampled_from(sorted(_SHARES)))
        node, last = _get(d, key)
        k = draw(st.sampled_from(sorted(node[last])))
        v = node[last][k]
        step = draw(st.floats(0.01, 0.5))
        node[last][k] = v + step if v + step <= 1 else v - step
    elif rule == "moments-mean":
        key = draw(st.sampled_from([p for p, kind in _leaves(d, "", frozenset(d)) if kind == "moments"]))
        node, last = _get(d, key)
        t = node[last]
        width = t["max"] - t["min"]
        f = draw(st.sampled_from([0.0, 0.01, 0.05]))
        t["mean"] = draw(st.sampled_from([t["min"] - f * width, t["max"] + f * width]))
    elif rule == "min-above-max":
        key = "protocol.ivig_interval.min"
        iv = d["protocol"]["ivig_interval"]
        iv["min"] = iv["max"] + draw(st.floats(0.5, 2.0))
    elif rule == "missing-required":
        # Partial tables are merged with their defaults, so only keys without any default
        # can be missing: the name, and a trial's control rate.
        key = draw(st.sampled_from(["scenario.name", "trial.control_lbr"]))
        d.setdefault("trial", dict(_DEFAULT_TRIAL))
        node, last = _get(d, key)
        del node[last]
    elif rule.startswith(("trial", "margin", "non-inferiority")):
        key = _break_trial(draw, d, rule)
    elif rule == "adherence-untreated":
        for k in ("untreated_abnormal_lbr", "ivig_odds_ratio"):
            d["outcome"].pop(k, None)
        d["outcome"]["adherence"] = draw(st.floats(0.0, 0.99))
        key = "outcome.adherence"
    elif rule in ("equal-rates", "treated-below-control", "empty-population"):
        key = _no_success(draw, d, rule)
    elif rule == "nesting-depth":
        key = _too_deep(draw, d)
    elif rule == "duplicated-grid-value":
        value = draw(st.sampled_from([0.55, 0.6, 0.65]))
        values = [0.5, value, 0.7]
        values.insert(draw(st.integers(0, 3)), value)
        d["sweep"] = {"grid": {"trial.control_lbr": values}}
        key = 'sweep.grid."trial.control_lbr"'
    elif rule == "control-character":
        key = _control_character(draw, d)
    elif rule.startswith("prior-"):
        key = _break_prior(draw, d, rule)
    else:  # syntax-error
        return _syntax_error(draw, d), rule, ""
    return dumps_toml(d), rule, key


def _no_success(draw: st.DrawFn, d: dict[str, Any], rule: str) -> str:
    """A superiority trial that can never reach its power, or a population without women."""
    trial = d.setdefault("trial", dict(_DEFAULT_TRIAL))
    for k in ("treatment_lbr", "ivig_odds_ratio", "margin"):
        trial.pop(k, None)
    control = draw(st.floats(0.3, 0.85))
    trial.update(design="superiority", alternative=draw(st.sampled_from(["two-sided", "larger"])))
    trial["control_lbr"] = control
    if rule == "equal-rates":
        if draw(st.booleans()):
            trial["treatment_lbr"] = control
        else:
            trial["ivig_odds_ratio"] = 1.0
            return "trial.ivig_odds_ratio"
    elif rule == "treated-below-control":
        if draw(st.booleans()):
            trial["treatment_lbr"] = control - draw(st.floats(0.01, 0.25))
        else:
            trial["ivig_odds_ratio"] = draw(st.floats(0.1, 0.95))
            return "trial.ivig_odds_ratio"
    else:  # empty-population: both abnormal strata empty, the normal ones renormalised
        trial["treatment_lbr"] = min(control + 0.1, 0.95)
        trial["population"] = draw(st.sampled_from(["abnormal", "idiopathic-abnormal", "known-abnormal"]))
        strata = d["cohort"]["strata"]
        kn = strata["KN"] / (strata["KN"] + strata["IN"])
        strata.update(KN=kn, IN=1.0 - kn, KA=0.0, IA=0.0)
        return "trial.population"
    return "trial.treatment_lbr"


def _break_prior(draw: st.DrawFn, d: dict[str, Any], rule: str) -> str:
    """A valid ``[prior]`` (and a trial) with one of its rules broken; the text the message names."""
    d.setdefault("trial", dict(_DEFAULT_TRIAL))
    rate = (
        "treatment_lbr" if rule in ("prior-beta-length", "prior-counts-order") and draw(st.booleans()) else ""
    )
    prior: dict[str, Any] = {
        "control_lbr": {"counts": [draw(st.integers(0, 40)), 40]},
        "treatment_lbr": {"beta": [draw(st.floats(5.0, 40.0)), draw(st.floats(2.0, 20.0))]},
    }
    d["prior"] = prior
    name = rate or "control_lbr"
    if rule == "prior-two-kinds":
        prior["control_lbr"]["beta"] = [10.0, 10.0]
        return "prior.control_lbr has both beta and counts"
    if rule == "prior-beta-length":
        prior[name] = {"beta": draw(st.sampled_from([[2.0], [2.0, 3.0, 4.0], []]))}
        return f"prior.{name}.beta"
    if rule == "prior-counts-order":
        n = draw(st.integers(1, 100))
        prior[name] = {"counts": [n + draw(st.integers(1, 10)), n]}
        return f"prior.{name}.counts"
    if rule == "prior-quantiles-order":
        q = sorted(draw(st.lists(st.floats(0.05, 0.95), min_size=3, max_size=3, unique=True)))
        prior["control_lbr"] = {
            "quantiles": draw(st.sampled_from([q[::-1], [q[1], q[0], q[2]], [q[0], q[0], q[2]]]))
        }
        return "prior.control_lbr.quantiles"
    if rule == "prior-control-lognormal":
        prior["control_lbr"] = {"lognormal": [0.0, 0.3]}
        return "prior.control_lbr is lognormal"
    if rule == "prior-two-effects":
        prior["ivig_odds_ratio"] = {"lognormal": [draw(st.floats(-0.5, 1.5)), 0.3]}
        return "prior.treatment_lbr and prior.ivig_odds_ratio are both given"
    if rule == "prior-no-effect":
        del prior["treatment_lbr"]
        return "prior.treatment_lbr is missing"
    if rule == "prior-weight-outside-mixture":
        prior["treatment_lbr"]["weight"] = draw(st.floats(0.1, 1.0))
        return "prior.treatment_lbr.weight"
    if rule == "prior-mixed-mixture":
        prior["treatment_lbr"] = {
            "mixture": [{"weight": 0.5, "beta": [8.0, 2.0]}, {"weight": 0.5, "lognormal": [0.3, 0.2]}]
        }
        return "prior.treatment_lbr.mixture mixes"
    if rule == "prior-draws-range":
        prior["draws"] = draw(st.sampled_from([5, 0, -1, 99, 10_000_001]))
        return "prior.draws"
    del d["trial"]  # prior-without-trial
    return "[prior]"


def _too_deep(draw: st.DrawFn, d: dict[str, Any]) -> str:
    """Tables (or arrays) nested beyond the limit, under a table of the scenario."""
    table = draw(st.sampled_from(_tables(d)))
    node, last = _get(d, table)
    levels = draw(st.integers(MAX_NESTING_DEPTH + 1, 3 * MAX_NESTING_DEPTH))
    inner: Any = 1.0
    arrays = draw(st.booleans())
    for _ in range(levels):
        inner = [inner] if arrays else {"deep": inner}
    node[last]["deep"] = inner
    return f"{table}.deep"


def _control_character(draw: st.DrawFn, d: dict[str, Any]) -> str:
    """A control character in an unknown key, or in a string that must be one of its choices."""
    ch = draw(st.sampled_from(["\n", "\r", "\t", "\x1b", "\x00", "\x7f", "\u2028"]))
    if draw(st.booleans()):
        table = draw(st.sampled_from(_tables(d)))
        node, last = _get(d, table)
        bad = f"odd{ch}key"
        node[last][bad] = 1
        return f"{table}.{echo_key(bad)}"
    key = draw(st.sampled_from([p for p in _scalars(d) if _INFO[p].choices]))
    node, last = _get(d, key)
    node[last] = f"{node[last]}{ch}"
    return f"{key} == {echo_value(node[last])}"


def _break_trial(draw: st.DrawFn, d: dict[str, Any], rule: str) -> str:
    """Break one of the [trial] rules; the key the message must name."""
    trial = d.setdefault("trial", dict(_DEFAULT_TRIAL))
    for k in ("treatment_lbr", "ivig_odds_ratio", "margin"):
        trial.pop(k, None)
    trial.update(design="superiority", alternative="two-sided", treatment_lbr=0.75)
    if rule == "trial-both-effects":
        trial["ivig_odds_ratio"] = draw(st.floats(1.1, 5.0))
        return "trial.treatment_lbr"
    elif rule == "trial-no-effect":
        del trial["treatment_lbr"]
        return "trial.treatment_lbr"
    elif rule == "margin-without-non-inferiority":
        trial["margin"] = draw(st.floats(0.01, 0.5))
        return "trial.margin"
    else:
        trial.update(
            design="non-inferiority",
            margin=0.1,
            alternative=draw(st.sampled_from(["two-sided", "smaller"])),
        )
        return "trial.alternative"


def _syntax_error(draw: st.DrawFn, d: dict[str, Any]) -> str:
    """The scenario as TOML text with one syntax error."""
    text = dumps_toml(d)
    how = draw(st.sampled_from(["header", "value", "string", "duplicate", "equals"]))
    if how == "header":
        text = text.replace("[cohort]", "[cohort", 1)
    elif how == "value":
        text += "dangling =\n"
    elif how == "string":
        text = text.replace('name = "invalid"', 'name = "invalid', 1)
    elif how == "duplicate":
        text += '\n[scenario]\nname = "again"\n'
    else:
        text = text.replace("n = ", "n == ", 1)
    return text


def _fits(rule: str, info: ParamInfo) -> bool:
    if rule == "wrong-type":
        return True
    if rule == "bad-choice":
        return bool(info.choices)
    if rule == "non-finite":
        return info.type.startswith("number")
    # out of range: a bound exists and an integer beyond it still fits in TOML's 64 bits
    return (info.lo is not None or (info.hi is not None and info.hi < 2**62)) and not info.choices


def _bad_value(rule: str, info: ParamInfo, v: Any, draw: st.DrawFn) -> Any:
    integer = info.type.startswith("integer")
    if rule == "wrong-type":
        if info.type.startswith("string"):
            return draw(st.sampled_from([3, 0.5, True, [1, 2]]))
        return draw(st.sampled_from(["abc", True, [1.0]] + ([2.5] if integer else [])))
    if rule == "bad-choice":
        bad = _misspell(v, draw)
        return bad if bad not in (info.choices or ()) else v + "x"
    if rule == "non-finite":
        return draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    sides = []
    if info.lo is not None:
        sides.append("lo")
    if info.hi is not None and info.hi < 2**62:
        sides.append("hi")
    side = draw(st.sampled_from(sides))
    bound = info.lo if side == "lo" else info.hi
    is_open = info.lo_open if side == "lo" else info.hi_open
    sign = -1 if side == "lo" else 1
    if is_open and draw(st.booleans()):
        return int(bound) if integer else float(bound)  # type: ignore[arg-type]
    if integer:
        return int(bound) + sign * draw(st.integers(1, 100))  # type: ignore[arg-type]
    return float(bound) + sign * draw(st.sampled_from([1e-6, 0.01, 0.5, 10.0]))  # type: ignore[arg-type]


def invalid_scenarios(
    base: Scenario | str | os.PathLike[str] | None = None,
    *,
    rules: Iterable[str] | None = None,
) -> st.SearchStrategy[tuple[str, str, str]]:
    """TOML files that :func:`rplsim.load_scenario` must reject, each breaking one rule.

    Each draw is the base scenario written out in full, with exactly one thing broken.

    Parameters
    ----------
    base : Scenario, path of a .toml file, or None
        The valid scenario to break; ``None`` means the schema defaults.
    rules : iterable of str, optional
        Restrict to these rules (default all): "unknown-key" (a near-miss spelling of a real
        key), "wrong-type", "out-of-range" (below lo, above hi, or on an open bound),
        "non-finite" (``nan``, ``inf``, ``-inf``), "shares-sum", "moments-mean" (mean on or
        outside [min, max]), "min-above-max", "missing-required", "trial-both-effects",
        "trial-no-effect", "margin-without-non-inferiority", "non-inferiority-alternative",
        "adherence-untreated", "bad-choice", "syntax-error"; and the rules of issue 20:
        "nesting-depth" (tables or arrays nested beyond ``MAX_NESTING_DEPTH``), "equal-rates"
        (``treatment_lbr == control_lbr`` or ``ivig_odds_ratio = 1``), "treated-below-control"
        (a superiority trial whose effect points the wrong way), "empty-population" (the trial's
        strata all have share 0), "duplicated-grid-value" (a ``[sweep] grid`` value listed
        twice), "control-character" (a control character in an unknown key or a choice value;
        the message must still be one line); and the rules of ``[prior]`` (issue 15):
        "prior-two-kinds" (beta and counts in one table), "prior-beta-length" (not two
        numbers), "prior-counts-order" (x > n), "prior-quantiles-order" (not strictly
        increasing), "prior-control-lognormal" (a ratio prior on the control rate),
        "prior-two-effects", "prior-no-effect" (not exactly one of treatment_lbr,
        ivig_odds_ratio, ivig_relative_risk), "prior-weight-outside-mixture",
        "prior-mixed-mixture" (Beta and log-normal components), "prior-draws-range",
        "prior-without-trial".

    Returns
    -------
    SearchStrategy of (str, str, str)
        ``(toml_text, rule, key)``: ``key`` is the dotted key the error message must name, as
        the message echoes it (escaped for "control-character"; "" for a syntax error, whose
        message says "TOML syntax error").

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(invalid_scenarios(rules=["out-of-range"]))
    ... def test_named(case):
    ...     text, rule, key = case
    """
    chosen = _RULES if rules is None else tuple([rules] if isinstance(rules, str) else rules)
    bad = [r for r in chosen if r not in _RULES]
    if bad or not chosen:
        raise InvalidArgument(f"rules == {chosen!r}: unknown {bad}; choose from {_RULES!r}.")
    return _invalid(_as_scenario(base).to_dict(), chosen)
