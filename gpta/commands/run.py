"""``gpta run``: one cell, one result JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gpta.config import (DEFAULT_LLM, DEFAULT_MODEL, RunConfig, apply_overrides, check_fraction, check_seed,
                         parse_set_args)
from gpta.errors import UserError


def seed_arg(text: str) -> int:
    """``--seed``/``--data-seed``/``--seeds``: text to an integer, checked by the one seed rule
    (``gpta.config.check_seed``), as argparse's one-line usage error."""
    try:
        return check_seed("seed", int(text.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed {text!r}: must be an integer in [0, 2**32)") from None
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def out_arg(text: str) -> str:
    """``--out``: a folder. An empty value is refused (it would write into the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is no folder: give a results folder, e.g. --out results")
    return text


def track_arg(text: str) -> str:
    """``--track``: refuses an unknown tracker (``gpta.tracking.parse_track``) before anything runs."""
    from gpta.tracking import parse_track

    try:
        parse_track(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--track {text}: ")) from None
    return text


def cell_llm(method: str, llm: str | None) -> str:
    """The cell's LLM. An explicit ``--llm`` is refused for a method whose cell no LLM changes (it
    asks none and needs no result of a method that does): it would be recorded and never called.
    Sweeps give every cell the suite's LLM; the cell id leaves it out where the method reads none."""
    if llm is None:
        return DEFAULT_LLM
    from gpta.llm import check_spec
    from gpta.registry import depends_on_llm

    if not depends_on_llm(method):
        raise UserError(f"--llm {llm}: method {method!r} uses no LLM; drop --llm")
    check_spec(llm)
    return llm


def add_cell_args(p: argparse.ArgumentParser, with_method: bool = True, with_llm: bool = True) -> None:
    """Arguments shared by `run` and `transfer` (``with_llm=False``: its LLM options are still parsed,
    so `--llm` gets its own refusal, "uses no LLM; drop --llm", but --help does not offer them)."""
    p.add_argument("--dataset", required=True, help="registered name, csv:PATH, tsv:PATH, jsonl:PATH or a card file")
    p.add_argument("--fraction", type=float, default=0.05, help="share of the train pool, in (0, 1]")
    p.add_argument("--seed", type=seed_arg, default=13, help="train seed (and data seed unless --data-seed)")
    p.add_argument("--data-seed", type=seed_arg, default=None, help="seed of the low-resource sample")
    if with_method:
        p.add_argument("--method", default="gpta", help="see `gpta list methods`")
    p.add_argument("--llm", default=None,
                   help="embedded | embedded:NAME (e.g. qwen2.5-coder-1.5b) | embedded:PATH.gguf | ollama:MODEL | openai:MODEL")
    p.add_argument("--model", default=DEFAULT_MODEL, help="Hugging Face name or local path of the encoder")
    p.add_argument("--out", type=out_arg, default="results", help="results directory")
    p.add_argument("--data-dir", default=None, help="local benchmark files (default: $GPTA_DATA_DIR)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a setting, e.g. train.epochs=4, gpta.rounds=2, gpta.weights=restart")
    p.add_argument("--llm-cache", default="readwrite", choices=["readwrite", "read", "off"],
                   help="LLM response cache: readwrite (reuse and add replies), read (replay only: a call not in "
                        "the cache fails; needs no LLM server), off (always call the LLM)")
    p.add_argument("--llm-cache-path", default=None, help="default: <out>/llm_cache.sqlite")
    from gpta.cli import DEVICES, device_arg

    p.add_argument("--device", type=device_arg, default="auto",
                   help=f"where the encoder trains: {DEVICES} (auto: CUDA when torch sees it); recorded in the result")
    p.add_argument("--track", type=track_arg, default=None, metavar="mlflow[:URI]",
                   help="also log the cell (config, metrics, costs, result JSON) to MLflow; default store: "
                        "$MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here (needs gpta-suite[track]); off by default")
    from gpta.commands.llm import add_endpoint_args

    add_endpoint_args(p)
    if not with_llm:
        for action in p._actions:
            if any(o.startswith("--llm") for o in action.option_strings):
                action.help = argparse.SUPPRESS
    g = p.add_argument_group("your own data (--dataset csv:PATH ...)")
    g.add_argument("--text-col", help="column (CSV/TSV) or key (JSONL) holding the text (default: text)")
    g.add_argument("--label-col", help="column or key holding the label (default: label)")
    g.add_argument("--description", help="text, or a file holding the dataset description for the LLM")
    g.add_argument("--encoding", help="the file's text encoding, e.g. utf-8, latin-1 (default: utf-8)")


DATASET_OPTION_FLAGS = {"text_col": "--text-col", "label_col": "--label-col", "description": "--description",
                        "encoding": "--encoding"}


def check_dataset_options(dataset: str, options: dict) -> None:
    """Options for a user's file are refused with a registered dataset (they would be recorded,
    hashed into the cell id and ignored); a --description that looks like a path must exist."""
    from gpta.data import REGISTRY

    if options and dataset in REGISTRY and not REGISTRY[dataset].source_hint.startswith("card "):
        flag = DATASET_OPTION_FLAGS[next(iter(options))]
        raise UserError(f"{flag} is for your own data (--dataset csv:PATH, tsv:PATH, jsonl:PATH or a card); "
                        f"{dataset!r} is a registered dataset: drop {flag}")
    if options.get("description"):  # a folder, a missing file, not UTF-8, over the size limit: refused now
        from gpta.data.custom import read_description

        read_description(options["description"])


def preflight(cfg: RunConfig, out: str, llm_cache: str, llm_cache_path: str | None,
              data_dir: str | None = None) -> None:
    """Checks that need no data or model, before anything is loaded or written: the output folder,
    the dataset options, the cache path, and the LLM itself (one short identity call)."""
    from gpta.context import check_cache_path, check_out_dir, probe_llm
    from gpta.registry import get_method

    import os

    from gpta.model import resolve_device

    resolve_device(os.environ.get("GPTA_DEVICE") or "auto")  # --device cuda without CUDA: refused now
    check_out_dir(out)
    from gpta.sweep.lock import refuse_if_locked

    refuse_if_locked(Path(out))  # a sweep writing there holds its lock: a cell beside it would race it
    check_dataset_options(cfg.dataset, cfg.dataset_options)
    from gpta.data.manifest import require_benchmarks

    require_benchmarks([cfg.dataset], data_dir, "--dataset")
    check_cache_path(llm_cache_path or Path(out) / "llm_cache.sqlite", llm_cache)
    method = get_method(cfg.method)
    if method.uses_llm and llm_cache != "read":  # a read-only replay must work with the server off
        probe_llm(cfg.llm, cfg.generation.timeout_s)


def config_from_args(args: argparse.Namespace, method: str) -> RunConfig:
    from gpta.commands.llm import apply_endpoint_args

    apply_endpoint_args(args)  # --llm-base-url etc.: where openai:MODEL is served (not part of the cell)
    if getattr(args, "device", None):  # read by gpta.model.pick_device; not part of the cell's identity
        import os

        os.environ["GPTA_DEVICE"] = args.device
    dataset_options = {k: getattr(args, k) for k in ("text_col", "label_col", "description", "encoding")
                       if getattr(args, k, None) is not None}
    check_fraction(args.fraction, "--fraction")  # the config's own check, naming the flag
    cfg = RunConfig(dataset=args.dataset, fraction=args.fraction, seed=args.seed, method=method,
                    model=args.model, llm=cell_llm(method, args.llm), data_seed=args.data_seed,
                    dataset_options=dataset_options)
    return apply_overrides(cfg, parse_set_args(args.set))


def summary_line(path, result) -> str:
    m = result["metric"]
    test = result["metrics"]["test"][m]
    c = result["costs"]
    return (f"{result['method']} on {result['dataset']['name']} (n_train={result['dataset']['sizes']['train']}): "
            f"test {m} {test:.4f}; LLM calls {c['llm_calls']}, tokens {c['prompt_tokens'] + c['completion_tokens']}; "
            f"train {c['train_seconds']:.0f}s -> {path}")


def cmd_run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args, args.method)  # every setting checked here, before torch is imported
    from gpta.cell import execute

    preflight(cfg, args.out, args.llm_cache, args.llm_cache_path, args.data_dir)
    from gpta.tracking import make_tracker

    # the package and the store's folder are checked before the cell runs; the store (mlflow.db) is
    # created only when the finished cell is logged, so a cell refused in `execute` leaves nothing
    tracker = make_tracker(args.track)
    path, result = execute(cfg, args.out, data_dir=args.data_dir, llm_cache=args.llm_cache,
                           llm_cache_path=args.llm_cache_path)
    print(summary_line(path, result))
    if tracker is not None:
        tracked = tracker.log_cell(result, Path(args.out) / f"{result['run_id']}.ledger.jsonl")
        if tracked:
            print(f"tracked: MLflow run {tracked} in {tracker.uri}")
    if result.get("prefix"):
        print(f"prefix: {json.dumps(result['prefix'])}", file=sys.stdout)
    return 0


def register(sub) -> None:
    p = sub.add_parser("run", help="run one cell (dataset x fraction x seed x method) and write its result JSON")
    add_cell_args(p)
    p.set_defaults(func=cmd_run)
