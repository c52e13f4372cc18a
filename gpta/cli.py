"""``gpta`` command line. Each subcommand lives in ``gpta/commands/<name>.py`` with
``register(subparsers)``; it sets ``func`` to a function taking the parsed args and returning
an exit code. A ``UserError`` anywhere becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from gpta.errors import UserError

# Order is the order in `gpta --help`.
COMMANDS = ["run", "list", "transfer", "sweep", "report", "audit", "llm"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gpta", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"gpta.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"gpta.commands.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Offline by default is the caller's choice (HF_HUB_OFFLINE); we only quiet noisy libraries.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"gpta {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"gpta {args.command}: interrupted", file=sys.stderr)
        return 130
