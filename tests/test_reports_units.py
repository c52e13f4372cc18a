"""Fast checks of the report's building blocks (no model, no results needed)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from reports.figures import pareto_front
from reports.load import failed_row
from reports.stats import BH, HOLM, adjust, correlate, paired_test, summarize, wilson
from reports.style import METHOD_COLORS, METHOD_MARKERS, METHOD_ORDER, method_color
from reports.tables import Cell, Table, latex_escape, to_latex, to_markdown


def test_every_method_has_its_own_fixed_colour_and_marker():
    assert set(METHOD_COLORS) == set(METHOD_ORDER) == set(METHOD_MARKERS)
    assert len(set(METHOD_COLORS.values())) == len(METHOD_COLORS)  # no two methods share a colour
    assert method_color("gpta") == METHOD_COLORS["gpta"] and method_color("unheard-of") not in METHOD_COLORS.values()


def test_summary_uses_a_student_t_interval():
    x = [0.70, 0.74, 0.69, 0.73]
    s = summarize(x)
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert (s.n, s.mean, s.std) == (4, pytest.approx(np.mean(x)), pytest.approx(np.std(x, ddof=1)))
    assert (s.ci_low, s.ci_high) == (pytest.approx(lo), pytest.approx(hi))
    one = summarize([0.5, float("nan")])
    assert one.n == 1 and math.isnan(one.std) and math.isnan(one.ci_low)


def test_paired_test_matches_scipy_and_is_undefined_when_it_must_be():
    a, b = [0.71, 0.75, 0.70, 0.78], [0.69, 0.70, 0.70, 0.72]
    t = paired_test(a, b, resolution=1e-4)  # the SD (0.022) is above the floor: scipy's paired t-test
    assert t.p == pytest.approx(stats.ttest_rel(a, b).pvalue) and t.n == 4
    assert math.isnan(paired_test([0.7], [0.6]).p)  # one pair
    assert math.isnan(paired_test([0.7, 0.8], [0.6, 0.7]).p)  # two pairs: no t-test below n = 3
    # identical non-zero differences: the SD is floored at one test item (1/100), so t is finite
    same = paired_test([0.7, 0.8, 0.9], [0.6, 0.7, 0.8], resolution=0.01)
    assert same.sd == pytest.approx(0.01)
    assert same.p == pytest.approx(2 * stats.t.sf(0.1 / (0.01 / math.sqrt(3)), 2))
    assert paired_test([0.7, 0.8, 0.9], [0.7, 0.8, 0.9]).p == 1.0  # no difference at all


def test_correlation_reports_both_coefficients_or_says_undefined():
    x, y = [0, 0.5, 1, 1, 0.5], [-0.02, 0.01, 0.03, 0.02, 0.0]
    c = correlate(x, y)
    assert c.pearson == pytest.approx(stats.pearsonr(x, y).statistic)
    assert c.spearman == pytest.approx(stats.spearmanr(x, y).statistic)
    assert "n = 5" in c.text() and c.spearman_p == pytest.approx(stats.spearmanr(x, y).pvalue, abs=0.15)
    assert "undefined" in correlate([1, 1, 1], [0.1, 0.2, 0.3]).text()


def test_pareto_front_keeps_exactly_the_undominated_points():
    xs, ys = [1, 2, 3, 4, 2.5], [0.6, 0.7, 0.65, 0.8, 0.7]
    assert sorted(pareto_front(xs, ys)) == [0, 1, 3]


def test_latex_escape_covers_the_specials():
    assert latex_escape("a_b & 5% #1 {x} ~^ \\") == r"a\_b \& 5\% \#1 \{x\} \textasciitilde{}\textasciicircum{} \textbackslash{}"
    assert latex_escape("73.4 ± 1.2†") == r"73.4 $\pm$ 1.2$^\dagger$"
    assert latex_escape("at p < 0.05 after correction") == r"at $p<0.05$ after correction"
    assert latex_escape("−1.5") == r"$-$1.5"


def test_holm_and_benjamini_hochberg_match_their_definitions():
    p = [0.01, 0.04, 0.03, float("nan"), 0.005]
    holm = adjust(p, HOLM)  # sorted 0.005, 0.01, 0.03, 0.04 with m = 4: x4, x3, x2, x1, then running max
    assert list(np.round(holm[[4, 0, 2, 1]], 6)) == [0.02, 0.03, 0.06, 0.06] and math.isnan(holm[3])
    bh = adjust(p, BH)  # p * m / rank, then running min from the top
    assert list(np.round(bh[[4, 0, 2, 1]], 6)) == [0.02, 0.02, 0.04, 0.04]


def test_wilson_interval_for_a_test_accuracy():
    lo, hi = wilson(45, 60)  # known value: 0.75 on 60 items -> [0.6277, 0.8422]
    assert (round(lo, 4), round(hi, 4)) == (0.6277, 0.8422)
    assert all(math.isnan(v) for v in wilson(0, 0))  # nothing scored: no interval


def test_table_renderers_agree_on_cells_bold_and_marks():
    t = Table("T_1", ["Method", "0.1%"], [[Cell("gpta"), Cell("70.0 ± 1.0", bold=True, sig=True)],
                                           [Cell("a|b"), Cell("60.0")]], notes=["note"])
    md, tex = to_markdown(t), to_latex(t)
    assert "| gpta | **70.0 ± 1.0†** |" in md and r"a\|b" in md
    assert r"gpta & \textbf{70.0 $\pm$ 1.0}$^\dagger$ \\" in tex and r"\caption{T\_1}" in tex
    assert tex.index(r"\toprule") < tex.index(r"\midrule") < tex.index(r"\bottomrule")


def test_failure_record_without_config_is_read_from_its_cell_id(tmp_path):
    p = tmp_path / "sst2__llm-prefix__f0.01__s14__0123456789.failed.json"
    rec = {"run_id": p.name.removesuffix(".failed.json"), "status": "failed",
           "error": {"type": "LLMUnavailable", "message": "ollama not running\nsecond line"}}
    p.write_text(json.dumps(rec))
    row = failed_row(rec, p)
    assert (row["dataset"], row["method"], row["fraction"], row["seed"]) == ("sst2", "llm-prefix", 0.01, 14)
    assert row["error"] == "LLMUnavailable: ollama not running second line"


# ---- table cells say what their labels say (audit of the verdict report) -------------------------

@pytest.fixture(scope="module")
def loss_synth(tmp_path_factory):
    """Synthetic results (no model) in which GPTA is clearly worse than finetune, with LLM
    zero-shot references, an llm-prefix run whose LLM reply was unusable and one whose was not,
    and a GPTA run whose round-1 prefix was an adopted echo."""
    from reports.analysis import attach_baseline, comparisons
    from reports.extract import enrich
    from reports.load import load
    from tests import report_synth

    folder = report_synth.write_folder(tmp_path_factory.mktemp("labels") / "results", seeds=(1, 2, 3),
                                       fractions=(0.01, 0.05), gain=-0.10, zero_shot=True)
    gold = (np.random.default_rng(0).random(120) < 0.3).astype(int)
    for seed, source in ((1, "fallback"), (2, "llm")):
        r = report_synth.result("sst2", 0.01, seed, "llm-prefix", 0.7, gold, np.random.default_rng(seed))
        r["prefix"], r["prefix_source"] = "Classify the text as negative or positive.", source
        (folder / f"{r['run_id']}.json").write_text(json.dumps(r))
    echo_run = sorted(folder.glob("*__gpta__f0.01__s1__*.json"))[0]
    r = json.loads(echo_run.read_text())
    for e, rev in zip(r["prefix_history"], ("first", "echo", "fallback")):
        e["revision"] = rev  # the loop's labels: round 1 adopted an echo, its source still "llm"
    assert r["prefix_history"][1]["source"] == "llm"
    echo_run.write_text(json.dumps(r))
    rs = load(folder)
    rs.runs = enrich(attach_baseline(rs.runs), rs.raw)
    return rs, comparisons(rs.runs), r["run_id"]


def test_a_significant_loss_is_marked_as_the_caption_says(loss_synth):
    from reports.tables import results_tables

    rs, comp, _ = loss_synth
    gpta = comp[comp["method"] == "gpta"]
    assert (gpta["significant"].astype(bool) & (gpta["mean_gain"] < 0)).all()  # every GPTA cell a significant loss
    main = next(t for t in results_tables(rs.runs, rs.failed, comp, rs.raw) if "test accuracy" in t.title)
    row = next(r for r in main.rows if r[0].text == "GPTA")
    assert all(c.sig for c in row[1:])  # † = a corrected p < 0.05, of either sign
    assert "a gain or a loss" in " ".join(main.notes)


def test_cost_table_gives_references_no_seed_paired_gain(loss_synth):
    from reports.tables import cost_table

    rs, _, _ = loss_synth
    zs = rs.runs[rs.runs["method"] == "llm-zero-shot"]
    assert zs["gain"].isna().all() and zs["ft_run_id"].isna().all()  # attach_baseline gives a reference no partner
    t = cost_table(rs.runs)
    rows = {r[0].text: r for r in t.rows}
    assert rows["LLM zero-shot"][-1].text == "–"
    assert rows["GPTA"][-1].text.startswith("−")  # an arm keeps its paired gain
    assert "– for LLM zero-shot: a reference" in t.notes[0]


def test_prefix_table_source_says_echo_for_an_adopted_echo(loss_synth):
    from reports.tables import prefix_tables

    rs, _, echo_id = loss_synth
    run = rs.runs[rs.runs["run_id"] == echo_id].iloc[0]
    (t,) = prefix_tables(rs.runs, rs.raw)
    mine = [r for r in t.rows if r[1].text == "1%" and r[2].text == str(run["seed"]) and r[0].text == "GPTA"]
    assert [r[4].text for r in mine] == ["llm", "echo", "fallback"]
    assert "echo (an earlier prefix returned" in t.notes[0]
    from reports.tables import round_source

    # a result without the revision label: its source as recorded; a kept incumbent: kept
    assert round_source({"source": "llm"}) == "llm" and round_source({"revision": "kept", "source": "incumbent"}) == "kept"


def test_fallbacks_counts_an_llm_prefix_whose_reply_was_unusable(loss_synth):
    rs, _, _ = loss_synth
    runs = rs.runs
    lp = runs[runs["method"] == "llm-prefix"].set_index("seed")["fallbacks"]
    assert lp.to_dict() == {1: 1, 2: 0}  # prefix_source "fallback": our template, not the LLM's text
    assert (runs[runs["method"] == "gpta"]["fallbacks"] == 1).all()  # rounds with source "fallback", as before
    assert (runs[runs["method"] == "finetune"]["fallbacks"] == 0).all()


def test_macro_f1_table_promises_no_wilson_interval(loss_synth):
    from reports.tables import results_tables

    rs, comp, _ = loss_synth
    tables = {t.label: t for t in results_tables(rs.runs, rs.failed, comp, rs.raw)}
    acc, f1 = tables["tab:results-sst2"], tables["tab:results-sst2-f1"]
    assert "95% Wilson interval" in " ".join(acc.notes)
    refs = [r for r in f1.rows if "(reference" in r[0].text]
    assert refs and all("[" not in c.text for r in refs for c in r[1:])  # the cells: no interval
    f1_note = " ".join(f1.notes)
    assert "Wilson interval over" not in f1_note and "with no interval" in f1_note and "macro-F1" in f1_note
