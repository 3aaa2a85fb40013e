"""The outcome model: per-stratum live-birth probabilities and pregnancy fates."""

from __future__ import annotations

from rplsim.outcome import model as _model
from rplsim.outcome.model import *  # noqa: F403

__all__ = [*_model.__all__]
