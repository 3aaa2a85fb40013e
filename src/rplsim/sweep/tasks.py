"""The tasks of a sweep: one :func:`prepare_point` per point, then :func:`run_batch` per batch of blocks.

Tasks take and return plain, picklable values (a scenario as a dict, integer counts), so they run
unchanged in a local process pool or on a Dask worker.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from rplsim.exceptions import RplsimError
from rplsim.outputs.escape import neutralise_cell
from rplsim.outputs.folder import round_float
from rplsim.scenario import Scenario
from rplsim.scenario.load import scenario_from_dict
from rplsim.sweep.grid import SweepPlan, SweepPoint, _canonical
from rplsim.trial.assurance import assurance
from rplsim.trial.power import (
    analytic_n_per_arm,
    analytic_power,
    default_path,
    run_blocks,
    treatment_size,
    wilson_interval,
)
from rplsim.trial.simulation import REPLICATE_BLOCK, TrialDesign, look_sizes, trial_design

__all__ = ["point_row", "prepare_point", "run_batch"]

_SCENARIOS: dict[str, Scenario] = {}


def _scenario(scenario_dict: dict[str, Any]) -> Scenario:
    """Validate a task's scenario once per process (a batch of one block is ~10 ms of work)."""
    key = json.dumps(scenario_dict, sort_keys=True)
    if key not in _SCENARIOS:
        if len(_SCENARIOS) > 256:
            _SCENARIOS.clear()
        _SCENARIOS[key] = scenario_from_dict(scenario_dict, "<sweep task>")
    return _SCENARIOS[key]


def prepare_point(
    scenario_dict: dict[str, Any], n_per_arm: int | None = None, entropy: int | None = None
) -> dict[str, Any]:
    """Resolve a point's trial: arm rates, n per arm, analytic power (the slow, per-point part).

    Returns
    -------
    dict
        ``design`` (:class:`~rplsim.trial.TrialDesign`), ``n_per_arm``, ``n_treatment``,
        ``analytic_power``, ``path``, ``seconds``, and with a ``[prior]`` ``assurance`` (the
        point's assurance columns, on the streams of ``entropy``); or ``{"error": message}`` when the point's
        rates cannot be met (reported like a bad key, before any simulation).
    """
    t0 = time.perf_counter()
    sc = _scenario(scenario_dict)
    trial = sc.require_trial()
    try:
        design = trial_design(sc)
        n_c = int(n_per_arm or trial.n_per_arm or analytic_n_per_arm(sc, design))
    except (RplsimError, ValueError) as exc:
        return {"error": str(exc).replace("\n", "; ")}
    n_t = treatment_size(trial, n_c)
    out = {
        "design": design,
        "n_per_arm": n_c,
        "n_treatment": n_t,
        "analytic_power": analytic_power(trial, design, n_c * (1 - trial.dropout), n_t / n_c),
        "path": default_path(trial),
    }
    if sc.prior is not None:
        # On the point's own streams (as its power); a failure is the point's assurance cell,
        # not the loss of its power.
        try:
            a = assurance(sc, n_c, seed=entropy)
        except (RplsimError, ValueError) as exc:
            out["assurance"] = {"assurance_method": "failed: " + str(exc).replace("\n", "; ")}
            return out | {"seconds": time.perf_counter() - t0}
        out["assurance"] = {
            "assurance": a.assurance,
            "assurance_ci_low": a.ci_low,
            "assurance_ci_high": a.ci_high,
            "assurance_method": a.method,
            "ceiling": a.prior_probability_benefit,
        }
    return out | {"seconds": time.perf_counter() - t0}


