"""Bad input to `gpta sweep` and suite files (audit 3: F3, F4, F7, F12, F13).

The project's standard: one line on stderr naming the file, field or value and what to do,
exit 2, nothing written, no traceback; a dry run refuses what the sweep would refuse. Every row
runs in this process through ``gpta.cli.main`` (dry runs, or refusals that come before any cell),
except the damaged-file note (F7), whose one cell fails on purpose (``GPTA_FAIL_CELLS``) instead
of training.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gpta.cli import main

BASE = {"name": "s", "datasets": ["tweets"], "fractions": [0.01], "seeds": [13], "methods": ["finetune"]}


@pytest.fixture(autouse=True)
def no_training(monkeypatch):
    """A sweep that wrongly accepted its input fails its cells at once (the driver's own
    GPTA_FAIL_CELLS hook) instead of training; the test then fails on its exit code and files.
    GPTA_DEVICE, which the sweep sets from --device, is restored afterwards."""
    from gpta.registry import METHODS

    monkeypatch.setenv("GPTA_FAIL_CELLS", ",".join(METHODS))
    monkeypatch.setenv("GPTA_DEVICE", "auto")


def sweep(tmp_path: Path, capsys, suite: dict | str, *args: str) -> tuple[int, str, str, Path]:
    """(exit code, stdout, stderr, --out) of `gpta sweep SUITE --out OUT ARGS`."""
    path = tmp_path / "suite.yaml"
    path.write_text(suite if isinstance(suite, str) else yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    code = main(["sweep", str(path), "--out", str(out), "--no-progress", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, out


def refused(code: int, err: str, *words: str) -> None:
    """Exit 2 and ONE line on stderr, no traceback, holding every one of ``words``."""
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in lines[0], (w, err)


# -- F3: one setting spelled twice in one mapping -------------------------------------------------

TWICE = [
    ("nested first", {"settings": {"train": {"epochs": 2}, "train.epochs": 3}},
     ["suite.yaml", "settings", "train.epochs is given twice", "(as train: {epochs} and train.epochs)"]),
    ("dotted first", {"settings": {"train.epochs": 3, "train": {"epochs": 2}}},
     ["suite.yaml", "settings", "train.epochs is given twice", "(as train.epochs and train: {epochs})"]),
    ("options", {"methods": ["setfit"], "settings": {"options": {"body_lr": 1e-5}, "options.body_lr": 2e-5}},
     ["suite.yaml", "options.body_lr is given twice", "options: {body_lr}", "options.body_lr"]),
    ("stage settings", {"stages": [{"name": "a", "settings": {"train.epochs": 3, "train": {"epochs": 2}}}]},
     ["suite.yaml", "stage 'a'", "train.epochs is given twice"]),
    ("grid", {"grid": {"train.epochs": [2], "train": {"epochs": [3]}}},
     ["suite.yaml", "grid", "train.epochs is given twice", "train: {epochs}"]),
    ("per_dataset settings", {"per_dataset": {"tweets": {"settings": {"train": {"epochs": 2}, "train.epochs": 3}}}},
     ["suite.yaml", "per_dataset.tweets", "train.epochs is given twice"]),
    ("per_method settings", {"per_method": {"finetune": {"settings": {"train.epochs": 3, "train": {"epochs": 2}}}}},
     ["suite.yaml", "per_method.finetune", "train.epochs is given twice"]),
]


@pytest.mark.parametrize("case, fields, words", TWICE, ids=[c[0] for c in TWICE])
@pytest.mark.parametrize("dry", [True, False], ids=["dry-run", "sweep"])
def test_a_setting_spelled_twice_in_one_mapping_is_refused(tmp_path, capsys, case, fields, words, dry):
    code, _, err, out = sweep(tmp_path, capsys, {**BASE, **fields}, *(["--dry-run"] if dry else []))
    refused(code, err, *words)
    assert not out.exists()


def test_a_setting_given_again_at_another_level_still_overrides(tmp_path, capsys):
    """Suite settings, then the stage's own: an override by design, not a setting given twice."""
    from gpta.sweep.suite import check_suite, load_suite

    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({**BASE, "settings": {"train": {"epochs": 2}},
                                    "stages": [{"name": "a", "settings": {"train.epochs": 3}}]}))
    suite = load_suite(str(path))
    check_suite(suite, None)
    assert [c.cfg.train.epochs for c in suite.planned["a"]] == [3]


# -- F4: the encoder is checked at planning, as `gpta run` checks it -------------------------------

