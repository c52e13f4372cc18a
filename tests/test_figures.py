"""Figures as a reader sees them, and the method facts they print, read from the registry.

Fast: synthetic results (tests/report_synth.py), no model, no LLM. Figures are built in memory
and, where layout matters, drawn to a PNG-sized canvas to measure where their text lands.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gpta.registry import METHODS, MethodInfo, Style, styled_methods

REPO = Path(__file__).resolve().parents[1]
MY_FILES = ("reports/figures.py", "reports/style.py", "reports/document.py", "reports/roles.py")


# ---- method facts come from the registry --------------------------------------------------------

def test_every_registry_row_has_its_own_display_name():
    names = {m: info.display for m, info in styled_methods().items()}
    assert all(names.values()), [m for m, d in names.items() if not d]
    assert len(set(names.values())) == len(names)  # no two methods print alike


def test_display_name_reads_the_registry_and_keeps_an_arms_settings():
    from reports.figures import display_name as from_figures
    from reports.style import display_name

    assert from_figures is display_name  # the import path reports.tables uses keeps working
    assert display_name("setfit-gpta") == "SetFit + GPTA prefix" and display_name("empty-prefix") == "Empty prefix"
    assert display_name("gpta [llm=embedded:Qwen]") == "GPTA [llm=embedded:Qwen]"  # no such embedded model
    # an embedded spec is shown as the model it names (the verdict run's "GPTA [llm=embedded]" hid SmolLM2)
    assert display_name("gpta [llm=embedded]") == "GPTA [llm=SmolLM2-135M-Instruct]"
    assert display_name("llm-prefix [llm=embedded:qwen2.5-coder-1.5b, rounds=2]") == (
        "LLM prefix [llm=Qwen2.5-Coder-1.5B-Instruct, rounds=2]")
    assert display_name("gpta [llm=openai:x]") == "GPTA [llm=openai:x]"
    assert display_name("transfer from sst2") == "Transfer from sst2"
    assert display_name("not-a-method x") == "not-a-method x"  # unknown: the raw id, never a guess
    info = MethodInfo("toy-shown", "baselines.finetune:run", isolates="t", llm_use="none", exposure="none",
                      style=Style("#123456", "p", 99), display="Toy method")
    METHODS[info.name] = info
    try:
        assert display_name("toy-shown") == "Toy method"  # a method registered later brings its name
    finally:
        del METHODS[info.name]


def test_roles_are_read_from_the_registry():
    from reports import roles

    methods = styled_methods()
    assert roles.UNDER_TEST in methods and roles.BASELINE in methods
    assert set(roles.reference_methods()) == {m for m, i in methods.items() if i.once_per_dataset} != set()
    assert {m for m in methods if roles.uses_llm(m)} == {m for m, i in methods.items() if i.uses_llm}
    assert not roles.uses_llm("not-a-method")


@pytest.mark.parametrize("path", MY_FILES)
def test_no_method_fact_is_copied_into_the_report_modules(path):
    text = (REPO / path).read_text()
    hits = [line for line in text.splitlines() if re.search(r'"gpta"|DISPLAY_NAMES|REFERENCE_METHODS', line)
            and not line.startswith("UNDER_TEST = ")]  # the one named role, in reports/roles.py
    assert not hits, hits


# ---- figures a reader can read: synthetic results, every figure drawn --------------------------

SST2_SEEDS, TWEETS_SEEDS = (1, 2, 3), (1, 2)  # 3 seeds: intervals drawn; 2 seeds: none


def _with_dialogue_records(folder: Path) -> None:
    """Give each synthetic GPTA run what the loop records: a proposal per revision (its same-weights
    A/B) and the dialogue summary with an LLM accuracy."""
    import json

    for path in folder.glob("*__gpta__*.json"):
        r = json.loads(path.read_text())
        seed = int(r["config"]["seed"])
        for j, h in enumerate(r["prefix_history"][1:]):
            h["proposals"] = [{"candidate": 0, "status": "new", "adopted": True, "beats_incumbent": (seed + j) % 3 == 0}]
        acc = (0.0, 0.5, 1.0)[seed % 3]
        r["dialogue"] = {"llm_accuracy": acc, "proposals": 2, "new": 2, "echo": 0, "duplicate": 0, "fallback": 0,
                         "beat_incumbent": int(2 * acc), "adopted": 2, "share_new": 1.0, "share_adopted": 1.0,
                         "rounds_with_proposals": 2, "adopted_gains": [0.01, -0.01]}
        path.write_text(json.dumps(r))


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    from tests import report_synth
    from reports.analysis import attach_baseline
    from reports.extract import enrich
    from reports.load import load

    folder = tmp_path_factory.mktemp("figs") / "results"
    report_synth.write_folder(folder, seeds=SST2_SEEDS, fractions=(0.01, 0.05), dataset="sst2")
    report_synth.write_folder(folder, seeds=TWEETS_SEEDS, fractions=(0.01, 0.02, 0.05), dataset="tweets")
    report_synth.write_folder(folder, seeds=(1, 2), fractions=(0.05,), dataset="yelp", extra_llms=("Qwen-0.5B",))
    _with_dialogue_records(folder)
    rs = load(folder)
    rs.runs = enrich(attach_baseline(rs.runs), rs.raw)
    return rs


@pytest.fixture(scope="module")
def figures(synth):
    import matplotlib.pyplot as plt

    from reports.build import make_figures

    figs = {f.name: f for f in make_figures(synth)}
    yield figs
    for f in figs.values():
        if f.fig is not None:
            plt.close(f.fig)


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def test_every_figure_is_drawn(figures):
    drawn = {n for n, f in figures.items() if f.fig is not None}
    assert {"llm_accuracy_vs_gain", "dialogue_rounds_sst2", "cost_vs_accuracy_sst2", "overfitting_gap_tweets"} <= drawn


def test_no_text_is_cut_off_and_every_figure_is_one_column_wide(figures):
    from reports.style import COLUMN_WIDTH_IN

    for name, f in figures.items():
        if f.fig is None:
            continue
        assert f.fig.get_size_inches()[0] <= COLUMN_WIDTH_IN + 1e-9, name  # 34em in HTML, one paper column
        f.fig.canvas.draw()  # constrained layout runs here, as at savefig
        renderer = f.fig.canvas.get_renderer()
        w, h = f.fig.get_size_inches()
        box = f.fig.get_tightbbox(renderer)  # everything drawn (what bbox_inches="tight" would grow to)
        assert box.x0 >= -0.01 and box.y0 >= -0.01 and box.x1 <= w + 0.01 and box.y1 <= h + 0.01, (name, box)
        wp, hp = f.fig.canvas.get_width_height()
        for t in _texts(f.fig):  # titles, axis labels, legends: each inside the canvas
            if t in {lbl for ax in f.fig.axes for lbl in ax.get_xticklabels() + ax.get_yticklabels()}:
                continue  # tick labels: covered by the tight box (ticks outside the view are not drawn)
            tb = t.get_window_extent(renderer)
            assert tb.x0 >= -1 and tb.x1 <= wp + 1 and tb.y0 >= -1 and tb.y1 <= hp + 1, (name, t.get_text())


def test_tick_labels_do_not_overlap(figures):
    for name, f in figures.items():
        if f.fig is None:
            continue
        f.fig.canvas.draw()
        renderer = f.fig.canvas.get_renderer()
        for ax in f.fig.axes:
            labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
            lo, hi = sorted(ax.get_xlim())
            labels = [t for t in labels if lo <= t.get_position()[0] <= hi]
            boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.x0)
            assert all(a.x1 <= b.x0 + 0.5 for a, b in zip(boxes, boxes[1:])), (name, [t.get_text() for t in labels])


def _lab(hex_color: str):
    """CIELAB (D65) of an sRGB colour: the scale on which colour differences are judged."""
    import numpy as np
    from matplotlib.colors import to_rgb

    c = np.array(to_rgb(hex_color))
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ c
    x, y, z = xyz / np.array([0.95047, 1.0, 1.08883])
    f = lambda t: np.cbrt(t) if t > 0.008856 else 7.787 * t + 16 / 116  # noqa: E731
    return np.array([116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))])


def test_dataset_palette_is_far_from_every_method_colour():
    import numpy as np

    from reports.style import DATASET_STYLES, METHOD_COLORS

    for color, _ in DATASET_STYLES:
        nearest = min(np.linalg.norm(_lab(color) - _lab(m)) for m in METHOD_COLORS.values())
        assert nearest >= 25, (color, nearest)  # CIE76 distance: clearly another colour
    assert len({m for _, m in DATASET_STYLES}) == len(DATASET_STYLES)  # and a marker each


def test_llm_accuracy_figure_colours_datasets_apart_from_methods(figures, synth):
    from matplotlib.colors import to_hex

    from reports.style import METHOD_COLORS

    f = figures["llm_accuracy_vs_gain"]
    ax = f.fig.axes[0]
    points = [c for c in ax.collections if (c.get_gid() or "").startswith("points:")]
    assert {c.get_gid().split(":")[1] for c in points} == {"sst2", "tweets", "yelp"}
    used = {to_hex(rgba) for c in points for rgba in c.get_edgecolors()}
    assert used and not used & {to_hex(m) for m in METHOD_COLORS.values()}
    legend = " ".join(t.get_text() for lg in f.fig.legends for t in lg.get_texts())
    assert "dataset sst2" in legend and "dataset yelp" in legend and "LLM" in legend  # yelp ran 2 LLMs: fill
    assert "palette no method uses" in f.caption and "fill = LLM" in f.caption
    assert ax.get_title() and "\n" in ax.get_xlabel()  # short title, label on two lines: both fit (test above)


def test_dialogue_caption_counts_the_rises_the_plot_shows(figures, synth):
    import numpy as np

    f = figures["dialogue_rounds_sst2"]
    runs = [ln for ln in f.fig.axes[0].get_lines() if (ln.get_gid() or "").startswith("run:")]
    steps = np.concatenate([np.diff(np.asarray(ln.get_ydata(), float)) for ln in runs])
    up, down = int((steps > 1e-9).sum()), int((steps < -1e-9).sum())
    assert up > 0  # the synthetic runs rise from round 0 to 1
    assert f"rose from one round to the next in {up} of {len(steps)} steps (fell in {down}" in f.caption
    gpta = [r for r in synth.raw.values() if r["method"] == "gpta" and r["dataset"]["name"] == "sst2"]
    improved = sum(p["adopted"] and p["beats_incumbent"] for r in gpta for h in r["prefix_history"]
                   for p in h.get("proposals", []))
    revisions = sum(len(r["prefix_history"]) - 1 for r in gpta)
    assert improved < up  # the two counts differ here, so the caption must say which is which
    assert f"in {improved} of {revisions} revisions" in f.caption and "same-weights A/B on dev" in f.caption


def test_no_interval_below_three_seeds_and_no_claim_from_one(figures):
    tweets = figures["overfitting_gap_tweets"]  # 2 seeds per cell
    gids = {c.get_gid() for c in tweets.fig.axes[0].collections}
    assert not any(str(g).startswith("interval:") for g in gids)
    assert "no interval: n < 3" in tweets.caption and "non-overlapping" not in tweets.caption
    assert "claims nothing" in tweets.caption
    sst2 = figures["overfitting_gap_sst2"]  # 3 seeds: intervals drawn, and the clear gap is stated
    assert any(str(g).startswith("interval:") for g in {c.get_gid() for c in sst2.fig.axes[0].collections})
    assert "gap is below Fine-tune's, with non-overlapping 95% intervals" in sst2.caption
    acc = figures["accuracy_vs_fraction_tweets"]
    assert "no interval: n < 3" in acc.caption and "clipped" not in acc.caption


def test_cost_axis_labels_every_power_of_ten():
    import matplotlib.pyplot as plt

    from reports.figures import log_axis

    def labelled(values):
        fig, ax = plt.subplots(figsize=(3.4, 1.5))
        ax.scatter(values, [1] * len(values))
        log_axis(ax.xaxis, values)
        fig.canvas.draw()
        lo, hi = ax.get_xlim()
        out = {round(t.get_position()[0], 6): t.get_text() for t in ax.get_xticklabels()
               if t.get_text() and lo <= t.get_position()[0] <= hi}
        plt.close(fig)
        return out

    wide = labelled([40, 300, 3500])  # two decades: the quick run's spread of seconds
    assert {100, 1000} <= set(wide) and "10^{3}" in wide[1000]
    narrow = labelled([12, 13, 14])  # less than a decade: still at least two labelled ticks, plain numbers
    assert len(narrow) >= 2 and narrow.get(10) == "10"


def test_a_line_marker_methods_second_setting_is_visible_and_draws_without_a_warning():
    """random-prefix ("x") and empty-prefix ("_") have line markers, which have no face: the
    "hollow" style of a method's second setting (white face, coloured edge) drew them white, i.e.
    invisible, with a matplotlib warning that it ignored the edge colour."""
    import warnings

    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from reports.figures import _scatter_style

    for method in ("random-prefix", "empty-prefix", "gpta"):
        arms = [f"{method} [llm=a]", f"{method} [llm=b]"]
        fig, ax = plt.subplots()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # the edge-colour warning fails the test
                drawn = [ax.scatter([1.0], [1.0], **_scatter_style(a, arms)) for a in arms]
                fig.canvas.draw()
            ink = [{to_hex(c) for c in (p.get_edgecolors() if method == "gpta" else p.get_facecolors())}
                   for p in drawn]
            assert all(c and "#ffffff" not in c for c in ink), (method, ink)
            assert ink[0] != ink[1], method  # the two settings are told apart
        finally:
            plt.close(fig)


# ---- a two-LLM suite like the verdict run: a long GGUF name, unequal seeds, stand-in runs ------------

LONG_LLM = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"  # the raw file name the verdict run's reference carried
SHORT_LLM = "SmolLM2-135M"
STAND_IN_TEXT = "Classify the text as negative or positive."  # our template, as a fallback writes it


def _edit_runs(folder: Path, keep, edit=lambda r: None) -> None:
    """Drop the result files ``keep(r)`` rejects; apply ``edit(r)`` to the others (in place)."""
    import json

    for path in folder.glob("*.json"):
        r = json.loads(path.read_text())
        if not keep(r):
            path.unlink()
            continue
        edit(r)
        path.write_text(json.dumps(r))


def _gpta_llm(r: dict) -> str | None:
    return r["llm"]["model"] if r["method"] == "gpta" else None


@pytest.fixture(scope="module")
def two_llms(tmp_path_factory):
    """sst2, two fractions. GPTA with the long-named LLM: seeds 1-3; its seed-2 runs are stand-ins (every
    round fell back to our template) and its seed-3 runs echo their first prefix. GPTA with SmolLM2: seeds 1
    and 4. Fine-tune: seeds 1-4. The long-named arm sorts after SmolLM2's, so "the first arm" is not the one
    with the most seeds. Its zero-shot reference scores 100%: the cost figure's Pareto front holds it."""
    from tests import report_synth
    from reports.analysis import attach_baseline
    from reports.build import make_figures
    from reports.extract import enrich
    from reports.load import load

    folder = tmp_path_factory.mktemp("two_llms") / "results"
    report_synth.write_folder(folder, seeds=(1, 2, 3, 4), fractions=(0.01, 0.05), extra_llms=(LONG_LLM,))
    _with_dialogue_records(folder)

    def keep(r):
        seed = r["config"]["seed"]
        return {LONG_LLM: seed != 4, SHORT_LLM: seed in (1, 4)}.get(_gpta_llm(r), True)

    def edit(r):
        seed = r["config"]["seed"]
        if r["method"] == "llm-zero-shot" and r["llm"]["model"] == LONG_LLM:  # the most accurate: on the front
            r["metrics"]["test_predictions"] = r["metrics"]["test_labels"]
            r["metrics"]["test"].update(accuracy=1.0, macro_f1=1.0)
        if _gpta_llm(r) == LONG_LLM and seed == 2:  # a stand-in: every round's reply unusable
            for h in r["prefix_history"]:
                h.update(prefix=STAND_IN_TEXT, source="fallback")
            r["prefix"] = STAND_IN_TEXT
        if _gpta_llm(r) == LONG_LLM and seed == 3:  # the LLM echoed its first prefix: no round changed it
            for h in r["prefix_history"]:
                h["prefix"] = r["prefix_history"][0]["prefix"]
            r["prefix"] = r["prefix_history"][0]["prefix"]

    _edit_runs(folder, keep, edit)
    rs = load(folder)
    rs.runs = enrich(attach_baseline(rs.runs), rs.raw)
    figs = {f.name: f for f in make_figures(rs)}
    yield rs, figs
    import matplotlib.pyplot as plt

    for f in figs.values():
        if f.fig is not None:
            plt.close(f.fig)


