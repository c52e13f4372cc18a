"""SQuAD-style extractive QA as a task for the generic Trainer (same interface as
gpta/tasks.py ``ClassificationTask``).

Layout: ``[CLS] prefix question [SEP] context [SEP]``: the prefix is prepended to the question
side (token type 0), the context is segment 1. The prefix has its own budget
(``max_prefix_tokens``) on top of ``QA_MAX_LENGTH`` for question + context, so a new prefix never
changes how a context is cut into windows: the windows are computed once in ``encode`` and a
prefix only shifts token positions. A context longer than its budget is cut into overlapping
windows (``QA_STRIDE`` tokens of overlap); a window that does not hold the whole gold answer is
trained to point at [CLS] (the usual SQuAD recipe).

Prediction: per question, the best ``start + end`` logit span inside the context of any of its
windows, at most ``QA_MAX_ANSWER_TOKENS`` long, mapped back to characters. Metrics are the
official SQuAD v1.1 exact match and token F1 (answer normalisation: lower case, drop
punctuation, drop a/an/the, collapse whitespace; max over the gold answers), as fractions in
[0, 1] like every other metric in the suite (the official script prints them x100).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gpta.data.spec import Example

QA_MAX_LENGTH = 256  # question + context + [CLS] + 2x[SEP], without the prefix (ours; BERT used 384)
QA_STRIDE = 64  # tokens shared by consecutive windows of one long context (ours; BERT used 128 of 384)
QA_MAX_ANSWER_TOKENS = 30  # the longest span considered at prediction (as in the BERT/HF recipe)


# -- official SQuAD v1.1 answer normalisation and scores ---------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (SQuAD v1.1 evaluate-v1.1.py)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def exact_match_score(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def max_over_gold(metric: Any, prediction: str, golds: list[str]) -> float:
    return max(metric(prediction, g) for g in golds)


def squad_scores(predictions: list[str], golds: list[list[str]]) -> dict[str, float]:
    """Mean exact match and F1 (fractions) over questions, each the max over its gold answers."""
    em = [max_over_gold(exact_match_score, p, g) for p, g in zip(predictions, golds)]
    f1 = [max_over_gold(f1_score, p, g) for p, g in zip(predictions, golds)]
    n = max(len(predictions), 1)
    return {"exact_match": sum(em) / n, "f1": sum(f1) / n}


# -- encoding --------------------------------------------------------------------------------


@dataclass
class Window:
    """One feature's share of a context: token ids, their character offsets, the gold span."""

    example: int  # index into QAEncoded.examples
    ids: list[int]
    offsets: list[tuple[int, int]]
    start: int  # gold answer's first/last token within this window; -1 if not inside it
    end: int


@dataclass
class QAEncoded:
    """A QA split tokenized once: question ids per example and context windows.

    ``len()`` is the number of windows (features), not questions: the pipeline sizes the
    learning-rate schedule from it, and the Trainer steps over features.
    """

    examples: list[Example]
    question_ids: list[list[int]]
    windows: list[Window]

    def __len__(self) -> int:
        return len(self.windows)


def _token_span(offsets: list[tuple[int, int]], start_char: int, end_char: int) -> tuple[int, int]:
    """First and last token overlapping [start_char, end_char); (-1, -1) if none."""
    first = next((i for i, (_, e) in enumerate(offsets) if e > start_char), -1)
    last = next((i for i in range(len(offsets) - 1, -1, -1) if offsets[i][0] < end_char), -1)
    if first < 0 or last < first:
        return -1, -1
    return first, last


