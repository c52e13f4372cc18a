"""``gpta report RESULTS_DIR [--out DIR]``: figures, tables and index files from stored results.
``gpta report A B [--out DIR]``: two results folders side by side (reports/compare.py).

Reads result JSONs (and sweep failure records) only; never runs a model or an LLM. The output
folder is written whole or not at all: it is built in a hidden sibling folder and renamed into
place at the end, so an interrupted or failing report leaves the previous one (or none), never
half of one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")


# What a report or a comparison writes (reports/build.py, reports/compare.py); figures/ holds images
REPORT_FILES = frozenset({"index.md", "index.html", "tables.md", "tables.tex", "scorecard.md", "scorecard.tex",
                          "runs.csv", "missing_cells.csv", "compare.md", "compare.csv"})
FIGURE_SUFFIXES = (".png", ".pdf")


def check_report_out(final: Path, option: str = "--out") -> None:
    """Refuse an output folder a report would destroy: the report replaces its folder whole, so the
    folder must be new, empty, or an earlier report (only the files a report writes). A results
    folder, a folder above one, or one holding anything else (a thesis, a result JSON) is refused."""
    from gpta.errors import UserError

    if not final.is_dir():
        return  # new (or a file: check_out_dir says so)
    foreign = sorted(p.name for p in final.iterdir()
                     if not (p.name in REPORT_FILES and p.is_file())
                     and not (p.name == "figures" and p.is_dir()
                              and all(f.is_file() and f.suffix in FIGURE_SUFFIXES for f in p.iterdir())))
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise UserError(f"{option} {final}: holds {foreign[0]!r}{more}, which no report wrote; a report replaces its "
                        f"folder whole, so pass a new or empty folder (or an earlier report's)")


def built_whole(final: Path, build: Callable[[Path], T]) -> T:
    """``build(folder)`` into a fresh hidden folder beside ``final``, then swap it in: readers see
    the old folder, or the new one, never a mix. A failing build removes its folder and raises.
    ``final`` must be new, empty or an earlier report (``check_report_out``): nothing else is replaced."""
    check_report_out(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{final.name}.building-", dir=final.parent))
    umask = os.umask(0)
    os.umask(umask)
    building.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; a report folder is as readable as any
    try:
        out = build(building)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        final.rename(old)
    building.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out


def _moved(value: Any, building: Path, final: Path) -> Any:
    """The written paths as they are after the rename."""
    if isinstance(value, str):
        return value.replace(str(building), str(final))
    if isinstance(value, dict):
        return {k: _moved(v, building, final) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, building, final) for v in value]
    return value


def cmd_report(args: argparse.Namespace) -> int:
    from gpta.context import check_out_dir
    from gpta.errors import UserError

    dirs = [args.results_dir] + ([args.other] if getattr(args, "other", None) else [])
    for d in dirs:
        if not Path(d).is_dir():
            raise UserError(f"results directory {d}: not a directory")
    if len(dirs) == 2:
        return _compare(args, dirs)
    results_dir = Path(args.results_dir)
    final = Path(args.out) if args.out else results_dir / "report"
    check_out_dir(final)
    check_report_out(final)  # before any work (built_whole checks again, for every caller)
    from reports.load import problem_files

    damaged = problem_files(results_dir)  # damaged, unknown schema, copies of a run id, NaN metrics
    from reports import build_report

    holder: dict[str, Path] = {}

    def build(folder: Path) -> dict[str, Any]:
        holder["building"] = folder
        return build_report(args.results_dir, folder)

    written = _moved(built_whole(final, build), holder["building"], final)
    s = written["summary"]
    h = s["gpta_vs_finetune"]
    if s["coverage_basis"] == "plan":
        print(f"report from {s['runs']} runs ({s['failed']} failed, {s['missing']} missing of the {s['expected_cells']} "
              f"planned cells" + (f"; {s['outside_plan']} runs outside the plan" if s["outside_plan"] else "") + ")")
    else:
        print(f"report from {s['runs']} runs ({s['failed']} failed, {s['missing']} missing of the {s['expected_cells']} "
              f"cells of the full dataset x fraction x seed x method crossing, planned or not: no sweep plan here)")
    if h["cells"]:
        print(f"GPTA beats finetune in {h['wins']} of {h['cells']} (dataset, fraction) cells"
              + (" (significant after Holm correction)" if "positive_means" in h else ""))
    if s.get("claims"):  # the claims scorecard (reports/claims.py), one line per claim
        print("claims scorecard" + (" (SMOKE RUN: too few seeds for a verdict)" if s.get("smoke_run") else "") + ":")
        for c in s["claims"]:
            print(f"  {c['claim']}. {c['title']}: {c['verdict']}" + (f" {c['qualifier']}" if c.get("qualifier") else ""))
        for line in s.get("stage_notes") or []:  # the suite's own caveats, beside the verdicts
            print(f"  {line}")
    figs = written["figures"]
    print(f"figures ({len(figs)}, PNG + PDF): {final / 'figures'}")
    for name, reason in (s["skipped_figures"] or {}).items():
        print(f"  skipped {name}: {reason}")
    print(f"tables: {written['tables']['md']} and {written['tables']['tex']}")
    print(f"index: {written['index_md']} and {written['index_html']}")
    print_left_out(results_dir, damaged)  # on the console, not only in index.md
    return 0


def print_left_out(results_dir: Any, damaged: list[tuple[str, str]]) -> None:
    """Name on stderr each file of ``results_dir`` a report left out, and why."""
    if not damaged:
        return
    print(f"report: left out {len(damaged)} file{'s' if len(damaged) > 1 else ''} of {results_dir} that "
          f"{'are not usable results' if len(damaged) > 1 else 'is not a usable result'} (move them out, or "
          f"rerun their cells with `gpta sweep`):", file=sys.stderr)
    for name, why in damaged:
        print(f"  {name}: {why}", file=sys.stderr)


def _compare(args: argparse.Namespace, dirs: list[str]) -> int:
    from gpta.context import check_out_dir
    from reports.compare import write_comparison

    final = Path(args.out) if args.out else Path(dirs[0]) / f"compare-{Path(dirs[1]).resolve().name}"
    check_out_dir(final)
    check_report_out(final)
    holder: dict[str, Path] = {}

    def build(folder: Path) -> dict[str, str]:
        holder["building"] = folder
        return write_comparison(dirs[0], dirs[1], folder)

    from reports.load import problem_files

    damaged = {d: problem_files(d) for d in dirs}  # named on the console, as a single report names them
    written = _moved(built_whole(final, build), holder["building"], final)
    print(Path(written["md"]).read_text(encoding="utf-8"), end="")
    print(f"\ncomparison ({written['groups']} groups): {written['md']} and {written['csv']}")
    for d, files in damaged.items():
        print_left_out(d, files)
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="figures, tables (Markdown + LaTeX) and index.md/html from a results directory; "
                                      "with two directories, a side-by-side comparison",
                       description=__doc__)
    p.add_argument("results_dir", help="directory of result JSONs (e.g. from `gpta sweep` or `gpta run --out`)")
    p.add_argument("other", nargs="?", default=None, metavar="OTHER_DIR",
                   help="a second results directory: compare the two (test metric per cell group, B - A on "
                        "shared seeds, wall time) instead of building a report")
    from gpta.commands.run import out_arg

    p.add_argument("--out", default=None, type=out_arg,
                   help="output directory (default: RESULTS_DIR/report, or RESULTS_DIR/compare-<OTHER> with two); "
                        "new, empty or an earlier report: a report replaces its folder whole")
    p.set_defaults(func=cmd_report)
