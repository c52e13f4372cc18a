"""GPTA, the paper's algorithm, top to bottom.

1. The LLM reads the dataset description (never the data) and writes prefix p0.
2. Each round: train the encoder with the current prefix for the round's epochs; evaluate dev;
   send the LLM one feedback message with aggregate numbers only, in the same conversation
   (the "dialogue gradient"); its reply, cleaned and checked, is the next prefix.
3. Keep the checkpoint and prefix with the best dev metric; evaluate test once with them.
   The LLM is not used at inference.
Open choices (rounds, weights continue/restart, history) are in ``gpta.config.GPTAConfig``.
"""

from __future__ import annotations

from typing import Any, Callable

from gpta import prompts
from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.llm import LLM
from gpta.pipeline import Setup
from gpta.prefix import clean_prefix


def split_epochs(epochs: int, rounds: int) -> list[int]:
    """Spread the epoch budget over rounds (earlier rounds get the remainder)."""
    rounds = max(1, min(rounds, epochs))
    return [epochs // rounds + (1 if r < epochs % rounds else 0) for r in range(rounds)]


def ask(llm: LLM, conversation: list[dict[str, str]], history: str, purpose: str) -> str:
    """Send the conversation (or its first and last exchange) and record the reply in it."""
    sent = conversation
    if history == "last" and len(conversation) > 4:
        sent = conversation[:2] + conversation[-2:]  # the task, then the latest prefix and feedback
    reply = llm.chat(sent, purpose=purpose)
    conversation.append({"role": "assistant", "content": reply.text})
    return reply.text


def accept(setup: Setup, reply: str, previous: str | None) -> dict[str, Any]:
    """Clean the reply into a prefix; fall back to the previous one (or a template) if unusable."""
    cfg, spec = setup.cfg, setup.spec
    tokenizer = setup.task.tokenizer
    verdict = clean_prefix(
        reply, spec.label_names, lambda s: len(tokenizer(s, add_special_tokens=False)["input_ids"]),
        cfg.train.max_prefix_tokens, cfg.gpta.reject_partial_labels, cfg.gpta.reject_off_task,
    )
    if verdict.prefix is not None:
        return {"prefix": verdict.prefix, "source": "llm", "note": verdict.reason, "reply": reply}
    fallback = previous or prompts.fallback_prefix(spec.label_names, spec.domain, spec.task)
    return {"prefix": fallback, "source": "fallback", "note": verdict.reason, "reply": reply}


# feedback(setup, round, prefix, prefix_ids, dev_before, dev_after, train) -> the next user message
Feedback = Callable[[Setup, int, str, list[int], dict, dict, dict], str]


def aggregate_feedback(setup: Setup, r: int, prefix: str, pids: list[int], before: dict[str, Any],
                       after: dict[str, Any], train: dict[str, Any]) -> str:
    """GPTA's dialogue gradient: aggregate numbers only, never an example."""
    return prompts.feedback_message(r, prefix, len(pids), setup.spec.metric, before, after, train,
                                    setup.evaluated["dev"])


def run(cfg: RunConfig, ctx: RunContext, feedback: Feedback = aggregate_feedback) -> dict[str, Any]:
    """GPTA. ``feedback`` is the one thing a variant may change (textual-gradient shows examples)."""
    setup = Setup.build(cfg, ctx)
    spec, g = setup.spec, cfg.gpta
    metric = spec.metric
    llm = ctx.llm()
    plan = split_epochs(cfg.train.epochs, g.rounds)

    conversation = [
        {"role": "system", "content": prompts.system_message(spec.task)},
        {"role": "user", "content": prompts.first_message(spec.description, spec.label_names, spec.task)},
    ]
    current = accept(setup, ask(llm, conversation, g.history, "p0"), previous=None)
    history: list[dict[str, Any]] = []

    trainer = setup.new_trainer(cfg.train.epochs if g.weights == "continue" else plan[0])
    for r, epochs in enumerate(plan):
        if r > 0 and g.weights == "restart":
            trainer = setup.new_trainer(epochs)  # prefix search: every prefix from pretrained weights
        prefix = current["prefix"]
        pids = setup.task.prefix_ids(prefix)
        before = trainer.evaluate(setup.features("dev", pids), setup.enc["dev"])
        rows = setup.fit_epochs(trainer, prefix, epochs, round_index=r)
        after, train = rows[-1]["dev"], rows[-1]["train"]
        history.append({
            "round": r, "prefix": prefix, "prefix_tokens": len(pids), "source": current["source"],
            "note": current["note"], "dev_before": before[metric], "dev_metric": after[metric],
            "dev_best_in_round": max(row["dev"][metric] for row in rows),
            "dev_loss_before": before["loss"], "dev_loss": after["loss"], "train_loss": train["loss"],
            "epochs": [row["epoch"] for row in rows],
        })
        if "predictions" in train and spec.task != "qa":  # wrong answers on the train-eval sample
            labels = setup.enc["train_eval"].labels
            history[-1]["train_errors"] = int(sum(p != y for p, y in zip(train["predictions"], labels)))
        if r == len(plan) - 1:
            break
        conversation.append({"role": "user", "content": feedback(setup, r, prefix, pids, before, after, train)})
        current = accept(setup, ask(llm, conversation, g.history, f"revise-{r + 1}"), previous=prefix)

    # "LLM accuracy": did the revised prefix's round end better than the round before it?
    for prev, cur in zip(history, history[1:]):
        cur["improved_over_previous"] = cur["dev_metric"] > prev["dev_metric"]
    return setup.finish(trainer, {
        "prefix_history": history,
        "conversation": conversation,
        "rounds_plan": plan,
        "fallbacks": sum(h["source"] == "fallback" for h in history),
    })
