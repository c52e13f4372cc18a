"""How long a cell should take: a small cost model, corrected by the cells that have finished.

The model (seconds, for one cell on the whole machine):

    startup  = STARTUP_S                                   (load data, tokenizer, model)
    train    = steps * batch * seq * TRAIN_S_PER_TOKEN       steps = epochs * max(ceil(n/batch), min_steps)
    eval     = examples * seq * EVAL_S_PER_TOKEN             examples = per epoch (train_eval + dev)
                                                             + once at the end (test; the best
                                                             epoch's train_eval/dev are reused)
                                                             + GPTA's same-weights A/B passes over dev
    llm      = calls * (PROMPT_S_PER_CALL + max_tokens / LLM_TOKENS_PER_S)
               (llm-zero-shot: one call per test input, SCORE_S_PER_CALL each with label scoring)

``seq`` is ``max_text_tokens`` (QA: its windows, ``TEXT_TOKENS``) plus ``max_prefix_tokens`` for methods that add a prefix (an upper
bound: batches are padded to their longest input only). ``n`` is ``fraction`` x the dataset's
train pool (sizes below, as the registry's split protocols give them). Each method says how many
LLM calls it makes and how much training it does relative to ``finetune`` (``MethodInfo.cost`` in
the registry, ``gpta/registry.py``).

The constants are priors for MiniLM-L6 on 2 CPU cores, fp32, with the embedded SmolLM2-135M
(~90 generated tokens/s). Checked 2026-11-30 on a quiet 2-core machine against measured fp32
cells: measured / prior wall time 0.93 (sst2), 0.95 (trec), 1.0-1.1 (tweets) for GPTA at 2% with
the default recipe, and 1.0 for the 12 cells of `quick`; 1.2-1.6 on bbc-news, whose articles
fill every one of the 64 text tokens (the model's ``seq`` is an upper bound). Real machines differ (and a shared one differs from hour to hour), so
every estimate is multiplied by a correction learned from finished results: the median ratio of
measured ``wall_seconds`` to the model's prediction over the results already in the directory,
and where a (method, dataset) pair has finished cells, their own median ratio. The sweep's ETA
uses the same numbers, updated as each cell finishes.
"""

from __future__ import annotations

import math
import statistics
from typing import Any, Iterable

from gpta.config import RunConfig
from gpta.registry import Cost, all_methods

STARTUP_S = 8.0
TRAIN_S_PER_TOKEN = 2.5e-4
EVAL_S_PER_TOKEN = 6e-5
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
# (2026-11-30), 1.45x what TRAIN_S_PER_TOKEN prices for the same sentences.
SETFIT_STEP_FACTOR = 1.45  # backends with label scoring; others generate + parse

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


def sizes(dataset: str) -> tuple[int, int, int]:
    return DATASET_SIZES.get(dataset, DEFAULT_SIZES)


def llm_calls(cfg: RunConfig) -> int:
    cost = method_cost(cfg.method)
    _, _, test = sizes(cfg.dataset)
    test = min(test, cfg.train.test_max) if cfg.train.test_max else test
    return {"0": 0, "1": 1, "rounds": 1 + (cfg.gpta.rounds - 1) * cfg.gpta.candidates, "2*rounds": 2 * cfg.gpta.rounds, "test": test}[cost.calls]


def prior_seconds(cfg: RunConfig) -> float:
    """The model's seconds for one cell, before any correction."""
    t = cfg.train
    cost = method_cost(cfg.method)
    pool, dev, test = sizes(cfg.dataset)
    dev = min(dev, t.dev_max) if t.dev_max else dev
    test = min(test, t.test_max) if t.test_max else test
    n = max(1, round(cfg.fraction * pool))
    seq = TEXT_TOKENS.get(cfg.dataset, t.max_text_tokens) + (t.max_prefix_tokens if cost.prefix else 0)
    steps = t.epochs * max(math.ceil(n / t.batch_size), t.min_steps_per_epoch)
    train_eval = min(n, t.eval_train_max) if t.eval_train_max else n
    train = cost.train * steps * t.batch_size * seq * TRAIN_S_PER_TOKEN
    if cost.contrastive:  # SetFit: one step = batch_size pairs = 2 x batch_size sentences
        bs = int(cfg.options.get("batch_size") or 16)
        max_steps = int(cfg.options.get("max_steps") or -1)
        steps = math.ceil(contrastive_pairs(n, n_classes(cfg.dataset), cfg.options.get("num_iterations")) / bs)
        steps = min(steps, max_steps) if max_steps > 0 else steps
        train = steps * 2 * bs * seq * TRAIN_S_PER_TOKEN * SETFIT_STEP_FACTOR
    # the best checkpoint's train/dev metrics are reused from selection: only test is evaluated again
    eval_examples = (t.epochs * (train_eval + dev) + test) if cost.train else 0
    if cost.calls == "rounds":  # GPTA's same-weights A/B: at most K new candidates + the earlier prefixes per boundary
        boundaries = max(0, min(cfg.gpta.rounds, t.epochs) - 1)
        eval_examples += dev * (boundaries * cfg.gpta.candidates + boundaries * (boundaries - 1) // 2)
    evaluate = eval_examples * seq * EVAL_S_PER_TOKEN
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
    known = {k: v for k, v in flat.items() if _is_field(k)}
    return apply_overrides(cfg, known, validate=False)


def _is_field(key: str) -> bool:
    import dataclasses

    from gpta.config import GPTAConfig, LLMConfig, TrainConfig

    section, _, name = key.partition(".")
    cls = {"train": TrainConfig, "gpta": GPTAConfig, "generation": LLMConfig}[section]
    return name in {f.name for f in dataclasses.fields(cls)}


def human(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 90:
        return f"{seconds}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
