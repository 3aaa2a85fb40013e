"""The scenario: schema, the section dataclasses, the frozen Scenario model, loading, TOML writing, docs."""

from __future__ import annotations

from rplsim.scenario import cohort_params as _cohort_params
from rplsim.scenario import docs as _docs
from rplsim.scenario import load as _load
from rplsim.scenario import model as _model
from rplsim.scenario import params as _params
from rplsim.scenario import prior_params as _prior_params
from rplsim.scenario import schema as _schema
from rplsim.scenario import tomlio as _tomlio
from rplsim.scenario import trial_params as _trial_params
from rplsim.scenario.cohort_params import *  # noqa: F403
from rplsim.scenario.docs import *  # noqa: F403
from rplsim.scenario.load import *  # noqa: F403
from rplsim.scenario.model import *  # noqa: F403
from rplsim.scenario.params import *  # noqa: F403
from rplsim.scenario.prior_params import *  # noqa: F403
from rplsim.scenario.schema import *  # noqa: F403
from rplsim.scenario.tomlio import *  # noqa: F403
from rplsim.scenario.trial_params import *  # noqa: F403

__all__ = [
    *_cohort_params.__all__,
    *_docs.__all__,
    *_load.__all__,
    *_model.__all__,
    *_params.__all__,
    *_prior_params.__all__,
    *_schema.__all__,
    *_tomlio.__all__,
    *_trial_params.__all__,
]
