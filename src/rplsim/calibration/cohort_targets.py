"""Calibration targets of the cohort: Table 1, Figure 2, Figure 6A and the strata sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from rplsim import paper
from rplsim.calibration.rows import CalibrationRow, row
from rplsim.cohort.model import CohortModel, cohort_model
from rplsim.scenario import STRATA, Scenario

__all__ = ["PRINTED_PRECISION", "cohort_targets"]

# Table 1 prints ages in whole years and BMI to one decimal; counts are exact.
PRINTED_PRECISION = {"age": 1.0, "bmi": 0.1}


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
        f: np.ndarray = (ss_between / (k - 1)) / (ss_within / (n - k))
    return f


def _trend_p(
    score: np.ndarray, case: np.ndarray, reps: np.ndarray, sel: np.ndarray, n_rep: int
) -> np.ndarray:
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
    p_two_sided: np.ndarray = 2 * stats.norm.sf(np.abs(z))
    return p_two_sided


def _size_rows(scenario: Scenario, counts: np.ndarray) -> list[CalibrationRow]:
    """Strata and etiology sizes (scaled to the paper's 466 women) and abnormal prevalence."""
    rows: list[CalibrationRow] = []
    n = scenario.cohort.n
    scale = 466 / n
    for j, s in enumerate(STRATA):
        rows.append(row(f"n {s}", "Table 1", paper.STRATA_N[s], counts[:, j] * scale))
    known = counts[:, 0] + counts[:, 1]
    idio = counts[:, 2] + counts[:, 3]
    rows.append(row("n known etiology", "Table 1, section 3.1", 215, known * scale))
    rows.append(row("n idiopathic", "Table 1, section 3.1", 251, idio * scale))
    rows.append(
        row(
            "n known etiology (abstract/2.1 reading)",
            "Abstract, section 2.1 (conflict, not followed)",
            251,
            known * scale,
            followed=False,
        )
    )
    rows.append(
        row(
            "n idiopathic (abstract/2.1 reading)",
            "Abstract, section 2.1 (conflict, not followed)",
            215,
            idio * scale,
            followed=False,
        )
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        rows.append(
            row(
                "abnormal prevalence, known",
                "Section 3.2",
                paper.ABNORMAL_PREVALENCE["known"],
                counts[:, 1] / known,
            )
        )
        rows.append(
            row(
                "abnormal prevalence, idiopathic",
                "Section 3.2",
                paper.ABNORMAL_PREVALENCE["idiopathic"],
                counts[:, 3] / idio,
            )
        )
    return rows


def _table1_rows(
    df: pd.DataFrame, strat: np.ndarray, reps: np.ndarray, n_rep: int, model: CohortModel
) -> list[CalibrationRow]:
    """Table 1: mean, SD, min, max per stratum and the ANOVA F of each covariate; an SD the
    model's support cannot reach (parity on {0, 1}) carries its reason."""
    rows: list[CalibrationRow] = []
    key = reps * 4 + strat
    for var, cells in paper.TABLE1.items():
        x = df[var].to_numpy(dtype=float)
        g = pd.DataFrame({"k": key, "x": x}).groupby("k")["x"]
        agg = g.agg(["mean", "std", "min", "max"]).reindex(range(n_rep * 4))
        for j, s in enumerate(STRATA):
            sub = agg.iloc[j::4]
            for stat_i, stat in enumerate(("mean", "SD", "min", "max")):
                col = ("mean", "std", "min", "max")[stat_i]
                rows.append(
                    row(
                        f"{var} {stat} {s}",
                        f"Table 1, {s}",
                        cells[s][stat_i],
                        sub[col].to_numpy(),
                        skewed=stat in ("min", "max"),
                        precision=PRINTED_PRECISION.get(var, 0.0),
                        reason=model.unreachable_reason(var, s) if stat == "SD" else "",
                    )
                )
        f_val, p_val = paper.ANOVA_F[var]
        f_sim = _anova_f(x, strat, reps, n_rep)
        rows.append(
            row(f"{var} ANOVA F", "Table 1" + (f" (p = {p_val})" if p_val else ""), f_val, f_sim, skewed=True)
        )
    return rows


def _immune_rows(df: pd.DataFrame, strat: np.ndarray, reps: np.ndarray, n_rep: int) -> list[CalibrationRow]:
    """Figure 2's marker shares and order, section 3.3, Figure 6A and Figure 5's trend."""
    rows: list[CalibrationRow] = []
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
            rows.append(
                row(
                    f"high NK alone, {name}",
                    "Section 3.2, Figure 2",
                    paper.NK_ALONE_SHARE[name],
                    share[:, e] / e_n[:, e],
                )
            )
            anyk = np.bincount(ekey, weights=nk_any, minlength=n_rep * 2).reshape(n_rep, 2)
            rows.append(
                row(
                    f"high NK (any profile), {name} (other reading)",
                    "Section 3.2 (not followed: read as NK alone)",
                    paper.NK_ALONE_SHARE[name],
                    anyk[:, e] / e_n[:, e],
                    followed=False,
                )
            )
            c = np.bincount(ekey, weights=cyto_any, minlength=n_rep * 2).reshape(n_rep, 2)
            t = np.bincount(ekey, weights=th_any, minlength=n_rep * 2).reshape(n_rep, 2)
            order = (anyk[:, e] >= c[:, e]) & (c[:, e] >= t[:, e])
            rows.append(
                row(
                    f"order NK >= cytotoxicity >= Th1/Th2, {name} (share of cohorts)",
                    "Section 3.2, Figure 2",
                    1.0,
                    order.astype(float),
                    skewed=True,
                )
            )
        idio_both = (strat >= 2) & cyto_any & th_any
        both = np.bincount(reps, weights=idio_both, minlength=n_rep)
        rows.append(
            row("idiopathic with high cytotoxicity and high Th1/Th2", "Section 3.3", 0.0, both, skewed=True)
        )
        misc = df["previous_miscarriages"].to_numpy()
        for band, mask in (("2-3", misc <= 3), (">=4", misc >= 4)):
            sel = (strat <= 1) & mask
            den = np.bincount(reps, weights=sel, minlength=n_rep)
            num = np.bincount(reps, weights=sel & th_any, minlength=n_rep)
            rows.append(
                row(
                    f"high Th1/Th2, known, {band} losses",
                    "Section 3.7, Figure 6A",
                    paper.TH1_TH2_KNOWN[band],
                    num / den,
                )
            )
        abnormal = (strat == 1) | (strat == 3)
        for name, sel in (("all", np.ones_like(abnormal)), ("known", strat <= 1), ("idiopathic", strat >= 2)):
            rows.append(
                row(
                    f"trend of abnormal immunity with losses, {name} (p)",
                    "Section 3.6, Figure 5 (Cochran-Armitage, losses 2/3/4/>=5)",
                    paper.ABNORMAL_TREND_P[name],
                    _trend_p(np.minimum(misc, 5), abnormal, reps, sel, n_rep),
                    skewed=True,
                )
            )
    return rows


def cohort_targets(
    scenario: Scenario, df: pd.DataFrame, reps: np.ndarray, n_rep: int
) -> list[CalibrationRow]:
    """Targets of Table 1, Figure 2, Figure 6A and the strata sizes.

    Parameters
    ----------
    scenario : Scenario
    df : pandas.DataFrame
        ``n_rep`` cohorts of the scenario's size, one after the other.
    reps : numpy.ndarray
        The replicate index of each row of ``df``.
    n_rep : int
        Number of replicates.

    Returns
    -------
    list of CalibrationRow
    """
    strat = df["stratum"].cat.codes.to_numpy()
    counts = np.bincount(reps * 4 + strat, minlength=n_rep * 4).reshape(n_rep, 4)
    return [
        *_size_rows(scenario, counts),
        *_table1_rows(df, strat, reps, n_rep, cohort_model(scenario.cohort)),
        *_immune_rows(df, strat, reps, n_rep),
    ]
