"""How many centres recruit the trial in time (``rplsim centres``; issue 17 groundwork).

The scenario's ``[recruitment]`` as a multi-centre Poisson-gamma recruitment model
(:class:`rplsim.design.accrual.Accrual`): ``centres`` open evenly over ``activation_months``, each
sees RPL women at a rate drawn around ``rpl_women_per_centre_year`` with ``centre_rate_cv``, a seen
woman is randomised with the probability of the screening funnel of :mod:`rplsim.planning.feasibility`
(work-up x index pregnancy x eligible x consent, :func:`randomised_share`), after a mean of
``months_to_pregnancy`` months. :func:`find_centres` is the smallest number of centres for which
the trial's randomised women are all recruited within ``years`` with at least ``probability``:
in closed form when every centre opens at once and there is no delay, else by simulation with
common random numbers across the numbers of centres tried.

The time counted is from the first centre's opening to the last randomisation (the trial's
recruitment period); its outcomes come some 8 months later (the calendar of a whole trial is the
rest of issue 17).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from rplsim._core.display import Displayed
from rplsim._core.rng import SeedLike, child_generator, root_entropy
from rplsim.design.accrual import simulate_time_to_randomise, time_to_randomise
from rplsim.exceptions import ScenarioError
from rplsim.scenario import Scenario
from rplsim.trial import find_sample_size, treatment_size
from rplsim.trial.recruitment import randomised_share, scenario_accrual

__all__ = ["MAX_CENTRES", "CentresAnswer", "find_centres", "randomised_share", "scenario_accrual"]

#: The search of :func:`find_centres` looks no further (one line says so).
MAX_CENTRES = 1000


@dataclass(frozen=True, repr=False)
class CentresAnswer(Displayed):
    """The answer of :func:`find_centres`.

    Attributes
    ----------
    centres : int
        Smallest number of centres recruiting ``n_randomised`` women within ``years`` with at
        least ``probability``.
    achieved : float
        P(recruitment within ``years``) at ``centres``.
    years, probability : float
        As asked.
    n_randomised : int
        Women to randomise (both arms).
    median_years, p90_years : float
        Median and 90th percentile of the recruitment time at ``centres``.
    method : str
        ``"closed form"`` or ``"simulated, N trials"``.
    curve : pandas.DataFrame
        ``centres, probability, median_years, p90_years`` at every number of centres evaluated.

    Examples
    --------
    >>> from rplsim import find_centres, load_scenario
    >>> ans = find_centres(load_scenario("scenarios/paper.toml"), years=5)
    >>> ans.centres, round(ans.achieved, 3) >= 0.8, list(ans.to_frame().columns)[:2]
    (5, True, ['centres', 'probability'])
    """

    centres: int
    achieved: float
    years: float
    probability: float
    n_randomised: int
    median_years: float
    p90_years: float
    method: str
    curve: pd.DataFrame

    def _display_title(self) -> str:
        return f"Centres to recruit {self.n_randomised:,} women in {self.years:g} years"

    def _display_rows(self) -> list[tuple[str, str]]:
        return [
            ("centres", f"{self.centres}"),
            ("P(within the years)", f"{self.achieved:.3f} (target {self.probability:.0%})"),
            ("recruitment time", f"median {self.median_years:.2f} y, 90th percentile {self.p90_years:.2f} y"),
            ("method", self.method),
        ]

    def to_frame(self) -> pd.DataFrame:
        """The curve: P(within the years) at every number of centres evaluated."""
        return self.curve

    def sentence(self) -> str:
        """The answer in one sentence."""
        unit = "centre" if self.centres == 1 else "centres"
        return (
            f"Randomising {self.n_randomised:,} women within {self.years:g} years with at least "
            f"{self.probability:.0%} probability needs {self.centres} {unit} (P = {self.achieved:.3f}; "
            f"median {self.median_years:.1f} years, 90th percentile {self.p90_years:.1f}; "
            f"{self.method})."
        )


def find_centres(
    scenario: Scenario,
    years: float,
    probability: float = 0.8,
    *,
    n_randomised: int | None = None,
    replicates: int = 20_000,
    seed: SeedLike = None,
    method: str = "auto",
) -> CentresAnswer:
    """The smallest number of centres that randomise the trial within ``years`` with ``probability``.

    Parameters
    ----------
    scenario : Scenario
        Its ``[recruitment]`` and ``[trial]``.
    years : float
        Recruitment period allowed (from the first centre's opening).
    probability : float, default 0.8
        Required probability of finishing within ``years``, in (0, 1).
    n_randomised : int, optional
        Women to randomise (both arms); default the trial's n (:func:`rplsim.find_sample_size`,
        or ``trial.n_per_arm``) with its treated arm.
    replicates : int, default 20000
        Simulated trials per number of centres (simulated path only).
    seed : int, optional
        Root seed (default the scenario's).
    method : {"auto", "simulated"}, default "auto"
        ``auto``: the closed form where it applies (every centre open at once, no delay), else
        simulated; ``simulated`` always simulates (the check of the closed form).

    Returns
    -------
    CentresAnswer

    Raises
    ------
    ScenarioError
        Bad ``years`` or ``probability``, or more than :data:`MAX_CENTRES` centres needed.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> ans = find_centres(load_scenario("scenarios/paper.toml"), years=3)
    >>> ans.centres, ans.n_randomised, ans.method
    (8, 166, 'closed form')
    """
    if not (math.isfinite(years) and years > 0):
        raise ScenarioError(f"years == {years!r}, must be a number of years > 0, e.g. 3.")
    if not 0.0 < probability < 1.0:
        raise ScenarioError(f"probability == {probability!r}, must be in (0, 1), e.g. 0.8.")
    trial = scenario.require_trial()
    if n_randomised is None:
        n_c = trial.n_per_arm or find_sample_size(scenario).n_per_arm
        n_randomised = n_c + treatment_size(trial, n_c)
    if method not in ("auto", "simulated"):
        raise ScenarioError(f'method == "{method}", must be "auto" or "simulated".')
    base = scenario_accrual(scenario)
    entropy = root_entropy(scenario.seed if seed is None else seed)
    closed = base.closed_form and method == "auto"
    how = "closed form" if closed else f"simulated, {replicates:,} trials"
    known: dict[int, tuple[float, float, float]] = {}

    def at(c: int) -> tuple[float, float, float]:
        if c not in known:
            acc = replace(base, centres=c)
            if closed:
                d = time_to_randomise(acc, n_randomised)
                known[c] = (float(d.cdf(years)), float(d.median()), float(d.ppf(0.9)))
            else:  # the same stream at every c: common random numbers along the search
                t = simulate_time_to_randomise(
                    acc, n_randomised, replicates, child_generator(entropy, "centres")
                )
                known[c] = (float(np.mean(t <= years)), float(np.median(t)), float(np.quantile(t, 0.9)))
        return known[c]

    lo, hi = 0, 1
    while at(hi)[0] < probability:
        lo, hi = hi, hi * 2
        if hi > MAX_CENTRES:
            p_max = at(MAX_CENTRES)[0]
            if p_max < probability:
                raise ScenarioError(
                    f"{scenario.name}: even {MAX_CENTRES} centres recruit {n_randomised:,} women within "
                    f"{years:g} years with probability {p_max:.2f} only (below {probability:.0%}): "
                    "allow more years (a delay or a slow opening sets a floor)."
                )
            hi = MAX_CENTRES
            break
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if at(mid)[0] < probability else (lo, mid)
    p, med, p90 = at(hi)
    curve = pd.DataFrame(
        [
            {"centres": c, "probability": v[0], "median_years": v[1], "p90_years": v[2]}
            for c, v in sorted(known.items())
        ]
    )
    return CentresAnswer(
        centres=hi, achieved=p, years=float(years), probability=float(probability),
        n_randomised=int(n_randomised), median_years=med, p90_years=p90, method=how, curve=curve,
    )  # fmt: skip
