"""The claims scorecard and the publishable report, on synthetic but schema-valid result folders.

Fast (no model, no LLM): tests/report_synth.py writes RunResult-shaped JSONs whose accuracies
are computed from stored per-example predictions and gold labels.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

try:
    from tests.report_synth import write_folder
except ImportError:  # pragma: no cover - depends on how pytest put tests/ on sys.path
    from report_synth import write_folder

VERDICT_WORDS = ("supported", "contradicted", "mixed", "not significant at this n")
PAPER = ("sst2", "trec", "yelp")  # three of the paper's six: the minimum for claims 1-3


def _folder(root: Path, seeds, fractions, gain) -> Path:
    for ds in PAPER:
        write_folder(root, seeds=seeds, fractions=fractions, gain=gain, dataset=ds)
    return root


@pytest.fixture(scope="module")
def strong(tmp_path_factory):
    """3 paper datasets, 5 seeds, GPTA clearly better than finetune: the scorecard can give verdicts."""
    from reports import build_report

    res = _folder(tmp_path_factory.mktemp("strong") / "results", (1, 2, 3, 4, 5), (0.01, 0.05), 0.12)
    return res, build_report(res, res.parent / "report", keep_figures=True)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """2 seeds (quick's n), GPTA better: a smoke run, which must print no verdict word anywhere."""
    from reports import build_report

    res = _folder(tmp_path_factory.mktemp("smoke") / "results", (1, 2), (0.01, 0.05), 0.12)
    return res, build_report(res, res.parent / "report", keep_figures=True)


def test_scorecard_gives_verdicts_by_its_rules_on_strong_evidence(strong):
    claims = {c["claim"]: c for c in strong[1]["summary"]["claims"]}
    assert sorted(claims) == [1, 2, 3, 4, 5, 6]
    assert claims[1]["verdict"] == "supported"  # +12 to +18 points on 3 paper datasets, 5 seeds
    assert claims[2]["verdict"] == "supported"  # the gain at 1% is 1.5x the gain at 5%
    assert claims[2]["qualifier"] is None  # a real gain at the low end: the word stands alone
    assert claims[3]["verdict"] == "supported"  # GPTA's test-minus-train loss is 0.4 nats smaller
    assert claims[4]["verdict"] == "supported"  # cheaper per 1,000 predictions than zero-shot, and more accurate
    assert claims[6]["verdict"].startswith("not measured: no transfer run") and claims[6]["command"]
    for c in claims.values():  # the scorecard names rule, test, n, family, MDE and protocol for each claim
        assert c["rule"] and c["test"] and c["family"] and c["protocol"]
        if not c["verdict"].startswith("not measured"):
            assert "Holm over" in c["family"] and c["mde"] != "n/a" and c["n"]
    assert strong[1]["summary"]["smoke_run"] is False
    # the row shows the primary p and its Holm-corrected value (the verdict reads the corrected one)
    card = (Path(strong[1]["out_dir"]) / "scorecard.md").read_text()
    assert card.count("Holm-corrected p") == sum(not c["verdict"].startswith("not measured") for c in claims.values())


def test_a_control_cell_still_filling_does_not_make_a_powered_run_a_smoke_run(tmp_path):
    """A powered run published while its control stage is still running: a manual-prefix cell with
    one seed (no claim reads it) leaves the verdicts; a paper-arm GPTA cell with two makes it smoke."""
    import json as _json

    from reports import build_report

    res = _folder(tmp_path / "results", (1, 2, 3), (0.01, 0.05), 0.12)
    for path in res.glob("*.json"):
        r = _json.loads(path.read_text())
        if r["method"] == "manual-prefix" and r["config"]["seed"] != 1 and r["dataset"]["name"] == "sst2":
            path.unlink()
    rep = build_report(res, tmp_path / "report")
    assert rep["summary"]["smoke_run"] is False
    assert {c["claim"]: c["verdict"] for c in rep["summary"]["claims"]}[1] == "supported"
    gpta = sorted(p for p in res.glob("*.json") if _json.loads(p.read_text())["method"] == "gpta")
    gpta_s3 = [p for p in gpta if _json.loads(p.read_text())["config"]["seed"] == 3][0]
    gpta_s3.unlink()
    rep = build_report(res, tmp_path / "report2")
    assert rep["summary"]["smoke_run"] is True


def test_smoke_run_prints_no_verdict_word_anywhere(smoke, capsys):
    res, rep = smoke
    assert rep["summary"]["smoke_run"] is True
    for c in rep["summary"]["claims"]:
        assert c["verdict"].startswith(("no verdict (smoke run", "not measured")), c
    out = Path(rep["out_dir"])
    texts = {name: (out / name).read_text() for name in ("index.md", "index.html", "scorecard.tex", "scorecard.md")}
    from gpta.cli import main

    main(["report", str(res), "--out", str(res.parent / "report2")])
    texts["console"] = capsys.readouterr().out
    texts["json"] = json.dumps(rep["summary"]["claims"])
    for name, text in texts.items():
        for word in VERDICT_WORDS:
            assert word not in text, (name, word)
    md = texts["index.md"]
    assert md.index("## Claims scorecard") < md.index("## Summary")  # the scorecard comes first
    assert "Smoke run: no verdict" in md and "2 seeds in its smallest cell of the paper's arm" in md
    gains = Path(rep["tables"]["md"]).read_text().split("**Gain over finetune")[1].split("\n\n")[1]
    rows = [line for line in gains.splitlines() if line.startswith("| sst2 |")]
    assert rows and all("| n/a |" in r and "not tested (n &lt; 3)" in r for r in rows)  # no 2-seed interval or p


def _card(folder: Path):
    """The scorecard of a results folder, without drawing figures (fast)."""
    from reports.analysis import attach_baseline, comparisons
    from reports.claims import scorecard
    from reports.extract import enrich
    from reports.load import load

    rs = load(folder)
    runs = enrich(attach_baseline(rs.runs), rs.raw)
    return {c.number: c for c in scorecard(runs, rs.raw, comparisons(runs)).claims}


def test_minimum_evidence_says_not_measured(tmp_path):
    """Issue 23's constructed cases: claim 1 from one non-paper dataset; claims from the search arm alone."""
    one = write_folder(tmp_path / "one", seeds=(1, 2, 3, 4, 5), fractions=(0.01, 0.05), gain=0.12,
                       dataset="bbc-news")
    claims = _card(one)
    assert claims[1].verdict.startswith("not measured: 0 of the paper's datasets")
    assert "also shown, not counted: bbc-news" in claims[1].verdict
    search = _folder(tmp_path / "search", (1, 2, 3, 4, 5), (0.01, 0.05), 0.12)
    for f in search.glob("*gpta*.json"):  # every GPTA run is the K=4 if-better search arm
        r = json.loads(f.read_text())
        r["config"]["gpta"].update(candidates=4, adopt="if-better")
        f.write_text(json.dumps(r))
    claims = _card(search)
    for k in (1, 2, 3, 5):
        assert claims[k].verdict.startswith("not measured: no run of the paper's arm"), claims[k].verdict


def test_the_same_comparison_has_the_same_corrected_p_in_every_table(strong):
    """One per-cell family: the gains table, the results tables' marks and claim 1's cells agree."""
    res, rep = strong
    from reports.analysis import attach_baseline, comparisons
    from reports.claims import claim_gains, p_text
    from reports.extract import enrich
    from reports.load import load
    from reports.tables import _md_escape, _p

    rs = load(res)
    runs = enrich(attach_baseline(rs.runs), rs.raw)
    comp = comparisons(runs)
    assert comp["n_tests"].iloc[0] == len(comp) == 3 * 2 * 2  # (gpta, manual-prefix) x 2 fractions x 3 datasets
    g = comp[(comp["method"] == "gpta") & (comp["dataset"] == "sst2") & (comp["fraction"] == 0.01)].iloc[0]
    a = runs[(runs["method"] == "gpta") & (runs["dataset"] == "sst2") & (runs["fraction"] == 0.01)].sort_values("seed")
    d = (a["test"] - a["ft_test"]).to_numpy()
    sd = max(d.std(ddof=1), 1 / 120)  # floored at one of the 120 test items
    assert g["p"] == pytest.approx(2 * stats.t.sf(abs(d.mean()) / (sd / len(d) ** 0.5), len(d) - 1))
    tables = Path(rep["tables"]["md"]).read_text()
    gains = tables.split("**Gain over finetune")[1].split("\n\n")[1]
    claim1 = claim_gains(runs, comp)[0].numbers
    for r in comp.itertuples():
        row = next(line for line in gains.splitlines() if line.startswith(f"| {r.dataset} |")
                   and f"| {r.fraction * 100:g}% |" in line and ("| GPTA |" if r.method == "gpta" else "| Manual") in line)
        assert f"| {_md_escape(_p(r.p_adj))}" in row
        if r.method == "gpta":
            assert f"{r.dataset} {r.fraction * 100:g}%: " in claim1 and f"corrected {p_text(r.p_adj)}" in claim1
    assert f"over the {len(comp)} tests of the report's per-cell comparisons with finetune" in tables


def test_llm_zero_shot_is_a_reference_with_its_own_interval_not_seed_paired(strong):
    res, rep = strong
    tables = Path(rep["tables"]["md"]).read_text()
    gains = tables.split("**Gain over finetune")[1].split("\n\n")[1]
    assert "zero" not in gains.lower()  # never in the seed-paired comparisons
    row = next(line for line in tables.splitlines() if line.startswith("| LLM zero-shot (reference"))
    n = 120
    k = round(0.6 * n)
    from reports.stats import wilson

    lo, hi = wilson(k, n)
    assert f"{100 * k / n:.1f} \\[{100 * lo:.1f}, {100 * hi:.1f}\\] (n={n} items)" in row
    assert "Training-majority class" in tables and "macro-F1" in tables  # 70/30 classes: macro-F1 beside accuracy


def test_report_tables_show_corrections_overfitting_and_revision_rates(strong):
    res, rep = strong
    tables = Path(rep["tables"]["md"]).read_text()
    assert "p (Holm)" in tables and "corrected over the 12 tests of the report's per-cell comparisons" in tables
    assert "Dev − train loss (nats)" in tables and "Best − last dev (pts)" in tables
    assert "Prefixes written per round: sst2" in tables and "fallback" in tables
    assert "0 ←" in tables  # the selected round (round 0 in these results) is marked


def test_no_absolute_paths_in_the_report_or_runs_csv(strong):
    res, rep = strong
    out = Path(rep["out_dir"])
    needles = {str(res), str(res.resolve()), str(out.resolve())}
    for p in out.rglob("*"):
        if p.suffix in (".md", ".html", ".tex", ".csv", ".json"):
            text = p.read_text(encoding="utf-8")
            assert not any(n in text for n in needles), p.name
    import pandas as pd

    paths = pd.read_csv(out / "runs.csv")["path"]
    assert all(not str(x).startswith("/") and str(x).endswith(".json") for x in paths)


@pytest.fixture(scope="module")
def smoke_one_fraction(tmp_path_factory):
    """2 seeds, one fraction, no gain."""
    from reports import build_report

    res = write_folder(tmp_path_factory.mktemp("smoke1") / "results", seeds=(1, 2), fractions=(0.02,), gain=0.0)
    return res, build_report(res, res.parent / "report", keep_figures=True)


def test_single_fraction_figure_is_dodged_with_seeds_not_a_t_band(smoke_one_fraction):
    res, rep = smoke_one_fraction
    f = next(x for x in rep["figure_objects"] if x.name.startswith("accuracy_vs_fraction"))
    ax = f.fig.axes[0]
    marks = {ln.get_gid(): ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("arm:")}
    xs = sorted(float(ln.get_xdata()[0]) for ln in marks.values())
    assert xs == [0.0, 1.0, 2.0]  # one x position per method, not all stacked on one fraction
    gids = {c.get_gid() for c in ax.collections}
    assert "seeds:gpta" in gids and not any((g or "").startswith("interval:") for g in gids)  # 2 seeds: no band
    assert "individual seeds" in f.caption
    assert any(ln.get_gid() == "reference:llm-zero-shot" for ln in ax.get_lines())
    cost = next(x for x in rep["figure_objects"] if x.name.startswith("cost_vs_accuracy"))
    assert ("pareto" in {ln.get_gid() for ln in cost.fig.axes[0].get_lines()}) == (len(cost.data["front"]) >= 2)


def test_round_boundaries_only_where_the_prefix_changed():
    from reports.figures import round_boundaries

    hist = [{"round": 0, "prefix": "a"}, {"round": 1, "prefix": "b"}, {"round": 2, "prefix": "b"}]
    curves = [{"epoch": e, "round": e - 1} for e in (1, 2, 3)]
    assert round_boundaries({"curves": curves, "prefix_history": hist}) == [1.5]


def test_every_report_pdf_embeds_no_type3_font(strong):
    if not shutil.which("pdffonts"):
        pytest.skip("pdffonts (poppler-utils) is not installed")
    pdfs = sorted(Path(strong[1]["out_dir"]).rglob("*.pdf"))
    assert pdfs
    for pdf in pdfs:
        out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        fonts = out.splitlines()[2:]
        assert fonts, f"{pdf.name}: no embedded font listed"
        assert not any(re.search(r"\bType 3\b", line) for line in fonts), f"{pdf.name}:\n{out}"


def test_latex_uses_math_p_real_minus_and_table_star(strong):
    tex = Path(strong[1]["tables"]["tex"]).read_text()
    assert "$p<0.05$" in tex and "p < 0.05" not in tex and "p &lt;" not in tex
    assert "$-$" in tex  # real minus signs
    assert not re.search(r"(?<![\w$\\{-])-\d", tex)  # no hyphen before a number
    assert r"\begin{table*}" in tex and r"\end{table*}" in tex
    for block in re.findall(r"\\begin\{(table\*?)\}(.*?)\\end\{\1\}", tex, re.S):
        env, body = block
        m = re.search(r"\\begin\{tabular\}\{((?:[^{}]|\{[^{}]*\})*)\}", body)
        if m is None:  # tabularx at \textwidth: always a table*
            m = re.search(r"\\begin\{tabularx\}\{\\textwidth\}\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}", body)
            assert env == "table*", body[:200]
        spec = m.group(1)
        ncols = len(re.sub(r">\{[^}]*\}|\{[^}]*\}|\\[a-z]+", "", spec))
        assert env == "table*" or (ncols <= 6 and "p{" not in spec), (env, spec)
        for line in body.splitlines():
            if line.endswith(r"\\"):
                assert len(re.split(r"(?<!\\)&", line)) == ncols, line


def test_latex_compiles_in_a_minimal_document(strong, tmp_path):
    engine = shutil.which("pdflatex") or shutil.which("lualatex") or shutil.which("xelatex")
    if engine is None:
        pytest.skip("no TeX engine on this machine (Debian: texlive-latex-base + texlive-latex-recommended); "
                    "test_latex_uses_math_p_real_minus_and_table_star checks the structure")
    if subprocess.run(["kpsewhich", "booktabs.sty"], capture_output=True, text=True).stdout.strip() == "":
        pytest.skip("booktabs.sty not installed (Debian: texlive-latex-recommended)")
    shutil.copy(strong[1]["tables"]["tex"], tmp_path / "tables.tex")
    (tmp_path / "doc.tex").write_text("\\documentclass[twocolumn]{article}\n\\usepackage[utf8]{inputenc}\n"
                                      "\\usepackage{booktabs,tabularx}\n\\begin{document}\n\\input{tables.tex}\n"
                                      "\\end{document}\n")
    run = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]


