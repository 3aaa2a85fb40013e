"""``[fit]``: the keys ``rplsim fit`` frees and their bounds (issue 18)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from rplsim.scenario.schema import ParamInfo, iter_params, param
from rplsim.scenario.tomlio import echo_value

__all__ = ["FitParams", "FreeKey", "number_keys"]


@cache
def number_keys() -> dict[str, ParamInfo]:
    """Every number of the scenario schema by its dotted key: what a free key may name (walked
    once: a scenario with [fit] is validated at every evaluation of a fit)."""
    from rplsim.scenario.model import Scenario  # the schema the keys belong to (it holds [fit])

    return {p.path: p for p in iter_params(Scenario) if p.type == "number"}


@dataclass(frozen=True, kw_only=True)
class FreeKey:
    """One key ``rplsim fit`` may move, and the range it searches."""

    key: str = param(doc="a number of the scenario, dotted, e.g. cohort.ivf_share")
    low: float | None = param(None, doc="lowest value searched (default: the key's range)")
    high: float | None = param(None, doc="highest value searched (default: the key's range)")

    def _rules(self) -> list[str]:
        out = []
        if self.key not in number_keys():
            out.append(
                f"key == {echo_value(self.key)} is not a number of the scenario (e.g. cohort.ivf_share)."
            )
        if self.low is not None and self.high is not None and not self.low < self.high:
            out.append(f"low == {self.low}, must be < high ({self.high}).")
        return out


@dataclass(frozen=True, kw_only=True)
class FitParams:
    """``[fit]``: which keys ``rplsim fit`` frees (``--free`` replaces them)."""

    free: list[FreeKey] | None = param(
        None,
        doc="[[fit.free]] tables, one a key (key, low, high); absent = the dose mechanism and the IVF share",
    )
