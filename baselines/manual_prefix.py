"""manual-prefix: the dataset's hand-written prefix (``DatasetSpec.manual_prefix``), fixed.

Against ``llm-prefix`` it separates "any sensible prefix helps" from "the LLM's prefix helps".
"""

from __future__ import annotations

from typing import Any

from baselines.finetune import train_with_fixed_prefix
from gpta.config import RunConfig
from gpta.context import RunContext


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    return train_with_fixed_prefix(cfg, ctx, lambda setup: {
        "prefix": setup.spec.manual_prefix, "prefix_source": "dataset registry (manual_prefix)"})
