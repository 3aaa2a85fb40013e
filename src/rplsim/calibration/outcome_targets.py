"""Calibration targets of the outcome model and the timeline (Tables 2 and 3, sections 3.3-3.9).

Computed on the analysed set (neither chemical pregnancies nor stillbirths) of the vectorised
twin of the timeline, run on the same replicate cohorts as the cohort targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rplsim import paper
from rplsim._core.rng import SeedLike
from rplsim.calibration.rows import CalibrationRow, grouped_stat, per_replicate, ratio, row
from rplsim.scenario import STRATA, Scenario
from rplsim.stats.batched import logistic_wald_batched, z_test_counts
from rplsim.timeline import simulate_twin

__all__ = ["outcome_targets"]


@dataclass(frozen=True)
class _Analysed:
    """Per-woman outcome flags and per-replicate denominators shared by the target groups."""

    reps: np.ndarray  # replicate index of each woman
    n_rep: int
    strat: np.ndarray  # stratum code of each woman
    live: np.ndarray  # live birth
    analysed: np.ndarray  # in the paper's analysed set
    n_an: dict[str, np.ndarray]  # analysed women per replicate, by stratum

    def count(self, mask: np.ndarray) -> np.ndarray:
        return per_replicate(self.reps, mask, self.n_rep)


def _fitted_odds_ratios(
    df: pd.DataFrame, reps: np.ndarray, mask: np.ndarray, n_rep: int
) -> dict[str, np.ndarray]:
    """Refit Table 2's logistic model (age, BMI, losses) on each replicate's analysed women."""
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


def _live_birth_rows(df: pd.DataFrame, a: _Analysed) -> list[CalibrationRow]:
    """Table 3's rates, abnormal vs normal immunity (section 3.3), >= 4 losses, IA profiles."""
    strat, live, analysed = a.strat, a.live, a.analysed
    rows: list[CalibrationRow] = []
    lb = {s: a.count(analysed & live & (strat == j)) for j, s in enumerate(STRATA)}
    for s in STRATA:
        n_p, misc_p = paper.OUTCOMES[s][:2]
        rows.append(
            row(
                f"live-birth rate {s}",
                f"Table 3, {s}: {n_p - misc_p}/{n_p}",
                (n_p - misc_p) / n_p,
                ratio(lb[s], a.n_an[s]),
            )
        )
    ab = (strat == 1) | (strat == 3)
    n_ab, lb_ab = a.count(analysed & ab), a.count(analysed & ab & live)
    n_no, lb_no = a.count(analysed & ~ab), a.count(analysed & ~ab & live)
    rows.append(row("live-birth rate, abnormal (IVIG)", "Table 3: 159/197", 159 / 197, ratio(lb_ab, n_ab)))
    rows.append(
        row(
            "live-birth rate, abnormal (IVIG), text reading",
            "Section 3.3, abstract: 163/197 (conflict, not followed)",
            paper.LBR_ABNORMAL_TEXT[0] / paper.LBR_ABNORMAL_TEXT[1],
            ratio(lb_ab, n_ab),
            followed=False,
        )
    )
    rows.append(
        row(
            "live-birth rate, normal immunity",
            "Section 3.3: 217/269",
            paper.LBR_NORMAL[0] / paper.LBR_NORMAL[1],
            ratio(lb_no, n_no),
        )
    )
    _, p_chi = z_test_counts(lb_ab, np.maximum(n_ab, 1), lb_no, np.maximum(n_no, 1))
    rows.append(
        row(
            "chi-square p, abnormal vs normal LBR",
            "Section 3.3 (p = 0.569)",
            paper.LBR_CHI2_P,
            p_chi,
            skewed=True,
        )
    )

    four = df["previous_miscarriages"].to_numpy() >= 4
    for name, sel in (("all", np.ones_like(four)), ("known", strat <= 1), ("idiopathic", strat >= 2)):
        m = analysed & four & sel
        rows.append(
            row(
                f"live-birth rate, >= 4 losses, {name}",
                "Section 4, Figure 4",
                paper.LBR_4PLUS[name],
                ratio(a.count(m & live), a.count(m)),
            )
        )
    prof = df["immune_profile"].astype(str).to_numpy()
    for pname, target in paper.PROFILE_LBR_IA.items():
        m = analysed & (strat == 3) & (prof == pname)
        rows.append(
            row(
                f"live-birth rate, IA profile {pname}",
                "Section 3.3, Figure 3B",
                target,
                ratio(a.count(m & live), a.count(m)),
            )
        )
    return rows


