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


def refuse_if_locked(out_dir: Path, flag: str = "--out") -> None:
    """For a single cell (``gpta run``, ``gpta transfer``) into a folder: refuse while a sweep holds
    its lock there. Creates nothing (a folder without a lock file is not locked)."""
    path = Path(out_dir).expanduser() / LOCK_FILE
    if not path.is_file():
        return
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise UserError(f"{flag} {out_dir} is in use by a sweep ({_owner(Path(out_dir).expanduser())}); wait "
                        f"for it to finish, or pass another {flag}") from None
    lock.release()


def _owner(out_dir: Path) -> str:
    try:
        info = json.loads((out_dir / OWNER_FILE).read_text())
        return f"pid {info['pid']} on {info['host']} since {info['since']}"
    except (OSError, ValueError, KeyError):
        return "lock held"


def die_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """In a worker process: exit as soon as the driver (``parent_pid``) dies, even by SIGKILL.

    Linux: the kernel sends SIGKILL at the parent's death (PR_SET_PDEATHSIG); everywhere, a
    daemon thread also polls the parent and exits. So a killed sweep leaves no worker running a
    cell and no result written after its driver (and its lock) are gone.
    """
    import signal
    import sys
    import threading

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    if os.getppid() != parent_pid:  # the driver died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="gpta-parent-watch", daemon=True).start()
