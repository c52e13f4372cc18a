"""llm-zero-shot: the LLM labels each test input itself; no encoder, no training.

The cost and exposure contrast to GPTA: one LLM call per evaluated input, and every evaluated
test text is sent to the LLM. The reply is parsed to a label name (exact match, else the one
label named as a whole word); replies naming no label or several are parse failures, counted
and scored wrong (prediction -1).

Options (recorded under ``zero_shot``):
- ``max_eval`` (default 200): at most this many test inputs, a fixed seeded subset (seed 0, like
  ``train.test_max``; the same inputs for every train seed). The CPU LLM takes about a second
  per input, so the full 2,000-tweet test split would take ~30 min; 0 = the whole test split.
- ``label_max_tokens`` (default 8): the reply length cap for a label (the run's generation
  config is kept otherwise; the stop list gets a newline).
Classification only: a QA answer is a span, not a label name.
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any

import torch

from gpta import prompts
from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.errors import UserError
from gpta.methods import LLMZeroShotOptions, method_options
from gpta.pipeline import Setup, _subset

DEFAULT_MAX_EVAL = LLMZeroShotOptions.max_eval
DEFAULT_LABEL_TOKENS = LLMZeroShotOptions.label_max_tokens

SYSTEM = "You are a text classifier. You answer with exactly one label from the given list and nothing else."
USER = "{description}\nLabels: {labels}.\nText: {text}\nWhich label fits the text? Answer with one of: {labels}."


def parse_label(reply: str, label_names: list[str]) -> tuple[int | None, str]:
    """(label index or None, how): "exact", "word", "no label" or "ambiguous"."""
    text = reply.strip().lower()
    bare = text.strip(" \t\"'`.,:;!*()[]")
    lowered = [n.lower() for n in label_names]
    if bare in lowered:
        return lowered.index(bare), "exact"
    found = set()
    # longest names first, blanking each match, so "technology" inside "science and technology"
    # does not count as a second label
    for i in sorted(range(len(lowered)), key=lambda i: -len(lowered[i])):
        pattern = rf"\b{re.escape(lowered[i])}\b"
        if re.search(pattern, text):
            found.add(i)
            text = re.sub(pattern, " ", text)
    if len(found) == 1:
        return found.pop(), "word"
    return None, "ambiguous" if found else "no label"


def score(setup: Setup, examples: list, predicted: list[int | None]) -> dict[str, Any]:
    """The task's usual metrics; a parse failure is prediction -1, so it is wrong for every class."""
    preds = torch.tensor([-1 if p is None else p for p in predicted], dtype=torch.long)
    return setup.task.metrics([preds], setup.task.encode(examples), [])


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    setup = Setup.build(cfg, ctx)
    spec = setup.spec
    if spec.task != "classification":
        raise UserError(f"llm-zero-shot labels classification inputs; {spec.name!r} is {spec.task}")
    opts = method_options(cfg)  # typed and checked: gpta.methods.LLMZeroShotOptions
    max_eval, label_tokens = opts.max_eval, opts.label_max_tokens
    examples = _subset(setup.enc["test"].examples, max_eval, 0)

    llm = ctx.llm()
    llm.options = dataclasses.replace(llm.options, max_tokens=label_tokens,
                                      stop=tuple(dict.fromkeys((*llm.options.stop, "\n"))))
    labels = prompts.labels_phrase(spec.label_names)
    t0 = time.perf_counter()
    predicted, replies = [], []
    for i, ex in enumerate(examples):
        messages = [{"role": "system", "content": SYSTEM},
                    {"role": "user", "content": USER.format(description=spec.description, labels=labels, text=ex.text)}]
        reply = llm.chat(messages, purpose=f"label-{i}").text
        label, how = parse_label(reply, spec.label_names)
        predicted.append(label)
        replies.append({"reply": reply[:200], "parsed": label, "how": how, "gold": ex.label})
    seconds = time.perf_counter() - t0

    test = score(setup, examples, predicted)
    metrics = {"test_predictions": test.pop("predictions"), "test": test}
    hows = [r["how"] for r in replies]
    extra = {
        "prefix": None, "prefix_tokens": 0, "selected": None,
        "zero_shot": {
            "max_eval": max_eval, "n_evaluated": len(examples), "of_test": len(setup.enc["test"]),
            "label_max_tokens": label_tokens, "parse_failures": sum(p is None for p in predicted),
            "parse": {k: hows.count(k) for k in ("exact", "word", "no label", "ambiguous")},
            "replies": replies,
        },
    }
    if isinstance(getattr(setup, "evaluated", None), dict):  # the result's sizes say what was scored
        setup.evaluated.update({"dev": 0, "test": len(examples)})
    costs = {"train_seconds": 0.0, "eval_seconds": round(seconds, 3), "train_steps": 0}
    return setup.build_result(metrics, extra, costs, precision="n/a (no encoder)")
