"""A prospective randomised IVIG trial: who is eligible, the arms' rates, one batch of trials.

The trial randomises eligible women at pregnancy confirmation to IVIG (the protocol of
section 2.3) or placebo. The scenario states the *marginal* live-birth rate of eligible women
in each arm (``trial.control_lbr`` always an assumption: the paper has no untreated group); the
outcome model's covariate effects (Table 2) are kept and a log-odds shift per arm is solved so
that the eligible women's mean rate equals the arm's rate.

Two ways to simulate a batch of trials, equal in distribution for count-based analyses:

* **counts** (``chi2``, ``fisher``, ``cmh``): women are i.i.d. draws from the eligible
  population, so the live births of ``m`` women of an arm are Binomial(m, arm rate) — per
  stratum for CMH, with multinomial stratum counts. Exact, and fast.
* **patients** (``logistic``, and any analysis on request): eligible women are generated,
  randomised (permuted blocks or simple), dropped out and given Bernoulli outcomes from
  their own probability; the analysis sees their covariates.

Randomness comes in blocks of :data:`REPLICATE_BLOCK` replicates keyed by block index, so the
same seed gives the same trials whatever the batch size or number of workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import special

from rplsim._core.limits import MAX_COHORT_N
from rplsim._core.rng import child_generator, child_seed
from rplsim.cohort.generate import BLOCK, PROFILE_NAMES, cohort_arrays, cohort_frame
from rplsim.exceptions import ScenarioError
from rplsim.outcome.model import live_birth_probability, outcome_model, outcome_model_cached, shift_for_rate
from rplsim.scenario import STRATA, CohortParams, OutcomeParams, Scenario, TrialParams
from rplsim.trial.randomisation import (
    arm_assignment,
    look_sizes,
    multinomial_rows,
    nested_treated_counts,
    treated_counts,
)

# arm_assignment and look_sizes live in trial.randomisation; this module was their home.
__all__ = [
    "REPLICATE_BLOCK",
    "TrialBlock",
    "TrialDesign",
    "TrialPair",
    "arm_assignment",
    "eligible_arrays",
    "eligible_log_odds",
    "eligible_pool",
    "eligible_strata",
    "look_sizes",
    "simulate_block",
    "simulate_pair",
    "trial_design",
]

REPLICATE_BLOCK = 1024
POPULATIONS = {
    "abnormal": ("KA", "IA"),
    "idiopathic-abnormal": ("IA",),
    "known-abnormal": ("KA",),
    "idiopathic": ("IN", "IA"),
    "all": STRATA,
}


def eligible_strata(trial: TrialParams) -> tuple[str, ...]:
    """The strata a trial's population is drawn from."""
    return POPULATIONS[trial.population]


@dataclass(frozen=True)
class TrialDesign:
    """A trial's resolved rates (see the module doc).

    Attributes
    ----------
    p_control, p_treatment : float
        Marginal live-birth rates of eligible women per arm.
    shift_control, shift_treatment : float
        Log-odds shifts added to the outcome model's linear predictor per arm.
    strata : tuple of str
        Eligible strata; ``stratum_weights`` their shares among eligible women (after the
        ``min_previous_miscarriages`` filter), ``stratum_rates`` (2, S) each arm's rate per
        stratum (for the count path with CMH).
    eligible_share : float
        Share of the scenario's cohort that is eligible (strata × losses filter).
    shift_null, stratum_rates_null
        The treated arm under H0: the control rate for superiority, the control rate minus
        the margin for non-inferiority (the boundary of H0, where type-I error is measured).
    """

    p_control: float
    p_treatment: float
    shift_control: float
    shift_treatment: float
    strata: tuple[str, ...]
    stratum_weights: np.ndarray
    stratum_rates: np.ndarray
    eligible_share: float
    min_misc: int
    shift_null: float = 0.0
    stratum_rates_null: np.ndarray | None = None

    def marginal_rates(self) -> tuple[float, float, float]:
        """(control, treated, treated under H0): the rates the count path draws each arm's
        births from, the stratum rates averaged over the stratum shares."""
        w = self.stratum_weights
        null = self.stratum_rates[0] if self.stratum_rates_null is None else self.stratum_rates_null
        return (
            float(np.dot(w, self.stratum_rates[0])),
            float(np.dot(w, self.stratum_rates[1])),
            float(np.dot(w, null)),
        )