MODELS = [
    ("suite model path", {"model": "/no/such"}, [],
     ["suite.yaml", "stage 'main'", "model '/no/such'", "no such model directory", "/no/such/config.json"]),
    ("suite model in a stage", {"stages": [{"name": "b", "model": "/no/such"}]}, [],
     ["suite.yaml", "stage 'b'", "model '/no/such'", "no such model directory"]),
    ("suite embedded unknown", {"model": "embedded:nope"}, [],
     ["suite.yaml", "model 'embedded:nope'", "unknown embedded model", "all-MiniLM-L6-v2"]),
    ("suite model a list", {"model": ["a"]}, [], ["suite.yaml", "stage 'main'", "model ['a']", "is a list, not text"]),
    ("suite model a number", {"model": 5}, [], ["suite.yaml", "model 5", "is a int, not text"]),
    ("--model path", {}, ["--model", "/no/such"],
     ["--model '/no/such'", "no such model directory (expected /no/such/config.json)"]),
]


@pytest.mark.parametrize("case, fields, args, words", MODELS, ids=[c[0] for c in MODELS])
@pytest.mark.parametrize("dry", [True, False], ids=["dry-run", "sweep"])
def test_a_bad_model_is_refused_before_anything_is_written(tmp_path, capsys, case, fields, args, words, dry):
    code, _, err, out = sweep(tmp_path, capsys, {**BASE, **fields}, *args, *(["--dry-run"] if dry else []))
    refused(code, err, *words)
    assert not out.exists()  # no lock, no plan, no journal, no failed cell


def test_sweep_and_run_word_a_missing_model_flag_alike(tmp_path, capsys):
    code, _, sweep_err, _ = sweep(tmp_path, capsys, BASE, "--model", "/no/such", "--dry-run")
    assert code == 2
    code = main(["run", "--dataset", "tweets", "--method", "finetune", "--model", "/no/such",
                 "--out", str(tmp_path / "o")])
    run_err = capsys.readouterr().err
    assert code == 2
    assert sweep_err.split("error: ", 1)[1] == run_err.split("error: ", 1)[1]


# -- F7: the damaged-file note says what the sweep does --------------------------------------------

def test_the_damaged_file_note_says_the_cell_runs_again(tmp_path, capsys, monkeypatch):
    """A truncated result is not read; its cell runs again (here: fails on purpose, at once)."""
    # no_training: the cell fails at once (GPTA_FAIL_CELLS) instead of training
    code, stdout, _, out = sweep(tmp_path, capsys, BASE, "--dry-run", "--list", "--device", "cpu")
    assert code == 0
    (cell,) = [line.split()[1] for line in stdout.splitlines() if line.strip().startswith("todo")]
    out.mkdir()
    (out / f"{cell}.json").write_text('{"run_id": "' + cell + '", "status": ')  # cut short by a crash
    code, _, err, _ = sweep(tmp_path, capsys, BASE, "--device", "cpu")
    note = next(line for line in err.splitlines() if "damaged file" in line)
    assert f"{cell}.json (truncated JSON)" in note, note
    assert "delete" not in note and "run again" in note, note
    assert code == 1 and (out / f"{cell}.failed.json").is_file()  # it did run again, without deleting


# -- F12: the suite name becomes the default output folder ------------------------------------------

@pytest.mark.parametrize("name", ["{tmp}/abs", "../../etc", "a/b", "a\\b", "..", "x/../y", "."])
@pytest.mark.parametrize("dry", [True, False], ids=["dry-run", "sweep"])
def test_a_suite_name_that_is_a_path_is_refused(tmp_path, capsys, monkeypatch, name, dry):
    name = name.format(tmp=tmp_path)  # an absolute name: inside tmp_path all the same
    cwd = tmp_path / "w" / "x" / "y"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)  # the default --out is results/<name>, relative to here ("../../etc": still in tmp_path)
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump({**BASE, "name": name}))
    code = main(["sweep", str(path), "--no-progress", *(["--dry-run"] if dry else [])])
    refused(code, capsys.readouterr().err, "suite.yaml", f"'name' {name!r}", "not a plain folder name", "--out")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [path]  # nothing written, anywhere


@pytest.mark.parametrize("name", ["", "   "])
def test_an_empty_suite_name_says_empty_not_missing(tmp_path, capsys, name):
    code, _, err, _ = sweep(tmp_path, capsys, {**BASE, "name": name}, "--dry-run")
    refused(code, err, "suite.yaml", "'name' is empty")
    assert "missing" not in err


def test_a_missing_suite_name_still_says_missing(tmp_path, capsys):
    code, _, err, _ = sweep(tmp_path, capsys, {k: v for k, v in BASE.items() if k != "name"}, "--dry-run")
    refused(code, err, "suite.yaml", "'name' is missing")


