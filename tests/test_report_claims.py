"""The claims scorecard and the publishable report, on synthetic but schema-valid result folders.

Fast (no model, no LLM): tests/report_synth.py writes RunResult-shaped JSONs whose accuracies
are computed from stored per-example predictions and gold labels.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from scipy import stats

try:
    from tests.report_synth import write_folder
except ImportError:  # pragma: no cover - depends on how pytest put tests/ on sys.path
    from report_synth import write_folder

VERDICTS = ("supported", "contradicted", "mixed", "not significant at this n", "not measured in these results")


@pytest.fixture(scope="module")
def strong(tmp_path_factory):
    """5 seeds, GPTA clearly better than finetune: the scorecard can give verdicts."""
    from reports import build_report

    res = write_folder(tmp_path_factory.mktemp("strong") / "results", seeds=(1, 2, 3, 4, 5), gain=0.12)
    return res, build_report(res, res.parent / "report", keep_figures=True)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """2 seeds, no gain: a smoke run."""
    from reports import build_report

    res = write_folder(tmp_path_factory.mktemp("smoke") / "results", seeds=(1, 2), fractions=(0.02,), gain=0.0)
    return res, build_report(res, res.parent / "report", keep_figures=True)


def test_scorecard_has_six_claims_each_with_a_verdict(strong, smoke):
    for _, rep in (strong, smoke):
        claims = rep["summary"]["claims"]
        assert [c["claim"] for c in claims] == [1, 2, 3, 4, 5, 6]
        assert all(c["verdict"] in VERDICTS for c in claims)
    strong_claims = {c["claim"]: c for c in strong[1]["summary"]["claims"]}
    assert strong_claims[1]["verdict"] == "supported"  # +12 points over 5 seeds, 2 cells
    assert strong_claims[3]["verdict"] == "supported"  # GPTA's dev-train loss gap is 0.4 nats smaller
    assert strong_claims[4]["verdict"] == "supported"  # 1,020 tokens per run vs 30,600 for zero-shot
    assert strong_claims[6]["verdict"] == "not measured in these results" and strong_claims[6]["command"]
    assert strong[1]["summary"]["smoke_run"] is False


def test_smoke_run_is_said_and_verdicts_are_not_claims(smoke):
    res, rep = smoke
    assert rep["summary"]["smoke_run"] is True
    md = Path(rep["index_md"]).read_text()
    assert md.index("## Claims scorecard") < md.index("## Summary")  # the scorecard comes first
    assert "**Smoke run**" in md and "at most 2 seeds per cell" in md
    claims = {c["claim"]: c for c in rep["summary"]["claims"]}
    assert claims[2]["verdict"] == "not measured in these results"  # one fraction only
    assert claims[1]["verdict"] == "not significant at this n"
    assert "gpta sweep" in claims[2]["command"]


def test_gain_claim_numbers_are_holm_corrected_paired_tests(strong):
    res, rep = strong
    from reports.claims import claim_gains
    from reports.load import load
    from reports.analysis import attach_baseline
    from reports.extract import enrich

    rs = load(res)
    runs = enrich(attach_baseline(rs.runs), rs.raw)
    c = claim_gains(runs, rs.raw)
    ps = []
    for f in (0.01, 0.05):
        g = runs[(runs["method"] == "gpta") & (runs["fraction"] == f)].sort_values("seed")
        ft = runs[(runs["method"] == "finetune") & (runs["fraction"] == f)].sort_values("seed")
        ps.append(stats.ttest_rel(g["test"].to_numpy(), ft["test"].to_numpy()).pvalue)
    holm = sorted(ps)
    holm = [min(1, 2 * holm[0]), min(1, max(2 * holm[0], holm[1]))]
    for p in holm:
        assert f"corrected p = {p:.2g}" in c.numbers or f"corrected p = <0.001" in c.numbers
    assert "(2 tests in the family)" in c.numbers and "McNemar p =" in c.numbers


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
    assert "p (Holm)" in tables and "corrected over the 4 tests of this table" in tables  # gpta + manual x 2 fractions
    assert "Dev − train loss (nats)" in tables and "Best − last dev (pts)" in tables
    rev = tables.split("**The LLM's revisions")[1].split("\n\n")[1]
    row = next(line for line in rev.splitlines() if "| GPTA |" in line)
    # 10 GPTA runs x 2 revisions: one new, one fallback each
    assert "| 20 | 10 (50%) | 0 (0%) | 10 (50%) | 10 (50%) |" in row
    assert "Prefixes written per round: sst2" in tables and "fallback" in tables


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


def test_single_fraction_figure_is_dodged_with_seeds_not_a_t_band(smoke):
    res, rep = smoke
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
        spec = re.search(r"\\begin\{tabular\}\{((?:[^{}]|\{[^{}]*\})*)\}", body).group(1)
        ncols = len(re.sub(r"\{[^}]*\}", "", spec))
        assert (env == "table*") == (ncols > 6 or "p{" in spec), (env, spec)
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
                                      "\\usepackage{booktabs}\n\\begin{document}\n\\input{tables.tex}\n"
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
    assert [c["claim"] for c in claims] == [1, 2, 3, 4, 4, 5, 5, 6]
    assert {c["title"].split("(LLM ")[1] for c in claims if c["claim"] in (4, 5)} == {
        "embedded:SmolLM2-135M)", "embedded:qwen2.5-7b)"}
    md = Path(rep["index_md"]).read_text()
    assert "LLMs: embedded:SmolLM2-135M, embedded:qwen2.5-7b; LLM-dependent rows are given per LLM." in md
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
