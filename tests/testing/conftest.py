"""A module-wide folder for the TOML files the strategy tests write."""

from __future__ import annotations

import tempfile
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="rplsim-strategies-"))


def _write(text: str) -> Path:
    # @given and function-scoped fixtures don't mix: one module-wide folder, one file per text.
    p = _TMP / f"s{abs(hash(text))}.toml"
    p.write_text(text, encoding="utf-8")
    return p
