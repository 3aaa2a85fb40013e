"""Synthetic RPL cohorts calibrated to Table 1, Figures 2 and 6 of Han et al. 2025.

The generator works in fixed blocks of :data:`BLOCK` women, each drawn from its own keyed
stream (``("cohort", block)`` under the root seed) with a fixed number of draws, so the first
``k`` women of a cohort of ``n`` are the same women as a cohort of ``k`` with the same seed,
whatever ``n``. Within a block everything is vectorised numpy; there is no per-woman loop.

Order of the draws for one woman: stratum → age, BMI, height → previous miscarriages, parity →
immune profile (depends on etiology and, in the known group, on 2–3 vs ≥ 4 losses: Figure 6A)
→ continuous markers conditioned on the profile's flags (so flags are exactly the cut-offs
applied to the values) → known cause → conception mode.

Every number is rounded to its column's precision (:mod:`rplsim.cohort.codebook`) as it is
drawn, and the markers are drawn on the side of the cut-off *after rounding*, so a flag is
always the cut-off applied to the value as written. Percentages (NK level, the three
cytotoxicities) are logit-normal, bounded to (0, 100) by their law.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import special

from rplsim._core.rng import SeedLike, child_generator, root_entropy
from rplsim._core.validation import check_integer
from rplsim.cohort.codebook import COHORT_SCHEMA
from rplsim.cohort.distributions import count_at_most as _count_at_most
from rplsim.cohort.distributions import sample_discrete, sample_truncnorm
from rplsim.cohort.model import PROFILE_FLAGS, PROFILE_NAMES, CohortModel, cohort_model
from rplsim.exceptions import CalibrationError, ScenarioError
from rplsim.scenario import KNOWN_CAUSES, STRATA, CohortParams, Scenario
from rplsim.scenario.cohort_params import Immune

# PROFILE_NAMES, CohortModel and cohort_model are defined in cohort/model.py since it was split
# from here; they stay exported from here too (trial/ imports PROFILE_NAMES from here).
__all__ = [
    "BLOCK",
    "COLUMNS",
    "MAX_THREADS",
    "PROFILE_NAMES",
    "RUN",
    "CohortModel",
    "cohort_arrays",
    "cohort_frame",
    "cohort_model",
    "cytotoxicity_high",
    "generate_cohort",
    "set_default_threads",
    "weight_kg",
]

BLOCK = 8192
#: Blocks drawn together, by one numpy call a quantity: each keeps its own stream, so a run
#: gives the same women as its blocks one by one (32,768 women a run; 4 was the fastest of
#: 1, 4, 8 and 16 at 10^6 women on 2 cores).
RUN = 4
#: The most threads a cohort is drawn with by default (a run's arrays are ~10 MB a thread).
MAX_THREADS = 4
COLUMNS: tuple[str, ...] = tuple(c.column for c in COHORT_SCHEMA)
_DECIMALS: dict[str, int] = {c.column: c.decimals for c in COHORT_SCHEMA if c.decimals is not None}
_MAX_REJECTION_ROUNDS = 500
_ZERO_OFFSETS = np.zeros(3, dtype=np.int64)


def _side_threshold(cutoff: float, decimals: int) -> tuple[float, float]:
    """(t, g): a value rounds to more than ``cutoff`` iff it is >= t; g is the smallest such
    rounded value (so g - 10**-decimals is the largest rounded value at or below the cut-off)."""
    q = 10.0**-decimals
    g = float(np.round((np.floor(cutoff / q + 1e-9) + 1) * q, decimals))
    return g - q / 2, g


def _marker_given_flag(
    u: np.ndarray, law: str, median: float, gsd: float, cutoff: float, decimals: int, high: np.ndarray
) -> np.ndarray:
    """One marker drawn on the side of ``cutoff`` that ``high`` gives, rounded to ``decimals``.

    ``law`` "logit": a percentage, 100·expit(N(logit(median/100), log gsd)), bounded to (0, 100)
    by its law; "log": log-normal. The draw is truncated at the value that *rounds* across the
    cut-off, so the rounded value is on the flag's side ("abnormal when > cut-off").
    """
    t, g = _side_threshold(cutoff, decimals)
    to_z, from_z = (
        ((lambda x: special.logit(x / 100)), (lambda z: 100 * _expit(z)))
        if law == "logit"
        else (np.log, np.exp)
    )
    mu, s = float(to_z(median)), float(np.log(gsd))
    c = (float(to_z(t)) - mu) / s
    # One call per side of the cut-off with scalar bounds: the same bits as per-woman bounds,
    # without the normal CDF of a bound for every woman.
    z = np.empty(u.size)
    for idx, a, b in ((np.flatnonzero(high), c, np.inf), (np.flatnonzero(~high), -np.inf, c)):
        if idx.size:
            z[idx] = sample_truncnorm(u[idx], np.float64(mu), np.float64(s), np.float64(a), np.float64(b))
    x: np.ndarray = np.round(from_z(z), decimals)
    # A draw at exactly t may round either way: put it on its side (measure zero, round-off;
    # only the cells where that happened are touched).
    wrong = (x > cutoff) != high
    if wrong.any():
        x[wrong] = np.where(high[wrong], g, np.round(g - 10.0**-decimals, decimals))
    return x


def _combine(a50: np.ndarray, a25: np.ndarray, a12: np.ndarray, rule: str) -> np.ndarray:
    """The rule applied to the three above-the-cut-off columns (column by column: a reduction
    along a short axis of an (n, 3) array is several times slower)."""
    flag: np.ndarray
    if rule == "any":
        flag = a50 | a25 | a12
    elif rule == "all":
        flag = a50 & a25 & a12
    elif rule == "majority":
        flag = (a50 & a25) | (a50 & a12) | (a25 & a12)
    else:
        flag = a50  # "50:1"
    return flag


def cytotoxicity_high(c50: np.ndarray, c25: np.ndarray, c12: np.ndarray, params: CohortParams) -> np.ndarray:
    """The high-cytotoxicity flag from the three E:T values by the scenario's rule."""
    imm = params.immune
    return _combine(
        c50 > imm.cytotoxicity_50_cutoff,
        c25 > imm.cytotoxicity_25_cutoff,
        c12 > imm.cytotoxicity_12_5_cutoff,
        imm.cytotoxicity_rule,
    )