def _loss_rows(out: pd.DataFrame, a: _Analysed) -> list[CalibrationRow]:
    """Table 3's miscarriages, karyotyping, euploidy and treatment failure; section 3.8."""
    rows: list[CalibrationRow] = []
    loss = a.analysed & ~a.live
    kar = out["karyotyped"].to_numpy()
    eup = out["euploid"].to_numpy()
    for j, s in enumerate(STRATA):
        n_p, misc_p, kar_p, eup_p, fail_num, fail_den = paper.OUTCOMES[s]
        in_s = a.strat == j
        n_loss = a.count(loss & in_s)
        rows.append(
            row(
                f"miscarriages {s} (per {n_p} analysed)",
                f"Table 3, {s}",
                misc_p,
                ratio(n_loss, a.n_an[s]) * n_p,
            )
        )
        n_kar = a.count(loss & in_s & kar)
        rows.append(
            row(
                f"karyotyped share of losses {s}",
                f"Table 3, {s}: {kar_p}/{misc_p}",
                kar_p / misc_p,
                ratio(n_kar, n_loss),
            )
        )
        n_eup = a.count(loss & in_s & eup)
        rows.append(
            row(
                f"euploid share of karyotyped {s}",
                f"Table 3, {s}: {eup_p}/{kar_p}",
                eup_p / kar_p,
                ratio(n_eup, n_kar),
            )
        )
        failure = ratio(n_eup, a.n_an[s] - (n_loss - n_kar))
        rows.append(
            row(
                f"treatment failure {s}",
                f"Table 3, {s}: {eup_p} euploid/{fail_den}",
                eup_p / fail_den,
                failure,
            )
        )
        if fail_num != eup_p:
            rows.append(
                row(
                    f"treatment failure {s}, printed",
                    f"Table 3, {s}: {fail_num}/{fail_den} (conflict with {eup_p} euploid, not followed)",
                    fail_num / fail_den,
                    failure,
                    followed=False,
                )
            )
    rows.append(
        row(
            "karyotyped share of all losses",
            "Section 3.8: 60/90",
            60 / 90,
            ratio(a.count(loss & kar), a.count(loss)),
        )
    )
    return rows


def _dose_rows(out: pd.DataFrame, a: _Analysed) -> list[CalibrationRow]:
    """Table 1's total IVIG dose per abnormal stratum."""
    rows: list[CalibrationRow] = []
    grams = out["ivig_grams"].to_numpy(float)
    for s, (mean, sd, lo, hi) in paper.IVIG_DOSE.items():
        m = a.analysed & (a.strat == STRATA.index(s))
        for stat, val, how in (
            ("mean", mean, "mean"),
            ("SD", sd, "std"),
            ("min", lo, "min"),
            ("max", hi, "max"),
        ):
            rows.append(
                row(
                    f"total IVIG dose {stat} {s} (g)",
                    f"Table 1, {s}",
                    val,
                    grouped_stat(grams, a.reps, m, a.n_rep, how),
                    skewed=stat in ("min", "max"),
                )
            )
    return rows


def _odds_ratio_rows(df: pd.DataFrame, a: _Analysed) -> list[CalibrationRow]:
    """Table 2: the logistic model refitted on each replicate, all women and per etiology."""
    rows: list[CalibrationRow] = []
    fit_df = df[["age", "bmi", "previous_miscarriages"]].assign(_live=a.live)
    for group, sel in (
        ("all", np.ones_like(a.analysed)),
        ("known", a.strat <= 1),
        ("idiopathic", a.strat >= 2),
    ):
        ors = _fitted_odds_ratios(fit_df, a.reps, a.analysed & sel, a.n_rep)
        for var, v in ors.items():
            or_p, lo_p, hi_p, _ = paper.TABLE2[group][var]
            rows.append(
                row(f"odds ratio {var}, {group}", f"Table 2, {group} (95% CI {lo_p}-{hi_p})", or_p, v)
            )
    return rows


def outcome_targets(
    scenario: Scenario, df: pd.DataFrame, reps: np.ndarray, n_rep: int, seed: SeedLike
) -> list[CalibrationRow]:
    """Table 2, Table 3, section 3.3-3.9 and Table 1's IVIG dose, on the analysed set.

    Parameters
    ----------
    scenario : Scenario
    df : pandas.DataFrame
        ``n_rep`` cohorts of the scenario's size, one after the other.
    reps : numpy.ndarray
        The replicate index of each row of ``df``.
    n_rep : int
        Number of replicates.
    seed : int, Generator, SeedSequence or None
        Root seed of the twin's outcome draws.

    Returns
    -------
    list of CalibrationRow
    """
    out = simulate_twin(df, scenario, seed)
    live = (out["outcome"] == "live_birth").to_numpy()
    analysed = out["analysed"].to_numpy()
    strat = df["stratum"].cat.codes.to_numpy()
    n_an = {s: per_replicate(reps, analysed & (strat == j), n_rep) for j, s in enumerate(STRATA)}
    a = _Analysed(reps=reps, n_rep=n_rep, strat=strat, live=live, analysed=analysed, n_an=n_an)
    return [*_live_birth_rows(df, a), *_loss_rows(out, a), *_dose_rows(out, a), *_odds_ratio_rows(df, a)]
