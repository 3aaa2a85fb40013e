"""The one palette of every figure: arms, within/miss, event types, flow boxes.

Colours are Okabe-Ito (colour-blind safe) where a figure tells groups apart, so IVIG is the
same blue and placebo the same orange on the power curve, the dose histogram and the timeline.

Examples
--------
>>> ARM["IVIG"], EVENT_STYLE["live_birth"][0]
('#0072B2', '*')
"""

from __future__ import annotations

__all__ = [
    "ARM",
    "BAND",
    "EVENT_LABEL",
    "EVENT_STYLE",
    "EXCLUDED",
    "FALLBACK_EVENT",
    "GREY",
    "HOLLOW_EVENTS",
    "MISS",
    "OK",
    "PAPER",
    "RESULT",
    "SWING_HIGH",
    "SWING_LOW",
    "TARGET",
]

OK = "#0072B2"  # within tolerance; also the simulated/IVIG series
MISS = "#D55E00"  # missed target
GREY = "#7f7f7f"  # 'not followed', neutral lines
BAND = "#d8ecd2"  # the tolerance band
PAPER = "#E69F00"  # the paper's value
TARGET = "#CC3311"  # target power / alpha lines
RESULT = "#009E73"  # the chosen n, randomised box
EXCLUDED = "#e4e4e4"  # exclusion boxes
SWING_LOW = "#88CCEE"  # tornado: assumption at the low end of its range
SWING_HIGH = "#332288"  # tornado: at the high end

ARM = {"IVIG": "#0072B2", "placebo": "#E69F00", "no IVIG": "#E69F00"}
"""Arm colours (IVIG blue, placebo/comparator orange)."""

EVENT_STYLE: dict[str, tuple[str, str, float, int]] = {
    # event: (marker, colour, size in points^2, zorder); big markers low, small ones on top
    "expectant_management": ("s", "#999999", 70, 2),
    "aspirin_lmwh_start": ("D", "#CC79A7", 70, 2),
    "levothyroxine_start": ("h", "#882255", 70, 2),
    "dopamine_agonist_start": ("p", "#AA4499", 70, 2),
    "antibiotics": ("8", "#44AA99", 70, 2),
    "surgery": ("H", "#332288", 70, 2),
    "conservative_care": ("d", "#DDCC77", 70, 2),
    "oocyte_retrieval": ("<", "#117733", 110, 3),
    "embryo_transfer": (">", "#999933", 110, 3),
    "conception": ("o", "#009E73", 55, 4),
    "confirmation": ("s", "#56B4E9", 28, 5),
    "ivig_infusion": ("v", "#0072B2", 34, 5),
    "karyotype_result": ("P", "#661100", 55, 4),
    "chemical": ("x", "#555555", 50, 6),
    "miscarriage": ("X", "#D55E00", 80, 6),
    "stillbirth": ("D", "#000000", 60, 6),
    "live_birth": ("*", "#E69F00", 140, 6),
}
"""Fixed marker, colour, size and drawing order of each event type of the timeline."""

FALLBACK_EVENT = ("$?$", "#000000", 60, 6)
"""Style of an event type not in :data:`EVENT_STYLE` (new treatments): a question mark."""

HOLLOW_EVENTS = frozenset(
    {
        "expectant_management",
        "aspirin_lmwh_start",
        "levothyroxine_start",
        "dopamine_agonist_start",
        "antibiotics",
        "surgery",
        "conservative_care",
        "oocyte_retrieval",
        "embryo_transfer",
    }
)
"""Treatment starts and IVF steps: hollow, so a conception or infusion in the same week shows through."""

EVENT_LABEL = {
    "aspirin_lmwh_start": "aspirin + LMWH start",
    "ivig_infusion": "IVIG infusion",
    "chemical": "chemical pregnancy (loss)",
    "confirmation": "pregnancy confirmed",
}
"""Legend names that differ from the event name with its underscores made spaces."""
