"""finetune: plain fine-tuning with no prefix, through the same loop and selection as GPTA.

``train_with_fixed_prefix`` is the shared body of every fixed-prefix method (manual, LLM first
prefix, random, transfer): one ``Setup``, one trainer for the whole epoch budget, best-dev
selection, one test evaluation. Only where the prefix comes from differs.
"""

from __future__ import annotations

from typing import Any, Callable, Union

from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.pipeline import Setup

# A prefix, or a function of the built Setup returning {"prefix": str | None, ...extra to record}
# (for prefixes that need the tokenizer, the spec or an LLM call first).
PrefixSource = Union[str, None, Callable[[Setup], dict[str, Any]]]


def train_with_fixed_prefix(cfg: RunConfig, ctx: RunContext, prefix: PrefixSource,
                            extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Same epochs, same trainer, same best-dev selection as GPTA; the prefix never changes."""
    setup = Setup.build(cfg, ctx)
    record = dict(extra or {})
    if callable(prefix):
        chosen = dict(prefix(setup))
        prefix = chosen.pop("prefix")
        record.update(chosen)
    trainer = setup.new_trainer(cfg.train.epochs)
    setup.fit_epochs(trainer, prefix, cfg.train.epochs)
    return setup.finish(trainer, record)


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    return train_with_fixed_prefix(cfg, ctx, None)