CHECK_JS = """<script>
window.addEventListener('load', function () {
  var imgs = Array.from(document.images);
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); }).map(function (i) { return i.src; });
  var text = document.body.innerText;
  var leaks = [/\\*\\*/, /\\]\\(/, /!\\[/, /^#{1,6} /m, /\\|\\s*:?---/, /`/, /\\\\[\\[\\]_*#|]/, /&lt;|&amp;/]
    .filter(function (re) { return re.test(text); }).map(String);
  var out = document.createElement('pre');
  out.id = 'gpta-check';
  out.textContent = JSON.stringify({images: imgs.length, broken: bad, leaks: leaks});
  document.body.appendChild(out);
});
</script>"""


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_index_html_in_headless_chromium_loads_every_image_and_leaks_no_markdown(strong, tmp_path):
    import json

    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium)")
    out = Path(strong[1]["out_dir"])
    page = shutil.copytree(out, tmp_path / "report")
    html = (page / "index.html").read_text()
    (page / "index.html").write_text(html.replace("</body>", CHECK_JS + "</body>"))
    run = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                          "--virtual-time-budget=10000", "--dump-dom", (page / "index.html").as_uri()],
                         capture_output=True, text=True, timeout=120)
    m = re.search(r'<pre id="gpta-check">(.*?)</pre>', run.stdout)
    assert m, run.stderr[-2000:]
    check = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    assert check["images"] == len(strong[1]["figures"]) > 0
    assert check["broken"] == [] and check["leaks"] == []


