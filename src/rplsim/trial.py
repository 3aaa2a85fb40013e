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

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import special

from .cohort import generate_cohort
from .outcome import _outcome_model_cached, live_birth_probability, outcome_model, shift_for_rate
from .rng import child_generator, child_seed
from .scenario import STRATA, CohortParams, OutcomeParams, Scenario, TrialParams

__all__ = ["REPLICATE_BLOCK", "TrialDesign", "eligible_strata", "simulate_block",
           "trial_design"]

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


@lru_cache(maxsize=256)
def _trial_design_cached(cohort: CohortParams, outcome: OutcomeParams, trial: TrialParams
                         ) -> TrialDesign:
    model = _outcome_model_cached(cohort, outcome)
    strata = eligible_strata(trial)
    codes = tuple(STRATA.index(s) for s in strata)
    shares = np.array([getattr(cohort.strata, s) for s in strata])
    masses = np.array([model.stratum_rate(c, 0.0, trial.min_previous_miscarriages)[1]
                       for c in codes])
    w = shares * masses
    eligible_share = float(w.sum() / sum(getattr(cohort.strata, s) for s in STRATA))
    weights = w / w.sum()
    p_c = trial.control_lbr
    s_c = shift_for_rate(model, codes, shares, p_c, misc_min=trial.min_previous_miscarriages,
                         what="trial.control_lbr")
    if trial.treatment_lbr is not None:
        p_t = trial.treatment_lbr
        s_t = shift_for_rate(model, codes, shares, p_t, misc_min=trial.min_previous_miscarriages,
                             what="trial.treatment_lbr")
    else:
        # An odds ratio per woman: the same log-odds step for everyone; the marginal rate follows.
        s_t = s_c + float(np.log(trial.ivig_odds_ratio))  # type: ignore[arg-type]
        rates = [model.stratum_rate(c, s_t, trial.min_previous_miscarriages)[0] for c in codes]
        p_t = float(np.dot(weights, rates))
    rates = np.array([[model.stratum_rate(c, s, trial.min_previous_miscarriages)[0]
                       for c in codes] for s in (s_c, s_t)])
    return TrialDesign(p_control=float(p_c), p_treatment=float(p_t), shift_control=s_c,
                       shift_treatment=s_t, strata=strata, stratum_weights=weights,
                       stratum_rates=rates, eligible_share=eligible_share,
                       min_misc=trial.min_previous_miscarriages)


def trial_design(scenario: Scenario, trial: TrialParams | None = None) -> TrialDesign:
    """Resolve a scenario's ``[trial]`` into per-arm rates and log-odds shifts.

    Raises
    ------
    ScenarioError
        If the scenario has no ``[trial]`` section.
    CalibrationError
        If an arm's rate cannot be met.
    """
    from .exceptions import ScenarioError

    trial = trial or scenario.trial
    if trial is None:
        raise ScenarioError(f"{scenario.name}: has no [trial] section; add one (see "
                            "scenarios/trial_superiority.toml).")
    return _trial_design_cached(scenario.cohort, scenario.outcome, trial)


def _arm_sizes(g: np.random.Generator, r: int, n_total: int, ratio: float, block: int
               ) -> np.ndarray:
    """Treated count per replicate: permuted blocks (``block`` > 0) or simple randomisation."""
    p_t = ratio / (1 + ratio)
    if block <= 0:
        return g.binomial(n_total, p_t, size=r)
    t_per_block = round(block * p_t)
    full, rest = divmod(n_total, block)
    # The last, incomplete block: the first `rest` places of a random permutation of the block.
    partial = (g.hypergeometric(t_per_block, block - t_per_block, rest, size=r) if rest
               else np.zeros(r, dtype=np.int64))
    return full * t_per_block + partial


