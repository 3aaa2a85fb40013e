"""What the page shows, computed by the service layer the CLI calls (no formula of its own).

Each function takes a validated :class:`~rplsim.Scenario` and returns plain JSON-ready data.
Live results are exact where :func:`rplsim.trial.exact.exact_applies` covers the design
(:func:`rplsim.find_sample_size` and :func:`rplsim.exact_power`, as ``rplsim power``), else the
analytic answer of the same formulas ``rplsim power`` starts its search from; the simulated
answer is the Simulate button's (:mod:`rplsim.app.web.jobs`).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np

from rplsim._core.limits import MAX_N_PER_ARM
from rplsim.exceptions import ScenarioError
from rplsim.planning.feasibility import feasibility
from rplsim.planning.sensitivity import sensitivity_grid
from rplsim.scenario import Scenario
from rplsim.scenario.tomlio import dumps_toml
from rplsim.sweep.compare import compare_designs
from rplsim.trial.assurance import EXACT_ASSURANCE_N, assurance, scenario_priors
from rplsim.trial.curve import power_curve
from rplsim.trial.exact import exact_power, exact_sample_size, not_covered
from rplsim.trial.formulas import analytic_n_per_arm, analytic_power_at
from rplsim.trial.power import find_sample_size, simulate_power
from rplsim.trial.simulation import trial_design

__all__ = [
    "CURVE_POINTS",
    "LIBRARY_LOCK",
    "LIVE_EXACT_N",
    "Memo",
    "analytic_numbers",
    "assurance_rows",
    "check_rates",
    "compare_rows",
    "curve_ns",
    "curve_rows",
    "design_numbers",
    "heat_map",
    "live_exact_note",
    "scenario_toml",
]

LIVE_EXACT_N = 400
"""Above this analytic n per arm the page shows the analytic answer live, labelled so, and leaves
the exact one to Simulate: the exact search grows with n (0.9 s at 138 per arm, 3.8 s at 281,
minutes in the thousands), and a rate moved next to the other asks for n in the millions."""

CURVE_POINTS = 12
"""Points of the page's power curve (from 0.4 n to 2 n, and n itself)."""

CURVE_BUDGET_SECONDS = 1.5
"""The exact curve is drawn when its points take at most this long; else the analytic power,
labelled so (Fisher's or Boschloo's test at a few hundred per arm takes a second or more a
point). The page asks for the curve after its headline, so this is time on top of it."""

T = TypeVar("T")

LIBRARY_LOCK = threading.RLock()
"""One library computation at a time. The exact methods keep caches between calls (the
threshold store of :mod:`rplsim.design.exact_counts`, Boschloo's tables) that are not safe to
grow from two threads at once, and the server answers requests in a thread pool; the GIL
serialises the work anyway. The closed-form answer (``/api/analytic``) and loading a scenario
do not take it, so the page's first answer is not queued behind an exact search."""


class Memo:
    """A bounded cache computing each key once, even when many requests ask for it at once.

    The page asks again for what it showed before (a link, the back button, a pinned design);
    200 concurrent requests for one new key must not run 200 exact searches.

    Examples
    --------
    >>> m = Memo(2)
    >>> m.get("a", lambda: 1), m.get("a", lambda: 2)
    (1, 1)
    """

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, Future[Any]] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], T], *, exclusive: bool = True) -> T:
        """``compute()``'s value for ``key``, computed by the first caller only; ``exclusive``:
        under :data:`LIBRARY_LOCK` (an exclusive compute must not wait on another exclusive key)."""
        with self._lock:
            fut = self._items.get(key)
            owner = fut is None
            if fut is None:
                fut = self._items[key] = Future()
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
            else:
                self._items.move_to_end(key)
        if owner:
            try:
                if exclusive:
                    with LIBRARY_LOCK:
                        value = compute()
                else:
                    value = compute()
                fut.set_result(value)
            except BaseException as exc:  # the waiting requests get the same error
                fut.set_exception(exc)
        result: T = fut.result()
        return result


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def live_exact_note(sc: Scenario, analytic_n: int | None = None) -> str | None:
    """Why the page shows the analytic answer live instead of the exact one (None: it does not):
    the exact method does not cover the design, or its n is above :data:`LIVE_EXACT_N`.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> live_exact_note(load_scenario("scenarios/paper.toml")) is None
    True
    >>> live_exact_note(load_scenario("scenarios/paper.toml", {"trial": {"control_lbr": 0.79}}))[:21]
    'the analytic n, 9,710'
    """
    why = not_covered(sc)
    n = analytic_n_per_arm(sc) if analytic_n is None else analytic_n
    if why is None and n > LIVE_EXACT_N:
        why = (
            f"the analytic n, {n:,} per arm, is above the page's live exact budget of "
            f"{LIVE_EXACT_N:,} (an exact search there takes minutes): press Simulate"
        )
    return why


