"""Every result key the report reads that other parts of the suite are still adding, in one place.

The report degrades gracefully: a key that is absent from a result makes the number it feeds
"not recorded in these results", never an error and never a guess. Each entry is a tuple of
dotted paths tried in order (the first present wins), so aligning a name at merge time is a
one-line change here. ``get(result, KEY)`` reads one.

Owners of the keys (who writes them into each RunResult):
- issue-13 (science): cold LLM cost, final losses, the training-majority reference, gold labels.
- issue-14 (dialogue): per-round proposals, their source (llm / echo / fallback), same-weights
  dev scores, and the new "LLM accuracy".
- issue-16 (LLM backends): the LLM's identity per result, several LLMs per suite.
"""

from __future__ import annotations

import math
from typing import Any

# -- LLM identity (issue-16) ---------------------------------------------------------------
# A result's LLM as a short label, e.g. "embedded:smollm2-360m" or "ollama:llama3.1:8b".
LLM_BACKEND = ("llm.backend", "llm.identity.backend")
LLM_MODEL = ("llm.model", "llm.identity.model", "llm.name")
LLM_CONFIG = ("config.llm",)  # the configured LLM spec: the fallback label

# -- Cold cost (issue-13 item 1): what the run would cost with an empty cache ---------------
COLD_LLM_SECONDS = ("costs.cold.llm_seconds", "costs.llm_seconds_cold", "costs.cold_llm_seconds")
# gpta/llm/base.py (CallLog.summary): costs.llm_seconds == costs.llm_seconds_cold is the cold cost
# (a cache hit counts the original call's seconds); tokens and calls are counted for hits too, so
# costs.prompt_tokens / completion_tokens / llm_calls are cold as well. What the run itself paid:
# costs.llm_seconds_paid, costs.prompt_tokens_paid, costs.completion_tokens_paid.
COLD_PROMPT_TOKENS = ("costs.prompt_tokens",)
COLD_COMPLETION_TOKENS = ("costs.completion_tokens",)
COLD_LLM_CALLS = ("costs.llm_calls",)
PAID_PROMPT_TOKENS = ("costs.prompt_tokens_paid", "costs.prompt_tokens")
PAID_COMPLETION_TOKENS = ("costs.completion_tokens_paid", "costs.completion_tokens")
PAID_LLM_CALLS = ("costs.llm_calls",)
# NOT a fallback for cold seconds in results without llm_seconds_cold (there a hit recorded 0 s)
PAID_LLM_SECONDS = ("costs.llm_seconds_paid", "costs.llm_seconds")

# -- Losses of the selected checkpoint (overfitting, issue-13 item 4) ----------------------
TRAIN_LOSS = ("metrics.train.loss",)
DEV_LOSS = ("metrics.dev.loss",)
SELECTED_DEV = ("selected.dev_metric",)  # best dev metric (the checkpoint kept)
LAST_DEV = ("overfitting.last_dev_accuracy", "overfitting.last_dev_f1", "metrics.dev_last",)  # explicit "last epoch dev metric" if a run records it; else curves[-1]

# -- Majority reference (issue-13 item 9) ---------------------------------------------------
# The training sample's majority class scored on the evaluated test set.
TRAIN_MAJORITY_ON_TEST = ("dataset.train_majority.test_accuracy",)  # gpta/data/record.py: train_majority
TEST_MAJORITY = ("dataset.test_majority_rate",)  # the test set's own majority rate (not a baseline)
TRAIN_PER_CLASS = ("dataset.n_train_per_class",)

# -- Per-example test (issue-13 item 3) -----------------------------------------------------
TEST_PREDICTIONS = ("metrics.test_predictions",)
TEST_GOLD = ("metrics.test_labels", "metrics.test_gold", "dataset.test_labels")
TEST_EVALUATED = ("dataset.sizes.test_evaluated", "zero_shot.n_evaluated")
DEV_EVALUATED = ("dataset.sizes.dev_evaluated", "dataset.sizes.dev")

# -- Dialogue (issue-14 / issue-13 item 5) --------------------------------------------------
HISTORY = ("prefix_history",)
# per history entry (relative to the entry):
ENTRY_REVISION = ("revision",)  # gpta/gpta_loop.py: first | changed | echo | kept | fallback
ENTRY_SOURCE = ("source",)  # "llm" | "echo" | "fallback" (echo may also be a flag, below)
ENTRY_ECHO = ("echo", "is_echo", "echo_of")
ENTRY_CHANGED = ("changed", "text_changed")
ENTRY_SAME_WEIGHTS_DEV = ("same_weights_dev", "dev_same_weights", "proposal_dev")
ENTRY_SAME_WEIGHTS_PREV = ("same_weights_dev_previous", "dev_same_weights_previous", "previous_dev_same_weights")
ENTRY_IMPROVED = ("improved_over_previous",)  # round-to-round, confounded with training
PROPOSALS = ("proposals", "dialogue.proposals")  # per-round list of candidate prefixes, if recorded
LLM_ACCURACY = ("dialogue.llm_accuracy",)  # share of new proposals beating the incumbent on the same weights
DIALOGUE = ("dialogue",)  # present: the run recorded the same-weights A/B (null accuracy = nothing new, no credit)

# -- Protocol ---------------------------------------------------------------------------------
DEV_PROTOCOL = ("config.train.dev_protocol", "config.protocol.dev", "dataset.dev_protocol")
PRECISION = ("env.precision",)

NOT_RECORDED = "not recorded in these results"


def get(obj: Any, paths: tuple[str, ...], default: Any = None) -> Any:
    """The value at the first dotted path present (and not None) in ``obj``, else ``default``."""
    for path in paths:
        cur = obj
        for part in path.split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            else:
                cur = None
                break
        if cur is not None:
            return cur
    return default


def num(obj: Any, paths: tuple[str, ...]) -> float:
    v = get(obj, paths)
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def llm_label(result: dict[str, Any]) -> str | None:
    """The LLM a result used, as one short label; None for a method that used none."""
    model = get(result, LLM_MODEL)
    if model:
        backend = get(result, LLM_BACKEND)
        return f"{backend}:{model}" if backend and not str(model).startswith(f"{backend}:") else str(model)
    return None
