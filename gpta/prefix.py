"""LLM output is untrusted: turn a reply into a usable prefix, or say why not.

A small model (SmolLM2-135M) writes things like "Sure! Here is the prefix:", quotes, several
lines, "Sentiment: negative" (asserts one label) or "To improve the performance, I will train a
model..." (off task). We take the first usable line, strip wrappers, cap its token length, and
reject degenerate, partial-label or off-task text with a recorded reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

_LEAD_INS = [  # stripped repeatedly from the start of a line
    re.compile(r"^(?:[-*#>]+|\d+[.)])\s*"),  # bullets, numbering
    re.compile(r"^(?:sure|okay|ok|certainly|of course)\b[!,.]*\s*", re.IGNORECASE),
    re.compile(r"^(?:here\s+is|here's)\b[^:]*:\s*", re.IGNORECASE),
    re.compile(r"^(?:(?:revised|new|improved|updated)\s+)?(?:prefix|instruction|sentence|answer|output)"
               r"\s*\d*\s*[:\-]\s*", re.IGNORECASE),
]
_QUOTES = "\"'`“”‘’*_ "
_TRAINING_WORDS = {
    "train", "training", "trained", "model", "models", "dataset", "batch", "epoch", "epochs",
    "learning", "rate", "overfitting", "overfit", "hyperparameter", "hyperparameters", "loss",
    "accuracy", "performance", "improve", "optimizer", "gradient", "round",
}
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@dataclass
class PrefixVerdict:
    prefix: str | None  # None: rejected
    reason: str = ""  # why it was rejected or changed ("" = taken as is)


def _strip(line: str) -> str:
    line = line.strip().strip(_QUOTES).strip()
    changed = True
    while changed:
        before = line
        for pattern in _LEAD_INS:
            line = pattern.sub("", line).strip().strip(_QUOTES).strip()
        changed = line != before
    return re.sub(r"\s+", " ", line)


def first_usable_line(text: str) -> str:
    """The first line with letters once lead-ins ("Sure! Here is the prefix:") are stripped."""
    for raw in text.splitlines():
        line = _strip(raw)
        if re.search(r"[A-Za-z]", line):
            return line
    return ""


def clean_prefix(text: str, label_names: list[str], count_tokens: Callable[[str], int],
                 max_tokens: int, reject_partial_labels: bool = True,
                 reject_off_task: bool = True) -> PrefixVerdict:
    line = first_usable_line(text)
    if not line:
        return PrefixVerdict(None, "empty reply or no letters")
    words = _WORD.findall(line.lower())
    if len(words) < 3:
        return PrefixVerdict(None, f"too short ({len(words)} words)")
    if _degenerate(words):
        return PrefixVerdict(None, "degenerate (repetition)")
    if reject_partial_labels and len(label_names) > 1:
        named = [n for n in label_names if re.search(rf"\b{re.escape(n.lower())}\b", line.lower())]
        if 0 < len(named) < len(label_names):
            return PrefixVerdict(None, f"names some labels ({', '.join(named)}) but not all: asserts a label")
    if reject_off_task:
        off = sum(w in _TRAINING_WORDS for w in words)
        if off >= 3 or off / len(words) > 0.25:
            return PrefixVerdict(None, "mostly about training rather than the task")
    reason = ""
    if count_tokens(line) > max_tokens:
        kept = line.split()
        while kept and count_tokens(" ".join(kept)) > max_tokens:
            kept.pop()
        line, reason = " ".join(kept), f"capped at {max_tokens} tokens"
    return PrefixVerdict(line, reason)


def _degenerate(words: list[str]) -> bool:
    if len(set(words)) <= max(1, len(words) // 4):
        return True
    run = 1
    for a, b in zip(words, words[1:]):
        run = run + 1 if a == b else 1
        if run >= 3:
            return True
    return False
