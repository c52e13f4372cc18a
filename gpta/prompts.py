"""The prompts the teaching-assistant LLM sees (ours: the paper does not publish its templates).

What goes in is the dataset *description* and aggregate numbers only: never a training, dev or
test example. ``tests/test_gpta_method.py`` scans every message a GPTA run sends to prove it.
"""

from __future__ import annotations

from typing import Any

# The role, unmistakable (issue 23): a stronger LLM read the old wording as a request to label data
# ("Please provide a tweet and its corresponding sentiment label."). The LLM writes ONE sentence
# that a classifier reads before every input; it never sees an input and never labels one.
SYSTEM = (
    "You write one instruction sentence for a small text classifier. The classifier reads your "
    "sentence in front of every input text; it tells the classifier what to decide. You never see "
    "the texts and you never classify anything yourself. Reply with the instruction sentence only."
)

QA_SYSTEM = (
    "You write one instruction sentence for a small reading-comprehension model that marks the "
    "answer to a question as a span of a passage. The model reads your sentence in front of every "
    "question; it tells the model how to find the answer. You never see the questions or passages "
    "and you never answer anything yourself. Reply with the instruction sentence only."
)


def system_message(task: str) -> str:
    """The system message for the task: QA's never calls the model a text classifier."""
    return QA_SYSTEM if task == "qa" else SYSTEM


# Measured on the verdict datasets (docs/DIALOGUE.md, "The first request"): the earlier wording
# ("... it must say what to decide and name all the possible labels") was copied as the prefix by
# Qwen2.5-Coder-1.5B on 4 of 7 datasets ("The classifier must say what to decide and name all the
# possible labels."). This wording: Qwen 7 of 7 task instructions that use the description,
# SmolLM2 5 of 7 usable, as before.
FIRST = (
    "Dataset: {description}\n"
    "The possible labels are: {labels}.\n"
    "Write the instruction sentence that the classifier will read before every text: state what the "
    "classifier decides about each text and list the labels {labels}. Do not write or ask for an example "
    "text. Reply with only that sentence."
)

QA_FIRST = (
    "Dataset description: {description}\n"
    "Write the instruction sentence (at most 20 words) that the model will read before every "
    "question: it must say how to find the answer span in the passage. Do not write or ask for an "
    "example. Reply with only that sentence."
)

# The dialogue gradient, OPRO-style (Yang et al. 2023, "Large Language Models as Optimizers"):
# the trajectory of instructions with their scores, best first, and the aggregate training
# numbers. Two effects are kept apart: TRAINING (the same instruction before and after a round)
# and the INSTRUCTION (different instructions scored on the same trained weights).
# gpta revision 2: the first line names whose instruction the round trained with (``ORIGIN``): the
# LLM's, or our stand-in when its reply was unusable, with the reason (``UNUSED``). Revision 1 called
# the template "your instruction" and never said why the reply was dropped; Qwen2.5-Coder then
# repeated its over-long sentence every round (docs/DIALOGUE.md). The request gives the length limit.
FEEDBACK = (
    "Training round {round} is done: the classifier trained {epochs} epoch{s} with {origin} "
    "\"{prefix}\" ({prefix_tokens} tokens).\n"
    "{unused}"
    "{training_effect}"
    "Effect of the instruction: these instructions were each scored on dev with the same trained "
    "classifier (dev {metric}, higher is better; differences under about {noise:.3f} are noise), best first:\n"
    "{trajectory}"
    "Train loss is {train_loss:.3f}; train {metric} minus dev {metric} is {gap:+.3f}.\n"
    "{per_class}"
    "Write a new instruction sentence {reader}, different from all of the above, that you expect to "
    "score higher. {requirement} Use at most {words} words. Reply with only that sentence."
)
# Whose instruction the round trained with, by the prefix record's ``source`` (gpta.gpta_loop)
ORIGIN = {"llm": "your instruction", "fallback-first": "our stand-in instruction",
          "fallback": "the previous instruction", "incumbent": "the instruction kept from the round before"}
UNUSED = "Your {which} reply was not used ({reason}).\n"
TRAINING_EFFECT = ("Effect of training (same instruction, before and after this round): dev {metric} "
                   "went from {before:.3f} to {after:.3f}; dev loss from {loss_before:.3f} to {loss_after:.3f}.\n")
TRAINING_EFFECT_FRESH = ("Effect of training: the classifier started this round untrained (dev {metric} "
                         "{before:.3f} with the untrained head says nothing about the instruction) and reached "
                         "{after:.3f}; dev loss {loss_after:.3f}.\n")
# How the feedback's own lines begin (lowercase). A reply line that begins the same way copies the
# feedback ("Effect of the instruction: ...", SmolLM2 on bbc-news) and is not a proposal: the
# prefix cleaning rejects it (gpta/prefix.py).
FEEDBACK_OPENINGS = ("training round", "effect of training", "effect of the instruction", "train loss is",
                     "dev recall per class", "write a new instruction sentence")
