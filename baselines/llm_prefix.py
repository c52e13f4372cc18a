"""llm-prefix: GPTA's first prefix only, kept fixed for the whole epoch budget.

Same first prompt, same cleaning and fallback (``gpta.gpta_loop.accept``) as GPTA's round 0, exactly
one LLM call, no feedback rounds. Against ``gpta`` it isolates the dialogue gradient.
"""

from __future__ import annotations

from typing import Any

from baselines.finetune import train_with_fixed_prefix
from gpta import prompts
from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.gpta_loop import accept, ask
from gpta.pipeline import Setup


def first_prefix(setup: Setup) -> dict[str, Any]:
    spec = setup.spec
    conversation = [
        {"role": "system", "content": prompts.system_message(spec.task)},
        {"role": "user", "content": prompts.first_message(spec.description, spec.label_names, spec.task)},
    ]
    reply = ask(setup.ctx.llm(), conversation, setup.cfg.gpta.history, "p0")
    verdict = accept(setup, reply, previous=None)
    return {"prefix": verdict["prefix"], "prefix_source": verdict["source"], "prefix_note": verdict["note"],
            "conversation": conversation}


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    return train_with_fixed_prefix(cfg, ctx, first_prefix)
