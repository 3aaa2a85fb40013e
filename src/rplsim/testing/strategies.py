"""Hypothesis strategies for rplsim scenarios, in the spirit of ``hypothesis.extra.numpy``.

Write property tests of your own analyses on scenarios *near* one you trust::

    from hypothesis import given
    from rplsim.testing.strategies import scenarios

    @given(scenarios("scenarios/paper.toml", sections=["cohort"]))
    def test_my_property(sc): ...

Every strategy is driven by the declarative schema (:func:`rplsim.schema.iter_params`): bounds,
open ends and choices come from the same ``param()`` declarations that validate files, so a new
key is perturbed without a change here. The cross-field rules are respected by construction
(shares renormalised, ranges sorted, the non-inferiority margin and alternative repaired) and,
for what only the calibration solvers know, by shrinking the perturbation towards the base
until it is feasible, so draws are never rejected. See ``docs/strategies.md``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from rplsim._core.limits import MAX_SEED
from rplsim.scenario import CohortParams, Scenario, TrialParams, scenario_from_dict
from rplsim.testing.invalid import invalid_scenarios
from rplsim.testing.perturb import (
    _INFO,
    _NAMES,
    _as_scenario,
    _attempt,
    _check_rel,
    _plan_strategy,
    _whole_block,
)

__all__ = ["cohort_params", "invalid_scenarios", "scenarios", "seeds", "trial_designs"]

SECTIONS: tuple[str, ...] = (
    "scenario",
    "cohort",
    "outcome",
    "protocol",
    "clinic",
    "trial",
    "recruitment",
    "sensitivity",
    "prior",
)


# ----------------------------------------------------------------------------- helpers
def seeds() -> st.SearchStrategy[int]:
    """Root seeds: integers in ``[0, 2**63 - 1]``, the range ``scenario.seed`` allows.

    Returns
    -------
    SearchStrategy of int
    """
    return st.integers(min_value=0, max_value=MAX_SEED)


# ----------------------------------------------------------------------------- trials
#: Analyses the drawn trials leave out: Boschloo's exact power over the many arm sizes of a
#: trial with dropout costs seconds a point (it is tested on its own, tests/trial/test_boschloo_power.py).
_LEFT_OUT = ("boschloo",)


@st.composite
def _trial_dicts(draw: st.DrawFn, designs: tuple[str, ...]) -> dict[str, Any]:
    design = draw(st.sampled_from(designs))
    control = draw(st.floats(0.3, 0.85))
    d: dict[str, Any] = {
        "population": draw(st.sampled_from(_INFO["trial.population"].choices or ())),
        "min_previous_miscarriages": draw(st.integers(2, 4)),
        "control_lbr": control,
        "design": design,
        "analysis": draw(
            st.sampled_from([a for a in _INFO["trial.analysis"].choices or () if a not in _LEFT_OUT])
        ),
        "alpha": draw(st.sampled_from([0.05, 0.025, 0.01, 0.1]) | st.floats(0.005, 0.2)),
        "power": draw(st.floats(0.7, 0.95)),
        "allocation_ratio": draw(st.sampled_from([1.0, 2.0, 0.5]) | st.floats(0.5, 3.0)),
        "dropout": draw(st.floats(0.0, 0.3)),
        "looks": draw(st.integers(1, 5)),
        "boundary": draw(st.sampled_from(_INFO["trial.boundary"].choices or ())),
        "replicates": draw(st.integers(100, 10_000)),
    }
    d["block_size"] = draw(
        st.sampled_from([b for b in range(0, 13) if _whole_block(b, d["allocation_ratio"])])
    )
    by_rate = draw(st.booleans())
    if design == "superiority":
        d["alternative"] = draw(st.sampled_from(["two-sided", "larger"]))
        if by_rate:
            d["treatment_lbr"] = control + draw(st.floats(0.05, min(0.3, 0.97 - control)))
        else:
            d["ivig_odds_ratio"] = draw(st.floats(1.2, 5.0))
    else:
        d["alternative"] = "larger"
        d["margin"] = draw(st.floats(0.05, 0.2))
        if by_rate:
            # above control - margin (margin >= 0.05): a design that can reach its power
            d["treatment_lbr"] = control + draw(st.floats(-0.04, min(0.1, 0.97 - control)))
        else:
            d["ivig_odds_ratio"] = draw(st.floats(0.8, 2.0))
    if design == "superiority" and d["looks"] > 1:
        d["futility"] = draw(st.sampled_from(_INFO["trial.futility"].choices or ()))
        d["futility_binding"] = draw(st.booleans())
        d["futility_threshold"] = draw(st.floats(0.05, 0.3))
    if draw(st.booleans()):
        d["n_per_arm"] = draw(st.integers(20, 500))
    return d


def trial_designs(
    *, designs: Iterable[str] = ("superiority", "non-inferiority")
) -> st.SearchStrategy[TrialParams]:
    """Valid ``[trial]`` sections (:class:`~rplsim.scenario.TrialParams`) in sensible ranges.

    Parameters
    ----------
    designs : iterable of str
        The designs to draw from: "superiority" and/or "non-inferiority".

    Returns
    -------
    SearchStrategy of TrialParams
        ``control_lbr`` in [0.3, 0.85]; exactly one of ``treatment_lbr`` (superiority: control
        + [0.05, 0.3], capped at 0.97; non-inferiority: control + [-0.04, 0.1]) or
        ``ivig_odds_ratio`` ([1.2, 5] resp. [0.8, 2]); ``alpha`` a usual level or in
        [0.005, 0.2]; ``power`` in [0.7, 0.95]; a margin in [0.05, 0.2] and alternative
        "larger" exactly for non-inferiority; ``looks`` 1-5, ``dropout`` [0, 0.3],
        ``allocation_ratio`` [0.5, 3], ``replicates`` 100-10 000, ``n_per_arm`` absent or
        20-500; every choice key drawn from its choices.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(trial_designs(designs=["superiority"]))
    ... def test_positive_effect(trial):
    ...     assert trial.treatment_lbr is None or trial.treatment_lbr > trial.control_lbr
    """
    ds = tuple(designs)
    allowed = _INFO["trial.design"].choices or ()
    if not ds or any(x not in allowed for x in ds):
        raise InvalidArgument(f"designs == {ds!r}, must be a non-empty subset of {allowed!r}.")
    return _trial_dicts(ds).map(_build_trial)


def _build_trial(d: dict[str, Any]) -> TrialParams:
    trial = scenario_from_dict({"scenario": {"name": "trial"}, "trial": d}, "<trial_designs()>").trial
    assert trial is not None
    return trial


# ----------------------------------------------------------------------------- priors
def _rate_component(weight: bool) -> st.SearchStrategy[dict[str, Any]]:
    """One Beta prior on a rate: beta, counts or quantiles (with a weight inside a mixture)."""
    beta = st.lists(st.floats(0.5, 80.0), min_size=2, max_size=2).map(lambda ab: {"beta": ab})
    counts = st.integers(1, 400).flatmap(
        lambda n: st.integers(0, n).map(lambda x: {"counts": [x, n]})  # Jeffreys: x = 0 and n are fine
    )
    quantiles = st.tuples(st.floats(0.15, 0.85), st.floats(0.02, 0.12), st.floats(0.02, 0.12)).map(
        lambda t: {"quantiles": [t[0] - t[1], t[0], t[0] + t[2]]}
    )
    one = beta | counts | quantiles
    return _weighted(one) if weight else one


def _ratio_component(weight: bool) -> st.SearchStrategy[dict[str, Any]]:
    """One log-normal prior on an odds ratio or a relative risk."""
    one = st.tuples(st.floats(-0.5, 1.5), st.floats(0.05, 1.0)).map(lambda t: {"lognormal": list(t)})
    return _weighted(one) if weight else one


def _weighted(one: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(st.floats(0.05, 5.0), one).map(lambda t: {"weight": t[0], **t[1]})


def _spec(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    component = _rate_component if kind == "rate" else _ratio_component
    mixture = st.lists(component(True), min_size=1, max_size=3).map(lambda m: {"mixture": m})
    return component(False) | mixture


@st.composite
def _prior_dicts(draw: st.DrawFn) -> dict[str, Any]:
    """A valid ``[prior]`` table: a rate prior on control, one effect prior of a drawn kind."""
    effect = draw(st.sampled_from(["treatment_lbr", "ivig_odds_ratio", "ivig_relative_risk"]))
    d: dict[str, Any] = {
        "control_lbr": draw(_spec("rate")),
        effect: draw(_spec("rate" if effect == "treatment_lbr" else "ratio")),
        "draws": draw(st.integers(100, 50_000)),
    }
    if draw(st.booleans()):
        d["relative_risk_cap"] = draw(st.floats(0.9, 0.999))
    return d


# ----------------------------------------------------------------------------- scenarios
@st.composite
def _scenarios(
    draw: st.DrawFn,
    base: dict[str, Any],
    sections: frozenset[str],
    m: float,
    names: st.SearchStrategy[str],
    feasible: bool | str,
) -> Scenario:
    base = copy.deepcopy(base)
    if ("trial" in sections or "prior" in sections) and "trial" not in base:
        base["trial"] = draw(_trial_dicts(("superiority", "non-inferiority")))
    if "prior" in sections and "prior" not in base:
        base["prior"] = draw(_prior_dicts())
    if "scenario" in sections:
        base["scenario"]["seed"] = draw(seeds())
    base["scenario"]["name"] = draw(names)
    plan = draw(_plan_strategy(base, sections))
    return _attempt(base, plan, m, feasible)[0]


def scenarios(
    base: Scenario | str | os.PathLike[str] | None = None,
    *,
    sections: Iterable[str] | None = None,
    max_rel_change: float = 0.2,
    names: st.SearchStrategy[str] | None = None,
    feasible: bool | str = True,
) -> st.SearchStrategy[Scenario]:
    """Valid :class:`~rplsim.Scenario` objects near a base scenario.

    Every number of the chosen sections moves by at most ``max_rel_change`` of its base
    value (measured from the key's lower bound when that is positive, e.g. a gsd from 1) and
    is clipped into its allowed range; integers stay integers; each string key with choices
    is drawn from its choices (shrinking to the base's). Cross-field rules hold by
    construction: shares (``cohort.strata``, ``cohort.known_causes``) are renormalised (each
    moves by at most ``max_rel_change`` after it), min/max pairs are sorted, each
    mean/sd/min/max table is pulled back towards the base until its truncated normal exists,
    a non-inferiority trial gets alternative "larger" (and a margin of 0.1 if it had none), a
    superiority trial loses its margin, and ``outcome.adherence`` stays put unless the base
    states an untreated effect. Whole draws that the schema or (with ``feasible``) the
    calibration solvers reject are pulled back by halving every change, up to six times, then
    fall back to the base, so nothing is rejected and health checks pass.

    Parameters
    ----------
    base : Scenario, path of a .toml file, or None
        The scenario to perturb; ``None`` means the schema defaults (the paper's values).
    sections : iterable of str, optional
        Top-level sections to perturb, e.g. ``["cohort"]``; others are copied from the base.
        ``None`` means every section of the base. "scenario" draws a new seed; "trial" adds a
        :func:`trial_designs` trial when the base has none; "prior" adds a valid ``[prior]``
        (every distribution form, mixtures included, and each of the three effect keys; a trial
        too, which ``[prior]`` needs) when the base has none. The name is always drawn.
    max_rel_change : float
        Largest relative change of a value, in [0, 1). The default 0.2 keeps scenarios near
        the paper's feasible for the calibration solvers; larger values are pulled back more
        often (or, with ``feasible=False``, may raise ``CalibrationError`` downstream).
    names : SearchStrategy of str, optional
        Scenario names; default lowercase identifiers of 1-16 characters.
    feasible : bool or "outcome"
        True: also require that :func:`rplsim.cohort.cohort_model` (Table 1 moments, Figure 6
        shares), the cytotoxicity rejection sampler and the gestational-week distributions
        accept the scenario (about 0.05 s per draw); "outcome": the outcome model's intercepts
        too (about 0.5 s more per draw); False: the schema only (fast).

    Returns
    -------
    SearchStrategy of Scenario

    Raises
    ------
    hypothesis.errors.InvalidArgument
        For a bad ``base``, ``sections`` or ``max_rel_change``.

    Examples
    --------
    >>> from hypothesis import given
    >>> @given(scenarios("scenarios/paper.toml", sections=["cohort"], max_rel_change=0.1))
    ... def test_n(sc):
    ...     assert 419 <= sc.cohort.n <= 513
    """
    m = _check_rel(max_rel_change)
    base_d = _as_scenario(base).to_dict()
    if sections is None:
        secs = frozenset(base_d)
    else:
        secs = frozenset([sections] if isinstance(sections, str) else sections)
        bad = sorted(secs - set(SECTIONS))
        if bad:
            raise InvalidArgument(
                f"sections == {sorted(secs)!r}: {bad} not sections; choose from {SECTIONS!r}."
            )
    if names is None:
        names = _NAMES
    if feasible not in (True, False, "outcome"):
        raise InvalidArgument(f'feasible == {feasible!r}, must be True, False or "outcome".')
    return _scenarios(base_d, secs, m, names, feasible)


def cohort_params(
    base: Scenario | CohortParams | str | os.PathLike[str] | None = None,
    *,
    max_rel_change: float = 0.2,
    feasible: bool | str = True,
) -> st.SearchStrategy[CohortParams]:
    """Valid ``[cohort]`` sections (:class:`~rplsim.scenario.CohortParams`) near a base.

    Parameters
    ----------
    base : Scenario, CohortParams, path of a .toml file, or None
        Where to start; ``None`` means the paper's cohort (the schema defaults).
    max_rel_change, feasible
        As for :func:`scenarios`.

    Returns
    -------
    SearchStrategy of CohortParams
        Ready for ``rplsim.generate_cohort(params, n, seed)``.
    """
    sc = _as_scenario(base)
    return scenarios(
        sc, sections=["cohort"], max_rel_change=max_rel_change, names=st.just("cohort"), feasible=feasible
    ).map(lambda s: s.cohort)
