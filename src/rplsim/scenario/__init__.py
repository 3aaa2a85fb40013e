"""The scenario: schema, the frozen Scenario model and its rules, loading, TOML writing, docs."""

from __future__ import annotations

from rplsim.scenario import docs as _docs
from rplsim.scenario import model as _model
from rplsim.scenario import schema as _schema
from rplsim.scenario import tomlio as _tomlio
from rplsim.scenario.docs import *  # noqa: F403
from rplsim.scenario.model import *  # noqa: F403
from rplsim.scenario.schema import *  # noqa: F403
from rplsim.scenario.tomlio import *  # noqa: F403

__all__ = [*_docs.__all__, *_model.__all__, *_schema.__all__, *_tomlio.__all__]