def test_several_llms_split_the_llm_dependent_rows_and_tables(tmp_path):
    from reports import build_report

    res = write_folder(tmp_path / "results", seeds=(1, 2, 3), fractions=(0.02,), extra_llms=("qwen2.5-7b",))
    rep = build_report(res, tmp_path / "report")
    claims = rep["summary"]["claims"]
    assert [c["claim"] for c in claims] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6]  # per LLM: each decided on its own
    assert {c["llms"] for c in claims if c["claim"] != 6} == {"embedded:SmolLM2-135M", "embedded:qwen2.5-7b"}
    md = Path(rep["index_md"]).read_text()
    assert "LLMs: embedded:SmolLM2-135M, embedded:qwen2.5-7b; LLM-dependent claims are decided per LLM." in md
    tables = Path(rep["tables"]["md"]).read_text()
    assert "Prefixes written per round: sst2, LLM embedded:SmolLM2-135M" in tables
    assert "Prefixes written per round: sst2, LLM embedded:qwen2.5-7b" in tables
    assert tables.count("| LLM zero-shot (reference, embedded:") == 2 * 2  # accuracy + macro-F1 table, per LLM


def test_a_folder_of_only_failed_cells_still_gets_a_report(tmp_path):
    import json

    from reports import build_report

    res = tmp_path / "results"
    res.mkdir()
    rid = "sst2__gpta__f0.01__s13__0123456789"
    (res / f"{rid}.failed.json").write_text(json.dumps({"run_id": rid, "status": "failed",
                                                         "error": {"type": "LLMUnavailable", "message": "down"}}))
    rep = build_report(res, tmp_path / "report")
    md = Path(rep["index_md"]).read_text()
    assert "failed: sst2, fraction 1%, seed 13, gpta: LLMUnavailable: down" in md
    assert rep["summary"]["claims"] == [] and rep["summary"]["gpta_vs_finetune"]["cells"] == 0


def _runs(rows: list[dict]):
    import pandas as pd

    base = {"arm": None, "paper_arm": False, "gain": float("nan"), "llm_label": None, "protocol": "fixed",
            "llm_acc": float("nan"), "ft_test": float("nan"), "test_n": 500.0, "eval_seconds": 1.0,
            "cost_llm_seconds": 0.0, "train_seconds": 10.0, "source_dataset": None, "ft_run_id": None,
            "test_gap": float("nan"), "loss_gap": float("nan"), "model": "m"}
    out = []
    for i, r in enumerate(rows):
        row = {**base, "run_id": f"r{i}", **r}
        row["arm"] = row["arm"] or row["method"]
        out.append(row)
    return pd.DataFrame(out)


def _decided(claims):
    from reports.claims import _decide
    from reports.stats import adjust

    for c, a in zip(claims, adjust([c.p for c in claims])):
        c.p_adj = a
    return [_decide(c, 0.05) for c in claims]


def test_claim_5_from_three_runs_is_not_measured():
    """correlate([0, .5, 1], [.01, .02, .03]) once gave p = 0 and "supported"."""
    from reports.claims import claim_llm_accuracy

    runs = _runs([{"method": "gpta", "dataset": "sst2", "fraction": 0.01, "seed": s, "paper_arm": True,
                   "llm_label": "embedded:x", "llm_acc": acc, "gain": g, "test": 0.8}
                  for s, acc, g in ((1, 0, .01), (2, .5, .02), (3, 1, .03))])
    (c,) = claim_llm_accuracy(runs)
    assert not c.measured and "3 GPTA runs" in c.missing and "needs 10" in c.missing


