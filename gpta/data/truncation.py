"""How many texts the token budget cuts: a number every result and ``gpta list datasets`` state.

The classifier reads at most ``train.max_text_tokens`` tokens of each text (64 by default); a
text longer than that is truncated, and what it loses is not scored. About 10% of AG News test
articles are cut at 64 tokens; short sentences (sst2, trec) almost never are.
"""

from __future__ import annotations

from typing import Any

from gpta.data.spec import Example


def truncation(tokenizer: Any, examples: list[Example], max_tokens: int) -> dict[str, Any]:
    """{n, truncated, rate}: texts longer than ``max_tokens`` tokens (no special tokens)."""
    if not examples:
        return {"n": 0, "truncated": 0, "rate": 0.0, "max_text_tokens": max_tokens}
    ids = tokenizer([e.text for e in examples], add_special_tokens=False, truncation=True,
                    max_length=max_tokens + 1)["input_ids"]
    cut = sum(len(x) > max_tokens for x in ids)
    return {"n": len(examples), "truncated": int(cut), "rate": round(cut / len(examples), 4),
            "max_text_tokens": max_tokens}
