"""How close does a scenario come to the paper? One row a target.

``calibrate`` simulates ``replicates`` cohorts of the paper's size and, for every target,
compares the paper's single value with the distribution of the same statistic over simulated
cohorts. Because women are drawn independently, ``R`` cohorts of size ``n`` are one cohort of
``R·n`` cut into ``R`` consecutive pieces. The targets: :mod:`.cohort_targets` (Table 1,
Figures 2, 5 and 6A) and :mod:`.outcome_targets` (Tables 2 and 3, run through the timeline's
twin); the tolerance of each row: :mod:`.rows`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from rplsim._core.rng import SeedLike
from rplsim._core.validation import check_integer

# PRINTED_PRECISION, Z99 and row stay importable from here, where they were defined before the
# targets moved to their own modules.
from rplsim.calibration.cohort_targets import PRINTED_PRECISION, cohort_targets  # noqa: F401
from rplsim.calibration.outcome_targets import outcome_targets
from rplsim.calibration.rows import CALIBRATION_COLUMNS, Z99, CalibrationRow, row  # noqa: F401
from rplsim.cohort.generate import generate_cohort
from rplsim.scenario import Scenario

__all__ = ["CALIBRATION_COLUMNS", "CalibrationRow", "calibrate", "missed_targets", "register_targets"]

# A target group: f(scenario, cohort frame, replicate index per woman, replicates, seed) -> rows.
# A group may still return plain dicts with the CALIBRATION_COLUMNS keys (the old form).
TargetGroup = Callable[
    [Scenario, pd.DataFrame, np.ndarray, int, SeedLike], list[CalibrationRow] | list[dict[str, Any]]
]
# Extra target groups (outcome model, timeline) register here.
_TARGET_GROUPS: list[TargetGroup] = []


def register_targets(fn: TargetGroup) -> TargetGroup:
    """Add a group of calibration targets computed on the same replicate cohorts.

    Parameters
    ----------
    fn : callable
        ``fn(scenario, cohort, reps, replicates, seed)`` returning a list of
        :class:`CalibrationRow` (or of dicts with the :data:`CALIBRATION_COLUMNS` keys).

    Returns
    -------
    callable
        ``fn`` itself, so this works as a decorator; registering twice adds it once.
    """
    if fn not in _TARGET_GROUPS:
        _TARGET_GROUPS.append(fn)
    return fn


def missed_targets(table: pd.DataFrame) -> pd.DataFrame:
    """The misses of a calibration table: readings rplsim follows that lie outside tolerance.

    The one rule of the terminal summary, the report, its captions and ``repr`` (a reading of a
    paper conflict that rplsim does not follow is listed apart, never counted here).

    Examples
    --------
    >>> t = pd.DataFrame({"target": ["a", "b", "c"], "within": [True, False, False],
    ...                   "followed": [True, True, False]})
    >>> missed_targets(t)["target"].tolist()
    ['b']
    """
    return table[~table["within"].astype(bool) & table["followed"].astype(bool)]


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
        Columns ``target, source, paper, simulated, mc_se, tolerance, within, followed,
        reason``: the paper's value, the mean over replicates, its Monte-Carlo SE, the tolerance
        (module doc) and whether the paper's value is within it. ``followed`` is False on rows
        that show the reading of a paper conflict rplsim does *not* follow (a miss there is
        expected). ``reason`` is empty, except on a target the model cannot reach by
        construction (the parity SD on {0, 1}), a miss that says why.

    Examples
    --------
    >>> from rplsim import load_scenario
    >>> tab = calibrate(load_scenario("scenarios/paper.toml"), replicates=5)
    >>> tab.loc[0, ["target", "source"]].tolist(), float(tab.loc[0, "paper"]), tab.within.dtype.kind
    (['n KN', 'Table 1'], 118.0, 'b')
    """
    check_integer("replicates", replicates, 2)
    n = scenario.cohort.n
    seed = scenario.seed if seed is None else seed
    df = generate_cohort(scenario, n=n * int(replicates), seed=seed)
    reps = np.repeat(np.arange(replicates), n)
    rows: list[CalibrationRow | dict[str, Any]] = [*cohort_targets(scenario, df, reps, int(replicates))]
    for group in _TARGET_GROUPS:
        rows.extend(group(scenario, df, reps, int(replicates), seed))
    records = [asdict(r) if isinstance(r, CalibrationRow) else {"reason": "", **r} for r in rows]
    return pd.DataFrame(records, columns=list(CALIBRATION_COLUMNS))


register_targets(outcome_targets)
