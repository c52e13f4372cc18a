"""How long a cell should take: a small cost model, corrected by the cells that have finished.

The model (seconds, for one cell on the whole machine):

    startup  = STARTUP_S                                   (load data, tokenizer, model)
    train    = steps * batch * (seq * TRAIN_S_PER_TOKEN + TRAIN_S_PER_EXAMPLE)
               steps = epochs * max(ceil(n/batch), min_steps)
    eval     = examples * (seq * EVAL_S_PER_TOKEN + EVAL_S_PER_EXAMPLE)
               examples = per epoch (train_eval + dev) + once at the end (test; the best
               epoch's train_eval/dev are reused) + the GPTA loop's passes over dev (the first
               round's "before" pass and the same-weights A/B passes)
    llm      = calls * (PROMPT_S_PER_CALL + max_tokens / LLM_TOKENS_PER_S)
               (llm-zero-shot: one call per test input, SCORE_S_PER_CALL each with label scoring)

``seq`` is the tokens of a typical input: the dataset's mean text length cut at
``max_text_tokens`` (``TEXT_TOKENS_MEAN``, measured; QA: its windows, ``TEXT_TOKENS``), plus
``PREFIX_TOKENS`` for methods that add a prefix, plus the special tokens. Batches are padded to
their longest input, and length grouping keeps that close to the mean. A dataset the table does
not know is priced at ``max_text_tokens``, an upper bound. ``n`` is ``fraction`` x the dataset's
train pool (sizes below, as the registry's split protocols give them). Each method says how many
LLM calls it makes and how much training it does relative to ``finetune`` (``MethodInfo.cost`` in
the registry, ``gpta/registry.py``).

The constants are for MiniLM-L6 on 2 CPU cores, fp32, with the embedded SmolLM2-135M (~90
generated tokens/s). The four training and evaluation constants are a least-squares fit (each
cell weighted alike) to 41 cells measured in fp32 on a quiet 2-core machine on 2026-11-30:
tweets, bbc-news, sst2, trec and ag_news; finetune, manual-prefix and GPTA. Measured against
fitted, training time was 0.79 to 1.27 and evaluation 0.84 to 1.13. Refit them to your own
results with ``python -m benchmarks.fit_cost_model DIR``. The earlier model priced
every input at its maximum length. It fitted the short-text datasets it was checked on, but it
priced ag_news at 0.70x and bbc-news at 0.6 to 0.8x of what they measured. Real machines differ
(and a shared one differs from hour to hour), so every estimate is multiplied by a correction
learned from finished results: the median ratio of measured ``wall_seconds`` to the model's
prediction over the results already in the directory, and where a (method, dataset) pair has
finished cells, their own median ratio. The sweep's ETA uses the same numbers, updated as each
cell finishes.
"""

from __future__ import annotations

import functools
import math
import statistics
from typing import Any, Iterable

from gpta.config import SETTINGS, RunConfig
from gpta.registry import Cost, all_methods

STARTUP_S = 2.0  # what a result's wall_seconds holds beyond train, eval and LLM: 0.2-2.7 s measured
# Fitted 2026-11-30 to 41 measured fp32 cells (quiet, 2 cores; see the module docstring).
TRAIN_S_PER_TOKEN = 2.35e-4
TRAIN_S_PER_EXAMPLE = 0.0131  # per training example, whatever its length (the fit's intercept)
EVAL_S_PER_TOKEN = 1.20e-4
EVAL_S_PER_EXAMPLE = 0.00155
# Measured 2026-11-30 (quiet, 2 cores, embedded SmolLM2): 3.4-5.4 LLM seconds per GPTA call with
# 400-700-token prompts and ~50 generated tokens (docs/DIALOGUE.md); was 1.5, a guess.
PROMPT_S_PER_CALL = 3.5
LLM_TOKENS_PER_S = 90.0
# llm-zero-shot by label scoring (embedded llama.cpp, issue 17): one prompt evaluation per input
# that re-evaluates only the text and what follows it (34-65 tokens on tweets, llama.cpp's own
# prompt_n) at llama.cpp's measured ~180 prompt tokens/s on one thread, plus the call.
SCORE_S_PER_CALL = 0.3
SCORING_BACKENDS = ("embedded",)
# SetFit's sentence-transformers loop per sentence vs ours: setfit-manual on tweets at 2% with
# num_iterations=20 (990 steps of 16 pairs) measured 1,184 s of training on 2 quiet cores
# (2026-11-30), 1.54x what the training constants price for the same sentences.
SETFIT_STEP_FACTOR = 1.54

