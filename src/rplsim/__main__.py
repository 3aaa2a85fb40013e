"""``python -m rplsim``: the command line (through :mod:`rplsim._entry`'s Ctrl-C guard)."""

from rplsim._entry import main

if __name__ == "__main__":
    raise SystemExit(main())
