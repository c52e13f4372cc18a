"""Benchmark 7: llm-zero-shot label scoring vs generation + parsing, on the same test inputs.

Same embedded LLM (SmolLM2-135M in-process), same prompt (baselines.llm_zero_shot.messages_for),
a seeded random sample of N tweets of the test split (seed 0; the class mix is recorded with the
majority share: the first 100 test tweets are all negative, so on them a classifier that always
says "negative" scored 0.98, which is why a sample is drawn). Baseline: a generated reply (up to ``label_max_tokens``)
parsed to a label, as the method did before issue 17. Candidate: one prompt evaluation per
input, the label whose name the first reply token most probably starts. Each side is its own
benchmark in group ``zero-shot-labels``; a round labels all N inputs, so the ratio of medians
(conftest) is the ratio of LLM seconds per input. Accuracy and macro-F1 of each side are in its
extra_info beside the majority share; the candidate must be at least as accurate. No LLM cache.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

N = int(os.environ.get("GPTA_BENCH_ZS_N", "100"))
ROUNDS = int(os.environ.get("GPTA_BENCH_ZS_ROUNDS", "2"))
TARGET = 5.0


@pytest.fixture(scope="module")
def inputs():
    from benchmarks.harness import zero_shot_inputs

    return zero_shot_inputs(N)


@pytest.mark.parametrize("side", ["generate", "logprob"])
def test_zero_shot_labels(benchmark, inputs, side):
    from baselines.llm_zero_shot import DEFAULT_LABEL_TOKENS, label_by_generation
    from gpta.llm import make_llm

    spec, items = inputs
    llm = make_llm("embedded")
    predictions: list = []

    def label_all() -> None:
        predictions.clear()
        for i, (messages, _) in enumerate(items):
            if side == "logprob":
                predictions.append(llm.score_labels(messages, spec.label_names, purpose=f"bench-{i}",
                                                    fresh=i == 0).best())
            else:
                predictions.append(label_by_generation(llm, messages, spec.label_names, f"bench-{i}",
                                                       DEFAULT_LABEL_TOKENS)[0])

    benchmark.group = "zero-shot-labels"
    benchmark.pedantic(label_all, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    right = sum(p == gold for p, (_, gold) in zip(predictions, items))
    benchmark.extra_info.update({
        "comparison": "llm-zero-shot: label scoring vs generation + parsing (speed-up = generation s / scoring s)",
        "side": "candidate" if side == "logprob" else "baseline", "n_inputs": len(items),
        "per": f"{len(items)} test tweets (ratio = LLM seconds per input)", "target": TARGET,
        "accuracy": round(right / len(items), 4), "unlabelled": sum(p is None for p in predictions),
        "macro_f1": round(_macro_f1([gold for _, gold in items], predictions, len(spec.label_names)), 4),
        "majority_share": round(max(Counter(gold for _, gold in items).values()) / len(items), 4),
        "class_counts": dict(sorted(Counter(gold for _, gold in items).items())),
        "predicted_counts": {str(k): v for k, v in sorted(Counter(predictions).items(), key=str)},
        "llm": llm.identity().get("model")})


def _macro_f1(gold: list[int], predicted: list, n_classes: int) -> float:
    """Macro-F1 over the classes; an unlabelled reply (None) counts as wrong for every class."""
    from sklearn.metrics import f1_score

    pred = [-1 if p is None else p for p in predicted]
    return float(f1_score(gold, pred, labels=list(range(n_classes)), average="macro", zero_division=0))
