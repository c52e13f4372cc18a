"""transfer: train with a fixed prefix learned elsewhere (``gpta transfer --from RESULT.json``).

The prefix is ``options.prefix``; ``options.source`` (result path, dataset, method, run id) is
recorded with it. No LLM call: the prefix is text another run already wrote.
"""

from __future__ import annotations

from typing import Any

from baselines.finetune import train_with_fixed_prefix
from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.errors import UserError


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    prefix = cfg.options.get("prefix")
    if not isinstance(prefix, str) or not prefix.strip():
        raise UserError("method transfer needs options.prefix (a non-empty prefix text); "
                        "use `gpta transfer --from RESULT.json` or --set options.prefix=...")
    return train_with_fixed_prefix(cfg, ctx, prefix, {"transfer_source": cfg.options.get("source")})