def design_numbers(sc: Scenario) -> dict[str, Any]:
    """The headline: n per arm, power at it, and what the trial costs in women, years and IVIG.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> d = design_numbers(load_scenario("scenarios/paper.toml"))
    >>> d["n_per_arm"], round(d["power"], 4), d["method"], d["n_randomised"]
    (83, 0.8022, 'exact', 166)
    """
    trial = sc.require_trial()
    analytic_n = analytic_n_per_arm(sc)
    why = live_exact_note(sc, analytic_n)
    out: dict[str, Any] = {"analytic_n_per_arm": analytic_n, "exact_note": why or ""}
    if why is None:
        # find_sample_size's exact path is exact_sample_size's n (and an exact curve around it,
        # which the page asks for on its own); the internal pilot sizes its fixed counterpart
        n = int((exact_sample_size(sc) if trial.reestimation is None else find_sample_size(sc)).n_per_arm)
        ex = exact_power(sc, n)
        out |= {"method": "exact", "power": ex.power, "type1_error": ex.type1_error}
    else:
        n = analytic_n
        out |= {"method": "analytic", "type1_error": None}
    # feasibility reads the arm sizes and the IVIG grams per woman, which come from the twin's
    # 10,000 eligible women, not from the replicates: one simulated trial is enough to carry them
    pw = simulate_power(sc, n_per_arm=n, replicates=1)
    if why is not None:
        out["power"] = pw.analytic_power
    f = feasibility(sc, pw)
    return out | {
        "n_per_arm": n,
        "n_treatment": f.n_treatment,
        "n_randomised": f.n_randomised,
        "n_screened": f.n_screened,
        "n_eligible": f.n_eligible,
        "years_to_recruit": f.years_to_recruit,
        "centres": f.centres,
        "ivig_grams": f.ivig_grams_total,
        "ivig_cost": f.ivig_cost_total,
        "currency": f.currency,
        "target_power": trial.power,
        "replicates": trial.replicates,
    }


def analytic_numbers(sc: Scenario) -> dict[str, Any]:
    """The closed-form answer, in milliseconds: the n ``rplsim power`` starts its search from
    (inflated for dropout) and the analytic power at it; the page shows it until the exact one
    arrives.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> analytic_numbers(load_scenario("scenarios/paper.toml"))["n_per_arm"]
    85
    """
    design = trial_design(sc)
    n = analytic_n_per_arm(sc, design)
    power = analytic_power_at(sc, n, design)
    return {"n_per_arm": n, "power": power, "method": "analytic", "exact": live_exact_note(sc, n) is None}


def curve_ns(n: int) -> list[int]:
    """The n per arm of the page's power curve around ``n``.

    Examples
    --------
    >>> curve_ns(83)
    [33, 42, 51, 60, 69, 77, 83, 86, 95, 104, 113, 122, 131, 139, 148, 157, 166]
    """
    pts = np.linspace(max(2, 0.4 * n), min(2 * n, MAX_N_PER_ARM), CURVE_POINTS + 4)
    return sorted({*(round(float(x)) for x in pts), int(n)})


def curve_rows(sc: Scenario, n: int) -> list[dict[str, Any]]:
    """Power against n per arm: :func:`rplsim.power_curve` (exact) where the design is covered
    and the points take at most :data:`CURVE_BUDGET_SECONDS`, else the analytic power of
    ``rplsim power``'s formulas, labelled so (a live simulated curve would take minutes;
    Simulate gives the simulated answer).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> rows = curve_rows(load_scenario("scenarios/paper.toml"), 83)
    >>> len(rows), rows[0]["method"], round(next(r["power"] for r in rows if r["n_per_arm"] == 83), 4)
    (17, 'exact', 0.8022)
    """
    ns = curve_ns(n)
    if live_exact_note(sc) is None:
        cols = ["n_per_arm", "n_treatment", "control_lbr", "treatment_lbr", "power", "type1_error", "method"]
        rows: list[dict[str, Any]] = []
        started = time.perf_counter()
        for m in ns:  # one point at a time, to stop at the budget
            tab = power_curve(sc, n=[m], chosen_n=n, method="exact").table
            rows += [dict(r) for r in tab[cols].to_dict("records")]
            if time.perf_counter() - started > CURVE_BUDGET_SECONDS:
                break
        else:
            return rows
    design = trial_design(sc)
    return [
        {
            "n_per_arm": m,
            "control_lbr": design.p_control,
            "treatment_lbr": design.p_treatment,
            "power": analytic_power_at(sc, m, design),
            "type1_error": None,
            "method": "analytic",
        }
        for m in ns
    ]


