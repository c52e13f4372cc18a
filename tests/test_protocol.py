"""Issue 13: every number the suite prints is right and means what it says (library side).

Fast tests check the rules on real data and the real tokenizer; the slow ones run tiny real cells
(MiniLM on the embedded tweets) and check what their results record.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gpta.config import RunConfig, apply_overrides
from gpta.errors import UserError
from tests.helpers import TINY

DATA_DIR = Path(os.environ.get("GPTA_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
needs_data = pytest.mark.skipif(not (DATA_DIR / "MANIFEST.md").is_file(), reason="benchmark files not found")


def cfg_for(method: str, dataset: str = "tweets", fraction: float = 0.005, **settings) -> RunConfig:
    return apply_overrides(RunConfig(dataset=dataset, fraction=fraction, seed=13, method=method),
                           {**TINY, **settings})


# -- item 9: the majority reference line ---------------------------------------------------------

@needs_data
def test_majority_line_is_the_training_majority_scored_on_test():
    from gpta.data import get_dataset, load_splits
    from gpta.data.record import dataset_record
    from gpta.pipeline import sample_train

    spec = get_dataset("trec")
    splits = load_splits(spec, str(DATA_DIR))
    cfg = cfg_for("finetune", "trec", 0.02)
    rec = dataset_record(spec, splits, sample_train(spec, splits, cfg), test=splits.test)
    # TREC's training majority is "entity" (94 of 500 test questions), not the test set's own
    # majority "description" (138 of 500)
    assert rec["train_majority"]["class"] == "entity"
    assert rec["train_majority"]["test_accuracy"] == pytest.approx(94 / 500)
    assert rec["test_majority_rate"] == pytest.approx(138 / 500)
    # item 8: the fraction-to-n rule is stated in the record and is what the sampler does
    assert "round(fraction x pool size)" in rec["n_train_rule"]
    assert rec["sizes"]["train"] == round(0.02 * len(splits.pool)) == 99


# -- item 10: what a cell's identity covers -------------------------------------------------------

def test_cell_identity_covers_precision_protocol_and_data_files(tmp_path, monkeypatch):
    from gpta.results import PROTOCOL_VERSION, cell_id, cell_identity

    a = cfg_for("finetune", **{"train.precision": "fp32"}).to_dict()
    b = cfg_for("finetune", **{"train.precision": "bf16"}).to_dict()
    assert cell_id(a) != cell_id(b)
    auto = cell_identity(cfg_for("finetune", **{"train.precision": "auto"}).to_dict())
    assert auto["precision"] in ("fp32", "bf16") and auto["protocol_version"] == PROTOCOL_VERSION >= 2
    # the same config on changed data files is a different cell
    csv = tmp_path / "d.csv"
    csv.write_text("text,label\nfine day,pos\n")
    c = {**a, "dataset": f"csv:{csv}"}
    first = cell_id(c)
    assert cell_id(c) == first
    csv.write_text("text,label\nfine day,neg\n")
    os.utime(csv, (1, 1))  # a new mtime even on a coarse clock
    assert cell_id(c) != first
    # a benchmark: the sha256 of the local files, as in MANIFEST.md
    if (DATA_DIR / "trec").is_dir():
        monkeypatch.setenv("GPTA_DATA_DIR", str(DATA_DIR))
        data = cell_identity({**a, "dataset": "trec"})["data"]
        assert data["sha256"]["TREC.test"].startswith("033f22c0")


# -- item 11: the QA system prompt ----------------------------------------------------------------

def test_qa_system_prompt_does_not_call_the_model_a_text_classifier():
    from gpta import prompts

    qa = prompts.system_message("qa")
    assert "classifier" not in qa.lower() and "span" in qa and "passage" in qa
    assert prompts.system_message("classification") == prompts.SYSTEM


def test_setfit_runs_at_its_documented_defaults_not_the_shared_step_budget():
    from baselines.setfit_baseline import setfit_options
    from gpta.data.spec import get_dataset

    opts = setfit_options(cfg_for("setfit"), get_dataset("tweets"))
    assert opts["max_steps"] == -1 and opts["num_iterations"] is None  # no cap, SetFit's pair sampling
    assert opts["sampling_strategy"] == "oversampling" and opts["num_epochs"] == 1
    assert (opts["batch_size"], opts["body_lr"], opts["select"]) == (16, 2e-5, "dev")


# -- item 7: true few-shot dev ------------------------------------------------------------------

def test_true_few_shot_dev_is_drawn_from_the_pool_disjoint_and_as_large_as_the_sample():
    from gpta.data import get_dataset, load_splits
    from gpta.data.sampling import sample_fraction, true_few_shot_dev

    spec = get_dataset("bbc-news")
    splits = load_splits(spec)
    train = sample_fraction(splits.pool, 0.02, 13, spec.label_names)
    dev = true_few_shot_dev(splits.pool, train, 13, spec.label_names)
    assert len(dev) == len(train) == 22
    assert not {id(e) for e in dev} & {id(e) for e in train}
    pool_ids = {id(e) for e in splits.pool}
    assert all(id(e) in pool_ids for e in dev)
    assert set(e.label for e in dev) == set(range(spec.num_labels))
    assert [e.text for e in dev] == [e.text for e in true_few_shot_dev(splits.pool, train, 13, spec.label_names)]


# -- slow: tiny real cells -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from gpta.cell import execute

    out = tmp_path_factory.mktemp("protocol")
    results = {}
    for name, cfg in {  # two cells: the finetune one also checks the true-few-shot protocol
        "finetune": cfg_for("finetune", **{"train.dev_protocol": "true-few-shot", "train.dev_max": 0}),
        "empty-prefix": cfg_for("empty-prefix"),
    }.items():
        results[name] = execute(cfg, out, progress=False)[1]
    return results


@pytest.mark.slow  # two tiny cells (~1 min on 2 quiet cores)
def test_overfitting_is_dev_minus_train_loss_and_best_vs_last(runs):
    r = runs["finetune"]
    o = r["overfitting"]
    m = r["metrics"]
    assert o["dev_minus_train_loss"] == pytest.approx(m["dev"]["loss"] - m["train"]["loss"], abs=1e-5)
    assert o["last_dev_accuracy"] == r["curves"][-1]["dev_accuracy"]
    assert o["best_dev_accuracy"] == pytest.approx(r["selected"]["dev_metric"], abs=1e-6)
    assert o["best_minus_last_dev_accuracy"] >= 0 and o["selected_epoch"] == r["selected"]["epoch"]


@pytest.mark.slow
def test_results_record_majority_truncation_identity_and_precision(runs):
    r = runs["finetune"]
    d = r["dataset"]
    assert d["train_majority"]["class"] == "negative" and d["train_majority"]["n_test"] == TINY["train.test_max"]
    assert d["truncated_at_max_text_tokens"]["test"]["max_text_tokens"] == TINY["train.max_text_tokens"]
    assert d["cross_split_duplicates"]["rule"]
    ident = r["identity"]
    assert ident["precision"] == ident["precision_used"] == r["env"]["precision"] in ("fp32", "bf16")
    assert ident["data"]["kind"] == "package" and ident["protocol_version"] >= 2
    assert r["metrics"]["test"]["macro_f1_classes"] == 2


@pytest.mark.slow
def test_empty_prefix_control_trains_in_the_prefix_layout(runs):
    e = runs["empty-prefix"]
    assert e["prefix"] is None and e["prefix_tokens"] == 0 and "[CLS] [SEP] text [SEP]" in e["layout"]
    assert e["costs"]["llm_calls"] == 0 and e["method"] == "empty-prefix"
    assert e["dataset"]["dev_protocol"]["protocol"] == "fixed"
    assert e["dataset"]["sizes"]["dev_evaluated"] == TINY["train.dev_max"]


@pytest.mark.slow
def test_true_few_shot_cell_selects_on_a_dev_set_as_small_as_its_training_sample(runs):
    r = runs["finetune"]
    p = r["dataset"]["dev_protocol"]
    assert p["protocol"] == "true-few-shot" and p["n_dev"] == p["n_train"] == r["dataset"]["sizes"]["train"]
    assert r["dataset"]["sizes"]["dev_evaluated"] == p["n_train"] < r["dataset"]["sizes"]["dev"]


def test_unknown_dev_protocol_is_refused_when_set():
    """Refused by the settings table where it is set, before any data loads (not in dev_split)."""
    with pytest.raises(UserError, match="setting train.dev_protocol='tiny': allowed values: fixed, true-few-shot"):
        cfg_for("finetune", **{"train.dev_protocol": "tiny"})


# -- issue 24 item 2: a cell is what its method reads ---------------------------------------------

def _ids(changes: dict) -> dict[str, str]:
    from gpta.results import cell_id

    methods = ("finetune", "setfit", "llm-zero-shot", "manual-prefix", "random-prefix", "gpta", "llm-prefix",
               "textual-gradient")
    return {m: cell_id(cfg_for(m, **changes).to_dict()) for m in methods}


def test_a_gpta_default_changes_no_baselines_cell_id():
    """A changed GPTA (or generation) default changes every cell's gpta section; only the methods
    that read it get new ids: finetune, setfit and llm-zero-shot keep theirs."""
    base = _ids({})
    for changes, moved in [({"gpta.rounds": 5}, {"gpta", "textual-gradient"}),
                           ({"gpta.candidates": 4, "gpta.adopt": "if-better"}, {"gpta", "textual-gradient"}),
                           ({"gpta.reject_off_task": False}, {"gpta", "textual-gradient", "llm-prefix"}),
                           ({"gpta.reply_temperature": 0.3}, {"gpta", "textual-gradient", "llm-prefix"}),
                           ({"generation.max_tokens": 99}, {"gpta", "textual-gradient", "llm-prefix", "llm-zero-shot"}),
                           ({"train.epochs": 3}, set(base) - {"llm-zero-shot"}),
                           ({"train.test_max": 7}, set(base))]:
        now = _ids(changes)
        assert {m for m in base if now[m] != base[m]} == moved, changes


def test_a_method_revision_moves_only_that_methods_ids():
    """llm-zero-shot's revision 2 (the label fit rule) is in its id; revision 1 adds nothing, so the
    ids of every other method stay as they were."""
    import dataclasses

    from gpta import registry
    from gpta.results import identity_config

    assert registry.get_method("llm-zero-shot").revision == 2
    assert identity_config(cfg_for("llm-zero-shot").to_dict())["method_revision"] == 2
    assert "method_revision" not in identity_config(cfg_for("finetune").to_dict())
    before = _ids({})
    info = registry.METHODS["llm-zero-shot"]
    try:
        registry.METHODS["llm-zero-shot"] = dataclasses.replace(info, revision=1)
        after = _ids({})
    finally:
        registry.METHODS["llm-zero-shot"] = info
    assert {m for m in before if before[m] != after[m]} == {"llm-zero-shot"}


def test_the_llm_is_part_of_the_cell_only_where_the_method_asks_it():
    from gpta.results import cell_id

    for method, changes in (("finetune", False), ("setfit", False), ("gpta", True), ("llm-zero-shot", True)):
        a, b = cfg_for(method), cfg_for(method)
        b.llm = "ollama:other"
        assert (cell_id(a.to_dict()) != cell_id(b.to_dict())) is changes, method


def test_precision_in_the_identity_is_what_the_method_trains_in():
    """SetFit trains in fp32 whatever train.precision (its result says so too): its id does not
    move with train.precision, finetune's does; llm-zero-shot trains nothing."""
    from gpta.registry import SETFIT_PRECISION
    from gpta.results import cell_id, cell_identity

    for method, moves in (("finetune", True), ("setfit", False), ("setfit-manual", False), ("llm-zero-shot", False)):
        a = cfg_for(method, **{"train.precision": "fp32"}).to_dict()
        b = cfg_for(method, **{"train.precision": "bf16"}).to_dict()
        assert (cell_id(a) != cell_id(b)) is moves, method
    assert cell_identity(cfg_for("setfit").to_dict())["precision"] == SETFIT_PRECISION == "fp32"
    import inspect

    import baselines.setfit_baseline as sb

    assert "precision=SETFIT_PRECISION" in inspect.getsource(sb.run)  # the result records the same fact


def test_every_method_reads_real_settings_and_an_llm_method_reads_its_llm():
    from gpta.config import SECTIONS, SETTINGS
    from gpta.registry import METHODS

    for name, info in METHODS.items():
        for item in info.reads:
            assert item in SECTIONS or item == "llm" or item in SETTINGS, (name, item)
        if info.uses_llm:
            assert {"llm", "generation"} <= set(info.reads), name
