"""Which code produced a result: the git commit and whether the working tree had changes.

Read without writing anything under ``.git``: the commit comes from the repository's files
(``HEAD``, the ref it names, or ``packed-refs``; worktrees and ``gitdir:`` files followed), no
subprocess. The dirty flag needs git itself; it runs ``git --no-optional-locks status`` (with
``GIT_OPTIONAL_LOCKS=0``), which reads the index but never refreshes or locks it. A plain
``git status`` rewrites ``.git/index`` and takes ``index.lock``: on every ``gpta run`` that raced
a user's own git commands. Both are computed once per process (a sweep worker runs many cells).
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from pathlib import Path
from typing import Any

_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
REPO = Path(__file__).resolve().parent.parent


def _git_dir(repo: Path) -> Path | None:
    dot = repo / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():  # a worktree or submodule: "gitdir: <path>"
        text = dot.read_text(encoding="utf-8").strip()
        if text.startswith("gitdir:"):
            return (repo / text[len("gitdir:"):].strip()).resolve()
    return None


def head_commit(repo: Path = REPO) -> str | None:
    """The commit HEAD names, read from files under the git directory (None: not a repository,
    or a layout this reader does not know)."""
    try:
        git = _git_dir(repo)
        if git is None:
            return None
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref:"):
            return head if _SHA.fullmatch(head) else None  # a detached HEAD
        ref = head[len("ref:"):].strip()
        common = git
        if (git / "commondir").is_file():  # a worktree keeps its refs in the main git directory
            common = (git / (git / "commondir").read_text(encoding="utf-8").strip()).resolve()
        for base in (git, common):
            loose = base / ref
            if loose.is_file():
                sha = loose.read_text(encoding="utf-8").strip()
                return sha if _SHA.fullmatch(sha) else None
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8").splitlines():
                sha, _, name = line.partition(" ")
                if name == ref and _SHA.fullmatch(sha):
                    return sha
    except OSError:
        return None
    return None


# Tracked paths whose changes do not change what a run computes: published results and prose. A
# sweep that writes into docs/reproduction/ (the verdict run does) rewrites tracked files there as
# cells finish; counting them made every one of its results "dirty" on a clean checkout of the code.
NOT_CODE = ("docs",)


def working_tree_dirty(repo: Path = REPO) -> bool | None:
    """Tracked files outside ``NOT_CODE`` changed since HEAD (None: git absent or failing).
    Writes nothing under .git."""
    try:
        out = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain", "--untracked-files=no",
                              "--", ".", *(f":(exclude){p}" for p in NOT_CODE)],
                             cwd=repo, capture_output=True, text=True, timeout=10,
                             env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"})
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def git_info() -> dict[str, Any]:
    """{"commit": ..., "dirty": ...} of this package's repository, once per process."""
    commit = head_commit()
    return {"commit": commit, "dirty": working_tree_dirty() if commit else None}
