"""Per-run numbers the report needs beyond ``reports.load``'s columns, read through ``reports.keys``.

``enrich(runs, raw)`` adds one column per number; a number a result does not record is NaN (and
the text that uses it says "not recorded in these results"). Gold test labels are read from the
result when it stores them; otherwise they are re-derived from the dataset exactly as the run
selected its test subset (``gpta.pipeline._subset(test, train.test_max, seed 0)``), and kept only
if scoring the stored predictions against them reproduces the recorded test accuracy.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from reports import keys as K
from reports.protocol import is_paper_arm, loop_settings, protocol_of
from reports.roles import UNDER_TEST, reference_methods


def _history(result: dict[str, Any]) -> list[dict[str, Any]]:
    h = K.get(result, K.HISTORY) or []
    return [e for e in h if isinstance(e, dict)]


def revision_kinds(result: dict[str, Any]) -> dict[str, int]:
    """Counts over the LLM's revisions (rounds after the first): new text, echo, fallback."""
    hist = _history(result)
    out = {"revisions": 0, "new": 0, "echo": 0, "fallback": 0, "unchanged": 0, "kept": 0}
    seen: list[str] = []
    for i, e in enumerate(hist):
        text = str(e.get("prefix") or "")
        rev = K.get(e, K.ENTRY_REVISION)
        if i > 0 and rev is not None:  # recorded by the loop: first | changed | echo | kept | fallback
            out["revisions"] += 1
            kind = {"changed": "new", "echo": "echo", "fallback": "fallback", "kept": "kept"}.get(str(rev))
            if kind:
                out[kind] += 1
            if text == str(hist[i - 1].get("prefix") or ""):
                out["unchanged"] += 1
        elif i > 0:
            out["revisions"] += 1
            src = str(K.get(e, K.ENTRY_SOURCE) or "")
            echo_flag = K.get(e, K.ENTRY_ECHO)
            if src == "fallback":
                out["fallback"] += 1
            elif src == "echo" or (echo_flag not in (None, False)) or text in seen:
                out["echo"] += 1  # the LLM returned a prefix it had already used
            else:
                out["new"] += 1
            if text == str(hist[i - 1].get("prefix") or ""):
                out["unchanged"] += 1
        seen.append(text)
    return out


def prefix_changes(result: dict[str, Any]) -> list[int]:
    """Round indices at which the prefix text actually changed from the previous round."""
    hist = _history(result)
    return [e.get("round", i) for i, e in enumerate(hist)
            if i > 0 and str(e.get("prefix") or "") != str(hist[i - 1].get("prefix") or "")]


def llm_accuracy(result: dict[str, Any]) -> tuple[float, str]:
    """("LLM accuracy", how it was measured).

    Preferred: a recorded value (issue-14's definition). Else, with weights continuing across
    rounds, the same-weights comparison the history allows: revision r's prefix scored on dev
    before round r's training (``dev_before``) against the previous prefix at the end of round
    r-1 (``dev_metric``): the same weights, two prefixes. Else the round-to-round share
    (confounded with further training), labelled as such.
    """
    v = K.num(result, K.LLM_ACCURACY)
    if not math.isnan(v):
        return v, "recorded"
    if isinstance(K.get(result, K.DIALOGUE), dict):  # recorded, and nothing new was proposed: no credit
        return math.nan, "no new proposal (no credit)"
    hist = _history(result)
    if len(hist) < 2:
        return math.nan, "no revision"
    sw = []
    for prev, cur in zip(hist, hist[1:]):
        a, b = K.get(cur, K.ENTRY_SAME_WEIGHTS_DEV), K.get(cur, K.ENTRY_SAME_WEIGHTS_PREV)
        if a is not None and b is not None:
            sw.append(float(a) > float(b))
    if sw:
        return float(np.mean(sw)), "same-weights dev (recorded)"
    weights = loop_settings(result).get("weights")
    if weights == "continue" and all("dev_before" in e for e in hist[1:]) and all("dev_metric" in e for e in hist):
        return float(np.mean([cur["dev_before"] > prev["dev_metric"] for prev, cur in zip(hist, hist[1:])])), \
            "same-weights dev (derived: new prefix vs previous prefix on the weights at the round boundary)"
    imp = [bool(e[k]) for e in hist[1:] for k in ("improved_over_previous",) if k in e]
    if imp:
        return float(np.mean(imp)), "round-to-round dev (confounded with further training)"
    return math.nan, "no revision"


