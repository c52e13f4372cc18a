"""random-prefix: random vocabulary tokens as the prefix, as long as the prefix GPTA selected.

Against ``gpta`` it separates the prefix's *content* from "more tokens in front of the input".

Length, first found wins (recorded as ``prefix_tokens_source``):
1. ``inputs.prefix_tokens``: the ``prefix_tokens`` of the GPTA result of the same cell, passed in
   by the sweep (or ``gpta run``) because the registry declares ``needs=gpta.prefix_tokens``;
2. ``options.prefix_tokens``;
3. ``DEFAULT_TOKENS`` (12, about the length of a one-sentence prefix naming two labels).

Tokens are drawn uniformly (seeded by the train seed) from the encoder's vocabulary, keeping
only whole-word tokens that re-tokenize to themselves (no ``##`` pieces, no special or
``[unused]`` tokens), so the prefix is plain text that encodes to exactly the drawn ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from baselines.finetune import train_with_fixed_prefix
from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.errors import UserError
from gpta.registry import method_options
from gpta.pipeline import Setup

DEFAULT_TOKENS = 12


def candidate_ids(tokenizer: Any) -> list[int]:
    """Vocabulary ids whose token is a whole word that encodes back to exactly itself."""
    special = set(tokenizer.all_special_ids)
    vocab = tokenizer.get_vocab()
    words = [(t, i) for t, i in vocab.items()
             if i not in special and not t.startswith("##") and not t.startswith("[") and t.strip() == t and t]
    words.sort(key=lambda ti: ti[1])
    encoded = tokenizer([t for t, _ in words], add_special_tokens=False)["input_ids"]
    return [i for (_, i), ids in zip(words, encoded) if ids == [i]]


def random_prefix(tokenizer: Any, n_tokens: int, seed: int) -> tuple[str, list[int]]:
    ids = candidate_ids(tokenizer)
    drawn = np.random.default_rng(seed).choice(len(ids), size=n_tokens, replace=True)
    token_ids = [ids[k] for k in drawn]
    text = " ".join(tokenizer.convert_ids_to_tokens(token_ids))
    return text, token_ids


def resolve_length(cfg: RunConfig, ctx: RunContext | None = None) -> tuple[int, str]:
    if cfg.inputs.get("prefix_tokens") is not None:
        return int(cfg.inputs["prefix_tokens"]), f"gpta result {cfg.inputs.get('prefix_tokens_from')}"
    n = method_options(cfg).prefix_tokens
    if n is not None:
        return n, "options.prefix_tokens"
    return DEFAULT_TOKENS, f"default ({DEFAULT_TOKENS}; no gpta result for this cell)"


def choose(setup: Setup) -> dict[str, Any]:
    cfg = setup.cfg
    n, source = resolve_length(cfg, setup.ctx)
    if not 1 <= n <= cfg.train.max_prefix_tokens:
        raise UserError(f"random-prefix length {n} (from {source}): must be 1..train.max_prefix_tokens "
                        f"({cfg.train.max_prefix_tokens})")
    text, token_ids = random_prefix(setup.task.tokenizer, n, cfg.train_seed)
    # The point of the method is the exact length: check it through the same path training uses.
    assert setup.task.prefix_ids(text) == token_ids, "random prefix does not round-trip"
    return {"prefix": text, "prefix_tokens_target": n, "prefix_tokens_source": source}


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    return train_with_fixed_prefix(cfg, ctx, choose)