# pool, dev, test sizes (gpta list datasets); other datasets use DEFAULT_SIZES.
DATASET_SIZES = {
    "sst2": (6920, 872, 1821), "twitter": (4478, 1000, 2000), "yelp": (500, 200, 300),
    "ag_news": (4600, 1000, 2000), "trec": (4952, 500, 500), "squad": (8632, 500, 1000),
    "tweets": (19805, 1000, 2000), "bbc-news": (1125, 500, 500),
}
DEFAULT_SIZES = (5000, 500, 1000)
# squad: one question is one or more 256-token windows of question + context (gpta/qa.py), ~1.3
# windows a question on SQuAD v1.1 dev: its text budget is ~330 tokens, whatever max_text_tokens.
TEXT_TOKENS = {"squad": 330}
# Mean tokens of a text cut at 64 tokens (the default max_text_tokens), without special tokens:
# the embedded MiniLM tokenizer over each train pool, measured 2026-11-30 (dev and test within
# 2 tokens, except trec's test set, 8.3). yelp here is sentence-level, so it is short.
TEXT_TOKENS_MEAN = {"sst2": 23.5, "twitter": 24.9, "yelp": 14.7, "ag_news": 47.4, "trec": 11.5,
                    "tweets": 28.3, "bbc-news": 64.0}
PREFIX_TOKENS = 18  # a typical prefix: results recorded 6 to 31 (GPTA, manual), median ~17


def contrastive_pairs(n: int, classes: int, num_iterations: Any = None) -> float:
    """SetFit's training pairs for n examples. ``num_iterations=R`` (the SetFit paper's recipe,
    R=20): 2 x R x n. None (setfit 1.x's default, "oversampling"): every same-class pair and every
    cross-class pair, the smaller set oversampled to the larger, so 2 x max(same, cross); with
    balanced classes that is about n^2 x max(1/K, (K-1)/K). Measured: tweets at 2% (396 examples,
    70/30) gave setfit's "Num unique pairs = 91286", this formula 78,408 (balanced approximation).
    """
    if num_iterations:
        return 2.0 * int(num_iterations) * n
    k = max(2, classes)
    return n * n * max(1.0 / k, (k - 1.0) / k)


@functools.lru_cache(maxsize=256)
def n_classes(dataset: str) -> int:
    """The registry's label count (no data is read); 2 for a dataset it does not know."""
    from gpta.data.spec import get_dataset
    from gpta.errors import UserError

    try:
        return len(get_dataset(dataset).label_names) or 2
    except UserError:  # an unknown name or an unreadable csv:PATH: the estimate is only a guide
        return 2


def method_cost(method: str) -> Cost:
    """The registry's cost facts for a method (``MethodInfo.cost``); unknown names: a prefix method."""
    info = all_methods().get(method)
    return info.cost if info else Cost()


def input_tokens(dataset: str, max_text_tokens: int, prefix_tokens: int) -> float:
    """Tokens of a typical input: text (mean, or the QA window budget) + prefix + special tokens."""
    if dataset in TEXT_TOKENS:
        text = TEXT_TOKENS[dataset]
    else:
        text = min(TEXT_TOKENS_MEAN.get(dataset, max_text_tokens), max_text_tokens)
    return text + prefix_tokens + (3 if prefix_tokens else 2)  # [CLS] (prefix [SEP]) text [SEP]


def evaluated_examples(epochs: int, train_eval: int, dev: int, test: int, loop_dev_examples: int = 0) -> int:
    """Inputs a cell evaluates: the train-eval sample and dev after every epoch, test once (the
    best epoch's train-eval and dev metrics are reused), and the GPTA loop's extra dev passes."""
    return epochs * (train_eval + dev) + test + loop_dev_examples


def sizes(dataset: str) -> tuple[int, int, int]:
    return DATASET_SIZES.get(dataset, DEFAULT_SIZES)


def loop_boundaries(cfg: RunConfig) -> int:
    """Round boundaries of the GPTA loop: rounds - 1, with no more rounds than epochs
    (gpta.gpta_loop.split_epochs)."""
    return max(0, min(cfg.gpta.rounds, cfg.train.epochs) - 1)


def llm_calls(cfg: RunConfig) -> int:
    """The registry's ``Cost.calls`` as a number: the GPTA loop (gpta, textual-gradient) asks once
    for the first prefix and K = gpta.candidates replies at each round boundary."""
    cost = method_cost(cfg.method)
    _, _, test = sizes(cfg.dataset)
    test = min(test, cfg.train.test_max) if cfg.train.test_max else test
    return {"0": 0, "1": 1, "rounds": 1 + loop_boundaries(cfg) * cfg.gpta.candidates, "test": test}[cost.calls]


