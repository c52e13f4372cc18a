"""The suite's six benchmarks in three domains: sst2, twitter, yelp (sentiment), ag_news (topic),
trec (question type) and squad (reading comprehension, extractive QA).

Source order: the local copy under ``--data-dir`` / ``GPTA_DATA_DIR`` (the files described in
shared/data/MANIFEST.md, read in their original formats), then the Hugging Face Hub through
``datasets.load_dataset`` (for users online; not reachable on the offline reference machine).

A name never silently means different data. Where the local copy lacks an official split, the
split is derived deterministically with the fixed ``SPLIT_SEED`` (never from the fraction or the
training seed), and the Hub loader applies the *same* protocol to the *same* source rows (e.g.
only the AG News test split, only the SQuAD dev set), so both sources give the same splits. A
dataset with no Hub copy (yelp) refuses with a message naming ``GPTA_DATA_DIR``. Each protocol
below is recorded in every result (``Splits.protocol``).

Rows with empty text are skipped and counted (``Splits.extra["skipped_empty_text"]``); none of
the six has any, so the count documents that. A malformed row (bad label) is refused with the
file and line.

Exact duplicates across splits (up to case and whitespace) are removed after splitting: from
the pool when the text is in dev or test, from dev when it is in test; the counts are recorded
(``Splits.extra["cross_split_duplicates"]``) and shown by ``gpta list datasets``.

Dev sets are >= 500 where the data allows (the GPTA feedback needs a dev set that can measure a
change); yelp has 1,000 sentences in all, so its dev set is 200.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

from gpta.data.files import data_root, read_text
from gpta.data.manifest import FOLDERS, files_of, verify_files
from gpta.data.sampling import SPLIT_SEED, drop_cross_split_duplicates, fixed_splits, stratified_split
from gpta.data.spec import DatasetSpec, Example, Splits, register
from gpta.errors import UserError
from gpta.hashing import file_sha256

# -- source resolution ----------------------------------------------------------------------


def _load(name: str, local: Callable[[Path], Splits], hub: Callable[[], Splits] | None,
          data_dir: str | None) -> Splits:
    """Local copy if ``<data dir>/<FOLDERS[name]>`` exists, else the Hub, else a clear UserError.

    The local files' sha256 (gpta/data/manifest.py) go into ``Splits.extra["sha256"]``, so a
    reader can check them against the manifest.
    """
    subdir = FOLDERS[name]
    root = data_root(data_dir)
    if root is not None and (root / subdir).is_dir():
        verify_files(name, root)  # the manifest's sizes and sha256, before a byte is parsed
        folder = (root / subdir).resolve()
        splits = drop_cross_split_duplicates(local(folder))
        splits.extra["sha256"] = {f.file: file_sha256(folder / f.file) for f in files_of(name)}
        splits.files_read = {str(folder / f.file): f.sha256 for f in files_of(name)}
        return splits
    where = f"{root / subdir} does not exist" if root is not None else "GPTA_DATA_DIR is not set"
    if hub is None:
        raise UserError(
            f"dataset {name!r} is local only (no Hub copy follows its protocol) and {where}: "
            f"set GPTA_DATA_DIR or --data-dir to the folder holding {subdir}/ (see shared/data/MANIFEST.md)"
        )
    try:
        from gpta.data.hub import describe, resolved_sources

        with resolved_sources() as sources:
            splits = drop_cross_split_duplicates(hub())
        splits.source = f"{splits.source} [{describe(sources)}]" if sources else splits.source
        return splits
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - any Hub failure (offline, missing, renamed) is the user's to fix
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(
            f"dataset {name!r}: no local copy ({where}) and the Hub failed ({first}); "
            f"set GPTA_DATA_DIR or --data-dir to the folder holding {subdir}/"
        ) from None


def _hub(hub_id: str, config: str | None = None) -> Any:
    from gpta.data.hub import load_hub  # at the pinned revision; the resolved commit is recorded

    return load_hub(hub_id, config)


def _lines(path: Path, encoding: str = "utf-8") -> list[str]:
    return read_text(path, encoding).splitlines()


def _bad_line(path: Path, lineno: int, why: str) -> UserError:
    return UserError(f"{path} line {lineno}: {why}")


def _keep_nonempty(examples: list[Example]) -> tuple[list[Example], int]:
    kept = [e for e in examples if e.text.strip()]
    return kept, len(examples) - len(kept)


# -- sst2 -----------------------------------------------------------------------------------

SST2_LABELS = ["negative", "positive"]
SST2_PROTOCOL = (
    "SST-2 sentence level (stsa.binary, as in LM-BFF): official train (6,920) = pool, "
    "official dev (872) = dev, official test (1,821, labelled) = test; no derived split"
)


def _sst2_local(d: Path) -> Splits:
    def read(split: str) -> list[Example]:
        path = d / "stsa_binary" / f"stsa.binary.{split}"
        out = []
        for i, line in enumerate(_lines(path), 1):
            label, _, text = line.partition(" ")
            if label not in ("0", "1"):
                raise _bad_line(path, i, f"label {label!r} is not 0 or 1")
            out.append(Example(text=text.strip(), label=int(label)))
        return out

    return _sst2_splits(read("train"), read("dev"), read("test"), source=f"{d}/stsa_binary/stsa.binary.*")


def _sst2_hub() -> Splits:
    ds = _hub("SetFit/sst2")
    split = {k: [Example(text=r["text"].strip(), label=int(r["label"])) for r in ds[k]]
             for k in ("train", "validation", "test")}
    return _sst2_splits(split["train"], split["validation"], split["test"], source="hf:SetFit/sst2")


def _sst2_splits(train: list[Example], dev: list[Example], test: list[Example], source: str) -> Splits:
    skipped = 0
    parts = []
    for part in (train, dev, test):
        kept, n = _keep_nonempty(part)
        parts.append(kept)
        skipped += n
    return Splits(*parts, source=source, protocol=SST2_PROTOCOL, extra={"skipped_empty_text": skipped})


def load_sst2(data_dir: str | None = None) -> Splits:
    return _load("sst2", _sst2_local, _sst2_hub, data_dir)


# -- twitter (TweetEval sentiment, binary) ---------------------------------------------------

TWITTER_LABELS = ["negative", "positive"]
_TWEETEVAL_TO_BINARY = {0: 0, 2: 1}  # TweetEval: 0 negative, 1 neutral (dropped), 2 positive
TWITTER_PROTOCOL = (
    "TweetEval sentiment (SemEval-2017 4A), binary: neutral tweets dropped, negative=0 positive=1. "
    "The official train text is absent from the local copy, so official validation (1,131 neg/pos) "
    "and test (6,347 neg/pos) are merged in that order and split stratified: test 2,000, dev 1,000, "
    f"rest pool (split seed {SPLIT_SEED}); the Hub loader uses the same two splits the same way"
)


def _twitter_local(d: Path) -> Splits:
    merged: list[Example] = []
    for split in ("val", "test"):
        text_path, label_path = d / f"{split}_text.txt", d / f"{split}_labels.txt"
        texts, labels = _lines(text_path), _lines(label_path)
        if len(texts) != len(labels):
            raise UserError(f"{text_path} has {len(texts)} lines but {label_path} has {len(labels)}")
        for i, (text, label) in enumerate(zip(texts, labels), 1):
            if label.strip() not in ("0", "1", "2"):
                raise _bad_line(label_path, i, f"label {label.strip()!r} is not 0, 1 or 2")
            merged.append(Example(text=text.strip(), label=int(label)))
    return _twitter_splits(merged, source=f"{d}/{{val,test}}_{{text,labels}}.txt")


def _twitter_hub() -> Splits:
    ds = _hub("cardiffnlp/tweet_eval", "sentiment")
    merged = [Example(text=r["text"].strip(), label=int(r["label"])) for k in ("validation", "test") for r in ds[k]]
    return _twitter_splits(merged, source="hf:cardiffnlp/tweet_eval sentiment (validation+test)")


def _twitter_splits(merged: list[Example], source: str) -> Splits:
    binary = [Example(text=e.text, label=_TWEETEVAL_TO_BINARY[e.label]) for e in merged if e.label in _TWEETEVAL_TO_BINARY]
    kept, skipped = _keep_nonempty(binary)
    pool, dev, test = fixed_splits(kept, n_dev=1000, n_test=2000)
    return Splits(pool, dev, test, source=source, protocol=TWITTER_PROTOCOL,
                  extra={"skipped_empty_text": skipped, "dropped_neutral": len(merged) - len(binary),
                         "official_train_text": "absent locally; not used"})


def load_twitter(data_dir: str | None = None) -> Splits:
    return _load("twitter", _twitter_local, _twitter_hub, data_dir)


# -- yelp (UCI Sentiment Labelled Sentences) -------------------------------------------------

YELP_LABELS = ["negative", "positive"]
YELP_PROTOCOL = (
    "UCI Sentiment Labelled Sentences, Yelp part (1,000 sentences, 500/500; not Yelp Polarity); "
    f"stratified test 300, dev 200, rest pool 500 (split seed {SPLIT_SEED}); the dev set is below "
    "our usual 500 because the whole file has 1,000 sentences. Local only: no Hub copy"
)


def _yelp_local(d: Path) -> Splits:
    path = d / "yelp_labelled.txt"
    examples = []
    for i, line in enumerate(_lines(path), 1):
        text, tab, label = line.rpartition("\t")
        if not tab or label.strip() not in ("0", "1"):
            raise _bad_line(path, i, "expected 'sentence<TAB>0|1'")
        examples.append(Example(text=text.strip(), label=int(label)))
    kept, skipped = _keep_nonempty(examples)
    pool, dev, test = fixed_splits(kept, n_dev=200, n_test=300)
    return Splits(pool, dev, test, source=str(path), protocol=YELP_PROTOCOL, extra={"skipped_empty_text": skipped})


def load_yelp(data_dir: str | None = None) -> Splits:
    return _load("yelp", _yelp_local, None, data_dir)


# -- ag_news -------------------------------------------------------------------------------

AG_LABELS = ["world", "sports", "business", "science and technology"]  # classes.txt order
AG_PROTOCOL = (
    "AG News official test split only (7,600, 1,900 per class; the train split is absent locally): "
    "text = title + ' ' + description (as the Hub copy joins them), with the corpus' escapes undone "
    "('\\\\' -> space; ' #39;', ' quot;' and other entities whose '&' became a space, and HTML entities, decoded); stratified test 2,000, dev 1,000, rest pool 4,600 "
    f"(split seed {SPLIT_SEED}); the Hub loader uses only the Hub test split, the same way"
)
# The corpus lost the '&' of many entities to a space: "doesn #39;t", "the  #36;10", " quot;".
_LOST_AMPERSAND = re.compile(r" (#\d{2,4}|quot|amp|lt|gt);")


def clean_ag_text(text: str) -> str:
    """Undo AG News' escapes: backslash line breaks and entities (with or without their '&')."""
    text = text.replace("\\", " ")
    text = html.unescape(_LOST_AMPERSAND.sub(r"&\1;", text))
    return " ".join(text.split())


