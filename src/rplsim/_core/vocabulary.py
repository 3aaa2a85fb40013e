"""Names shared by several stages (one tuple each, so the stages cannot drift apart)."""

from __future__ import annotations

__all__ = ["ALTERNATIVES"]

# alternatives
# Direction of H1 for the live-birth rate of the treatment arm against control.
ALTERNATIVES: tuple[str, ...] = ("two-sided", "larger", "smaller")