def _long_arm(rs, method="gpta") -> str:
    return next(a for a in rs.runs["arm"].unique() if a.startswith(method + " ") and LONG_LLM in a)


def test_a_long_llm_name_never_pushes_the_legend_off_the_figure(two_llms, tmp_path):
    """The verdict report's legend lost both its sides: a reference was labelled with the raw GGUF file name
    (~75 characters in a 3.4 in figure), and the figure was saved without a tight box."""
    import numpy as np
    from PIL import Image

    from reports.build import _save

    _, figs = two_llms
    f = figs["accuracy_vs_fraction_sst2"]
    f.fig.canvas.draw()
    renderer = f.fig.canvas.get_renderer()
    page = f.fig.bbox  # the figure, in display pixels
    texts = [t for lg in f.fig.legends for t in lg.get_texts()]
    assert any(LONG_LLM[:10] in t.get_text() for t in texts)  # the long name is in the legend: the case tested
    for lg in f.fig.legends:
        box = lg.get_window_extent(renderer)
        assert box.x0 >= page.x0 - 0.5 and box.x1 <= page.x1 + 0.5, (box, page)
    assert all("(embedded:" not in t.get_text() for t in texts)  # references named by their arm, not the file
    png = Image.open(_save(f, tmp_path)["png"]).convert("L")
    ink = np.asarray(png) < 200
    assert not ink[:, :3].any() and not ink[:, -3:].any()  # nothing reaches the saved image's edge


