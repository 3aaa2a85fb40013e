"""``python -m rplsim``: the command line."""

from rplsim.app.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