@dataclass(frozen=True)
class _CytoLaw:
    """The cytotoxicity law's constants, worked out once per immune section (they were a tenth
    of a block's cost when worked out for every block)."""

    mu: np.ndarray
    s: np.ndarray
    chol_t: np.ndarray
    cut: np.ndarray
    z_t: np.ndarray
    g_hi: np.ndarray
    g_lo: np.ndarray
    decimals: int
    rule: str


@lru_cache(maxsize=64)
def _cyto_law(imm: Immune) -> _CytoLaw:
    ln = [imm.cytotoxicity_50, imm.cytotoxicity_25, imm.cytotoxicity_12_5]
    mu = special.logit(np.array([x.median for x in ln]) / 100)
    s = np.log([x.gsd for x in ln])
    decimals = _DECIMALS["nk_cytotoxicity_50"]
    rho = imm.cytotoxicity_correlation
    chol = np.linalg.cholesky(np.full((3, 3), rho) + (1 - rho) * np.eye(3))
    cut = np.array([imm.cytotoxicity_50_cutoff, imm.cytotoxicity_25_cutoff, imm.cytotoxicity_12_5_cutoff])
    sides = [_side_threshold(float(c), decimals) for c in cut]
    # A value rounds above its cut-off iff its logit-scale z is >= z_t: the rule is decided on
    # z, and the logistic and the rounding are taken once, for the accepted draws only.
    z_t = (special.logit(np.array([t for t, _ in sides]) / 100) - mu) / s
    g_hi = np.array([gg for _, gg in sides])
    g_lo = np.round(g_hi - 10.0**-decimals, decimals)
    chol_t = np.ascontiguousarray(chol.T)
    return _CytoLaw(mu, s, chol_t, cut, z_t, g_hi, g_lo, decimals, imm.cytotoxicity_rule)


def _rule(z: np.ndarray, law: _CytoLaw) -> np.ndarray:
    """The rule's value on logit-scale proposals ``z`` (n, 3)."""
    zt = law.z_t
    return _combine(z[:, 0] >= zt[0], z[:, 1] >= zt[1], z[:, 2] >= zt[2], law.rule)