def test_claim_4_from_one_gpta_run_is_not_measured():
    """One GPTA run at 55% against zero-shot at 90% once printed "supported"."""
    from reports.claims import claim_cost

    runs = _runs([{"method": "gpta", "dataset": "sst2", "fraction": 0.01, "seed": 1, "paper_arm": True,
                   "llm_label": "embedded:x", "test": 0.55, "cost_llm_seconds": 3.0},
                  {"method": "llm-zero-shot", "dataset": "sst2", "fraction": 0.01, "seed": 1,
                   "llm_label": "embedded:x", "test": 0.90, "cost_llm_seconds": 400.0}])
    (c,) = claim_cost(runs)
    assert not c.measured and "3 GPTA runs" in c.missing
    more = _runs([{"method": "gpta", "dataset": "sst2", "fraction": 0.01, "seed": s, "paper_arm": True,
                   "llm_label": "embedded:x", "test": 0.55 + 0.01 * s, "cost_llm_seconds": 3.0} for s in (1, 2, 3)]
                 + [{"method": "llm-zero-shot", "dataset": "sst2", "fraction": 0.01, "seed": 1,
                     "llm_label": "embedded:x", "test": 0.90, "cost_llm_seconds": 400.0}])
    (c,) = claim_cost(more)
    # cheaper, but 34 points less accurate in 3 runs: 3 sign flips cannot show it (p >= 1/8), and an
    # uncorrected interval no longer decides it (it had printed "contradicted")
    assert c.measured and _decided([c]) == ["not significant at this n"]
    assert "inferiority p = 0.12" in c.numbers.replace("0.125", "0.12"), c.numbers
    many = _runs([{"method": "gpta", "dataset": ds, "fraction": 0.01, "seed": s, "paper_arm": True,
                   "llm_label": "embedded:x", "test": 0.55 + 0.01 * s, "cost_llm_seconds": 3.0}
                  for ds in ("sst2", "trec", "yelp", "twitter", "ag_news") for s in (1, 2, 3)]
                 + [{"method": "llm-zero-shot", "dataset": ds, "fraction": 0.01, "seed": 1,
                     "llm_label": "embedded:x", "test": 0.90, "cost_llm_seconds": 400.0}
                    for ds in ("sst2", "trec", "yelp", "twitter", "ag_news")])
    (c,) = claim_cost(many)  # 15 runs, all far below: the inferiority test shows it
    assert _decided([c]) == ["contradicted"] and c._direction == "inferior" and c.p < 0.001
    same = _runs([{"method": "gpta", "dataset": "sst2", "fraction": 0.01, "seed": s, "paper_arm": True,
                   "llm_label": "embedded:x", "test": 0.90 + 0.001 * s, "cost_llm_seconds": 3.0} for s in (1, 2, 3)]
                 + [{"method": "llm-zero-shot", "dataset": "sst2", "fraction": 0.01, "seed": 1,
                     "llm_label": "embedded:x", "test": 0.90, "cost_llm_seconds": 400.0}])
    (c,) = claim_cost(same)  # as accurate and cheaper, but 3 runs cannot show non-inferiority
    assert _decided([c]) == ["not significant at this n"]


def test_claim_4_compares_on_the_items_a_capped_reference_scored():
    """llm-zero-shot capped by max_eval scores a seeded sample of the test items: GPTA is re-scored
    on exactly those items (gpta.data.sampling.subset, seed 0), never on the whole test set."""
    from gpta.data.sampling import subset
    from reports.claims import claim_cost

    n, n_ref = 40, 10
    gold = [i % 2 for i in range(n)]
    idx = subset(list(range(n)), n_ref, 0)
    raw, rows = {}, []
    for s in (1, 2, 3):
        preds = list(gold)
        for i in idx:  # wrong on every sampled item, right elsewhere: 75% overall, 0% on the sample
            preds[i] = 1 - gold[i]
        raw[f"r{s - 1}"] = {"metrics": {"test_predictions": preds}}
        rows.append({"method": "gpta", "dataset": "sst2", "fraction": 0.01, "seed": s, "paper_arm": True,
                     "llm_label": "embedded:x", "test": 0.75, "test_n": float(n), "cost_llm_seconds": 3.0})
    rows.append({"method": "llm-zero-shot", "dataset": "sst2", "fraction": 0.01, "seed": 1, "llm_label": "embedded:x",
                 "test": 0.5, "test_n": float(n_ref), "cost_llm_seconds": 400.0})
    raw["r3"] = {"zero_shot": {"replies": [{"gold": gold[i]} for i in idx]}}
    (c,) = claim_cost(_runs(rows), raw)
    assert c.measured and "re-scored on the reference's 10 sampled test items" in c.numbers
    assert "accuracy GPTA minus llm-zero-shot −50.0 points" in c.numbers.replace("-50.0", "−50.0")
    raw["r3"] = {"zero_shot": {"replies": [{} for _ in idx]}}  # no gold recorded: not compared, not guessed
    (c,) = claim_cost(_runs(rows), raw)
    assert not c.measured and "recorded no gold label" in c.missing


def test_claim_6_where_random_tokens_transfer_as_well_is_not_significant():
    from reports.claims import claim_transfer

    rows = []
    for s in (1, 2, 3, 4, 5):
        acc = 0.80 + 0.01 * s
        for m, extra in (("transfer", {"source_dataset": "sst2"}), ("random-prefix", {}), ("empty-prefix", {}),
                         ("finetune", {})):
            rows.append({"method": m, "dataset": "yelp", "fraction": 0.01, "seed": s, "gain": 0.0,
                         "test": acc + (0.0005 * (s % 2) if m == "transfer" else 0), **extra})
    raw = {}
    (c,) = claim_transfer(_runs(rows), raw)
    assert c.measured
    assert _decided([c]) == ["not significant at this n"]


def test_an_undecided_claim_names_the_grid_that_would_decide_it_and_its_cost(tmp_path):
    """Seed gains of +4, -4 and 0 points on 3 paper datasets x 2 fractions: claim 1 is "not significant
    at this n" and says how many seeds would detect the declared 2-point target, with the cell time
    at the run's own measured seconds (every synthetic cell records wall_seconds = 12: 24 s a pair)."""
    from reports import build_report
    from reports.protocol import TARGET_POINTS

    res = tmp_path / "results"
    for ds in PAPER:
        for seed, gain in ((1, 0.04), (2, -0.04), (3, 0.0)):
            write_folder(res, seeds=(seed,), fractions=(0.01, 0.05), gain=gain, dataset=ds)
    claims = {c["claim"]: c for c in build_report(res, tmp_path / "report")["summary"]["claims"]}
    c1 = claims[1]
    assert c1["verdict"] == "not significant at this n"
    mde = float(c1["mde"].split()[0]) / 100
    # the seeds come from simulating the sign-flip test at each dataset's spread (reports.stats.
    # seeds_for_signflip); at many seeds they agree with the MDE's 1/sqrt(seeds) scaling
    seeds = int(re.search(r"needs ~(\d+) seeds per cell", c1["to_decide"]).group(1))
    scaled = 3 * (mde / TARGET_POINTS) ** 2  # the pooled SE shrinks as 1/sqrt(seeds)
    assert seeds > 3 and abs(seeds - scaled) <= 0.35 * seeds
    hours = 6 * seeds * 24 / 3600  # 6 (dataset, fraction) cells, one GPTA + finetune pair per seed
    assert f"needs ~{seeds} seeds per cell" in c1["to_decide"] and f"{2 * 6 * seeds} GPTA and finetune cells" in c1["to_decide"]
    assert f"~{hours:.1f} h of cell time" in c1["to_decide"] and "(24 s)" in c1["to_decide"]
    assert claims[6]["to_decide"].startswith("the transfer suite (gpta sweep suites/transfer.yaml): ")
    assert not any(c["to_decide"] for c in claims.values() if c["verdict"] in ("supported", "contradicted", "mixed"))
    card = (tmp_path / "report" / "scorecard.md").read_text()
    assert card.count("to decide: ") == sum(bool(c["to_decide"]) for c in claims.values()) >= 2


