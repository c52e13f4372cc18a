"""``gpta report RESULTS_DIR [--out DIR]``: figures, tables and index files from stored results.

Reads result JSONs (and sweep failure records) only; never runs a model or an LLM.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

RESULT_TYPES = {"run_id": str, "config": dict, "metrics": dict, "method": str}


def damaged_files(results_dir: Path) -> list[tuple[str, str]]:
    """(file, why) for every *.json that cannot be a result or failure record: unreadable, not
    UTF-8, truncated or invalid JSON, or a result whose fields have the wrong types."""
    out = []
    for p in sorted(results_dir.glob("*.json")):
        try:
            obj: Any = json.loads(p.read_bytes().decode("utf-8"))
        except OSError as exc:
            out.append((p.name, f"unreadable ({exc.strerror})"))
            continue
        except UnicodeDecodeError as exc:
            out.append((p.name, f"not UTF-8 (byte at offset {exc.start})"))
            continue
        except json.JSONDecodeError as exc:
            truncated = exc.pos >= len(exc.doc.rstrip()) - 1
            out.append((p.name, "truncated JSON" if truncated else f"not JSON ({exc.msg}, line {exc.lineno})"))
            continue
        if not isinstance(obj, dict):
            out.append((p.name, f"top level is a {type(obj).__name__}, not an object"))
            continue
        if p.name.endswith(".failed.json") or obj.get("status") == "failed":
            continue
        bad = [f"{k} is {type(obj.get(k)).__name__}, not {t.__name__}" for k, t in RESULT_TYPES.items()
               if k in obj and not isinstance(obj[k], t)]
        if bad:
            out.append((p.name, "wrong types: " + "; ".join(bad)))
    return out


def cmd_report(args: argparse.Namespace) -> int:
    from gpta.context import check_out_dir
    from gpta.errors import UserError
    from reports import build_report

    results_dir = Path(args.results_dir)
    if not results_dir.is_dir():
        raise UserError(f"results directory {results_dir}: not a directory")
    check_out_dir(args.out or results_dir / "report")
    damaged = damaged_files(results_dir)
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
        print(f"report: skipped {len(damaged)} damaged file{'s' if len(damaged) > 1 else ''} in {results_dir} "
              f"(delete them, or rerun their cells with `gpta sweep`):", file=sys.stderr)
        for name, why in damaged:
            print(f"  {name}: {why}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="figures, tables (Markdown + LaTeX) and index.md/html from a results directory")
    p.add_argument("results_dir", help="directory of result JSONs (e.g. from `gpta sweep` or `gpta run --out`)")
    p.add_argument("--out", default=None, help="output directory (default: RESULTS_DIR/report)")
    p.set_defaults(func=cmd_report)
