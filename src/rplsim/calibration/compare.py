"""How close does a scenario come to the paper? One row a target.

``calibrate`` simulates ``replicates`` cohorts of the paper's size and, for every target,
compares the paper's single value with the distribution of the same statistic over simulated
cohorts. Because women are drawn independently, ``R`` cohorts of size ``n`` are one cohort of
``R·n`` cut into ``R`` consecutive pieces.

Tolerance (stated in every table): the paper is *one* cohort of its size, so a model that is
right puts the paper's value inside the sampling distribution of a cohort of that size. For
means, SDs and shares the tolerance is the 99% prediction half-width
``z_0.995 · sd_rep · sqrt(1 + 1/R)``, with ``sd_rep`` the SD of the statistic over replicates;
``mc_se = sd_rep / sqrt(R)`` is the Monte-Carlo error of the ``simulated`` column. For extremes
(min, max) and F statistics, whose distributions are skewed, ``within`` asks whether the paper's
value lies in the central 99% of the replicates (empirical quantiles), widened by half the
paper's reporting precision (Table 1 prints ages in whole years and BMI to 0.1 kg/m², so a
printed maximum of 45 covers 45.0-45.5 and one of 39.3 covers 39.25-39.35), and ``tolerance``
is that interval's half-width. A correct model therefore misses about 1% of the targets by
chance.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from rplsim import paper
from rplsim.cohort.generate import generate_cohort
from rplsim._core.rng import SeedLike
from rplsim.scenario import STRATA, Scenario
from rplsim._core.validation import check_integer

__all__ = ["CALIBRATION_COLUMNS", "calibrate", "register_targets"]

CALIBRATION_COLUMNS = ("target", "source", "paper", "simulated", "mc_se", "tolerance", "within",
                       "followed")
Z99 = float(stats.norm.ppf(0.995))
# Table 1 prints ages in whole years and BMI to one decimal; counts are exact.
PRINTED_PRECISION = {"age": 1.0, "bmi": 0.1}

# Extra target groups (outcome model, timeline) register here: f(scenario, cohort_frame,
# replicate_index, replicates, seed) -> list of rows.
_TARGET_GROUPS: list[Callable[..., list[dict]]] = []


def register_targets(fn: Callable[..., list[dict]]) -> Callable[..., list[dict]]:
    """Add a group of calibration targets computed on the same replicate cohorts."""
    if fn not in _TARGET_GROUPS:
        _TARGET_GROUPS.append(fn)
    return fn


def row(target: str, source: str, paper_value: float, values: np.ndarray, *,
        skewed: bool = False, followed: bool = True, precision: float = 0.0) -> dict:
    """One calibration row from the per-replicate values of a statistic (see module doc)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    r = v.size
    if r == 0:
        return {"target": target, "source": source, "paper": paper_value, "simulated": np.nan,
                "mc_se": np.nan, "tolerance": np.nan, "within": False, "followed": followed}
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if r > 1 else 0.0
    if skewed:
        lo, hi = np.quantile(v, [0.005, 0.995])
        lo, hi = lo - precision / 2, hi + precision / 2
        within = bool(lo <= paper_value <= hi)
        tol = float(hi - lo) / 2
    else:
        tol = Z99 * sd * math.sqrt(1 + 1 / r)
        within = bool(abs(paper_value - mean) <= tol + 1e-12)
    return {"target": target, "source": source, "paper": float(paper_value), "simulated": mean,
            "mc_se": sd / math.sqrt(r), "tolerance": tol, "within": within,
            "followed": followed}


def _anova_f(values: np.ndarray, groups: np.ndarray, reps: np.ndarray, n_rep: int) -> np.ndarray:
    """One-way ANOVA F across the four strata, for each replicate at once."""
    k = 4
    key = reps * k + groups
    cnt = np.bincount(key, minlength=n_rep * k).reshape(n_rep, k).astype(float)
    s1 = np.bincount(key, weights=values, minlength=n_rep * k).reshape(n_rep, k)
    s2 = np.bincount(key, weights=values**2, minlength=n_rep * k).reshape(n_rep, k)
    n = cnt.sum(axis=1)
    grand = s1.sum(axis=1) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        means = s1 / cnt
        ss_between = np.nansum(cnt * (means - grand[:, None]) ** 2, axis=1)
        ss_within = (s2 - s1**2 / np.where(cnt > 0, cnt, 1)).sum(axis=1)
        return (ss_between / (k - 1)) / (ss_within / (n - k))