def run_batch(
    scenario_dict: dict[str, Any],
    point_key: str,
    n_per_arm: int,
    block_indices: Sequence[int],
    entropy: int,
    *,
    replicates: int | None = None,
    n_treatment: int | None = None,
    design: TrialDesign | None = None,
    path: str | None = None,
) -> dict[str, Any]:
    """Simulate some replicate blocks of one point and count, under H1 and H0.

    Parameters
    ----------
    scenario_dict : dict
        The point's scenario (:meth:`SweepPoint.scenario_dict`).
    point_key : str
        The point's key (returned, to match results to points).
    n_per_arm : int
        Control-arm size (randomised women).
    block_indices : sequence of int
        Which blocks of :data:`~rplsim.trial.REPLICATE_BLOCK` replicates.
    entropy : int
        The point's root entropy (:func:`point_entropy`).
    replicates : int, optional
        The point's total replicates: rows of the last block beyond it are not counted.
    n_treatment, design, path : optional
        From :func:`prepare_point`, so workers need not solve the rates again.

    Returns
    -------
    dict
        Integer counts: ``replicates``, ``power_rejections`` (H1, in the alternative's
        direction), ``type1_rejections`` (H0, any direction), ``stop_h1`` / ``stop_h0``
        (trials stopping at each look), ``efficacy_h1`` (H1 rejections per look); and
        ``point``, ``blocks``, ``seconds``, ``worker``.
    """
    t0 = time.perf_counter()
    sc = _scenario(scenario_dict)
    trial = sc.require_trial()
    design = design or trial_design(sc)
    n_t = n_treatment if n_treatment is not None else treatment_size(trial, n_per_arm)
    path = path or default_path(trial)
    res = run_blocks(sc, design, n_per_arm, n_t, list(block_indices), entropy, path)
    # Global replicate index of each row, to drop the tail of the last block.
    idx = np.concatenate([b * REPLICATE_BLOCK + np.arange(REPLICATE_BLOCK) for b in block_indices])
    keep = idx < (replicates if replicates is not None else idx.max() + 1)
    looks = trial.looks
    stop, stop0 = res["stop"][keep], res["stop0"][keep]
    return {
        "point": point_key,
        "blocks": list(block_indices),
        "replicates": int(keep.sum()),
        "power_rejections": int(res["good"][keep].sum()),
        "type1_rejections": int(res["any0"][keep].sum()),
        "stop_h1": np.bincount(stop, minlength=looks).tolist(),
        "stop_h0": np.bincount(stop0, minlength=looks).tolist(),
        "efficacy_h1": np.bincount(stop[res["any"][keep]], minlength=looks).tolist(),
        # a re-estimation design's randomised totals (else each trial's stopping look's size)
        **(
            {
                "randomised_h1": int(res["n_total"][keep].sum()),
                "randomised_h0": int(res["n_total0"][keep].sum()),
            }
            if "n_total" in res
            else {}
        ),
        "seconds": time.perf_counter() - t0,
        "worker": f"{os.uname().nodename}:{os.getpid()}",
    }


def _randomised(parts: list[dict[str, Any]], key: str, default: int) -> int:
    """Women randomised over a point's trials: the batches' re-estimated totals, else ``default``."""
    return sum(int(p[key]) for p in parts) if all(key in p for p in parts) else default


def point_row(
    plan: SweepPlan, point: SweepPoint, prep: dict[str, Any], parts: list[dict[str, Any]]
) -> dict[str, Any]:
    """One points.csv row from a point's batch counts (integer sums: order-free, exact; text neutralised)."""
    trial = point.scenario.require_trial()
    reps = sum(p["replicates"] for p in parts)
    k1 = sum(p["power_rejections"] for p in parts)
    k0 = sum(p["type1_rejections"] for p in parts)
    n_c, n_t = prep["n_per_arm"], prep["n_treatment"]
    sizes = look_sizes(n_c + n_t, trial.looks)
    stop1, stop0, eff = (np.sum([p[k] for p in parts], axis=0) for k in ("stop_h1", "stop_h0", "efficacy_h1"))
    row: dict[str, Any] = {"point": point.key, "point_index": point.index, **point.values}
    lo1, hi1 = wilson_interval(k1, reps)
    lo0, hi0 = wilson_interval(k0, reps)
    row.update(
        n_per_arm=n_c,
        n_treatment=n_t,
        n_total=n_c + n_t,
        replicates=reps,
        p_control=prep["design"].p_control,
        p_treatment=prep["design"].p_treatment,
        power=k1 / reps,
        power_ci_low=lo1,
        power_ci_high=hi1,
        type1_error=k0 / reps,
        type1_ci_low=lo0,
        type1_ci_high=hi0,
        analytic_power=prep["analytic_power"],
        expected_n_h1=_randomised(parts, "randomised_h1", int(np.dot(sizes, stop1))) / reps,
        expected_n_h0=_randomised(parts, "randomised_h0", int(np.dot(sizes, stop0))) / reps,
        stop_probability=";".join(f"{x / reps:.4f}" for x in eff),
        tasks=len(parts) + 1,
        seconds=prep["seconds"] + sum(p["seconds"] for p in parts),
        digest=point.digest,
    )
    row.update(prep.get("assurance", {}))
    # Floats at 12 significant digits and text cells neutralised for spreadsheets, like every
    # results table (outputs.folder.write_csv). The point key and digest are left exactly as
    # they are: --resume matches rows on them (a key starts with a scenario key, never with a
    # formula character, so neutralising could not change it anyway).
    cells = {k: _canonical(v) if isinstance(v, (list, dict)) else round_float(v) for k, v in row.items()}
    return {k: v if k in ("point", "digest") else neutralise_cell(v) for k, v in cells.items()}
