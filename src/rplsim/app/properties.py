"""The invariants ``rplsim check`` runs: one hypothesis property per stage rule.

Each property is a function ``check(scenario, settings, counter)`` that runs a hypothesis test
(or a single computation) on *that* scenario and appends to ``counter`` once per example. It
fails by raising :class:`CheckFailure` through :func:`require`, never by a bare ``assert``:
``python -O`` strips asserts, and the check must not turn every failure into a pass.

Properties marked *domain* encode the paper's findings rather than mathematical identities
(e.g. "live birth does not become more likely with age or BMI", Table 2, all women); a
scenario that contradicts the paper on purpose will fail them, and that is the point.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from rplsim.cohort.generate import cytotoxicity_high, generate_cohort
from rplsim.cohort.model import PROFILE_NAMES
from rplsim.design.analytic import sample_size
from rplsim.outcome.model import COVARIATES, live_birth_probability, outcome_model
from rplsim.scenario import PROFILE_FIELDS, STRATA, Scenario, load_scenario
from rplsim.scenario.tomlio import dumps_toml
from rplsim.stats.registry import get_analysis
from rplsim.timeline.simulation import simulate_timeline
from rplsim.trial.power import simulate_power

__all__ = ["PROPERTIES", "CheckFailure", "CheckFn", "Counter", "Property", "require"]

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)

# One tick per example a property ran (a list, so the nested hypothesis test can append).
Counter = list[int]
CheckFn = Callable[[Scenario, settings, Counter], None]


class CheckFailure(AssertionError):
    """A property does not hold on the scenario.

    A subclass of ``AssertionError`` so that hypothesis shrinks it like any test failure and
    code that caught ``AssertionError`` from a property still does; unlike ``assert`` it is
    raised under ``python -O`` too.
    """


def require(condition: object, message: str) -> None:
    """Raise :class:`CheckFailure` with ``message`` unless ``condition`` is true.

    Parameters
    ----------
    condition : object
        Tested for truth (a numpy bool is fine).
    message : str
        What went wrong, with the values that show it.

    Raises
    ------
    CheckFailure
        If ``condition`` is false.

    Examples
    --------
    >>> require(1 + 1 == 2, "arithmetic")
    >>> require(False, "nope")
    Traceback (most recent call last):
    ...
    rplsim.app.properties.CheckFailure: nope
    """
    if not condition:
        raise CheckFailure(message)


@dataclass(frozen=True)
class Property:
    """One invariant: ``check(scenario, settings, counter)`` raises CheckFailure on failure."""

    name: str
    stage: str
    description: str
    check: CheckFn
    needs_trial: bool = False


def _cohort_invariants(sc: Scenario, cfg: settings, counter: Counter) -> None:
    @cfg
    @given(n=st.integers(1, 800), seed=SEEDS)
    def prop(n: int, seed: int) -> None:
        counter.append(1)
        df = generate_cohort(sc, n=n, seed=seed)
        require(len(df) == n, f"{len(df)} rows for n = {n}")
        for var in ("age", "bmi", "previous_miscarriages", "parity"):
            for s in STRATA:
                m = getattr(getattr(sc.cohort, var), s)
                x = df.loc[df["stratum"] == s, var]
                require(((x >= m.min) & (x <= m.max)).all(), f"{var} of {s} outside [{m.min}, {m.max}]")
        imm = sc.cohort.immune
        require((df["nk_high"] == (df["nk_percent"] > imm.nk_cutoff)).all(), "NK flag != cut-off")
        require(
            (df["th1_th2_high"] == (df["th1_th2_ratio"] > imm.th1_th2_cutoff)).all(),
            "Th1/Th2 flag != cut-off",
        )
        cyto = cytotoxicity_high(
            df["nk_cytotoxicity_50"].to_numpy(),
            df["nk_cytotoxicity_25"].to_numpy(),
            df["nk_cytotoxicity_12_5"].to_numpy(),
            sc.cohort,
        )
        require((df["nk_cytotoxicity_high"].to_numpy() == cyto).all(), "cytotoxicity flag")
        anyf = df["nk_high"] | df["nk_cytotoxicity_high"] | df["th1_th2_high"]
        require(((df["immunity"] == "abnormal") == anyf).all(), "immunity != any flag")
        code = df["etiology"].astype(str).str[0].str.upper() + df["immunity"].astype(str).str[0].str.upper()
        require((code == df["stratum"].astype(str)).all(), "stratum != etiology x immunity")

    prop()


def _zero_weight_profiles(sc: Scenario, cfg: settings, counter: Counter) -> None:
    banned = {
        ("KA", PROFILE_NAMES[i])
        for i, f in enumerate(PROFILE_FIELDS)
        if getattr(sc.cohort.immune.profiles_known, f) == 0
    }
    banned |= {
        ("IA", PROFILE_NAMES[i])
        for i, f in enumerate(PROFILE_FIELDS)
        if getattr(sc.cohort.immune.profiles_idiopathic, f) == 0
    }

    @cfg
    @given(seed=SEEDS)
    def prop(seed: int) -> None:
        counter.append(1)
        df = generate_cohort(sc, n=2000, seed=seed)
        seen = set(zip(df["stratum"].astype(str), df["immune_profile"].astype(str), strict=True))
        bad = seen & banned
        # Figure 6A re-solves the Th share of KA, so a zero weight there can be overridden.
        bad = {b for b in bad if not (b[0] == "KA" and "Th" in b[1])}
        require(not bad, f"profiles with weight 0 occur: {sorted(bad)}")

    prop()


def _prefix_stable(sc: Scenario, cfg: settings, counter: Counter) -> None:
    @cfg
    @given(k=st.integers(1, 300), extra=st.integers(0, 9000), seed=SEEDS)
    def prop(k: int, extra: int, seed: int) -> None:
        counter.append(1)
        a = generate_cohort(sc, n=k, seed=seed)
        b = generate_cohort(sc, n=k + extra, seed=seed).iloc[:k]
        require(a.equals(b), "the first k women change when more are drawn")

    prop()


def _strata_converge(sc: Scenario, cfg: settings, counter: Counter) -> None:
    """Shares on 50,000 women within 4 SE of the scenario's (false-failure rate < 3e-4)."""
    counter.append(1)
    n = 50_000
    df = generate_cohort(sc, n=n, seed=sc.seed)
    got = df["stratum"].value_counts(normalize=True)
    for s in STRATA:
        p = getattr(sc.cohort.strata, s)
        se = max(np.sqrt(p * (1 - p) / n), 1e-12)
        require(
            abs(got.get(s, 0.0) - p) <= 4 * se + 1e-12,
            f"stratum {s}: share {got.get(s, 0.0):.4f} vs {p:.4f} (4 SE = {4 * se:.4f})",
        )


