"""Shared pieces of every figure, now in :mod:`rplsim.figures.base` (re-exported here).

Kept so that ``from rplsim.outputs.figure import save_png, new_figure, wrapped_label,
require_columns`` keeps working.
"""

from __future__ import annotations

from rplsim.figures.base import (
    DEFAULT_FORMATS as DEFAULT_FORMATS,
)
from rplsim.figures.base import (
    DPI as DPI,
)
from rplsim.figures.base import (
    FIGURE_FORMATS as FIGURE_FORMATS,
)
from rplsim.figures.base import (
    FONT as FONT,
)
from rplsim.figures.base import (
    SMALL as SMALL,
)
from rplsim.figures.base import (
    check_formats as check_formats,
)
from rplsim.figures.base import (
    new_figure as new_figure,
)
from rplsim.figures.base import (
    require_columns as require_columns,
)
from rplsim.figures.base import (
    save_figure as save_figure,
)
from rplsim.figures.base import (
    save_png as save_png,
)
from rplsim.figures.base import (
    wrapped_label as wrapped_label,
)
from rplsim.figures.palette import GREY as GREY
from rplsim.figures.palette import MISS as MISS
from rplsim.figures.palette import OK as OK

__all__ = ["new_figure", "require_columns", "save_png", "wrapped_label"]