def test_sizing_formulas_match_hand_values():
    from reports.stats import runs_for_correlation
    assert runs_for_correlation(0.5, 0.05) == 30  # ((1.960 + 0.842) / atanh 0.5)^2 + 3 = 29.01


def test_controls_split_gpta_minus_finetune_into_layout_text_and_dialogue():
    """Per seed on 3 paper datasets x 2 fractions: finetune 0.80, empty-prefix 0.79, llm-prefix 0.75 +-
    a seed wobble, GPTA = llm-prefix + 0.01. The steps are -1, -4 and +1 points; they add up to GPTA
    minus finetune; two LLMs give two text and two dialogue steps; one Holm family of 5."""
    from reports.controls import steps
    from reports.stats import adjust

    rows = []
    for ds in PAPER:
        for f in (0.01, 0.05):
            for s in (1, 2, 3, 4):
                w = 0.002 * (s - 2.5)  # seed wobble, so no difference has zero spread
                cell = {"dataset": ds, "fraction": f, "seed": s}
                rows.append({**cell, "method": "finetune", "test": 0.80 + w})
                rows.append({**cell, "method": "empty-prefix", "test": 0.79 + 2 * w})
                for llm in ("embedded:a", "embedded:b"):
                    rows.append({**cell, "method": "llm-prefix", "llm_label": llm, "test": 0.75 + w})
                    rows.append({**cell, "method": "gpta", "llm_label": llm, "paper_arm": True, "test": 0.76 + w})
    rows.append({"dataset": "tweets", "fraction": 0.01, "seed": 1, "method": "empty-prefix", "test": 0.1})  # not a paper dataset
    found = steps(_runs(rows))
    got = {(s.step, s.llm): s for s in found}
    assert sorted(got) == [("dialogue", "embedded:a"), ("dialogue", "embedded:b"), ("layout", "none (no LLM)"),
                           ("text", "embedded:a"), ("text", "embedded:b")]
    assert round(100 * got["layout", "none (no LLM)"].estimate, 6) == -1.0
    assert round(100 * got["text", "embedded:a"].estimate, 6) == -4.0
    assert round(100 * got["dialogue", "embedded:b"].estimate, 6) == 1.0
    assert sum(got[k, "embedded:a" if k != "layout" else "none (no LLM)"].estimate
               for k in ("layout", "text", "dialogue")) == pytest.approx(0.76 - 0.80)
    assert all(s.n_datasets == 3 and s.n_pairs == 24 for s in found)
    assert [s.p_adj for s in found] == pytest.approx(list(adjust([s.p for s in found])))
    assert all("stand-in" not in s.isolates for s in found)
    # llm-prefix runs whose reply was unusable trained with our template: the text step says how many
    marked = [dict(r, fallbacks=int(r["method"] == "llm-prefix" and r.get("llm_label") == "embedded:b"
                                    and r["dataset"] == "trec")) for r in rows]
    text_b = next(s for s in steps(_runs(marked)) if (s.step, s.llm) == ("text", "embedded:b"))
    assert text_b.isolates.endswith("(in 8 of 24 pairs our stand-in template: the LLM's reply was unusable)")
    # below the minimum (2 paper datasets): not measured, no p
    few = steps(_runs([r for r in rows if r["dataset"] != "yelp"]))
    assert all(s.missing.startswith("2 paper datasets") and s.p != s.p for s in few)
    # seeds are counted per (dataset, fraction) cell, as claim 1 does: yelp with 2 seeds at each
    # fraction has 4 pairs but no measured cell, so it does not count (2 datasets: not measured)
    thin = steps(_runs([r for r in rows if r["dataset"] != "yelp" or r["seed"] <= 2]))
    assert all(s.missing.startswith("2 paper datasets with >= 3 seed pairs per (dataset, fraction) cell")
               and s.p != s.p for s in thin)
    # ... and a thin cell beside a measured one is left out, not pooled: yelp 0.05 with 2 seeds
    mixed = steps(_runs([r for r in rows if not (r["dataset"] == "yelp" and r["fraction"] == 0.05 and r["seed"] > 2)]))
    assert all(s.n_datasets == 3 and s.n_pairs == 24 - 4 for s in mixed)


def test_claim_2_supported_by_a_smaller_loss_says_it_is_a_difference_only():
    """The verdict run's SmolLM2 (gpta revision 2): GPTA loses to finetune at both ends, less at the
    low end, and the difference is significant. "Gains are largest at low resource: supported"
    alone would read as a gain; the verdict keeps its word by the declared rule and says what it means."""
    from reports.claims import SUPPORTED, claim_low_resource, qualifier

    rows = []
    for k, ds in enumerate(("sst2", "trec", "yelp")):
        for s in range(1, 6):
            for f, g in ((0.01, -0.02), (0.05, -0.06)):
                rows.append({"method": "gpta", "dataset": ds, "fraction": f, "seed": s, "paper_arm": True,
                             "llm_label": "embedded:x", "gain": g + 0.002 * ((s + k) % 3), "ft_test": 0.8,
                             "test": 0.8 + g})
    (c,) = claim_low_resource(_runs(rows))
    assert _decided([c]) == [SUPPORTED]
    c.verdict = SUPPORTED
    assert c.estimate > 0 and "−1.8 points at the lowest fraction, −5.8 at the highest" in c.numbers
    c.qualifier = qualifier(c)
    assert c.verdict_text.startswith("supported (as a difference only: GPTA's mean gain at the lowest fractions "
                                     "is −1.8 points, so it loses less at low resource")
    c._low_gain = 0.01  # a real gain at the low end: the word stands alone
    assert qualifier(c) == ""


def test_claim_5_mde_on_the_rho_scale_never_prints_a_rho_above_1():
    """The verdict run's SmolLM2 claim 5 (14 runs over 2 strata) printed "minimum detectable
    effect: rho 1.87": a correlation cannot exceed 1, so that number meant nothing."""
    from reports.claims import Claim, _mde
    from reports.stats import mde_pooled

    c = Claim(5, "LLM accuracy", "rule", "test")
    c._corr_se = 0.6
    assert mde_pooled(0.6, 0.05 / 9) > 1
    assert _mde(c, 0.05 / 9) == "not computed: the normal approximation fails near rho = 1"
    c._corr_se = 0.1
    assert _mde(c, 0.05 / 9) == f"rho {mde_pooled(0.1, 0.05 / 9):.2f}"


def test_claim_5_says_when_its_values_cannot_reach_the_familys_level():
    """The verdict run's SmolLM2 claim 5: LLM accuracy is 0 or 1 per run, with one 1 in each of its
    2 strata of 7, so the permutation test's smallest p is 2/49 = 0.041 whatever the effect; it had
    printed "even rho = 1 is not detectable" (false: continuous values of rho 1 give p = 5e-5)."""
    from reports.claims import _mde, claim_llm_accuracy
    from reports.stats import stratified_correlation

    rows = [{"method": "gpta", "dataset": ds, "fraction": 0.01, "seed": s, "paper_arm": True,
             "llm_label": "embedded:x", "llm_acc": float(s == 3), "gain": 0.01 * ((5 * s) % 7), "test": 0.8}
            for ds in ("sst2", "yelp") for s in range(7)]
    (c,) = claim_llm_accuracy(_runs(rows))
    assert c._p_floor == pytest.approx(2 / 49, abs=0.004)  # 7!^2 orderings: 19,999 seeded draws estimate it
    assert _mde(c, 0.05 / 9).startswith("none at any effect: the smallest p these values allow is 0.04")
    x = [float(s) for s in range(7)] * 2  # continuous values, a perfect correlation: far below the level
    sc = stratified_correlation(x, x, ["a"] * 7 + ["b"] * 7)
    assert sc.rho == pytest.approx(1.0) and sc.p < 0.001 and sc.p_floor < 0.001