def test_learning_curves_draw_the_most_seeded_gpta_arm_and_count_its_own_seeds(two_llms):
    rs, figs = two_llms
    f = figs["learning_curves_sst2"]
    arm = _long_arm(rs)
    gids = {ln.get_gid() for ln in f.fig.axes[0].get_lines()}
    assert f"curve:{arm}:train" in gids and not any(SHORT_LLM in str(g) for g in gids)
    # per drawn arm: 3 GPTA seeds (not 4, the seeds of both GPTA arms); Fine-tune on the same 3
    assert f.data["n"] == {"gpta": 3, "finetune": 3}
    assert ": 3 seeds, Fine-tune: 3 seeds, the same seeds" in f.caption
    # the boundary statement is true of the drawn arm's 3 runs: seed 1 changed its prefix after epoch 1,
    # seed 2 (a stand-in) and seed 3 (an echo) never did
    assert f.data["boundary_runs"] == {1.5: 1}
    assert "after epoch 1: 1 of 3 runs" in f.caption and "in 1 of 3 runs some round changed it" in f.caption
    assert len([g for g in gids if g == "boundary"]) == 1
    assert "the paper's arm with the most seeds here; the other is in the tables" in f.caption


def test_stand_in_runs_are_marked_in_legends_and_captions(two_llms):
    from reports.figures import STAND_IN_MARK

    rs, figs = two_llms
    assert int(rs.runs["stand_in"].sum()) == 2  # the long-named arm's seed-2 runs, at both fractions
    for name, k_of_n in (("accuracy_vs_fraction_sst2", "2 of 6 runs"), ("overfitting_gap_sst2", "2 of 6 runs"),
                         ("learning_curves_sst2", "1 of 3 runs"), ("dialogue_rounds_sst2", "2 of 6 runs"),
                         ("cost_vs_accuracy_sst2", "2 of 6 runs")):
        f = figs[name]
        labels = [t.get_text().replace("\n", " ") for lg in f.fig.legends for t in lg.get_texts()]
        marked = [t for t in labels if STAND_IN_MARK in t]
        assert marked and all(LONG_LLM[:10] in t for t in marked), (name, labels)
        assert f"{STAND_IN_MARK} = these runs trained and were tested with our stand-in template" in f.caption, name
        assert k_of_n in f.caption, (name, f.caption)
    # an arm without a stand-in run is never marked
    labels = [t.get_text() for lg in figs["accuracy_vs_fraction_sst2"].fig.legends for t in lg.get_texts()]
    assert all(STAND_IN_MARK not in t for t in labels if SHORT_LLM in t or t.startswith("Fine-tune"))