class QATask:
    kind = "qa"

    def __init__(self, tokenizer: Any, max_question_tokens: int, max_prefix_tokens: int,
                 max_length: int = QA_MAX_LENGTH, stride: int = QA_STRIDE,
                 max_answer_tokens: int = QA_MAX_ANSWER_TOKENS):
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("QA needs a fast tokenizer (character offsets)")
        self.tokenizer = tokenizer
        self.max_question_tokens = max_question_tokens
        self.max_prefix_tokens = max_prefix_tokens
        self.max_length = max_length
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self.cls_id = tokenizer.cls_token_id
        self.sep_id = tokenizer.sep_token_id
        self.pad_id = tokenizer.pad_token_id or 0
        self._band = np.tril(np.triu(np.ones((max_length, max_length), dtype=bool)), max_answer_tokens - 1)

    def settings(self) -> dict[str, Any]:
        """What a result records about this task (gpta.tasks.Task): the windowing settings."""
        return {"qa_settings": {"max_length": self.max_length, "stride": self.stride,
                                "max_answer_tokens": self.max_answer_tokens,
                                "layout": "[CLS] prefix question [SEP] context [SEP]; prefix tokens on top of max_length"}}

    def encode(self, examples: list[Example]) -> QAEncoded:
        questions = self.tokenizer([e.text for e in examples], add_special_tokens=False, truncation=True,
                                   max_length=self.max_question_tokens)["input_ids"]
        # Many questions share a paragraph: tokenize each distinct context once.
        contexts = list(dict.fromkeys(e.context or "" for e in examples))
        tok = self.tokenizer(contexts, add_special_tokens=False, return_offsets_mapping=True)
        by_context = {c: (ids, [tuple(o) for o in offs])
                      for c, ids, offs in zip(contexts, tok["input_ids"], tok["offset_mapping"])}
        windows = []
        for k, (ex, q) in enumerate(zip(examples, questions)):
            ids, offsets = by_context[ex.context or ""]
            gold = (-1, -1)
            if ex.answers:
                a = ex.answers[0]  # train on the first gold answer, as the SQuAD recipe does
                gold = _token_span(offsets, a["answer_start"], a["answer_start"] + len(a["text"]))
            budget = self.max_length - len(q) - 3
            step = max(budget - self.stride, 1)
            begin = 0
            while True:
                stop = min(begin + budget, len(ids))
                inside = gold[0] >= begin and gold[1] >= 0 and gold[1] < stop
                windows.append(Window(k, ids[begin:stop], offsets[begin:stop],
                                      gold[0] - begin if inside else -1, gold[1] - begin if inside else -1))
                if stop >= len(ids):
                    break
                begin += step
        return QAEncoded(list(examples), questions, windows)

    def prefix_ids(self, prefix: str | None) -> list[int]:
        if not prefix:
            return []
        return self.tokenizer(prefix, add_special_tokens=False)["input_ids"][: self.max_prefix_tokens]

    def features(self, enc: QAEncoded, prefix_ids: list[int]) -> list[dict[str, Any]]:
        out = []
        for w in enc.windows:
            head = [self.cls_id] + prefix_ids + enc.question_ids[w.example] + [self.sep_id]
            first = len(head)
            out.append({
                "input_ids": head + w.ids + [self.sep_id],
                "token_type_ids": [0] * first + [1] * (len(w.ids) + 1),
                # no answer in this window -> [CLS] (position 0)
                "start_positions": w.start + first if w.start >= 0 else 0,
                "end_positions": w.end + first if w.end >= 0 else 0,
                "_context_start": first,  # "_" keys are kept out of the batch by collate
            })
        return out

    # -- training and evaluation -----------------------------------------------------------
    def loss_and_outputs(self, model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Any]:
        start = batch.pop("start_positions")
        end = batch.pop("end_positions")
        out = model(**batch)
        start_logits, end_logits = out.start_logits.float(), out.end_logits.float()
        ce = torch.nn.functional.cross_entropy
        loss = (ce(start_logits, start, reduction="sum") + ce(end_logits, end, reduction="sum")) / 2
        if model.training:
            return loss, None  # no host copy of the logits while training
        lengths = batch["attention_mask"].sum(1).tolist()
        s, e = start_logits.cpu().numpy(), end_logits.cpu().numpy()
        return loss, [(s[i, :n], e[i, :n]) for i, n in enumerate(lengths)]

    def unsort(self, outputs: list[list[Any]], positions: list[int]) -> list[Any]:
        """Per-feature logits back in feature order (the Trainer evaluates length-sorted)."""
        flat = [o for batch in outputs for o in batch]
        ordered: list[Any] = [None] * len(flat)
        for pos, o in zip(positions, flat):
            ordered[pos] = o
        return ordered

    def best_span(self, start_logits: np.ndarray, end_logits: np.ndarray, c0: int, n: int) -> tuple[float, int, int]:
        """Best (score, first, last) context token span of at most max_answer_tokens."""
        s, e = start_logits[c0:c0 + n], end_logits[c0:c0 + n]
        scores = np.where(self._band[:n, :n], s[:, None] + e[None, :], -np.inf)
        flat = int(np.argmax(scores))
        i, j = divmod(flat, n)
        return float(scores[i, j]), i, j

    def predict(self, outputs: list[Any], enc: QAEncoded, features: list[dict[str, Any]]) -> list[str]:
        best: list[tuple[float, str]] = [(-np.inf, "")] * len(enc.examples)
        for (s, e), w, f in zip(outputs, enc.windows, features):
            if not w.ids:
                continue
            score, i, j = self.best_span(s, e, f["_context_start"], len(w.ids))
            if score > best[w.example][0]:
                context = enc.examples[w.example].context or ""
                best[w.example] = (score, context[w.offsets[i][0]:w.offsets[j][1]])
        return [text for _, text in best]

    def metrics(self, outputs: list[Any], enc: QAEncoded, features: list[dict[str, Any]]) -> dict[str, Any]:
        predictions = self.predict(outputs, enc, features)
        golds = [[a["text"] for a in (ex.answers or [])] or [""] for ex in enc.examples]
        return {**squad_scores(predictions, golds), "n_questions": len(enc.examples),
                "n_features": len(features), "predictions": predictions}
