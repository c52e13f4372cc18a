"""`gpta transfer`: reuse a learned prefix on another dataset, with no LLM call."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from baselines.transfer import read_source
from gpta.errors import UserError

DATA_DIR = Path(os.environ.get("GPTA_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
PREFIX = "Decide whether the opinion in this sentence is negative or positive."


def source_result(tmp_path: Path, **overrides) -> Path:
    """A result file as `gpta run --method gpta` writes it, reduced to the keys transfer reads."""
    result = {"schema_version": 1, "run_id": "sst2__gpta__f0.05__s13__abc", "status": "ok", "method": "gpta",
              "dataset": {"name": "sst2", "task": "classification", "domain": "sentiment"}, "prefix": PREFIX,
              **overrides}
    path = tmp_path / "source.json"
    path.write_text(json.dumps(result))
    return path


def test_read_source_takes_prefix_and_provenance(tmp_path):
    src = read_source(source_result(tmp_path))
    assert src["prefix"] == PREFIX
    # the file's name: a cell id must not depend on where the results folder lives
    assert src["source"] == {"result": "source.json", "dataset": "sst2", "task": "classification",
                             "domain": "sentiment", "method": "gpta", "run_id": "sst2__gpta__f0.05__s13__abc"}


@pytest.mark.parametrize("content, pattern", [
    (None, r"no such result file"),
    ("{not json", r"not a result JSON"),
    ("[1, 2]", r"top level is not an object"),
    (json.dumps({"method": "finetune", "prefix": None}), r"no prefix to transfer \(method 'finetune'\)"),
    (json.dumps({"method": "gpta", "prefix": "  "}), r"no prefix to transfer"),
    (json.dumps({"method": "gpta", "prefix": "p", "status": "failed"}), r"did not finish"),
])
def test_bad_sources_are_refused(tmp_path, content, pattern):
    path = tmp_path / "src.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError, match=pattern):
        read_source(path)


def test_transfer_config_carries_prefix_and_source(tmp_path):
    from gpta.cli import build_parser
    from gpta.commands.transfer import transfer_config

    args = build_parser().parse_args(["transfer", "--from", str(source_result(tmp_path)), "--dataset", "yelp",
                                      "--fraction", "0.1", "--seed", "3"])
    cfg = transfer_config(args)
    assert cfg.method == "transfer" and cfg.dataset == "yelp" and (cfg.fraction, cfg.seed) == (0.1, 3)
    assert cfg.options["prefix"] == PREFIX and cfg.options["source"]["dataset"] == "sst2"


@pytest.mark.slow  # trains MiniLM for a few steps on yelp (~20-40 s on 2 shared cores)
@pytest.mark.skipif(not (DATA_DIR / "yelp").is_dir(), reason=f"yelp not found under GPTA_DATA_DIR={DATA_DIR}")
def test_transfer_sst2_prefix_to_yelp_with_zero_llm_calls(tmp_path, capsys, monkeypatch):
    from gpta.cli import main

    monkeypatch.setenv("GPTA_DATA_DIR", str(DATA_DIR))
    out = tmp_path / "results"
    code = main(["transfer", "--from", str(source_result(tmp_path)), "--dataset", "yelp", "--fraction", "0.05",
                 "--seed", "13", "--out", str(out), "--set", "train.epochs=1", "--set", "train.min_steps_per_epoch=3"])
    assert code == 0, capsys.readouterr().err
    (path,) = out.glob("*.json")
    result = json.loads(path.read_text())
    assert result["method"] == "transfer" and result["dataset"]["name"] == "yelp"
    assert result["prefix"] == PREFIX
    assert result["config"]["options"]["source"]["dataset"] == "sst2"
    assert result["costs"]["llm_calls"] == 0 and result["llm"] is None
    assert not list(out.glob("*.ledger.jsonl")) or all(p.stat().st_size == 0 for p in out.glob("*.ledger.jsonl"))
    assert not (out / "llm_cache.sqlite").exists()
