"""The command line: bad input exits 2 with one line naming the problem and writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import TINY_ARGS


def gpta(*args, cwd=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "gpta", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=600)


@pytest.mark.parametrize("args, needle", [
    (["--dataset", "nope"], "unknown dataset 'nope'"),
    (["--fraction", "1.5"], "--fraction 1.5"),
    (["--fraction", "0"], "--fraction 0"),
    (["--method", "magic"], "unknown method 'magic'"),
    (["--model", "./no/such/model"], "--model './no/such/model'"),
    (["--llm", "chatgpt"], "unknown LLM 'chatgpt'"),
    (["--llm", "embedded:/no/such.gguf"], "no such GGUF file"),
    (["--dataset", "bbc-news", "--fraction", "0.001"], "need at least one per class"),
    (["--set", "gpta.nope=1"], "unknown setting 'gpta.nope'"),
    (["--llm-cache", "read"], "--llm-cache read: no cache at"),  # refused before data and model load
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, args, needle):
    base = {"--dataset": "tweets", "--fraction": "0.02", "--seed": "13", "--method": "gpta"}
    flags = dict(zip(args[::2], args[1::2]))
    argv = [x for k, v in {**base, **flags}.items() for x in (k, v)]
    out = tmp_path / "out"
    p = gpta("run", *argv, "--out", str(out))
    assert p.returncode == 2, p.stderr
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], p.stderr
    assert not out.exists() or not any(out.glob("*.json"))


def test_list_datasets_and_methods():
    p = gpta("list", "datasets")
    assert p.returncode == 0
    assert "tweets" in p.stdout and "bbc-news" in p.stdout and "20" in p.stdout
    p = gpta("list", "methods")
    assert p.returncode == 0 and "gpta" in p.stdout and "finetune" in p.stdout


@pytest.mark.slow
def test_finetune_bbc_through_the_same_path(tmp_path):
    p = gpta("run", "--dataset", "bbc-news", "--fraction", "0.05", "--seed", "13", "--method", "finetune",
             "--out", str(tmp_path), *TINY_ARGS)
    assert p.returncode == 0, p.stderr
    [path] = [q for q in tmp_path.glob("*.json")]
    r = json.loads(path.read_text())
    assert r["method"] == "finetune" and r["prefix"] is None and r["costs"]["llm_calls"] == 0
    assert sum(r["dataset"]["n_train_per_class"].values()) == r["dataset"]["sizes"]["train"]
    assert min(r["dataset"]["n_train_per_class"].values()) >= 1
    assert len(r["curves"]) == 2 and r["metrics"]["test"]["accuracy"] > 0.2  # 5 classes: chance is 0.2
