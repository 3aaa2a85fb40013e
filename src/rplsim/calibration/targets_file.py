"""Calibration targets as data: a documented, user-writable TOML file (issue 18).

A clinic writes its own Table 1 as a targets file; the paper's is shipped as
``scenarios/targets/han2025.toml`` (made by :func:`paper_targets` from :mod:`rplsim.paper`, and
tested equal to it). The format::

    [targets]
    name = "han2025"                       # required
    source = "Han et al. 2025, ..."        # optional
    cohort_n = 466                         # optional: the size of the cohort the values describe

    [[target]]
    key = "age"                            # a variable (VARIABLES)
    statistic = "mean"                     # share | mean | sd | min | max | rate
    stratum = "KN"                         # KN | KA | IN | IA | all | known | idiopathic | abnormal | normal
    value = 32.78
    n = 118                                # women the value was computed on
    source = "Table 1, KN"

Every problem is one line (file, target, key, value, rule, fix) and the CLI exits 2 on it, as for
scenario files; the file is data (TOML), never code.

A target is evaluated (:func:`evaluate_targets`) as the statistic over ``replicates`` simulated
cohorts of ``cohort_n`` women (the scenario's ``cohort.n`` by default): ``simulated`` is its mean,
``se`` the sampling SD of the statistic on the target's own ``n`` women (the paper's single value
is one draw of it) and ``z = (simulated - value) / se``. For a share, rate, mean or SD the SE
comes from all the simulated women pooled (``sd / sqrt(n)``; an SD's by the delta method, from
the fourth moment), which stays precise with few replicates; for a min or max it is the
statistic's SD over the cohorts, times ``sqrt(m / n)`` (``m`` the simulated women it reads in a
cohort). Cohort
variables are read on every woman of the stratum group; ``live_birth`` and ``ivig_grams`` on the
paper's analysed set (live births and miscarriages of adherent women), through the timeline's
twin.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rplsim import paper
from rplsim._core.rng import SeedLike
from rplsim.cohort.generate import generate_cohort
from rplsim.exceptions import ScenarioError
from rplsim.scenario import STRATA, Scenario
from rplsim.scenario.tomlio import dumps_toml
from rplsim.timeline.twin import simulate_twin

__all__ = [
    "GROUPS",
    "STATISTICS",
    "VARIABLES",
    "Target",
    "TargetSet",
    "evaluate_targets",
    "load_targets",
    "paper_targets",
    "targets_toml",
]

#: Cohort columns (numeric) and flags a target may name, and the two outcome quantities.
COHORT_NUMERIC = (
    "age", "bmi", "height_m", "weight_kg", "previous_miscarriages", "parity", "nk_percent",
    "nk_cytotoxicity_50", "nk_cytotoxicity_25", "nk_cytotoxicity_12_5", "th1_th2_ratio",
)  # fmt: skip
COHORT_FLAGS = ("nk_high", "nk_cytotoxicity_high", "th1_th2_high", "abnormal", "ivf", "in_stratum")
OUTCOMES = ("live_birth", "ivig_grams")
VARIABLES = (*COHORT_NUMERIC, *COHORT_FLAGS, *OUTCOMES)
STATISTICS = ("share", "mean", "sd", "min", "max", "rate")
#: Stratum groups: each a set of the four strata.
GROUPS: dict[str, tuple[str, ...]] = {
    **{s: (s,) for s in STRATA},
    "all": tuple(STRATA),
    "known": ("KN", "KA"),
    "idiopathic": ("IN", "IA"),
    "abnormal": ("KA", "IA"),
    "normal": ("KN", "IN"),
}
_FIELDS = ("key", "statistic", "stratum", "value", "n", "source")
_PROPORTIONS = ("share", "rate")


@dataclass(frozen=True)
class Target:
    """One target: ``statistic`` of ``key`` in ``stratum`` was ``value`` on ``n`` women.

    ``key = "in_stratum"`` with ``statistic = "share"`` is the share of all women in the stratum
    (Table 1's strata sizes).
    """

    key: str
    statistic: str
    stratum: str
    value: float
    n: int
    source: str = ""

    @property
    def label(self) -> str:
        """``"<statistic> <key> <stratum>"``, the target's name in tables."""
        return f"{self.statistic} {self.key} {self.stratum}"


@dataclass(frozen=True)
class TargetSet:
    """A targets file: its name, source, the cohort size its values describe, and the targets."""

    name: str
    targets: tuple[Target, ...]
    source: str = ""
    cohort_n: int | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row a target (``key, statistic, stratum, value, n, source``)."""
        return pd.DataFrame([t.__dict__ for t in self.targets], columns=list(_FIELDS))


def _problems(raw: dict[str, Any], label: str) -> tuple[list[str], TargetSet | None]:
    out: list[str] = []
    head = raw.get("targets")
    if not isinstance(head, dict) or not isinstance(head.get("name"), str) or not head["name"].strip():
        out.append(f'{label}: [targets] name is missing; start the file with [targets] name = "my_clinic".')
        head = head if isinstance(head, dict) else {}
    for k in set(raw) - {"targets", "target"}:
        out.append(f"{label}: [{k}] is not a section of a targets file (only [targets] and [[target]]).")
    for k in set(head) - {"name", "source", "cohort_n"}:
        out.append(f"{label}: [targets] {k} is not a key (name, source, cohort_n).")
    cohort_n = head.get("cohort_n")
    if cohort_n is not None and (isinstance(cohort_n, bool) or not isinstance(cohort_n, int) or cohort_n < 2):
        out.append(
            f"{label}: [targets] cohort_n == {cohort_n!r}, must be an integer >= 2 (women in the cohort)."
        )
    rows = raw.get("target", [])
    if not isinstance(rows, list) or not rows:
        out.append(f"{label}: no [[target]] tables; give at least one target.")
        rows = []
    seen: dict[tuple[str, str, str], int] = {}
    targets = []
    for i, row in enumerate(rows, 1):
        where = f"{label}: target {i}"
        if not isinstance(row, dict):
            out.append(f"{where}: must be a [[target]] table.")
            continue
        for k in set(row) - set(_FIELDS):
            out.append(f"{where}: {k} is not a key ({', '.join(_FIELDS)}).")
        bad = _row_problems(row, where)
        out += bad
        if bad:
            continue
        t = Target(row["key"], row["statistic"], row["stratum"], float(row["value"]), int(row["n"]),
                   str(row.get("source", "")))  # fmt: skip
        ident = (t.key, t.statistic, t.stratum)
        if ident in seen:
            out.append(
                f"{where}: {t.statistic} of {t.key} in {t.stratum} is given twice (also target "
                f"{seen[ident]}); keep one."
            )
            continue
        seen[ident] = i
        targets.append(t)
    if out:
        return out, None
    return [], TargetSet(name=head["name"], targets=tuple(targets), source=str(head.get("source", "")),
                         cohort_n=cohort_n)  # fmt: skip


def _row_problems(row: dict[str, Any], where: str) -> list[str]:
    out = []
    for k in ("key", "statistic", "stratum", "value", "n"):
        if k not in row:
            out.append(f"{where}: {k} is missing.")
    if out:
        return out
    key, stat, stratum, value, n = (row[k] for k in ("key", "statistic", "stratum", "value", "n"))
    for name, v in (("key", key), ("statistic", stat), ("stratum", stratum)):
        if not isinstance(v, str):
            out.append(f"{where}: {name} == {v!r}, must be a string.")
    if "source" in row and not isinstance(row["source"], str):
        out.append(f"{where}: source == {row['source']!r}, must be a string.")
    if out:
        return out
    if key not in VARIABLES:
        out.append(f"{where}: key == {key!r} is not a variable; one of {', '.join(VARIABLES)}.")
    if stat not in STATISTICS:
        out.append(f"{where}: statistic == {stat!r}, must be one of {', '.join(STATISTICS)}.")
    if stratum not in GROUPS:
        out.append(f"{where}: stratum == {stratum!r} is unknown; one of {', '.join(GROUPS)}.")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        out.append(f"{where}: n == {n!r}, must be a whole number of women >= 1.")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        out.append(f"{where}: value == {value!r}, must be a finite number.")
        return out
    if stat == "sd" and value < 0:
        out.append(f"{where}: value == {value!r}, an SD must be >= 0.")
    elif key in (*COHORT_NUMERIC, "ivig_grams") and value < 0:
        out.append(f"{where}: value == {value!r}, {key} cannot be negative.")
    if stat in _PROPORTIONS and not 0 <= value <= 1:
        out.append(f"{where}: value == {value!r}, a {stat} must be in [0, 1] (0.25, not 25%).")
    flag = key in COHORT_FLAGS or key == "live_birth"
    if key in VARIABLES and stat in STATISTICS and flag != (stat in _PROPORTIONS):
        need = "share or rate" if flag else "mean, sd, min or max"
        out.append(f"{where}: statistic == {stat!r} does not fit {key}: use {need}.")
    return out


def load_targets(path: str | Path) -> TargetSet:
    """Read and check a targets file (module doc).

    Raises
    ------
    ScenarioError
        Every problem of the file, one line each.

    Examples
    --------
    >>> t = load_targets("scenarios/targets/han2025.toml")
    >>> t.name, len(t.targets) > 40, t.targets[0].label
    ('han2025', True, 'share in_stratum KN')
    """
    p = Path(path)
    label = str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{label}: cannot be read as UTF-8 text ({type(exc).__name__}).") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{label}: TOML syntax error: {exc}.") from None
    problems, out = _problems(raw, label)
    if problems or out is None:
        raise ScenarioError("\n".join(problems))
    return out


def targets_toml(targets: TargetSet, comment: str = "") -> str:
    """The targets file of ``targets`` (what :func:`load_targets` reads back equal), one
    ``[[target]]`` table a target, after ``comment`` lines.

    Examples
    --------
    >>> print(targets_toml(TargetSet("c", (Target("age", "mean", "all", 33.1, 120, "Table 1"),))))
    [targets]
    name = "c"
    <BLANKLINE>
    [[target]]
    key = "age"
    statistic = "mean"
    stratum = "all"
    value = 33.1
    n = 120
    source = "Table 1"
    <BLANKLINE>
    """
    head: dict[str, Any] = {"name": targets.name}
    if targets.source:
        head["source"] = targets.source
    if targets.cohort_n is not None:
        head["cohort_n"] = targets.cohort_n
    parts = [f"# {line}\n" for line in comment.splitlines()] if comment else []
    parts.append(dumps_toml({"targets": head}))
    for t in targets.targets:
        parts.append("\n[[target]]\n" + dumps_toml({k: getattr(t, k) for k in _FIELDS}))
    return "".join(parts)


def paper_targets() -> TargetSet:
    """The paper's targets that the format expresses, from :mod:`rplsim.paper` (Table 1's strata,
    demographics and IVIG doses, Section 3.2's abnormal prevalence, Table 3's live-birth rates).

    Examples
    --------
    >>> sum(t.key == "ivig_grams" for t in paper_targets().targets)
    8
    """
    n = paper.STRATA_N
    total = sum(n.values())
    out = [Target("in_stratum", "share", s, n[s] / total, total, f"Table 1: {n[s]}/{total}") for s in STRATA]
    for var, by in paper.TABLE1.items():
        for s, moments in by.items():
            for stat, v in zip(("mean", "sd", "min", "max"), moments, strict=True):
                out.append(Target(var, stat, s, float(v), n[s], f"Table 1, {s}"))
    groups = {"known": n["KN"] + n["KA"], "idiopathic": n["IN"] + n["IA"]}
    for etiology, share in paper.ABNORMAL_PREVALENCE.items():
        out.append(Target("abnormal", "share", etiology, share, groups[etiology], "Section 3.2, Figure 2"))
    for s, (mean, sd, lo, hi) in paper.IVIG_DOSE.items():
        for stat, v in zip(("mean", "sd", "min", "max"), (mean, sd, lo, hi), strict=True):
            out.append(Target("ivig_grams", stat, s, float(v), n[s], f"Table 1, {s} (total IVIG dose, g)"))
    for s, (m, misc, *_rest) in paper.OUTCOMES.items():
        out.append(Target("live_birth", "rate", s, (m - misc) / m, m, f"Table 3, {s}: {m - misc}/{m}"))
    return TargetSet(name="han2025", targets=tuple(out), source=paper.CITATION, cohort_n=total)


def _values(t: Target, cohort: pd.DataFrame, out: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """The values the target's statistic reads, and which women count (its stratum group)."""
    strata = cohort["stratum"].astype(str).to_numpy()
    group = np.isin(strata, GROUPS[t.stratum])
    if t.key == "in_stratum":
        return group.astype(float), np.ones(group.size, bool)
    if t.key == "abnormal":
        return (cohort["immunity"] == "abnormal").to_numpy(float), group
    if t.key == "ivf":
        return (cohort["conception"] == "ivf").to_numpy(float), group
    if t.key in OUTCOMES:
        assert out is not None
        analysed = out["analysed"].to_numpy(bool)
        if t.key == "live_birth":
            return (out["outcome"] == "live_birth").to_numpy(float), group & analysed
        return out["ivig_grams"].to_numpy(float), group & analysed
    return cohort[t.key].to_numpy(float), group