TRAJECTORY_SHOWN = 8  # at most this many (instruction, score) lines: a small LLM's context is short
REQUIREMENT = {
    "classification": "It must describe the task and list all the possible labels.",
    "qa": "It must tell the model how to find the answer span in the passage.",
}
READER = {"classification": "for the classifier to read before every text",
          "qa": "for the model to read before every question"}

def labels_phrase(label_names: list[str]) -> str:
    if len(label_names) <= 1:
        return "".join(label_names)
    return ", ".join(label_names[:-1]) + " or " + label_names[-1]


def first_message(description: str, label_names: list[str], task: str) -> str:
    if task == "qa":
        return QA_FIRST.format(description=description)
    return FIRST.format(description=description, labels=labels_phrase(label_names))


# The cleaning's note when it capped a reply (gpta.prefix.clean_line); ``unused_reason`` rewords it
CAP_NOTE = "capped at {tokens} tokens"


def word_limit(max_prefix_tokens: int) -> int:
    """The length limit the LLM is told, in words: the encoder's tokenizer makes about 1.3 tokens
    of an English word (Qwen2.5-Coder's 27-word bbc-news sentence is 34 MiniLM tokens), so 5/8 of
    the token cap (20 words for 32) leaves room for long label names."""
    return max(3, max_prefix_tokens * 5 // 8)


def unused_reason(note: str, max_prefix_tokens: int) -> str:
    """Why a reply was not used, as the LLM is told it: the cleaning's note (``gpta.prefix``), the
    token cap said as the word limit the request gives."""
    capped = CAP_NOTE.format(tokens=max_prefix_tokens)
    said = f"it was longer than {word_limit(max_prefix_tokens)} words and was cut off"
    if note.startswith("a fragment") and capped in note:
        return said + " mid-sentence"
    return note.replace(capped, said)


def feedback_message(round_index: int, epochs: int, prefix: str, prefix_tokens: int, metric: str,
                     before: dict[str, Any], after: dict[str, Any], train: dict[str, Any], n_dev: int,
                     trajectory: list[dict[str, Any]], fresh_head: bool, source: str = "llm", note: str = "",
                     max_prefix_tokens: int = 32) -> str:
    """The dialogue gradient: aggregate numbers and the LLM's own instructions only, never an example.

    ``trajectory``: every distinct instruction so far scored on dev with the weights at the end
    of this round (dicts with ``prefix`` and ``dev_metric``), best first. ``fresh_head``: the
    round started from an untrained head, so "before" measures nothing about the instruction.
    ``source``/``note``: where the round's prefix came from (the prefix record in
    ``gpta.gpta_loop``): "llm", "fallback" (the reply was unusable; ``note`` says why) or
    "incumbent" (if-better kept it).
    """
    p = after[metric]
    se = (p * (1 - p) / max(n_dev, 1)) ** 0.5  # binomial s.e.; for F1 a rough guide
    recall = after.get("per_class_recall")
    per_class = ""
    if recall:
        per_class = "Dev recall per class: " + ", ".join(f"{k} {v:.2f}" for k, v in recall.items()) + ".\n"
    effect = TRAINING_EFFECT_FRESH if fresh_head else TRAINING_EFFECT
    training_effect = effect.format(metric=metric, before=before[metric], after=p, loss_before=before["loss"],
                                    loss_after=after["loss"])
    lines = "".join(f"{i}. \"{t['prefix']}\": {t['dev_metric']:.3f}\n"
                    for i, t in enumerate(trajectory[:TRAJECTORY_SHOWN], 1))
    # round 0's fallback is our template; a later one keeps the previous round's prefix
    origin = "fallback-first" if source == "fallback" and round_index == 0 else source
    unused = ""
    if source == "fallback":
        unused = UNUSED.format(which="first" if round_index == 0 else "last",
                               reason=unused_reason(note, max_prefix_tokens))
    return FEEDBACK.format(
        round=round_index + 1, epochs=epochs, s="" if epochs == 1 else "s", origin=ORIGIN[origin], prefix=prefix,
        prefix_tokens=prefix_tokens, unused=unused, training_effect=training_effect, metric=metric, noise=2 * se,
        trajectory=lines, train_loss=train["loss"], gap=train[metric] - p, per_class=per_class,
        requirement=REQUIREMENT["classification" if recall else "qa"], reader=READER["classification" if recall else "qa"],
        words=word_limit(max_prefix_tokens),
    )


def fallback_prefix(label_names: list[str], domain: str, task: str) -> str:
    """A neutral prefix naming every label: used when the LLM's first reply is unusable."""
    if task == "qa":
        return "Find the span of the passage that answers the question."
    return f"Classify the {domain} of this text as {labels_phrase(label_names)}."
