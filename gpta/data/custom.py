"""Users' own classification data: ``csv:PATH``, ``tsv:PATH``, ``jsonl:PATH`` or a dataset card.

Options (``RunConfig.dataset_options``, from ``--text-col``, ``--label-col``, ``--description``,
``--encoding``): ``text_col`` (default ``text``), ``label_col`` (default ``label``),
``description`` (a file path or the text itself; what the LLM is shown, so no examples) and
``encoding`` (default utf-8).

A dataset card is a small YAML (``.yaml``/``.yml``) or TOML (``.toml``) file that registers a
dataset by name (``--dataset my-card.yaml`` or ``card:my-card.yaml``)::

    name: support-tickets            # the registered name (must not shadow a built-in)
    file: tickets.csv                # relative to the card; or splits: {pool: a.csv, dev: b.csv, test: c.csv}
    text_col: body                   # optional, as the options above; also label_col, encoding
    labels: [billing, bug, other]    # optional: the class order; default sorted (numerically if all ints)
    description: "Customer support emails ... Labels: billing, bug, other."
    manual_prefix: "Is this ticket about billing, a bug, or something else?"
    domain: support                  # optional
    dev_size: 200                    # optional, single-file only (defaults below)
    test_size: 400

Our protocol, recorded in each result: labels are read as strings, stripped, and mapped to
indices (sorted, or the card's order); the mapping is recorded (``Splits.extra["label_mapping"]``).
Rows with empty text are **skipped and counted** (``extra["skipped_empty_text"]``); a row with an
empty label is refused (a file with holes in its labels is more likely broken than unlabelled).
One file is split stratified with the fixed ``SPLIT_SEED``: test 20% (at most 2,000), dev 20% (at
most 1,000), the rest is the pool; every class needs >= 3 rows so the pool, dev and test can
each hold it. Everything is read and checked when the name is resolved, before a run writes
anything.
"""

from __future__ import annotations

import csv
import io
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpta.data.embedded import dedupe
from gpta.data.files import read_text
from gpta.data.sampling import SPLIT_SEED, stratified_split
from gpta.data.spec import REGISTRY, SCHEME_RESOLVERS, DatasetSpec, Example, Splits, register
from gpta.errors import UserError
from gpta.hashing import file_sha256

OPTION_KEYS = ("text_col", "label_col", "description", "encoding")
CARD_KEYS = {"name", "file", "splits", "format", "text_col", "label_col", "labels", "description",
             "manual_prefix", "domain", "encoding", "dev_size", "test_size"}
FORMATS = ("csv", "tsv", "jsonl")
DEV_SHARE, DEV_MAX = 0.2, 1000  # ours: single-file split sizes
TEST_SHARE, TEST_MAX = 0.2, 2000
MIN_PER_CLASS = 3  # one each for pool, dev and test


@dataclass
class Row:
    lineno: int
    text: str
    label: str


# -- reading rows ------------------------------------------------------------------------------


def read_rows(path: Path, fmt: str, text_col: str, label_col: str, encoding: str = "utf-8") -> list[Row]:
    """(line, text, label) per data row; missing columns, bad rows and bad bytes raise."""
    text = read_text(path, encoding)
    if fmt == "jsonl":
        return _jsonl_rows(path, text, text_col, label_col)
    return _delimited_rows(path, text, fmt, text_col, label_col)


def _delimited_rows(path: Path, text: str, fmt: str, text_col: str, label_col: str) -> list[Row]:
    # TSV files are rarely quoted, and a stray quote would swallow lines: read tabs literally.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ",",
                        quoting=csv.QUOTE_NONE if fmt == "tsv" else csv.QUOTE_MINIMAL, strict=True)
    start = 1  # the line where the record being read starts (an open quote spans lines)
    try:
        header = [h.strip() for h in next(reader)]
        if fmt == "csv" and len(header) == 1 and "\t" in header[0]:
            raise UserError(f"{path}: the header has tabs and no commas: the file is tab-separated; "
                            f"use tsv:{path}")
        for col, flag in ((text_col, "--text-col"), (label_col, "--label-col")):
            if col not in header:
                raise UserError(f"{path}: no column {col!r} (columns: {', '.join(header)}); pass {flag}")
        ti, li = header.index(text_col), header.index(label_col)
        rows = []
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            if not any(f.strip() for f in fields):
                continue  # a blank line is not a row
            if len(fields) != len(header):
                raise UserError(f"{path} line {reader.line_num}: {len(fields)} fields, the header has {len(header)}")
            rows.append(Row(start, fields[ti], fields[li]))
    except csv.Error as exc:
        msg = str(exc)
        if "field larger than field limit" in msg:
            raise UserError(
                f"{path} line {start}: a field longer than {csv.field_size_limit():,} characters starts in this "
                f"record: an unclosed quote (\") or a huge cell; close the quote, or shorten the cell (the model "
                f"reads only the first train.max_text_tokens tokens)") from None
        if "unexpected end of data" in msg or (reader.line_num > start and '"' in msg):
            raise UserError(f"{path} line {start}: a quote (\") opened in this record is never closed; "
                            f"close it or escape it as \"\"") from None
        raise UserError(f"{path} line {reader.line_num}: cannot parse as {fmt} ({exc})") from None
    return rows


