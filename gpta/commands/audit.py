"""``gpta audit RESULTS_DIR``: one data-exposure verdict per run (gpta/audit.py).

Exit status: 0 when every run that promises no exposure was checked and leaked nothing and every
file was read; 1 when the audit did not pass: a run leaked (a broken promise), called an LLM
without a ledger, or could not be checked (its dataset cannot be told or loaded: "not checked"
is no evidence of no leak, so it never reads as success), or a file could not be read or matched.
The summary line counts each kind apart and names why runs were not checked. 2: bad input (the
results folder or the data dir, ``--data-dir`` / ``$GPTA_DATA_DIR``, is not a folder), refused
before anything is read.
"""

from __future__ import annotations

import argparse
import json


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def reason_lines(audit) -> list[str]:
    """One line per reason runs were not checked, with how many runs it stopped."""
    return [f"not checked: {_plural(n, 'run')}: {why}" for why, n in audit.not_checked_reasons()]


def summary(audit, ngram: int) -> str:
    """The last line: runs and messages, then leaked / no ledger / not checked counted apart."""
    leaked, no_ledger, not_checked = audit.leaked, audit.no_ledger, audit.not_checked
    line = (f"audit: {_plural(len(audit.runs), 'run')}, {_plural(sum(a.messages for a in audit.runs), 'message')}; "
            f"{len(leaked)} leaked (broke a no-exposure promise: shared runs of >= {ngram} words), "
            f"{len(no_ledger)} called an LLM without a ledger, {len(not_checked)} not checked")
    if not_checked:
        line += " (why: the 'not checked:' lines above)"
    if audit.problems:
        line += (f"; {_plural(len(audit.problems), 'file')} could not be read or matched (named above)")
    if not audit.passed:
        line += "; FAILED" + ("" if leaked else (": no leak found, but not everything could be checked"))
    return line


def cmd_audit(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gpta.audit import audit_dir, render
    from gpta.data.files import data_root
    from gpta.errors import UserError

    if not Path(args.results_dir).is_dir():
        raise UserError(f"results directory {args.results_dir}: not a directory; give the folder a run or "
                        f"sweep wrote (its --out)")
    try:  # as `gpta run` does: a data dir that is not a folder is bad input, not a folder of unchecked runs
        data_root(args.data_dir)
    except UserError as exc:
        raise UserError(f"{exc}; give the folder of benchmark files (--data-dir DIR), or unset GPTA_DATA_DIR "
                        f"for the default") from None

    audit = audit_dir(args.results_dir, data_dir=args.data_dir, n=args.ngram)
    if args.json:
        print(json.dumps({
            "passed": audit.passed,
            "leaked": len(audit.leaked), "no_ledger": len(audit.no_ledger), "not_checked": len(audit.not_checked),
            "not_checked_reasons": [{"reason": why, "runs": n} for why, n in audit.not_checked_reasons()],
            "runs": [{"run_id": a.run_id, "method": a.method, "dataset": a.dataset, "source": a.source,
                      "messages": a.messages, "exposure": a.exposure, "ledger": a.ledger,
                      "leaked_examples": a.leaked_examples, "verdict": a.verdict, "failed": a.failed,
                      "unchecked": a.unchecked, "evidence": [vars(leak) for leak in a.leaks[:20]]}
                     for a in audit.runs],
            "problems": [vars(p) for p in audit.problems]}, indent=1))
        return 0 if audit.passed else 1
    print("\n".join(render(audit, verbose=args.verbose)))
    for line in reason_lines(audit):
        print(line)
    print(summary(audit, args.ngram))
    return 0 if audit.passed else 1


def register(sub) -> None:
    p = sub.add_parser("audit", help="check every run's LLM ledger against its dataset for leaked text",
                       description="Exit 0: every run checked, no leak. 1: a leak, a run that called an LLM "
                                   "without a ledger, a run not checked (its dataset could not be told or "
                                   "loaded), or an unreadable file. 2: bad input.")
    p.add_argument("results_dir", metavar="RESULTS_DIR")
    p.add_argument("--data-dir", default=None, help="local benchmark files (default: $GPTA_DATA_DIR)")
    from gpta.cli import positive_int

    p.add_argument("--ngram", type=positive_int, default=8, help="shared run of this many words counts as a leak")
    p.add_argument("-v", "--verbose", action="store_true", help="show where each leak is (up to 5 per run)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_audit)