def test_an_ordinary_suite_name_is_accepted(tmp_path, capsys):
    code, _, err, _ = sweep(tmp_path, capsys, {**BASE, "name": "my-suite_v2.1"}, "--dry-run")
    assert code == 0, err


# -- F13: --gpus-per-worker and --llm, checked at planning ------------------------------------------

@pytest.mark.parametrize("share", ["2", "1.5"])
@pytest.mark.parametrize("dry", [True, False], ids=["dry-run", "sweep"])
def test_gpus_per_worker_above_one_is_refused_at_planning(tmp_path, capsys, share, dry):
    code, _, err, out = sweep(tmp_path, capsys, BASE, "--gpus-per-worker", share, "--device", "auto",
                              *(["--dry-run"] if dry else []))
    refused(code, err, f"--gpus-per-worker {share}", "(0, 1]")
    assert not out.exists()


@pytest.mark.parametrize("share", ["1", "0.25"])
def test_gpus_per_worker_in_range_passes_the_dry_run(tmp_path, capsys, share):
    code, _, err, _ = sweep(tmp_path, capsys, BASE, "--gpus-per-worker", share, "--device", "auto", "--dry-run")
    assert code == 0, err


@pytest.mark.parametrize("methods, words", [
    (["finetune"], ["--llm embedded", "method 'finetune'", "suite.yaml", "uses no LLM; drop --llm"]),
    (["finetune", "setfit"], ["--llm embedded", "methods 'finetune', 'setfit'", "use no LLM; drop --llm"]),
])
@pytest.mark.parametrize("dry", [True, False], ids=["dry-run", "sweep"])
def test_an_llm_for_a_suite_that_uses_none_is_refused(tmp_path, capsys, methods, words, dry):
    code, _, err, out = sweep(tmp_path, capsys, {**BASE, "methods": methods}, "--llm", "embedded",
                              *(["--dry-run"] if dry else []))
    refused(code, err, *words)
    assert not out.exists()
    # worded as `gpta run` words it for one such method
    code = main(["run", "--dataset", "tweets", "--method", "finetune", "--llm", "embedded", "--out", str(out)])
    assert code == 2 and "--llm embedded: method 'finetune' uses no LLM; drop --llm" in capsys.readouterr().err


@pytest.mark.parametrize("fields", [
    {"methods": ["finetune", "gpta"]},  # one LLM method among others
    {"methods": ["finetune", "random-prefix"]},  # asks no LLM, but takes gpta's prefix length (depends on one)
    {"per_dataset": {"tweets": {"methods": ["finetune", "llm-zero-shot"]}}},  # an LLM method for one dataset
], ids=["gpta", "random-prefix", "per_dataset"])
def test_an_llm_for_a_suite_with_an_llm_method_is_accepted(tmp_path, capsys, fields):
    code, stdout, err, _ = sweep(tmp_path, capsys, {**BASE, **fields}, "--llm", "embedded", "--dry-run", "--list")
    assert code == 0, err
    assert "todo" in stdout


# -- F1 (sweep side), F5, F11: a report, the sequence length and the tracker, refused at planning --

@pytest.mark.parametrize("dry", [True, False], ids=["dry-run", "sweep"])
def test_a_report_into_the_results_folder_is_refused_before_the_sweep(tmp_path, capsys, dry):
    """`--report DIR` replaces DIR whole: the results folder itself (or any folder holding more
    than a report) had been deleted after the sweep. Refused before any cell; nothing written."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.json").write_text("{}")
    code, _, err, _ = sweep(tmp_path, capsys, BASE, "--report", str(out), *(["--dry-run"] if dry else []))
    refused(code, err, f"--report {out}", "'mine.json'", "which no report wrote")
    assert sorted(p.name for p in out.iterdir()) == ["mine.json"]


@pytest.mark.parametrize("dry", [True, False], ids=["dry-run", "sweep"])
def test_settings_longer_than_the_encoder_takes_are_refused_at_planning(tmp_path, capsys, dry):
    code, _, err, out = sweep(tmp_path, capsys, {**BASE, "settings": {"train.max_text_tokens": 600}},
                              *(["--dry-run"] if dry else []))
    refused(code, err, "suite.yaml", "stage 'main'", "train.max_text_tokens=600", "= 635 tokens", "(512")
    assert not out.exists()


def test_a_tracker_store_that_cannot_be_used_is_refused_before_out_is_written(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    code, _, err, out = sweep(tmp_path, capsys, BASE, "--track", f"mlflow:{blocker}/store")
    assert code == 2, err
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())
