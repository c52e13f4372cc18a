"""A GGUF file's metadata (its key-value header), read without loading the model.

Reads only the header: magic ``GGUF``, version (2 or 3), tensor count, then the key-value pairs,
and stops before the tensor descriptions. Arrays (the tokenizer's vocabulary) are skipped and
reported by their length. Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md. The
``gguf`` package (llama.cpp's reader) would do the same but memory-maps the whole file and is
not a dependency here; tests/test_llm_embedded.py checks this reader against values it printed
for the SmolLM2 file.
"""

from __future__ import annotations

import os
import struct
from typing import Any, BinaryIO

from gpta.errors import UserError

# GGUF value types -> struct format of a scalar (8: string, 9: array are read separately)
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9

# llama.cpp's llama_ftype (general.file_type): the quantization most tensors have
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}


class _Truncated(Exception):
    pass


def _read(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise _Truncated
    return data


def _unpack(f: BinaryIO, fmt: str) -> Any:
    return struct.unpack(fmt, _read(f, struct.calcsize(fmt)))[0]


def _string(f: BinaryIO) -> str:
    return _read(f, _unpack(f, "<Q")).decode("utf-8", errors="replace")


def _value(f: BinaryIO, kind: int) -> Any:
    if kind in _SCALARS:
        return _unpack(f, _SCALARS[kind])
    if kind == _STRING:
        return _string(f)
    if kind == _ARRAY:
        item, n = _unpack(f, "<I"), _unpack(f, "<Q")
        if item in _SCALARS:  # fixed width: skip in one seek
            f.seek(n * struct.calcsize(_SCALARS[item]), os.SEEK_CUR)
        else:
            for _ in range(n):
                _value(f, item)
        return {"array_of": n}
    raise ValueError(f"unknown GGUF value type {kind}")


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Every header key of the GGUF at ``path``: scalars and strings as read, arrays as
    ``{"array_of": N}``. A file that is not a GGUF (v2/v3) raises ``UserError`` naming it."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                raise UserError(f"{path}: not a GGUF file (it does not start with 'GGUF')")
            version = _unpack(f, "<I")
            if version not in (2, 3):
                raise UserError(f"{path}: GGUF version {version} is not supported (2 or 3)")
            _tensors, n_kv = _unpack(f, "<Q"), _unpack(f, "<Q")
            meta: dict[str, Any] = {"GGUF.version": version}
            for _ in range(n_kv):
                key = _string(f)
                meta[key] = _value(f, _unpack(f, "<I"))
            return meta
    except _Truncated:
        raise UserError(f"{path}: GGUF header is truncated") from None
    except ValueError as exc:
        raise UserError(f"{path}: GGUF header is not readable ({exc})") from None


def summary(meta: dict[str, Any]) -> dict[str, Any]:
    """What a result records of a GGUF: name, architecture, size label, block count,
    quantization, context length, licence (None when the file has none), chat template present."""
    arch = meta.get("general.architecture")
    file_type = meta.get("general.file_type")
    return {
        "name": meta.get("general.name"),
        "architecture": arch,
        "size_label": meta.get("general.size_label"),
        "block_count": meta.get(f"{arch}.block_count"),
        "context_length": meta.get(f"{arch}.context_length"),
        "quantization": FILE_TYPES.get(file_type, f"file_type {file_type}") if file_type is not None else None,
        "licence": meta.get("general.license"),
        "chat_template": "tokenizer.chat_template" in meta,
    }
