"""transfer: train with a fixed prefix learned elsewhere (``gpta transfer --from RESULT.json``).

The prefix is ``options.prefix``; ``options.source`` (result file name, dataset, task, domain,
method, run id) is recorded with it. No LLM call: the prefix is text another run already wrote.
``read_source`` reads a source result into those options; the registry names it
(``MethodInfo.from_result``), so ``gpta transfer`` and a sweep's transfer stages reach it through
``gpta.registry.options_from_result`` and the core imports nothing from here. A prefix moves only
between datasets of one task (``TransferOptions.check_dataset``, checked before any data loads).
This module imports no torch until the method runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gpta.config import RunConfig
from gpta.errors import UserError
from gpta.registry import method_options


def read_source(path: str | Path) -> dict[str, Any]:
    """The options a transfer cell takes from a source result: the learned prefix and where it
    came from. The file's name, not its path, is recorded: a cell's id must not depend on where
    the results folder lives (the source's run id names it). A result without a prefix is refused."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--from {path}: no such result file")
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"--from {path}: not a result JSON ({exc})") from None
    if not isinstance(result, dict):
        raise UserError(f"--from {path}: not a result JSON (top level is not an object)")
    prefix = result.get("prefix")
    method = result.get("method")
    if not isinstance(prefix, str) or not prefix.strip():
        raise UserError(f"--from {path}: the result has no prefix to transfer (method {method!r})")
    if result.get("status", "ok") != "ok":
        raise UserError(f"--from {path}: the source run did not finish (status {result.get('status')!r})")
    dataset = result.get("dataset") or {}
    return {
        "prefix": prefix,
        "source": {
            "result": path.name,
            "dataset": dataset.get("name") if isinstance(dataset, dict) else dataset,
            "task": dataset.get("task") if isinstance(dataset, dict) else None,
            "domain": dataset.get("domain") if isinstance(dataset, dict) else None,
            "method": method,
            "run_id": result.get("run_id"),
        },
    }


def run(cfg: RunConfig, ctx: Any) -> dict[str, Any]:
    from baselines.finetune import train_with_fixed_prefix  # torch: only when the method runs

    prefix = method_options(cfg).prefix
    if not isinstance(prefix, str) or not prefix.strip():
        raise UserError("method transfer needs options.prefix (a non-empty prefix text); "
                        "use `gpta transfer --from RESULT.json` or --set options.prefix=...")
    return train_with_fixed_prefix(cfg, ctx, prefix, {"transfer_source": cfg.options.get("source")})