def _jsonl_rows(path: Path, text: str, text_col: str, label_col: str) -> list[Row]:
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path} line {lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise UserError(f"{path} line {lineno}: expected a JSON object, got {type(obj).__name__}")
        for col, flag in ((text_col, "--text-col"), (label_col, "--label-col")):
            if col not in obj:
                raise UserError(f"{path} line {lineno}: no key {col!r} (keys: {', '.join(obj)}); pass {flag}")
        label = _json_label(obj[label_col])
        rows.append(Row(lineno, "" if obj[text_col] is None else str(obj[text_col]), label))
    return rows


def _json_label(value: Any) -> str:
    """1, "1" and 1.0 are one label; null and NaN are missing ("")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


MISSING_LABELS = {"", "nan", "null"}  # what pandas and JSON write for "no label"; never a class


# -- rows -> examples -> splits -------------------------------------------------------------


def label_order(values: set[str]) -> list[str]:
    """Sorted label strings; numerically when every label is an integer ("2" before "10")."""
    try:
        return sorted(values, key=int)
    except ValueError:
        return sorted(values)


def to_examples(rows: list[Row], path: Path, label_col: str, labels: list[str] | None
                ) -> tuple[list[Example], list[str], int]:
    """Examples, label names, and the number of rows skipped for empty text."""
    kept = [r for r in rows if r.text.strip()]
    skipped = len(rows) - len(kept)
    if not kept:
        raise UserError(f"{path}: no rows with text" + (f" ({skipped} rows had empty text)" if skipped else ""))
    for r in kept:
        if r.label.strip().lower() in MISSING_LABELS:
            what = f"missing label ({r.label.strip()!r})" if r.label.strip() else "empty label"
            raise UserError(f"{path} line {r.lineno}: {what} in column {label_col!r}; fill it in or drop the row")
    found = {r.label.strip() for r in kept}
    if labels is None:
        labels = label_order(found)
    else:
        unknown = sorted(found - set(labels))
        if unknown:
            raise UserError(f"{path}: label {unknown[0]!r} is not in the card's labels ({', '.join(labels)})")
    index = {name: i for i, name in enumerate(labels)}
    return [Example(text=r.text.strip(), label=index[r.label.strip()]) for r in kept], labels, skipped


def check_classes(examples: list[Example], labels: list[str], where: str, label_col: str, minimum: int) -> None:
    counts = [0] * len(labels)
    for e in examples:
        counts[e.label] += 1
    present = [n for n, c in zip(labels, counts) if c]
    if len(present) < 2:
        only = f" ({present[0]!r})" if present else ""
        raise UserError(f"{where}: label column {label_col!r} has only one class{only}; need at least two")
    few = [(n, c) for n, c in zip(labels, counts) if c < minimum]
    if few:
        name, c = few[0]
        why = "one each for the pool, dev and test" if minimum == MIN_PER_CLASS else "every class must be trainable"
        raise UserError(f"{where}: class {name!r} has {c} row(s); need at least {minimum} ({why})")


def split_one_file(examples: list[Example], dev_size: int | None, test_size: int | None,
                   where: str) -> tuple[list[Example], list[Example], list[Example]]:
    n = len(examples)
    n_test = test_size if test_size is not None else min(TEST_MAX, round(TEST_SHARE * n))
    n_dev = dev_size if dev_size is not None else min(DEV_MAX, round(DEV_SHARE * n))
    if n_test < 1 or n_dev < 1 or n - n_test - n_dev < 1:
        raise UserError(f"{where}: {n} usable rows cannot make a test split of {n_test}, a dev split of "
                        f"{n_dev} and a non-empty pool")
    test, rest = stratified_split(examples, n_test, SPLIT_SEED, f"{where}: test split")
    dev, pool = stratified_split(rest, n_dev, SPLIT_SEED + 1, f"{where}: dev split")
    return pool, dev, test


# -- building specs ----------------------------------------------------------------------------


def describe_or_read(value: str | None, labels: list[str], source: str) -> str:
    """``--description FILE_OR_TEXT``: a file's text if it names a file, else the text itself."""
    if value:
        path = Path(value).expanduser()
        try:
            is_file = path.is_file()
        except OSError:  # a long description is not a valid path
            is_file = False
        return read_text(path).strip() if is_file else value.strip()
    return (f"Texts from the user's file {source}. Task: classify each text into one of "
            f"{len(labels)} classes: {', '.join(labels)}.")


def default_prefix(labels: list[str]) -> str:
    names = ", ".join(labels[:-1]) + f" or {labels[-1]}"
    return f"Is this text {names}?"


def _fixed(splits: Splits):
    def load(data_dir: str | None = None) -> Splits:
        return splits
    return load


def build_spec(*, name: str, fmt: str, files: dict[str, Path], text_col: str, label_col: str,
               encoding: str, labels: list[str] | None = None, description: str | None = None,
               manual_prefix: str | None = None, domain: str = "custom", dev_size: int | None = None,
               test_size: int | None = None) -> DatasetSpec:
    """Read and check every file now, so a bad file stops the run before anything is written."""
    if fmt not in FORMATS:
        raise UserError(f"dataset {name!r}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    if text_col == label_col:
        raise UserError(f"dataset {name!r}: the text column and the label column are both {text_col!r} "
                        f"(the model would read its answer); pass --text-col and --label-col")
    rows = {split: read_rows(path, fmt, text_col, label_col, encoding) for split, path in files.items()}
    for split, path in files.items():
        if not rows[split]:
            what = "the file" if split == "all" else f"split {split}"
            raise UserError(f"{path}: {what} has no data rows")
    found = {r.label.strip() for rs in rows.values() for r in rs
             if r.text.strip() and r.label.strip().lower() not in MISSING_LABELS}
    if labels is None:
        labels = label_order(found)
    extra: dict[str, Any] = {"files": {k: str(p.resolve()) for k, p in files.items()},
                             "sha256": {k: file_sha256(p) for k, p in files.items()},
                             "text_col": text_col, "label_col": label_col, "encoding": encoding}
    skipped = 0
    if set(files) == {"all"}:
        path = files["all"]
        examples, labels, skipped = to_examples(rows["all"], path, label_col, labels)
        examples, duplicates = dedupe(examples)
        check_classes(examples, labels, str(path), label_col, MIN_PER_CLASS)
        pool, dev, test = split_one_file(examples, dev_size, test_size, str(path))
        source = str(path.resolve())
        protocol = (f"user file ({fmt}); labels read as strings and mapped {dict(zip(labels, range(len(labels))))}; "
                    f"rows with empty text skipped ({skipped}); exact duplicate texts kept once and texts "
                    f"seen with two labels dropped ({duplicates} rows) before splitting; stratified test {len(test)}, dev {len(dev)}, "
                    f"rest pool (split seed {SPLIT_SEED})")
    else:
        parts = {}
        duplicates = 0
        for split in ("pool", "dev", "test"):  # the user's splits are kept; duplicates within one are dropped
            parts[split], _, n = to_examples(rows[split], files[split], label_col, labels)
            skipped += n
            parts[split], d = dedupe(parts[split])
            duplicates += d
        test_texts = {e.text for e in parts["test"]}
        extra["pool_texts_also_in_test"] = sum(e.text in test_texts for e in parts["pool"])  # reported, kept
        check_classes(parts["pool"], labels, f"{files['pool']} (pool)", label_col, 1)
        pool, dev, test = parts["pool"], parts["dev"], parts["test"]
        source = ", ".join(f"{k}={p.resolve()}" for k, p in files.items())
        protocol = (f"user files ({fmt}), one per split; labels read as strings and mapped "
                    f"{dict(zip(labels, range(len(labels))))}; rows with empty text skipped ({skipped}); "
                    f"duplicate texts within a split dropped ({duplicates} rows)")
    extra.update(label_mapping={n: i for i, n in enumerate(labels)}, skipped_empty_text=skipped,
                 duplicate_texts_dropped=duplicates)
    splits = Splits(pool, dev, test, source=source, protocol=protocol, extra=extra,
                    files_read={str(p.resolve()): extra["sha256"][k] for k, p in files.items()})
    return DatasetSpec(
        name=name, task="classification", domain=domain, label_names=labels,
        description=describe_or_read(description, labels, Path(next(iter(files.values()))).name),
        manual_prefix=manual_prefix or default_prefix(labels), load=_fixed(splits), source_hint=source,
    )


def _check_options(name: str, options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise UserError(f"dataset {name!r}: unknown option {unknown[0]!r}; known: {', '.join(OPTION_KEYS)}")


def resolve_file(name: str, **options: Any) -> DatasetSpec:
    """``csv:PATH`` / ``tsv:PATH`` / ``jsonl:PATH`` -> a DatasetSpec (not registered)."""
    _check_options(name, options)
    fmt, _, raw_path = name.partition(":")
    if not raw_path:
        raise UserError(f"--dataset {name!r}: expected {fmt}:PATH")
    return build_spec(
        name=name, fmt=fmt, files={"all": Path(raw_path).expanduser()},
        text_col=options.get("text_col") or "text", label_col=options.get("label_col") or "label",
        encoding=options.get("encoding") or "utf-8", description=options.get("description"),
    )


def read_card(path: Path) -> dict[str, Any]:
    text = read_text(path)
    try:
        if path.suffix == ".toml":
            card = tomllib.loads(text)
        else:
            import yaml

            card = yaml.safe_load(text)
    except Exception as exc:  # noqa: BLE001 - yaml and toml raise their own error types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"{path}: not a valid dataset card ({first})") from None
    if not isinstance(card, dict):
        raise UserError(f"{path}: a dataset card must be a mapping of keys (name, file, ...)")
    unknown = sorted(set(card) - CARD_KEYS)
    if unknown:
        raise UserError(f"{path}: unknown key {unknown[0]!r}; known: {', '.join(sorted(CARD_KEYS))}")
    return card


def resolve_card(name: str, **options: Any) -> DatasetSpec:
    """A YAML/TOML dataset card: build its spec, register it under its name, return it."""
    _check_options(name, options)
    path = Path(name.removeprefix("card:")).expanduser()
    card = read_card(path)
    if not card.get("name"):
        raise UserError(f"{path}: the card needs a 'name'")
    ds_name = str(card["name"])
    existing = REGISTRY.get(ds_name)
    if existing is not None and existing.source_hint != f"card {path.resolve()}":
        taken_by = existing.source_hint if existing.source_hint.startswith("card ") else "a built-in dataset"
        raise UserError(f"{path}: name {ds_name!r} is already taken by {taken_by}; choose another name")
    base = path.parent
    if ("file" in card) == ("splits" in card):
        raise UserError(f"{path}: give either 'file' (one file, split by us) or 'splits' (pool, dev, test)")
    if "file" in card:
        files = {"all": base / str(card["file"])}
    else:
        splits = card["splits"]
        if not isinstance(splits, dict) or set(splits) != {"pool", "dev", "test"}:
            raise UserError(f"{path}: 'splits' must map pool, dev and test to files")
        files = {k: base / str(splits[k]) for k in ("pool", "dev", "test")}
    first = next(iter(files.values()))
    fmt = str(card.get("format") or first.suffix.lstrip(".").lower())
    labels = card.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or len(set(map(str, labels))) != len(labels):
            raise UserError(f"{path}: 'labels' must be a list of distinct names")
        labels = [str(x) for x in labels]
    sizes = {}
    for key in ("dev_size", "test_size"):
        if key in card:
            if not isinstance(card[key], int) or isinstance(card[key], bool):
                raise UserError(f"{path}: {key} must be an integer, got {card[key]!r}")
            sizes[key] = card[key]
    description = options.get("description") or card.get("description")
    if description and "description" in card and not options.get("description"):
        description = _relative_description(base, str(description))
    spec = build_spec(
        name=ds_name, fmt=fmt, files=files,
        text_col=options.get("text_col") or card.get("text_col") or "text",
        label_col=options.get("label_col") or card.get("label_col") or "label",
        encoding=options.get("encoding") or card.get("encoding") or "utf-8",
        labels=labels, description=description, manual_prefix=card.get("manual_prefix"),
        domain=str(card.get("domain") or "custom"), **sizes,
    )
    spec.source_hint = f"card {path.resolve()}"
    return register(spec)


def _relative_description(base: Path, value: str) -> str:
    """A card's description may name a file next to the card."""
    candidate = base / value
    try:
        return str(candidate) if len(value) < 300 and candidate.is_file() else value
    except OSError:
        return value


for _scheme in FORMATS:
    SCHEME_RESOLVERS[_scheme] = resolve_file
SCHEME_RESOLVERS["card"] = resolve_card
