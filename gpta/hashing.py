"""The one file hasher: sha256 of a file's bytes, read once per process per version of the file.

Every file digest in the suite (benchmark files against the manifest, users' data files in a
cell's identity, dataset cards, the embedded LLM's GGUF) comes from :func:`file_sha256`. The
digest is cached by (resolved path, size, mtime in ns): a file that is rewritten (other size or
mtime) is hashed again, an unchanged one is read once however many cells ask.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

_BLOCK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes in memory (a download before it is written)."""
    return hashlib.sha256(data).hexdigest()


@functools.lru_cache(maxsize=512)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            h.update(block)
    return h.hexdigest()


def file_key(path: str | os.PathLike) -> tuple[str, int, int]:
    """(resolved path, size, mtime_ns): what a cached verdict on a file's bytes is keyed by."""
    p = Path(path).expanduser().resolve()
    st = p.stat()
    return str(p), st.st_size, st.st_mtime_ns


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of the file at ``path`` (cached per path, size and mtime). Raises OSError."""
    return _digest(*file_key(path))


def file_sha256_or_none(path: str | os.PathLike) -> str | None:
    """:func:`file_sha256`, or None when ``path`` is not a readable regular file."""
    try:
        if not Path(path).expanduser().is_file():
            return None
        return file_sha256(path)
    except OSError:
        return None
