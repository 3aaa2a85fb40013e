"""Old entry point ``python -m rplsim.cli`` (the CLI lives in :mod:`rplsim.app.cli`)."""

import sys
from typing import TYPE_CHECKING, Any

__all__ = ["main"]

if TYPE_CHECKING:
    from rplsim.app.cli import main
else:

    def __getattr__(name: str) -> Any:
        # ``from rplsim.cli import main`` keeps working; loaded on use, so that
        # ``python -m rplsim.cli`` reaches the Ctrl-C guard before the heavy imports.
        if name == "main":
            from rplsim.app.cli import main

            return main
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    from rplsim._entry import main as _guarded

    sys.exit(_guarded())
