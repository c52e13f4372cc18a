"""reports/dialogue.py: the dialogue section's numbers from the per-proposal record (no model)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from reports import dialogue
from reports.document import Document


def _result(run_id, seed, proposals_per_round, adopt="if-better"):
    history, gains, counts = [], [], {"new": 0, "echo": 0, "fragment": 0, "rejected": 0}
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
            "dialogue": {"candidates": 2, "adopt": adopt, "reply_line": "first-new", "echo_rule": "(issue 23)",
                         "rounds_with_proposals": len(proposals_per_round), "refused_by_test": 1,
                         "beat_incumbent_raw": beat + 1,
                         "proposals": n, **counts, "beat_incumbent": beat, "adopted": adopted,
                         "adopted_gains": gains, "llm_accuracy": beat / counts["new"] if counts["new"] else None}}


def _p(status, gain=0.0, beats=False, adopted=False):
    return {"status": status, "gain": gain, "beats_incumbent": beats, "adopted": adopted}


def test_dialogue_rows_table_and_prefixes():
    raw = {
        "a": _result("a", 13, [[_p("new", 0.02, True, True), _p("echo")], [_p("new", -0.01), _p("rejected")]]),
        "b": _result("b", 21, [[_p("new", 0.04, True, True), _p("fragment")], [_p("echo"), _p("echo")]]),
    }
    (row,) = dialogue.dialogue_rows(raw)
    assert row["setting"] == "K=2, adopt=if-better" and row["runs"] == 2 and row["rounds"] == 4
    old = _result("c", 42, [[_p("echo")]])
    del old["dialogue"]["reply_line"]  # a result from before gpta.reply_line: line 1 was read
    del old["dialogue"]["echo_rule"]  # ... and from before issue 23's echo rule and adoption test
    assert dialogue._setting(old) == "K=2, adopt=if-better, line=first, before the echo rule and adoption test"
    assert row["proposals_per_round"] == 2 and row["share_new"] == 3 / 8 and row["share_adopted"] == 2 / 8
    assert row["share_echo"] == 3 / 8 and row["beat_raw"] == 2 + 2 and row["refused"] == 2
    assert row["llm_accuracy"] == 2 / 3
    assert row["gain"].n == 2 and row["gain"].mean == pytest.approx(0.03)
    assert math.isnan(row["gain"].ci_low)  # no interval from 2 gains (reports.stats: n < 3)
    doc = Document("t")
    table = dialogue.render(doc, raw, pd.DataFrame())
    md = doc.to_markdown()
    assert "67% (2/3)" in md and "+3.0 (n = 2)" in md and "“prefix 1”" in md and "[+nan" not in md
    assert table.rows[0][5].text == "38%" and table.rows[0][6].text == "38%" and table.rows[0][9].text == "4, 2"
    assert table.rows[0][2].text == "not recorded"  # these results name no LLM


def test_echo_only_runs_get_no_llm_accuracy():
    raw = {"a": _result("a", 13, [[_p("echo"), _p("echo")]], adopt="always")}
    (row,) = dialogue.dialogue_rows(raw)
    assert row["new"] == 0 and math.isnan(row["llm_accuracy"]) and row["gain"].n == 0
    table = dialogue.dialogue_table([row])
    assert table.rows[0][8].text == "n/a (0/0)" and table.rows[0][10].text == "no adoption"
    assert table.rows[0][6].text == "100%"  # every proposal an echo


def test_two_llms_are_two_rows_not_one_pooled_rate():
    """The verdict run's table pooled SmolLM2's 14 and Qwen's 6 runs per dataset into one row
    ("adopted 70%" mixed SmolLM2's new text with Qwen's reworded echoes)."""
    a = _result("a", 13, [[_p("new", 0.02, True, True), _p("echo")]])
    b = _result("b", 13, [[_p("echo"), _p("echo")]])
    a["config"]["llm"], b["config"]["llm"] = "embedded", "embedded:qwen"
    rows = dialogue.dialogue_rows({"a": a, "b": b})
    assert [(r["llm"], r["share_new"]) for r in rows] == [("embedded", 0.5), ("embedded:qwen", 0.0)]


def test_a_record_from_before_issue_23_counts_its_duplicates_as_echoes():
    old = _result("a", 13, [[_p("new", 0.02, True, True), _p("echo")]])
    old["dialogue"].update(duplicate=1, proposals=3)
    for key in ("echo_rule", "refused_by_test", "beat_incumbent_raw"):
        del old["dialogue"][key]
    (row,) = dialogue.dialogue_rows({"a": old})
    assert row["share_echo"] == 2 / 3 and row["beat_raw"] == 1 and row["refused"] == 0
    assert row["setting"].endswith("before the echo rule and adoption test")
