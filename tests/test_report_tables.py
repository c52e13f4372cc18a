"""The report's tables say what their intervals and marks mean (audit 5: MEDIUM-3, MEDIUM-4, LOW-2, LOW-4, LOW-5,
LOW-6). Synthetic results, no model."""

from __future__ import annotations

import json

import pytest

from reports.document import Document
from reports.stats import wilson
from reports.tables import (STAND_IN_MARK, Cell, Table, comparison_table, cost_table, dialogue_table,
                            llm_accuracy_count, llm_accuracy_text, overfitting_table, results_tables, to_latex,
                            to_markdown)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """finetune, gpta and manual-prefix at two fractions and 3 seeds; every GPTA run at 1% tested with our
    stand-in template (its tested prefix's rounds are all fallbacks), and one of the three at 5%."""
    from reports.analysis import attach_baseline, comparisons
    from reports.extract import enrich
    from reports.load import load
    from tests import report_synth

    folder = report_synth.write_folder(tmp_path_factory.mktemp("tables") / "results", seeds=(1, 2, 3),
                                       fractions=(0.01, 0.05), gain=0.05, zero_shot=True)
    for path in folder.glob("*__gpta__*.json"):
        r = json.loads(path.read_text())
        if "__f0.01__" in path.name or "__f0.05__s1__" in path.name:
            for e in r["prefix_history"][1:]:  # rounds 1 and 2 hold the tested prefix
                e["source"] = "fallback"
            path.write_text(json.dumps(r))
    rs = load(folder)
    rs.runs = enrich(attach_baseline(rs.runs), rs.raw)
    return rs, comparisons(rs.runs)


def _html(t: Table) -> str:
    doc = Document("t")
    doc.table(t)
    return doc.to_html()


# ---- MEDIUM-3: per-comparison intervals beside a corrected p ----------------------------------------------------

def test_gains_interval_is_labelled_unadjusted_in_every_format(synth):
    _, comp = synth
    t = comparison_table(comp)
    assert "95% CI (unadjusted)" in t.header
    note = " ".join(t.notes)
    assert "not adjusted for multiplicity" in note and "read significance from p (Holm)" in note
    tex, html = to_latex(t), _html(t)
    for text in (to_markdown(t), tex, html):
        assert "unadjusted" in text and "not adjusted for multiplicity" in text


# ---- MEDIUM-4: cells whose runs trained with our stand-in template ----------------------------------------------

def _row(t: Table, name: str) -> list[Cell]:
    return next(r for r in t.rows if r[0].text.split(" ")[0] == name.split(" ")[0] and r[0].text.startswith(name))


def test_results_table_marks_stand_in_cells_and_says_what_the_mark_means(synth):
    rs, comp = synth
    assert rs.runs.loc[rs.runs["method"] == "gpta", "stand_in"].sum() == 4  # 3 at 1%, 1 at 5%
    main = next(t for t in results_tables(rs.runs, rs.failed, comp, rs.raw) if "test accuracy" in t.title)
    gpta, ft = _row(main, "GPTA"), _row(main, "Fine-tune")
    assert gpta[1].text.endswith(f" {STAND_IN_MARK}") and gpta[2].text.endswith(f"{STAND_IN_MARK} (1 of 3)")
    assert not any(STAND_IN_MARK in c.text for c in ft)
    note = " ".join(main.notes)
    assert "stand-in template" in note and "(k of n)" in note
    assert r"$^\ddagger$" in to_latex(main) and STAND_IN_MARK in _html(main)


def test_every_per_cell_table_marks_stand_in_runs(synth):
    rs, comp = synth
    gains = comparison_table(comp, rs.runs)
    marked = [r for r in gains.rows if STAND_IN_MARK in r[2].text]
    assert [(r[1].text, r[2].text) for r in marked] == [("1%", f"GPTA {STAND_IN_MARK}"),
                                                         ("5%", f"GPTA {STAND_IN_MARK} (1 of 3)")]
    over = overfitting_table(rs.runs)
    assert sum(STAND_IN_MARK in r[2].text for r in over.rows) == 2
    assert _row(dialogue_table(rs.runs), "sst2")[1].text == f"GPTA {STAND_IN_MARK} (4 of 6)"
    assert _row(cost_table(rs.runs), "GPTA")[0].text == f"GPTA {STAND_IN_MARK} (4 of 6)"
    for t in (gains, over, cost_table(rs.runs)):
        assert any("stand-in template" in n for n in t.notes)


