"""Cleaning untrusted LLM output into a prefix (replies seen from SmolLM2-135M)."""

import pytest

from gpta.prefix import clean_prefix

LABELS = ["negative", "positive"]


def words(s):
    return len(s.split())


@pytest.mark.parametrize("reply, expected", [
    ('Prefix: "Is this tweet negative or positive?"', "Is this tweet negative or positive?"),
    ("Sure! Here is the revised prefix:\nDecide if the tweet is negative or positive.\nThanks",
     "Decide if the tweet is negative or positive."),
    ("Task: classify tweet data into two categories: negative and positive.\nThe possible labels are: x",
     "Task: classify tweet data into two categories: negative and positive."),
    ("**Read the tweet and judge its overall tone.**", "Read the tweet and judge its overall tone."),
])
def test_takes_first_usable_line(reply, expected):
    v = clean_prefix(reply, LABELS, words, 32)
    assert v.prefix == expected


@pytest.mark.parametrize("reply, reason", [
    ("", "empty"),
    ("!!! ??? ...", "empty"),
    ("Sentiment: negative", "too short"),
    ("The classifier will look for a negative sentiment in the input.", "names some labels"),
    ("To improve the performance, I will train a model on a dataset with a small batch size", "training"),
    ("good good good good good good good good", "degenerate"),
    ("Effect of the instruction: This is a new instruction, which is a modification of", "copies the feedback"),
    ("Effect of training (the instruction, before this round): 0.896", "copies the feedback"),
])
def test_rejects_with_reason(reply, reason):
    v = clean_prefix(reply, LABELS, words, 32)
    assert v.prefix is None and reason in v.reason


def test_caps_token_length():
    v = clean_prefix("Decide whether the following short tweet expresses a negative or positive opinion",
                     LABELS, words, 5)
    assert v.prefix == "Decide whether the following short" and "capped" in v.reason


# -- issue 13, item 5: the rules do what they say ------------------------------------------------

TREC = ["abbreviation", "description", "entity", "human", "location", "number"]


def test_cap_happens_before_the_partial_label_check():
    # capped at 13 words this loses "number": it would name 5 of 6 labels, which the rule rejects
    reply = ("Classify the question as asking for an abbreviation, description, entity, human, location "
             "or number.")
    v = clean_prefix(reply, TREC, words, 13)
    assert v.prefix is None and "names some labels" in v.reason and "capped" in v.reason


def test_cap_cuts_at_a_sentence_boundary_when_it_can():
    reply = ("Is this tweet negative or positive? Read every word of the tweet carefully before you decide "
             "what it says")
    v = clean_prefix(reply, LABELS, words, 10)
    assert v.prefix == "Is this tweet negative or positive?" and "capped" in v.reason


def test_cap_cuts_at_a_word_boundary_otherwise():
    v = clean_prefix("Classify this tweet, which is short and informal, as negative or positive", LABELS,
                     lambda s: len(s), 30)  # a character-level "tokenizer": never mid-word
    assert v.prefix == "Classify this tweet, which is"


@pytest.mark.parametrize("reply", [
    "Is this news about World, Sports, Business or Sci-Tech topics?",
    "Is this news about world, sports, business or sci / tech?",
    "Is this news about world, sports, business or sci/tech?",
])
def test_label_names_with_punctuation_are_matched(reply):
    v = clean_prefix(reply, ["World", "Sports", "Business", "Sci/Tech"], words, 32)
    assert v.prefix == reply, v.reason


def test_label_named_by_part_is_still_partial():
    v = clean_prefix("Is this news about world, sports or business?", ["World", "Sports", "Business", "Sci/Tech"],
                     words, 32)
    assert v.prefix is None and "names some labels (World, Sports, Business)" in v.reason


def test_off_task_rule_accepts_an_instruction_that_names_every_label():
    reply = "Improve the model accuracy: classify the tweet as negative or positive."
    assert clean_prefix(reply, LABELS, words, 32).prefix == reply
    # still rejected: training talk that does not state the task
    v = clean_prefix("Improve the model accuracy with a lower learning rate and more epochs.", LABELS, words, 32)
    assert v.prefix is None and "training" in v.reason


def test_first_new_line_skips_a_repeated_first_line():
    """gpta.reply_line=first-new: SmolLM2's revision replies copy the old instruction on line 1 and
    write new lines below it (seen on tweets, 2%, seed 13): the first usable line that is not a
    repeat is the proposal; without ``skip`` the first line is taken as before."""
    old = "Task: classify tweet data into two categories: negative and positive."
    reply = f"{old}\nThe possible labels are: negative and positive.\nThe"
    seen = {old}
    assert clean_prefix(reply, LABELS, words, 32).prefix == old
    v = clean_prefix(reply, LABELS, words, 32, skip=seen.__contains__)
    assert v.prefix == "The possible labels are: negative and positive."
    assert "line 2 of the reply (line 1 repeats an earlier prefix)" in v.reason
    # a rejected first line, then a usable new one: the new one, with the rejection recorded
    v = clean_prefix("Sentiment: negative\nJudge this tweet: negative or positive.", LABELS, words, 32,
                     skip=seen.__contains__)
    assert v.prefix == "Judge this tweet: negative or positive." and "rejected: too short" in v.reason
    # a one-line reply whose first sentence repeats the old instruction: the next sentence
    # (the cap, 14 words here, cuts the line back to its first sentence: the old instruction)
    v = clean_prefix(f"{old} In this task, say whether the tweet is negative or positive.", LABELS, words, 14,
                     skip=seen.__contains__)
    assert v.prefix == "In this task, say whether the tweet is negative or positive."
    assert v.reason.startswith("line 1, sentence 2 of the reply")
    # nothing new anywhere: the verdict on line 1, so an echo stays an echo and a rejection a rejection
    assert clean_prefix(f"{old}\n{old}", LABELS, words, 32, skip=seen.__contains__).prefix == old
    assert clean_prefix("Sentiment: negative\nok", LABELS, words, 32, skip=seen.__contains__).prefix is None
