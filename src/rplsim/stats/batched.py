"""Vectorised analyses of a simulated two-arm trial, batched over replicates.

Every function takes one value per replicate (arrays of shape ``(R,)``, or ``(R, S)`` for
strata, ``(R, n, p)`` for patient-level designs) and returns arrays of shape ``(R,)``, so a
power run analyses thousands of simulated trials in one call, with no Python loop over
replicates.

This module gathers the tests, each in its own module: :mod:`rplsim.stats.pvalues`
(``wald_p``, ``reject``), :mod:`rplsim.stats.counts` (pooled z / chi-square and the
Farrington-Manning non-inferiority test), :mod:`rplsim.stats.fisher`, :mod:`rplsim.stats.cmh`
and :mod:`rplsim.stats.logistic`; it stays as the home of the old path ``rplsim.analysis``.

Conventions
-----------
* Arm 1 is treatment (IVIG), arm 0 is control; a *success* is a live birth.
* ``x_t`` live births out of ``n_t`` treated women, ``x_c`` out of ``n_c`` controls; ``n`` may be
  a scalar or vary by replicate (drop-out).
* ``alternative`` is ``"two-sided"``, ``"larger"`` (live-birth rate larger with treatment) or
  ``"smaller"``.

The statistics reproduce the library references (tested in ``tests/stats/``):
``scipy.stats.chi2_contingency(correction=False)`` and ``statsmodels proportions_ztest`` for the
pooled z test, ``statsmodels test_proportions_2indep(method="score", correction=False)`` for the
Farrington-Manning non-inferiority test, ``scipy.stats.fisher_exact``,
``statsmodels StratifiedTable.test_null_odds(correction=False)`` and ``statsmodels Logit``.
"""

from __future__ import annotations

from rplsim.stats.cmh import cmh_test_counts
from rplsim.stats.counts import z_test_counts
from rplsim.stats.fisher import fisher_exact_counts
from rplsim.stats.logistic import logistic_wald_batched
from rplsim.stats.pvalues import Alternative, reject, wald_p

__all__ = [
    "Alternative",
    "cmh_test_counts",
    "fisher_exact_counts",
    "logistic_wald_batched",
    "reject",
    "wald_p",
    "z_test_counts",
]
