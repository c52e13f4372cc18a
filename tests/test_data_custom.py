"""Users' own data: csv:PATH, tsv:PATH, jsonl:PATH and dataset cards, on files written here."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from gpta.data import REGISTRY, get_dataset, load_splits
from gpta.data.sampling import SPLIT_SEED, sample_fraction

WORDS = ["great", "awful", "fine", "dull", "lovely", "broken", "superb", "bland"]


def make_rows(n: int, labels: list[str]) -> list[tuple[str, str]]:
    """Distinct short texts, labels cycling through ``labels``."""
    return [(f"review {i}: the product was {WORDS[i % len(WORDS)]}, said buyer {i}", labels[i % len(labels)])
            for i in range(n)]


def write_csv(path: Path, rows, header=("text", "label"), sep=",") -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=sep)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_csv_labels_are_strings_mapped_sorted_and_recorded(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", make_rows(60, ["pos", "neg", "mixed"]))
    spec = get_dataset(f"csv:{path}")
    assert spec.label_names == ["mixed", "neg", "pos"] and spec.task == "classification"
    splits = spec.load()
    assert splits.extra["label_mapping"] == {"mixed": 0, "neg": 1, "pos": 2}
    assert splits.sizes() == {"pool": 36, "dev": 12, "test": 12}  # 20% / 20% / rest
    assert Counter(e.label for e in splits.test) == {0: 4, 1: 4, 2: 4}
    assert str(SPLIT_SEED) in splits.protocol and "mapped" in splits.protocol
    assert splits.extra["sha256"]["all"] and splits.extra["skipped_empty_text"] == 0
    texts = {e.text for e in splits.pool} | {e.text for e in splits.dev} | {e.text for e in splits.test}
    assert len(texts) == 60
    # the same file always gives the same splits (fixed split seed, no fraction or seed involved)
    assert [e.text for e in get_dataset(f"csv:{path}").load().dev] == [e.text for e in splits.dev]
    assert "mixed, neg, pos" in spec.description and "mixed" in spec.manual_prefix


def test_integer_labels_sort_numerically(tmp_path):
    rows = make_rows(66, ["2", "10", "1"])
    spec = get_dataset(f"csv:{write_csv(tmp_path / 'n.csv', rows)}")
    assert spec.label_names == ["1", "2", "10"]


def test_tsv_with_custom_columns_quotes_and_description_file(tmp_path):
    rows = [(str(i), f'he said "wow {i}" and left', ["yes", "no"][i % 2]) for i in range(30)]
    path = tmp_path / "d.tsv"  # plain TSV: quotes are text, not quoting
    path.write_text("id\tsentence\tanswer\n" + "".join("\t".join(r) + "\n" for r in rows))
    desc = tmp_path / "desc.txt"
    desc.write_text("Short quotes from interviews. Labels: yes, no.\n")
    spec = get_dataset(f"tsv:{path}", text_col="sentence", label_col="answer", description=str(desc))
    assert spec.description == "Short quotes from interviews. Labels: yes, no."
    texts = [e.text for e in spec.load().pool]
    assert any(t.startswith('he said "wow') for t in texts)
    assert spec.load().extra["text_col"] == "sentence"


def test_jsonl_with_int_labels_and_inline_description(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps({"body": t, "y": i % 2}) for i, (t, _) in enumerate(make_rows(40, ["a"]))) + "\n\n")
    spec = get_dataset(f"jsonl:{path}", text_col="body", label_col="y", description="Product reviews.")
    assert spec.label_names == ["0", "1"] and spec.description == "Product reviews."
    assert len(spec.load().pool) == 24


def test_empty_text_rows_are_skipped_and_counted(tmp_path):
    rows = make_rows(30, ["pos", "neg"]) + [("", "pos"), ("   ", "neg")]
    splits = get_dataset(f"csv:{write_csv(tmp_path / 'e.csv', rows)}").load()
    assert splits.extra["skipped_empty_text"] == 2
    assert sum(splits.sizes().values()) == 30
    assert "skipped (2)" in splits.protocol


def test_encoding_option_reads_latin1(tmp_path):
    path = tmp_path / "l1.csv"
    rows = make_rows(20, ["pos", "neg"]) + [("très bon café", "pos")]
    write_csv(path, rows)
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    splits = get_dataset(f"csv:{path}", encoding="latin-1").load()
    assert "très bon café" in {e.text for p in (splits.pool, splits.dev, splits.test) for e in p}


def test_yaml_card_registers_a_name_with_label_order(tmp_path):
    write_csv(tmp_path / "tickets.csv", make_rows(50, ["bug", "billing"]), header=("body", "kind"))
    card = tmp_path / "tickets.yaml"
    card.write_text(
        "name: test-tickets\nfile: tickets.csv\ntext_col: body\nlabel_col: kind\n"
        "labels: [billing, bug]\ndomain: support\ndev_size: 10\ntest_size: 10\n"
        "description: Customer support emails. Labels billing, bug.\n"
        "manual_prefix: Is this ticket about billing or a bug?\n"
    )
    spec = get_dataset(str(card))
    assert REGISTRY["test-tickets"] is spec and get_dataset("test-tickets") is spec
    assert spec.label_names == ["billing", "bug"] and spec.domain == "support"
    assert spec.manual_prefix == "Is this ticket about billing or a bug?"
    splits = load_splits(spec)
    assert splits.sizes() == {"pool": 30, "dev": 10, "test": 10}
    assert splits.extra["label_mapping"] == {"billing": 0, "bug": 1}
    assert get_dataset(f"card:{card}") is not None  # the same card resolves again


def test_toml_card_with_one_file_per_split(tmp_path):
    for split, n in (("train", 20), ("val", 8), ("test", 8)):
        write_csv(tmp_path / f"{split}.csv", make_rows(n, ["sports", "tech"]))
    card = tmp_path / "card.toml"
    card.write_text('name = "test-topics"\ndescription = "Headlines. Labels: sports, tech."\n'
                    '[splits]\npool = "train.csv"\ndev = "val.csv"\ntest = "test.csv"\n')
    splits = get_dataset(str(card)).load()
    assert splits.sizes() == {"pool": 20, "dev": 8, "test": 8}
    assert "one per split" in splits.protocol


def test_fraction_sampling_on_user_data(tmp_path):
    spec = get_dataset(f"csv:{write_csv(tmp_path / 'r.csv', make_rows(200, ['a', 'b', 'c', 'd']))}")
    pool = spec.load().pool
    sample = sample_fraction(pool, 0.1, 13, spec.label_names)
    assert len(sample) == 12 and set(e.label for e in sample) == {0, 1, 2, 3}


@pytest.mark.slow  # trains MiniLM for a few steps (~20-40 s on 2 shared cores)
def test_gpta_run_on_an_unseen_csv_through_the_cli(tmp_path, capsys):
    """`gpta run --dataset csv:PATH --text-col ... --label-col ...` end to end (finetune: no LLM)."""
    from gpta.cli import main

    rows = [(f"{w} experience number {i}", "happy" if w in ("great", "lovely", "superb", "fine") else "unhappy")
            for i in range(80) for w in [WORDS[i % len(WORDS)]]]
    path = write_csv(tmp_path / "unseen.csv", [(i, t, lab) for i, (t, lab) in enumerate(rows)],
                     header=("id", "comment", "mood"))
    out = tmp_path / "results"
    code = main(["run", "--dataset", f"csv:{path}", "--text-col", "comment", "--label-col", "mood",
                 "--method", "finetune", "--fraction", "0.25", "--seed", "1", "--out", str(out),
                 "--set", "train.epochs=1", "--set", "train.min_steps_per_epoch=3"])
    assert code == 0, capsys.readouterr().err
    (result_file,) = out.glob("*.json")
    result = json.loads(result_file.read_text())
    assert result["dataset"]["label_mapping"] == {"happy": 0, "unhappy": 1}
    assert result["dataset"]["sizes"] == {"pool": 48, "dev": 16, "test": 16, "train": 12,
                                          "dev_evaluated": 16, "test_evaluated": 16}
    assert result["config"]["dataset_options"] == {"text_col": "comment", "label_col": "mood"}
    assert 0 <= result["metrics"]["test"]["accuracy"] <= 1


# -- one rule for CSV and JSONL (issue 27 item 6) -------------------------------------------------


def _both_formats(tmp_path: Path, rows: list[tuple[object, object]], name: str) -> tuple[Path, Path]:
    """The same rows as a CSV (cells as written by str()) and as JSONL (values as JSON)."""
    import csv

    csv_path = tmp_path / f"{name}.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(("" if t is None else t, "" if lab is None else lab) for t, lab in rows)
    jsonl_path = tmp_path / f"{name}.jsonl"
    jsonl_path.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
    return csv_path, jsonl_path


def test_numeric_labels_are_one_class_in_csv_and_jsonl(tmp_path):
    rows = [(f"text number {i}", ["1", "01", "1.0", "+1", "0", "00", "0.0", "2"][i % 8]) for i in range(48)]
    rows += [(f"json number {i}", [1, 1.0, 0, 0.0, 2][i % 5]) for i in range(20)]
    specs = [get_dataset(f"{p.suffix[1:]}:{p}") for p in _both_formats(tmp_path, rows, "numeric")]
    assert [s.label_names for s in specs] == [["0", "1", "2"], ["0", "1", "2"]]
    sizes = [s.load().sizes() for s in specs]
    assert sizes[0] == sizes[1]


def test_missing_texts_are_skipped_and_counted_the_same_in_csv_and_jsonl(tmp_path):
    rows = [(f"text number {i}", ("a", "b")[i % 2]) for i in range(30)]
    rows += [("NaN", "a"), ("null", "b"), ("", "a"), (None, "b"), ("  nan ", "a")]
    skipped = [get_dataset(f"{p.suffix[1:]}:{p}").load().extra["skipped_empty_text"]
               for p in _both_formats(tmp_path, rows, "missing")]
    assert skipped == [5, 5]
    splits = get_dataset(f"csv:{tmp_path / 'missing.csv'}").load()
    assert not {"NaN", "null", "nan"} & {e.text for e in splits.pool + splits.dev + splits.test}


def test_conflicting_duplicates_are_counted_apart_from_repeats(tmp_path):
    rows = [(f"text number {i}", ("a", "b")[i % 2]) for i in range(30)]
    rows += [("text number 0", "a"), ("text number 1", "a"), ("text number 1", "b")]  # a repeat; a conflict
    splits = get_dataset(f"csv:{write_csv(tmp_path / 'c.csv', rows)}").load()
    assert splits.extra["duplicate_texts_dropped"] == 1
    assert splits.extra["conflicting_label_rows_dropped"] == 3  # every row of "text number 1"
    assert "(3 rows)" in splits.protocol


def test_a_doubled_bom_is_not_part_of_the_header(tmp_path):
    path = tmp_path / "bom2.csv"
    path.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbf" + "text,label\n".encode() + "".join(
        f"text number {i},{('a', 'b')[i % 2]}\n" for i in range(20)).encode())
    assert get_dataset(f"csv:{path}").label_names == ["a", "b"]


def test_description_with_a_slash_is_text_and_a_missing_file_is_named(tmp_path, monkeypatch):
    from gpta.data.custom import read_description
    from gpta.errors import UserError

    monkeypatch.chdir(tmp_path)
    assert read_description("positive/negative") == "positive/negative"
    assert read_description("Tweets; labels positive/negative.") == "Tweets; labels positive/negative."
    (tmp_path / "docs").mkdir()
    for missing in ("about.txt", "docs/about", "./about"):
        with pytest.raises(UserError, match="no such file"):
            read_description(missing)


def test_an_unreadable_data_file_says_so(tmp_path, monkeypatch):
    """TEST DOUBLE: read_bytes raising PermissionError stands in for a chmod 000 file (these tests
    run as root, who can read any file)."""
    from gpta.errors import UserError

    path = write_csv(tmp_path / "locked.csv", make_rows(12, ["a", "b"]))

    def denied(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(UserError) as exc:
        get_dataset(f"csv:{path}")
    assert "locked.csv: cannot be read (permission denied); make it readable" in str(exc.value)
    assert "--out" not in str(exc.value) and "writable" not in str(exc.value)
