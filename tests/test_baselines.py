"""Baselines beside GPTA: each test asserts what makes a method that method.

Fast tests check the pieces (registry, label parsing, random tokens, PEFT flags). The slow ones
run real cells (MiniLM, the embedded SmolLM2) with tiny settings in one shared results
directory, after one GPTA cell: random-prefix must find that GPTA result there.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from gpta.config import RunConfig, apply_overrides
from gpta.errors import UserError

TINY = {"train.epochs": 2, "train.min_steps_per_epoch": 2, "train.max_text_tokens": 32,
        "train.dev_max": 64, "train.test_max": 64, "gpta.rounds": 2}
BASELINES = ["finetune", "manual-prefix", "llm-prefix", "random-prefix", "prompt-tuning", "llm-zero-shot",
             "setfit", "textual-gradient", "transfer"]


def tiny_cfg(method: str, **options) -> RunConfig:
    cfg = RunConfig(dataset="tweets", fraction=0.005, seed=13, method=method, options=dict(options))
    return apply_overrides(cfg, dict(TINY))


def tokenizer():
    from gpta.model import load_tokenizer

    return load_tokenizer("embedded:all-MiniLM-L6-v2")


def ledger(out: Path, result: dict) -> list[dict]:
    path = out / f"{result['run_id']}.ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- registry ---------------------------------------------------------------------------------

def test_list_methods_shows_every_baseline_with_its_llm_use_and_exposure(capsys):
    from gpta.cli import main

    assert main(["list", "methods"]) == 0
    out = capsys.readouterr().out
    for name in BASELINES + ["gpta"]:
        assert any(line.split()[0] == name for line in out.splitlines()[1:]), name
    # prefix-tuning cannot run on this encoder: it is listed with the reason, not hidden
    row = next(line for line in out.splitlines() if line.startswith("prefix-tuning "))
    assert "unavailable: PEFT prefix tuning needs" in row and "past_key_values" in row
    from gpta.registry import all_methods

    methods = all_methods()
    exposing = {n for n, m in methods.items() if m.exposes_data}
    assert exposing == {"llm-zero-shot", "textual-gradient"}
    assert {n for n, m in methods.items() if m.uses_llm} == {"gpta", "llm-prefix", "llm-zero-shot", "textual-gradient"}


def test_registry_names_importable_implementations_without_loading_torch():
    """Listing and validating methods stays light (a warm sweep re-run only validates); every
    implementation the table names exists, and the table's texts match the modules' defaults."""
    import subprocess
    import sys

    code = ("import sys; from gpta.registry import all_methods, get_method; "
            "[get_method(m) for m in all_methods()]; "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    from baselines.llm_zero_shot import DEFAULT_MAX_EVAL
    from gpta.registry import all_methods

    for info in all_methods().values():
        assert callable(info.run), info.name
    assert DEFAULT_MAX_EVAL == 0 and "the same test items" in all_methods()["llm-zero-shot"].llm_use
    assert {n for n, m in all_methods().items() if m.once_per_dataset} == {"llm-zero-shot"}


def test_prefix_tuning_is_refused_with_the_reason(tmp_path):
    from gpta.cell import execute

    with pytest.raises(UserError, match=r"prefix-tuning.*not available.*past_key_values.*prompt-tuning"):
        execute(tiny_cfg("prefix-tuning"), tmp_path)
    assert not list(tmp_path.iterdir())


def test_peft_prefix_tuning_really_fails_on_the_encoder():
    """The reason we give is the real one: PEFT refuses the BERT encoder at the first forward."""
    import torch
    from peft import PrefixTuningConfig, TaskType, get_peft_model

    from gpta.model import load_model

    model = get_peft_model(load_model("embedded:all-MiniLM-L6-v2", "classification", 2),
                           PrefixTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=4))
    batch = tokenizer()(["a tweet"], return_tensors="pt")
    with pytest.raises(ValueError, match="past key values"):
        model(**batch, labels=torch.tensor([0]))


def test_zero_shot_and_textual_gradient_refuse_qa(tmp_path):
    from gpta.cell import execute

    for method in ("llm-zero-shot", "textual-gradient", "setfit", "prompt-tuning"):
        cfg = RunConfig(dataset="squad", fraction=0.01, seed=1, method=method)
        with pytest.raises(UserError, match=f"{method}.*does not apply to qa"):
            execute(cfg, tmp_path)


def test_transfer_without_a_prefix_is_refused(tmp_path):
    from gpta.cell import execute

    with pytest.raises(UserError, match="options.prefix"):
        execute(tiny_cfg("transfer"), tmp_path)


# -- llm-zero-shot: parsing and scoring ---------------------------------------------------------

@pytest.mark.parametrize("reply, expected", [
    ("positive", (1, "exact")),
    (" Negative.", (0, "exact")),
    ("The sentiment of this tweet is positive", (1, "word")),
    ("positive or negative", (None, "ambiguous")),
    ("I cannot tell.", (None, "no label")),
    ("", (None, "no label")),
    ("positively", (None, "no label")),  # whole words only
])
def test_parse_label(reply, expected):
    from baselines.llm_zero_shot import parse_label

    assert parse_label(reply, ["negative", "positive"]) == expected


def test_parse_label_prefers_the_longer_label_name():
    from baselines.llm_zero_shot import parse_label

    labels = ["world", "sports", "business", "science and technology", "technology"]
    assert parse_label("It is science and technology news", labels) == (3, "word")


def test_parse_failures_are_scored_wrong():
    from baselines.llm_zero_shot import score
    from gpta.data.spec import Example
    from gpta.tasks import ClassificationTask

    setup = SimpleNamespace(task=ClassificationTask(tokenizer(), ["negative", "positive"], 32, 32))
    examples = [Example("good", 1), Example("bad", 0), Example("meh", 0), Example("fine", 1)]
    m = score(setup, examples, [1, None, 0, None])  # two right, two parse failures
    assert m["accuracy"] == 0.5
    assert m["per_class_recall"] == {"negative": 0.5, "positive": 0.5}
    assert m["predictions"] == [1, -1, 0, -1]


# -- random-prefix: tokens and where the length comes from ---------------------------------------

def test_random_prefix_encodes_to_exactly_the_drawn_tokens():
    from baselines.random_prefix import random_prefix

    tok = tokenizer()
    texts = set()
    for seed in range(5):
        text, ids = random_prefix(tok, 17, seed)
        assert len(ids) == 17 and tok(text, add_special_tokens=False)["input_ids"] == ids
        assert not set(ids) & set(tok.all_special_ids)
        texts.add(text)
    assert len(texts) == 5  # the seed matters ...
    assert random_prefix(tok, 17, 3) == random_prefix(tok, 17, 3)  # ... and decides


# (where random-prefix's length comes from: tests/test_registry.py, the registry's declared needs)


# -- prompt-tuning: what trains -----------------------------------------------------------------

@pytest.mark.parametrize("freeze", [True, False])
def test_prompt_tuning_backbone_flag(freeze):
    from baselines.prompt_tuning import soft_prompt_model

    model = soft_prompt_model("embedded:all-MiniLM-L6-v2", 2, 0, 6, "Is this tweet negative or positive?", freeze)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert any("prompt_encoder" in n for n in trainable)
    assert any("classifier" in n for n in trainable)
    encoder = [n for n, _ in model.named_parameters() if ".encoder.layer." in n]
    assert encoder and all((n in trainable) != freeze for n in encoder)
    # initialised from the text: the first virtual token is [CLS], BERT's pooled position
    tok = tokenizer()
    emb = model.base_model.get_input_embeddings().weight
    prompt = next(p for n, p in model.named_parameters() if "prompt_encoder" in n)
    assert prompt.shape[0] == 6 and bool((prompt[0] == emb[tok.cls_token_id]).all())


# -- end to end: real cells after one GPTA cell in the same results directory --------------------

@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    """A results directory holding one tiny GPTA cell; runs more cells there on request."""
    from gpta.cell import execute

    out = tmp_path_factory.mktemp("baselines")

    def run(method: str, **options) -> dict:
        _, result = execute(tiny_cfg(method, **options), out, progress=False)
        return result

    gpta = run("gpta")
    return SimpleNamespace(out=out, run=run, gpta=gpta)


def assert_schema(result: dict, splits=("train", "dev", "test"), n_test: int = TINY["train.test_max"]) -> None:
    for split in splits:
        assert 0 <= result["metrics"][split]["accuracy"] <= 1 and "macro_f1" in result["metrics"][split]
    assert len(result["metrics"]["test_predictions"]) == n_test
    for key in ("run_id", "config", "dataset", "costs", "env", "prefix", "prefix_tokens"):
        assert key in result, key
    assert "llm_calls" in result["costs"] and "prompt_tokens" in result["costs"]


@pytest.mark.slow  # the GPTA fixture cell plus one random-prefix cell (~1 min on 2 cores)
def test_random_prefix_has_the_gpta_prefix_length(cells):
    result = cells.run("random-prefix")
    assert_schema(result)
    assert result["prefix_tokens"] == cells.gpta["prefix_tokens"]
    assert result["prefix_tokens_source"] == f"gpta result {cells.gpta['run_id']}"
    assert result["prefix"] != cells.gpta["prefix"] and result["costs"]["llm_calls"] == 0


@pytest.mark.slow
def test_llm_prefix_is_gptas_first_prefix_from_exactly_one_call(cells):
    result = cells.run("llm-prefix")
    assert_schema(result)
    assert result["costs"]["llm_calls"] == 1
    assert [e["purpose"] for e in ledger(cells.out, result) if e["role"] == "user"] == ["p0"]
    # the same prompt at temperature 0: GPTA's round-0 prefix, kept for every epoch
    assert result["prefix"] == cells.gpta["prefix_history"][0]["prefix"]
    assert {c["prefix_tokens"] for c in result["curves"]} == {result["prefix_tokens"]}
    assert len(result["curves"]) == len(cells.gpta["curves"]) == TINY["train.epochs"]
    # issue 13, item 1: p0 was cached by the GPTA cell; this second cell still records its cold cost
    c = result["costs"]
    assert c["cache_hits"] == 1 and c["llm_seconds_paid"] == 0
    assert c["llm_seconds"] == c["llm_seconds_cold"] > 0


@pytest.mark.slow
def test_manual_prefix_is_the_registry_prefix(cells):
    from gpta.data.spec import get_dataset

    result = cells.run("manual-prefix")
    assert_schema(result)
    assert result["prefix"] == get_dataset("tweets").manual_prefix
    assert result["costs"]["llm_calls"] == 0 and result["llm"] is None


@pytest.mark.slow  # two short trainings (~1 min)
def test_prompt_tuning_trains_the_virtual_tokens(cells):
    unfrozen = cells.run("prompt-tuning")
    assert_schema(unfrozen)
    pt = unfrozen["prompt_tuning"]
    assert pt["freeze_backbone"] is False and pt["prompt_change_l2"] > 0 and pt["backbone_change_l2"] > 0
    assert unfrozen["prefix"] is None  # the soft prompt replaces the text prefix
    frozen = cells.run("prompt-tuning", freeze_backbone=True)["prompt_tuning"]
    assert frozen["prompt_change_l2"] > 0 and frozen["backbone_change_l2"] == 0
    assert frozen["trainable_params"] < pt["trainable_params"] / 100


@pytest.mark.slow  # 6 LLM calls
def test_llm_zero_shot_labels_test_inputs_and_counts_parse_failures(cells):
    result = cells.run("llm-zero-shot", max_eval=6)
    assert_schema(result, splits=("test",), n_test=6)
    zs = result["zero_shot"]
    assert zs["n_evaluated"] == 6 and result["costs"]["llm_calls"] == 6 + zs["fallbacks"]
    # the embedded LLM scores labels (issue 17): no reply to parse, an interval over test items
    assert zs["scoring"] == "logprob" and zs["parse"]["logprob"] + zs["fallbacks"] == 6
    assert result["test_interval"]["n"] == 6 and "accuracy" in result["test_interval"]
    preds = result["metrics"]["test_predictions"]
    assert zs["parse_failures"] == preds.count(-1) == sum(r["parsed"] is None for r in zs["replies"])
    right = sum(p == r["gold"] for p, r in zip(preds, zs["replies"]))
    assert result["metrics"]["test"]["accuracy"] == pytest.approx(right / 6)
    sent = " ".join(e["text"] for e in ledger(cells.out, result) if e["role"] == "user")
    assert all(f"Text: {r_text}" in sent for r_text in evaluated_test_texts(result, 6))


def evaluated_test_texts(result: dict, n: int) -> list[str]:
    """The evaluated test texts, as the pipeline capped and subset them."""
    from gpta.data import load_splits
    from gpta.data.spec import get_dataset
    from gpta.pipeline import subset as _subset

    test = _subset(load_splits(get_dataset("tweets")).test, result["config"]["train"]["test_max"], 0)
    return [e.text for e in _subset(test, n, 0)]


@pytest.mark.slow  # 2 LLM calls and a short training
def test_textual_gradient_shows_training_text_to_the_llm(cells):
    from gpta.data import load_splits
    from gpta.data.spec import get_dataset
    from gpta.pipeline import sample_train

    result = cells.run("textual-gradient")
    assert_schema(result)
    assert result["costs"]["llm_calls"] == 2 and result["training_examples_shown"] > 0
    spec = get_dataset("tweets")
    # whole training texts of 5+ words (the method quotes up to 60 words, whitespace collapsed)
    train_texts = [" ".join(e.text.split()) for e in sample_train(spec, load_splits(spec), tiny_cfg("textual-gradient"))]
    train_texts = [t for t in train_texts if 5 <= len(t.split()) <= 60]

    def quoting(run: dict) -> list[str]:
        return [e["text"] for e in ledger(cells.out, run) if e["role"] == "user" and any(t in e["text"] for t in train_texts)]

    assert [m.split("\n")[0] for m in quoting(result)] == [
        "Training examples the classifier got wrong with the current instruction:"
        if result["prefix_history"][0]["train_errors"] else
        "The classifier got every training example right with the current instruction; some training examples:"]
    assert quoting(cells.gpta) == []  # GPTA's messages never quote one


@pytest.mark.slow  # SetFit for a few contrastive steps
def test_setfit_writes_the_common_schema(cells):
    result = cells.run("setfit", max_steps=4)
    assert_schema(result)
    s = result["setfit"]
    assert s["contrastive_steps"] == 4 and s["prefix"] is None and result["prefix_tokens"] == 0
    # issue 13, item 11: the same dev selection as the others (train.epochs = 2 dev evaluations)
    sel = result["selected"]
    assert [p["step"] for p in sel["evaluations"]] == [2, 4]
    assert sel["dev_metric"] == max(p["dev_accuracy"] for p in sel["evaluations"])
    assert result["costs"]["llm_calls"] == 0 and result["costs"]["train_steps"] == 4
    assert result["dataset"]["sizes"]["train"] == sum(result["dataset"]["n_train_per_class"].values())
    # the precision its id hashes is the precision it trained in (it never autocasts)
    assert result["identity"]["precision"] == result["identity"]["precision_used"] == result["env"]["precision"] == "fp32"
