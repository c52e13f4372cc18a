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

Our protocol, recorded in each result. The same rules hold for CSV, TSV and JSONL (docs/DATA.md):

- **Missing values.** A text or label cell is missing when, stripped, it is empty or one of
  ``nan``, ``null`` (any case: what pandas and JSON write for "no value"); in JSONL also ``null``
  and NaN. A row with a missing text is **skipped and counted** (``extra["skipped_empty_text"]``);
  a row with a text and a missing label is refused with its line (a file with holes in its labels
  is more likely broken than unlabelled).
- **Duplicate headers.** A header (CSV/TSV) or object (JSONL) naming the text or the label column
  twice is refused: which one is meant is ambiguous. Other repeated names are not read.
- **Labels** are one value per row: a JSONL list or object as a label is refused (multi-label data
  is not supported), and so is a list or object as a text. A label that reads as a number with an
  integer value is that integer, whatever its spelling: ``1``, ``01``, ``1.0``, ``+1`` and JSON
  ``1`` / ``1.0`` / ``"1"`` are the class ``1``; other labels are their stripped text (``true`` for
  JSON true). Labels are mapped to indices (sorted, numerically when all are integers, or the
  card's order); the mapping is recorded (``Splits.extra["label_mapping"]``).
- **Duplicate texts.** Within one file (or one split's file), a text seen again with the same
  label is kept once; a text seen with two labels is dropped entirely. Both counts are recorded
  (``extra["duplicate_texts_dropped"]``, ``extra["conflicting_label_rows_dropped"]``) and named in
  any message they explain (a file left with one class says how many rows were dropped and why).

One file is split stratified with the fixed ``SPLIT_SEED``: test 20% (at most 2,000), dev 20% (at
most 1,000), the rest is the pool; every class needs >= 3 rows so the pool, dev and test can
each hold it. Everything is read and checked when the name is resolved, before a run writes
anything. ``--description`` is at most ``MAX_DESCRIPTION_CHARS`` characters (text or UTF-8 file).
"""

from __future__ import annotations

import csv
import decimal
import io
import json
import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpta.data.embedded import dedupe_counted
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
# The description is part of GPTA's first message: 4,000 characters (~1,000 tokens) leave room in
# the smallest embedded LLM's 4,096-token context for GPTA's prompts, the history and the reply.
MAX_DESCRIPTION_CHARS = 4000


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
                raise UserError(f"{path}: no column {col!r} (columns: {_names(header)}); pass {flag}")
            where = [i + 1 for i, h in enumerate(header) if h == col]
            if len(where) > 1:
                raise UserError(f"{path}: the header names column {col!r} {len(where)} times (columns "
                                f"{', '.join(map(str, where))}); rename all but one, or pass {flag}")
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
            rows.append(Row(start, _cell(fields[ti]), canonical_label(fields[li])))
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
            pairs = json.loads(line, object_pairs_hook=lambda kv: kv)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path} line {lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(pairs, list):
            raise UserError(f"{path} line {lineno}: expected a JSON object, got {type(pairs).__name__}")
        keys = [k for k, _ in pairs]
        obj = dict(pairs)
        for col, flag in ((text_col, "--text-col"), (label_col, "--label-col")):
            if col not in obj:
                raise UserError(f"{path} line {lineno}: no key {col!r} (keys: {_names(keys)}); pass {flag}")
            if keys.count(col) > 1:
                raise UserError(f"{path} line {lineno}: key {col!r} appears {keys.count(col)} times in the "
                                f"object; keep one, or pass {flag}")
        text = _json_value(obj[text_col], path, lineno, "text", text_col)
        label = _json_value(obj[label_col], path, lineno, "label", label_col)
        rows.append(Row(lineno, _cell(text), canonical_label(label)))
    return rows


def _json_value(value: Any, path: Path, lineno: int, what: str, key: str) -> str:
    """A JSON text or label as the string a CSV cell would hold (null and NaN: missing, "")."""
    if isinstance(value, (list, dict)):
        kind = "list" if isinstance(value, list) else "object"
        why = "one label per row (multi-label data is not supported)" if what == "label" else "a text is a string"
        raise UserError(f"{path} line {lineno}: {what} {key!r} is a JSON {kind} ({json.dumps(value)[:40]}); {why}")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


MISSING_VALUES = {"", "nan", "null"}  # stripped, lower-cased: what pandas and JSON write for "no value"


def _cell(text: str) -> str:
    """A text cell: "" when missing (MISSING_VALUES), else as written."""
    return "" if text.strip().lower() in MISSING_VALUES else text


def canonical_label(text: str) -> str:
    """The class a label cell names: "" when missing; an integer-valued number as that integer
    ("01", "1.0", "+1", "1e0" -> "1"); any other text stripped."""
    value = text.strip()
    if value.lower() in MISSING_VALUES:
        return ""
    if _NUMBER.fullmatch(value):
        number = decimal.Decimal(value)
        if number == number.to_integral_value():
            return str(int(number))
    return value


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _names(names: list[str]) -> str:
    """Column names for a message; invisible characters (a second BOM, a zero-width space) shown."""
    return ", ".join(repr(n) if not n.isprintable() or "\ufeff" in n else n for n in names)


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
        if not r.label:
            raise UserError(f"{path} line {r.lineno}: missing label (empty, nan or null) in column {label_col!r}; "
                            f"fill it in or drop the row")
    found = {r.label for r in kept}
    if labels is None:
        labels = label_order(found)
    else:
        unknown = sorted(found - set(labels))
        if unknown:
            raise UserError(f"{path}: label {unknown[0]!r} is not in the card's labels ({', '.join(labels)})")
    index = {name: i for i, name in enumerate(labels)}
    return [Example(text=r.text.strip(), label=index[r.label]) for r in kept], labels, skipped


def check_classes(examples: list[Example], labels: list[str], where: str, label_col: str, minimum: int,
                  conflicting: int = 0) -> None:
    """At least two classes and ``minimum`` rows per class; ``conflicting``: rows dropped before
    (texts seen with two labels), named when they explain the shortfall."""
    counts = [0] * len(labels)
    for e in examples:
        counts[e.label] += 1
    present = [n for n, c in zip(labels, counts) if c]
    dropped = (f" after dropping {conflicting} row(s) whose text also appears with another label"
               if conflicting else "")
    if len(present) < 2:
        only = f" ({present[0]!r})" if present else ""
        what = f"has only one class{only}" if present else "has no rows left"
        raise UserError(f"{where}: label column {label_col!r} {what}{dropped}; need at least two classes")
    few = [(n, c) for n, c in zip(labels, counts) if c < minimum]
    if few:
        name, c = few[0]
        why = "one each for the pool, dev and test" if minimum == MIN_PER_CLASS else "every class must be trainable"
        raise UserError(f"{where}: class {name!r} has {c} row(s){dropped}; need at least {minimum} ({why})")


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


DESCRIPTION_SUFFIXES = (".txt", ".md", ".text", ".json", ".yaml", ".yml")


def looks_like_path(text: str) -> bool:
    """One word that names a file: a known text extension (desc.txt), an explicit start (/, ./,
    ../, ~), or a folder part that exists (docs/about). ``positive/negative`` is text."""
    t = text.strip()
    if not t or any(c.isspace() for c in t) or len(t) > 255:
        return False
    if t.startswith(("/", "./", "../", "~", ".\\")) or Path(t).suffix.lower() in DESCRIPTION_SUFFIXES:
        return True
    parent = Path(t).parent
    try:
        return ("/" in t or "\\" in t) and str(parent) not in ("", ".") and parent.is_dir()
    except OSError:
        return False


def read_description(value: str) -> str:
    """``--description FILE_OR_TEXT`` (or a card's): the text, from the file when it names one.

    One line, naming what is wrong, for: a folder, a path-like value that is no file, a file that
    is not UTF-8 (``--encoding`` is for the data file, not for this), a text over
    ``MAX_DESCRIPTION_CHARS``."""
    try:
        path = Path(value.strip()).expanduser()
        is_dir, is_file = path.is_dir(), path.is_file()
    except (OSError, RuntimeError, ValueError):  # a long text, a ~user that does not exist, a NUL
        path, is_dir, is_file = Path(value.strip()), False, False
    if is_dir:
        raise UserError(f"--description {value}: is a folder; give the description text itself, or a text file")
    if is_file:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UserError(f"--description {path}: cannot be read ({exc.strerror or exc})") from None
        try:
            text = raw.decode("utf-8").lstrip("\ufeff").strip()
        except UnicodeDecodeError as exc:
            raise UserError(f"--description {path}: byte 0x{raw[exc.start]:02x} at offset {exc.start} is not UTF-8; "
                            f"save the description file as UTF-8 (--encoding applies to the data file only)") from None
        where = f"file {path}"
    elif looks_like_path(value):
        raise UserError(f"--description {value}: no such file (give the description text itself, or an existing file)")
    else:
        text, where = value.strip(), "text"
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise UserError(f"--description: the {where} has {len(text):,} characters; the limit is "
                        f"{MAX_DESCRIPTION_CHARS:,} (about 1,000 tokens: the LLM's context must also hold GPTA's "
                        f"prompts and its reply); describe the data and labels, without examples")
    return text


def describe_or_read(value: str | None, labels: list[str], source: str) -> str:
    """The description the LLM is shown: ``read_description(value)``, or one made from the labels."""
    if value:
        return read_description(value)
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
    found = {r.label for rs in rows.values() for r in rs if r.text.strip() and r.label}
    if labels is None:
        labels = label_order(found)
    extra: dict[str, Any] = {"files": {k: str(p.resolve()) for k, p in files.items()},
                             "sha256": {k: file_sha256(p) for k, p in files.items()},
                             "text_col": text_col, "label_col": label_col, "encoding": encoding}
    skipped = 0
    if set(files) == {"all"}:
        path = files["all"]
        examples, labels, skipped = to_examples(rows["all"], path, label_col, labels)
        examples, duplicates, conflicting = dedupe_counted(examples)
        check_classes(examples, labels, str(path), label_col, MIN_PER_CLASS, conflicting)
        pool, dev, test = split_one_file(examples, dev_size, test_size, str(path))
        source = str(path.resolve())
        protocol = (f"user file ({fmt}); labels read as strings and mapped {dict(zip(labels, range(len(labels))))}; "
                    f"rows with a missing text (empty, nan, null) skipped ({skipped}); integer-valued numeric labels read as "
                    f"integers; exact duplicate texts kept once ({duplicates} rows dropped) and texts seen with two labels "
                    f"dropped ({conflicting} rows) before splitting; stratified test {len(test)}, dev {len(dev)}, "
                    f"rest pool (split seed {SPLIT_SEED})")
    else:
        parts = {}
        duplicates = conflicting = 0
        for split in ("pool", "dev", "test"):  # the user's splits are kept; duplicates within one are dropped
            parts[split], _, n = to_examples(rows[split], files[split], label_col, labels)
            skipped += n
            parts[split], d, c = dedupe_counted(parts[split])
            duplicates += d
            conflicting += c
        test_texts = {e.text for e in parts["test"]}
        extra["pool_texts_also_in_test"] = sum(e.text in test_texts for e in parts["pool"])  # reported, kept
        check_classes(parts["pool"], labels, f"{files['pool']} (pool)", label_col, 1, conflicting)
        pool, dev, test = parts["pool"], parts["dev"], parts["test"]
        source = ", ".join(f"{k}={p.resolve()}" for k, p in files.items())
        protocol = (f"user files ({fmt}), one per split; labels read as strings and mapped "
                    f"{dict(zip(labels, range(len(labels))))}; rows with a missing text (empty, nan, null) skipped "
                    f"({skipped}); integer-valued numeric labels read as integers; duplicate texts within a split "
                    f"kept once ({duplicates} rows dropped), texts seen there with two labels dropped ({conflicting} rows)")
    extra.update(label_mapping={n: i for i, n in enumerate(labels)}, skipped_empty_text=skipped,
                 duplicate_texts_dropped=duplicates, conflicting_label_rows_dropped=conflicting)
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
        if not isinstance(labels, list) or any(isinstance(x, (list, dict)) or x is None for x in labels):
            raise UserError(f"{path}: 'labels' must be a list of names")
        labels = [canonical_label(json.dumps(x) if isinstance(x, bool) else str(x)) for x in labels]
        if len(set(labels)) != len(labels) or "" in labels:
            raise UserError(f"{path}: 'labels' must be distinct, non-missing names (read as {labels}; "
                            f"1, 01 and 1.0 are one label)")
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