def test_claim_5_se_counts_only_the_strata_its_test_used():
    """The verdict run's SmolLM2 claim 5: 6 strata of 6-7 runs, LLM accuracy varying in 2. The SE
    behind the minimum detectable effect summed 1/(k - 1) over all 6 and divided by the 2 tested
    (MDE "computed 1.87"); over the 2 tested strata it is sqrt(2/6)/2 (MDE 1.04)."""
    from reports.claims import claim_llm_accuracy

    rows = []
    for ds in ("sst2", "yelp", "trec", "twitter", "ag_news", "qnli"):
        varies = ds in ("sst2", "yelp")
        for s in range(7):
            rows.append({"method": "gpta", "dataset": ds, "fraction": 0.01, "seed": s, "paper_arm": True,
                         "llm_label": "embedded:x", "llm_acc": (s % 3) / 2 if varies else 0.0,
                         "gain": 0.01 * ((5 * s) % 7), "test": 0.8})
    (c,) = claim_llm_accuracy(_runs(rows))
    assert c.measured and "14 runs in 2 strata" in c.numbers, c.numbers
    assert c._corr_se == pytest.approx(math.sqrt(2 / 6) / 2)


def test_claim_4_with_differences_of_both_signs_is_decided_by_a_corrected_test_not_an_interval():
    """The verdict run's claim 4 with Qwen printed "contradicted" from an uncorrected seed-only
    interval wholly below the margin, while its comparisons ran from -38.8 to +34.2 points and the
    inferiority test, run as the claim's own test, gave p = 0.06. Now the corrected test decides,
    and the scorecard does not print a seed-SE detectable effect that this test cannot have."""
    from reports.claims import ALPHA, _mde, _to_decide, claim_cost

    sets = {"sst2": -0.30, "trec": 0.25, "yelp": -0.35, "twitter": 0.20, "ag_news": -0.30}
    rows = [{"method": "gpta", "dataset": ds, "fraction": 0.01, "seed": s, "paper_arm": True, "llm_label": "embedded:x",
             "test": 0.5 + d + 0.005 * s, "cost_llm_seconds": 3.0} for ds, d in sets.items() for s in (1, 2, 3)]
    rows += [{"method": "llm-zero-shot", "dataset": ds, "fraction": 0.01, "seed": 1, "llm_label": "embedded:x",
              "test": 0.5, "cost_llm_seconds": 400.0} for ds in sets]
    runs = _runs(rows)
    (c,) = claim_cost(runs)
    assert c.estimate == pytest.approx(-0.09, abs=0.001) and c._direction == "inferior"
    assert _decided([c]) == ["not significant at this n"]
    assert _mde(c, ALPHA).startswith("not computed: the comparisons' mean differences run from −34.0 to +26.0")
    to_decide = _to_decide(c, runs, ALPHA)
    assert "this 7.0 points distance below the 2-point margin" in to_decide and "at 3 GPTA seeds" in to_decide
    # The seeds it names come from simulating the inferiority test (at alpha / 2: the claim's p is
    # twice the one-sided p) with each comparison keeping its mean and seed spread; an independent
    # simulation of the test itself, with its own 19,999 flips, agrees within a seed: the statistic
    # barely varies (seed SD 0.5 points against comparisons 60 points apart), so power steps from 0
    # to 1 over about one seed. (The normal approximation on the null spread asked for 25 seeds here.)
    s = int(re.search(r"~(\d+) seeds per comparison would give 80% power", to_decide).group(1))
    from reports.protocol import NONINFERIORITY_MARGIN
    from reports.stats import pooled_signflip

    def power(seeds: int) -> float:
        rng, hits = np.random.default_rng(5), 0
        for i in range(100):
            # each comparison's mean (d + 0.01: seeds 1-3 add 0.005 x seed) and SD (0.005) as run
            d = np.concatenate([d0 + 0.01 + rng.normal(0, 0.005, seeds) for d0 in sets.values()])
            strata = [ds for ds in sets for _ in range(seeds)]
            hits += pooled_signflip(-(d + NONINFERIORITY_MARGIN), strata, 1e-3, seed=i,
                                    alternative="greater").p < ALPHA / 2
        return hits / 100

    assert 3 < s < 25 and power(s + 1) >= 0.75 and power(s - 1) < 0.8, (s, power(s + 1), power(s - 1))


def test_claim_4_interval_adds_the_references_item_sampling_once_per_reference():
    """The zero-shot reference is one run on one 10-item sample, shared by both fractions: its
    sampling error (about twice the seed error in the verdict run) is in the interval, with the two
    fractions' per-item differences averaged first (they share the reference's items)."""
    from scipy import stats as sps

    from gpta.data.sampling import subset
    from reports.claims import claim_cost
    from reports.stats import pooled_signflip

    n, n_ref = 40, 10
    gold = [i % 2 for i in range(n)]
    idx = subset(list(range(n)), n_ref, 0)
    ref_right = [k % 3 != 0 for k in range(n_ref)]  # the reference is right on 6 of the 10 sampled items
    raw, rows, per_item = {}, [], []
    for f, wrong_on in ((0.01, {0, 1}), (0.05, {0})):
        for s in (1, 2, 3):
            preds = list(gold)
            for k in wrong_on | ({2} if s == 3 else set()):  # seed 3 also misses item 2: a seed spread
                preds[idx[k]] = 1 - gold[idx[k]]
            rid = f"g{f}{s}"
            raw[rid] = {"metrics": {"test_predictions": preds}}
            rows.append({"run_id": rid, "method": "gpta", "dataset": "sst2", "fraction": f, "seed": s,
                         "paper_arm": True, "llm_label": "embedded:x", "test": 0.9, "test_n": float(n),
                         "cost_llm_seconds": 3.0})
    raw["zs"] = {"zero_shot": {"replies": [{"gold": gold[i], "parsed": gold[i] if ref_right[k] else 1 - gold[i]}
                                           for k, i in enumerate(idx)]}}
    rows.append({"run_id": "zs", "method": "llm-zero-shot", "dataset": "sst2", "fraction": 0.01, "seed": 1,
                 "llm_label": "embedded:x", "test": 0.6, "test_n": float(n_ref), "cost_llm_seconds": 400.0})
    (c,) = claim_cost(_runs(rows), raw)
    assert "over GPTA's seeds and the reference's item sampling" in c.numbers, c.numbers
    # by hand: per item, GPTA's correctness (mean over the 6 runs of both fractions) minus the reference's
    gp = np.array([[0.0 if k in w | ({2} if s == 3 else set()) else 1.0 for k in range(n_ref)]
                   for w in ({0, 1}, {0}) for s in (1, 2, 3)])
    x = gp.mean(axis=0) - np.array(ref_right, dtype=float)
    diffs = [float(r.mean() - 0.6) for r in gp]
    seed = pooled_signflip(np.asarray(diffs) + 0.02, ["a"] * 3 + ["b"] * 3, 1e-3, alternative="greater")
    item = float(np.var(x, ddof=1)) / n_ref  # one reference for both strata: (2/2)^2
    se = math.sqrt(seed.se ** 2 + item)
    # Welch-Satterthwaite df over the two strata's seed terms (2 df each) and the items (n_ref - 1)
    v = [np.var(np.asarray(diffs[:3]), ddof=1) / 3 / 4, np.var(np.asarray(diffs[3:]), ddof=1) / 3 / 4]
    df = se ** 4 / (sum(t * t / 2 for t in v) + item * item / (n_ref - 1))
    half = sps.t.ppf(0.975, df) * se
    est = float(np.mean(diffs))
    assert f"[{100 * (est - half):+.1f}, {100 * (est + half):+.1f}]".replace("-", "−") in c.numbers, c.numbers


