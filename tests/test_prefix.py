"""Cleaning untrusted LLM output into a prefix (replies seen from SmolLM2-135M)."""

import pytest

from gpta.prefix import (ECHO_CONTAINED, ECHO_SIMILARITY, Earlier, clean_prefix, echo_score, find_echo,
                         is_fragment, reply_texts, request_texts)

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
    ("Effect of the", "a fragment"),  # SmolLM2 on bbc-news, cut by the token limit
    ('"The possible labels are', "a fragment"),
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
    # capped at 12 words this loses "or number": it would name 5 of 6 labels, which the rule rejects
    reply = ("Classify the question as asking for an abbreviation, description, entity, human, location "
             "or number.")
    v = clean_prefix(reply, TREC, words, 12)
    assert v.prefix is None and "names some labels" in v.reason and "capped" in v.reason


def test_cap_cuts_at_a_sentence_boundary_when_it_can():
    reply = ("Is this tweet negative or positive? Read every word of the tweet carefully before you decide "
             "what it says")
    v = clean_prefix(reply, LABELS, words, 10)
    assert v.prefix == "Is this tweet negative or positive?" and "capped" in v.reason


def test_cap_cuts_at_a_word_boundary_otherwise():
    reply = "Classify this tweet, which is short and informal, as negative or positive"
    v = clean_prefix(reply, LABELS, lambda s: len(s), 25)  # a character-level "tokenizer": never mid-word
    assert v.prefix == "Classify this tweet"
    # a cap that ends in a function word leaves a fragment: not a prefix
    v = clean_prefix(reply, LABELS, lambda s: len(s), 30)
    assert v.prefix is None and v.status == "fragment" and "ends in 'is'" in v.reason


@pytest.mark.parametrize("reply", [
    "Is this news about World, Sports, Business or Sci-Tech topics?",
    "Is this news about world, sports, business or sci / tech?",
    "Is this news about world, sports, business or sci/tech?",
])
def test_label_names_with_punctuation_are_matched(reply):
    v = clean_prefix(reply, ["World", "Sports", "Business", "Sci/Tech"], words, 32)
    assert v.prefix == reply, v.reason


def test_a_plural_names_the_label():
    """SmolLM2's first prefixes for bbc-news and trec (new prompts, temperature 0) say "sports" and
    "abbreviations"; they name every label."""
    bbc = ["business", "entertainment", "politics", "sport", "tech"]
    reply = "The task is to decide whether the text is a business, entertainment, politics, sports, or tech article."
    assert clean_prefix(reply, bbc, words, 32).prefix == reply
    assert clean_prefix("Is it abbreviations, description, entity, human, location or number?", TREC, words,
                        32).prefix is not None
    assert clean_prefix("Is this tweet negatives?", LABELS, words, 32).prefix is None  # still one label of two


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
    write new lines below it: the first sentence or line that is new by the echo rule is the
    proposal; without ``first_new`` line 1 is judged alone."""
    old = "Task: classify tweet data into two categories: negative and positive."
    earlier = [Earlier(old, "prefix", {"round": 0, "candidate": None})]
    new = "Judge the mood of the writer: negative or positive."
    reply = f"{old}\n{new}\nThe"
    v = clean_prefix(reply, LABELS, words, 32, earlier=earlier)
    assert v.prefix == old and v.status == "echo" and v.echo_of["source"] == "prefix"
    v = clean_prefix(reply, LABELS, words, 32, earlier=earlier, first_new=True)
    assert v.prefix == new and v.status == "new"
    assert "line 2 of the reply (line 1 echo: prefix)" in v.reason
    # a rejected first line, then a usable new one: the new one, with the rejection recorded
    v = clean_prefix(f"Sentiment: negative\n{new}", LABELS, words, 32, earlier=earlier, first_new=True)
    assert v.prefix == new and "rejected: too short" in v.reason
    # a one-line reply whose first sentence repeats the old instruction: the next sentence
    # (the cap, 14 words here, cuts the line back to its first sentence: the old instruction)
    v = clean_prefix(f"{old} In this task, say how the writer feels: negative or positive.", LABELS, words, 14,
                     earlier=earlier, first_new=True)
    assert v.prefix == "In this task, say how the writer feels: negative or positive."
    assert v.reason.startswith("line 1, sentence 2 of the reply")
    # nothing new anywhere: the verdict on line 1, so an echo stays an echo and a rejection a rejection
    assert clean_prefix(f"{old}\n{old}", LABELS, words, 32, earlier=earlier, first_new=True).status == "echo"
    assert clean_prefix("Sentiment: negative\nok", LABELS, words, 32, earlier=earlier, first_new=True).prefix is None


def test_first_new_never_takes_a_later_line_that_is_itself_an_echo():
    """Issue 23: the later line must be new by the same rule. SmolLM2's real tweets reply
    (tests/quick_replies.py): line 2 nearly copies our request, line 4 rephrases p0 with function
    words only, line 3 copies the feedback, line 5 names one label. None is new: an echo."""
    from tests.quick_replies import CONVERSATIONS

    conv = CONVERSATIONS["tweets"]
    p0, reply = conv[2]["content"], conv[4]["content"]
    earlier = [Earlier(p0, "prefix", {"round": 0, "candidate": None})] + request_texts(conv[:4])
    v = clean_prefix(reply, LABELS, words, 32, earlier=earlier, first_new=True)
    assert v.prefix == p0 and v.status == "echo" and v.echo_of["source"] == "prefix"
    line2, line4 = reply.splitlines()[1], reply.splitlines()[3]
    assert find_echo(line2, earlier)["source"] == "request"  # "negative and positive" for "... or positive"
    assert find_echo(line4, earlier)["source"] == "prefix"  # "The task is to classify the tweet data ..."


def test_a_sentence_of_an_earlier_reply_is_an_echo():
    """The real bbc-news revision with the new prompts (tests/quick_replies.py): first-new skips
    line 1's echo of p0 and finds sentences 2-3, which the p0 reply had already written."""
    from tests.quick_replies import BBC_NEW_PROMPTS as conv

    bbc = ["business", "entertainment", "politics", "sport", "tech"]
    p0, reply = conv[2]["content"], conv[4]["content"]
    p0_prefix = clean_prefix(p0, bbc, words, 32).prefix
    earlier = [Earlier(p0_prefix, "prefix", {"round": 0, "candidate": None})] + request_texts(conv[:4])
    assert clean_prefix(reply, bbc, words, 32, earlier=earlier, first_new=True).status == "new"  # without replies
    v = clean_prefix(reply, bbc, words, 32, earlier=earlier + reply_texts(conv[:4]), first_new=True)
    assert v.status == "echo" and v.echo_of["source"] == "prefix"  # line 1; every later sentence echoes the reply
    later = "The classifier must decide based on the given labels. The task is to decide based on the given labels."
    echo = find_echo(later, earlier + reply_texts(conv[:4]))
    assert echo["source"] == "proposal" and echo["reply"] and echo["message"] == 2


