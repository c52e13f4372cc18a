"""LLM output is untrusted: turn a reply into a usable prefix, or say why not; and say whether a
proposal is new (one rule for the loop, its records and the reports).

A small model (SmolLM2-135M) writes things like "Sure! Here is the prefix:", quotes, several
lines, "Sentiment: negative" (asserts one label), "To improve the performance, I will train a
model..." (off task), a copy of a line of our own feedback ("Effect of the instruction: ..."),
a text cut off mid-sentence ("Effect of the") or a copy of the old instruction or of our request.
We take the first usable line, strip wrappers, cap its token length at a sentence or word
boundary, and only then reject degenerate, fragmentary, partial-label or off-task text (the
checks see the text that will be used) with a recorded reason. ``find_echo`` is the one rule that
says whether a proposal repeats something earlier (``ECHO_RULE``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Callable, Iterable, Sequence

from gpta.prompts import CAP_NOTE, FEEDBACK_OPENINGS

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
    # new: usable and repeats nothing it was compared with | echo: usable, but ``find_echo`` found
    # what it repeats (``echo_of``) | fragment: an unfinished piece of text, not a proposal |
    # rejected: any other cleaning rule (too short, partial labels, off task, ...)
    status: str = "new"
    echo_of: dict[str, Any] | None = None


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


def clean_prefix(text: str, label_names: list[str], count_tokens: Callable[[str], int],
                 max_tokens: int, reject_partial_labels: bool = True, reject_off_task: bool = True,
                 earlier: Sequence[Earlier] = (), first_new: bool = False) -> PrefixVerdict:
    """The reply's proposal: its first usable line, cleaned, and whether it is new.

    ``earlier``: what a proposal must not repeat (earlier prefixes and proposals, the lines of our
    own requests); a usable text that ``find_echo`` matches against it has status "echo".
    ``first_new`` (``gpta.reply_line=first-new``): if line 1 is not new, take the first later
    sentence or line that passes the rules and is itself new by the same rule; if there is none,
    the verdict on line 1 (an echo stays an echo, a rejection a rejection).
    """
    lines = usable_lines(text)
    if not lines:
        return PrefixVerdict(None, "empty reply or no letters", status="rejected")

    def judge(unit: str) -> PrefixVerdict:
        v = clean_line(unit, label_names, count_tokens, max_tokens, reject_partial_labels, reject_off_task)
        if v.prefix is not None and (echo := find_echo(v.prefix, earlier)) is not None:
            v.status, v.echo_of = "echo", echo
        return v

    first = judge(lines[0])
    if not first_new or first.status == "new":
        return first
    why = f"{first.status}: {first.echo_of['source']}" if first.status == "echo" else f"{first.status}: {first.reason}"
    for where, unit in _later_units(lines):
        v = judge(unit)
        if v.status == "new":
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
        reason = CAP_NOTE.format(tokens=max_tokens)
    copied = next((o for o in FEEDBACK_OPENINGS if line.lower().startswith(o)), None)
    if copied:
        return PrefixVerdict(None, f"copies the feedback message (a line beginning {copied!r})", status="rejected")
    words = _WORD.findall(line.lower())
    if len(words) < 3:
        return PrefixVerdict(None, f"too short ({len(words)} words)" + (f", {reason}" if reason else ""),
                             status="rejected")
    if is_fragment(line):
        return PrefixVerdict(None, f"a fragment: ends in {words[-1]!r} without a sentence end"
                             + (f" ({reason})" if reason else ""), status="fragment")
    if _degenerate(words):
        return PrefixVerdict(None, "degenerate (repetition)", status="rejected")
    named = labels_named(line, label_names)
    if reject_partial_labels and len(label_names) > 1 and 0 < len(named) < len(label_names):
        return PrefixVerdict(None, f"names some labels ({', '.join(named)}) but not all: asserts a label"
                             + (f" ({reason})" if reason else ""), status="rejected")
    if reject_off_task and _off_task(words, named, label_names):
        return PrefixVerdict(None, "mostly about training rather than the task", status="rejected")
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
    matches "sci/tech", "Sci-Tech" and "sci tech"; "U.S." matches "U.S." and "US". A plural
    names the label too: "sport" matches "sports", "abbreviation" "abbreviations" (SmolLM2 writes
    both)."""
    pieces = re.findall(r"[a-z0-9]+", name.lower())
    if not pieces:
        return re.compile(re.escape(name.lower()))
    if all(len(p) == 1 for p in pieces) and len(pieces) > 1:  # an initialism: "u.s." or "us"
        body = r"[^a-z0-9]*".join(pieces)
    else:
        body = (r"[^a-z0-9]+".join(pieces) if len(pieces) > 1 else pieces[0]) + "(?:e?s)?"
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


# -- fragments and echoes: the one rule (issue 23) -------------------------------------------------