def test_stand_in_note_says_every_run_or_how_many():
    import pandas as pd

    from reports.figures import stand_in_note, stand_ins

    d = pd.DataFrame({"arm": ["gpta [llm=a]"] * 3 + ["llm-prefix [llm=a]"] * 2 + ["finetune"],
                      "stand_in": [True, True, True, True, False, None]})
    marks = stand_ins(d)
    assert marks == {"gpta [llm=a]": (3, 3), "llm-prefix [llm=a]": (1, 2)}  # finetune: none, not marked
    note = stand_in_note(marks)
    assert "GPTA [llm=a]: all 3 runs" in note and "LLM prefix [llm=a]: 1 of 2 runs" in note
    assert stand_in_note(stand_ins(d.drop(columns="stand_in"))) == ""  # results without the column: no mark


def test_dialogue_caption_gives_each_arm_its_own_numbers_by_its_legend_label(two_llms):
    import numpy as np

    rs, figs = two_llms
    f = figs["dialogue_rounds_sst2"]
    ax = f.fig.axes[0]
    arm_of = dict(zip(rs.runs["run_id"], rs.runs["arm"]))
    legend = [t.get_text().replace("\n", " ") for lg in f.fig.legends for t in lg.get_texts()]
    for arm in {arm_of[ln.get_gid()[4:]] for ln in ax.get_lines() if (ln.get_gid() or "").startswith("run:")}:
        mean = next(ln for ln in ax.get_lines() if ln.get_gid() == f"mean:{arm}")
        assert "".join(mean.get_label().split()) in {"".join(t.split()) for t in legend}  # wrapped, else the same
        head = mean.get_label().split(" (mean of")[0]  # the arm's legend label, as the caption must name it
        lines = [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("run:")
                 and arm_of[ln.get_gid()[4:]] == arm]
        steps = np.concatenate([np.diff(np.asarray(ln.get_ydata(), float)) for ln in lines])
        path = ", ".join(f"round {x:g}: {y:.1f}%" for x, y in zip(mean.get_xdata(), mean.get_ydata()))
        up, down = int((steps > 1e-9).sum()), int((steps < -1e-9).sum())
        assert (f"{head} ({len(lines)} runs): mean {path}. In the plot, a run's dev accuracy rose from one round to "
                f"the next in {up} of {len(steps)} steps (fell in {down}") in f.caption, (head, f.caption)
    assert "thick line = mean (" not in f.caption  # no one arm's path passed off as the mean


def test_cost_caption_says_what_a_reference_runs_seconds_buy(two_llms):
    from reports.style import display_name

    rs, figs = two_llms
    f = figs["cost_vs_accuracy_sst2"]
    assert "LLM zero-shot's seconds are the LLM labelling its test sample (120 predictions per run)" in f.caption
    assert "training plus its LLM calls" in f.caption and "normalises both to 1,000 predictions" in f.caption
    refs = [r for r in f.data["front"].itertuples() if r.method == "llm-zero-shot"]
    assert refs  # the long-named LLM's zero-shot is the most accurate point: on the front
    for r in refs:  # a reference does not depend on the fraction: named without one
        assert display_name(r.arm) in f.caption and f"{display_name(r.arm)} at " not in f.caption
