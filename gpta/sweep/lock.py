"""One sweep per results directory: an OS file lock (``filelock``), released even on SIGKILL.

The lock is ``<out>/.sweep.lock`` (flock on POSIX: the kernel drops it when the process dies, so
a killed sweep never leaves a stale lock). ``<out>/.sweep.owner`` says who holds it, for the
message the second sweep prints.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from gpta.errors import UserError

LOCK_FILE = ".sweep.lock"
OWNER_FILE = ".sweep.owner"


@contextlib.contextmanager
def sweep_lock(out_dir: Path) -> Iterator[None]:
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out_dir / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise UserError(f"{out_dir} is in use by another sweep ({_owner(out_dir)}); wait for it to "
                        f"finish, or pass another --out") from None
    try:
        (out_dir / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "host": platform.node(),
                                                       "since": time.strftime("%Y-%m-%d %H:%M:%S")}))
        yield
    finally:
        (out_dir / OWNER_FILE).unlink(missing_ok=True)
        lock.release()


def _owner(out_dir: Path) -> str:
    try:
        info = json.loads((out_dir / OWNER_FILE).read_text())
        return f"pid {info['pid']} on {info['host']} since {info['since']}"
    except (OSError, ValueError, KeyError):
        return "lock held"