@dataclass(frozen=True)
class TrialBlock:
    """One block of simulated trials (R replicates, K looks), as the analyses read it.

    Attributes
    ----------
    x_t, n_t, x_c, n_c : numpy.ndarray, shape (R, K)
        Live births and analysed women per arm at each look (cumulative, after dropout).
    strata_counts : numpy.ndarray, shape (R, K, 4, S)
        ``x_t, n_t, x_c, n_c`` per eligible stratum at each look.
    X, y, mask : numpy.ndarray or None
        Patient path only: design matrices (R, N, 4) (intercept, treated, centred age and
        BMI), outcomes (R, N) and dropped-out women (R, N), N the final look's enrolment.
    sizes : numpy.ndarray or None
        Patient path only: women enrolled at each look.
    """

    x_t: np.ndarray
    n_t: np.ndarray
    x_c: np.ndarray
    n_c: np.ndarray
    strata_counts: np.ndarray
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    mask: np.ndarray | None = None
    sizes: np.ndarray | None = None

    def __getitem__(self, key: str) -> np.ndarray:
        """``block["x_t"]``: the mapping access of the dict this used to be (for one release)."""
        value: np.ndarray | None = getattr(self, key) if key in self.__dataclass_fields__ else None
        if value is None:
            raise KeyError(key)
        return value


@dataclass(frozen=True)
class TrialPair:
    """A block simulated under H1 and under the null from the same random stream."""

    h1: TrialBlock
    null: TrialBlock

    def __iter__(self) -> Iterator[TrialBlock]:
        """``h1, null = pair``, as the tuple this used to be."""
        return iter((self.h1, self.null))


@lru_cache(maxsize=1024)
def _cached_shift(
    cohort: CohortParams,
    outcome: OutcomeParams,
    codes: tuple[int, ...],
    shares: tuple[float, ...],
    target: float,
    misc_min: int,
    what: str,
) -> float:
    # Designs that differ only in analysis, dropout or looks share their rates: solve once.
    model = outcome_model_cached(cohort, outcome)
    return shift_for_rate(model, codes, np.array(shares), target, misc_min=misc_min, what=what)


@lru_cache(maxsize=256)
def _trial_design_cached(cohort: CohortParams, outcome: OutcomeParams, trial: TrialParams) -> TrialDesign:
    model = outcome_model_cached(cohort, outcome)
    strata = eligible_strata(trial)
    codes = tuple(STRATA.index(s) for s in strata)
    shares = np.array([getattr(cohort.strata, s) for s in strata])
    masses = np.array([model.stratum_rate(c, 0.0, trial.min_previous_miscarriages)[1] for c in codes])
    w = shares * masses
    if not w.sum() > 0:  # else the rates below are 0/0, and the pool search never ends
        raise ScenarioError(
            f'trial.population == "{trial.population}" with trial.min_previous_miscarriages == '
            f"{trial.min_previous_miscarriages}: no eligible women (strata {', '.join(strata)} have "
            "no share of the cohort, or none with that many losses); choose another population."
        )
    eligible_share = float(w.sum() / sum(getattr(cohort.strata, s) for s in STRATA))
    weights = w / w.sum()
    p_c = trial.control_lbr
    mm = trial.min_previous_miscarriages
    key = (cohort, outcome, codes, tuple(map(float, shares)))
    s_c = _cached_shift(*key, float(p_c), mm, "trial.control_lbr")
    if trial.treatment_lbr is not None:
        p_t = trial.treatment_lbr
        s_t = _cached_shift(*key, float(p_t), mm, "trial.treatment_lbr")
    else:
        # An odds ratio per woman: the same log-odds step for everyone; the marginal rate follows.
        s_t = s_c + float(np.log(trial.ivig_odds_ratio))  # type: ignore[arg-type]
        rates_t = [model.stratum_rate(c, s_t, trial.min_previous_miscarriages)[0] for c in codes]
        p_t = float(np.dot(weights, rates_t))
    if trial.design == "non-inferiority" and trial.margin:
        s_0 = _cached_shift(*key, float(p_c) - trial.margin, mm, "trial.control_lbr - trial.margin")
    else:
        s_0 = s_c
    rates = np.array([[model.stratum_rate(c, s, mm)[0] for c in codes] for s in (s_c, s_t, s_0)])
    return TrialDesign(
        p_control=float(p_c),
        p_treatment=float(p_t),
        shift_control=s_c,
        shift_treatment=s_t,
        strata=strata,
        stratum_weights=weights,
        stratum_rates=rates[:2],
        eligible_share=eligible_share,
        min_misc=mm,
        shift_null=s_0,
        stratum_rates_null=rates[2],
    )