def last_dev(result: dict[str, Any], metric: str) -> float:
    v = K.num(result, K.LAST_DEV)
    if not math.isnan(v):
        return v
    curves = result.get("curves") or []
    if curves and curves[-1].get(f"dev_{metric}") is not None:
        return float(curves[-1][f"dev_{metric}"])
    return math.nan


def _cost(result: dict[str, Any], cold: tuple[str, ...], paid: tuple[str, ...] | None) -> tuple[float, bool]:
    v = K.num(result, cold)
    if not math.isnan(v):
        return v, True
    return (K.num(result, paid) if paid else math.nan), False


@lru_cache(maxsize=64)
def _derived_test_labels(dataset: str, options_json: str, test_max: int) -> tuple[int, ...] | None:
    try:
        from gpta.data import load_splits
        from gpta.data.spec import get_dataset
        from gpta.pipeline import _subset

        spec = get_dataset(dataset, **json.loads(options_json))
        if spec.task != "classification":
            return None
        splits = load_splits(spec)
        return tuple(int(e.label) for e in _subset(splits.test, int(test_max or 0), 0))
    except Exception:  # data not on this machine, unknown dataset, changed protocol: not derivable
        return None


def gold_labels(result: dict[str, Any]) -> tuple[np.ndarray | None, str]:
    """(gold labels aligned with ``metrics.test_predictions``, where they came from) or (None, why)."""
    preds = K.get(result, K.TEST_PREDICTIONS)
    if not isinstance(preds, list) or not preds or not all(isinstance(p, (int, float)) for p in preds[:5]):
        return None, "no stored per-example test predictions"
    gold = K.get(result, K.TEST_GOLD)
    how = "stored in the result"
    if gold is None:
        cfg = result.get("config") or {}
        ds = result.get("dataset") if isinstance(result.get("dataset"), dict) else {}
        name = ds.get("name") or cfg.get("dataset")
        labels = _derived_test_labels(str(name), json.dumps(cfg.get("dataset_options") or {}, sort_keys=True),
                                      int((cfg.get("train") or {}).get("test_max") or 0))
        if labels is None:
            return None, "gold labels not stored and the dataset is not loadable here"
        labels_arr = np.asarray(labels)
        zs = result.get("zero_shot") if isinstance(result.get("zero_shot"), dict) else None
        if zs is not None:  # llm-zero-shot scores a further seeded subset of the test subset
            from gpta.pipeline import _subset

            labels_arr = np.asarray(_subset(list(labels), int(zs.get("max_eval") or 0), 0))
        gold, how = labels_arr, "re-derived from the dataset (not stored in the result)"
    gold = np.asarray(gold, dtype=int)
    pred = np.asarray(preds, dtype=int)
    if len(gold) != len(pred):
        return None, f"gold labels ({len(gold)}) do not align with predictions ({len(pred)})"
    acc = K.num(result, ("metrics.test.accuracy",))
    if not math.isnan(acc) and abs(float((gold == pred).mean()) - acc) > 1e-6:
        return None, "re-derived gold labels do not reproduce the recorded accuracy"
    return gold, how


def train_majority_on_test(result: dict[str, Any], gold: np.ndarray | None) -> float:
    """The training sample's majority class scored on the evaluated test items."""
    v = K.num(result, K.TRAIN_MAJORITY_ON_TEST)
    if not math.isnan(v):
        return v
    per_class = K.get(result, K.TRAIN_PER_CLASS)
    names = (result.get("dataset") or {}).get("label_names") or []
    if gold is None or not isinstance(per_class, dict) or not names:
        return math.nan
    counts = [per_class.get(n, 0) for n in names]
    top = int(np.argmax(counts))  # ties: the first label, as np.argmax (and a majority classifier) picks
    return float((gold == top).mean())