def _per_replicate(values: np.ndarray, mask: np.ndarray, reps: np.ndarray, r: int, stat: str) -> np.ndarray:
    v, g = values[mask], reps[mask]
    if stat in ("mean", "share", "rate", "sd"):
        count = np.bincount(g, minlength=r).astype(float)
        total = np.bincount(g, weights=v, minlength=r)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean: np.ndarray = total / count
            if stat != "sd":
                return mean
            sq = np.bincount(g, weights=(v - mean[g]) ** 2, minlength=r)
            out: np.ndarray = np.sqrt(sq / (count - 1))
            return out
    res = pd.Series(v).groupby(g).agg(stat).reindex(range(r))
    arr: np.ndarray = res.to_numpy(float)
    return arr


def _sampling_se(v: np.ndarray, stat: str, n: int) -> float:
    """The SE of ``stat`` on ``n`` women drawn as the pooled simulated women ``v`` (all the
    replicates' women: a precise estimate of the law); NaN for min and max. A share, rate or
    mean: ``sd / sqrt(n)``; an SD: the delta method on the sample variance,
    ``sqrt(mu4 - sd^4) / (2 sd sqrt(n))`` (fourth central moment ``mu4``)."""
    if stat not in ("mean", "share", "rate", "sd") or v.size < 2:
        return math.nan
    d = v - v.mean()
    var = float(np.mean(d**2))
    if stat != "sd":
        return math.sqrt(var / n)
    mu4 = float(np.mean(d**4))
    return math.sqrt(max(mu4 - var**2, 0.0) / n) / (2 * math.sqrt(var)) if var > 0 else math.nan


