"""The page's inputs: which scenario keys it shows, their values as text, and the page's state.

A page's state is a query string (``scenario=paper.toml&control_lbr=0.55&alpha=0.05``): the
page writes it to its own URL and sends it to every ``/api/`` call, so a link reproduces the
view and another tool calls the API with the same words. Each input is one scenario key, and
its text goes to :func:`rplsim.load_scenario` as the command line's ``--set KEY=TEXT`` does,
so a bad value gets the CLI's own one-line rule text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rplsim._core.limits import MAX_REPLICATES
from rplsim._core.vocabulary import ALTERNATIVES
from rplsim.design.sequential import BOUNDARIES
from rplsim.exceptions import ScenarioError
from rplsim.scenario import Scenario, load_scenario
from rplsim.scenario.load import parse_overrides, resolve_scenario
from rplsim.stats.registry import ANALYSIS_NAMES

__all__ = [
    "FIELDS",
    "Field",
    "PageState",
    "ScenarioFiles",
    "field_problems",
    "field_values",
    "parse_state",
]

SIMULATE_PARAMS = ("replicates",)
"""Query parameters that are not scenario keys (the Simulate button's replicate count)."""


@dataclass(frozen=True)
class Field:
    """One input of the page: the query parameter ``param`` sets the scenario key ``key``.

    ``kind`` is ``number``, ``integer``, ``choice`` (one of ``choices``) or ``toml`` (an inline
    TOML value such as ``{ beta = [10, 10] }``, for a prior).
    """

    param: str
    key: str
    label: str
    kind: str = "number"
    choices: tuple[str, ...] = ()
    group: str = "trial"


FIELDS: tuple[Field, ...] = (
    Field("control_lbr", "trial.control_lbr", "Placebo live-birth rate"),
    Field("treatment_lbr", "trial.treatment_lbr", "IVIG live-birth rate"),
    Field("ivig_odds_ratio", "trial.ivig_odds_ratio", "IVIG odds ratio"),
    Field("margin", "trial.margin", "Non-inferiority margin"),
    Field("alpha", "trial.alpha", "Alpha"),
    Field("alternative", "trial.alternative", "Sidedness", "choice", ALTERNATIVES),
    Field("power", "trial.power", "Target power"),
    Field("dropout", "trial.dropout", "Dropout"),
    Field("allocation_ratio", "trial.allocation_ratio", "Allocation (IVIG : placebo)"),
    Field("looks", "trial.looks", "Looks (analyses)", "integer"),
    Field("boundary", "trial.boundary", "Boundary", "choice", tuple(BOUNDARIES)),
    Field("analysis", "trial.analysis", "Analysis", "choice", tuple(ANALYSIS_NAMES)),
    Field("centres", "recruitment.centres", "Centres", "integer", group="recruitment"),
    Field(
        "rpl_women_per_centre_year",
        "recruitment.rpl_women_per_centre_year",
        "RPL women per centre-year",
        group="recruitment",
    ),
    Field("consent_share", "recruitment.consent_share", "Consent share", group="recruitment"),
    Field("prior_control_lbr", "prior.control_lbr", "Prior on the placebo rate", "toml", group="prior"),
    Field("prior_treatment_lbr", "prior.treatment_lbr", "Prior on the IVIG rate", "toml", group="prior"),
    Field("prior_ivig_odds_ratio", "prior.ivig_odds_ratio", "Prior on the odds ratio", "toml", group="prior"),
    Field(
        "prior_ivig_relative_risk",
        "prior.ivig_relative_risk",
        "Prior on the relative risk",
        "toml",
        group="prior",
    ),
)
_BY_PARAM = {f.param: f for f in FIELDS}


def _text(value: Any, inner: bool = False) -> str:
    """A value as the text of its field: shortest round-trip floats, bare choices, inline TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "nan")
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' if inner else value
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_text(v, True)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_text(v, True) for v in value) + "]"
    return str(value)


def _dotted(data: Mapping[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


class ScenarioFiles:
    """The scenario files a server offers: every ``*.toml`` of a folder, by file name.

    Only these files are read: a request names one by its name, never by a path.

    Examples
    --------
    >>> files = ScenarioFiles("scenarios")
    >>> "paper.toml" in files.names(), files.path("paper.toml").name
    (True, 'paper.toml')
    """

    def __init__(self, folder: str | Path, extra: str | Path | None = None) -> None:
        self._paths = {p.name: p for p in sorted(Path(folder).glob("*.toml"))}
        if extra is not None and Path(extra).name not in self._paths:
            self._paths[Path(extra).name] = Path(extra)
        self._base: dict[str, Scenario] = {}
        self._raw: dict[str, dict[str, Any]] = {}

    def names(self) -> list[str]:
        """The file names, sorted."""
        return sorted(self._paths)

    def path(self, name: str) -> Path:
        """The file called ``name``; a ScenarioError naming the files offered if there is none."""
        if name not in self._paths:
            raise ScenarioError(
                f"scenario == {name!r}, must be one of {', '.join(self.names())} (the files this "
                "server offers)."
            )
        return self._paths[name]

    def base(self, name: str) -> Scenario:
        """The file's scenario as written (no input changed), loaded once."""
        if name not in self._base:
            self._base[name] = load_scenario(self.path(name))
        return self._base[name]

    def raw(self, name: str) -> dict[str, Any]:
        """The file's resolved data (``extends`` followed), before validation."""
        if name not in self._raw:
            self._raw[name] = resolve_scenario(self.path(name))
        return self._raw[name]


def _value(files: ScenarioFiles, name: str, f: Field) -> Any:
    """The value of ``f``'s key in file ``name``: as written, else the schema default."""
    raw = _dotted(files.raw(name), f.key)
    if raw is not None:
        return raw
    section, leaf = f.key.split(".")
    part = getattr(files.base(name), section, None)
    return None if part is None else getattr(part, leaf, None)


def field_values(files: ScenarioFiles, name: str) -> list[dict[str, Any]]:
    """The fields the page shows for file ``name``, each with its value as text.

    A field is left out when its key is unset and not set by a default (the odds ratio of a
    scenario that gives the IVIG rate, a margin outside non-inferiority, a prior the scenario
    does not have): the page offers what the file describes.

    Examples
    --------
    >>> rows = field_values(ScenarioFiles("scenarios"), "paper.toml")
    >>> [(r["param"], r["value"]) for r in rows][:3]
    [('control_lbr', '0.6'), ('treatment_lbr', '0.807'), ('alpha', '0.05')]
    """
    out = []
    for f in FIELDS:
        value = _value(files, name, f)
        if value is None:
            continue
        out.append(
            {
                "param": f.param,
                "key": f.key,
                "label": f.label,
                "kind": f.kind,
                "choices": list(f.choices),
                "group": f.group,
                "value": _text(value),
            }
        )
    return out


@dataclass(frozen=True)
class PageState:
    """A page's state: the file, the ``--set`` items of the inputs that differ from it, and the
    Simulate replicate count (None: ``trial.replicates``)."""

    scenario: str
    items: tuple[str, ...]
    replicates: int | None = None

    def load(self, files: ScenarioFiles) -> Scenario:
        """The scenario of this state (every problem a :class:`ScenarioError`, one line each)."""
        if not self.items:
            return files.base(self.scenario)
        return load_scenario(files.path(self.scenario), list(self.items))


def parse_state(query: Mapping[str, str], files: ScenarioFiles) -> PageState:
    """The state a query string describes (the module doc).

    Parameters
    ----------
    query : mapping of str to str
        ``scenario`` (a file name of ``files``), any :data:`FIELDS` parameter, ``replicates``.
    files : ScenarioFiles

    Returns
    -------
    PageState
        Inputs equal to the file's value are dropped, so an unchanged rate keeps the source
        the file cites for it.

    Raises
    ------
    ScenarioError
        An unknown file or parameter, or a bad ``replicates``. A bad *value* of a field is
        reported by :meth:`PageState.load`, as the CLI reports it.

    Examples
    --------
    >>> files = ScenarioFiles("scenarios")
    >>> parse_state({"scenario": "paper.toml", "control_lbr": "0.55", "alpha": "0.05"}, files)
    PageState(scenario='paper.toml', items=('trial.control_lbr=0.55',), replicates=None)
    """
    name = query.get("scenario", "")
    files.path(name)
    unknown = [k for k in query if k != "scenario" and k not in _BY_PARAM and k not in SIMULATE_PARAMS]
    if unknown:
        raise ScenarioError(
            f"{unknown[0]}: not an input of the page; the inputs are "
            f"{', '.join(f.param for f in FIELDS)}, and replicates."
        )
    items = []
    for f in FIELDS:
        if f.param not in query:
            continue
        item = f"{f.key}={query[f.param]}"
        try:
            given = _dotted(parse_overrides([item]), f.key)
        except ScenarioError:
            given = object()  # unparsable: load_scenario reports it in the CLI's words
        if given != _value(files, name, f):
            items.append(item)
    return PageState(name, tuple(items), _replicates(query.get("replicates")))


def _replicates(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 1 <= value <= MAX_REPLICATES:
        raise ScenarioError(f"replicates == {text!r}, must be an integer from 1 to {MAX_REPLICATES:,}.")
    return value


def field_problems(problems: list[str]) -> dict[str, list[str]]:
    """Each problem line under the field whose key it names (``""``: no field, the page's
    general box).

    Examples
    --------
    >>> field_problems(["--set trial.alpha=x: trial.alpha == \\"x\\", must be a number."])
    {'alpha': ['--set trial.alpha=x: trial.alpha == "x", must be a number.']}
    >>> list(field_problems(["--set trial.treatment_lbr=0.5: trial.treatment_lbr == 0.5 is below "
    ...                      "trial.control_lbr == 0.6"]))
    ['treatment_lbr']
    """
    out: dict[str, list[str]] = {}
    for line in problems:
        # the field the line starts with (its --set KEY=) before any other key it mentions: a
        # cross-field rule ("treatment_lbr ... is below trial.control_lbr") is the moved field's
        param = next((f.param for f in FIELDS if line.startswith(f"--set {f.key}=")), "")
        param = param or next((f.param for f in FIELDS if f" {f.key} ==" in line), "")
        out.setdefault(param, []).append(line)
    return out