def cohort_targets(scenario: Scenario, df: pd.DataFrame, reps: np.ndarray, n_rep: int) -> list:
    """Targets of Table 1, Figure 2, Figure 6A and the strata sizes."""
    rows: list[dict] = []
    strat = df["stratum"].cat.codes.to_numpy()
    key = reps * 4 + strat
    counts = np.bincount(key, minlength=n_rep * 4).reshape(n_rep, 4)
    n = scenario.cohort.n
    scale = 466 / n
    for j, s in enumerate(STRATA):
        rows.append(row(f"n {s}", "Table 1", paper.STRATA_N[s], counts[:, j] * scale))
    known = counts[:, 0] + counts[:, 1]
    idio = counts[:, 2] + counts[:, 3]
    rows.append(row("n known etiology", "Table 1, section 3.1", 215, known * scale))
    rows.append(row("n idiopathic", "Table 1, section 3.1", 251, idio * scale))
    rows.append(row("n known etiology (abstract/2.1 reading)", "Abstract, section 2.1 "
                    "(conflict, not followed)", 251, known * scale, followed=False))
    rows.append(row("n idiopathic (abstract/2.1 reading)", "Abstract, section 2.1 "
                    "(conflict, not followed)", 215, idio * scale, followed=False))
    with np.errstate(invalid="ignore", divide="ignore"):
        rows.append(row("abnormal prevalence, known", "Section 3.2",
                        paper.ABNORMAL_PREVALENCE["known"], counts[:, 1] / known))
        rows.append(row("abnormal prevalence, idiopathic", "Section 3.2",
                        paper.ABNORMAL_PREVALENCE["idiopathic"], counts[:, 3] / idio))

    for var, cells in paper.TABLE1.items():
        x = df[var].to_numpy(dtype=float)
        g = pd.DataFrame({"k": key, "x": x}).groupby("k")["x"]
        agg = g.agg(["mean", "std", "min", "max"]).reindex(range(n_rep * 4))
        for j, s in enumerate(STRATA):
            sub = agg.iloc[j::4]
            for stat_i, stat in enumerate(("mean", "SD", "min", "max")):
                col = ("mean", "std", "min", "max")[stat_i]
                rows.append(row(f"{var} {stat} {s}", f"Table 1, {s}", cells[s][stat_i],
                                sub[col].to_numpy(), skewed=stat in ("min", "max"),
                                precision=PRINTED_PRECISION.get(var, 0.0)))
        f_val, p_val = paper.ANOVA_F[var]
        f_sim = _anova_f(x, strat, reps, n_rep)
        rows.append(row(f"{var} ANOVA F", "Table 1" + (f" (p = {p_val})" if p_val else ""),
                        f_val, f_sim, skewed=True))

    etio = (strat >= 2).astype(int)
    ekey = reps * 2 + etio
    e_n = np.bincount(ekey, minlength=n_rep * 2).reshape(n_rep, 2)
    nk_alone = (df["immune_profile"] == "NK").to_numpy()
    nk_any = df["nk_high"].to_numpy()
    cyto_any = df["nk_cytotoxicity_high"].to_numpy()
    th_any = df["th1_th2_high"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        for e, name in enumerate(("known", "idiopathic")):
            share = np.bincount(ekey, weights=nk_alone, minlength=n_rep * 2).reshape(n_rep, 2)
            rows.append(row(f"high NK alone, {name}", "Section 3.2, Figure 2",
                            paper.NK_ALONE_SHARE[name], share[:, e] / e_n[:, e]))
            anyk = np.bincount(ekey, weights=nk_any, minlength=n_rep * 2).reshape(n_rep, 2)
            rows.append(row(f"high NK (any profile), {name} (other reading)",
                            "Section 3.2 (not followed: read as NK alone)",
                            paper.NK_ALONE_SHARE[name], anyk[:, e] / e_n[:, e], followed=False))
            c = np.bincount(ekey, weights=cyto_any, minlength=n_rep * 2).reshape(n_rep, 2)
            t = np.bincount(ekey, weights=th_any, minlength=n_rep * 2).reshape(n_rep, 2)
            order = (anyk[:, e] >= c[:, e]) & (c[:, e] >= t[:, e])
            rows.append(row(f"order NK >= cytotoxicity >= Th1/Th2, {name} (share of cohorts)",
                            "Section 3.2, Figure 2", 1.0, order.astype(float), skewed=True))
        idio_both = ((strat >= 2) & cyto_any & th_any)
        both = np.bincount(reps, weights=idio_both, minlength=n_rep)
        rows.append(row("idiopathic with high cytotoxicity and high Th1/Th2", "Section 3.3",
                        0.0, both, skewed=True))
        misc = df["previous_miscarriages"].to_numpy()
        for band, mask in (("2-3", misc <= 3), (">=4", misc >= 4)):
            sel = (strat <= 1) & mask
            den = np.bincount(reps, weights=sel, minlength=n_rep)
            num = np.bincount(reps, weights=sel & th_any, minlength=n_rep)
            rows.append(row(f"high Th1/Th2, known, {band} losses", "Section 3.7, Figure 6A",
                            paper.TH1_TH2_KNOWN[band], num / den))
        abnormal = (strat == 1) | (strat == 3)
        for name, sel in (("all", np.ones_like(abnormal)), ("known", strat <= 1),
                          ("idiopathic", strat >= 2)):
            rows.append(row(f"trend of abnormal immunity with losses, {name} (p)",
                            "Section 3.6, Figure 5 (Cochran-Armitage, losses 2/3/4/>=5)",
                            paper.ABNORMAL_TREND_P[name],
                            _trend_p(np.minimum(misc, 5), abnormal, reps, sel, n_rep),
                            skewed=True))
    return rows


def _trend_p(score: np.ndarray, case: np.ndarray, reps: np.ndarray, sel: np.ndarray,
             n_rep: int) -> np.ndarray:
    """Two-sided Cochran-Armitage trend test p per replicate (scores = the losses, capped)."""
    w = sel.astype(float)
    n = np.bincount(reps, weights=w, minlength=n_rep)
    r = np.bincount(reps, weights=w * case, minlength=n_rep)
    sx = np.bincount(reps, weights=w * score, minlength=n_rep)
    sxx = np.bincount(reps, weights=w * score**2, minlength=n_rep)
    sxy = np.bincount(reps, weights=w * score * case, minlength=n_rep)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = r / n
        t = sxy - r * sx / n
        var = p * (1 - p) * (sxx - sx**2 / n)
        z = t / np.sqrt(var)
    return 2 * stats.norm.sf(np.abs(z))


def calibrate(scenario: Scenario, replicates: int = 200, seed: SeedLike = None) -> pd.DataFrame:
    """Compare a scenario with every target of the paper.

    Parameters
    ----------
    scenario : Scenario
        Usually ``scenarios/paper.toml``.
    replicates : int
        Number of simulated cohorts of the scenario's size (``cohort.n``).
    seed : int, Generator or None
        Root seed; ``None`` uses the scenario's.

    Returns
    -------
    pandas.DataFrame
        Columns ``target, source, paper, simulated, mc_se, tolerance, within, followed``: the
        paper's value, the mean over replicates, its Monte-Carlo SE, the tolerance (module
        doc) and whether the paper's value is within it. ``followed`` is False on rows that show
        the reading of a paper conflict rplsim does *not* follow (a miss there is expected).

    Examples
    --------
    >>> tab = calibrate(load_scenario("scenarios/paper.toml"), replicates=50)  # doctest: +SKIP
    >>> tab[~tab.within & tab.followed]  # doctest: +SKIP
    """
    check_integer("replicates", replicates, 2)
    n = scenario.cohort.n
    seed = scenario.seed if seed is None else seed
    df = generate_cohort(scenario, n=n * int(replicates), seed=seed)
    reps = np.repeat(np.arange(replicates), n)
    rows = cohort_targets(scenario, df, reps, int(replicates))
    for group in _TARGET_GROUPS:
        rows.extend(group(scenario, df, reps, int(replicates), seed))
    return pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS))


