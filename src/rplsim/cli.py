"""Old entry point ``python -m rplsim.cli`` (the CLI lives in :mod:`rplsim.app.cli`)."""

from rplsim.app.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
