"""``gpta audit RESULTS_DIR``: one data-exposure verdict per run; exit 1 on a broken promise or on
any file the audit could not read or match (each named on its own line, gpta/audit.py)."""

from __future__ import annotations

import argparse
import json


def cmd_audit(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gpta.audit import audit_dir, render
    from gpta.errors import UserError

    if not Path(args.results_dir).is_dir():
        raise UserError(f"results directory {args.results_dir}: not a directory")

    audit = audit_dir(args.results_dir, data_dir=args.data_dir, n=args.ngram)
    failed = audit.failed
    if args.json:
        print(json.dumps({
            "passed": audit.passed,
            "runs": [{"run_id": a.run_id, "method": a.method, "dataset": a.dataset, "source": a.source,
                      "messages": a.messages, "exposure": a.exposure, "ledger": a.ledger,
                      "leaked_examples": a.leaked_examples, "verdict": a.verdict, "failed": a.failed,
                      "unchecked": a.unchecked, "evidence": [vars(leak) for leak in a.leaks[:20]]}
                     for a in audit.runs],
            "problems": [vars(p) for p in audit.problems]}, indent=1))
        return 0 if audit.passed else 1
    print("\n".join(render(audit, verbose=args.verbose)))
    line = (f"audit: {len(audit.runs)} runs, {sum(a.messages for a in audit.runs)} messages, "
            f"{len(failed)} broke a no-exposure promise (shared runs of >= {args.ngram} words)")
    if audit.problems:
        line += (f"; FAILED: {len(audit.problems)} file{'s' if len(audit.problems) > 1 else ''} could not be "
                 f"read or matched (named above)")
    print(line)
    return 0 if audit.passed else 1


def register(sub) -> None:
    p = sub.add_parser("audit", help="check every run's LLM ledger against its dataset for leaked text")
    p.add_argument("results_dir", metavar="RESULTS_DIR")
    p.add_argument("--data-dir", default=None, help="local benchmark files (default: $GPTA_DATA_DIR)")
    from gpta.cli import positive_int

    p.add_argument("--ngram", type=positive_int, default=8, help="shared run of this many words counts as a leak")
    p.add_argument("-v", "--verbose", action="store_true", help="show where each leak is (up to 5 per run)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_audit)
