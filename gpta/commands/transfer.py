"""``gpta transfer --from RESULT.json --dataset D``: the paper's transfer experiment.

Trains on D with the fixed prefix another run learned (no LLM call), through the same path as
``gpta run`` (method ``transfer``). The source result is recorded in the config
(``options.source``: result file name, dataset, task, domain, method, run id), so the new result
names both datasets. The method's registry row says how a result file becomes its options
(``MethodInfo.from_result``); this command imports no method module.
"""

from __future__ import annotations

import argparse
import json
import sys

from gpta.commands.run import add_cell_args, config_from_args, summary_line
from gpta.config import RunConfig
from gpta.registry import options_from_result

METHOD = "transfer"


def transfer_config(args: argparse.Namespace) -> RunConfig:
    """The cell: the command line's, with the options the transfer method reads from ``--from``."""
    cfg = config_from_args(args, METHOD)
    cfg.options.update(options_from_result(METHOD, args.from_path))
    return cfg


def cmd_transfer(args: argparse.Namespace) -> int:
    from gpta.cell import execute
    from gpta.commands.run import preflight
    from gpta.data.spec import get_dataset

    cfg = transfer_config(args)
    preflight(cfg, args.out, args.llm_cache, args.llm_cache_path, args.data_dir)
    source, prefix = cfg.options["source"], cfg.options["prefix"]
    # (a source of another task type is refused by the method's options, checked in execute)
    path, result = execute(cfg, args.out, data_dir=args.data_dir, llm_cache=args.llm_cache,
                           llm_cache_path=args.llm_cache_path)
    print(summary_line(path, result))
    print(f"prefix (from {source['dataset']}): {json.dumps(prefix)}")
    target = get_dataset(cfg.dataset, **cfg.dataset_options)
    if source.get("domain") and source["domain"] != target.domain:
        # Allowed (a prefix is only text), but the paper's claim is about transfer within a domain.
        print(f"gpta transfer: note: source domain {source['domain']!r} differs from {target.name!r} "
              f"({target.domain})", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("transfer", help="train on a dataset with the fixed prefix learned in another result (no LLM)")
    p.add_argument("--from", dest="from_path", required=True, metavar="RESULT.json",
                   help="a result JSON whose 'prefix' to reuse (e.g. a GPTA run on sst2)")
    add_cell_args(p, with_method=False, with_llm=False)  # transfer calls no LLM
    p.set_defaults(func=cmd_transfer)
