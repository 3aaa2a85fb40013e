"""Batched statistical tests on count and patient arrays, and the registry of analyses."""

from __future__ import annotations

from rplsim.stats import cmh as _cmh
from rplsim.stats import counts as _counts
from rplsim.stats import farrington_manning as _farrington_manning
from rplsim.stats import fisher as _fisher
from rplsim.stats import logistic as _logistic
from rplsim.stats import pvalues as _pvalues
from rplsim.stats import registry as _registry
from rplsim.stats.cmh import *  # noqa: F403
from rplsim.stats.counts import *  # noqa: F403
from rplsim.stats.farrington_manning import *  # noqa: F403
from rplsim.stats.fisher import *  # noqa: F403
from rplsim.stats.logistic import *  # noqa: F403
from rplsim.stats.pvalues import *  # noqa: F403
from rplsim.stats.registry import *  # noqa: F403

__all__ = [
    *_pvalues.__all__,
    *_counts.__all__,
    *_farrington_manning.__all__,
    *_fisher.__all__,
    *_cmh.__all__,
    *_logistic.__all__,
    *_registry.__all__,
]