def evaluate_targets(
    scenario: Scenario, targets: TargetSet, replicates: int = 50, seed: SeedLike = None
) -> pd.DataFrame:
    """Each target's statistic over ``replicates`` simulated cohorts (module doc).

    Returns
    -------
    pandas.DataFrame
        ``target, key, statistic, stratum, value, n, source, women, simulated, se, z``
        (``women``: the simulated women the statistic reads in a cohort, on average).

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> t = load_targets("scenarios/targets/han2025.toml")
    >>> res = evaluate_targets(load_scenario("scenarios/paper.toml"), t, replicates=10)
    >>> list(res.columns[-3:]), len(res) == len(t.targets)
    (['simulated', 'se', 'z'], True)
    """
    size = targets.cohort_n or scenario.cohort.n
    r = int(replicates)
    seed = scenario.seed if seed is None else seed
    cohort = generate_cohort(scenario, n=size * r, seed=seed)
    reps = np.repeat(np.arange(r), size)
    needs_outcomes = any(t.key in OUTCOMES for t in targets.targets)
    out = simulate_twin(cohort, scenario, seed) if needs_outcomes else None
    rows = []
    for t in targets.targets:
        values, mask = _values(t, cohort, out)
        per = _per_replicate(values, mask, reps, r, t.statistic)
        per = per[np.isfinite(per)]
        sim = float(per.mean()) if per.size else math.nan
        m = float(mask.sum()) / r
        v = values[mask]
        se = _sampling_se(v[np.isfinite(v)], t.statistic, t.n)
        if se == 0 and t.statistic in ("share", "rate") and 0 < t.value < 1:
            # a simulated share of exactly 0 or 1 has no spread: the target's own binomial SE
            se = math.sqrt(t.value * (1 - t.value) / t.n)
        if se != se and per.size > 1:
            # min, max: the SD over cohorts is that of the statistic on m women; the target's
            # is on its own n
            se = float(per.std(ddof=1)) * math.sqrt(m / t.n)
        z = (
            (sim - t.value) / se
            if se > 0
            else (0.0 if sim == t.value else math.copysign(math.inf, sim - t.value))
        )
        rows.append({"target": t.label, **t.__dict__, "women": m, "simulated": sim, "se": se, "z": z})
    return pd.DataFrame(rows)