def trial_design(scenario: Scenario, trial: TrialParams | None = None) -> TrialDesign:
    """Resolve a scenario's ``[trial]`` into per-arm rates and log-odds shifts.

    Raises
    ------
    ScenarioError
        If the scenario has no ``[trial]`` section.
    CalibrationError
        If an arm's rate cannot be met.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> d = trial_design(load_scenario("scenarios/paper.toml"))
    >>> d.p_control, d.p_treatment, d.strata
    (0.6, 0.807, ('KA', 'IA'))
    """
    trial = trial or scenario.require_trial()
    return _trial_design_cached(scenario.cohort, scenario.outcome, trial)


def simulate_block(
    scenario: Scenario,
    design: TrialDesign,
    n_control: int,
    n_treatment: int,
    block_index: int,
    entropy: int,
    *,
    path: str = "counts",
    null: bool = False,
) -> TrialBlock:
    """Simulate one block of :data:`REPLICATE_BLOCK` trials.

    Parameters
    ----------
    n_control, n_treatment : int
        Planned arm sizes (randomised women, before dropout).
    block_index, entropy : int
        Which block, under which root entropy (keyed streams).
    path : {"counts", "patients"}
    null : bool
        Both arms at the control rate (type-I error), with the same random stream.

    Returns
    -------
    TrialBlock
        Per look (arrays of shape (R, K), K looks): ``x_t, n_t, x_c, n_c`` counts after dropout;
        ``strata_counts`` (R, K, 4, S); for the patient path also ``X, y, mask`` of the final
        look (R, N, 4) for the logistic analysis.
    """
    pair = simulate_pair(scenario, design, n_control, n_treatment, block_index, entropy, path=path)
    return pair.null if null else pair.h1


def simulate_pair(
    scenario: Scenario,
    design: TrialDesign,
    n_control: int,
    n_treatment: int,
    block_index: int,
    entropy: int,
    *,
    path: str = "counts",
) -> TrialPair:
    """The H1 and null blocks: :func:`simulate_block` with ``null=False`` and ``True``.

    The two runs read the same random stream and differ only from the first draw that
    depends on the treated arm's rate, so everything before it is drawn once (and, on the
    count path, everything after it too whenever the stream ended up in the same state).
    Each result equals the separate call's, bit for bit.
    """
    trial = scenario.trial
    assert trial is not None
    r = REPLICATE_BLOCK
    n_total = n_control + n_treatment
    ratio = n_treatment / n_control
    sizes = look_sizes(n_total, trial.looks)
    p_c = design.stratum_rates[0]
    p_t = design.stratum_rates[1]
    p_0 = design.stratum_rates[0] if design.stratum_rates_null is None else design.stratum_rates_null
    if path == "counts":
        g = child_generator(entropy, "trial-counts", block_index)
        return _count_pair(g, r, sizes, ratio, trial, design.stratum_weights, p_c, p_t, p_0)
    return _patient_pair(scenario, design, r, sizes, ratio, block_index, entropy)


def _per_replicate(p: np.ndarray) -> np.ndarray:
    """Stratum rates (S,) for every replicate, or (R, S) one row per replicate (a prior's
    draws), shaped to broadcast over (R, K, S)."""
    return p[None, None, :] if p.ndim == 1 else p[:, None, :]


