"""The ``rplsim`` console script and ``python -m rplsim``: the command line behind a Ctrl-C guard.

The command line (:mod:`rplsim.app.cli`) loads numpy, pandas, scipy and matplotlib's friends,
about two seconds in which a Ctrl-C used to print a 32-line traceback from deep inside an
import. This module imports nothing heavy itself: it loads the command line inside the guard,
so an interrupt at any instant is one line and exit status 130.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

INTERRUPTED = "rplsim: interrupted; nothing was written."


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns its exit status (130 when interrupted before it started).

    ``rplsim.app.cli.main`` answers a Ctrl-C during a command itself (what was kept, if anything);
    an interrupt that escapes it came before any command ran, so nothing was written.
    """
    try:
        from rplsim.app.cli import main as cli_main

        return cli_main(argv)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
