"""Reading data files strictly: every problem becomes one UserError line naming the file.

A folder, a device, an unreadable or empty file, and bytes that are not in the file's encoding
are each named as what they are. Leading byte-order marks (one, or a doubled one) are not text.

Shared by the benchmark loaders (gpta/data/benchmarks.py) and users' own data
(gpta/data/custom.py). Bytes are decoded strictly, never with ``errors="replace"``: a file in
the wrong encoding should stop the run with the byte offset, not train on mojibake.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

from gpta.errors import UserError

_BOM = codecs.BOM_UTF8


def data_root(data_dir: str | os.PathLike | None) -> Path | None:
    """``--data-dir`` if given, else ``GPTA_DATA_DIR``, else None. A named dir must exist."""
    root = data_dir or os.environ.get("GPTA_DATA_DIR") or None
    if root is None:
        return None
    path = Path(root).expanduser()
    if not path.is_dir():
        raise UserError(f"data dir {str(path)!r} (GPTA_DATA_DIR / --data-dir) is not a directory")
    return path


def read_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The whole file as text: missing, empty or undecodable files raise a UserError."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not a file; pass the file's path")
    if not path.is_file():
        if path.exists():
            raise UserError(f"{path}: not a regular file (a device, pipe or socket); pass a data file")
        raise UserError(f"{path}: no such file")
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise UserError(f"{path}: cannot be read (permission denied); make it readable (chmod u+r) "
                        f"or pass a readable copy") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not raw.strip():
        raise UserError(f"{path}: file is empty")
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise UserError(f"--encoding {encoding!r}: unknown encoding (e.g. utf-8, latin-1, cp1252)") from None
    skip = 0
    if codec.name == "utf-8" and raw.startswith(_BOM):  # a UTF-8 BOM is not text
        skip = len(_BOM)
    try:
        # a BOM written twice (a tool that adds one to a file that had one) is not text either
        return raw[skip:].decode(codec.name).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        if codec.name != "utf-16" and _looks_utf16(raw):
            raise UserError(f"{path}: the file is UTF-16 (a byte-order mark or a NUL every other byte), not "
                            f"{encoding}; pass --encoding utf-16, or save it as UTF-8") from None
        offset = skip + exc.start
        raise UserError(
            f"{path}: byte 0x{raw[offset]:02x} at offset {offset} is not valid {encoding}; "
            f"pass the file's encoding (--encoding latin-1, cp1252, ...)"
        ) from None



def _looks_utf16(raw: bytes) -> bool:
    if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return True
    head = raw[:4000]
    return len(head) >= 8 and (head[1::2].count(0) > 0.4 * len(head) / 2 or head[0::2].count(0) > 0.4 * len(head) / 2)
