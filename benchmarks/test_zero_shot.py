"""Benchmark 7: llm-zero-shot label scoring vs generation + parsing, on the same test inputs.

Same embedded LLM (SmolLM2-135M in-process), same prompt (baselines.llm_zero_shot.messages_for),
the first N tweets of the test split. Baseline: a generated reply (up to ``label_max_tokens``)
parsed to a label, as the method did before issue 17. Candidate: one prompt evaluation per
input, the label whose name the first reply token most probably starts. Each side is its own
benchmark in group ``zero-shot-labels``; a round labels all N inputs, so the ratio of medians
(conftest) is the ratio of LLM seconds per input. Accuracy of each side is in its extra_info
and the candidate must be at least as accurate. No LLM cache on either side.
"""

from __future__ import annotations

import os

import pytest

N = int(os.environ.get("GPTA_BENCH_ZS_N", "100"))
ROUNDS = int(os.environ.get("GPTA_BENCH_ZS_ROUNDS", "2"))
TARGET = 5.0


@pytest.fixture(scope="module")
def inputs():
    from baselines.llm_zero_shot import messages_for
    from gpta import prompts
    from gpta.data import load_splits
    from gpta.data.spec import get_dataset

    spec = get_dataset("tweets")
    examples = load_splits(spec).test[:N]
    labels = prompts.labels_phrase(spec.label_names)
    return spec, [(messages_for(spec, labels, e.text), e.label) for e in examples]


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
        "llm": llm.identity().get("model")})
