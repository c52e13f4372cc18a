"""llm-zero-shot: the LLM labels each test input itself; no encoder, no training.

The cost and exposure contrast to GPTA: one LLM call per evaluated input, and every evaluated
test text is sent to the LLM. One cell per dataset and LLM: its answer depends on neither the
training fraction nor the train seed (the registry row says so and the suite expands it once).

How a label is chosen (``options.scoring``):
- ``logprob`` (default where the backend has log-probabilities, e.g. the embedded llama.cpp):
  label scoring as evaluation harnesses do it. One prompt evaluation per input, one token: the
  label whose name the first reply token most probably starts (``gpta.llm.base.LabelScores``).
  No reply is parsed, so there are no parse failures; an input whose top tokens start no label
  (rare) falls back to generation + parsing, counted under ``fallbacks``.
- ``generate`` (the fallback for backends without log-probabilities): the reply is parsed to a
  label name (exact match, else the one label named as a whole word); replies naming no label or
  several are parse failures, counted and scored wrong (prediction -1).
- ``auto`` (default): ``logprob`` where the backend supports it, else ``generate``.

Options (recorded under ``zero_shot``):
- ``max_eval`` (default 0 = no extra cap): the inputs scored are the same test set every other
  method scores (``train.test_max``'s seeded subset, or all of test); a positive value caps them
  further to a seeded subset (seed 0), for smoke tests, and is recorded.
- ``label_max_tokens`` (default 8): the reply length cap for a generated label (the run's
  generation config is kept otherwise; the stop list gets a newline).
The result carries ``test_interval``: a sampling interval over test items (Wilson for accuracy,
percentile bootstrap for the dataset's metric), since a single deterministic run has no seed
spread. Classification only: a QA answer is a span, not a label name.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from typing import Any

import numpy as np
import torch

from gpta import prompts
from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.errors import UserError
from gpta.llm.base import LABEL_FIT_RULE
from gpta.llm.embedded import SCORE_TOP_K
from gpta.registry import LLMZeroShotOptions, get_method, method_options
from gpta.pipeline import Setup, subset

TOP_RECORDED = 8  # first-token candidates recorded per reply (of SCORE_TOP_K scored)

DEFAULT_MAX_EVAL = LLMZeroShotOptions.max_eval  # 0 = the same test set as the other methods
DEFAULT_LABEL_TOKENS = LLMZeroShotOptions.label_max_tokens
SCORING = ("auto", "logprob", "generate")
BOOTSTRAP = 1000  # resamples of the test items for the metric's interval

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


def wilson(right: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default)."""
    if n == 0:
        return (0.0, 1.0)
    p = right / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def test_interval(setup: Setup, examples: list, predicted: list[int | None], metric: str,
                  resamples: int = BOOTSTRAP, seed: int = 0) -> dict[str, Any]:
    """The sampling interval of the test score over test items (no seeds to spread over)."""
    gold = [ex.label for ex in examples]
    right = sum(p == g for p, g in zip(predicted, gold))
    lo, hi = wilson(right, len(examples))
    out: dict[str, Any] = {"level": 0.95, "n": len(examples), "over": "test items", "metric": metric,
                           "accuracy": {"method": "wilson", "low": round(lo, 6), "high": round(hi, 6)}}
    if examples:  # macro-F1 beside accuracy (imbalanced classes), whichever the dataset selects on
        from sklearn.metrics import f1_score

        g = np.array(gold)
        p = np.array([-1 if x is None else x for x in predicted])
        labels = list(range(len(setup.spec.label_names)))
        rng = np.random.default_rng(seed)
        values = []
        for _ in range(resamples):
            idx = rng.integers(0, len(g), len(g))
            values.append(f1_score(g[idx], p[idx], labels=labels, average="macro", zero_division=0))
        out["macro_f1"] = {"method": f"percentile bootstrap ({resamples} resamples, seed {seed})",
                       "low": round(float(np.percentile(values, 2.5)), 6),
                       "high": round(float(np.percentile(values, 97.5)), 6)}
    return out