def _rates_match_targets(sc: Scenario, cfg: settings, counter: Counter) -> None:
    counter.append(1)
    model = outcome_model(sc)
    for i, s in enumerate(STRATA):
        r, _ = model.stratum_rate(i)
        target = getattr(sc.outcome.lbr, s)
        require(abs(r - target) < 1e-8, f"{s}: model rate {r:.10f} vs target {target}")


def _women(sc: Scenario, seed: int, n: int = 64) -> pd.DataFrame:
    return generate_cohort(sc, n=n, seed=seed)


def _probabilities_valid(sc: Scenario, cfg: settings, counter: Counter) -> None:
    model = outcome_model(sc)

    @cfg
    @given(seed=SEEDS)
    def prop(seed: int) -> None:
        counter.append(1)
        p = live_birth_probability(model, _women(sc, seed, 500))
        require(np.all((p > 0) & (p < 1)), "a probability outside (0, 1)")

    prop()


def _monotone(var: str) -> CheckFn:
    def check(sc: Scenario, cfg: settings, counter: Counter) -> None:
        model = outcome_model(sc)

        @cfg
        @given(seed=SEEDS, woman=st.integers(0, 63), step=st.floats(0.1, 5.0))
        def prop(seed: int, woman: int, step: float) -> None:
            counter.append(1)
            df = _women(sc, seed).iloc[[woman]]
            p0 = live_birth_probability(model, df)[0]
            p1 = live_birth_probability(model, df.assign(**{var: df[var] + step}))[0]
            require(
                p1 <= p0 + 1e-12,
                f"P(live birth) rises from {p0:.4f} to {p1:.4f} when {var} rises by {step:.2f} "
                f"(stratum {df['stratum'].iloc[0]}, {var} {df[var].iloc[0]:.2f}): Table 2 "
                f"(all women) has OR < 1 for {var}",
            )

        prop()

    return check


