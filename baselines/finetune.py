"""finetune: plain fine-tuning with no prefix, through the same loop and selection as GPTA."""

from __future__ import annotations

from typing import Any

from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.methods import MethodInfo, register
from gpta.pipeline import Setup


def train_with_fixed_prefix(cfg: RunConfig, ctx: RunContext, prefix: str | None,
                            extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The shared body of every fixed-prefix method: same epochs, same best-dev selection."""
    setup = Setup.build(cfg, ctx)
    trainer = setup.new_trainer(cfg.train.epochs)
    setup.fit_epochs(trainer, prefix, cfg.train.epochs)
    return setup.finish(trainer, extra or {})


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    return train_with_fixed_prefix(cfg, ctx, None)


register(MethodInfo(
    name="finetune", run=run,
    isolates="the baseline every gain is measured against: no prefix, no LLM",
    llm_use="none", exposure="none",
))
