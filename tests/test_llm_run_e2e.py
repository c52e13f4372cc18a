"""End to end: ``gpta run --llm ollama:MODEL`` against the Ollama-protocol test fixture server,
then the same cell replayed offline from the cache, then ``gpta audit`` on the results.
Real model, LLM and data with a tiny budget (``tests.helpers.TINY_ARGS``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import TINY_ARGS

REPO = Path(__file__).resolve().parent.parent
MODEL = "smollm2:135m"


def gpta(*args: str, host: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OLLAMA_HOST": host, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "gpta", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_gpta_run_through_ollama_then_offline_replay_then_audit(ollama_server, dead_host, tmp_path):
    cell = ["run", "--dataset", "tweets", "--fraction", "0.005", "--seed", "13", "--method", "gpta",
            "--llm", f"ollama:{MODEL}", *TINY_ARGS, "--out", str(tmp_path)]
    first = gpta(*cell, host=ollama_server.url)
    assert first.returncode == 0, first.stderr[-2000:]
    [path] = [p for p in tmp_path.glob("*.json")]
    r1 = json.loads(path.read_text())
    assert r1["llm"]["backend"] == "ollama" and r1["llm"]["model"] == MODEL
    assert len(r1["llm"]["digest"]) == 64  # the model identity is recorded with the result
    assert r1["costs"]["llm_backend_calls"] == r1["costs"]["llm_calls"] == 2
    # the run's 2 calls plus the preflight's 1-token chat (gpta.context.probe_llm), which no ledger records
    assert ollama_server.count("/api/chat") == 2 + 1
    assert path.with_name(f"{r1['run_id']}.ledger.jsonl").is_file()

    # Replay: the server is gone, the cache is read-only; same prefixes, same numbers.
    second = gpta(*cell, "--llm-cache", "read", host=dead_host)
    assert second.returncode == 0, second.stderr[-2000:]
    r2 = json.loads(path.read_text())
    assert r2["costs"]["llm_backend_calls"] == 0 and r2["costs"]["cache_hits"] == 2
    assert r2["llm"]["digest"] == r1["llm"]["digest"]
    assert [h["prefix"] for h in r2["prefix_history"]] == [h["prefix"] for h in r1["prefix_history"]]
    assert r2["conversation"] == r1["conversation"]
    assert r2["metrics"]["test"] == r1["metrics"]["test"]

    audit = gpta("audit", str(tmp_path), host=dead_host)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert audit.stdout.startswith("ok ")
