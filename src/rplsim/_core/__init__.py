"""Shared low-level pieces: random streams, argument checks, the vocabulary every stage uses."""

from __future__ import annotations

from rplsim._core import keys as _keys
from rplsim._core import limits as _limits
from rplsim._core import registry as _registry
from rplsim._core import rng as _rng
from rplsim._core import validation as _validation
from rplsim._core import vocabulary as _vocabulary
from rplsim._core.keys import *  # noqa: F403
from rplsim._core.limits import *  # noqa: F403
from rplsim._core.registry import *  # noqa: F403
from rplsim._core.rng import *  # noqa: F403
from rplsim._core.validation import *  # noqa: F403
from rplsim._core.vocabulary import *  # noqa: F403

__all__ = [
    *_keys.__all__,
    *_limits.__all__,
    *_registry.__all__,
    *_rng.__all__,
    *_validation.__all__,
    *_vocabulary.__all__,
]
