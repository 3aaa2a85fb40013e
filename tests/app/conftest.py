"""Fixtures of the app tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_figures(monkeypatch):
    """Runs in this process write empty figure files instead of drawing them.

    For tests of tables, folders and manifests: drawing and saving the eight figures of a run
    (PNG at 200 dpi and SVG) is about 8 s of a 12 s quick run; the figures themselves are
    tested in tests/figures and tests/outputs.
    """
    from rplsim.outputs import write

    from .test_reproducible import _NoFigures

    monkeypatch.setattr(write, "plots", _NoFigures())
    monkeypatch.setattr(write, "figures", _NoFigures())