def _proposals(g: np.random.Generator, law: _CytoLaw, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The next ``m`` correlated proposals of the stream and the rule's value on each."""
    z = g.standard_normal((m, 3)) @ law.chol_t
    return z, _rule(z, law)


def _cytotoxicity_given_flag(
    gens: list[np.random.Generator], params: CohortParams, high: np.ndarray
) -> np.ndarray:
    """The three cytotoxicities of ``len(gens)`` blocks of women, block ``j`` from ``gens[j]``."""
    law = _cyto_law(params.immune)
    # Rejection on the correlated logit-normal, the rule applied to the rounded values: exact
    # conditioning on the rule as the table shows it, whatever the rule is. Each block's
    # proposals are one queue from its stream: woman i takes proposal i first; the women
    # still rejected after a round take the next proposals, one each in their order.
    # One product a block: on a run's rows at once the BLAS library starts threads of its own
    # for this (n, 3) x (3, 3) product, which doubled the CPU time and saved no wall time.
    raw = _draw(gens, 3, "standard_normal")
    z = np.empty_like(raw)
    for j in range(len(gens)):
        sl = slice(j * BLOCK, (j + 1) * BLOCK)
        np.matmul(raw[sl], law.chol_t, out=z[sl])
    rule = _rule(z, law)
    for j, g in enumerate(gens):
        sl = slice(j * BLOCK, (j + 1) * BLOCK)
        _reject(g, law, z[sl], rule[sl], high[sl])
    c: np.ndarray = np.round(100 * _expit(law.mu + law.s * z), law.decimals)
    # A draw at the threshold itself may round either way: keep it on the side its z was
    # judged on (measure zero, round-off; only the cells where that happened are touched).
    above = z >= law.z_t
    wrong = (c > law.cut) != above
    if wrong.any():
        c[wrong] = np.where(above, law.g_hi, law.g_lo)[wrong]
    return c


def _reject(g: np.random.Generator, law: _CytoLaw, z: np.ndarray, rule: np.ndarray, high: np.ndarray) -> None:
    """Replace, in place, the first-round proposals ``z`` whose ``rule`` is not ``high``.

    The queue after the first round is drawn in a few large chunks rather than one call a
    round (one stream, so the same numbers), and a round is then only index arithmetic: it
    was most of a block's cost as fifteen rounds of small draws.
    """
    todo = np.flatnonzero(rule != high)
    if not todo.size:
        return
    # The accept rate of each side in the first round sizes the queue's chunks.
    n, n_high = high.size, int(high.sum())
    want = high[todo]
    n_hi = int(want.sum())
    acc_hi = max(1.0 - n_hi / max(n_high, 1), 0.01)
    acc_lo = max(1.0 - (todo.size - n_hi) / max(n - n_high, 1), 0.01)
    buf_z, buf_rule = z[:0], rule[:0]
    pos, rounds = 0, 1
    # The queue position each accepted woman took, and who she is, round by round.
    takes: list[np.ndarray] = []
    takers: list[np.ndarray] = []
    while todo.size:
        if rounds == _MAX_REJECTION_ROUNDS:
            raise CalibrationError(
                "cohort.immune: the cytotoxicity marker distributions almost never meet the "
                f"'{law.rule}' rule on one side of the cut-offs; move their medians nearer "
                "the cut-offs."
            )
        if pos + todo.size > buf_rule.size:
            n_hi = int(want.sum())
            # At most 4 blocks' worth a chunk: a near-zero accept rate would otherwise ask for
            # ~100x the rejected women at once (and a product big enough for BLAS threads).
            more = min(int(1.1 * (n_hi / acc_hi + (todo.size - n_hi) / acc_lo)) + 32, 4 * n)
            if takes:
                z[np.concatenate(takers)] = buf_z[np.concatenate(takes)]
                takes, takers = [], []
            cz, cr = _proposals(g, law, max(more, pos + todo.size - buf_rule.size))
            buf_z = np.concatenate([buf_z[pos:], cz])
            buf_rule = np.concatenate([buf_rule[pos:], cr])
            pos = 0
        ok = buf_rule[pos : pos + todo.size] == want
        hit = np.flatnonzero(ok)
        takes.append(pos + hit)
        takers.append(todo[hit])
        todo, want = todo[~ok], want[~ok]
        pos += ok.size
        rounds += 1
    z[np.concatenate(takers)] = buf_z[np.concatenate(takes)]


def _expit(x: np.ndarray) -> np.ndarray:
    """The logistic 1 / (1 + exp(-x)): scipy's ``expit`` formula, in numpy ufuncs, which are
    about 3 times faster on these arrays (the last bit may differ; the values are rounded to
    0.1 right after)."""
    with np.errstate(over="ignore"):  # exp(-x) = inf for x < -709: the logistic is then 0
        out: np.ndarray = np.exp(-x)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


def _truncnorm_by_stratum(u: np.ndarray, table: np.ndarray, groups: list[np.ndarray]) -> np.ndarray:
    """``sample_truncnorm`` with each woman's stratum row of ``table`` (mu, sigma, a, b).

    One call per stratum with scalar parameters: the same arithmetic element by element as
    one call with per-woman parameters (so the same bits), but the normal CDF of the bounds
    is taken 4 times instead of twice a woman, which was a third of a block's cost.
    """
    out = np.empty(u.size)
    for s, idx in enumerate(groups):
        if idx.size:
            mu, sigma, a, b = (np.float64(x) for x in table[s])
            out[idx] = sample_truncnorm(u[idx], mu, sigma, a, b)
    return out


def _draw(gens: list[np.random.Generator], k: int, how: str) -> np.ndarray:
    """(BLOCK, k) draws of each stream, stacked: ``g.random`` or ``g.standard_normal``, written
    in place (the same numbers as a (BLOCK, k) draw of each)."""
    out = np.empty((len(gens) * BLOCK, k))
    for j, g in enumerate(gens):
        getattr(g, how)(out=out[j * BLOCK : (j + 1) * BLOCK])
    return out


def _block(
    params: CohortParams,
    model: CohortModel,
    gens: list[np.random.Generator],
    strata_cdf: np.ndarray,
    *,
    full: bool = True,
) -> dict[str, np.ndarray]:
    """``len(gens)`` blocks of women, block ``j`` drawn from ``gens[j]`` exactly as it would be
    alone: each block's draws are made from its own stream in the same order, and what comes
    after them is element by element, so it is done on all the blocks at once (fewer, larger
    numpy calls: a block's Python overhead and the thread switches between calls were a third
    of its time)."""
    # full=False is the trial's fast path: only stratum, age, BMI, losses, immune profile and
    # height (the IVIG dose), without the marker draws (the cytotoxicity rejection sampling
    # is most of a block's cost). All six come from `u`, drawn first, so they are
    # bit-identical either way.
    # Drawn as (BLOCK, 9) a block, one row a woman, as always; used one contiguous column at a
    # time.
    u = np.ascontiguousarray(_draw(gens, 9, "random").T)
    stratum = np.minimum(_count_at_most(strata_cdf, u[0]), 3)
    # Each stratum's women, found once for the six draws made stratum by stratum.
    groups = [np.flatnonzero(stratum == s) for s in range(len(STRATA))]
    age = np.round(_truncnorm_by_stratum(u[1], model.age, groups), _DECIMALS["age"])
    bmi = _truncnorm_by_stratum(u[2], model.bmi, groups)
    if params.bmi_family == "lognormal":
        bmi = np.exp(bmi)
    bmi = np.round(bmi, _DECIMALS["bmi"])
    misc = sample_discrete(u[4], model.misc_cdf, model.misc_lo, stratum, groups)
    abnormal = (stratum == 1) | (stratum == 3)
    prow = np.where(stratum == 3, 2, np.where(misc >= 4, 1, 0))
    prof = np.minimum(sample_discrete(u[6], model.profile_cdf, _ZERO_OFFSETS, prow), 6)
    prof = np.where(abnormal, prof, 7)
    h = model.height
    height = np.round(sample_truncnorm(u[3], h[0], h[1], h[2], h[3]), _DECIMALS["height_m"])
    out = {
        "stratum": stratum, "age": age, "bmi": bmi, "previous_miscarriages": misc, "profile": prof,
        "height_m": height,
    }  # fmt: skip
    if not full:
        return out
    out["parity"] = sample_discrete(u[5], model.parity_cdf, model.parity_lo, stratum, groups)
    known = stratum <= 1
    cause = np.minimum(_count_at_most(model.cause_cdf, u[7]), 5)
    out["cause"] = np.where(known, cause, len(KNOWN_CAUSES))
    out["ivf"] = u[8] < params.ivf_share
    # The profile's three flags, a contiguous array each (a gathered (n, 3) table was read by
    # strided columns).
    nk_flag, cyto_flag, th_flag = (np.take(PROFILE_FLAGS[:, k], prof) for k in range(3))
    imm = params.immune
    um = np.ascontiguousarray(_draw(gens, 2, "random").T)
    nk = _marker_given_flag(
        um[0],
        "logit",
        imm.nk_percent.median,
        imm.nk_percent.gsd,
        imm.nk_cutoff,
        _DECIMALS["nk_percent"],
        nk_flag,
    )
    th = _marker_given_flag(
        um[1],
        "log",
        imm.th1_th2.median,
        imm.th1_th2.gsd,
        imm.th1_th2_cutoff,
        _DECIMALS["th1_th2_ratio"],
        th_flag,
    )
    cyto = _cytotoxicity_given_flag(gens, params, cyto_flag)
    out.update(nk_percent=nk, c50=cyto[:, 0], c25=cyto[:, 1], c12=cyto[:, 2], th1_th2_ratio=th)
    return out


def _categorical(codes: np.ndarray, categories: tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(categories))


def generate_cohort(
    scenario: Scenario | CohortParams,
    n: int | None = None,
    seed: SeedLike = None,
    *,
    strata: tuple[str, ...] | None = None,
    threads: int | None = None,
) -> pd.DataFrame:
    """Generate a synthetic RPL cohort, one row a woman.

    Parameters
    ----------
    scenario : Scenario or CohortParams
        The scenario (its ``[cohort]`` section is used) or the cohort section itself.
    n : int, optional
        Number of women; ``None`` means the scenario's ``cohort.n`` (466 for the paper).
    seed : int, Generator, SeedSequence or None
        Root seed; ``None`` means the scenario's seed (a ``CohortParams`` has none: fresh
        entropy). The first ``k`` rows do not depend on ``n``.
    strata : tuple of str, optional
        Draw only women of these strata (e.g. ``("KA", "IA")`` for a trial in abnormal
        immunity): exactly the cohort's distribution conditioned on the stratum, since every
        other draw is made given the stratum. ``None``: all strata in the scenario's shares.
    threads : int, optional
        Threads for a cohort of more than 2 · :data:`RUN` · :data:`BLOCK` (65,536) women; the
        women do not depend on it. ``None``: the cores this process may use, at most
        :data:`MAX_THREADS`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, described one by one in the codebook (``docs/cohort.md``,
        :func:`rplsim.cohort.codebook.cohort_codebook`). ``etiology`` is "known" |
        "idiopathic", ``immunity`` "normal" | "abnormal", ``stratum`` "KN" | "KA" | "IN" | "IA"
        (categoricals), ages in years (0.1), BMI in kg/m² (0.1), height in m (0.001), weight in
        kg (0.1), percentages in (0, 100) to 0.1, the Th1/Th2 ratio to 0.01, flags boolean (the
        cut-offs applied to the rounded values), ``immune_profile`` one of the seven
        combinations or "none", ``known_cause`` a cause or "none", ``conception`` "natural" |
        "ivf".

    Raises
    ------
    ScenarioError
        If ``n`` is not a positive integer.
    CalibrationError
        If the scenario's targets cannot be met by the model.

    Examples
    --------
    >>> from rplsim import load_scenario, generate_cohort
    >>> df = generate_cohort(load_scenario("scenarios/paper.toml"), n=1000, seed=1)
    >>> len(df), df.stratum.value_counts(normalize=True).round(2).sort_index().to_dict()
    (1000, {'KN': 0.24, 'KA': 0.21, 'IN': 0.34, 'IA': 0.21})
    """
    params = scenario.cohort if isinstance(scenario, Scenario) else scenario
    if not isinstance(params, CohortParams):
        raise TypeError(f"scenario is a {type(scenario).__name__}, must be a Scenario or CohortParams.")
    if n is None:
        n = params.n
    n = check_integer("n", n)
    if seed is None and isinstance(scenario, Scenario):
        seed = scenario.seed
    return cohort_frame(cohort_arrays(params, n, root_entropy(seed), strata, threads=threads), params)


def cohort_arrays(
    params: CohortParams,
    n: int,
    entropy: int,
    strata: tuple[str, ...] | None = None,
    *,
    full: bool = True,
    threads: int | None = None,
) -> dict[str, np.ndarray]:
    """The raw per-woman arrays behind :func:`generate_cohort`, before the data frame.

    Parameters
    ----------
    params : CohortParams
        The ``[cohort]`` section.
    n : int
        Number of women (a positive int; not checked again here).
    entropy : int
        Root entropy (:func:`rplsim._core.rng.root_entropy` of the seed); block ``b`` is
        drawn from stream ``("cohort", b)`` under it.
    strata : tuple of str, optional
        Draw only women of these strata (as in :func:`generate_cohort`).
    full : bool
        ``False`` is the trial's fast path: only ``stratum, age, bmi, previous_miscarriages,
        profile, height_m``, bit-identical to the full run's for the same entropy.
    threads : int, optional
        Threads drawing runs of :data:`RUN` blocks at once (the numbers do not depend on it);
        ``None``: the cores this process may use, at most :data:`MAX_THREADS`. The first run is drawn in
        the calling thread before the others start, so a cohort of at most two runs
        (``n <= 2 * RUN * BLOCK``, 65,536 women) is drawn in one thread.

    Returns
    -------
    dict of str to numpy.ndarray
        One array of length ``n`` per drawn quantity (codes for stratum, profile and cause);
        :func:`cohort_frame` turns a full set into the cohort's data frame.

    Raises
    ------
    ScenarioError
        If ``strata`` names an unknown stratum or strata of share 0.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> sc = load_scenario("scenarios/paper.toml")  # doctest: +SKIP
    >>> sorted(cohort_arrays(sc.cohort, 10, 1, full=False))  # doctest: +SKIP
    ['age', 'bmi', 'height_m', 'previous_miscarriages', 'profile', 'stratum']
    """
    model = cohort_model(params)
    strata_cdf = model.strata_cdf
    if strata is not None:
        bad = [s for s in strata if s not in STRATA]
        if bad or not strata:
            raise ScenarioError(f"strata == {strata!r}, must be a non-empty subset of {STRATA}.")
        shares = np.diff(np.concatenate([[0.0], model.strata_cdf]))
        shares = np.where([s in strata for s in STRATA], shares, 0.0)
        if shares.sum() <= 0:
            raise ScenarioError(f"strata == {strata!r}: these strata have share 0 in the scenario.")
        strata_cdf = np.cumsum(shares / shares.sum())
        strata_cdf[-1] = 1.0
    n_blocks = -(-n // BLOCK)
    runs = [range(b, min(b + RUN, n_blocks)) for b in range(0, n_blocks, RUN)]
    out: dict[str, np.ndarray] = {}
    if not runs:
        return out

    def draw(run: range) -> None:
        part = _block(
            params, model, [child_generator(entropy, "cohort", b) for b in run], strata_cdf, full=full
        )
        if not out:
            out.update({k: np.empty(n, dtype=v.dtype) for k, v in part.items()})
        # Each run is written straight into the cohort's arrays (a list of blocks joined at
        # the end read every value twice and was an eighth of the time).
        lo = run.start * BLOCK
        m = min(len(run) * BLOCK, n - lo)
        for k, v in part.items():
            out[k][lo : lo + m] = v[:m]

    workers = min(_threads(threads), len(runs) - 1)
    draw(runs[0])
    if workers <= 1:
        for run in runs[1:]:
            draw(run)
    else:
        # The runs write disjoint slices and each run's numbers come from its blocks' own
        # streams, so the cohort is the same whatever the thread count. numpy and scipy release
        # the GIL inside each call, which on these array sizes is most of a run's time.
        with ThreadPoolExecutor(workers, thread_name_prefix="rplsim-cohort") as pool:
            try:
                for f in [pool.submit(draw, run) for run in runs[1:]]:
                    f.result()
            except BaseException:
                # An error (an unreachable cytotoxicity rule) or Ctrl-C: the runs not started
                # are dropped rather than drawn for nothing before the error is raised.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return out


_default_threads: int | None = None


def set_default_threads(threads: int | None) -> None:
    """The thread count of cohorts drawn with ``threads=None`` in this process: ``None`` is the
    cores this process may use (at most :data:`MAX_THREADS`). A process pool's workers set 1,
    as the pool already has a process a core.

    Examples
    --------
    >>> set_default_threads(1); set_default_threads(None)
    """
    global _default_threads
    _default_threads = None if threads is None else check_integer("threads", threads)


def _threads(threads: int | None) -> int:
    if threads is None:
        threads = _default_threads
    if threads is None:
        return min(_cores(), MAX_THREADS)
    return check_integer("threads", threads)


def _cores() -> int:
    """The cores this process may run on (its affinity where the OS tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def weight_kg(bmi: np.ndarray, height_m: np.ndarray) -> np.ndarray:
    """Weight from BMI and height, to the cohort's 0.1 kg (the one rule the cohort frame and the
    calendar trial's IVIG doses use).

    Examples
    --------
    >>> weight_kg(np.array([22.0]), np.array([1.6])).tolist()
    [56.3]
    """
    out: np.ndarray = np.round(bmi * height_m**2, _DECIMALS["weight_kg"])
    return out


def cohort_frame(d: dict[str, np.ndarray], params: CohortParams) -> pd.DataFrame:
    """The cohort data frame (columns :data:`COLUMNS`) from a full set of :func:`cohort_arrays`.

    Parameters
    ----------
    d : dict of str to numpy.ndarray
        The output of ``cohort_arrays(..., full=True)``, possibly row-selected.
    params : CohortParams
        The section the arrays were drawn from (its cut-offs give the flags).

    Returns
    -------
    pandas.DataFrame
        As :func:`generate_cohort` returns it; ``patient_id`` counts from 0.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> sc = load_scenario("scenarios/paper.toml")  # doctest: +SKIP
    >>> cohort_frame(cohort_arrays(sc.cohort, 5, 1), sc.cohort).shape  # doctest: +SKIP
    (5, 21)
    """
    stratum = d["stratum"]
    cyto_high = cytotoxicity_high(d["c50"], d["c25"], d["c12"], params)
    imm = params.immune
    nk_high = d["nk_percent"] > imm.nk_cutoff
    th_high = d["th1_th2_ratio"] > imm.th1_th2_cutoff
    # Flags are recomputed from the values: they equal the profile's by construction, and
    # computing them from the values is what makes that checkable.
    for k, flag in enumerate((nk_high, cyto_high, th_high)):
        assert np.array_equal(np.take(PROFILE_FLAGS[:, k], d["profile"]), flag)
    weight = weight_kg(d["bmi"], d["height_m"])
    # copy=False: the arrays are fresh and ours, so pandas need not copy them into one 2-D
    # block (a second pass over every float column, ~5% of a 10^6-woman cohort).
    return pd.DataFrame(
        copy=False,
        data={
            "patient_id": np.arange(stratum.size, dtype=np.int64),
            "etiology": _categorical(stratum >= 2, ("known", "idiopathic")),
            "immunity": _categorical((stratum == 1) | (stratum == 3), ("normal", "abnormal")),
            "stratum": _categorical(stratum, STRATA),
            "age": d["age"],
            "bmi": d["bmi"],
            "height_m": d["height_m"],
            "weight_kg": weight,
            "previous_miscarriages": d["previous_miscarriages"].astype(np.int64),
            "parity": d["parity"].astype(np.int64),
            "nk_percent": d["nk_percent"],
            "nk_cytotoxicity_50": d["c50"],
            "nk_cytotoxicity_25": d["c25"],
            "nk_cytotoxicity_12_5": d["c12"],
            "th1_th2_ratio": d["th1_th2_ratio"],
            "nk_high": nk_high,
            "nk_cytotoxicity_high": cyto_high,
            "th1_th2_high": th_high,
            "immune_profile": _categorical(d["profile"], PROFILE_NAMES),
            "known_cause": _categorical(d["cause"], (*KNOWN_CAUSES, "none")),
            "conception": _categorical(d["ivf"], ("natural", "ivf")),
        },
    )


# The private names trial/ used before they were published; kept for one release.
_cohort_arrays = cohort_arrays
_frame = cohort_frame
