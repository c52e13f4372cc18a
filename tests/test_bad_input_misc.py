"""Audit 3's F2, F6, F11 and four F13 items: bad input is one line on stderr naming what is wrong and
what to do (exit 2), a refused command writes nothing, and a summary says what it counted.

- F2: ``gpta audit`` counts leaked, no-ledger and not-checked runs apart (a run it could not check is
  not a broken promise, and not a pass either: exit 1), and refuses a data dir that is not a folder.
- F6: a bad ``$GPTA_LLM_THREADS`` is bad input, not an internal error.
- F11: ``--track mlflow`` creates its store (``mlflow.db``) at the first logged cell, never for a
  refused run; before the cell only the store's folder is checked.
- F13: no doubled ``gpta audit:`` prefix; ``gpta llm cache`` advice names its own option ``--path``;
  ``gpta llm check --max-tokens 1`` says a rate was not measured instead of "None tokens/s".

Real files and the real CLI throughout: published verdict results, a real MLflow SQLite store, the
embedded SmolLM2 (loads in about a second).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gpta.cli import main
from gpta.errors import UserError

REPO = Path(__file__).resolve().parent.parent
VERDICT = REPO / "docs" / "reproduction" / "verdict"
# two GPTA runs on TREC (the smallest dataset), with their ledgers: GPTA promises no exposure
TREC_RUNS = ["trec__gpta__f0.005__s13__8712031a4e", "trec__gpta__f0.005__s21__615c4306ad"]


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err and "internal error" not in err
    return err


# -- F2: gpta audit -------------------------------------------------------------------------------


@pytest.fixture
def results(tmp_path) -> Path:
    """A copy of two published GPTA runs (result JSON and ledger each), never the published folder."""
    out = tmp_path / "results"
    out.mkdir()
    for run_id in TREC_RUNS:
        for suffix in (".json", ".ledger.jsonl"):
            shutil.copy(VERDICT / f"{run_id}{suffix}", out / f"{run_id}{suffix}")
    return out


def test_the_published_runs_are_there():
    for run_id in TREC_RUNS:
        assert (VERDICT / f"{run_id}.json").is_file() and (VERDICT / f"{run_id}.ledger.jsonl").is_file()


@pytest.mark.parametrize("how", ["env", "flag"])
def test_audit_refuses_a_data_dir_that_is_not_a_folder(results, tmp_path, monkeypatch, capsys, how):
    missing = tmp_path / "nonexistent"
    if how == "env":
        monkeypatch.setenv("GPTA_DATA_DIR", str(missing))
        argv = ["audit", str(results)]
    else:
        argv = ["audit", str(results), "--data-dir", str(missing)]
    before = sorted(p.name for p in results.iterdir())
    assert main(argv) == 2
    err = one_error_line(capsys)
    assert str(missing) in err and "data dir" in err and "--data-dir" in err
    assert sorted(p.name for p in results.iterdir()) == before  # nothing written
    assert not missing.exists()


def test_audit_counts_runs_not_checked_apart_from_leaks_and_fails(results, tmp_path, capsys):
    """An existing data dir without TREC: both runs are not checked. They did not leak (0 leaked, not
    "2 broke a no-exposure promise"), but the audit does not pass either: exit 1, the reason named."""
    from gpta.audit import audit_dir

    no_trec = tmp_path / "data"
    no_trec.mkdir()
    audit = audit_dir(results, data_dir=str(no_trec))
    assert audit.leaked == [] and audit.no_ledger == [] and len(audit.not_checked) == 2
    assert len(audit.failed) == 2 and not audit.passed
    [(reason, n)] = audit.not_checked_reasons()
    assert n == 2 and "trec" in reason

    assert main(["audit", str(results), "--data-dir", str(no_trec)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    summary = out[-1]
    assert "2 broke" not in summary  # the old summary: "2 broke a no-exposure promise"
    assert "0 leaked" in summary and "0 called an LLM without a ledger" in summary
    assert "2 not checked" in summary and "FAILED" in summary
    assert any(line.startswith("not checked: 2 runs: dataset 'trec'") for line in out)

    assert main(["audit", str(results), "--data-dir", str(no_trec), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["passed"], report["leaked"], report["no_ledger"], report["not_checked"]) == (False, 0, 0, 2)
    assert report["not_checked_reasons"][0]["runs"] == 2


def test_audit_with_the_data_passes_and_says_nothing_was_left_unchecked(results, capsys):
    assert main(["audit", str(results)]) == 0  # GPTA_DATA_DIR: the shared benchmark files
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith("audit: 2 runs,") and "0 leaked" in summary and "0 not checked" in summary
    assert "FAILED" not in summary


def test_audit_of_an_empty_folder_names_the_command_once(tmp_path, capsys):
    assert main(["audit", str(tmp_path)]) == 2
    err = one_error_line(capsys)
    assert err.count("gpta audit") == 1 and "no result JSON" in err and "--out" in err
    with pytest.raises(UserError) as exc:
        from gpta.audit import audit_dir

        audit_dir(tmp_path)
    assert not str(exc.value).startswith("gpta audit")  # the CLI adds the prefix


# -- F6: GPTA_LLM_THREADS -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5"])
def test_bad_llm_threads_variable_is_bad_input(value, monkeypatch, capsys):
    from gpta.llm.embedded import llm_threads

    monkeypatch.setenv("GPTA_LLM_THREADS", value)
    with pytest.raises(UserError, match="GPTA_LLM_THREADS"):
        llm_threads()
    assert main(["llm", "check"]) == 2
    err = one_error_line(capsys)
    assert f"GPTA_LLM_THREADS={value!r}" in err and "whole number > 0" in err


def test_bad_llm_threads_refuses_an_llm_run_before_anything_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GPTA_LLM_THREADS", "abc")
    monkeypatch.setenv("GPTA_DEVICE", "auto")  # `run` sets it; restored after
    out = tmp_path / "out"
    assert main(["run", "--dataset", "tweets", "--fraction", "0.005", "--method", "gpta", "--out", str(out)]) == 2
    assert "GPTA_LLM_THREADS='abc'" in one_error_line(capsys)
    assert not out.exists()


def test_llm_threads_default_and_good_values(monkeypatch):
    from gpta.llm.embedded import llm_threads

    monkeypatch.delenv("GPTA_LLM_THREADS", raising=False)
    assert llm_threads() == 1
    monkeypatch.setenv("GPTA_LLM_THREADS", "")
    assert llm_threads() == 1
    monkeypatch.setenv("GPTA_LLM_THREADS", " 2 ")
    assert llm_threads() == 2


# -- F11: --track mlflow creates its store only when a cell is logged -----------------------------


def test_a_refused_tracked_run_leaves_no_mlflow_store(tmp_path, monkeypatch, capsys):
    """The run passes the checks before the cell, then `execute` refuses the model: no mlflow.db in
    the working folder (MLflow's default store) nor in a named store's folder."""
    pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("GPTA_DEVICE", "auto")
    store = tmp_path / "store"
    store.mkdir()
    for track in ("mlflow", f"mlflow:sqlite:///{store / 'mlflow.db'}"):
        out = tmp_path / "out"
        code = main(["run", "--dataset", "tweets", "--fraction", "0.005", "--method", "finetune",
                     "--model", "org/name@rev", "--track", track, "--out", str(out)])
        assert code == 2
        assert "org/name@rev" in one_error_line(capsys)
        assert not out.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # no mlflow.db, no mlruns/
        assert list(store.iterdir()) == []


def test_a_store_folder_that_is_not_usable_is_refused_before_the_cell(tmp_path, monkeypatch, capsys):
    pytest.importorskip("mlflow")
    from gpta.tracking import make_tracker

    missing = tmp_path / "no" / "such"
    with pytest.raises(UserError, match="does not exist"):
        make_tracker(f"mlflow:sqlite:///{missing / 'mlflow.db'}")
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(UserError, match="is a file, not a folder"):
        make_tracker(f"mlflow:sqlite:///{a_file / 'mlflow.db'}")
    with pytest.raises(UserError, match="is a folder, not an SQLite store"):
        make_tracker(f"mlflow:sqlite:///{tmp_path}")
    with pytest.raises(UserError, match="not an MLflow file store"):
        make_tracker(f"mlflow:file://{a_file}")
    assert not missing.parent.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]

    monkeypatch.setenv("GPTA_DEVICE", "auto")
    out = tmp_path / "out"
    assert main(["run", "--dataset", "tweets", "--fraction", "0.005", "--method", "finetune", "--out", str(out),
                 "--track", f"mlflow:sqlite:///{missing / 'mlflow.db'}"]) == 2
    err = one_error_line(capsys)
    assert str(missing) in err and "--track" in err
    assert not out.exists()


def test_the_store_is_created_at_the_first_logged_cell_and_read_back(tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from gpta.tracking import make_tracker

    db = tmp_path / "store" / "mlflow.db"
    db.parent.mkdir()
    uri = f"sqlite:///{db}"
    tracker = make_tracker(f"mlflow:{uri}")
    assert not db.exists() and list(db.parent.iterdir()) == []  # checked, not created
    result = json.loads((VERDICT / f"{TREC_RUNS[0]}.json").read_text())
    ledger = VERDICT / f"{TREC_RUNS[0]}.ledger.jsonl"
    run_id = tracker.log_cell(result, ledger)
    assert run_id and db.is_file()
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(run_id)
    assert run.info.run_name == TREC_RUNS[0] and run.info.status == "FINISHED"
    assert run.data.params["dataset"] == "trec"
    assert (tmp_path / "store" / "mlruns").is_dir()  # artifacts beside the database


# -- F13: gpta llm cache / check --------------------------------------------------------------------


def test_llm_cache_advice_names_its_own_option(tmp_path, capsys):
    not_a_cache = tmp_path / "afile.csv"
    not_a_cache.write_text("text,label\nhello,1\n")
    assert main(["llm", "cache", "stats", "--path", str(not_a_cache)]) == 2
    err = one_error_line(capsys)
    assert str(not_a_cache) in err and "--path" in err
    assert "--llm-cache-path" not in err and "--llm-cache off" not in err
    assert main(["llm", "cache", "stats", "--path", str(tmp_path)]) == 2  # a folder
    err = one_error_line(capsys)
    assert "is a folder" in err and "--llm-cache-path" not in err
    assert not_a_cache.read_text() == "text,label\nhello,1\n"  # left as it is


def test_llm_cache_clear_of_a_missing_path_does_not_ask_for_path(tmp_path, capsys):
    missing = tmp_path / "nonexistent.sqlite"
    assert main(["llm", "cache", "clear", "--path", str(missing)]) == 2
    err = one_error_line(capsys)
    assert f"no LLM cache at {missing} (the --path given)" in err and "give --path" not in err
    assert not missing.exists()


def test_llm_check_with_one_token_says_the_rate_was_not_measured(monkeypatch, capsys):
    monkeypatch.delenv("GPTA_LLM_THREADS", raising=False)
    assert main(["llm", "check", "--max-tokens", "1", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    speed = next(line for line in out.splitlines() if line.startswith("speed:"))
    assert "None" not in speed
    assert "generation not measured (1 token" in speed and "--max-tokens 2" in speed
