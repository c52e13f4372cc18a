"""textual-gradient: a ProTeGi/TextGrad-style prefix optimiser that shows the LLM training data.

The GPTA loop (``gpta/method.py``) with one change: each feedback message also quotes a few
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

from gpta import prompts
from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.errors import UserError
from gpta.method import accept, ask, split_epochs
from gpta.methods import MethodInfo, register
from gpta.pipeline import Setup

DEFAULT_EXAMPLES = 4
MAX_WORDS = 60  # per quoted example: keeps the conversation inside a small LLM's context

ERRORS_HEADER = "Training examples the classifier got wrong with your instruction:\n"
NO_ERRORS_HEADER = "The classifier got every training example right with your instruction; some training examples:\n"


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
    setup = Setup.build(cfg, ctx)
    spec, g = setup.spec, cfg.gpta
    if spec.task != "classification":
        raise UserError("textual-gradient shows misclassified examples with labels: classification only")
    try:
        k = int(cfg.options.get("n_examples", DEFAULT_EXAMPLES))
    except (TypeError, ValueError):
        raise UserError(f"options.n_examples {cfg.options.get('n_examples')!r}: expected an integer") from None
    metric = spec.metric
    llm = ctx.llm()
    plan = split_epochs(cfg.train.epochs, g.rounds)

    conversation = [
        {"role": "system", "content": prompts.SYSTEM},
        {"role": "user", "content": prompts.first_message(spec.description, spec.label_names, spec.task)},
    ]
    current = accept(setup, ask(llm, conversation, g.history, "p0"), previous=None)
    history: list[dict[str, Any]] = []
    shown = 0

    trainer = setup.new_trainer(cfg.train.epochs if g.weights == "continue" else plan[0])
    for r, epochs in enumerate(plan):
        if r > 0 and g.weights == "restart":
            trainer = setup.new_trainer(epochs)
        prefix = current["prefix"]
        pids = setup.task.prefix_ids(prefix)
        before = trainer.evaluate(setup.features("dev", pids), setup.enc["dev"])
        rows = setup.fit_epochs(trainer, prefix, epochs, round_index=r)
        after, train = rows[-1]["dev"], rows[-1]["train"]
        wrong = sum(p != y for p, y in zip(train["predictions"], setup.enc["train_eval"].labels))
        history.append({
            "round": r, "prefix": prefix, "prefix_tokens": len(pids), "source": current["source"],
            "note": current["note"], "dev_before": before[metric], "dev_metric": after[metric],
            "dev_loss": after["loss"], "train_loss": train["loss"], "train_errors": int(wrong),
            "epochs": [row["epoch"] for row in rows],
        })
        if r == len(plan) - 1:
            break
        examples = error_examples(setup, train, k, cfg.train_seed + r)
        shown += examples.count("\n") - 1
        aggregate = prompts.feedback_message(r, prefix, len(pids), metric, before, after, train, len(setup.enc["dev"]))
        conversation.append({"role": "user", "content": examples + aggregate})
        current = accept(setup, ask(llm, conversation, g.history, f"revise-{r + 1}"), previous=prefix)

    return setup.finish(trainer, {
        "prefix_history": history, "conversation": conversation, "rounds_plan": plan,
        "fallbacks": sum(h["source"] == "fallback" for h in history),
        "training_examples_shown": shown,
    })


register(MethodInfo(
    name="textual-gradient", run=run,
    isolates="showing the LLM misclassified training data (ProTeGi/TextGrad) vs GPTA's aggregate-only feedback",
    llm_use="rounds calls (1 + one revision per later round), like gpta",
    exposure="training data: up to options.n_examples (default 4) training texts with labels per revision",
    tasks=("classification",), uses_llm=True,
))
