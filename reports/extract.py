"""Per-run numbers the report needs beyond ``reports.load``'s columns.

``enrich(runs, raw)`` adds one column per number (and recounts load's ``fallbacks``: see
``fallbacks``); a number a result does not record is NaN (and the text that uses it says "not
recorded in these results"). Each number is read from the one
place the result writer puts it (gpta/schema.py ``build_result``; the loop's records:
gpta/gpta_loop.py ``DIALOGUE_KEYS``; costs: gpta/llm/base.py ``CallLog.summary``), named in
``PATHS`` below; no fallback paths for keys the writer never produced.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from reports.protocol import is_paper_arm, protocol_of
from reports.roles import UNDER_TEST, reference_methods


NOT_RECORDED = "not recorded in these results"

# Where the writer puts each number a report reads (dotted paths into a result).
PATHS = {
    "llm_backend": "llm.backend", "llm_model": "llm.model", "llm_config": "config.llm",
    # cold cost = as if nothing were cached (a cache hit counts the original call); paid = this run's
    "llm_seconds_cold": "costs.llm_seconds_cold", "llm_seconds_paid": "costs.llm_seconds_paid",
    "prompt_tokens": "costs.prompt_tokens", "completion_tokens": "costs.completion_tokens",
    "llm_calls": "costs.llm_calls", "train_seconds": "costs.train_seconds", "eval_seconds": "costs.eval_seconds",
    "wall_seconds": "costs.wall_seconds",
    "train_loss": "metrics.train.loss", "dev_loss": "metrics.dev.loss", "test_loss": "metrics.test.loss",
    "selected_dev": "selected.dev_metric", "train_majority_on_test": "dataset.train_majority.test_accuracy",
    "test_evaluated": "dataset.sizes.test_evaluated", "zero_shot_evaluated": "zero_shot.n_evaluated",
    "dev_evaluated": "dataset.sizes.dev_evaluated", "history": "prefix_history", "dialogue": "dialogue",
    "llm_accuracy": "dialogue.llm_accuracy", "prefix_source": "prefix_source",
}


def get(obj: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path of a result (``PATHS``), or ``default`` when absent or None."""
    cur = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return default if cur is None else cur


def num(obj: Any, path: str) -> float:
    try:
        return float(get(obj, path))
    except (TypeError, ValueError):
        return math.nan


def llm_label(result: dict[str, Any]) -> str | None:
    """The LLM a result used, as one short label ("embedded:smollm2-135m"); None if it used none."""
    model = get(result, PATHS["llm_model"])
    if not model:
        return None
    backend = get(result, PATHS["llm_backend"])
    return f"{backend}:{model}" if backend and not str(model).startswith(f"{backend}:") else str(model)


def llm_name(result: dict[str, Any], missing: str = "?") -> str:
    """``llm_label``, else the LLM the config asked for (a result that recorded no identity), else ``missing``."""
    return llm_label(result) or str(get(result, PATHS["llm_config"]) or missing)


def _history(result: dict[str, Any]) -> list[dict[str, Any]]:
    h = get(result, PATHS["history"]) or []
    return [e for e in h if isinstance(e, dict)]


def revision_kinds(result: dict[str, Any]) -> dict[str, int]:
    """Counts over the LLM's proposals, by the loop's one echo rule (gpta/prefix.py).

    A result with the loop's ``dialogue`` summary: its counts (new, echo, fragment and rejected
    proposals; rounds whose prefix text did not change). An older result: each round's
    ``revision`` field (changed -> new, echo, fallback, kept).
    """
    hist = _history(result)
    out = {"revisions": 0, "new": 0, "echo": 0, "fallback": 0, "unchanged": 0, "kept": 0}
    out["unchanged"] = sum(1 for prev, cur in zip(hist, hist[1:])
                           if str(cur.get("prefix") or "") == str(prev.get("prefix") or ""))
    dlg = get(result, PATHS["dialogue"])
    if isinstance(dlg, dict) and "proposals" in dlg:
        out["revisions"] = int(dlg.get("proposals") or 0)
        out["new"] = int(dlg.get("new") or 0)
        out["echo"] = int(dlg.get("echo") or 0)
        out["fallback"] = int(dlg.get("fragment") or 0) + int(dlg.get("rejected") or 0)
        return out
    for e in hist[1:]:
        out["revisions"] += 1
        kind = {"changed": "new", "echo": "echo", "fallback": "fallback", "kept": "kept"}.get(str(e.get("revision")))
        if kind:
            out[kind] += 1
    return out