def _ag_local(d: Path) -> Splits:
    path = d / "test.csv"
    examples = []
    for i, row in enumerate(csv.reader(io.StringIO(read_text(path))), 1):
        if len(row) != 3 or row[0] not in ("1", "2", "3", "4"):
            raise _bad_line(path, i, 'expected "class 1-4","title","description"')
        examples.append(Example(text=clean_ag_text(f"{row[1]} {row[2]}"), label=int(row[0]) - 1))
    return _ag_splits(examples, source=str(path))


def _ag_hub() -> Splits:
    ds = _hub("fancyzhx/ag_news")
    examples = [Example(text=clean_ag_text(r["text"]), label=int(r["label"])) for r in ds["test"]]
    return _ag_splits(examples, source="hf:fancyzhx/ag_news (test split only)")


def _ag_splits(examples: list[Example], source: str) -> Splits:
    kept, skipped = _keep_nonempty(examples)
    pool, dev, test = fixed_splits(kept, n_dev=1000, n_test=2000)
    return Splits(pool, dev, test, source=source, protocol=AG_PROTOCOL, extra={"skipped_empty_text": skipped})


def load_ag_news(data_dir: str | None = None) -> Splits:
    return _load("ag_news", _ag_local, _ag_hub, data_dir)


# -- trec ----------------------------------------------------------------------------------

