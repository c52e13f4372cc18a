"""``gpta sweep SUITE.yaml``: run every cell of a suite that is not done yet (see gpta/sweep/)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gpta.commands.run import out_arg
from gpta.errors import UserError


def _csv(kind: type):
    def parse(text: str) -> list:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:  # an empty list would silently keep the suite's own
            raise argparse.ArgumentTypeError(f"{text!r} is empty: give at least one value (a,b,c)")
        try:
            return [kind(t) for t in items]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated {kind.__name__} values") from None
    return parse


def _seeds(text: str) -> list[int]:
    from gpta.commands.run import seed_arg

    return [seed_arg(t) for t in _csv(str)(text)]


def _flatten(values: list[list] | None) -> list | None:
    return [v for group in values for v in group] if values else None


def check_suite_file(name_or_path: str) -> None:
    """A suite file that is not UTF-8 is named with the byte and its line, not a decoding traceback."""
    path = Path(name_or_path)
    if not path.is_file():
        return
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(f"{path} line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8; save the suite "
                        f"file as UTF-8") from None


def preflight_llms(suite, llm_cache: str) -> None:
    """Reach every LLM the suite's cells use (one short identity call each) before any cell runs.

    A suite with one LLM that cannot be reached stops here, in one line. A suite that lists
    several LLMs (``llms:``) goes on when at least one answers: the cells of an unreachable LLM
    fail with its reason (recorded as failed cells) and every other cell runs; each unreachable
    LLM is named in a note first.
    """
    from gpta.context import probe_llm
    from gpta.errors import UserError
    from gpta.registry import get_method

    if llm_cache == "read":  # a read-only replay must work with the server off
        return
    specs: list[str] = []
    for stage in suite.stages:
        methods = list(stage.methods) + (list(stage.source_methods) if stage.is_transfer else [])
        if not any(get_method(m).uses_llm for m in methods):
            continue
        specs += [x for x in (getattr(stage, "llms", None) or [stage.llm]) if x not in specs]
    failed: list[UserError] = []
    for spec in specs:
        try:
            probe_llm(spec)
        except UserError as exc:
            failed.append(exc)
    if failed and len(failed) == len(specs):
        raise failed[0]
    for exc in failed:
        print(f"note: {exc}; the cells of that LLM will fail with this reason, the others run", file=sys.stderr)


def check_llm_flag(suite, llm: str | None) -> None:
    """``--llm`` for a suite none of whose methods an LLM changes is refused, as ``gpta run``
    refuses it for such a method (gpta/commands/run.py ``cell_llm``): it would be recorded in
    every cell and never called. One method that depends on an LLM, in any stage, is enough."""
    if llm is None:
        return
    from gpta.registry import depends_on_llm

    methods: list[str] = []
    for stage in suite.stages:
        extra = [m for d in stage.per_dataset.values() for m in (d.get("methods") or [])]
        sources = list(stage.source_methods) if stage.is_transfer else []
        methods += [str(m) for m in [*stage.methods, *extra, *sources] if str(m) not in methods]
    if any(depends_on_llm(m) for m in methods):
        return
    names = ", ".join(repr(m) for m in methods)
    what = f"method {names} of suite {suite.path} uses" if len(methods) == 1 else \
        f"methods {names} of suite {suite.path} use"
    raise UserError(f"--llm {llm}: {what} no LLM; drop --llm")


def check_gpus_per_worker(share: float | None) -> None:
    """``--gpus-per-worker`` in (0, 1], at planning (a dry run too), not only once a CUDA executor
    is built (gpta/sweep/executors.py ``gpu_share`` words it the same)."""
    if share is not None and not 0 < share <= 1:
        raise UserError(f"--gpus-per-worker {share:g}: must be in (0, 1] (a cell trains on one GPU)")


def cmd_sweep(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # before transformers loads: one bar, the sweep's
    if args.data_dir:  # cell ids hash the data files found there: the plan and every worker must agree
        os.environ["GPTA_DATA_DIR"] = args.data_dir
    from gpta.config import parse_set_args
    from gpta.commands.llm import apply_endpoint_args
    from gpta.context import check_cache_path, check_out_dir
    from gpta.data.manifest import require_benchmarks
    from gpta.sweep.suite import Overrides, check_suite, load_suite

    apply_endpoint_args(args)  # openai:MODEL cells (and their worker processes) read these
    if args.executor != "ray":  # cell ids resolve `precision=auto` on the device the cells will use
        os.environ["GPTA_DEVICE"] = args.device
    elif args.device != "auto":  # a Ray driver plans ids for its tasks' device kind, not its own (--dry-run too)
        from gpta.results import set_identity_device

        set_identity_device(args.device)
    check_gpus_per_worker(args.gpus_per_worker)
    if args.gpus_per_worker is not None and args.device == "cpu":
        raise UserError("--gpus-per-worker is for --device cuda (or auto on a machine with a GPU)")
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers {args.workers}: must be at least 1")
    if args.address and args.executor != "ray":
        raise UserError("--address is for --executor ray")
    overrides = Overrides(datasets=_flatten(args.datasets), methods=_flatten(args.methods),
                          seeds=_flatten(args.seeds), fractions=_flatten(args.fractions), llm=args.llm,
                          model=args.model, settings=parse_set_args(args.set))
    check_suite_file(args.suite)
    suite = load_suite(args.suite, overrides)
    out = Path(args.out or Path("results") / suite.name)
    check_out_dir(out)
    if args.report is not None:
        from gpta.commands.report import check_report_out

        report_out = Path(args.report or out / "report")
        check_out_dir(report_out, "--report")
        check_report_out(report_out, "--report")  # never a folder holding results

    if args.dry_run:
        from gpta.sweep.dryrun import dry_run

        missing = check_suite(suite, args.data_dir, need_data=False)
        check_llm_flag(suite, args.llm)
        if missing:
            print(f"warning: {missing}", file=sys.stderr)
        workers = args.workers or 1
        what = f"{workers} {'Ray worker' if args.executor == 'ray' else 'local worker'}{'s' if workers > 1 else ''}"
        dry_run(suite, out, workers, what, sys.stdout, list_all=args.list)
        return 0

    from gpta.sweep.driver import SweepOptions, run_sweep

    require_benchmarks(sorted({d for s in suite.stages for d in s.datasets}), args.data_dir, str(suite.path))
    check_suite(suite, args.data_dir)  # (again in run_sweep; cheap) names and settings, before the LLM check
    check_llm_flag(suite, args.llm)
    check_cache_path(args.llm_cache_path or out / "llm_cache.sqlite", args.llm_cache)
    preflight_llms(suite, args.llm_cache)
    opts = SweepOptions(out=out, data_dir=args.data_dir, llm_cache=args.llm_cache, llm_cache_path=args.llm_cache_path,
                        retry_failed=args.retry_failed, executor=args.executor, workers=args.workers,
                        address=args.address, progress=not args.no_progress, device=args.device,
                        gpus_per_worker=args.gpus_per_worker, track=args.track)
    report = run_sweep(suite, opts)
    print(f"sweep {suite.name}: {report.ok} cells ran ok, {report.failed} failed, "
          f"{report.skipped_done} already done; results in {out} (results.parquet, results.csv)")
    if report.skipped_failed:
        print(f"sweep {suite.name}: {report.skipped_failed} cells failed in an earlier sweep and were not retried "
              f"(see {out}/*.failed.json; rerun with --retry-failed)", file=sys.stderr)
    for line in report.waiting:
        print(f"sweep {suite.name}: {line}", file=sys.stderr)
    if report.failed:
        print(f"sweep {suite.name}: see {out}/*.failed.json for each error and traceback; "
              f"rerun with --retry-failed", file=sys.stderr)
    if args.report is not None:  # the report is written whatever happened to the cells
        from gpta.commands.report import cmd_report

        report_args = argparse.Namespace(results_dir=str(out), out=args.report or None)
        cmd_report(report_args)
    elif report.complete:
        for step in suite.after:
            print(f"next: {step.format(out=out)}")
    return 0 if report.complete else 1


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a suite (datasets x fractions x seeds x methods); resumes where it stopped",
                       description="Run every cell of a suite that has no result yet. Safe to kill and rerun.")
    from gpta.commands.list import shipped_suite_names

    p.add_argument("suite", help=f"a suite YAML file, or the name of a shipped suite ({', '.join(shipped_suite_names())}; "
                                 f"see `gpta list suites`)")
    p.add_argument("--out", type=out_arg, default=None, help="results directory (default: results/<suite name>)")
    p.add_argument("--workers", type=int, default=None,
                   help="cells at once (local: worker processes, default 1; ray: default = cluster CPUs); "
                        "torch threads per cell = cores // workers")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="local: worker processes on this machine; ray: Ray tasks on a cluster (--address) or a "
                        "local Ray instance (needs gpta-suite[ray])")
    p.add_argument("--address", default=None, help="Ray cluster address (default: start a local Ray instance)")
    from gpta.cli import DEVICES, device_arg, positive_float

    p.add_argument("--device", type=device_arg, default="auto",
                   help=f"where cells train: {DEVICES} (auto: CUDA when torch sees it, or when the Ray cluster "
                        f"has GPUs); recorded in every result")
    p.add_argument("--gpus-per-worker", type=positive_float, default=None, metavar="SHARE",
                   help="share of one GPU each cell in flight holds, in (0, 1], e.g. 0.25: four cells per GPU "
                        "(default: the GPUs divided among --workers, at most 1); Ray tasks ask for num_gpus=SHARE")
    from gpta.commands.run import track_arg

    p.add_argument("--track", type=track_arg, default=None, metavar="mlflow[:URI]",
                   help="also log each finished cell to MLflow (needs gpta-suite[track]); off by default")
    p.add_argument("--dry-run", action="store_true", help="list the cells and the time estimate; run nothing")
    p.add_argument("--list", action="store_true", help="with --dry-run: list every cell, however many")
    p.add_argument("--retry-failed", action="store_true", help="run again the cells that failed before")
    p.add_argument("--datasets", type=_csv(str), action="append", help="replace the suite's datasets (a,b,c)")
    p.add_argument("--methods", type=_csv(str), action="append", help="replace the suite's methods")
    p.add_argument("--seeds", type=_seeds, action="append", help="replace the suite's seeds")
    p.add_argument("--fractions", type=_csv(float), action="append", help="replace the suite's fractions")
    p.add_argument("--llm", default=None, help="replace the suite's LLM (embedded | ollama:MODEL ...)")
    p.add_argument("--model", default=None, help="replace the suite's encoder")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a setting in every cell")
    p.add_argument("--data-dir", default=None, help="benchmark data (default: $GPTA_DATA_DIR)")
    p.add_argument("--llm-cache", default="readwrite", choices=["readwrite", "read", "off"],
                   help="LLM response cache: readwrite (reuse and add replies), read (replay only: needs no LLM "
                        "server; a call not in the cache fails its cell), off (always call the LLM)")
    p.add_argument("--llm-cache-path", default=None, help="default: <out>/llm_cache.sqlite (shared by all cells)")
    from gpta.commands.llm import add_endpoint_args

    add_endpoint_args(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar (one line per finished cell)")
    p.add_argument("--report", nargs="?", const="", default=None, metavar="DIR",
                   help="then build the report (default DIR: OUT/report), even when cells failed; the exit "
                        "status is still the sweep's (1 if a cell failed)")
    p.set_defaults(func=cmd_sweep)
