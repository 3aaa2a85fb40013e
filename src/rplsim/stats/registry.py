"""The registry of trial analyses: one function and one entry per analysis.

An analysis turns the data of one look of a batch of simulated trials (:class:`LookData`) into
a p-value and the sign of the estimated effect per replicate. Each entry says which
simulation path it needs (``"counts"``: arm and stratum counts suffice; ``"patients"``: each
woman's covariates) and whether it is conservative (its type-I error may fall below alpha).
The scenario's allowed ``trial.analysis`` values are :data:`ANALYSES` ``.names``, a live view,
so registering an analysis is all it takes to use it::

    def always_when_better(data: LookData) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return np.where(data.x_t > data.x_c, 0.0, 1.0), count_sign(data)

    register_analysis("toy", always_when_better, path="counts")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from rplsim._core.registry import NameView, Registry
from rplsim.exceptions import InvalidArgumentError
from rplsim.stats.boschloo import boschloo_counts
from rplsim.stats.cmh import cmh_test_counts
from rplsim.stats.counts import z_test_counts
from rplsim.stats.fisher import fisher_exact_counts
from rplsim.stats.logistic import logistic_wald_batched
from rplsim.stats.pvalues import Alternative, wald_p

__all__ = [
    "ANALYSES",
    "ANALYSIS_NAMES",
    "Analysis",
    "AnalysisFunction",
    "LookData",
    "count_sign",
    "get_analysis",
    "register_analysis",
    "totals_look",
    "unregister_analysis",
]

Path = Literal["counts", "patients"]


@dataclass(frozen=True)
class LookData:
    """One look of a batch of ``R`` simulated trials, as an analysis sees it.

    Attributes
    ----------
    x_t, n_t, x_c, n_c : numpy.ndarray, shape (R,)
        Live births and analysed women per arm.
    strata_counts : numpy.ndarray, shape (R, 4, S)
        ``x_t, n_t, x_c, n_c`` per eligible stratum.
    alternative : {"two-sided", "larger", "smaller"}
    margin : float
        Non-inferiority margin (0 for superiority).
    X, y, mask : numpy.ndarray or None
        Patient path only, for analyses with ``path == "patients"``: design matrices
        (R, N, p) with the treatment indicator in column 1, outcomes (R, N) and the women to
        leave out (R, N) (dropped out, or not yet enrolled at this look).
    """

    x_t: NDArray[np.int64]
    n_t: NDArray[np.int64]
    x_c: NDArray[np.int64]
    n_c: NDArray[np.int64]
    strata_counts: NDArray[np.int64]
    alternative: Alternative
    margin: float = 0.0
    X: NDArray[np.float64] | None = None
    y: NDArray[np.float64] | None = None
    mask: NDArray[np.bool_] | None = None


AnalysisFunction = Callable[[LookData], tuple[NDArray[np.float64], NDArray[np.float64]]]


@dataclass(frozen=True)
class Analysis:
    """A registered analysis.

    Attributes
    ----------
    name : str
        The value of ``trial.analysis``.
    function : callable
        ``function(data: LookData) -> (p, sign)``, arrays of shape (R,): p-values (NaN counts
        as not significant) and the sign of the estimated effect (positive: treatment better).
    path : {"counts", "patients"}
        The simulation path it needs by default; ``"patients"`` analyses cannot run on counts.
    conservative : bool
        Its type-I error may lie below alpha (so checks test only the upper bound).
    description : str
        One line for the documentation.
    """

    name: str
    function: AnalysisFunction
    path: Path = "counts"
    conservative: bool = False
    description: str = ""


ANALYSES: Registry[Analysis] = Registry("analysis")
#: The registered analysis names, a live view (the scenario's allowed ``trial.analysis``).
ANALYSIS_NAMES: NameView = ANALYSES.names


def register_analysis(
    name: str,
    function: AnalysisFunction,
    *,
    path: Path = "counts",
    conservative: bool = False,
    description: str = "",
    replace: bool = False,
) -> Analysis:
    """Register ``function`` as the analysis ``name`` and return its entry.

    Raises
    ------
    InvalidArgumentError
        If ``name`` is taken (and ``replace`` is false) or ``path`` is unknown.

    Examples
    --------
    >>> def toy(data):
    ...     return np.where(data.x_t > data.x_c, 0.0, 1.0), count_sign(data)
    >>> register_analysis("toy-doc", toy).path
    'counts'
    >>> unregister_analysis("toy-doc").name
    'toy-doc'
    """
    if path not in ("counts", "patients"):
        raise InvalidArgumentError(f"path == {path!r}, must be one of ('counts', 'patients').")
    entry = Analysis(name, function, path, conservative, description)
    ANALYSES.register(name, entry, replace=replace)
    return entry


def unregister_analysis(name: str) -> Analysis:
    """Remove the analysis ``name`` and return its entry."""
    return ANALYSES.unregister(name)


def get_analysis(name: str) -> Analysis:
    """The analysis registered as ``name``.

    Raises
    ------
    InvalidArgumentError
        ``"analysis == 'chi', must be one of ('chi2', 'fisher', 'logistic', 'cmh')."``

    Examples
    --------
    >>> get_analysis("fisher").conservative
    True
    """
    return ANALYSES.lookup(name)


def totals_look(
    seen: NDArray[np.bool_],
    treated: NDArray[np.bool_],
    live: NDArray[np.bool_],
    alternative: Alternative,
    margin: float = 0.0,
    *,
    strata: NDArray[np.int64] | None = None,
    n_strata: int = 1,
    **patients: Any,
) -> LookData:
    """The :class:`LookData` of trials given per woman (R, N): who is analysed (``seen``), who is
    treated and who had a live birth; arm totals per stratum (``strata``: each woman's stratum,
    0 to ``n_strata - 1``; one stratum without it), and ``patients`` (``X``, ``y``, ``mask``)
    for a patient-path analysis.

    Examples
    --------
    >>> seen = np.array([[True, True, True, False]])
    >>> treated, live = np.array([[True, False, True, True]]), np.array([[True, True, False, True]])
    >>> d = totals_look(seen, treated, live, "two-sided")
    >>> d.x_t.tolist(), d.n_t.tolist(), d.x_c.tolist(), d.n_c.tolist()
    ([1], [2], [1], [1])
    >>> two = totals_look(seen, treated, live, "two-sided", strata=np.array([[0, 1, 1, 0]]), n_strata=2)
    >>> two.strata_counts[0].tolist()
    [[1, 0], [1, 1], [0, 1], [0, 1]]
    """
    groups = [seen] if strata is None else [seen & (strata == k) for k in range(n_strata)]
    counts = np.stack(
        [
            np.stack([np.sum(g & treated & live, axis=1), np.sum(g & treated, axis=1),
                      np.sum(g & ~treated & live, axis=1), np.sum(g & ~treated, axis=1)], axis=1)
            for g in groups
        ],
        axis=2,
    )  # fmt: skip
    tot = counts.sum(axis=2)
    return LookData(
        x_t=tot[:, 0], n_t=tot[:, 1], x_c=tot[:, 2], n_c=tot[:, 3], strata_counts=counts,
        alternative=alternative, margin=margin, **patients,
    )  # fmt: skip


def count_sign(data: LookData) -> NDArray[np.float64]:
    """Sign of the observed difference of rates plus the margin (positive: treatment better)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = data.x_t / np.maximum(data.n_t, 1) - data.x_c / np.maximum(data.n_c, 1)
    return np.sign(diff + data.margin)