TREC_CODES = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
TREC_LABELS = ["abbreviation", "description", "entity", "human", "location", "number"]
TREC_PROTOCOL = (
    "TREC question classification, 6 coarse classes (fine labels ignored): TREC.train (5,452) "
    f"minus a stratified dev of 500 (split seed {SPLIT_SEED}) = pool, TREC.test (500, TREC-10) = test. "
    "TREC.train is read as ISO-8859-1"
)


def _trec_read(path: Path, encoding: str) -> list[Example]:
    out = []
    for i, line in enumerate(_lines(path, encoding), 1):
        label, _, question = line.partition(" ")
        coarse = label.partition(":")[0]
        if coarse not in TREC_CODES:
            raise _bad_line(path, i, f"label {label!r} is not COARSE:fine with COARSE in {', '.join(TREC_CODES)}")
        out.append(Example(text=question.strip(), label=TREC_CODES.index(coarse)))
    return out


def _trec_local(d: Path) -> Splits:
    # Both files are read as ISO-8859-1: TREC.train has a few Latin-1 bytes, TREC.test is ASCII.
    train = _trec_read(d / "TREC.train", "iso-8859-1")
    test = _trec_read(d / "TREC.test", "iso-8859-1")
    return _trec_splits(train, test, source=f"{d}/TREC.{{train,test}}")