def _per_rep(reps: np.ndarray, mask: np.ndarray, n_rep: int, weights: np.ndarray | None = None
             ) -> np.ndarray:
    w = mask.astype(float) if weights is None else np.where(mask, weights, 0.0)
    return np.bincount(reps, weights=w, minlength=n_rep)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _grouped_stat(values: np.ndarray, reps: np.ndarray, mask: np.ndarray, n_rep: int,
                  how: str) -> np.ndarray:
    s = pd.Series(values[mask]).groupby(reps[mask]).agg(how)
    return s.reindex(range(n_rep)).to_numpy(float)


def _fitted_odds_ratios(df: pd.DataFrame, reps: np.ndarray, mask: np.ndarray,
                        n_rep: int) -> dict[str, np.ndarray]:
    """Refit Table 2's logistic model (age, BMI, losses) on each replicate's analysed women."""
    from rplsim.stats.batched import logistic_wald_batched

    sel = np.flatnonzero(mask)
    r = reps[sel]
    counts = np.bincount(r, minlength=n_rep)
    width = int(counts.max()) if counts.size else 0
    pos = np.arange(sel.size) - np.repeat(np.cumsum(counts) - counts, counts)
    cols = ["age", "bmi", "previous_miscarriages"]
    X = np.zeros((n_rep, width, 4))
    y = np.zeros((n_rep, width))
    miss = np.ones((n_rep, width), bool)
    X[r, pos, 0] = 1.0
    X[r, pos, 1:] = df[cols].to_numpy(float)[sel]
    y[r, pos] = df["_live"].to_numpy(float)[sel]
    miss[r, pos] = False
    out = {}
    for j, c in enumerate(cols, start=1):
        beta, _, ok = logistic_wald_batched(X, y, treat_col=j, mask=miss)
        out[c] = np.where(ok, np.exp(beta), np.nan)
    return out


