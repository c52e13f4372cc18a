"""LLM output is untrusted: turn a reply into a usable prefix, or say why not.

A small model (SmolLM2-135M) writes things like "Sure! Here is the prefix:", quotes, several
lines, "Sentiment: negative" (asserts one label), "To improve the performance, I will train a
model..." (off task) or a copy of a line of our own feedback ("Effect of the instruction: ...").
We take the first usable line, strip wrappers, cap its token length at a sentence or word boundary, and only then reject degenerate, partial-label or off-task text (the
checks see the text that will be used) with a recorded reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from gpta.prompts import FEEDBACK_OPENINGS

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
_QA_WORDS = {"answer", "answers", "span", "passage", "paragraph", "question", "questions", "context"}


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


def usable_lines(text: str) -> list[str]:
    """The lines with letters once lead-ins ("Sure! Here is the prefix:") are stripped."""
    return [line for line in map(_strip, text.splitlines()) if re.search(r"[A-Za-z]", line)]


def first_usable_line(text: str) -> str:
    """The first line with letters once lead-ins are stripped ("" if none)."""
    lines = usable_lines(text)
    return lines[0] if lines else ""


def clean_prefix(text: str, label_names: list[str], count_tokens: Callable[[str], int],
                 max_tokens: int, reject_partial_labels: bool = True,
                 reject_off_task: bool = True, skip: Callable[[str], bool] | None = None) -> PrefixVerdict:
    """The first usable line of a reply as a prefix, or why not.

    ``skip`` (a revision with ``gpta.reply_line=first-new``): take the first line, or failing that
    the first later sentence or line, that passes the rules and for which ``skip(prefix)`` is false
    (not a repeat of an earlier prefix); if there is none, the verdict on the first line (a repeat
    or a rejection), so an echo stays an echo.
    """
    lines = usable_lines(text)
    if not lines:
        return PrefixVerdict(None, "empty reply or no letters")
    first = clean_line(lines[0], label_names, count_tokens, max_tokens, reject_partial_labels, reject_off_task)
    if skip is None or (first.prefix is not None and not skip(first.prefix)):
        return first
    why = "repeats an earlier prefix" if first.prefix is not None else f"rejected: {first.reason}"
    for where, unit in _later_units(lines):
        v = clean_line(unit, label_names, count_tokens, max_tokens, reject_partial_labels, reject_off_task)
        if v.prefix is not None and not skip(v.prefix):
            v.reason = f"{where} of the reply (line 1 {why})" + (f"; {v.reason}" if v.reason else "")
            return v
    return first


_SENTENCE_END = re.compile(r"[.?!](?=\s+[\"'A-Z])")


def _later_units(lines: list[str]) -> list[tuple[str, str]]:
    """After line 1 as a whole: where each later sentence of a line starts (a long first sentence
    copied from the old instruction is cut off by the token cap, so the new text after it would
    never be read), then the next line, and so on."""
    units = []
    for i, line in enumerate(lines, start=1):
        if i > 1:
            units.append((f"line {i}", line))
        for j, m in enumerate(_SENTENCE_END.finditer(line), start=2):
            rest = line[m.end():].strip()
            if rest:
                units.append((f"line {i}, sentence {j}", rest))
    return units


def clean_line(line: str, label_names: list[str], count_tokens: Callable[[str], int],
               max_tokens: int, reject_partial_labels: bool = True,
               reject_off_task: bool = True) -> PrefixVerdict:
    """The order matters: cap first (at a sentence, else a word boundary), then check the text
    that will actually be used, so a cap can never cut a label off a prefix that passed."""
    reason = ""
    if count_tokens(line) > max_tokens:
        line = cap_at_boundary(line, count_tokens, max_tokens)
        reason = f"capped at {max_tokens} tokens"
    copied = next((o for o in FEEDBACK_OPENINGS if line.lower().startswith(o)), None)
    if copied:
        return PrefixVerdict(None, f"copies the feedback message (a line beginning {copied!r})")
    words = _WORD.findall(line.lower())
    if len(words) < 3:
        return PrefixVerdict(None, f"too short ({len(words)} words)" + (f", {reason}" if reason else ""))
    if _degenerate(words):
        return PrefixVerdict(None, "degenerate (repetition)")
    named = labels_named(line, label_names)
    if reject_partial_labels and len(label_names) > 1 and 0 < len(named) < len(label_names):
        return PrefixVerdict(None, f"names some labels ({', '.join(named)}) but not all: asserts a label"
                             + (f" ({reason})" if reason else ""))
    if reject_off_task and _off_task(words, named, label_names):
        return PrefixVerdict(None, "mostly about training rather than the task")
    return PrefixVerdict(line, reason)


def cap_at_boundary(line: str, count_tokens: Callable[[str], int], max_tokens: int) -> str:
    """The longest whole-word start of ``line`` within ``max_tokens``, cut back to its last
    complete sentence when that sentence has at least 3 words."""
    kept = line.split()
    while kept and count_tokens(" ".join(kept)) > max_tokens:
        kept.pop()
    capped = " ".join(kept)
    ends = [m.end() for m in re.finditer(r"[.?!](?=\s|$)", capped)]
    if ends and len(_WORD.findall(capped[:ends[-1]].lower())) >= 3:
        return capped[:ends[-1]]
    return capped.rstrip(",;:-")


def _label_pattern(name: str) -> re.Pattern[str]:
    """A label as its word pieces with any punctuation or spaces between them: "Sci/Tech"
    matches "sci/tech", "Sci-Tech" and "sci tech"; "U.S." matches "U.S." and "US"."""
    pieces = re.findall(r"[a-z0-9]+", name.lower())
    if not pieces:
        return re.compile(re.escape(name.lower()))
    if all(len(p) == 1 for p in pieces) and len(pieces) > 1:  # an initialism: "u.s." or "us"
        body = r"[^a-z0-9]*".join(pieces)
    else:
        body = r"[^a-z0-9]+".join(pieces) if len(pieces) > 1 else pieces[0]
    return re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])")


def labels_named(line: str, label_names: list[str]) -> list[str]:
    """The labels ``line`` names (case-insensitive, punctuation-tolerant, whole words)."""
    low = line.lower()
    return [n for n in label_names if _label_pattern(n).search(low)]


def _off_task(words: list[str], named: list[str], label_names: list[str]) -> bool:
    """Mostly about training, not the task. A prefix that names every label is on task whatever
    else it says ("Improve the model accuracy: classify the tweet as negative or positive."):
    the feedback prompt itself asks for an "improved" instruction."""
    if len(label_names) > 1 and len(named) == len(label_names):
        return False
    if not label_names and _QA_WORDS & set(words):  # QA: says what to find
        return False
    off = sum(w in _TRAINING_WORDS for w in words)
    return off >= 3 or off / len(words) > 0.25


def _degenerate(words: list[str]) -> bool:
    if len(set(words)) <= max(1, len(words) // 4):
        return True
    run = 1
    for a, b in zip(words, words[1:]):
        run = run + 1 if a == b else 1
        if run >= 3:
            return True
    return False
