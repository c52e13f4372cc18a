"""textual-gradient: a ProTeGi/TextGrad-style prefix optimiser that shows the LLM training data.

The GPTA loop (``gpta/gpta_loop.py``) with one change: each feedback message also quotes a few
*training* examples the classifier got wrong with the current prefix (text, gold label,
predicted label), the "textual gradient" of ProTeGi (Pryzant et al. 2023) and TextGrad. Same
first prompt, rounds, epoch split, cleaning/fallback and best-dev selection as GPTA, so against
``gpta`` it measures what showing data buys and what it costs: GPTA's privacy claim.

When a round leaves no training error (small samples are often fit exactly), the message shows
``options.n_examples`` random training examples with their labels instead and says they are all
classified correctly. Either way the LLM sees training text: this method exposes data by design
and ``gpta audit`` reports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gpta import gpta_loop
from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.errors import UserError
from gpta.gpta_loop import RoundReport, aggregate_feedback
from gpta.registry import TextualGradientOptions, method_options
from gpta.pipeline import Setup

DEFAULT_EXAMPLES = TextualGradientOptions.n_examples
MAX_WORDS = 60  # per quoted example: keeps the conversation inside a small LLM's context

ERRORS_HEADER = "Training examples the classifier got wrong with the current instruction:\n"
NO_ERRORS_HEADER = "The classifier got every training example right with the current instruction; some training examples:\n"


def quote(text: str) -> str:
    words = text.split()
    return " ".join(words[:MAX_WORDS]) + (" ..." if len(words) > MAX_WORDS else "")


def error_examples(setup: Setup, train_eval: dict[str, Any], k: int, seed: int) -> str:
    """Up to ``k`` misclassified training examples (seeded choice), as numbered lines."""
    enc = setup.enc["train_eval"]
    names = setup.spec.label_names
    preds = train_eval["predictions"]
    wrong = [i for i, (p, g) in enumerate(zip(preds, enc.labels)) if p != g]
    rng = np.random.default_rng(seed)
    pool = wrong or list(range(len(enc)))
    chosen = sorted(rng.permutation(pool)[:k].tolist())
    lines = [ERRORS_HEADER if wrong else NO_ERRORS_HEADER]
    for n, i in enumerate(chosen, 1):
        line = f'{n}. Text: "{quote(enc.examples[i].text)}" Correct label: {names[enc.labels[i]]}.'
        if wrong:
            line += f" Predicted: {names[preds[i]]}."
        lines.append(line + "\n")
    return "".join(lines)


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    """GPTA's loop (gpta.gpta_loop.run) with example-quoting feedback; everything else is identical."""
    k = method_options(cfg).n_examples  # typed and checked: gpta.registry.TextualGradientOptions
    shown: list[int] = []

    def feedback(setup: Setup, rep: RoundReport) -> str:
        if setup.spec.task != "classification":
            raise UserError("textual-gradient shows misclassified examples with labels: classification only")
        examples = error_examples(setup, rep.train, k, cfg.train_seed + rep.index)
        shown.append(examples.count("\n") - 1)
        return examples + aggregate_feedback(setup, rep)

    result = gpta_loop.run(cfg, ctx, feedback=feedback)
    result["training_examples_shown"] = sum(shown)
    return result