def arm_assignment(g: np.random.Generator, r: int, n_total: int, ratio: float, block: int
                   ) -> np.ndarray:
    """(r, n_total) bool: treated, in order of enrolment, by permuted blocks or simple."""
    p_t = ratio / (1 + ratio)
    if block <= 0:
        return g.random((r, n_total)) < p_t
    t_per_block = round(block * p_t)
    n_blocks = -(-n_total // block)
    base = np.zeros(block, bool)
    base[:t_per_block] = True
    keys = g.random((r, n_blocks, block))
    order = np.argsort(keys, axis=2)
    return base[order].reshape(r, n_blocks * block)[:, :n_total]


def look_sizes(n_total: int, looks: int) -> np.ndarray:
    """Women enrolled at each look (equally spaced information, the last = all)."""
    return np.ceil(np.arange(1, looks + 1) / looks * n_total - 1e-9).astype(int)


def simulate_block(scenario: Scenario, design: TrialDesign, n_control: int, n_treatment: int,
                   block_index: int, entropy: int, *, path: str = "counts",
                   null: bool = False) -> dict[str, np.ndarray]:
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
    dict
        Per look (arrays of shape (R, K), K looks): ``x_t, n_t, x_c, n_c`` counts after dropout;
        for CMH ``strata_counts`` (R, K, 4, S); for the patient path also ``X, y, mask``
        of the final look (R, N, 4) for the logistic analysis.
    """
    trial = scenario.trial
    assert trial is not None
    r = REPLICATE_BLOCK
    n_total = n_control + n_treatment
    ratio = n_treatment / n_control
    sizes = look_sizes(n_total, trial.looks)
    p_c = design.stratum_rates[0]
    p_t = design.stratum_rates[0] if null else design.stratum_rates[1]
    if path == "counts":
        g = child_generator(entropy, "trial-counts", block_index)
        return _count_block(g, r, sizes, ratio, trial, design.stratum_weights, p_c, p_t)
    return _patient_block(scenario, design, r, sizes, ratio, block_index, entropy, null)


def _count_block(g: np.random.Generator, r: int, sizes: np.ndarray, ratio: float,
                 trial: TrialParams, weights: np.ndarray, p_c: np.ndarray, p_t: np.ndarray
                 ) -> dict[str, np.ndarray]:
    k = sizes.size
    s = weights.size
    inc = np.diff(np.concatenate([[0], sizes]))
    # Arm sizes per look increment: enrolment is in randomisation order, so the treated count
    # of the first n_k women follows the same block scheme look by look.
    treated_cum = np.stack([_arm_sizes(g, r, int(m), ratio, trial.block_size) for m in sizes],
                           axis=1) if k == 1 else _nested_treated(g, r, sizes, ratio,
                                                                   trial.block_size)
    treated_inc = np.diff(np.concatenate([np.zeros((r, 1), int), treated_cum], axis=1), axis=1)
    control_inc = inc[None, :] - treated_inc
    keep = 1 - trial.dropout
    counts = np.zeros((r, k, 4, s), dtype=np.int64)  # x_t, n_t, x_c, n_c per stratum
    for arm, m_inc, p in ((0, treated_inc, p_t), (2, control_inc, p_c)):
        m = g.binomial(m_inc, keep)  # analysed after dropout (missing completely at random)
        per_stratum = _multinomial_rows(g, m.ravel(), weights).reshape(r, k, s)
        x = g.binomial(per_stratum, p[None, None, :])
        counts[:, :, arm] = x
        counts[:, :, arm + 1] = per_stratum
    counts = np.cumsum(counts, axis=1)
    tot = counts.sum(axis=3)
    return {"x_t": tot[:, :, 0], "n_t": tot[:, :, 1], "x_c": tot[:, :, 2], "n_c": tot[:, :, 3],
            "strata_counts": counts}


def _nested_treated(g: np.random.Generator, r: int, sizes: np.ndarray, ratio: float,
                    block: int) -> np.ndarray:
    n_total = int(sizes[-1])
    assign = arm_assignment(g, r, n_total, ratio, block)
    csum = np.cumsum(assign, axis=1)
    return csum[:, sizes - 1]


def _multinomial_rows(g: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Multinomial counts per row by conditional binomials (much faster than
    ``Generator.multinomial`` on an array of totals)."""
    out = np.empty((n.size, p.size), dtype=np.int64)
    left = n.astype(np.int64)
    rest = 1.0
    for j in range(p.size - 1):
        out[:, j] = g.binomial(left, min(1.0, p[j] / rest)) if rest > 0 else 0
        left = left - out[:, j]
        rest -= p[j]
    out[:, -1] = left
    return out


@lru_cache(maxsize=2)  # the H1 and null runs of a block share their women
def _eligible_pool(cohort: CohortParams, strata: tuple[str, ...], min_misc: int, n: int,
                   seed_entropy: int) -> pd.DataFrame:
    need, size = n, n
    while True:
        # Prefix-stable generator: a larger draw keeps the same first women.
        df = generate_cohort(cohort, n=int(size * 1.2) + 64, seed=seed_entropy, strata=strata)
        df = df[df["previous_miscarriages"] >= min_misc]
        if len(df) >= need:
            return df.iloc[:need].reset_index(drop=True)
        size *= 2


def _patient_block(scenario: Scenario, design: TrialDesign, r: int, sizes: np.ndarray,
                   ratio: float, block_index: int, entropy: int, null: bool
                   ) -> dict[str, np.ndarray]:
    trial = scenario.trial
    assert trial is not None
    n_total = int(sizes[-1])
    pop_seed = int(child_seed(entropy, "trial-population", block_index).generate_state(1)[0])
    women = _eligible_pool(scenario.cohort, design.strata, design.min_misc, r * n_total, pop_seed)
    model = outcome_model(scenario)
    everyone = np.ones(len(women), bool)
    # Every woman's log-odds under each arm, from her own covariates; treated=True everywhere
    # because the arm shifts already carry the treatment effect.
    eta0 = special.logit(live_birth_probability(model, women, treated=everyone))
    g = child_generator(entropy, "trial-patients", block_index)
    treated = arm_assignment(g, r, n_total, ratio, trial.block_size)
    shift = np.where(treated, design.shift_control if null else design.shift_treatment,
                     design.shift_control)
    p = special.expit(eta0.reshape(r, n_total) + shift)
    u_out, u_drop = g.random((2, r, n_total))
    y = u_out < p
    dropped = u_drop < trial.dropout
    k = sizes.size
    x_t = np.empty((r, k), np.int64)
    n_t, x_c, n_c = (np.empty_like(x_t) for _ in range(3))
    s_codes = women["stratum"].cat.codes.to_numpy().reshape(r, n_total)
    elig_codes = np.array([STRATA.index(s) for s in design.strata])
    strata_counts = np.zeros((r, k, 4, elig_codes.size), np.int64)
    for j, m in enumerate(sizes):
        seen = ~dropped[:, :m]
        t, yy = treated[:, :m], y[:, :m]
        x_t[:, j] = (seen & t & yy).sum(1)
        n_t[:, j] = (seen & t).sum(1)
        x_c[:, j] = (seen & ~t & yy).sum(1)
        n_c[:, j] = (seen & ~t).sum(1)
        for si, code in enumerate(elig_codes):
            st = s_codes[:, :m] == code
            strata_counts[:, j, 0, si] = (seen & t & yy & st).sum(1)
            strata_counts[:, j, 1, si] = (seen & t & st).sum(1)
            strata_counts[:, j, 2, si] = (seen & ~t & yy & st).sum(1)
            strata_counts[:, j, 3, si] = (seen & ~t & st).sum(1)
    age = women["age"].to_numpy(float).reshape(r, n_total)
    bmi = women["bmi"].to_numpy(float).reshape(r, n_total)
    X = np.stack([np.ones_like(age), treated.astype(float), age - age.mean(),
                  bmi - bmi.mean()], axis=2)
    return {"x_t": x_t, "n_t": n_t, "x_c": x_c, "n_c": n_c, "strata_counts": strata_counts,
            "X": X, "y": y.astype(float), "mask": dropped, "sizes": sizes}