# Closed-class words: articles, pronouns and determiners, prepositions, conjunctions, auxiliaries.
# They carry no instruction of their own: a text that ends in one without a sentence end is
# unfinished, and two texts that differ only in them say the same thing ("negative and positive"
# = "negative or positive"; "The task is to classify" = "Task: classify"). Written out rather
# than sklearn's ENGLISH_STOP_WORDS, which also drops instruction verbs ("describe", "find", "name").
FUNCTION_WORDS = frozenset("""
a an the this that these those each every any all some its their your our my his her it they them you we
of to in on at by for from with about as into onto over under between than per via
and or nor but if whether because so then while which who whom whose what where when how
is are was were be been being am do does did has have had will would shall should can could may might must
""".split())
ECHO_SIMILARITY = 0.9  # content-word ratio at or above which two texts say the same thing
ECHO_CONTAINED = 0.9  # share of the proposal's words that occur as one verbatim run in the earlier text
ECHO_RULE = (
    "echo: against an earlier text (an earlier prefix or proposal, whole or one sentence; a line or sentence of "
    "an earlier reply or of our own request), difflib's ratio over content words (lowercase words minus FUNCTION_WORDS) is "
    f">= {ECHO_SIMILARITY}, or >= {ECHO_CONTAINED:.0%} of the proposal's words occur in it as one verbatim run; "
    "a proposal of several sentences each of which is such an echo is an echo; "
    "fragment: ends in a function word without . ? ! or :"
)
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_SPLIT = re.compile(r"(?<=[.?!])\s+")


@dataclass(frozen=True)
class Earlier:
    """A text a proposal may repeat: an earlier round's prefix, an earlier proposal, or our request."""

    text: str
    source: str  # "prefix" | "proposal" | "request"
    where: dict[str, Any] = field(default_factory=dict)  # {"round", "candidate"} or {"message": index}


def content_words(text: str) -> list[str]:
    """Lowercase words without function words (all words if nothing else is left)."""
    words = _TOKEN.findall(text.lower())
    return [w for w in words if w not in FUNCTION_WORDS] or words


def is_fragment(text: str) -> bool:
    """An unfinished piece of text ("Effect of the", '"The possible labels are'): its last word is a
    function word and it has no sentence end. A fragment is not a proposal."""
    words = _TOKEN.findall(text.lower())
    return bool(words) and words[-1] in FUNCTION_WORDS and not re.search(r"[.?!:][\s\"'”’)*]*$", text)


def _units(e: Earlier) -> list[str]:
    """What an earlier text is compared by: a prefix or proposal whole and per sentence; a request
    message or an earlier reply per line and per sentence (never whole: a long message contains
    any short text)."""
    whole = e.source != "request" and not e.where.get("reply")
    lines = [e.text] if whole else [ln for ln in e.text.splitlines() if ln.strip()]
    out = []
    for line in lines:
        out.append(line)
        sentences = [s for s in _SENTENCE_SPLIT.split(line.strip()) if s]
        out.extend(sentences if len(sentences) > 1 else [])
    return out


def echo_score(proposal: str, earlier_text: str) -> tuple[float, float]:
    """(similarity, contained): difflib's ratio over content words (texts that differ only in
    function words score 1), and the longest verbatim run of words (all words) shared with
    ``earlier_text`` as a share of the proposal's words (a piece cut from it scores 1)."""
    a, b = content_words(proposal), content_words(earlier_text)
    if not a or not b:
        return 0.0, 0.0
    similarity = SequenceMatcher(None, a, b, autojunk=False).ratio()
    a, b = _TOKEN.findall(proposal.lower()), _TOKEN.findall(earlier_text.lower())
    run = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size
    return similarity, run / len(a)


def find_echo(proposal: str, earlier: Iterable[Earlier]) -> dict[str, Any] | None:
    """What ``proposal`` repeats, nearly repeats or is contained in (``ECHO_RULE``), or None: it is new.

    The closest match wins; on a tie the first in ``earlier`` (the loop lists prefixes, then
    proposals, then requests). Returns {source, text (the matched prefix, sentence or line),
    similarity, contained, **where}.
    """
    earlier = list(earlier)
    whole = _closest_echo(proposal, earlier)
    if whole is not None:
        return whole
    # A proposal made only of earlier sentences is an echo too, whatever their order or number
    # ("The task is X. The task is X." after "The labels are L. The task is X.": SmolLM2, sst2).
    sentences = [t for t in _SENTENCE_SPLIT.split(proposal.strip()) if _TOKEN.search(t.lower())]
    if len(sentences) < 2:
        return None
    matches = [_closest_echo(t, earlier) for t in sentences]
    if any(m is None for m in matches):
        return None
    return {**matches[0], "every_sentence": True}


def _closest_echo(proposal: str, earlier: list[Earlier]) -> dict[str, Any] | None:
    best: tuple[float, dict[str, Any]] | None = None
    for e in earlier:
        for unit in _units(e):
            sim, contained = echo_score(proposal, unit)
            if sim >= ECHO_SIMILARITY or contained >= ECHO_CONTAINED:
                closeness = max(sim, contained)
                if best is None or closeness > best[0]:
                    best = (closeness, {"source": e.source, "text": unit, "similarity": round(sim, 3),
                                        "contained": round(contained, 3), **e.where})
    return best[1] if best else None


def request_texts(messages: Iterable[dict[str, str]]) -> list[Earlier]:
    """Our own messages of a conversation (system and user turns) as texts a proposal may not repeat."""
    return [Earlier(m["content"], "request", {"message": i}) for i, m in enumerate(messages)
            if m["role"] in ("system", "user")]


def reply_texts(messages: Iterable[dict[str, str]]) -> list[Earlier]:
    """The LLM's earlier replies in a conversation, line by line and sentence by sentence: every
    part of an earlier reply was proposed once, used or not (SmolLM2 on bbc-news wrote p0's unused
    second sentence again as its revision)."""
    return [Earlier(m["content"], "proposal", {"message": i, "reply": True}) for i, m in enumerate(messages)
            if m["role"] == "assistant"]
