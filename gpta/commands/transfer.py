"""``gpta transfer --from RESULT.json --dataset D``: the paper's transfer experiment.

Trains on D with the fixed prefix another run learned (no LLM call), through the same path as
``gpta run`` (method ``transfer``). The source result is recorded in the config
(``options.source``: result path, dataset, method, run id), so the new result names both datasets.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from baselines.transfer import read_source  # noqa: F401 (the method's reader; re-exported)
from gpta.commands.run import add_cell_args, config_from_args, summary_line
from gpta.config import RunConfig


def transfer_config(args: argparse.Namespace, source: dict[str, Any]) -> RunConfig:
    cfg = config_from_args(args, "transfer")
    cfg.options["prefix"] = source["prefix"]
    cfg.options["source"] = source["source"]
    return cfg


def cmd_transfer(args: argparse.Namespace) -> int:
    from gpta.data.spec import get_dataset
    from gpta.cell import execute

    from gpta.commands.run import preflight

    source = read_source(args.from_path)
    cfg = transfer_config(args, source)
    preflight(cfg, args.out, args.llm_cache, args.llm_cache_path, args.data_dir)
    target = get_dataset(cfg.dataset, **cfg.dataset_options)
    src_domain = source["source"]["domain"]
    if src_domain and src_domain != target.domain:
        # Allowed (a prefix is only text), but the paper's claim is about transfer within a domain.
        print(f"gpta transfer: note: source domain {src_domain!r} differs from {target.name!r} "
              f"({target.domain})", file=sys.stderr)
    path, result = execute(cfg, args.out, data_dir=args.data_dir, llm_cache=args.llm_cache,
                           llm_cache_path=args.llm_cache_path)
    print(summary_line(path, result))
    print(f"prefix (from {source['source']['dataset']}): {json.dumps(source['prefix'])}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("transfer", help="train on a dataset with the fixed prefix learned in another result (no LLM)")
    p.add_argument("--from", dest="from_path", required=True, metavar="RESULT.json",
                   help="a result JSON whose 'prefix' to reuse (e.g. a GPTA run on sst2)")
    add_cell_args(p, with_method=False)
    p.set_defaults(func=cmd_transfer)