def _odds_ratio_exact(sc: Scenario, cfg: settings, counter: Counter) -> None:
    model = outcome_model(sc)

    @cfg
    @given(seed=SEEDS, woman=st.integers(0, 63), which=st.sampled_from(COVARIATES))
    def prop(seed: int, woman: int, which: str) -> None:
        counter.append(1)
        df = _women(sc, seed).iloc[[woman]]
        p0 = live_birth_probability(model, df)[0]
        p1 = live_birth_probability(model, df.assign(**{which: df[which] + 1}))[0]
        etio = "known" if df["etiology"].iloc[0] == "known" else "idiopathic"
        target = getattr(getattr(sc.outcome, f"odds_ratios_{etio}"), which)
        got = np.exp(special.logit(p1) - special.logit(p0))
        require(abs(got - target) < 1e-6 * target, f"OR per unit {which}: {got} vs {target}")

    prop()


def _timeline_invariants(sc: Scenario, cfg: settings, counter: Counter) -> None:
    prot = sc.protocol

    @cfg
    @given(n=st.integers(1, 120), seed=SEEDS)
    def prop(n: int, seed: int) -> None:
        counter.append(1)
        cohort = generate_cohort(sc, n=n, seed=seed)
        res = simulate_timeline(cohort, sc, seed=seed)
        ev, out = res.events, res.outcomes
        ends = ev[ev["event"].isin(["live_birth", "miscarriage", "stillbirth", "chemical"])]
        require(
            ends["patient_id"].value_counts().max() == 1 and len(ends) == n,
            "not exactly one outcome per woman",
        )
        require(
            (ev.groupby("patient_id")["gestational_week"].diff().dropna() >= -1e-9).all(),
            "events out of time order",
        )
        inf = ev[ev["event"] == "ivig_infusion"].merge(
            out[["patient_id", "outcome_week", "on_ivig"]], on="patient_id"
        )
        require(inf["on_ivig"].all(), "an infusion for a woman not on IVIG")
        require((inf["gestational_week"] < inf["outcome_week"]).all(), "infusion after the end")
        require((inf["gestational_week"] <= prot.ivig_last_week + 1e-9).all(), "after week 30")
        gaps = inf.groupby("patient_id")["gestational_week"].diff().dropna()
        require((gaps >= prot.ivig_interval.min - 1e-9).all(), "infusions too close")
        w = cohort.set_index("patient_id")["weight_kg"]
        dose = out["ivig_infusions"] * prot.ivig_dose_g_per_kg * out["patient_id"].map(w)
        if prot.dose_rounding_g == 0:
            require(np.allclose(out["ivig_grams"], dose), "grams != infusions x 0.4 g/kg x weight")

    prop()


def _ample_clinic(sc: Scenario, cfg: settings, counter: Counter) -> None:
    ample = sc.replace(clinic=replace(sc.clinic, chairs=10_000))

    @cfg
    @given(n=st.integers(1, 150), seed=SEEDS)
    def prop(n: int, seed: int) -> None:
        counter.append(1)
        cohort = generate_cohort(sc, n=n, seed=seed)
        a = simulate_timeline(cohort, sc, seed=seed, events=False).outcomes
        b = simulate_timeline(cohort, ample, seed=seed, events=False).outcomes
        require((a["outcome"] == b["outcome"]).all(), "outcomes depend on clinic capacity")

    prop()