def _count_pair(
    g: np.random.Generator,
    r: int,
    sizes: np.ndarray,
    ratio: float,
    trial: TrialParams,
    weights: np.ndarray,
    p_c: np.ndarray,
    p_t: np.ndarray,
    p_0: np.ndarray,
) -> TrialPair:
    k = sizes.size
    s = weights.size
    inc = np.diff(np.concatenate([[0], sizes]))
    # Arm sizes per look increment: enrolment is in randomisation order, so the treated count
    # of the first n_k women follows the same block scheme look by look.
    treated_cum = (
        np.stack([treated_counts(g, r, int(m), ratio, trial.block_size) for m in sizes], axis=1)
        if k == 1
        else nested_treated_counts(g, r, sizes, ratio, trial.block_size)
    )
    treated_inc = np.diff(np.concatenate([np.zeros((r, 1), int), treated_cum], axis=1), axis=1)
    control_inc = inc[None, :] - treated_inc
    keep = 1 - trial.dropout

    def arm_split(m_inc: np.ndarray) -> np.ndarray:
        m = g.binomial(m_inc, keep)  # analysed after dropout (missing completely at random)
        return multinomial_rows(g, m.ravel(), weights).reshape(r, k, s)

    def control_arm() -> tuple[np.ndarray, np.ndarray]:
        per_stratum = arm_split(control_inc)
        return g.binomial(per_stratum, _per_replicate(p_c)), per_stratum

    per_t = arm_split(treated_inc)
    # The treated arm's live births are the first draw that differs between H1 and the null.
    before = g.bit_generator.state
    x_t1 = g.binomial(per_t, _per_replicate(p_t))
    after1 = g.bit_generator.state
    ctrl1 = control_arm()
    g.bit_generator.state = before
    x_t0 = g.binomial(per_t, _per_replicate(p_0))
    # Binomial inversion almost always uses one uniform a draw, so the stream usually sits
    # where it did after the H1 draw and the control arm's draws are the same numbers: reuse
    # them. If not (rejection sampling at large n), draw them again, exactly as a separate run.
    if g.bit_generator.state == after1:
        return TrialPair(*_count_results(x_t1, x_t0, per_t, *ctrl1))
    return TrialPair(_count_result(x_t1, per_t, *ctrl1), _count_result(x_t0, per_t, *control_arm()))


def _stack_counts(x_t: np.ndarray, n_t: np.ndarray, x_c: np.ndarray, n_c: np.ndarray) -> np.ndarray:
    """(R, K, 4, S) cumulative ``x_t, n_t, x_c, n_c`` from per-look increments (R, K, S)."""
    r, k, s = x_t.shape
    counts = np.empty((r, k, 4, s), dtype=np.int64)
    for j, a in enumerate((x_t, n_t, x_c, n_c)):
        counts[:, :, j] = a
    if k > 1:  # one look: the increments are the totals
        np.cumsum(counts, axis=1, out=counts)
    return counts


def _block_of(counts: np.ndarray, tot: np.ndarray) -> TrialBlock:
    return TrialBlock(
        x_t=tot[:, :, 0], n_t=tot[:, :, 1], x_c=tot[:, :, 2], n_c=tot[:, :, 3], strata_counts=counts
    )


def _count_result(x_t: np.ndarray, n_t: np.ndarray, x_c: np.ndarray, n_c: np.ndarray) -> TrialBlock:
    counts = _stack_counts(x_t, n_t, x_c, n_c)
    return _block_of(counts, counts.sum(axis=3))


def _count_results(
    x_t1: np.ndarray, x_t0: np.ndarray, n_t: np.ndarray, x_c: np.ndarray, n_c: np.ndarray
) -> tuple[TrialBlock, TrialBlock]:
    """:func:`_count_result` of H1 and of the null when they share all but the treated births:
    the shared columns are stacked, summed and copied once (integer sums: equal bit for bit)."""
    counts1 = _stack_counts(x_t1, n_t, x_c, n_c)
    tot1 = counts1.sum(axis=3)
    counts0 = counts1.copy()
    x0 = counts0[:, :, 0]
    x0[...] = x_t0
    if x_t0.shape[1] > 1:
        np.cumsum(x0, axis=1, out=x0)
    tot0 = tot1.copy()
    tot0[:, :, 0] = x0.sum(axis=2)
    return _block_of(counts1, tot1), _block_of(counts0, tot0)


