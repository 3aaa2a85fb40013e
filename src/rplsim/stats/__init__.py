"""Batched statistical tests on count and patient arrays (no scenario knowledge)."""

from __future__ import annotations

from rplsim.stats import batched as _batched
from rplsim.stats.batched import *  # noqa: F403

__all__ = [*_batched.__all__]
