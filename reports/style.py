"""One look for every figure: a fixed colour and marker per method, sized for one paper column.

Colours are seaborn's "colorblind" palette (Okabe-Ito-like), plus black for ``transfer`` because
that palette has ten colours and the suite has eleven methods. The mapping is defined once, here,
so a method has the same colour in every figure of every report.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import matplotlib

matplotlib.use("Agg")  # reports run headless (CI, sweeps over SSH)

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

_CB = sns.color_palette("colorblind").as_hex()  # 10 colours

# Order is the legend order: GPTA first, its baseline second, then the other comparisons.
METHOD_ORDER = [
    "gpta", "finetune", "manual-prefix", "llm-prefix", "random-prefix", "prompt-tuning",
    "prefix-tuning", "llm-zero-shot", "setfit", "textual-gradient", "transfer",
]
METHOD_COLORS = {
    "gpta": _CB[3],  # vermillion: the method under test stands out
    "finetune": _CB[0],  # blue
    "manual-prefix": _CB[2],  # green
    "llm-prefix": _CB[1],  # orange
    "random-prefix": _CB[7],  # grey
    "prompt-tuning": _CB[4],  # purple
    "prefix-tuning": _CB[5],  # brown
    "llm-zero-shot": _CB[9],  # sky blue
    "setfit": _CB[6],  # pink
    "textual-gradient": _CB[8],  # yellow (markers get a dark edge so it reads on white)
    "transfer": "#000000",
}
METHOD_MARKERS = {
    "gpta": "o", "finetune": "s", "manual-prefix": "^", "llm-prefix": "v", "random-prefix": "x",
    "prompt-tuning": "D", "prefix-tuning": "P", "llm-zero-shot": "*", "setfit": "h",
    "textual-gradient": "<", "transfer": ">",
}
UNKNOWN_COLOR = "#555555"  # a method this module does not know yet: dark grey, never a clash
VARIANT_STYLES = ["-", "--", ":", "-."]  # several settings of one method share its colour

COLUMN_WIDTH_IN = 3.4  # one column of a two-column paper
FONT_PT = 7.5


def method_color(method: str) -> str:
    return METHOD_COLORS.get(method, UNKNOWN_COLOR)


def method_marker(method: str) -> str:
    return METHOD_MARKERS.get(method, "o")


def method_rank(method: str) -> int:
    return METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)


@contextlib.contextmanager
def paper_style() -> Iterator[None]:
    """Small fonts (>= 7 pt) and thin lines that stay readable at 3.4 in wide."""
    rc = {
        "font.size": FONT_PT, "axes.titlesize": FONT_PT + 0.5, "axes.labelsize": FONT_PT,
        "xtick.labelsize": FONT_PT - 0.5, "ytick.labelsize": FONT_PT - 0.5, "legend.fontsize": FONT_PT - 0.5,
        "legend.title_fontsize": FONT_PT - 0.5, "lines.linewidth": 1.2, "lines.markersize": 4,
        "axes.linewidth": 0.6, "grid.linewidth": 0.4, "savefig.dpi": 300, "figure.dpi": 150,
        "pdf.fonttype": 42, "ps.fonttype": 42,  # embed TrueType: editable text in the PDF
    }
    with sns.axes_style("whitegrid"), plt.rc_context(rc):
        yield


def new_figure(height_in: float = 2.4, width_in: float = COLUMN_WIDTH_IN, **kwargs):
    return plt.subplots(figsize=(width_in, height_in), constrained_layout=True, **kwargs)