def test_no_mark_and_no_note_without_stand_in_runs(synth):
    rs, comp = synth
    runs = rs.runs.assign(stand_in=False)
    tables = results_tables(runs, rs.failed, comp, rs.raw) + [comparison_table(comp, runs), cost_table(runs)]
    for t in tables:
        assert not any(STAND_IN_MARK in c.text for r in t.rows for c in r)
        assert not any("stand-in" in n for n in t.notes)


# ---- LOW-2: the LLM accuracy is a share of proposals: a Wilson interval over them ------------------------------

def test_llm_accuracy_is_a_pooled_share_with_a_wilson_interval(synth):
    rs, _ = synth
    row = _row(dialogue_table(rs.runs), "sst2")
    lo, hi = wilson(4, 6)  # the synthetic loop: one new proposal per run, passed at seeds 1 and 3
    assert row[-1].text == f"0.67 [{lo:.2f}, {hi:.2f}] (4 of 6)"
    note = " ".join(dialogue_table(rs.runs).notes)
    assert "Wilson interval over those n proposals" in note and "exactly one new proposal" in note
    assert llm_accuracy_text(0, 12) == "0.00 [0.00, 0.24] (0 of 12)"  # not the old zero-width "[0.00, 0.00]"
    assert llm_accuracy_text(0, 0) == "n/a"


def test_llm_accuracy_pools_runs_by_their_count_of_new_proposals():
    import pandas as pd

    g = pd.DataFrame({"llm_acc": [0.5, 1.0, float("nan"), 0.0], "rev_new": [2, 1, 0, 3]})
    assert llm_accuracy_count(g) == (2, 6)  # 1 of 2, 1 of 1, nothing new (no credit), 0 of 3


# ---- LOW-4: what a reference's cost per run covers ---------------------------------------------------------------

def test_cost_table_says_a_zero_shot_run_covers_its_test_sample(synth):
    rs, _ = synth
    note = " ".join(cost_table(rs.runs).notes)
    assert "LLM zero-shot: a run is the LLM labelling the run's test sample (120 items" in note
    assert "Claim 4 compares costs per 1,000 predictions" in note


# ---- LOW-5: LLM quality vs gain accepts the empty-prefix layout control ------------------------------------------

def test_llm_quality_uses_the_empty_prefix_layout_control_and_names_it(synth):
    from reports.llm_quality import llm_quality, render_llm_quality

    rs, _ = synth
    runs = rs.runs.copy()
    runs.loc[runs["method"] == "manual-prefix", "method"] = "empty-prefix"
    q = llm_quality(runs)
    assert q["control"] == "empty-prefix" and q["n"] == 1 and q["points"][0]["pairs"] == 6
    assert q["points"][0]["stand_in_runs"] == 4 and q["points"][0]["gpta_runs"] == 6
    doc = Document("t")
    render_llm_quality(doc, runs)
    md = doc.to_markdown()
    assert "empty-prefix: same layout with an empty prefix" in md and f"{STAND_IN_MARK} (4 of 6)" in md
    none = llm_quality(runs[runs["method"] != "empty-prefix"])
    assert none["control"] is None and not none["points"]


# ---- LOW-6: the scorecard's long columns move below the table in the HTML page only ------------------------------

def test_html_moves_details_columns_below_the_table_and_markdown_keeps_them():
    t = Table("Card", ["#", "Claim", "Verdict", "Evidence", "Rule and test", "Numbers"],
              [[Cell("1"), Cell("GPTA gains"), Cell("supported", bold=True), Cell("n: 5 <pairs>"),
                Cell("Rule: holds when p < 0.05; test in `reports/claims.py`, **Holm**."), Cell("+1.0")]],
              align="rXXXXX", details_columns=("Evidence", "Rule and test"))
    doc = Document("t")
    doc.table(t)
    html, md = doc.to_html(), doc.to_markdown()
    table_html = html[html.index("<table>"):html.index("</table>")]
    assert "Rule and test" not in table_html and "Evidence" not in table_html and "+1.0" in table_html
    assert "<details><summary>1. GPTA gains: evidence and rule and test</summary>" in html
    assert "Rule: holds when p &lt; 0.05;" in html and "n: 5 &lt;pairs&gt;" in html
    assert "<code>reports/claims.py</code>, <strong>Holm</strong>." in html  # the cell's Markdown, rendered
    assert "| Rule and test |" in md and "Rule: holds when p" in md.split("| Numbers |")[1]
