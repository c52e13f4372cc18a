"""Issue 27 item 9: a result's git provenance is read without writing anything under .git.

On a repository of its own (git init in a temp folder, real git): the commit comes from files
(loose ref, packed ref, detached HEAD, a worktree), the dirty flag from git run without optional
locks, and ``.git/index`` is not rewritten (a plain ``git status`` rewrites it: checked here too,
so the test shows the difference it guards).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gpta.provenance import head_commit, working_tree_dirty

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env).stdout.strip()


@pytest.fixture
def repo(tmp_path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    (r / "a.txt").write_text("one\n")
    git(r, "add", "a.txt")
    git(r, "commit", "-q", "-m", "first")
    return r


def test_commit_read_from_files_in_every_layout(repo, tmp_path):
    sha = git(repo, "rev-parse", "HEAD")
    assert head_commit(repo) == sha  # loose ref
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert head_commit(repo) == sha  # packed-refs
    git(repo, "checkout", "-q", "--detach")
    assert head_commit(repo) == sha  # detached HEAD
    git(repo, "checkout", "-q", "main")
    git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "side")
    assert head_commit(tmp_path / "wt") == sha  # a worktree: .git is a file, refs in the main git dir
    assert head_commit(tmp_path) is None  # not a repository


def test_dirty_flag_without_rewriting_the_index(repo):
    index = repo / ".git" / "index"
    before = index.stat().st_mtime_ns
    os.utime(repo / "a.txt", ns=(10**18, 10**18))  # stat changed, content not: a refresh would rewrite the index
    assert working_tree_dirty(repo) is False
    assert index.stat().st_mtime_ns == before and not (repo / ".git" / "index.lock").exists()
    git(repo, "status", "--porcelain")  # what the suite ran before: it refreshes and rewrites the index
    assert index.stat().st_mtime_ns != before
    (repo / "a.txt").write_text("two lines\nnow\n")
    assert working_tree_dirty(repo) is True


def test_results_written_under_docs_do_not_make_the_code_dirty(repo):
    """The verdict run writes its results into tracked files under docs/reproduction/: the code that
    ran is still the commit's. A change anywhere else still counts."""
    (repo / "docs").mkdir()
    (repo / "docs" / "results.csv").write_text("run_id\n")
    git(repo, "add", "docs/results.csv")
    git(repo, "commit", "-qm", "results")
    (repo / "docs" / "results.csv").write_text("run_id\nsst2__finetune\n")
    assert working_tree_dirty(repo) is False
    (repo / "a.txt").write_text("changed code\n")
    assert working_tree_dirty(repo) is True
