"""Reports for papers: a results directory in, figures (PNG + PDF), tables (Markdown + LaTeX)
and index.md / index.html out. Reads result JSONs only; never runs a model or an LLM.

    from reports import build_report
    written = build_report("results/quick", "results/quick/report")
"""

from reports.build import build_report, make_figures
from reports.load import load

__all__ = ["build_report", "make_figures", "load"]