def prior_seconds(cfg: RunConfig) -> float:
    """The model's seconds for one cell, before any correction."""
    t = cfg.train
    cost = method_cost(cfg.method)
    pool, dev, test = sizes(cfg.dataset)
    dev = min(dev, t.dev_max) if t.dev_max else dev
    test = min(test, t.test_max) if t.test_max else test
    n = max(1, round(cfg.fraction * pool))
    seq = input_tokens(cfg.dataset, t.max_text_tokens, min(PREFIX_TOKENS, t.max_prefix_tokens) if cost.prefix else 0)
    steps = t.epochs * max(math.ceil(n / t.batch_size), t.min_steps_per_epoch)
    train_eval = min(n, t.eval_train_max) if t.eval_train_max else n
    per_train_example = seq * TRAIN_S_PER_TOKEN + TRAIN_S_PER_EXAMPLE
    train = cost.train * steps * t.batch_size * per_train_example
    if cost.contrastive:  # SetFit: one step = batch_size pairs = 2 x batch_size sentences
        bs = int(cfg.options.get("batch_size") or 16)
        max_steps = int(cfg.options.get("max_steps") or -1)
        steps = math.ceil(contrastive_pairs(n, n_classes(cfg.dataset), cfg.options.get("num_iterations")) / bs)
        steps = min(steps, max_steps) if max_steps > 0 else steps
        train = steps * 2 * bs * per_train_example * SETFIT_STEP_FACTOR
    loop = 0
    if cost.calls == "rounds":  # the GPTA loop (textual-gradient runs it too)
        boundaries = loop_boundaries(cfg)
        # the first round's "before" pass, then per boundary at most K new candidates + the earlier prefixes
        loop = dev * (1 + boundaries * cfg.gpta.candidates + boundaries * (boundaries - 1) // 2)
    eval_examples = evaluated_examples(t.epochs, train_eval, dev, test, loop) if cost.train else 0
    evaluate = eval_examples * (seq * EVAL_S_PER_TOKEN + EVAL_S_PER_EXAMPLE)
    llm = llm_calls(cfg) * (PROMPT_S_PER_CALL + cfg.generation.max_tokens / LLM_TOKENS_PER_S)
    if cost.calls == "test":  # a label is a few tokens, not max_tokens
        scoring = cfg.llm.partition(":")[0] in SCORING_BACKENDS and cfg.options.get("scoring", "auto") != "generate"
        llm = llm_calls(cfg) * (SCORE_S_PER_CALL if scoring else PROMPT_S_PER_CALL + 5 / LLM_TOKENS_PER_S)
    return STARTUP_S + train + evaluate + llm


class Estimator:
    """Prior seconds corrected by what finished cells measured; call ``learn`` as cells finish."""

    def __init__(self) -> None:
        self._ratios: list[float] = []
        self._pair_ratios: dict[tuple[str, str], list[float]] = {}

    def learn(self, result: dict[str, Any]) -> None:
        try:
            cfg_dict = result["config"]
            wall = float(result["costs"]["wall_seconds"])
            cfg = config_from_dict(cfg_dict)
        except (KeyError, TypeError, ValueError):
            return
        ratio = wall / max(prior_seconds(cfg), 1e-6)
        self._ratios.append(ratio)
        self._pair_ratios.setdefault((cfg.method, cfg.dataset), []).append(ratio)

    def learn_all(self, results: Iterable[dict[str, Any]]) -> None:
        for r in results:
            self.learn(r)

    @property
    def n_learned(self) -> int:
        return len(self._ratios)

    def correction(self, cfg: RunConfig) -> float:
        pair = self._pair_ratios.get((cfg.method, cfg.dataset))
        if pair:
            return statistics.median(pair)
        return statistics.median(self._ratios) if self._ratios else 1.0

    def seconds(self, cfg: RunConfig) -> float:
        return prior_seconds(cfg) * self.correction(cfg)


def config_from_dict(d: dict[str, Any]) -> RunConfig:
    """A RunConfig back from a result's ``config`` (only what the estimate reads)."""
    from gpta.config import apply_overrides

    cfg = RunConfig(dataset=d["dataset"], fraction=float(d["fraction"]), seed=int(d["seed"]), method=d["method"])
    flat = {f"{section}.{k}": v for section in ("train", "gpta", "generation")
            for k, v in (d.get(section) or {}).items()}
    known = {k: v for k, v in flat.items() if k in SETTINGS}  # a setting this version no longer has: ignored
    cfg = apply_overrides(cfg, known, validate=False)
    # method options change the price too (SetFit's num_iterations: 20 vs every pair, ~5x on
    # tweets at 2%), and so does the LLM backend (label scoring or generation)
    cfg.options = dict(d.get("options") or {})
    if isinstance(d.get("llm"), str):
        cfg.llm = d["llm"]
    return cfg


def human(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 90:
        return f"{seconds}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