# -- the echo rule (issue 23): one function, stated thresholds ------------------------------------

QUICK_TWEETS_REQUEST = ("Dataset: Short English tweets (one or two sentences, informal, with hashtags and mentions) "
                        "about technology topics such as self-driving cars. Task: binary sentiment classification. "
                        "Each tweet is labelled negative or positive.\nThe possible labels are: negative or positive.\n"
                        "Write one instruction sentence that describes the task and lists all the possible labels. "
                        "Reply with only that sentence.")
P0 = "Classify the sentiment of this tweet as negative or positive."


@pytest.mark.parametrize("proposal, source", [
    (P0, "prefix"),  # a repeat
    ("classify the sentiment of this tweet as negative or positive!", "prefix"),  # case and punctuation
    ("Classify the sentiment of each tweet as negative and positive.", "prefix"),  # function words only
    ("Classify the sentiment of this tweet", "prefix"),  # contained: a verbatim run of p0
    ("The possible labels are: negative and positive.", "request"),  # the quick run's tweets "proposal"
    ("Reply with only that sentence.", "request"),  # a sentence of our request
    ("Write one instruction sentence that describes the task.", "request"),  # part of a request line
])
def test_echoes(proposal, source):
    earlier = [Earlier(P0, "prefix", {"round": 0, "candidate": None}),
               Earlier(QUICK_TWEETS_REQUEST, "request", {"message": 1})]
    echo = find_echo(proposal, earlier)
    assert echo is not None and echo["source"] == source
    assert echo["similarity"] >= ECHO_SIMILARITY or echo["contained"] >= ECHO_CONTAINED


@pytest.mark.parametrize("proposal", [
    "Decide whether this tweet is negative or positive.",
    "Is this tweet negative or positive?",  # shares only "tweet ... negative or positive" with the description
    "Label: negative or positive.",
    "Classify the sentiment of this tweet as negative or positive, focusing on sarcasm.",  # adds content
    "Classify the mood of this tweet as negative or positive.",  # one content word replaced of five
])
def test_new_proposals(proposal):
    earlier = [Earlier(P0, "prefix", {"round": 0, "candidate": None}),
               Earlier(QUICK_TWEETS_REQUEST, "request", {"message": 1})]
    assert find_echo(proposal, earlier) is None


def test_a_proposal_made_only_of_earlier_sentences_is_an_echo():
    """SmolLM2 on sst2 (verdict run, 2026-12-03) revised "The possible labels are negative or
    positive. The task is to decide whether the text is negative or positive." to its second
    sentence written twice: no whole-text match, but every sentence repeats p0."""
    p0 = ("The possible labels are negative or positive. The task is to decide whether the text is "
          "negative or positive.")
    earlier = [Earlier(p0, "prefix", {"round": 0, "candidate": None})]
    twice = ("The task is to decide whether the text is negative or positive. The task is to decide whether the "
             "text is negative or positive.")
    echo = find_echo(twice, earlier)
    assert echo is not None and echo["every_sentence"] and echo["source"] == "prefix"
    one_new = "The task is to decide whether the text is negative or positive. Sarcasm usually means negative."
    assert find_echo(one_new, earlier) is None  # one sentence of its own: new


def test_a_long_request_line_does_not_contain_every_short_proposal():
    """Request messages are compared line by line and sentence by sentence, never whole, and
    containment needs a verbatim run: trec's description lists every label, so every valid trec
    proposal would otherwise be "contained" in it."""
    from gpta.data import get_dataset

    spec = get_dataset("trec")
    request = request_texts([{"role": "user", "content": f"Dataset: {spec.description}"}])
    proposal = "Classify the question as abbreviation, description, entity, human, location or number."
    assert find_echo(proposal, request) is None
    assert echo_score(proposal, spec.description)[1] < ECHO_CONTAINED


def test_fragments():
    assert is_fragment("Effect of the") and is_fragment('"The possible labels are') and is_fragment("Sort it by")
    assert not is_fragment("Is it negative or positive?") and not is_fragment("Classify the tweet as:")
    assert not is_fragment("Label: negative or positive") and not is_fragment("Effect of the.")
