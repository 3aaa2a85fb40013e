"""The randomised trial: arms, randomisation, block simulation, simulated and exact power, the n
search, solving for the missing quantity and the power curve."""

from __future__ import annotations

from rplsim.trial import calendar as _calendar
from rplsim.trial import calendar_des as _calendar_des
from rplsim.trial import curve as _curve
from rplsim.trial import exact as _exact
from rplsim.trial import formulas as _formulas
from rplsim.trial import power as _power
from rplsim.trial import randomisation as _randomisation
from rplsim.trial import recruitment as _recruitment
from rplsim.trial import reestimation as _reestimation
from rplsim.trial import simulation as _simulation
from rplsim.trial import solve as _solve
from rplsim.trial.calendar import *  # noqa: F403
from rplsim.trial.calendar_des import *  # noqa: F403
from rplsim.trial.curve import *  # noqa: F403
from rplsim.trial.exact import *  # noqa: F403
from rplsim.trial.formulas import *  # noqa: F403
from rplsim.trial.power import *  # noqa: F403
from rplsim.trial.randomisation import *  # noqa: F403
from rplsim.trial.recruitment import *  # noqa: F403
from rplsim.trial.reestimation import *  # noqa: F403
from rplsim.trial.simulation import *  # noqa: F403
from rplsim.trial.solve import *  # noqa: F403

# power lists analytic_power, which lives in formulas: name each once.
__all__ = list(
    dict.fromkeys(
        [
            *_calendar.__all__,
            *_calendar_des.__all__,
            *_curve.__all__,
            *_exact.__all__,
            *_formulas.__all__,
            *_power.__all__,
            *_randomisation.__all__,
            *_recruitment.__all__,
            *_reestimation.__all__,
            *_simulation.__all__,
            *_solve.__all__,
        ]
    )
)
