"""One look for every figure: a fixed name, colour and marker per method, sized for one paper column.

Colours are seaborn's "colorblind" palette (Okabe-Ito-like), plus black for ``transfer`` because
that palette has ten colours and the suite has eleven methods. Each method's colour, marker and
legend order live in the registry (``MethodInfo.style``, gpta/registry.py), and so does its printed
name (``MethodInfo.display``), so a method has the same look and name in every figure and table of
every report, and a new method brings its own.

Datasets (the LLM-accuracy scatter) get their own marker and colour from ``DATASET_STYLES``, a
palette that shares no colour with any method, so a dataset is never mistaken for a method.
"""

from __future__ import annotations

import contextlib
import re
from typing import Iterator

import matplotlib

matplotlib.use("Agg")  # reports run headless (CI, sweeps over SSH)

import matplotlib.pyplot as plt  # noqa: E402

# A report draws all its figures before writing them, then closes each (reports/build.py): a
# paper-sized report has more than matplotlib's default 20 open at once, which is not a leak.
matplotlib.rcParams["figure.max_open_warning"] = 0
import seaborn as sns  # noqa: E402

from gpta.registry import styled_methods  # noqa: E402

# Derived from the method registry (``MethodInfo.style`` in gpta/registry.py), the one place a
# method's colour, marker and legend order live. Order is the legend order.
_STYLED = styled_methods()
METHOD_ORDER = list(_STYLED)
METHOD_COLORS = {name: m.style.color for name, m in _STYLED.items()}
METHOD_MARKERS = {name: m.style.marker for name, m in _STYLED.items()}
UNKNOWN_COLOR = "#555555"  # a method this module does not know yet: dark grey, never a clash
VARIANT_STYLES = ["-", "--", ":", "-."]  # several settings of one method share its colour

COLUMN_WIDTH_IN = 3.4  # one column of a two-column paper
FONT_PT = 7.5


def display_name(arm: str) -> str:
    """A method's readable name from the registry (raw id if unknown); an arm's settings are kept.

    An arm is a method id, optionally followed by a space and its variant settings
    (``"gpta [llm=...]"``, ``"transfer from sst2"``): only the id is replaced.
    """
    head, sep, rest = str(arm).partition(" ")
    info = styled_methods().get(head)
    return (info.display_name if info else head) + (sep + _LLM_SETTING.sub(_llm_title, rest) if sep else "")


# An arm's ``llm=embedded`` / ``llm=embedded:NAME`` names the model's spec, not the model: a reader
# of "GPTA [llm=embedded]" cannot tell it is SmolLM2. Shown with the embedded model's title
# (gpta/llm/models.py); the arm itself (the key in runs.csv) is unchanged.
_LLM_SETTING = re.compile(r"\bllm=(embedded(?::[\w.\-]+)?)(?=[,\]])")


def _llm_title(m: re.Match) -> str:
    from gpta.llm.models import DEFAULT_EMBEDDED, MODELS

    spec = m.group(1)
    model = MODELS.get(DEFAULT_EMBEDDED if spec == "embedded" else spec.split(":", 1)[1])
    return f"llm={model.title}" if model else m.group(0)


# Datasets in a figure whose points are all one method: colours from Paul Tol's schemes chosen at
# least 28 CIELAB units (CIE76) from every method colour, each with its own marker, so shape alone
# tells datasets apart and no dataset reads as a method.
DATASET_STYLES = [("#332288", "o"), ("#ee3377", "s"), ("#999933", "^"), ("#661100", "D"), ("#cc6677", "v"),
                  ("#ddcc77", "P")]


def dataset_style(index: int) -> tuple[str, str]:
    """(colour, marker) of the index-th dataset of a figure; cycles past the palette's end."""
    return DATASET_STYLES[index % len(DATASET_STYLES)]


def method_color(method: str) -> str:
    info = styled_methods().get(method)  # read live: a method registered after import has its look
    return info.style.color if info else UNKNOWN_COLOR


def method_marker(method: str) -> str:
    info = styled_methods().get(method)
    return info.style.marker if info else "o"


def method_rank(method: str) -> int:
    order = list(styled_methods())
    return order.index(method) if method in order else len(order)


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
