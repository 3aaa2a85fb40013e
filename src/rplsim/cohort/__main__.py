"""``python -m rplsim.cohort [PATH]``: write the cohort codebook (default ``docs/cohort.md``)."""

from __future__ import annotations

import sys

from rplsim.cohort.codebook import main

if __name__ == "__main__":
    sys.exit(main())