def _first_eligible(
    cohort: CohortParams, strata: tuple[str, ...], min_misc: int, n: int, seed_entropy: int, *, full: bool
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The cohort arrays and the indices of their first ``n`` women with enough losses.

    Prefix stability means any number of whole blocks gives the same leading women, so start
    with just enough and double if the losses filter leaves too few.
    """
    total = -(-n // BLOCK) * BLOCK
    while True:
        d = cohort_arrays(cohort, total, seed_entropy, strata, full=full)
        ok = np.flatnonzero(d["previous_miscarriages"] >= min_misc)
        if ok.size >= n:
            return d, ok[:n]
        # A bound: the share of eligible women may be (nearly) zero. Stop as soon as the share
        # seen so far says more than MAX_COHORT_N women would be needed.
        if n * total / max(ok.size, 1) > MAX_COHORT_N:
            raise ScenarioError(
                f"only {ok.size:,} of {total:,} women of strata {', '.join(strata)} have at least "
                f"{min_misc} previous miscarriages, and {n:,} are needed (more than "
                f"{MAX_COHORT_N:,} women to draw): trial.min_previous_miscarriages is too high "
                "for this cohort."
            )
        total *= 2


@lru_cache(maxsize=2)  # the IVIG dose estimate of simulate_power (a full cohort frame)
def eligible_pool(
    cohort: CohortParams, strata: tuple[str, ...], min_misc: int, n: int, seed_entropy: int
) -> pd.DataFrame:
    """The first ``n`` women with enough losses of the cohort stream ``seed_entropy``, as
    :func:`~rplsim.cohort.generate_cohort` rows (``patient_id`` their place in the stream)."""
    d, ok = _first_eligible(cohort, strata, min_misc, n, seed_entropy, full=True)
    return cohort_frame(d, cohort).iloc[ok].reset_index(drop=True)


_eligible_pool = eligible_pool  # the old private name, kept for one release


def eligible_arrays(scenario: Scenario, n: int, entropy: int) -> dict[str, np.ndarray]:
    """The first ``n`` eligible women of the cohort stream ``entropy`` as arrays (``stratum,
    age, bmi, previous_miscarriages, profile, height_m``): i.i.d. from the cohort model given
    the trial's eligibility, without the immune markers.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> w = eligible_arrays(load_scenario("scenarios/paper.toml"), 10, 1)
    >>> sorted(set(w["stratum"].tolist())) <= [1, 3], w["height_m"].shape
    (True, (10,))
    """
    design = trial_design(scenario)
    return _eligible_arrays(scenario.cohort, design.strata, design.min_misc, int(n), int(entropy))


@lru_cache(maxsize=2)  # simulate_block(null=False) then (null=True) share their women
def _eligible_arrays(
    cohort: CohortParams, strata: tuple[str, ...], min_misc: int, n: int, seed_entropy: int
) -> dict[str, np.ndarray]:
    """The columns of ``eligible_pool(...)`` the patient path needs, as arrays, bit-identical
    to it, drawn without the immune markers (most of a cohort's cost) and without building a
    DataFrame."""
    d, ok = _first_eligible(cohort, strata, min_misc, n, seed_entropy, full=False)
    return {k: d[k][ok] for k in ("stratum", "age", "bmi", "previous_miscarriages", "profile", "height_m")}


def eligible_log_odds(scenario: Scenario, w: dict[str, np.ndarray]) -> np.ndarray:
    """Each woman's log-odds of a live birth from her own covariates, before her arm's shift.

    ``w`` holds cohort arrays (``stratum, profile, age, bmi, previous_miscarriages``, as
    :func:`~rplsim.cohort.cohort_arrays` draws them); add ``TrialDesign.shift_control`` (or
    ``shift_treatment``, ``shift_null``) for her arm's log-odds. The one reading of the outcome
    model that the patient path and the calendar trial share.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> from rplsim.cohort import cohort_arrays
    >>> sc = load_scenario("scenarios/paper.toml")
    >>> eligible_log_odds(sc, cohort_arrays(sc.cohort, 5, 1, ("IA",), full=False)).shape
    (5,)
    """
    model = outcome_model(scenario)
    # live_birth_probability reads only these columns; a thin frame keeps its exact arithmetic.
    women = pd.DataFrame(
        {
            "stratum": pd.Categorical.from_codes(w["stratum"].astype(np.int8), categories=STRATA),
            "immune_profile": pd.Categorical.from_codes(
                w["profile"].astype(np.int8), categories=PROFILE_NAMES
            ),
            "age": w["age"],
            "bmi": w["bmi"],
            "previous_miscarriages": w["previous_miscarriages"].astype(np.int64),
        }
    )
    # treated=True everywhere because the arm shifts already carry the treatment effect.
    out: np.ndarray = special.logit(live_birth_probability(model, women, treated=np.ones(len(women), bool)))
    return out


def _patient_pair(
    scenario: Scenario,
    design: TrialDesign,
    r: int,
    sizes: np.ndarray,
    ratio: float,
    block_index: int,
    entropy: int,
) -> TrialPair:
    trial = scenario.trial
    assert trial is not None
    n_total = int(sizes[-1])
    pop_seed = int(child_seed(entropy, "trial-population", block_index).generate_state(1)[0])
    w = _eligible_arrays(scenario.cohort, design.strata, design.min_misc, r * n_total, pop_seed)
    eta0 = eligible_log_odds(scenario, w).reshape(r, n_total)
    g = child_generator(entropy, "trial-patients", block_index)
    treated = arm_assignment(g, r, n_total, ratio, trial.block_size)
    u_out, u_drop = g.random((2, r, n_total))
    dropped = u_drop < trial.dropout
    seen = ~dropped
    seen_t, seen_c = seen & treated, seen & ~treated
    s_codes = w["stratum"].reshape(r, n_total)
    elig_codes = [STRATA.index(s) for s in design.strata]
    in_stratum = [s_codes == code for code in elig_codes]
    k = sizes.size
    idx = sizes - 1

    def at_looks(a: np.ndarray) -> np.ndarray:
        # Counts among the first sizes[j] enrolled women, all looks from one cumulative sum.
        if k == 1:
            out: np.ndarray = a.sum(axis=1, dtype=np.int64)[:, None]
            return out
        return np.cumsum(a, axis=1, dtype=np.int64)[:, idx]

    n_strata = np.zeros((r, k, 2, len(elig_codes)), np.int64)  # n_t, n_c per stratum
    for si, st in enumerate(in_stratum):
        n_strata[:, :, 0, si] = at_looks(seen_t & st)
        n_strata[:, :, 1, si] = at_looks(seen_c & st)
    age = w["age"].reshape(r, n_total)
    bmi = w["bmi"].reshape(r, n_total)
    X = np.stack([np.ones_like(age), treated.astype(float), age - age.mean(), bmi - bmi.mean()], axis=2)
    out: list[TrialBlock] = []
    for shift_t in (design.shift_treatment, design.shift_null):  # H1, then the null
        # A prior's draws give one shift per replicate (arrays of R): one per row.
        shift = np.where(treated, np.reshape(shift_t, (-1, 1)), np.reshape(design.shift_control, (-1, 1)))
        y = u_out < special.expit(eta0 + shift)
        strata_counts = np.empty((r, k, 4, len(elig_codes)), np.int64)
        for si, st in enumerate(in_stratum):
            strata_counts[:, :, 0, si] = at_looks(seen_t & y & st)
            strata_counts[:, :, 2, si] = at_looks(seen_c & y & st)
        strata_counts[:, :, 1] = n_strata[:, :, 0]
        strata_counts[:, :, 3] = n_strata[:, :, 1]
        tot = strata_counts.sum(axis=3)
        out.append(
            TrialBlock(
                x_t=tot[:, :, 0],
                n_t=tot[:, :, 1],
                x_c=tot[:, :, 2],
                n_c=tot[:, :, 3],
                strata_counts=strata_counts,
                X=X,
                y=y.astype(float),
                mask=dropped,
                sizes=sizes,
            )
        )
    return TrialPair(out[0], out[1])