def fallbacks(result: dict[str, Any]) -> int:
    """How many of the run's prefixes are a stand-in because the LLM's reply was unusable.

    A run with a prefix history (gpta, textual-gradient): its rounds whose source is "fallback"
    (gpta.schema.flatten counts the same). A run with one LLM-written prefix and no history
    (llm-prefix): 1 when its ``prefix_source`` is "fallback" (our template), else 0; flatten
    reads only the history, so it counts 0 there.
    """
    hist = _history(result)
    if hist:
        return sum(e.get("source") == "fallback" for e in hist)
    return int(get(result, PATHS["prefix_source"]) == "fallback")


STAND_IN_MARK = "\u2021"  # double dagger: marks runs tested with our stand-in template (tables, figures, claims)


def stand_in(result: dict[str, Any]) -> bool:
    """Whether the prefix the run was tested with is our stand-in template, not the LLM's text
    (every LLM reply it could have used was unusable): the first history entry with that prefix,
    where the text came from, is a fallback (a later round that kept it is recorded as "incumbent"),
    or, without a history (llm-prefix), its ``prefix_source`` is "fallback". Tables, figures and
    claims mark such runs: they are labelled with the LLM, but never trained with its words."""
    hist = _history(result)
    if hist:
        tested = str(result.get("prefix") or "")
        origin = next((e for e in hist if str(e.get("prefix") or "") == tested), None)
        return origin is not None and origin.get("source") == "fallback"
    return get(result, PATHS["prefix_source"]) == "fallback"


def bool_flags(col: pd.Series) -> pd.Series:
    """A boolean column as read back (object dtype, NaN where a run has no value): NaN counts as False."""
    return col.astype(object).where(col.notna(), False).astype(bool)


def stand_in_flags(runs: pd.DataFrame) -> pd.Series:
    """The ``stand_in`` column as booleans (False where a run has no value, or no such column)."""
    return bool_flags(runs["stand_in"]) if "stand_in" in runs else pd.Series(False, index=runs.index)


def stand_in_count(runs: pd.DataFrame) -> tuple[int, int]:
    """(runs tested with our stand-in template, runs)."""
    return int(stand_in_flags(runs).sum()), len(runs)


def stand_in_mark(k: int, n: int) -> str:
    """The mark of a cell with ``k`` stand-in runs of ``n``: " ‡" when all are, " ‡ (k of n)" when some, else ""."""
    return "" if not k else f" {STAND_IN_MARK}" if k == n else f" {STAND_IN_MARK} ({k} of {n})"


def stand_in_suffix(runs: pd.DataFrame) -> str:
    """The mark a cell over ``runs`` carries (``stand_in_mark``)."""
    return stand_in_mark(*stand_in_count(runs))


def prefix_changes(result: dict[str, Any]) -> list[int]:
    """Round indices at which the prefix text actually changed from the previous round."""
    hist = _history(result)
    return [e.get("round", i) for i, e in enumerate(hist)
            if i > 0 and str(e.get("prefix") or "") != str(hist[i - 1].get("prefix") or "")]


def llm_accuracy(result: dict[str, Any]) -> tuple[float, str]:
    """("LLM accuracy", how it was measured): the loop's recorded value (gpta/gpta_loop.py).

    The share of new proposals (by the echo rule) whose same-weights dev gain over the incumbent
    passes the loop's paired test. NaN with "no new proposal (no credit)" when the loop recorded
    its A/B and nothing new was proposed; NaN with "not recorded" for a result without it.
    """
    v = num(result, PATHS["llm_accuracy"])
    if not math.isnan(v):
        dlg = get(result, PATHS["dialogue"]) or {}
        test = dlg.get("adopt_test") if isinstance(dlg, dict) else None
        return v, "recorded (new proposals whose same-weights dev gain passes the paired test)" if test else "recorded"
    if isinstance(get(result, PATHS["dialogue"]), dict):
        return math.nan, "no new proposal (no credit)"
    return math.nan, NOT_RECORDED


def last_dev(result: dict[str, Any], metric: str) -> float:
    v = num(result, f"overfitting.last_dev_{metric}")
    if not math.isnan(v):
        return v
    curves = result.get("curves") or []
    if curves and isinstance(curves[-1], dict) and curves[-1].get(f"dev_{metric}") is not None:
        return float(curves[-1][f"dev_{metric}"])
    return math.nan