def _chi2(data: LookData) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    z, p = z_test_counts(
        data.x_t, data.n_t, data.x_c, data.n_c, alternative=data.alternative, margin=data.margin
    )
    return p, np.sign(z)


def _fisher(data: LookData) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    p = fisher_exact_counts(data.x_t, data.n_t, data.x_c, data.n_c, alternative=data.alternative)
    return p, count_sign(data)


def _boschloo(data: LookData) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    if data.margin != 0:
        raise InvalidArgumentError(
            f"analysis boschloo with margin == {data.margin:g}: Boschloo's test is for superiority "
            '(margin 0) only; use analysis "chi2" (Farrington-Manning) for non-inferiority.'
        )
    p = boschloo_counts(data.x_t, data.n_t, data.x_c, data.n_c, alternative=data.alternative)
    return p, count_sign(data)


def _cmh(data: LookData) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    sc = data.strata_counts
    _stat, p = cmh_test_counts(sc[:, 0], sc[:, 1], sc[:, 2], sc[:, 3], alternative=data.alternative)
    return p, count_sign(data)


def _logistic(data: LookData) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    assert data.X is not None and data.y is not None  # path == "patients"
    beta, se, _ok = logistic_wald_batched(data.X, data.y, treat_col=1, mask=data.mask)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = beta / se
    return wald_p(z, data.alternative), np.sign(np.nan_to_num(z))


register_analysis(
    "chi2", _chi2, description="pooled z test (Pearson chi-square), Farrington-Manning with a margin"
)
register_analysis("fisher", _fisher, conservative=True, description="Fisher's exact test")
register_analysis(
    "logistic", _logistic, path="patients", description="logistic regression on age and BMI, Wald test"
)
register_analysis("cmh", _cmh, description="Cochran-Mantel-Haenszel test across eligible strata")
register_analysis(
    "boschloo",
    _boschloo,
    conservative=True,
    description="Boschloo's exact unconditional test (Fisher's p as the statistic, sup over the common rate)",
)
