"""``gpta report RESULTS_DIR [--out DIR]``: figures, tables and index files from stored results.

Reads result JSONs (and sweep failure records) only; never runs a model or an LLM.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_report(args: argparse.Namespace) -> int:
    from gpta.context import check_out_dir
    from gpta.errors import UserError
    from reports import build_report

    results_dir = Path(args.results_dir)
    if not results_dir.is_dir():
        raise UserError(f"results directory {results_dir}: not a directory")
    check_out_dir(args.out or results_dir / "report")
    from reports.load import problem_files

    damaged = problem_files(results_dir)  # damaged, unknown schema, copies of a run id, NaN metrics
    written = build_report(args.results_dir, args.out)
    s = written["summary"]
    h = s["gpta_vs_finetune"]
    print(f"report from {s['runs']} runs ({s['failed']} failed, {s['missing']} missing of "
          f"{s['expected_cells']} expected cells)")
    if h["cells"]:
        print(f"GPTA beats finetune in {h['wins']} of {h['cells']} (dataset, fraction) cells"
              + (" (significant after Holm correction)" if "positive_means" in h else ""))
    if s.get("claims"):  # the claims scorecard (reports/claims.py), one line per claim
        print("claims scorecard" + (" (SMOKE RUN: too few seeds for a verdict)" if s.get("smoke_run") else "") + ":")
        for c in s["claims"]:
            print(f"  {c['claim']}. {c['title']}: {c['verdict']}")
    figs = written["figures"]
    print(f"figures ({len(figs)}, PNG + PDF): {Path(written['out_dir']) / 'figures'}")
    for name, reason in (s["skipped_figures"] or {}).items():
        print(f"  skipped {name}: {reason}")
    print(f"tables: {written['tables']['md']} and {written['tables']['tex']}")
    print(f"index: {written['index_md']} and {written['index_html']}")
    if damaged:  # on the console, not only in index.md
        print(f"report: left out {len(damaged)} file{'s' if len(damaged) > 1 else ''} of {results_dir} that are "
              f"not usable results (move them out, or rerun their cells with `gpta sweep`):", file=sys.stderr)
        for name, why in damaged:
            print(f"  {name}: {why}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="figures, tables (Markdown + LaTeX) and index.md/html from a results directory")
    p.add_argument("results_dir", help="directory of result JSONs (e.g. from `gpta sweep` or `gpta run --out`)")
    p.add_argument("--out", default=None, help="output directory (default: RESULTS_DIR/report)")
    p.set_defaults(func=cmd_report)
