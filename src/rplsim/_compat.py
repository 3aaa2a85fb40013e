"""Old flat import paths (``rplsim.power``, ``rplsim.analytic``, ...) kept working for this release.

Until 0.2 the package was 30 flat modules; they now live in one subpackage per stage (see
``docs/architecture.md``). A meta-path finder maps each old dotted name onto the module that now
holds its code, so ``import rplsim.power`` returns the very module object ``rplsim.trial.power``
(private names and monkeypatching included) rather than a copy. The old names that became
subpackages (``rplsim.cohort``, ``rplsim.trial``, ...) re-export their old public names instead.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import CodeType, ModuleType

__all__ = ["ALIASES", "install"]

#: old flat module -> the module that holds its code now
ALIASES: dict[str, str] = {
    "rplsim.rng": "rplsim._core.rng",
    "rplsim.validation": "rplsim._core.validation",
    "rplsim.schema": "rplsim.scenario.schema",
    "rplsim.tomlio": "rplsim.scenario.tomlio",
    "rplsim.docs": "rplsim.scenario.docs",
    "rplsim.distributions": "rplsim.cohort.distributions",
    "rplsim.analysis": "rplsim.stats.batched",
    "rplsim.analytic": "rplsim.design.analytic",
    "rplsim.sequential": "rplsim.design.sequential",
    "rplsim.power": "rplsim.trial.power",
    "rplsim.feasibility": "rplsim.planning.feasibility",
    "rplsim.sensitivity": "rplsim.planning.sensitivity",
    "rplsim.results": "rplsim.outputs.folder",
    "rplsim.plots": "rplsim.outputs.plots",
    "rplsim.report": "rplsim.outputs.report",
    "rplsim.executors": "rplsim.sweep.executors",
    "rplsim.strategies": "rplsim.testing.strategies",
    "rplsim.pipeline": "rplsim.app.pipeline",
    "rplsim.check": "rplsim.app.check",
}


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in ALIASES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(ALIASES[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        # The target module was executed when it was imported under its own name.
        return None

    def get_code(self, fullname: str) -> CodeType | None:
        # ``python -m rplsim.docs`` (runpy) runs the target's code as ``__main__``.
        target = importlib.util.find_spec(ALIASES[fullname])
        loader = target.loader if target is not None else None
        if not isinstance(loader, importlib.abc.InspectLoader):
            return None
        return loader.get_code(ALIASES[fullname])

    def is_package(self, fullname: str) -> bool:
        return False


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` once."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.append(_AliasFinder())
