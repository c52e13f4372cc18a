"""The prompts the teaching-assistant LLM sees (ours: the paper does not publish its templates).

What goes in is the dataset *description* and aggregate numbers only: never a training, dev or
test example. ``tests/test_gpta_method.py`` scans every message a GPTA run sends to prove it.
"""

from __future__ import annotations

from typing import Any

SYSTEM = (
    "You are a teaching assistant for a small text classifier. You write a short instruction, "
    "called a prefix, that is placed in front of every input the classifier reads. You never "
    "see the data; you only get a description of it and training feedback."
)

QA_SYSTEM = (
    "You are a teaching assistant for a small reading-comprehension model that marks the answer "
    "to a question as a span of a passage. You write a short instruction, called a prefix, that "
    "is placed in front of every question the model reads. You never see the data; you only get "
    "a description of it and training feedback."
)


def system_message(task: str) -> str:
    """The system message for the task: QA's never calls the model a text classifier."""
    return QA_SYSTEM if task == "qa" else SYSTEM


FIRST = (
    "Dataset: {description}\n"
    "The possible labels are: {labels}.\n"
    "Write one instruction sentence that describes the task and lists all the possible labels. "
    "Reply with only that sentence."
)

QA_FIRST = (
    "Dataset description: {description}\n"
    "Write one short sentence (at most 20 words) that tells a reading-comprehension model how to "
    "find the answer span in the passage for a question. Reply with the sentence only."
)

FEEDBACK = (
    "Feedback on your instruction \"{prefix}\" ({prefix_tokens} tokens) after training round {round}: "
    "dev {metric} went from {dev_before:.3f} to {dev_after:.3f} (standard error {dev_se:.3f}; "
    "changes smaller than about twice that are noise); dev loss went from {dev_loss_before:.3f} "
    "to {dev_loss_after:.3f}; train loss is {train_loss:.3f}; train {metric} minus dev {metric} "
    "is {gap:+.3f}.\n"
    "{per_class}"
    "Now write an improved instruction sentence. {requirement} Reply with only that sentence."
)
REQUIREMENT = {
    "classification": "It must describe the task and list all the possible labels.",
    "qa": "It must tell the model how to find the answer span in the passage.",
}

def labels_phrase(label_names: list[str]) -> str:
    if len(label_names) <= 1:
        return "".join(label_names)
    return ", ".join(label_names[:-1]) + " or " + label_names[-1]


def first_message(description: str, label_names: list[str], task: str) -> str:
    if task == "qa":
        return QA_FIRST.format(description=description)
    return FIRST.format(description=description, labels=labels_phrase(label_names))


def feedback_message(round_index: int, prefix: str, prefix_tokens: int, metric: str,
                     before: dict[str, Any], after: dict[str, Any], train: dict[str, Any],
                     n_dev: int) -> str:
    """The dialogue gradient: aggregate numbers only."""
    p = after[metric]
    se = (p * (1 - p) / max(n_dev, 1)) ** 0.5  # binomial s.e.; for F1 a rough guide
    recall = after.get("per_class_recall")
    per_class = ""
    if recall:
        per_class = "Dev recall per class: " + ", ".join(f"{k} {v:.2f}" for k, v in recall.items()) + ".\n"
    return FEEDBACK.format(
        round=round_index + 1, prefix=prefix, prefix_tokens=prefix_tokens, metric=metric,
        dev_before=before[metric], dev_after=p, dev_se=se, dev_loss_before=before["loss"],
        dev_loss_after=after["loss"], train_loss=train["loss"], gap=train[metric] - p, per_class=per_class,
        requirement=REQUIREMENT["classification" if recall else "qa"],
    )


def fallback_prefix(label_names: list[str], domain: str, task: str) -> str:
    """A neutral prefix naming every label: used when the LLM's first reply is unusable."""
    if task == "qa":
        return "Find the span of the passage that answers the question."
    return f"Classify the {domain} of this text as {labels_phrase(label_names)}."