def _trec_hub() -> Splits:
    ds = _hub("CogComp/trec")
    names = ds["train"].features["coarse_label"].names  # ABBR, ENTY, DESC, HUM, LOC, NUM on the Hub
    def rows(split: str) -> list[Example]:
        return [Example(text=r["text"].strip(), label=TREC_CODES.index(names[r["coarse_label"]])) for r in ds[split]]
    return _trec_splits(rows("train"), rows("test"), source="hf:CogComp/trec")


def _trec_splits(train: list[Example], test: list[Example], source: str) -> Splits:
    train, skipped_train = _keep_nonempty(train)
    test, skipped_test = _keep_nonempty(test)
    dev, pool = stratified_split(train, 500, SPLIT_SEED, "trec dev split")
    return Splits(pool, dev, test, source=source, protocol=TREC_PROTOCOL,
                  extra={"skipped_empty_text": skipped_train + skipped_test})


def load_trec(data_dir: str | None = None) -> Splits:
    return _load("trec", _trec_local, _trec_hub, data_dir)


# -- squad (extractive QA) -----------------------------------------------------------------

SQUAD_DEV_QUESTIONS = 500  # caps keep a run affordable on 2 CPU cores (ours)
SQUAD_TEST_QUESTIONS = 1000
SQUAD_PROTOCOL = (
    "SQuAD v1.1 dev set only (48 articles, 10,570 questions; train is absent locally). Split BY "
    f"ARTICLE so no paragraph is shared: the articles are shuffled (split seed {SPLIT_SEED}); the "
    f"first articles holding >= {SQUAD_TEST_QUESTIONS} questions are the test articles, the next holding "
    f">= {SQUAD_DEV_QUESTIONS} the dev articles, the rest the pool. Test and dev are then capped to "
    f"{SQUAD_TEST_QUESTIONS} and {SQUAD_DEV_QUESTIONS} questions (seeded sample within their articles; "
    "the unused questions are dropped, never moved to the pool). The Hub loader uses only the Hub "
    "validation split, grouped by title, the same way"
)


