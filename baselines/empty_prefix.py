"""empty-prefix: finetune in the prefix methods' layout, with nothing in the prefix slot.

``finetune`` reads ``[CLS] text [SEP]`` with the text in segment A (token type 0); every prefix
method reads ``[CLS] prefix [SEP] text [SEP]`` with the text in segment B (token type 1), and
all-MiniLM-L6-v2's two token-type embeddings differ. So "prefix method vs finetune" mixes the
prefix with a layout change. This control reads ``[CLS] [SEP] text [SEP]`` (types 0 0 1 ... 1):
the identical layout with an empty prefix, so "prefix method vs empty-prefix" isolates the
prefix's content. Same epochs, trainer and best-dev selection as every fixed-prefix method.
(QA needs no such control: its prefix joins the question in segment A, so finetune already
has the prefix methods' layout.)
"""

from __future__ import annotations

from typing import Any

from baselines.finetune import train_with_fixed_prefix
from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.pipeline import Setup

LAYOUT = "[CLS] [SEP] text [SEP]; token types 0 0 then 1 for the text (the prefix methods' layout)"


def choose(setup: Setup) -> dict[str, Any]:
    setup.task.empty_prefix_pair = True  # before any features are built: all splits use the pair layout
    return {"prefix": None, "layout": LAYOUT}


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    return train_with_fixed_prefix(cfg, ctx, choose)
