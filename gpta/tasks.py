"""Task encodings: tokenize a split once, then join any prefix at the token level.

``[CLS] prefix [SEP] text [SEP]`` (BERT's pair layout, token types 0 then 1): the text is
truncated to its own budget, the prefix to its own, never one at the other's expense. Joining
ids is ~25x faster than re-tokenizing a split for every new prefix and gives identical ids
(tests/test_tasks.py checks that against the tokenizer's own pair encoding).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from sklearn.metrics import accuracy_score, f1_score, recall_score

from gpta.data.spec import Example


@dataclass
class Encoded:
    """A split tokenized once: text ids without special tokens, plus labels."""

    text_ids: list[list[int]]
    labels: list[int]
    examples: list[Example]

    def __len__(self) -> int:
        return len(self.text_ids)


@runtime_checkable
class Task(Protocol):
    """What the pipeline and the trainer need from a task; ``ClassificationTask`` and
    ``gpta.qa.QATask`` implement it (tests/test_registry.py checks both).

    A split is tokenized once (``encode``); a prefix is tokenized once (``prefix_ids``) and joined
    to every input at the token level (``features``); the trainer calls ``loss_and_outputs`` per
    batch and ``metrics`` on a split's outputs; ``settings`` is what a result records about the
    task beyond the dataset (e.g. QA windows).
    """

    kind: str  # "classification" | "qa": matches DatasetSpec.task and MethodInfo.tasks
    tokenizer: Any
    pad_id: int

    def encode(self, examples: list[Example]) -> Any: ...

    def prefix_ids(self, prefix: str | None) -> list[int]: ...

    def features(self, enc: Any, prefix_ids: list[int]) -> list[dict[str, Any]]: ...

    def loss_and_outputs(self, model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Any]: ...

    def metrics(self, outputs: list[Any], enc: Any, features: list[dict[str, Any]]) -> dict[str, Any]: ...

    def settings(self) -> dict[str, Any]: ...


class ClassificationTask:
    kind = "classification"

    def settings(self) -> dict[str, Any]:
        """Nothing beyond the dataset's record: the text/prefix budgets are in the config."""
        return {}

    def __init__(self, tokenizer: Any, label_names: list[str], max_text_tokens: int, max_prefix_tokens: int):
        self.tokenizer = tokenizer
        self.label_names = label_names
        self.max_text_tokens = max_text_tokens
        self.max_prefix_tokens = max_prefix_tokens
        self.cls_id = tokenizer.cls_token_id
        self.sep_id = tokenizer.sep_token_id
        self.pad_id = tokenizer.pad_token_id or 0

    # -- encoding -------------------------------------------------------------------------
    def encode(self, examples: list[Example]) -> Encoded:
        ids = self.tokenizer(
            [e.text for e in examples],
            add_special_tokens=False,
            truncation=True,
            max_length=self.max_text_tokens,
        )["input_ids"]
        return Encoded(ids, [e.label for e in examples], examples)

    def prefix_ids(self, prefix: str | None) -> list[int]:
        if not prefix:
            return []
        ids = self.tokenizer(prefix, add_special_tokens=False)["input_ids"]
        return ids[: self.max_prefix_tokens]

    # With no prefix the text is segment A (``[CLS] text [SEP]``, finetune); set True for the pair
    # layout every prefix method uses, with an empty prefix: ``[CLS] [SEP] text [SEP]``, text
    # in segment B (the ``empty-prefix`` control, baselines/empty_prefix.py).
    empty_prefix_pair: bool = False

    def features(self, enc: Encoded, prefix_ids: list[int]) -> list[dict[str, Any]]:
        pair = bool(prefix_ids) or self.empty_prefix_pair
        head = [self.cls_id] + prefix_ids + [self.sep_id] if pair else [self.cls_id]
        first = len(head)
        out = []
        for ids, label in zip(enc.text_ids, enc.labels):
            input_ids = head + ids + [self.sep_id]
            types = [0] * first + [1 if pair else 0] * (len(ids) + 1)
            out.append({"input_ids": input_ids, "token_type_ids": types, "labels": label})
        return out

    # -- evaluation -----------------------------------------------------------------------
    def loss_and_outputs(self, model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Any]:
        labels = batch.pop("labels")
        logits = model(**batch).logits.float()
        loss = torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
        return loss, logits.argmax(-1)  # moved to the CPU once per evaluation, not per step

    def metrics(self, outputs: list[Any], enc: Encoded, features: list[dict[str, Any]]) -> dict[str, Any]:
        pred = torch.cat(outputs).cpu().numpy()
        gold = np.array(enc.labels)
        labels = list(range(len(self.label_names)))
        recall = recall_score(gold, pred, labels=labels, average=None, zero_division=0)
        # Macro-F1 over the classes present in the evaluated gold labels (a class absent from a
        # capped split would otherwise count as F1 = 0); a wrong prediction of an absent class
        # still lowers the recall of the true class.
        present = sorted(set(gold.tolist())) or labels
        return {
            "accuracy": float(accuracy_score(gold, pred)),
            "macro_f1": float(f1_score(gold, pred, labels=present, average="macro", zero_division=0)),
            "macro_f1_classes": len(present),  # of len(label_names): the classes it averages over
            "per_class_recall": {n: round(float(r), 4) for n, r in zip(self.label_names, recall)},
            "predictions": pred.tolist(),
        }