def _squad_articles_from_json(data: dict[str, Any]) -> list[tuple[str, list[Example]]]:
    articles = []
    for article in data["data"]:
        examples = [
            Example(text=qa["question"].strip(), context=para["context"], id=qa["id"],
                    answers=[{"text": a["text"], "answer_start": int(a["answer_start"])} for a in qa["answers"]])
            for para in article["paragraphs"] for qa in para["qas"]
        ]
        articles.append((article["title"], examples))
    return articles


def _squad_local(d: Path) -> Splits:
    path = d / "dev-v1.1.json"
    try:
        data = json.loads(read_text(path))
        articles = _squad_articles_from_json(data)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (KeyError, TypeError) as exc:
        raise UserError(f"{path}: not in SQuAD v1.1 format (missing {exc})") from None
    return _squad_splits(articles, source=str(path))


def _squad_hub() -> Splits:
    ds = _hub("rajpurkar/squad")
    by_title: dict[str, list[Example]] = {}
    for r in ds["validation"]:  # rows are in file order: grouping by title keeps the article order
        answers = [{"text": t, "answer_start": int(s)} for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])]
        by_title.setdefault(r["title"], []).append(
            Example(text=r["question"].strip(), context=r["context"], id=r["id"], answers=answers))
    return _squad_splits(list(by_title.items()), source="hf:rajpurkar/squad (validation split only)")


def _squad_splits(articles: list[tuple[str, list[Example]]], source: str) -> Splits:
    rng = np.random.default_rng(SPLIT_SEED)
    order = rng.permutation(len(articles)).tolist()
    groups: dict[str, list[int]] = {"test": [], "dev": [], "pool": []}
    counts = {"test": 0, "dev": 0}
    for i in order:
        n = len(articles[i][1])
        if counts["test"] < SQUAD_TEST_QUESTIONS:
            target = "test"
        elif counts["dev"] < SQUAD_DEV_QUESTIONS:
            target = "dev"
        else:
            target = "pool"
        groups[target].append(i)
        if target in counts:
            counts[target] += n
    if not groups["pool"]:
        raise UserError(f"{source}: too few articles to split into pool, dev and test")

    def questions(idx: list[int], cap: int | None, seed: int) -> list[Example]:
        qs = [q for i in sorted(idx) for q in articles[i][1]]
        if cap is None or len(qs) <= cap:
            return qs
        keep = sorted(np.random.default_rng(seed).permutation(len(qs))[:cap].tolist())
        return [qs[k] for k in keep]

    test = questions(groups["test"], SQUAD_TEST_QUESTIONS, SPLIT_SEED + 1)
    dev = questions(groups["dev"], SQUAD_DEV_QUESTIONS, SPLIT_SEED + 2)
    pool = questions(groups["pool"], None, 0)
    empty = [q.id for q in pool + dev + test if not q.text or not q.answers]
    if empty:
        raise UserError(f"{source}: question {empty[0]} has no text or no answer ({len(empty)} such)")
    extra = {
        "articles": {k: sorted(articles[i][0] for i in v) for k, v in groups.items()},
        "n_articles": {k: len(v) for k, v in groups.items()},
        "questions_dropped_by_caps": sum(counts.values()) - len(test) - len(dev),
    }  # the QA windowing settings are the task's: QATask.settings() records them
    return Splits(pool, dev, test, source=source, protocol=SQUAD_PROTOCOL, extra=extra)


def load_squad(data_dir: str | None = None) -> Splits:
    return _load("squad", _squad_local, _squad_hub, data_dir)


# -- the registry entries: descriptions for the LLM (no examples) and manual prefixes ---------

