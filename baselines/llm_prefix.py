"""llm-prefix: GPTA's first prefix only, kept fixed for the whole epoch budget.

The same call as GPTA's step 1 (``gpta.gpta_loop.first_prefix``: same prompt, same sampling
options and LLM seed, same cleaning and fallback), so in a cell it gets exactly GPTA's p0; one
LLM call, no feedback rounds. Against ``gpta`` it isolates the dialogue gradient.
"""

from __future__ import annotations

from typing import Any

from baselines.finetune import train_with_fixed_prefix
from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.gpta_loop import first_prefix
from gpta.pipeline import Setup


def prefix_from_llm(setup: Setup) -> dict[str, Any]:
    conversation, p0 = first_prefix(setup, setup.ctx.llm())
    return {"prefix": p0["prefix"], "prefix_source": p0["source"], "prefix_note": p0["note"],
            "conversation": conversation}


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    return train_with_fixed_prefix(cfg, ctx, prefix_from_llm)