def enrich(runs: pd.DataFrame, raw: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Add the report's per-run numbers (NaN = not recorded) to the load() frame."""
    runs = runs.copy()
    cols: dict[str, list[Any]] = {c: [] for c in (
        "llm_label", "train_loss", "dev_loss", "loss_gap", "best_dev", "last_dev", "best_minus_last",
        "test_n", "dev_n", "cold_llm_seconds", "cost_llm_seconds", "cost_llm_seconds_cold", "cost_tokens",
        "cost_tokens_cold", "cost_calls", "train_majority", "llm_acc", "llm_acc_how", "rev_total", "rev_new",
        "rev_echo", "rev_fallback", "rev_unchanged", "is_reference", "protocol", "paper_arm",
        "test_loss", "test_gap", "train_seconds", "eval_seconds", "cell_seconds_cold", "fallbacks", "stand_in")}
    refs = reference_methods()
    for r in runs.itertuples():
        res = raw.get(r.run_id) or {}
        uses_llm = bool(res.get("llm")) or r.method in refs or (r.llm_calls or 0) > 0
        cols["llm_label"].append(llm_name(res) if uses_llm else None)
        tl, dl, test_loss = (num(res, PATHS[k]) for k in ("train_loss", "dev_loss", "test_loss"))
        cols["train_loss"].append(tl)
        cols["dev_loss"].append(dl)
        cols["loss_gap"].append(dl - tl)  # dev loss minus train loss, selected checkpoint (shown beside)
        cols["test_loss"].append(test_loss)
        cols["test_gap"].append(test_loss - tl)  # claim 3: test loss minus train loss, selected checkpoint
        best, last = num(res, PATHS["selected_dev"]), last_dev(res, r.metric)
        cols["best_dev"].append(best)
        cols["last_dev"].append(last)
        cols["best_minus_last"].append(best - last)
        test_n = num(res, PATHS["test_evaluated"])
        cols["test_n"].append(test_n if not math.isnan(test_n) else num(res, PATHS["zero_shot_evaluated"]))
        cols["dev_n"].append(num(res, PATHS["dev_evaluated"]))
        cold_s = num(res, PATHS["llm_seconds_cold"])
        cold = not math.isnan(cold_s)
        cols["cold_llm_seconds"].append(cold_s)
        cols["cost_llm_seconds"].append(cold_s if cold else num(res, PATHS["llm_seconds_paid"]))
        cols["cost_llm_seconds_cold"].append(cold)
        # tokens and calls are counted for cache hits too: they are cold (gpta/llm/base.py)
        cols["cost_tokens"].append(np.nansum([num(res, PATHS["prompt_tokens"]), num(res, PATHS["completion_tokens"])]))
        cols["cost_tokens_cold"].append(not math.isnan(num(res, PATHS["prompt_tokens"])))
        cols["cost_calls"].append(num(res, PATHS["llm_calls"]))
        cols["train_majority"].append(num(res, PATHS["train_majority_on_test"]))
        acc, acc_how = llm_accuracy(res)
        cols["llm_acc"].append(acc)
        cols["llm_acc_how"].append(acc_how)
        kinds = revision_kinds(res)
        for k in ("total", "new", "echo", "fallback", "unchanged"):
            cols[f"rev_{k}"].append(kinds["revisions" if k == "total" else k])
        cols["fallbacks"].append(fallbacks(res))  # replaces load's count, which misses llm-prefix's fallback
        cols["stand_in"].append(stand_in(res))
        cols["is_reference"].append(r.method in refs)
        cols["protocol"].append(protocol_of(res))
        cols["paper_arm"].append(r.method == UNDER_TEST and is_paper_arm(res))
        cols["train_seconds"].append(num(res, PATHS["train_seconds"]))
        cols["eval_seconds"].append(num(res, PATHS["eval_seconds"]))
        # the cell's wall time as if its LLM calls had not been cached: wall - paid LLM s + cold LLM s
        paid = num(res, PATHS["llm_seconds_paid"])
        cols["cell_seconds_cold"].append(num(res, PATHS["wall_seconds"]) + (cold_s - paid if cold and paid == paid else 0.0))
    for c, v in cols.items():
        runs[c] = v
    return runs
