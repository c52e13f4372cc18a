"""reports/dialogue.py: the dialogue section's numbers from the per-proposal record (no model)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from reports import dialogue
from reports.document import Document


def _result(run_id, seed, proposals_per_round, adopt="if-better"):
    history, gains, counts = [], [], {"new": 0, "echo": 0, "duplicate": 0, "fallback": 0}
    beat = adopted = 0
    for r, props in enumerate(proposals_per_round + [[]]):
        h = {"round": r, "prefix": f"prefix {r}", "revision": "first" if r == 0 else "changed", "source": "llm"}
        if props:
            h["proposals"] = props
            for p in props:
                counts[p["status"]] += 1
                beat += p["beats_incumbent"]
                if p["adopted"]:
                    adopted += 1
                    gains.append(p["gain"])
        history.append(h)
    n = sum(counts.values())
    return {"run_id": run_id, "method": "gpta", "metric": "accuracy", "dataset": {"name": "tweets"},
            "config": {"fraction": 0.02, "seed": seed}, "prefix_history": history,
            "dialogue": {"candidates": 2, "adopt": adopt, "reply_line": "first-new", "rounds_with_proposals": len(proposals_per_round),
                         "proposals": n, **counts, "beat_incumbent": beat, "adopted": adopted,
                         "adopted_gains": gains, "llm_accuracy": beat / counts["new"] if counts["new"] else None}}


def _p(status, gain=0.0, beats=False, adopted=False):
    return {"status": status, "gain": gain, "beats_incumbent": beats, "adopted": adopted}


def test_dialogue_rows_table_and_prefixes():
    raw = {
        "a": _result("a", 13, [[_p("new", 0.02, True, True), _p("echo")], [_p("new", -0.01), _p("fallback")]]),
        "b": _result("b", 21, [[_p("new", 0.04, True, True), _p("duplicate")], [_p("echo"), _p("echo")]]),
    }
    (row,) = dialogue.dialogue_rows(raw)
    assert row["setting"] == "K=2, adopt=if-better" and row["runs"] == 2 and row["rounds"] == 4
    old = _result("c", 42, [[_p("echo")]])
    del old["dialogue"]["reply_line"]  # a result from before gpta.reply_line: line 1 was read
    assert dialogue._setting(old) == "K=2, adopt=if-better, line=first"
    assert row["proposals_per_round"] == 2 and row["share_new"] == 3 / 8 and row["share_adopted"] == 2 / 8
    assert row["llm_accuracy"] == 2 / 3
    assert row["gain"].n == 2 and row["gain"].mean == pytest.approx(0.03)
    assert row["gain"].ci_low < 0.03 < row["gain"].ci_high
    doc = Document("t")
    table = dialogue.render(doc, raw, pd.DataFrame())
    md = doc.to_markdown()
    assert "67% (2/3)" in md and ("+3.0 [" in md or "+3.0 \\[" in md) and "(n = 2)" in md and "“prefix 1”" in md
    assert table.rows[0][4].text == "38%"


def test_echo_only_runs_get_no_llm_accuracy():
    raw = {"a": _result("a", 13, [[_p("echo"), _p("echo")]], adopt="always")}
    (row,) = dialogue.dialogue_rows(raw)
    assert row["new"] == 0 and math.isnan(row["llm_accuracy"]) and row["gain"].n == 0
    table = dialogue.dialogue_table([row])
    assert table.rows[0][6].text == "n/a (0/0)" and table.rows[0][7].text == "no adoption"
