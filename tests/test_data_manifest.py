"""Issue 18: `gpta data prepare` / `gpta data check` against the recorded sha256 (docs/DATA.md)."""

from __future__ import annotations

import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gpta.cli import main
from gpta.data.manifest import DATASETS, FILES, files_of

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("GPTA_DATA_DIR") or REPO.parent / "shared" / "data")
needs_data = pytest.mark.skipif(not (DATA / "yelp").is_dir(), reason="needs the benchmark files (GPTA_DATA_DIR)")


def test_docs_manifest_lists_every_file_and_hash():
    doc = (REPO / "docs" / "DATA.md").read_text()
    for f in FILES:
        assert f.sha256 in doc and f.path in doc and f.commit[:12] in doc
    assert {f.dataset for f in FILES} == set(DATASETS)


@needs_data
def test_check_verifies_all_six(capsys):
    assert main(["data", "check", str(DATA)]) == 0
    out = capsys.readouterr().out
    assert "all 6 datasets" in out and out.count(" ok: ") == 6


@needs_data
def test_check_names_a_changed_file(tmp_path, capsys):
    assert main(["data", "prepare", str(tmp_path), "--from", str(DATA), "--datasets", "yelp"]) == 0
    (tmp_path / "yelp" / "yelp_labelled.txt").write_text("changed\t1\n")
    assert main(["data", "check", str(tmp_path), "--datasets", "yelp"]) == 2
    cap = capsys.readouterr()
    assert "yelp/yelp_labelled.txt sha256 differs" in cap.out and "gpta data prepare" in cap.err


@needs_data
def test_prepare_downloads_and_verifies(tmp_path, capsys):
    """The download path, against a local HTTP server laid out as REPO/COMMIT/PATH."""
    site = tmp_path / "site"
    for f in files_of("yelp") + files_of("trec"):
        target = site / f.repo / f.commit / f.source
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / f.path, target)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        dest = tmp_path / "data"
        assert main(["data", "prepare", str(dest), "--datasets", "yelp,trec", "--base-url", base]) == 0
        assert main(["data", "check", str(dest), "--datasets", "yelp,trec"]) == 0
        # a source that changed is refused and writes nothing
        (site / files_of("yelp")[0].repo / files_of("yelp")[0].commit / files_of("yelp")[0].source).write_text("x\t1\n")
        other = tmp_path / "other"
        assert main(["data", "prepare", str(other), "--datasets", "yelp", "--base-url", base]) == 2
        assert "sha256" in capsys.readouterr().err and not any(other.rglob("*.txt"))
    finally:
        srv.shutdown()
