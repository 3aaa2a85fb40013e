"""Analytic sample size and power, group-sequential boundaries (no scenario knowledge)."""

from __future__ import annotations

from rplsim.design import analytic as _analytic
from rplsim.design import arms as _arms
from rplsim.design import boundaries as _boundaries
from rplsim.design import exact as _exact
from rplsim.design import exact_counts as _exact_counts
from rplsim.design import exact_sequential as _exact_sequential
from rplsim.design import methods as _methods
from rplsim.design import recursion as _recursion
from rplsim.design import sequential as _sequential
from rplsim.design.analytic import *  # noqa: F403
from rplsim.design.arms import *  # noqa: F403
from rplsim.design.boundaries import *  # noqa: F403
from rplsim.design.exact import *  # noqa: F403
from rplsim.design.exact_counts import *  # noqa: F403
from rplsim.design.exact_sequential import *  # noqa: F403
from rplsim.design.methods import *  # noqa: F403
from rplsim.design.recursion import *  # noqa: F403
from rplsim.design.sequential import *  # noqa: F403

# analytic re-exports a few names of exact and methods (its old home): list each name once.
__all__ = list(
    dict.fromkeys(
        [
            *_analytic.__all__,
            *_arms.__all__,
            *_boundaries.__all__,
            *_exact.__all__,
            *_exact_counts.__all__,
            *_exact_sequential.__all__,
            *_methods.__all__,
            *_recursion.__all__,
            *_sequential.__all__,
        ]
    )
)
