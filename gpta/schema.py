"""The result schema: every key of a result JSON, one builder, one flattener, one atomic writer.

A result is one JSON per cell (``<out>/<run_id>.json``). ``build_result`` is the only place a
result dict is assembled (every method goes through it with explicit arguments); ``flatten`` is
the only place one is turned into a flat row (the sweep's results table, ``gpta/results.py`` and
the report's frames all read it); ``atomic_write`` is the only way results, ledgers and tables
reach disk (temp file + fsync + rename: a kill leaves the whole file or none). Imports nothing
heavy.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

SCHEMA_VERSION = 1

# Every common key of a result, in the order written. One line each: what it holds.
RESULT_KEYS: dict[str, str] = {
    "schema_version": "int: version of this schema (SCHEMA_VERSION)",
    "run_id": "str: the cell id: dataset__method__f<fraction>__s<seed>__<hash of the config>",
    "status": "'ok' (a failure is a separate <run_id>.failed.json written by the sweep)",
    "method": "str: the registry name of the method (gpta/registry.py)",
    "config": "dict: the resolved RunConfig (RunConfig.to_dict): every setting, option and input",
    "seeds": "dict: data_seed (the sample), train_seed (init, order, dropout), split_seed",
    "dataset": "dict: name, task, domain, metric, labels, source, protocol, sizes (with *_evaluated), "
               "n_train_per_class, n_train_rule, test_majority_rate (a property of the test set), "
               "train_majority (the training sample's majority class scored on test: the reference line), "
               "truncated_at_max_text_tokens, dev_protocol, the loader's and the task's extras",
    "metric": "str: the headline metric name (accuracy, or f1 for QA)",
    "identity": "dict: what the cell id hashes besides the config: protocol_version, data file hashes, "
                "precision (resolved) and precision_used (what training actually ran in); model (a local "
                "encoder folder's file hashes) and llm (a GGUF named by path: its sha256) where they apply; "
                "and, recorded but not hashed, method_revision",
    "metrics": "dict: train/dev/test -> metric values at the selected checkpoint; test_predictions",
    "curves": "list: one row per epoch (round, step, train and dev loss and metric, prefix_tokens)",
    "prefix": "str | None: the prefix the selected checkpoint was trained with (None: no prefix)",
    "prefix_tokens": "int: its length in encoder tokens",
    "selected": "dict | None: epoch, round and dev metric of the selected checkpoint (None: no selection)",
    "llm": "dict | None: the LLM's identity (backend, model, file hash) when the method used one; embedded: "
           "also its name, GGUF metadata (name, architecture, quantization...), licence and where the licence was read",
    "costs": "dict: llm_calls, prompt/completion tokens, llm_seconds, cache hits, train/eval seconds, "
             "train_steps, wall_seconds",
    "env": "dict: package versions, git commit and dirty flag, device, precision, threads, platform, host",
    "timestamps": "dict: finished (UTC ISO), wall_seconds",
}
# Keys a method adds beside the common ones (its own record). A new method documents its keys here.
METHOD_KEYS: dict[str, str] = {
    "prefix_history": "gpta, textual-gradient: one entry per round (prefix, source, dev before/after)",
    "conversation": "gpta, textual-gradient, llm-prefix: every message exchanged with the LLM",
    "rounds_plan": "gpta, textual-gradient: epochs per round",
    "fallbacks": "gpta, textual-gradient: rounds whose LLM reply was unusable (the previous prefix kept)",
    "prefix_source": "manual-prefix, llm-prefix: where the fixed prefix came from (registry text, LLM, fallback)",
    "prefix_note": "llm-prefix: why the LLM's reply was cleaned or replaced, if it was",
    "training_examples_shown": "textual-gradient: training texts shown to the LLM in all",
    "prefix_tokens_target": "random-prefix: the length drawn",
    "prefix_tokens_source": "random-prefix: where that length came from (the gpta run id, an option, default)",
    "transfer_source": "transfer: the source result (file name, dataset, method, run id)",
    "prompt_tuning": "prompt-tuning: virtual tokens, learning rates, trainable params, weight changes",
    "setfit": "setfit: its options, contrastive steps, head, encoder",
    "zero_shot": "llm-zero-shot: scoring used (label log-likelihood or generation), evaluated inputs, parse counts, replies",
    "prefix_from": "setfit-gpta, setfit-manual: the prefix used and where it came from (the same cell's gpta run id)",
    "overfitting": "every trained method: dev loss minus train loss at the selected checkpoint, best minus last dev metric",
    "dialogue": "gpta, textual-gradient: proposals, new, adopted, shares and LLM accuracy (same-weights A/B)",
    "layout": "empty-prefix: the input layout of the layout control",
    "test_interval": "llm-zero-shot: 95% sampling interval of the test metric over test items (Wilson; bootstrap for macro-F1)",
}


def build_result(*, run_id: str, cfg: Any, dataset: dict[str, Any], metric: str, metrics: dict[str, Any],
                 curves: list[dict[str, Any]], prefix: str | None, prefix_tokens: int,
                 selected: dict[str, Any] | None, method_keys: dict[str, Any], llm: dict[str, Any] | None,
                 identity: dict[str, Any] | None = None,
                 costs: dict[str, Any], env: dict[str, Any], wall_seconds: float) -> dict[str, Any]:
    """A result dict with every common key (RESULT_KEYS) plus the method's own (METHOD_KEYS)."""
    clash = sorted(set(method_keys) & set(RESULT_KEYS))
    if clash:
        raise ValueError(f"method keys {clash} would overwrite common result keys")
    wall = round(wall_seconds, 3)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "status": "ok",
        "method": cfg.method,
        "config": cfg.to_dict(),
        "seeds": {"data_seed": cfg.resolved_data_seed, "train_seed": cfg.train_seed, "split_seed": "fixed per dataset"},
        "dataset": dataset,
        "metric": metric,
        "identity": identity,
        "metrics": metrics,
        "curves": curves,
        "prefix": prefix,
        "prefix_tokens": prefix_tokens,
        "selected": selected,
        **method_keys,
        "llm": llm,
        "costs": {**costs, "wall_seconds": wall},
        "env": env,
        "timestamps": {"finished": datetime.now(timezone.utc).isoformat(timespec="seconds"), "wall_seconds": wall},
    }