def test_already_powered_is_not_said_of_a_large_estimate_the_test_did_not_confirm():
    """Audit 2, finding 7: yelp +12 points on every seed, two datasets at 0: pooled +4.0 points,
    p = 0.17, and the line said "already powered ... no effect that large was found"."""
    from reports.claims import ALPHA, _to_decide, claim_gains
    from reports.analysis import comparisons

    rows = []
    for ds, g in (("yelp", 0.12), ("sst2", 0.0), ("trec", 0.0)):
        for s in (1, 2, 3):
            w = 0.0005 * (s - 2)  # a wobble of both signs: sst2's and trec's gains straddle 0
            rows.append({"method": "finetune", "dataset": ds, "fraction": 0.01, "seed": s, "test": 0.7 + w})
            rows.append({"method": "gpta", "dataset": ds, "fraction": 0.01, "seed": s, "paper_arm": True,
                         "llm_label": "embedded:x", "test": 0.7 + g + 2 * w})
    runs = _runs(rows)
    runs["ft_test"] = runs.apply(lambda r: 0.7 + 0.0005 * (r.seed - 2), axis=1)
    runs["gain"] = runs["test"] - runs["ft_test"]
    runs["cell_seconds_cold"] = 20.0
    runs["ft_run_id"] = runs["run_id"]  # each run its own partner's seconds: only the price reads it
    (c,) = claim_gains(runs, comparisons(runs[runs["method"] == "gpta"]))
    _decided([c])
    c.verdict = "not significant at this n"
    line = _to_decide(c, runs, ALPHA)
    assert c.estimate == pytest.approx(0.04, abs=0.001) and c.p > 0.05
    assert "already powered" not in line and "yet not significant" in line, line


def _transfer_rows(pairs, seeds, delta, controls=("random-prefix", "empty-prefix"), fractions=(0.01, 0.05)):
    """Transfer runs src -> tgt (sentiment) with the target's controls; transfer = control + delta."""
    rows = []
    for src, tgt in pairs:
        for f in fractions:
            for s in seeds:
                base = 0.80 + 0.003 * s + (0.01 if f > 0.01 else 0.0)
                rows.append({"method": "transfer", "dataset": tgt, "fraction": f, "seed": s, "source_dataset": src,
                             "test": base + delta + 0.001 * (s % 2)})
                for m in controls:
                    rows.append({"method": m, "dataset": tgt, "fraction": f, "seed": s, "test": base})
    return rows


def test_claim_6_counts_seeds_per_cell_uses_the_same_runs_for_both_tests_and_can_be_contradicted():
    """Audit 2, findings 2-4: 2 seeds per transfer cell printed "supported" against a 3-seed
    minimum; the two tests could read disjoint pairs; significantly worse than both controls
    printed "not significant"."""
    from reports.claims import claim_transfer

    pairs = [("sst2", "yelp"), ("yelp", "twitter"), ("twitter", "sst2")]
    (c,) = claim_transfer(_runs(_transfer_rows(pairs, (13, 21), 0.05)), {})  # 2 seeds per cell
    assert not c.measured, c.numbers
    (c,) = claim_transfer(_runs(_transfer_rows(pairs, (13, 21, 42), 0.05)), {})
    assert c.measured and _decided([c]) == ["supported"]
    (c,) = claim_transfer(_runs(_transfer_rows(pairs, (13, 21, 42), -0.05)), {})
    assert _decided([c]) == ["contradicted"]
    # random-prefix only on yelp, empty-prefix only on twitter: no pair has both controls
    split = [r for r in _transfer_rows(pairs, (13, 21, 42), 0.05)
             if not (r["method"] == "random-prefix" and r["dataset"] != "yelp")
             and not (r["method"] == "empty-prefix" and r["dataset"] != "twitter")]
    (c,) = claim_transfer(_runs(split), {})
    assert not c.measured


def test_the_same_cell_under_two_run_ids_is_one_seed_pair():
    """Audit 2, finding 5: the same GPTA cells loaded twice under new run ids made claim 1 count 36
    seed pairs from 3 seeds (p 0.005 -> 0.00015); claim 2 already kept one per seed."""
    import pandas as pd

    from reports.claims import claim_gains

    rows = []
    for k, ds in enumerate(PAPER):
        for f in (0.01, 0.05):
            for s in (1, 2, 3):
                rows.append({"method": "gpta", "dataset": ds, "fraction": f, "seed": s, "paper_arm": True,
                             "llm_label": "embedded:x", "gain": 0.03 + 0.004 * ((s + k) % 3), "test": 0.8})
    once = _runs(rows)
    twice = _runs(rows + rows)  # new run ids (r0..), same cells
    no_cells = pd.DataFrame(columns=["paper_arm", "dataset", "protocol", "arm", "significant", "mean_gain"])
    (a,), (b,) = claim_gains(once, no_cells), claim_gains(twice, no_cells)
    assert a.n == b.n == "18 seed pairs over 3 paper datasets" and a.p == b.p


def test_a_claim_whose_test_cannot_reach_the_level_says_so_not_n_a():
    """3 datasets x 3 seeds: the sign-flip test's smallest p is 2/2^9 = 0.0039. At a level below it
    no effect can be shown, and the minimum detectable effect says that, with the numbers."""
    from reports.analysis import comparisons
    from reports.claims import _mde, claim_gains

    rows = []
    for ds, g in (("yelp", 0.03), ("sst2", 0.02), ("trec", 0.01)):
        for s in (1, 2, 3):
            rows.append({"method": "finetune", "dataset": ds, "fraction": 0.01, "seed": s, "test": 0.7})
            rows.append({"method": "gpta", "dataset": ds, "fraction": 0.01, "seed": s, "paper_arm": True,
                         "llm_label": "embedded:x", "test": 0.7 + g + 0.002 * s})
    runs = _runs(rows)
    runs["ft_test"], runs["gain"] = 0.7, runs["test"] - 0.7
    (c,) = claim_gains(runs, comparisons(runs[runs["method"] == "gpta"]))
    assert _mde(c, 0.05).endswith(" points")  # reachable at 5%
    line = _mde(c, 0.001)
    assert line == ("none at any effect: with 9 pairs the sign-flip test's smallest p is 0.00391, not below the "
                    "family's strictest level 0.001"), line


