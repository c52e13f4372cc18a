"""Sweeps that train: kill and resume, the Ray executor, failures and --retry-failed, worker threads.

Real encoder, real data (the embedded tweets set), tiny budget: one epoch of a few steps on
~100 examples, 64 dev and 64 test examples, so a cell takes seconds on a quiet machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from gpta.cli import main
from gpta.sweep.table import TIMING_COLUMNS
from gpta.sweep.worker import JOURNAL

REPO = Path(__file__).resolve().parent.parent
TINY_SETTINGS = {"train.epochs": 1, "train.min_steps_per_epoch": 2, "train.max_text_tokens": 32,
                 "train.dev_max": 64, "train.test_max": 64, "train.eval_train_max": 32}

pytestmark = pytest.mark.slow


def write_suite(path: Path, **fields) -> Path:
    suite = {"name": "tiny", "datasets": ["tweets"], "fractions": [0.005], "seeds": [13, 21],
             "methods": ["finetune"], "settings": dict(TINY_SETTINGS), **fields}
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def journal(out: Path) -> list[dict]:
    path = out / JOURNAL
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def table(out: Path) -> pd.DataFrame:
    """The consolidated table without the columns that measure time (they differ run to run)."""
    df = pd.read_parquet(out / "results.parquet").drop(columns=TIMING_COLUMNS)
    return df.sort_values("run_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory) -> Path:
    return write_suite(tmp_path_factory.mktemp("suite") / "tiny.yaml")


@pytest.fixture(scope="module")
def reference(suite_file, tmp_path_factory) -> Path:
    """An uninterrupted sweep of the tiny suite (local executor, in this process)."""
    out = tmp_path_factory.mktemp("reference")
    assert main(["sweep", str(suite_file), "--out", str(out), "--no-progress"]) == 0
    return out


def test_killed_sweep_resumes_to_the_same_table_without_rerunning_finished_cells(suite_file, reference, tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gpta", "sweep", str(suite_file), "--out", str(out), "--no-progress"],
                            cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 600
        # Wait until the first cell has finished and the second has started ...
        while [e["event"] for e in journal(out) if e["event"] in ("start", "ok")] != ["start", "ok", "start"]:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the first cell did not finish in time"
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)  # ... then kill the sweep, workers and all
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    finished = [p for p in out.glob("*.json") if not p.name.endswith(".failed.json")]
    assert len(finished) == 1, "expected one finished cell at the kill"
    for p in out.glob("*.json"):
        json.loads(p.read_text())  # nothing half-written
    before = {p.name: p.stat().st_mtime_ns for p in finished}
    killed_at = journal(out)[-1]["time"]
    started = [e["run_id"] for e in journal(out) if e["event"] == "start"]
    assert len(started) == 2  # the kill came while the second cell ran

    assert main(["sweep", str(suite_file), "--out", str(out), "--no-progress"]) == 0
    pd.testing.assert_frame_equal(table(out), table(reference))
    assert {p.name: p.stat().st_mtime_ns for p in finished} == before  # the finished result was not rewritten
    events = journal(out)
    rerun = [e["run_id"] for e in events if e["event"] == "start" and e["time"] > killed_at]
    assert rerun == [started[1]]  # only the interrupted cell ran again
    oks = [e["run_id"] for e in events if e["event"] == "ok"]
    assert sorted(oks) == sorted(set(oks)) and len(oks) == 2  # every cell finished exactly once
    # A third sweep finds nothing to do.
    assert main(["sweep", str(suite_file), "--out", str(out), "--no-progress"]) == 0
    assert [e for e in journal(out)[len(events):] if e["event"] == "start"] == []


def test_ray_executor_gives_the_local_executors_results(suite_file, reference, tmp_path):
    ray = pytest.importorskip("ray")
    out = tmp_path / "ray"
    try:
        code = main(["sweep", str(suite_file), "--out", str(out), "--executor", "ray", "--workers", "1",
                     "--seeds", "13", "--no-progress"])
    finally:
        ray.shutdown()
    assert code == 0
    got = table(out)
    want = table(reference)
    pd.testing.assert_frame_equal(got, want[want["run_id"].isin(got["run_id"])].reset_index(drop=True))
    assert len(got) == 1
    run_id = got["run_id"][0]
    ray_result = json.loads((out / f"{run_id}.json").read_text())
    local_result = json.loads((reference / f"{run_id}.json").read_text())
    assert ray_result["metrics"] == local_result["metrics"]  # every metric and every test prediction
    assert ray_result["curves"] == local_result["curves"]
    assert [e["event"] for e in journal(out) if e.get("run_id") == run_id] == ["submit", "ok"]


def test_failed_cells_are_recorded_and_retried_in_worker_processes(suite_file, reference, tmp_path, ollama_server,
                                                                    monkeypatch):
    """gpta with an LLM server that passes the sweep's preflight (the model list and a real 1-token
    chat, before any cell runs), then fails every chat with HTTP 500: the cell fails; finetune beside
    it still finishes (2 workers)."""
    import gpta.context
    from tests.fixtures.ollama_server import DEFAULT_MODEL_NAME

    real_probe = gpta.context.probe_llm

    def probe_then_fail_every_chat(*args, **kwargs):  # each sweep below preflights; its cells then see 500s
        ollama_server.set_faults(fail_next=0)
        real_probe(*args, **kwargs)
        ollama_server.set_faults(fail_next=10_000, fail_status=500)

    monkeypatch.setattr(gpta.context, "probe_llm", probe_then_fail_every_chat)
    suite = write_suite(tmp_path / "s.yaml", seeds=[13], methods=["gpta", "finetune"], llm=f"ollama:{DEFAULT_MODEL_NAME}",
                        settings={**TINY_SETTINGS, "generation.retries": 0, "generation.timeout_s": 5})
    out = tmp_path / "out"
    assert main(["sweep", str(suite), "--out", str(out), "--workers", "2", "--no-progress"]) == 1
    failed = list(out.glob("*.failed.json"))
    assert len(failed) == 1
    record = json.loads(failed[0].read_text())
    assert record["status"] == "failed" and record["config"]["method"] == "gpta"
    assert record["error"]["type"] and "Traceback" in record["error"]["traceback"]
    assert "HTTP 500" in record["error"]["message"]  # the cell met the injected fault, after the preflight
    df = pd.read_parquet(out / "results.parquet")
    assert sorted(zip(df["method"], df["status"])) == [("finetune", "ok"), ("gpta", "failed")]
    ok = json.loads(next(p for p in out.glob("tweets__finetune*.json") if ".failed" not in p.name).read_text())
    assert ok["env"]["torch_threads"] == max(1, len(os.sched_getaffinity(0)) // 2)  # cores divided by workers

    n_events = len(journal(out))
    assert main(["sweep", str(suite), "--out", str(out), "--no-progress"]) == 1  # not retried: still incomplete
    assert [e for e in journal(out)[n_events:] if e["event"] == "start"] == []
    assert main(["sweep", str(suite), "--out", str(out), "--no-progress", "--retry-failed"]) == 1
    assert [e["run_id"] for e in journal(out)[n_events:] if e["event"] == "start"] == [record["run_id"]]


def test_the_sweep_writes_its_plan_and_the_report_counts_coverage_against_it(reference, tmp_path, capsys):
    """The report's coverage is the suite's plan, not the crossing of what the folder holds: with
    one of the two planned results gone it says 1 missing of 2 planned, and names the cell."""
    import shutil

    from gpta.sweep.plan import read_plan

    ids = sorted(p.name.removesuffix(".json") for p in reference.glob("*.json"))
    plan = read_plan(reference)
    assert sorted(r["run_id"] for r in plan) == ids and len(ids) == 2
    assert {(r["suite"], r["stage"], r["method"]) for r in plan} == {("tiny", "main", "finetune")}
    out = tmp_path / "copy"
    shutil.copytree(reference, out)
    gone = json.loads((out / f"{ids[0]}.json").read_text())
    (out / f"{ids[0]}.json").unlink()
    capsys.readouterr()
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    printed = capsys.readouterr().out
    assert "report from 1 runs (0 failed, 1 missing of the 2 planned cells)" in printed, printed
    missing = pd.read_csv(tmp_path / "report" / "missing_cells.csv")
    assert missing[["seed", "method", "stage", "status"]].values.tolist() == [
        [gone["config"]["seed"], "finetune", "main", "missing"]]
    md = (tmp_path / "report" / "index.md").read_text()
    assert "Planned grid = the cells the sweeps into this folder planned (`sweep_plan.jsonl`: suite tiny; " in md