@register_targets
def outcome_targets(scenario: Scenario, df: pd.DataFrame, reps: np.ndarray, n_rep: int,
                    seed: SeedLike) -> list[dict]:
    """Table 2, Table 3, section 3.3-3.9 and Table 1's IVIG dose, on the analysed set."""
    from rplsim.timeline.twin import simulate_twin

    out = simulate_twin(df, scenario, seed)
    live = (out["outcome"] == "live_birth").to_numpy()
    analysed = out["analysed"].to_numpy()
    strat = df["stratum"].cat.codes.to_numpy()
    rows: list[dict] = []
    n_an = {s: _per_rep(reps, analysed & (strat == j), n_rep) for j, s in enumerate(STRATA)}
    lb = {s: _per_rep(reps, analysed & live & (strat == j), n_rep) for j, s in enumerate(STRATA)}
    for s in STRATA:
        n_p, misc_p, kar_p, eup_p, fail_num, fail_den = paper.OUTCOMES[s]
        rows.append(row(f"live-birth rate {s}", f"Table 3, {s}: {n_p - misc_p}/{n_p}",
                        (n_p - misc_p) / n_p, _ratio(lb[s], n_an[s])))
    ab = (strat == 1) | (strat == 3)
    n_ab, lb_ab = _per_rep(reps, analysed & ab, n_rep), _per_rep(reps, analysed & ab & live, n_rep)
    n_no, lb_no = _per_rep(reps, analysed & ~ab, n_rep), _per_rep(reps, analysed & ~ab & live,
                                                                  n_rep)
    rows.append(row("live-birth rate, abnormal (IVIG)", "Table 3: 159/197", 159 / 197,
                    _ratio(lb_ab, n_ab)))
    rows.append(row("live-birth rate, abnormal (IVIG), text reading",
                    "Section 3.3, abstract: 163/197 (conflict, not followed)",
                    paper.LBR_ABNORMAL_TEXT[0] / paper.LBR_ABNORMAL_TEXT[1], _ratio(lb_ab, n_ab),
                    followed=False))
    rows.append(row("live-birth rate, normal immunity", "Section 3.3: 217/269",
                    paper.LBR_NORMAL[0] / paper.LBR_NORMAL[1], _ratio(lb_no, n_no)))
    from rplsim.stats.batched import z_test_counts

    _, p_chi = z_test_counts(lb_ab, np.maximum(n_ab, 1), lb_no, np.maximum(n_no, 1))
    rows.append(row("chi-square p, abnormal vs normal LBR", "Section 3.3 (p = 0.569)",
                    paper.LBR_CHI2_P, p_chi, skewed=True))

    misc = df["previous_miscarriages"].to_numpy()
    four = misc >= 4
    for name, sel in (("all", np.ones_like(four)), ("known", strat <= 1),
                      ("idiopathic", strat >= 2)):
        m = analysed & four & sel
        rows.append(row(f"live-birth rate, >= 4 losses, {name}", "Section 4, Figure 4",
                        paper.LBR_4PLUS[name],
                        _ratio(_per_rep(reps, m & live, n_rep), _per_rep(reps, m, n_rep))))
    prof = df["immune_profile"].astype(str).to_numpy()
    for pname, target in paper.PROFILE_LBR_IA.items():
        m = analysed & (strat == 3) & (prof == pname)
        rows.append(row(f"live-birth rate, IA profile {pname}", "Section 3.3, Figure 3B", target,
                        _ratio(_per_rep(reps, m & live, n_rep), _per_rep(reps, m, n_rep))))

    loss = analysed & ~live
    kar = out["karyotyped"].to_numpy()
    eup = out["euploid"].to_numpy()
    for j, s in enumerate(STRATA):
        n_p, misc_p, kar_p, eup_p, fail_num, fail_den = paper.OUTCOMES[s]
        in_s = strat == j
        n_loss = _per_rep(reps, loss & in_s, n_rep)
        rows.append(row(f"miscarriages {s} (per {n_p} analysed)", f"Table 3, {s}", misc_p,
                        _ratio(n_loss, n_an[s]) * n_p))
        n_kar = _per_rep(reps, loss & in_s & kar, n_rep)
        rows.append(row(f"karyotyped share of losses {s}", f"Table 3, {s}: {kar_p}/{misc_p}",
                        kar_p / misc_p, _ratio(n_kar, n_loss)))
        n_eup = _per_rep(reps, loss & in_s & eup, n_rep)
        rows.append(row(f"euploid share of karyotyped {s}", f"Table 3, {s}: {eup_p}/{kar_p}",
                        eup_p / kar_p, _ratio(n_eup, n_kar)))
        failure = _ratio(n_eup, n_an[s] - (n_loss - n_kar))
        rows.append(row(f"treatment failure {s}", f"Table 3, {s}: {eup_p} euploid/{fail_den}",
                        eup_p / fail_den, failure))
        if fail_num != eup_p:
            rows.append(row(f"treatment failure {s}, printed", f"Table 3, {s}: {fail_num}/"
                            f"{fail_den} (conflict with {eup_p} euploid, not followed)",
                            fail_num / fail_den, failure, followed=False))
    all_loss = _per_rep(reps, loss, n_rep)
    rows.append(row("karyotyped share of all losses", "Section 3.8: 60/90", 60 / 90,
                    _ratio(_per_rep(reps, loss & kar, n_rep), all_loss)))

    grams = out["ivig_grams"].to_numpy(float)
    for s, (mean, sd, lo, hi) in paper.IVIG_DOSE.items():
        m = analysed & (strat == STRATA.index(s))
        for stat, val, how in (("mean", mean, "mean"), ("SD", sd, "std"), ("min", lo, "min"),
                               ("max", hi, "max")):
            rows.append(row(f"total IVIG dose {stat} {s} (g)", f"Table 1, {s}", val,
                            _grouped_stat(grams, reps, m, n_rep, how),
                            skewed=stat in ("min", "max")))

    fit_df = df[["age", "bmi", "previous_miscarriages"]].assign(_live=live)
    for group, sel in (("all", np.ones_like(analysed)), ("known", strat <= 1),
                       ("idiopathic", strat >= 2)):
        ors = _fitted_odds_ratios(fit_df, reps, analysed & sel, n_rep)
        for var, v in ors.items():
            or_p, lo_p, hi_p, _ = paper.TABLE2[group][var]
            rows.append(row(f"odds ratio {var}, {group}", f"Table 2, {group} "
                            f"(95% CI {lo_p}-{hi_p})", or_p, v))
    return rows