def enrich(runs: pd.DataFrame, raw: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Add the report's per-run numbers (NaN = not recorded) to the load() frame."""
    runs = runs.copy()
    cols: dict[str, list[Any]] = {c: [] for c in (
        "llm_label", "train_loss", "dev_loss", "loss_gap", "best_dev", "last_dev", "best_minus_last",
        "test_n", "dev_n", "cold_llm_seconds", "cost_llm_seconds", "cost_llm_seconds_cold", "cost_tokens",
        "cost_tokens_cold", "cost_calls", "train_majority", "llm_acc", "llm_acc_how", "rev_total", "rev_new",
        "rev_echo", "rev_fallback", "rev_unchanged", "gold_how", "is_reference", "protocol", "paper_arm",
        "test_loss", "test_gap", "train_seconds", "eval_seconds")}
    refs = reference_methods()
    for r in runs.itertuples():
        res = raw.get(r.run_id) or {}
        metric = r.metric
        uses_llm = bool(res.get("llm")) or r.method in refs or (r.llm_calls or 0) > 0
        cols["llm_label"].append((K.llm_label(res) or str(K.get(res, K.LLM_CONFIG) or "?")) if uses_llm else None)
        tl, dl = K.num(res, K.TRAIN_LOSS), K.num(res, K.DEV_LOSS)
        cols["train_loss"].append(tl)
        cols["dev_loss"].append(dl)
        cols["loss_gap"].append(dl - tl)
        best = K.num(res, K.SELECTED_DEV)
        last = last_dev(res, metric)
        cols["best_dev"].append(best)
        cols["last_dev"].append(last)
        cols["best_minus_last"].append(best - last)
        cols["test_n"].append(K.num(res, K.TEST_EVALUATED))
        cols["dev_n"].append(K.num(res, K.DEV_EVALUATED))
        secs, cold_s = _cost(res, K.COLD_LLM_SECONDS, None)
        cols["cold_llm_seconds"].append(secs)
        paid_s = K.num(res, K.PAID_LLM_SECONDS)
        cols["cost_llm_seconds"].append(secs if cold_s else paid_s)
        cols["cost_llm_seconds_cold"].append(cold_s)
        pt, cold_pt = _cost(res, K.COLD_PROMPT_TOKENS, K.PAID_PROMPT_TOKENS)
        ct, _ = _cost(res, K.COLD_COMPLETION_TOKENS, K.PAID_COMPLETION_TOKENS)
        cols["cost_tokens"].append(np.nansum([pt, ct]))
        cols["cost_tokens_cold"].append(cold_pt)
        calls, _ = _cost(res, K.COLD_LLM_CALLS, K.PAID_LLM_CALLS)
        cols["cost_calls"].append(calls)
        gold, how = gold_labels(res) if r.task == "classification" else (None, "not a classification task")
        cols["gold_how"].append(how)
        cols["train_majority"].append(train_majority_on_test(res, gold) if r.task == "classification" else math.nan)
        acc, acc_how = llm_accuracy(res)
        cols["llm_acc"].append(acc)
        cols["llm_acc_how"].append(acc_how)
        kinds = revision_kinds(res)
        for k in ("total", "new", "echo", "fallback", "unchanged"):
            cols[f"rev_{k}"].append(kinds["revisions" if k == "total" else k])
        cols["is_reference"].append(r.method in refs)
        cols["protocol"].append(protocol_of(res))
        cols["paper_arm"].append(r.method == UNDER_TEST and is_paper_arm(res))
        test_loss = K.num(res, ("metrics.test.loss",))
        cols["test_loss"].append(test_loss)
        cols["test_gap"].append(test_loss - tl)  # claim 3: test loss minus train loss, selected checkpoint
        cols["train_seconds"].append(K.num(res, ("costs.train_seconds",)))
        cols["eval_seconds"].append(K.num(res, ("costs.eval_seconds",)))
    for c, v in cols.items():
        runs[c] = v
    return runs


def correctness(result: dict[str, Any]) -> np.ndarray | None:
    gold, _ = gold_labels(result)
    if gold is None:
        return None
    return np.asarray(K.get(result, K.TEST_PREDICTIONS), dtype=int) == gold
