"""The ``rplsim`` console script and ``python -m rplsim``: the command line behind a Ctrl-C guard.

The command line (:mod:`rplsim.app.cli`) loads numpy, pandas, scipy and matplotlib's friends,
about two seconds in which a Ctrl-C used to print a 32-line traceback from deep inside an
import. This module imports nothing heavy itself: it loads the command line inside the guard,
so an interrupt at any instant after the interpreter reached it is one line and exit status 130.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]

INTERRUPTED = "rplsim: interrupted; nothing was written."


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns its exit status (130 when interrupted before it started).

    A Ctrl-C while the command line loads is held until the imports are done (an interrupt
    inside a C extension's initialisation comes out as an ``ImportError`` of numpy's, pages
    long, not as ``KeyboardInterrupt``), then answered with one line; a second Ctrl-C does not
    wait. ``rplsim.app.cli.main`` answers a Ctrl-C during a command itself; an interrupt that
    escapes it came before any command ran, so nothing was written.
    """
    pressed = False

    def hold(signum: int, frame: Any) -> None:
        nonlocal pressed
        if pressed:
            raise KeyboardInterrupt
        pressed = True

    try:
        previous = signal.signal(signal.SIGINT, hold)
    except ValueError:  # not the main thread: no handler of ours, nothing to hold
        previous = None
    try:
        from rplsim.app.cli import main as cli_main
    except BaseException:
        if not pressed:
            raise
        print(INTERRUPTED, file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    try:
        if pressed:
            raise KeyboardInterrupt
        return cli_main(argv)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