def _analytic_monotone(sc: Scenario, cfg: settings, counter: Counter) -> None:
    base = sc.trial.control_lbr if sc.trial else 0.6

    @cfg
    @given(
        d1=st.floats(0.03, 0.3),
        d2=st.floats(0.03, 0.3),
        a=st.sampled_from([0.01, 0.05, 0.1]),
        pw=st.sampled_from([0.7, 0.8, 0.9]),
    )
    def prop(d1: float, d2: float, a: float, pw: float) -> None:
        counter.append(1)
        lo, hi = sorted((d1, d2))
        if base + hi >= 0.99:
            return
        n_small = sample_size(base, base + lo, alpha=a, power=pw).n_control
        n_big = sample_size(base, base + hi, alpha=a, power=pw).n_control
        require(n_big <= n_small, f"n rises with the effect: {n_small} -> {n_big}")
        n_alpha = sample_size(base, base + hi, alpha=min(0.2, a * 2), power=pw).n_control
        require(n_alpha <= n_big, f"n rises with alpha: {n_big} -> {n_alpha}")
        n_power = sample_size(base, base + hi, alpha=a, power=min(0.95, pw + 0.05)).n_control
        require(n_power >= n_big, f"n falls with the power: {n_big} -> {n_power}")

    prop()


def _type1(sc: Scenario, cfg: settings, counter: Counter) -> None:
    """Type-I error within alpha's 99.9% binomial band (conservative tests only above it)."""
    counter.append(1)
    reps = 4096
    res = simulate_power(sc, replicates=reps)
    t = sc.trial
    if t is None:
        raise CheckFailure("no [trial] section")
    hi = stats.binom.ppf(0.9995, reps, t.alpha) / reps
    lo = stats.binom.ppf(0.0005, reps, t.alpha) / reps
    require(res.type1_error <= hi, f"type-I error {res.type1_error:.4f} > {hi:.4f} (alpha {t.alpha})")
    if not get_analysis(t.analysis).conservative and t.looks == 1:
        require(res.type1_error >= lo, f"type-I error {res.type1_error:.4f} < {lo:.4f}")


def _round_trip(sc: Scenario, cfg: settings, counter: Counter) -> None:
    counter.append(1)
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "s.toml"
        p.write_text(dumps_toml(sc.to_dict()), encoding="utf-8")
        again = load_scenario(p)
    require(again == sc, "the scenario written to TOML and read back differs")


PROPERTIES: tuple[Property, ...] = (
    Property(
        "cohort: rows, ranges, flags = cut-offs, strata",
        "cohort",
        "n rows; values within the scenario's ranges; flags are the cut-offs on the values; "
        "abnormal immunity iff a flag",
        _cohort_invariants,
    ),
    Property(
        "cohort: zero-weight profiles never occur",
        "cohort",
        "e.g. no idiopathic woman with high cytotoxicity and high Th1/Th2",
        _zero_weight_profiles,
    ),
    Property("cohort: first k women independent of n", "cohort", "per-block keyed streams", _prefix_stable),
    Property(
        "cohort: strata shares converge",
        "cohort",
        "50,000 women within 4 SE of the scenario's shares",
        _strata_converge,
    ),
    Property(
        "outcome: stratum rates equal the targets",
        "outcome",
        "quadrature over each stratum's covariates hits outcome.lbr",
        _rates_match_targets,
    ),
    Property("outcome: probabilities in (0, 1)", "outcome", "", _probabilities_valid),
    Property(
        "outcome: odds ratio per unit is the scenario's",
        "outcome",
        "logistic model with Table 2's per-etiology ORs",
        _odds_ratio_exact,
    ),
    Property(
        "outcome: live birth not more likely with age (domain)",
        "outcome",
        "Table 2, all women: OR 0.924 per year",
        _monotone("age"),
    ),
    Property(
        "outcome: live birth not more likely with BMI (domain)",
        "outcome",
        "Table 2, all women: OR 0.920 per kg/m2",
        _monotone("bmi"),
    ),
    Property(
        "timeline: order, one outcome, infusion rules, dose",
        "timeline",
        "Section 2.3 protocol",
        _timeline_invariants,
    ),
    Property(
        "timeline: ample clinic gives the same outcomes",
        "timeline",
        "capacity changes waits, not fates",
        _ample_clinic,
    ),
    Property("power: analytic n monotone in effect, alpha, power", "power", "", _analytic_monotone),
    Property(
        "power: type-I error within alpha's Monte-Carlo band",
        "power",
        "4,096 null trials at the scenario's design",
        _type1,
        needs_trial=True,
    ),
    Property("scenario: TOML round trip", "scenario", "write and read back: equal", _round_trip),
)