def test_seeds_for_signflip_says_when_its_cap_is_not_enough():
    """A 2-point effect under 40-point seed noise on 3 datasets needs more than 50 seeds: the search
    returns None (the scorecard says so), not its cap as if it were the answer."""
    from reports.stats import seeds_for_signflip, signflip_power

    assert seeds_for_signflip(0.02, [0.4] * 3, [3] * 3, 3, 0.05, max_seeds=50) is None
    assert signflip_power(0.02, [0.4] * 3, [50] * 3, 0.05, reps=500) < 0.8
    s = seeds_for_signflip(0.02, [0.02] * 3, [3] * 3, 3, 0.05, max_seeds=50)
    assert s is not None and 3 < s <= 50


def test_claim_5_p_and_its_floor_are_exact_for_two_strata_of_seven():
    """Two strata of 7 runs (7! x 7! = 25 million joint orders: the published claim 5 with SmolLM2)
    were Monte-Carlo, and the floor printed as 0.0421 was an estimate of the exact 2/49 = 0.0408.
    The strata are now enumerated one by one and convolved; on a small case the result equals
    enumerating every joint order."""
    import itertools

    from reports.stats import _centred_ranks, stratified_correlation

    rng = np.random.default_rng(3)
    x = np.r_[[0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0.5, 1]]  # an LLM accuracy: mostly 0, few distinct values
    y = rng.normal(size=14)
    sc = stratified_correlation(x, y, ["a"] * 7 + ["b"] * 7)
    assert sc.exact
    # independent checks of the 7 + 7 case: (1) 200,000 random joint orders give p within 4 SE;
    # (2) the floor is the chance that both strata reach their own extreme in the same direction,
    # from each stratum's 5,040 orders on its own (the null is symmetric: x2 for the two signs)
    ranks = [(_centred_ranks(x[i:i + 7]), _centred_ranks(y[i:i + 7])) for i in (0, 7)]
    draws = np.random.default_rng(11)
    null = np.zeros(200_000)
    for rx, ry in ranks:
        den = math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))
        perm = draws.permuted(np.tile(np.arange(7), (len(null), 1)), axis=1)
        null += (rx[perm] * ry).sum(axis=1) / den / 2
    p_mc = float(np.mean(np.abs(null) >= abs(sc.rho) - 1e-12))
    assert abs(p_mc - sc.p) < 4 * math.sqrt(sc.p * (1 - sc.p) / len(null)), (p_mc, sc.p)
    tops = []
    for rx, ry in ranks:
        every = (rx[np.array(list(itertools.permutations(range(7))))] * ry).sum(axis=1)
        tops.append(float(np.mean(every >= every.max() - 1e-9)))
    assert sc.p_floor == pytest.approx(2 * tops[0] * tops[1]), (sc.p_floor, tops)
    x3, y3 = np.r_[[0, 0, 1, 0.5], [1, 1, 0, 0.2]], rng.normal(size=8)
    small = stratified_correlation(x3, y3, ["a"] * 4 + ["b"] * 4)
    groups = [(_centred_ranks(x3[i:i + 4]), _centred_ranks(y3[i:i + 4])) for i in (0, 4)]
    null = np.zeros(1)
    for rx, ry in groups:
        den = math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))
        perms = np.array(list(itertools.permutations(range(4))))
        null = (null[:, None] + ((rx[perms] * ry).sum(axis=1) / den / 2)[None, :]).ravel()
    assert small.p == pytest.approx(float(np.mean(np.abs(null) >= abs(small.rho) - 1e-12)))
    assert small.p_floor == pytest.approx(float(np.mean(np.abs(null) >= np.abs(null).max() - 1e-12)))


def test_a_verdict_says_how_many_of_its_seeds_only_a_noted_stage_planned(tmp_path):
    """Audit 5: claim 2's "supported" read as confirmatory, while 4 of its 7 seeds were added after
    a look (said only in the stage's note under the table). A claim that reads seeds only a stage
    with a note planned now says so beside its verdict."""
    from reports import build_report

    res = tmp_path / "results"
    for ds in PAPER:
        write_folder(res, seeds=(1, 2, 3, 4), fractions=(0.01, 0.05), gain=0.10, dataset=ds)
    rows = []
    for p in sorted(res.glob("*.json")):
        c = json.loads(p.read_text())["config"]
        stages = ["confirm"] if c["seed"] == 4 else ["primary", "confirm"]
        rows += [{"suite": "t", "stage": st, "dataset": c["dataset"], "fraction": c["fraction"], "seed": c["seed"],
                  "method": c["method"], "llm": c.get("llm"), "run_id": p.stem} for st in stages]
    note = {"kind": "stage-note", "suite": "t", "stage": "confirm", "note": "Seed 4 was added after a look."}
    (res / "sweep_plan.jsonl").write_text("".join(json.dumps(x) + "\n" for x in [note, *rows]))
    claims = {c["claim"]: c for c in build_report(res, tmp_path / "report")["summary"]["claims"]}
    assert claims[1]["verdict"] == "supported"
    assert "1 of its 4 seeds were planned only by stage 'confirm'" in claims[1]["qualifier"], claims[1]
    card = (tmp_path / "report" / "scorecard.md").read_text()
    assert "95% CIs per comparison, not adjusted for multiplicity" in card  # audit 5: per-cell CIs beside corrected p
    assert "taken as fixed" in card and "the corrected test decides" in card  # what a pooled interval is
    (res / "sweep_plan.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rows))  # no note: no qualifier
    claims = {c["claim"]: c for c in build_report(res, tmp_path / "report2")["summary"]["claims"]}
    assert not claims[1]["qualifier"]


def test_claim_4_supported_against_a_reference_at_the_majority_rate_says_so():
    """Audit 5: SmolLM2's zero-shot reference sat at or below the most frequent label's share on 4
    of 5 datasets (trec 8.5%); "supported" now says what it was against."""
    from reports.claims import _no_better_than_majority
    from types import SimpleNamespace as R

    assert _no_better_than_majority(R(test=0.085, test_n=200, majority=0.276)) is True
    assert _no_better_than_majority(R(test=0.27, test_n=200, majority=0.25)) is True  # within its sampling error
    assert _no_better_than_majority(R(test=0.61, test_n=200, majority=0.50)) is False
    assert _no_better_than_majority(R(test=0.61, test_n=math.nan, majority=0.50)) is None


def test_claim_1_marks_a_cell_whose_runs_trained_with_our_stand_in_template():
    from reports.analysis import comparisons
    from reports.claims import claim_gains

    rows = []
    for ds in PAPER:
        for s in (1, 2, 3):
            rows.append({"method": "finetune", "dataset": ds, "fraction": 0.01, "seed": s, "test": 0.7})
            rows.append({"method": "gpta", "dataset": ds, "fraction": 0.01, "seed": s, "paper_arm": True,
                         "llm_label": "embedded:x", "test": 0.72 + 0.001 * s, "stand_in": ds == "trec"})
    runs = _runs(rows)
    runs["ft_test"], runs["gain"] = 0.7, runs["test"] - 0.7
    (c,) = claim_gains(runs, comparisons(runs[runs["method"] == "gpta"]))
    assert "trec 1% ‡:" in c.numbers and "sst2 1%:" in c.numbers and "‡: every GPTA run of this cell" in c.numbers
