"""Suites and the sweep command without training: reading, checking, expanding, estimating, locking.

The sweeps that train (kill/resume, Ray, failures) are in test_sweep_run.py.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gpta.cli import main
from gpta.config import RunConfig, apply_overrides
from gpta.results import cell_id, load_results, write_json_atomic
from gpta.sweep.estimate import Estimator, prior_seconds
from gpta.sweep.lock import sweep_lock
from gpta.sweep.suite import Overrides, expand_stage, expand_transfer, load_suite

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("GPTA_DATA_DIR") or REPO.parent / "shared" / "data")
TINY_SETTINGS = {"train.epochs": 1, "train.min_steps_per_epoch": 2, "train.max_text_tokens": 32,
                 "train.dev_max": 64, "train.test_max": 64, "train.eval_train_max": 32}


def write_suite(path: Path, **fields) -> Path:
    suite = {"name": "t", "datasets": ["tweets"], "fractions": [0.005], "seeds": [13, 21],
             "methods": ["finetune"], "settings": dict(TINY_SETTINGS), **fields}
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def run_cli(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


# -- shipped suites ------------------------------------------------------------------------------

def test_paper_dry_run_prints_cell_count_and_estimate(capsys, monkeypatch):
    from gpta.data.spec import get_dataset
    from gpta.registry import all_methods

    paper = yaml.safe_load((REPO / "suites" / "paper.yaml").read_text())
    stages = [{**paper, **s} for s in paper.get("stages") or [paper]]  # a stage inherits the top level
    missing = sorted({m for st in stages for m in st["methods"]} - set(all_methods()))
    if missing:
        pytest.skip(f"methods not registered yet: {', '.join(missing)}")
    monkeypatch.setenv("GPTA_DATA_DIR", str(DATA_DIR))
    code, out, err = run_cli(["sweep", str(REPO / "suites" / "paper.yaml"), "--dry-run"], capsys)
    assert code == 0, err
    # The expected count, worked out here from the file: per-dataset fractions, task applicability.
    expected = 0
    for st in stages:
        for d in st["datasets"]:
            fractions = (st.get("per_dataset") or {}).get(d, {}).get("fractions", st["fractions"])
            applicable = [m for m in st["methods"] if get_dataset(d).task in all_methods()[m].tasks]
            once = [m for m in applicable if all_methods()[m].once_per_dataset]  # llm-zero-shot: one cell
            grids = {m: ((st.get("per_method") or {}).get(m) or {}).get("grid") or {} for m in applicable}
            variants = sum(math.prod(len(v) for v in grids[m].values()) for m in applicable if m not in once)
            expected += len(fractions) * len(st["seeds"]) * variants + len(once)
    total = re.search(r"^total: (\d+) cells, (\d+) to run; estimate ~([\d.]+)([smhd])", out, re.M)
    assert total, out
    assert int(total.group(1)) == expected and int(total.group(2)) == expected
    assert float(total.group(3)) > 0
    assert "the suite file says:" in out  # the documented cost is shown beside the model's


def test_quick_suite_cells_and_ids_are_stable(capsys, tmp_path):
    suite = load_suite("quick")  # a shipped suite by name
    raw = yaml.safe_load((REPO / "suites" / "quick.yaml").read_text())
    cells = expand_stage(suite.stages[0]) if _registered(raw["methods"]) else None
    if cells is None:
        pytest.skip("quick suite methods not registered yet")
    assert len(cells) == len(raw["datasets"]) * len(raw["fractions"]) * len(raw["seeds"]) * len(raw["methods"]) == 12
    cfg = apply_overrides(RunConfig(dataset="tweets", fraction=raw["fractions"][0], seed=13, method="gpta"),
                          raw["settings"])
    assert cell_id(cfg.to_dict()) in {c.id for c in cells}  # same config, same id, whoever builds it
    code, out, err = run_cli(["sweep", "quick", "--dry-run", "--out", str(tmp_path / "q")], capsys)
    assert code == 0, err
    assert out.count("todo ") == 12 and "total: 12 cells, 12 to run" in out


def _registered(methods) -> bool:
    from gpta.registry import all_methods

    return set(methods) <= set(all_methods())


def test_every_shipped_suite_loads():
    for name in ("quick", "paper", "transfer", "cost", "dialogue"):
        suite = load_suite(name)
        assert suite.name == name and suite.description and suite.cost


# -- bad suites: one line, exit 2, nothing run ---------------------------------------------------

@pytest.mark.parametrize("fields, message", [
    ({"methods": ["finetune", "no-such-method"]}, "unknown method 'no-such-method'"),
    ({"datasets": ["tweets", "no-such-data"]}, "unknown dataset 'no-such-data'"),
    ({"settings": {"train.epochz": 3}}, "unknown setting 'train.epochz'"),
    ({"fractions": [0.0]}, "fraction 0.0: must be in (0, 1]"),
    ({"colour": "blue"}, "unknown key 'colour'"),
])
def test_bad_suite_exits_2_before_any_cell(tmp_path, capsys, fields, message):
    path = write_suite(tmp_path / "bad.yaml", **fields)
    out = tmp_path / "out"
    code, _, err = run_cli(["sweep", str(path), "--out", str(out)], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err and str(path) in err
    assert not out.exists()


def test_missing_data_dir_names_the_datasets_that_need_it(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GPTA_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = write_suite(tmp_path / "s.yaml", datasets=["tweets", "sst2", "yelp"])
    code, _, err = run_cli(["sweep", str(path), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert "no data for datasets sst2, yelp (" in err and "gpta data prepare" in err  # not tweets: it ships
    # A dry run still plans, and warns.
    code, out, err = run_cli(["sweep", str(path), "--dry-run", "--out", str(tmp_path / "o")], capsys)
    assert code == 0 and "warning:" in err and "total: 6 cells" in out


# -- overrides and precedence --------------------------------------------------------------------

def test_command_line_overrides_replace_the_suite_axes(tmp_path):
    path = write_suite(tmp_path / "s.yaml", datasets=["tweets", "bbc-news"])
    ov = Overrides(datasets=["bbc-news"], seeds=[7], fractions=[0.1, 0.2], methods=["finetune", "gpta"],
                   llm="ollama:some-model", settings={"train.epochs": "3"})
    cells = expand_stage(load_suite(str(path), ov).stages[0])
    got = sorted((c.cfg.dataset, c.cfg.fraction, c.cfg.seed, c.cfg.method) for c in cells)
    assert got == sorted(("bbc-news", f, 7, m) for f in (0.1, 0.2) for m in ("finetune", "gpta"))
    assert {c.cfg.llm for c in cells} == {"ollama:some-model"} and {c.cfg.train.epochs for c in cells} == {3}


def test_settings_precedence_and_grid(tmp_path):
    path = write_suite(
        tmp_path / "s.yaml", datasets=["tweets", "bbc-news"], methods=["finetune", "gpta"], seeds=[13],
        settings={"train": {"epochs": 2, "batch_size": 8}, "gpta.rounds": 2},  # nested form works too
        per_dataset={"bbc-news": {"settings": {"train.epochs": 4}, "fractions": [0.1]}},
        per_method={"gpta": {"settings": {"train.epochs": 6}, "grid": {"gpta.rounds": [2, 3]}}},
    )
    cells = expand_stage(load_suite(str(path), Overrides(settings={"train.batch_size": "4"})).stages[0])
    table = sorted((c.cfg.dataset, c.cfg.method, c.cfg.fraction, c.cfg.train.epochs, c.cfg.gpta.rounds,
                    c.cfg.train.batch_size) for c in cells)
    assert table == sorted([
        ("tweets", "finetune", 0.005, 2, 2, 4), ("tweets", "gpta", 0.005, 6, 2, 4), ("tweets", "gpta", 0.005, 6, 3, 4),
        ("bbc-news", "finetune", 0.1, 4, 2, 4), ("bbc-news", "gpta", 0.1, 6, 2, 4), ("bbc-news", "gpta", 0.1, 6, 3, 4),
    ])
    assert len({c.id for c in cells}) == len(cells)


def test_a_stages_settings_add_to_the_suites(tmp_path):
    """Suite settings, then the stage's: a stage that sets gpta.candidates keeps the suite's
    shortened recipe (it once replaced it: the dialogue suite's stages ran the default recipe)."""
    path = write_suite(tmp_path / "s.yaml", methods=["gpta"], seeds=[13],
                       stages=[{"name": "paper"},
                               {"name": "search", "settings": {"gpta.candidates": 4, "train.epochs": 2}}])
    paper, search = (expand_stage(s) for s in load_suite(str(path)).stages)
    assert [(c.cfg.train.epochs, c.cfg.train.dev_max, c.cfg.gpta.candidates) for c in paper] == [(1, 64, 1)]
    assert [(c.cfg.train.epochs, c.cfg.train.dev_max, c.cfg.gpta.candidates) for c in search] == [(2, 64, 4)]
    dialogue = load_suite("dialogue").stages
    assert all(s.settings["train.epochs"] == 3 and s.settings["train.dev_max"] == 200 for s in dialogue)


def test_transfer_stage_reads_source_prefixes_within_the_domain(tmp_path):
    """Stage 2's cells come from stage 1's results: the prefix, and the source's fraction and seed."""
    path = write_suite(tmp_path / "s.yaml", datasets=["tweets", "bbc-news"], methods=["gpta"], seeds=[13],
                       stages=[{"name": "source"},
                               {"name": "transfer", "transfer_from": "source", "datasets": ["tweets", "bbc-news", "yelp"]}])
    suite = load_suite(str(path))
    sources = expand_stage(suite.stages[0])
    out = tmp_path / "out"
    stage = suite.stages[1]
    cells, waiting = expand_transfer(stage, sources, out)
    assert cells == [] and len(waiting) == 1  # tweets' source has no result yet; bbc-news has no partner
    src = next(c for c in sources if c.cfg.dataset == "tweets")
    # The source result as `gpta run` writes it (only the fields a transfer reads are filled in here).
    write_json_atomic(out / f"{src.id}.json", {
        "run_id": src.id, "status": "ok", "method": "gpta", "config": src.cfg.to_dict(),
        "prefix": "Decide whether the tweet is positive or negative.",
        "dataset": {"name": "tweets", "domain": "sentiment"},
    })
    cells, waiting = expand_transfer(stage, sources, out)
    assert waiting == [] and [c.cfg.dataset for c in cells] == ["yelp"]
    cfg = cells[0].cfg
    assert (cfg.method, cfg.fraction, cfg.seed) == ("transfer", 0.005, 13)
    assert cfg.options["prefix"] == "Decide whether the tweet is positive or negative."
    assert cfg.options["source"]["result"] == f"{src.id}.json"  # relative: the id survives moving the dir
    assert expand_transfer(stage, sources, out)[0][0].id == cells[0].id


# -- estimate, failure records, lock ------------------------------------------------------------

def test_estimator_learns_from_finished_cells():
    cfg = apply_overrides(RunConfig(dataset="tweets", fraction=0.01, seed=1, method="finetune"), TINY_SETTINGS)
    other = RunConfig(dataset="bbc-news", fraction=0.1, seed=1, method="gpta")
    est = Estimator()
    assert est.seconds(cfg) == pytest.approx(prior_seconds(cfg))
    est.learn({"config": cfg.to_dict(), "costs": {"wall_seconds": 3 * prior_seconds(cfg)}})
    assert est.seconds(cfg) == pytest.approx(3 * prior_seconds(cfg))
    assert est.seconds(other) == pytest.approx(3 * prior_seconds(other))  # the machine is 3x slower
    # More LLM rounds and more data cost more, before any correction.
    bigger = RunConfig(dataset="bbc-news", fraction=0.5, seed=1, method="gpta")
    assert prior_seconds(bigger) > prior_seconds(other)


def test_failure_records_are_not_results(tmp_path):
    cfg = RunConfig(dataset="tweets", fraction=0.01, seed=1, method="finetune")
    run_id = cell_id(cfg.to_dict())
    write_json_atomic(tmp_path / f"{run_id}.failed.json",
                      {"status": "failed", "run_id": run_id, "config": cfg.to_dict(), "error": {"type": "X"}})
    assert load_results(tmp_path) == []


def test_second_sweep_on_a_locked_directory_exits_2(tmp_path):
    """A sweep holds the directory (here: this test process, through the same lock); another is refused."""
    path = write_suite(tmp_path / "s.yaml")
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with sweep_lock(out):
        proc = subprocess.run([sys.executable, "-m", "gpta", "sweep", str(path), "--out", str(out)],
                              capture_output=True, text=True, timeout=300, env=env, cwd=REPO)
    assert proc.returncode == 2, proc.stderr
    assert f"{out} is in use by another sweep (pid {os.getpid()}" in proc.stderr
    assert not list(out.glob("*.json")) and not (out / "sweep.jsonl").exists()  # it ran nothing


def test_lock_is_released_after_a_sweep(tmp_path):
    out = tmp_path / "out"
    with sweep_lock(out):
        pass
    with sweep_lock(out):  # a finished sweep leaves the directory free
        assert json.loads((out / ".sweep.owner").read_text())["pid"] == os.getpid()


def test_setfit_cost_follows_its_pair_count():
    """SetFit trains on pairs: setfit 1.x's default (all pairs) grows with n^2, the SetFit paper's
    num_iterations=R with 2Rn. The old model priced SetFit as 2x finetune at every n, so the paper
    grid's estimate hid ~6 days of SetFit (most of it at 20%)."""
    from gpta.sweep.estimate import contrastive_pairs

    assert contrastive_pairs(396, 2, 20) == 15840  # setfit printed "Num unique pairs = 15840" (tweets 2%)
    assert abs(contrastive_pairs(396, 2) - 91286) / 91286 < 0.15  # setfit printed 91,286 (70/30 classes)

    def secs(fraction, **opts):
        cfg = apply_overrides(RunConfig(dataset="sst2", fraction=fraction, seed=13, method="setfit"),
                              {"train.precision": "fp32", **{f"options.{k}": v for k, v in opts.items()}})
        return prior_seconds(cfg)

    small, big = secs(0.02), secs(0.2)
    assert big / small > 50  # ~n^2: 10x the data, ~100x the pairs
    assert 5 < secs(0.2, num_iterations=20) / secs(0.02, num_iterations=20) < 12  # ~n


def test_a_results_config_is_priced_like_the_cell_that_wrote_it():
    """The estimator learns measured / prior from finished results, so the prior it recomputes
    from a result's config must be the prior of the cell that ran. It dropped method options:
    a SetFit result with num_iterations=20 was re-priced as every-pair SetFit (~5x), and the
    remaining SetFit cells of that pair were then estimated ~5x too short."""
    from gpta.sweep.estimate import config_from_dict

    cfg = apply_overrides(RunConfig(dataset="tweets", fraction=0.02, seed=13, method="setfit-manual",
                                    llm="embedded"),
                          {"train.precision": "fp32", "options.num_iterations": 20})
    back = config_from_dict(cfg.to_dict())
    assert back.options == {"num_iterations": 20} and back.llm == "embedded"
    assert prior_seconds(back) == pytest.approx(prior_seconds(cfg))


def test_inputs_are_priced_at_their_datasets_mean_length():
    """A long-text dataset's input costs more than a short one's (ag_news 47 text tokens, trec 12):
    the old model priced every input at max_text_tokens, and a measured ag_news GPTA cell ran
    1.43x it. A dataset the table does not know is priced at max_text_tokens (an upper bound)."""
    from gpta.sweep.estimate import input_tokens

    assert input_tokens("ag_news", 64, 0) > 3 * input_tokens("trec", 64, 0) - 10
    assert input_tokens("csv:mine.csv", 64, 0) == 64 + 2
    assert input_tokens("bbc-news", 32, 18) == 32 + 18 + 3  # cut at max_text_tokens, plus the prefix
    assert input_tokens("squad", 64, 0) > 256  # QA windows, whatever max_text_tokens


# -- planning a large grid (issue 27 item 7) ------------------------------------------------------

def test_planning_hashes_each_dataset_once_and_names_each_cell_once(tmp_path, monkeypatch):
    """A plan's cell ids share one data fingerprint per dataset (it was computed ~7 times per cell,
    reading package metadata each time), and check_suite's cells are the ones the dry run prices."""
    import gpta.data.fingerprint as fingerprint
    from gpta.results import cell_id as plain_cell_id
    from gpta.sweep.suite import check_suite

    calls = []
    real = fingerprint.data_fingerprint
    monkeypatch.setattr(fingerprint, "data_fingerprint", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    path = write_suite(tmp_path / "s.yaml", datasets=["tweets", "bbc-news"], methods=["finetune", "gpta"],
                       grid={"train.learning_rate": [1e-4, 2e-4, 3e-4]})
    suite = load_suite(str(path))
    check_suite(suite, None, need_data=False)
    cells = suite.planned["main"]
    assert len(cells) == 2 * 2 * 2 * 3 and sorted(calls) == ["bbc-news", "tweets"]
    assert [c.id for c in cells] == [plain_cell_id(c.cfg.to_dict()) for c in cells]  # memo = no memo
    calls.clear()
    check_suite(suite, None, need_data=False)  # the sweep checks again: nothing named twice
    assert calls == [] and suite.planned["main"] is cells


def test_a_long_dry_run_shows_progress(tmp_path, capsys):
    lrs = [round(1e-4 + i * 1e-7, 10) for i in range(2600)]
    path = write_suite(tmp_path / "s.yaml", grid={"train.learning_rate": lrs})  # 2 seeds x 2,600 = 5,200 cells
    code, out, err = run_cli(["sweep", str(path), "--dry-run", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    assert "total: 5200 cells" in out
    assert "naming the cells of stage main" in err and "pricing the cells of stage main" in err


def test_textual_gradient_is_priced_as_the_loop_it_runs():
    """The registry row says what the code does: textual-gradient is GPTA's loop with another
    feedback message, 1 + (rounds - 1) x K calls (no critique call), with GPTA's dev passes."""
    from gpta.registry import get_method
    from gpta.sweep.estimate import llm_calls

    assert get_method("textual-gradient").cost == get_method("gpta").cost
    for rounds, k, epochs, calls in ((3, 1, 6, 3), (3, 4, 6, 9), (4, 2, 2, 3)):  # rounds are capped at epochs
        cfgs = [apply_overrides(RunConfig("tweets", 0.02, 13, m), {"gpta.rounds": rounds, "gpta.candidates": k,
                                                                   "train.epochs": epochs})
                for m in ("gpta", "textual-gradient")]
        assert [llm_calls(c) for c in cfgs] == [calls, calls]
        assert prior_seconds(cfgs[0]) == prior_seconds(cfgs[1])


def test_a_cell_two_stages_plan_is_counted_once(tmp_path, capsys, monkeypatch):
    """The verdict suite's confirm stage re-lists seeds 13, 21 and 42 of GPTA (SmolLM2) and
    finetune: those 60 cells have the primary stage's ids and run once. The dry run had said
    "330 cells" for 270."""
    monkeypatch.setenv("GPTA_DATA_DIR", str(DATA_DIR))
    code, out, err = run_cli(["sweep", str(REPO / "suites" / "verdict.yaml"), "--dry-run", "--out",
                              str(tmp_path / "o")], capsys)
    assert code == 0, err
    assert re.search(r"^stage confirm: 140 cells \(.*; 60 of them also in an earlier stage, counted there\)", out, re.M), out
    assert re.search(r"^total: 270 cells, 270 to run", out, re.M), out


# -- the plan a sweep writes for the report's coverage (gpta/sweep/plan.py) ------------------------

def test_the_plan_keeps_what_earlier_sweeps_planned_and_takes_new_ids_for_a_changed_config(tmp_path, monkeypatch):
    """A narrowed second sweep (--seeds 21) leaves seed 13 planned; a sweep whose settings changed
    replaces the ids of the keys it plans again, so no stale id is left to count as missing; cells
    that need another method's result first are written without an id (matched by key)."""
    from gpta.sweep.plan import PLAN_FILE, read_plan, write_plan

    monkeypatch.setenv("GPTA_DATA_DIR", str(DATA_DIR))
    path = write_suite(tmp_path / "t.yaml", methods=["finetune", "gpta", "random-prefix"])
    out = tmp_path / "o"
    out.mkdir()
    assert read_plan(out) is None
    write_plan(out, load_suite(str(path)))
    first = read_plan(out)
    assert sorted((r["seed"], r["method"]) for r in first) == [(s, m) for s in (13, 21)
                                                                for m in ("finetune", "gpta", "random-prefix")]
    assert {r["method"] for r in first if r["run_id"] is None} == {"random-prefix"}  # it needs gpta's result
    ids = {r["run_id"] for r in first if r["run_id"]}
    assert all(not (out / f"{i}.json").exists() for i in ids)  # planned, not run: nothing else written
    assert [p.name for p in out.iterdir()] == [PLAN_FILE]

    write_plan(out, load_suite(str(path), Overrides(seeds=[21])))  # a narrowed sweep: same ids, nothing new
    assert read_plan(out) == first

    changed = load_suite(str(path), Overrides(seeds=[21], settings={"train.epochs": 2}))
    write_plan(out, changed)
    now = read_plan(out)
    assert len(now) == 6
    assert [r for r in now if r["seed"] == 13] == [r for r in first if r["seed"] == 13]  # kept
    new21 = {r["run_id"] for r in now if r["seed"] == 21 and r["run_id"]}
    old21 = {r["run_id"] for r in first if r["seed"] == 21 and r["run_id"]}
    assert len(new21) == 2 and not new21 & old21  # the changed config's ids replaced the old ones

    (out / PLAN_FILE).write_text('{"suite": "t"}\n')  # not a plan this version reads: no plan, not half of one
    assert read_plan(out) is None


def test_coverage_against_the_plan_counts_shared_cells_once_and_names_runs_outside_it():
    import pandas as pd

    from reports.analysis import plan_status

    def row(stage, seed, method, run_id, llm="embedded"):
        return {"suite": "s", "stage": stage, "dataset": "tweets", "fraction": 0.02, "seed": seed,
                "method": method, "llm": llm, "run_id": run_id}

    plan = [row("primary", 13, "finetune", "a"), row("primary", 13, "gpta", "b"),
            row("confirm", 13, "finetune", "a"),  # the confirm stage re-lists primary's cell: counted once
            row("confirm", 87, "finetune", "c"), row("confirm", 87, "gpta", "d"),
            row("primary", 13, "random-prefix", None)]  # no id: matched by key
    cols = ["run_id", "dataset", "fraction", "seed", "method", "llm"]
    runs = pd.DataFrame([("a", "tweets", 0.02, 13, "finetune", "embedded"),
                         ("b", "tweets", 0.02, 13, "gpta", "embedded"),
                         ("r", "tweets", 0.02, 13, "random-prefix", "embedded"),
                         ("x", "tweets", 0.02, 42, "finetune", "embedded"),  # nobody planned seed 42
                         ("t", "tweets", 0.02, 13, "transfer", "embedded")], columns=cols)
    failed = pd.DataFrame([("d", "tweets", 0.02, 87, "gpta", "embedded")], columns=cols)
    grid, outside = plan_status(runs, failed, plan)
    assert len(grid) == 5 and outside == 1  # the transfer run is not counted as outside
    assert list(zip(grid["seed"], grid["method"], grid["stage"], grid["status"])) == [
        (13, "finetune", "primary", "ok"), (13, "gpta", "primary", "ok"), (87, "finetune", "confirm", "missing"),
        (87, "gpta", "confirm", "failed"), (13, "random-prefix", "primary", "ok")]


def test_a_cell_two_stages_plan_runs_and_counts_once_in_the_sweep(tmp_path, capsys, monkeypatch):
    """The sweep's own counts, like the dry run's: the verdict sweep had printed "330 already done"
    for 270 cells. Here both stages plan the same two cells, which fail (GPTA_FAIL_CELLS: no
    training); the second stage must neither run them again nor call them failures of an earlier
    sweep."""
    from gpta.sweep.plan import read_plan

    monkeypatch.setenv("GPTA_FAIL_CELLS", "finetune")
    path = write_suite(tmp_path / "t.yaml", stages=[{"name": "first"}, {"name": "again"}])
    out = tmp_path / "o"
    code, printed, err = run_cli(["sweep", str(path), "--out", str(out), "--no-progress"], capsys)
    assert code == 1
    assert "sweep t: 0 cells ran ok, 2 failed, 0 already done" in printed, printed
    assert "not retried" not in err, err
    assert len(list(out.glob("*.failed.json"))) == 2
    plan = read_plan(out)  # the plan keeps both stages' rows; the report counts the two cells once
    assert sorted(r["stage"] for r in plan) == ["again", "again", "first", "first"]


def test_a_stage_note_travels_from_the_suite_file_through_the_plan_to_the_report_and_is_checked(tmp_path, monkeypatch):
    """What a reader must know that the results cannot say (the verdict suite's confirm seeds were
    added after a look) is written by the suite, kept in the plan, and not part of any cell id."""
    from gpta.commands.sweep import check_suite_file
    from gpta.errors import UserError
    from gpta.sweep.plan import read_plan, read_stage_notes, write_plan
    from gpta.sweep.suite import stage_cells
    from reports.build import stage_note_lines

    monkeypatch.setenv("GPTA_DATA_DIR", str(DATA_DIR))
    plain = load_suite(str(write_suite(tmp_path / "a.yaml")))
    noted = load_suite(str(write_suite(tmp_path / "b.yaml", stages=[{"name": "main", "note": "Seeds  added\n after a look."}])))
    assert noted.stages[0].note == "Seeds added after a look."  # one paragraph, whitespace as in YAML's folded text
    assert [c.id for c in stage_cells(noted, noted.stages[0])] == [c.id for c in stage_cells(plain, plain.stages[0])]
    out = tmp_path / "o"
    out.mkdir()
    write_plan(out, noted)
    assert read_stage_notes(out) == [{"kind": "stage-note", "suite": "t", "stage": "main", "note": noted.stages[0].note}]
    assert len(read_plan(out)) == 2  # the note line is not a cell
    assert stage_note_lines(read_stage_notes(out)) == [
        f"Note on stage main (suite t, from its suite file): {noted.stages[0].note}"]
    write_plan(out, plain)  # the suite file dropped the note: so does the plan
    assert read_stage_notes(out) == [] and len(read_plan(out)) == 2
    bad = write_suite(tmp_path / "c.yaml", stages=[{"name": "main", "note": ["a list"]}])
    check_suite_file(str(bad))
    with pytest.raises(UserError, match=r"stage 'main': note must be text"):
        load_suite(str(bad))