register(DatasetSpec(
    name="sst2", task="classification", domain="sentiment", label_names=SST2_LABELS,
    description=(
        "Single sentences from English movie reviews (Rotten Tomatoes snippets), lower-cased and "
        "tokenised with spaces around punctuation. Task: binary sentiment classification of the "
        "reviewer's opinion. Labels: negative, positive."
    ),
    manual_prefix="Does this movie review sentence express a negative or a positive opinion?",
    load=load_sst2, hub_id="SetFit/sst2", needs_data_dir=True,
    source_hint="GPTA_DATA_DIR/sst2/stsa_binary (stsa.binary 6,920/872/1,821) or hf:SetFit/sst2",
))

register(DatasetSpec(
    name="twitter", task="classification", domain="sentiment", label_names=TWITTER_LABELS,
    description=(
        "English tweets on many topics (news, sports, celebrities, products), informal, with "
        "hashtags, emoticons and user mentions replaced by @user. Task: binary sentiment "
        "classification of the author's attitude (neutral tweets removed). Labels: negative, positive."
    ),
    manual_prefix="Is the sentiment of this tweet negative or positive?",
    load=load_twitter, hub_id="cardiffnlp/tweet_eval:sentiment", needs_data_dir=True,
    source_hint="GPTA_DATA_DIR/tweeteval_sentiment (val+test, derived splits) or hf:cardiffnlp/tweet_eval sentiment",
))

register(DatasetSpec(
    name="yelp", task="classification", domain="sentiment", label_names=YELP_LABELS,
    description=(
        "Single sentences from English Yelp reviews of restaurants: short, informal statements "
        "about food, service, prices and atmosphere. Task: binary sentiment classification. "
        "Labels: negative, positive."
    ),
    manual_prefix="Is this restaurant review sentence negative or positive?",
    load=load_yelp, needs_data_dir=True,
    source_hint="GPTA_DATA_DIR/yelp/yelp_labelled.txt (UCI, 1,000 sentences; local only)",
))

register(DatasetSpec(
    name="ag_news", task="classification", domain="topic", label_names=AG_LABELS,
    description=(
        "English news articles from the AG corpus: a headline followed by the first sentence or "
        "two of the article, often with a news agency tag such as (Reuters) or (AP). Task: topic "
        "classification into four classes: world, sports, business, science and technology."
    ),
    manual_prefix="Is this news article about world, sports, business, or science and technology?",
    load=load_ag_news, hub_id="fancyzhx/ag_news", needs_data_dir=True,
    source_hint="GPTA_DATA_DIR/ag_news/test.csv (7,600, derived splits) or hf:fancyzhx/ag_news test",
))

register(DatasetSpec(
    name="trec", task="classification", domain="question type", label_names=TREC_LABELS,
    description=(
        "Short English factoid questions (one sentence, tokenised with spaces before punctuation). "
        "Task: classify the type of answer each question asks for, six classes: abbreviation "
        "(an abbreviation or its expansion), description (a definition, reason or manner), entity "
        "(a thing such as an animal, product or event), human (a person or group), location "
        "(a place), number (a count, date, amount or other quantity)."
    ),
    manual_prefix=(
        "Does this question ask for an abbreviation, a description, an entity, a human, "
        "a location or a number?"
    ),
    load=load_trec, hub_id="CogComp/trec", needs_data_dir=True,
    source_hint="GPTA_DATA_DIR/trec/TREC.{train,test} (5,452/500) or hf:CogComp/trec",
))

register(DatasetSpec(
    name="squad", task="qa", domain="reading comprehension", label_names=[],
    description=(
        "English Wikipedia paragraphs, each paired with a question written by a crowd worker. "
        "Task: extractive question answering: the model reads the question and the paragraph and "
        "marks the shortest span of the paragraph that answers the question (a name, date, "
        "number or short phrase). The input is the question followed by the paragraph."
    ),
    manual_prefix="Find the short span of the passage that answers this question.",
    load=load_squad, hub_id="rajpurkar/squad", needs_data_dir=True, text_fields=("question", "context"),
    source_hint="GPTA_DATA_DIR/squad_v1.1/dev-v1.1.json (by-article split) or hf:rajpurkar/squad validation",
))