# -- one flattener ---------------------------------------------------------------------------------

COST_KEYS = ("llm_calls", "prompt_tokens", "completion_tokens", "llm_seconds", "cache_hits",
             "train_seconds", "eval_seconds", "train_steps", "wall_seconds")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def flatten(result: dict[str, Any]) -> dict[str, Any]:
    """One flat row for a result or a sweep's failure record; missing values are None.

    The sweep's table (gpta/sweep/table.py) and the report's frames (reports/load.py) select and
    name their columns from this row; nothing else reads a result's nesting for them.
    """
    cfg = result.get("config") if isinstance(result.get("config"), dict) else {}
    data = result.get("dataset") if isinstance(result.get("dataset"), dict) else {}
    metrics = result.get("metrics") if isinstance(result.get("metrics"), dict) else {}
    costs = result.get("costs") if isinstance(result.get("costs"), dict) else {}
    env = result.get("env") if isinstance(result.get("env"), dict) else {}
    metric = result.get("metric") or data.get("metric")
    options = cfg.get("options") if isinstance(cfg.get("options"), dict) else {}
    source = options.get("source")
    history = result.get("prefix_history") or []
    revisions = history[1:]  # rounds whose prefix came from a revision (feedback + reply)
    dialogue = result.get("dialogue") if isinstance(result.get("dialogue"), dict) else {}  # gpta/gpta_loop.py
    proposals = [p for h in history if isinstance(h, dict) for p in (h.get("proposals") or [])]
    error = result.get("error")

    def split_metric(split: str, name: str | None) -> float | None:
        values = metrics.get(split) if isinstance(metrics.get(split), dict) else {}
        return _number(values.get(name)) if name else None

    row = {
        "run_id": result.get("run_id"),
        "status": result.get("status", "ok"),
        "method": result.get("method") or cfg.get("method"),
        "dataset": data.get("name") or cfg.get("dataset"),
        "domain": data.get("domain"),
        "task": data.get("task"),
        "fraction": cfg.get("fraction"),
        "n_train": (data.get("sizes") or {}).get("train"),
        "seed": cfg.get("seed"),
        "data_seed": cfg.get("data_seed", cfg.get("seed")),
        "model": cfg.get("model"),
        "llm": cfg.get("llm"),
        "metric": metric,
        "train_metric": split_metric("train", metric),
        "dev_metric": split_metric("dev", metric),
        "test_metric": split_metric("test", metric),
        "test_macro_f1": split_metric("test", "macro_f1"),
        "test_em": split_metric("test", "exact_match"),
        "test_f1": split_metric("test", "f1"),
        "majority": _number(data.get("test_majority_rate")),
        **{k: costs.get(k) for k in COST_KEYS},
        "epochs": (cfg.get("train") or {}).get("epochs"),
        "rounds": (cfg.get("gpta") or {}).get("rounds"),
        "test_max": (cfg.get("train") or {}).get("test_max"),
        "prefix": result.get("prefix"),
        "prefix_tokens": result.get("prefix_tokens"),
        "source_dataset": source.get("dataset") if isinstance(source, dict) else None,
        "inputs_from": ";".join(f"{k}={v}" for k, v in sorted((cfg.get("inputs") or {}).items())
                                if k.endswith("_from")) or None,
        "history_rounds": len(history),
        "revisions": len(revisions),
        # adopted proposals that beat the incumbent on the same weights (not a rise after more training)
        "improved_rounds": sum(bool(p.get("adopted") and p.get("beats_incumbent")) for p in proposals),
        "fallbacks": sum(isinstance(h, dict) and h.get("source") == "fallback" for h in history),
        # LLM accuracy: share of genuinely new proposals that beat the incumbent on the same weights;
        # None when the run proposed nothing new (no credit) or predates the record
        "llm_accuracy": _number(dialogue.get("llm_accuracy")),
        "proposals": dialogue.get("proposals"),
        "new_proposals": dialogue.get("new"),
        "share_new": _number(dialogue.get("share_new")),
        "adopted": dialogue.get("adopted"),
        "share_adopted": _number(dialogue.get("share_adopted")),
        "git_commit": (env.get("git") or {}).get("commit"),
        "git_dirty": (env.get("git") or {}).get("dirty"),
        "device": env.get("device_name") or env.get("device"),
        "precision": env.get("precision"),
        "finished": (result.get("timestamps") or {}).get("finished"),
        "error": error.get("message") if isinstance(error, dict) else None,
    }
    prompt, completion = row["prompt_tokens"], row["completion_tokens"]
    row["tokens"] = (prompt or 0) + (completion or 0) if prompt is not None or completion is not None else None
    return row


# -- one atomic writer -----------------------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """``write(tmp_path)`` then fsync and rename onto ``path``: readers see the old file or the new
    one, never a part. The file gets the usual permissions (mkstemp would leave 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