def messages_for(spec: Any, labels: str, text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": USER.format(description=spec.description, labels=labels, text=text)}]


def label_by_generation(llm: Any, messages: list[dict[str, str]], label_names: list[str], purpose: str,
                        label_tokens: int) -> tuple[int | None, str, str]:
    """(label or None, how, reply): a short generated reply, parsed."""
    saved = llm.options
    llm.options = dataclasses.replace(saved, max_tokens=label_tokens, stop=tuple(dict.fromkeys((*saved.stop, "\n"))))
    try:
        reply = llm.chat(messages, purpose=purpose).text
    finally:
        llm.options = saved
    label, how = parse_label(reply, label_names)
    return label, how, reply


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    setup = Setup.build(cfg, ctx)
    spec = setup.spec
    if spec.task != "classification":
        raise UserError(f"llm-zero-shot labels classification inputs; {spec.name!r} is {spec.task}")
    opts = method_options(cfg)  # typed and checked: gpta.registry.LLMZeroShotOptions
    max_eval, label_tokens, scoring = opts.max_eval, opts.label_max_tokens, opts.scoring
    # the same inputs as every other method (train.test_max already applied), optionally capped
    examples = subset(setup.enc["test"].examples, max_eval, 0)

    llm = ctx.llm()
    can_score = llm.can_score_labels() if hasattr(llm, "can_score_labels") else False
    if scoring == "logprob" and not can_score:
        raise UserError(f"options.scoring logprob: the LLM backend {cfg.llm!r} exposes no log-probabilities; "
                        "use options.scoring=generate (or auto)")
    used = "logprob" if scoring in ("auto", "logprob") and can_score else "generate"
    labels = prompts.labels_phrase(spec.label_names)
    t0 = time.perf_counter()
    predicted, replies = [], []
    fallbacks = 0
    for i, ex in enumerate(examples):
        messages = messages_for(spec, labels, ex.text)
        if used == "logprob":
            scores = llm.score_labels(messages, spec.label_names, purpose=f"label-{i}", fresh=i == 0)
            label = scores.best()
            rec = {"scores": [None if v is None else round(v, 4) for v in scores.logprobs], "parsed": label,
                   "how": "logprob", "gold": ex.label,
                   # the raw evidence: the first reply token's most probable candidates
                   "top": [[t, round(lp, 3)] for t, lp in scores.top[:TOP_RECORDED]]}
            if label is None:  # no top token starts any label: generate and parse this one
                fallbacks += 1
                label, how, reply = label_by_generation(llm, messages, spec.label_names, f"label-{i}-fallback",
                                                        label_tokens)
                rec.update({"reply": reply[:200], "parsed": label, "how": f"fallback {how}"})
        else:
            label, how, reply = label_by_generation(llm, messages, spec.label_names, f"label-{i}", label_tokens)
            rec = {"reply": reply[:200], "parsed": label, "how": how, "gold": ex.label}
        predicted.append(label)
        replies.append(rec)
    seconds = time.perf_counter() - t0

    test = score(setup, examples, predicted)
    metrics = {"test_predictions": test.pop("predictions"), "test": test}
    hows = [r["how"] for r in replies]
    extra = {
        "prefix": None, "prefix_tokens": 0, "selected": None,
        "test_interval": test_interval(setup, examples, predicted, spec.metric),
        "zero_shot": {
            "scoring": used, "scoring_option": scoring, "once_per": "dataset and LLM (fraction and train seed do not apply)",
            "max_eval": max_eval, "n_evaluated": len(examples), "of_test": len(setup.splits.test),
            "test_max": cfg.train.test_max, "label_max_tokens": label_tokens,
            "top_k": SCORE_TOP_K if used == "logprob" else None,
            "label_fit": LABEL_FIT_RULE if used == "logprob" else None,
            "parse_failures": sum(p is None for p in predicted), "fallbacks": fallbacks,
            "parse": {k: hows.count(k) for k in ("logprob", "exact", "word", "no label", "ambiguous")},
            "llm_seconds_per_input": round(seconds / max(len(examples), 1), 4),
            "replies": replies,
        },
    }
    if isinstance(getattr(setup, "evaluated", None), dict):  # the result's sizes say what was scored
        setup.evaluated.update({"dev": 0, "test": len(examples)})
    costs = {"train_seconds": 0.0, "eval_seconds": round(seconds, 3), "train_steps": 0}
    return setup.build_result(metrics, extra, costs, precision=get_method(cfg.method).precision)  # no encoder
