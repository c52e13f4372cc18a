"""Every bad-data case gives one clear line (UserError; exit 2 from the CLI) and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpta.data import get_dataset
from gpta.data.sampling import sample_fraction
from gpta.errors import UserError


def csv_file(path: Path, body: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(body.encode(encoding))
    return path


def good_rows(n: int = 12, labels=("pos", "neg")) -> str:
    return "".join(f"text number {i},{labels[i % len(labels)]}\n" for i in range(n))


# (case, file name, file bytes or None for "no file", options, expected message pattern)
CASES = [
    ("missing file", "absent.csv", None, {}, r"absent\.csv: no such file"),
    ("empty file", "empty.csv", b"", {}, r"empty\.csv: file is empty"),
    ("blank file", "blank.csv", b"\n \n", {}, r"blank\.csv: file is empty"),
    ("header only", "header.csv", b"text,label\n", {}, r"header\.csv: the file has no data rows"),
    ("missing text column", "cols.csv", ("sentence,label\n" + good_rows()).encode(), {},
     r"cols\.csv: no column 'text' \(columns: sentence, label\); pass --text-col"),
    ("missing label column", "cols2.csv", ("text,label\n" + good_rows()).encode(), {"label_col": "y"},
     r"no column 'y' \(columns: text, label\); pass --label-col"),
    ("one class", "one.csv", ("text,label\n" + good_rows(labels=("pos",))).encode(), {},
     r"one\.csv: label column 'label' has only one class \('pos'\); need at least two"),
    ("class too small to split", "small.csv", ("text,label\n" + good_rows() + "odd one,rare\n").encode(), {},
     r"class 'rare' has 1 row\(s\); need at least 3"),
    ("all text empty", "notext.csv", b"text,label\n,pos\n  ,neg\n", {},
     r"notext\.csv: no rows with text \(2 rows had empty text\)"),
    ("empty label", "nolabel.csv", ("text,label\n" + good_rows() + "a text,\n").encode(), {},
     r"nolabel\.csv line 14: missing label \(empty, nan or null\) in column 'label'"),
    ("ragged row", "ragged.csv", ("text,label\n" + good_rows() + "a,b,c\n").encode(), {},
     r"ragged\.csv line 14: 3 fields, the header has 2"),
    ("undecodable bytes", "latin.csv", ("text,label\n" + good_rows() + "café,pos\n").encode("latin-1"), {},
     r"latin\.csv: byte 0xe9 at offset 232 is not valid utf-8; pass the file's encoding \(--encoding"),
    ("unknown encoding", "enc.csv", ("text,label\n" + good_rows()).encode(), {"encoding": "klingon"},
     r"--encoding 'klingon': unknown encoding"),
    ("unknown option", "opt.csv", ("text,label\n" + good_rows()).encode(), {"txt_col": "x"},
     r"unknown option 'txt_col'; known: text_col, label_col, description, encoding"),
    ("too few rows", "tiny.csv", ("text,label\n" + good_rows(4, ("a", "b"))).encode(), {},
     r"tiny\.csv: class 'a' has 2 row\(s\); need at least 3 \(one each for the pool, dev and test\)"),
]


@pytest.mark.parametrize("case, name, body, options, pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_user_file(tmp_path, case, name, body, options, pattern):
    path = tmp_path / name
    if body is not None:
        path.write_bytes(body)
    with pytest.raises(UserError, match=pattern) as err:
        get_dataset(f"csv:{path}", **options).load()
    assert "\n" not in str(err.value)


def test_undecodable_offset_is_the_real_byte_offset(tmp_path):
    body = ("text,label\n" + good_rows() + "café,pos\n").encode("latin-1")
    offset = body.index(b"\xe9")
    assert offset == 232  # the number the case table above expects
    # and the encoding option makes the same file readable
    path = csv_file(tmp_path / "l.csv", body.decode("latin-1"), "latin-1")
    assert get_dataset(f"csv:{path}", encoding="latin-1").label_names == ["neg", "pos"]


def test_bad_jsonl_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "fine", "label": "a"}\n{"text": "broken", "label": \n')
    with pytest.raises(UserError, match=r"d\.jsonl line 2: not valid JSON"):
        get_dataset(f"jsonl:{path}")
    path.write_text('{"text": "fine", "label": "a"}\n{"body": "x", "label": "b"}\n')
    with pytest.raises(UserError, match=r"d\.jsonl line 2: no key 'text' \(keys: body, label\)"):
        get_dataset(f"jsonl:{path}")


def test_empty_split_in_a_card(tmp_path):
    (tmp_path / "train.csv").write_text("text,label\n" + good_rows())
    (tmp_path / "dev.csv").write_text("text,label\n")
    (tmp_path / "test.csv").write_text("text,label\n" + good_rows(4))
    card = tmp_path / "c.yaml"
    card.write_text("name: bad-split-card\nsplits: {pool: train.csv, dev: dev.csv, test: test.csv}\n")
    with pytest.raises(UserError, match=r"dev\.csv: split dev has no data rows"):
        get_dataset(str(card))


@pytest.mark.parametrize("text, pattern", [
    ("name: x\nfile: a.csv\ncolour: red\n", r"unknown key 'colour'"),
    ("name: sst2\nfile: a.csv\n", r"name 'sst2' is already taken by a built-in dataset"),
    ("file: a.csv\n", r"the card needs a 'name'"),
    ("name: y\nfile: a.csv\nsplits: {pool: a.csv, dev: a.csv, test: a.csv}\n", r"either 'file'.*or 'splits'"),
    ("name: [unclosed\n", r"not a valid dataset card"),
    ("name: z\nfile: a.csv\nlabels: [neg]\n", r"label 'pos' is not in the card's labels \(neg\)"),
    ("name: w\nfile: a.csv\ndev_size: 10\n", r"12 usable rows cannot make a test split of 2, a dev split of 10"),
    ("name: v\nfile: a.csv\ndev_size: '3'\n", r"dev_size must be an integer"),
])
def test_bad_cards(tmp_path, text, pattern):
    (tmp_path / "a.csv").write_text("text,label\n" + good_rows())
    card = tmp_path / "card.yaml"
    card.write_text(text)
    with pytest.raises(UserError, match=pattern):
        get_dataset(str(card))


def test_fraction_that_leaves_a_class_empty(tmp_path):
    rows = "".join(f"common text {i},common\n" for i in range(200)) + "".join(f"rare text {i},rare\n" for i in range(3))
    spec = get_dataset(f"csv:{csv_file(tmp_path / 'skew.csv', 'text,label' + chr(10) + rows)}")
    pool = spec.load().pool
    with pytest.raises(UserError, match=r"--fraction 0.005 gives 1 training examples .* need at least one per class"):
        sample_fraction(pool, 0.005, 13, spec.label_names)


def test_benchmark_folder_with_a_missing_file(tmp_path):
    (tmp_path / "sst2" / "stsa_binary").mkdir(parents=True)
    (tmp_path / "sst2" / "stsa_binary" / "stsa.binary.train").write_text("1 good film\n0 bad film\n")
    with pytest.raises(UserError, match=r"stsa\.binary\.train is damaged or another version .*gpta data prepare"):
        get_dataset("sst2").load(str(tmp_path))  # checked against the manifest before a line is parsed
    from gpta.data.benchmarks import _sst2_local

    with pytest.raises(UserError, match=r"stsa\.binary\.dev: no such file"):
        _sst2_local(tmp_path / "sst2")  # the reader itself, on a folder the manifest would refuse


def test_benchmark_file_with_a_bad_row(tmp_path):
    (tmp_path / "yelp").mkdir()
    (tmp_path / "yelp" / "yelp_labelled.txt").write_text("Great food.\t1\nNo label here\n")
    with pytest.raises(UserError, match=r"yelp_labelled\.txt is damaged or another version \(28 bytes"):
        get_dataset("yelp").load(str(tmp_path))
    from gpta.data.benchmarks import _yelp_local

    with pytest.raises(UserError, match=r"yelp_labelled\.txt line 2: expected 'sentence<TAB>0\|1'"):
        _yelp_local(tmp_path / "yelp")


# -- through the CLI: one stderr line, exit code 2, nothing written --------------------------------

CLI_CASES = {
    "missing column": "no column 'sentence'",
    "one class": "has only one class ('pos')",
    "undecodable": "byte 0xef at offset",
    "missing data dir": "no data for dataset yelp",
    "bad fraction": "--fraction 0.01 gives 0 training examples of 18 for 2 classes",
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_bad_data_exits_2_and_writes_nothing(tmp_path, capsys, monkeypatch, case):
    from gpta.cli import main

    data = tmp_path / "data.csv"
    data.write_bytes(("text,label\n" + good_rows(30)).encode())
    args = ["--dataset", f"csv:{data}"]
    if case == "missing column":
        args += ["--text-col", "sentence"]
    elif case == "one class":
        data.write_text("text,label\n" + good_rows(30, ("pos",)))
    elif case == "undecodable":
        data.write_bytes(("text,label\n" + good_rows(30) + "naïve,pos\n").encode("cp1252"))
    elif case == "missing data dir":
        monkeypatch.delenv("GPTA_DATA_DIR", raising=False)
        args = ["--dataset", "yelp"]
    elif case == "bad fraction":
        args = ["--dataset", f"csv:{data}", "--fraction", "0.01"]  # 0.01 * 18 -> 0 examples for 2 classes
    out = tmp_path / "results"
    code = main(["run", *args, "--method", "finetune", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("gpta run: error: ")
    assert CLI_CASES[case] in err
    assert not out.exists() or not any(out.iterdir())


def test_transfer_source_without_prefix_is_refused(tmp_path, capsys):
    from gpta.cli import main

    src = tmp_path / "finetune.json"
    src.write_text(json.dumps({"method": "finetune", "prefix": None, "dataset": {"name": "sst2"}}))
    code = main(["transfer", "--from", str(src), "--dataset", "yelp", "--out", str(tmp_path / "r")])
    assert code == 2 and "has no prefix to transfer (method 'finetune')" in capsys.readouterr().err


def test_card_split_files_with_a_class_missing_from_the_pool(tmp_path):
    (tmp_path / "train.csv").write_text("text,label\n" + good_rows(12, ("pos", "neg")))
    (tmp_path / "dev.csv").write_text("text,label\n" + good_rows(6, ("pos", "neg", "mixed")))
    (tmp_path / "test.csv").write_text("text,label\n" + good_rows(6))
    card = tmp_path / "c.toml"
    card.write_text('name = "pool-misses-a-class"\n[splits]\npool = "train.csv"\ndev = "dev.csv"\ntest = "test.csv"\n')
    with pytest.raises(UserError, match=r"train\.csv \(pool\): class 'mixed' has 0 row\(s\); need at least 1"):
        get_dataset(str(card))