def heat_map(sc: Scenario) -> dict[str, Any]:
    """n per arm over the ``[sensitivity]`` grid of placebo x IVIG rates (the formula, as the
    report's heat map; ``None`` where IVIG is not better).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> h = heat_map(load_scenario("scenarios/paper.toml"))
    >>> len(h["control_lbr"]), len(h["treatment_lbr"]), len(h["cells"])
    (8, 6, 48)
    """
    g = sensitivity_grid(sc, simulate=False)
    grid = g[g["label"] == ""]
    design = trial_design(sc)
    return {
        "control_lbr": sorted(set(grid["control_lbr"])),
        "treatment_lbr": sorted(set(grid["treatment_lbr"])),
        "cells": [
            {
                "control_lbr": r.control_lbr,
                "treatment_lbr": r.treatment_lbr,
                "n_per_arm": _finite(r.n_per_arm),
            }
            for r in grid.itertuples()
        ],
        "current": [design.p_control, design.p_treatment],
    }


def assurance_rows(sc: Scenario, n: int) -> dict[str, Any]:
    """Assurance at ``n`` under each prior of ``[prior]``, exact where the design allows.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> a = assurance_rows(load_scenario("scenarios/assurance.toml"), 83)
    >>> [r["prior"] for r in a["rows"]], round(a["rows"][0]["assurance"], 3)
    (['evidence-based', 'sceptical', 'enthusiastic'], 0.385)
    """
    if sc.prior is None:
        return {"available": False, "note": "the scenario has no [prior]", "rows": []}
    trial = sc.require_trial()
    if trial.looks > 1 or n > EXACT_ASSURANCE_N or not_covered(sc) is not None:
        return {
            "available": False,
            "note": "assurance is simulated for this design (looks, patient path or n > "
            f"{EXACT_ASSURANCE_N}): press Simulate",
            "rows": [],
        }
    rows = []
    for name, prior in scenario_priors(sc).items():
        a = assurance(sc, n, prior=prior, method="exact")
        rows.append(
            {
                "prior": name,
                "assurance": a.assurance,
                "ceiling": a.prior_probability_benefit,
                "power_at_prior_mean": a.power_at_prior_mean,
                "method": a.method,
            }
        )
    return {"available": True, "note": "", "rows": rows}


def compare_rows(
    designs: list[tuple[str, Scenario]], control_lbr: list[float], replicates: int
) -> list[dict[str, Any]]:
    """:func:`rplsim.compare_designs` of the named designs (exact cells where covered, else
    ``replicates`` simulated trials a cell).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> sc = load_scenario("scenarios/paper.toml")
    >>> rows = compare_rows([("a", sc), ("b", sc)], [0.6], 1024)
    >>> [(r["design"], r["n_per_arm"], r["method"]) for r in rows]
    [('a', 83, 'exact'), ('b', 83, 'exact')]
    """
    named = [sc.replace(scenario=replace(sc.scenario, name=name)) for name, sc in designs]
    tab = compare_designs(named, control_lbr, replicates=replicates)
    cols = ["design", "true_control_lbr", "n_per_arm", "power", "type1_error", "expected_n_h1", "method"]
    rows = tab[cols].to_dict("records")
    return [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
        for r in rows
    ]


def scenario_toml(sc: Scenario, source: str, items: tuple[str, ...], replicates: int | None = None) -> str:
    """The scenario as a TOML file that runs from anywhere (every value resolved), with a header
    naming the file and the page's changes; ``rplsim run`` on it gives the page's exact n, and
    with ``replicates`` (the page's Simulate count, written as ``trial.replicates``) its
    simulated numbers.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> text = scenario_toml(load_scenario("scenarios/paper.toml"), "paper.toml", (), 2048)
    >>> text.splitlines()[0], 'name = "paper_web"' in text, "replicates = 2048" in text
    ('# Written by rplsim serve from paper.toml with: nothing changed; Simulate at 2048.', True, True)
    """
    data = sc.to_dict()
    data["scenario"]["name"] = f"{sc.name}_web"  # its own results folder, beside the original's
    changed = "; ".join(items) if items else "nothing changed"
    if replicates is not None:
        data["trial"]["replicates"] = replicates
        changed += f"; Simulate at {replicates}"
    what = (
        "the page's n and power, and Simulate's numbers"
        if live_exact_note(sc) is None
        else "Simulate's numbers (the page's live n is the formula's)"
    )
    head = (
        f"# Written by rplsim serve from {source} with: {changed}.\n"
        f"# Every value resolved; `rplsim run` on this file reproduces {what}.\n"
    )
    return head + dumps_toml(data)


def check_rates(text: str) -> list[float]:
    """``"0.45,0.55"`` -> the placebo rates of a comparison (one line on a bad list).

    Examples
    --------
    >>> check_rates("0.45, 0.55")
    [0.45, 0.55]
    """
    try:
        rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        rates = []
    if not rates or not all(0 < r < 1 for r in rates):
        raise ScenarioError(f"control_lbr == {text!r}: must be placebo rates in (0, 1), e.g. 0.45,0.55,0.65.")
    return rates
