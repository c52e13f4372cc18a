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


# -- verified where it is read (issue 27 item 2) --------------------------------------------------


def _copy_dataset(tmp_path: Path, dataset: str) -> Path:
    root = tmp_path / "data"
    for f in files_of(dataset):
        (root / f.path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DATA / f.path, root / f.path)
    return root


@needs_data
def test_a_damaged_benchmark_is_refused_where_it_is_read(tmp_path):
    """TREC.test cut in half: the loader refuses in one line naming the file and both sizes; a
    same-size edit is caught by the sha256; the verdict is cached per file version (path, size, mtime)."""
    from gpta.data import get_dataset, load_splits
    from gpta.data import manifest
    from gpta.errors import UserError

    root = _copy_dataset(tmp_path, "trec")
    test_file = root / "trec" / "TREC.test"
    full = test_file.read_bytes()
    assert len(load_splits(get_dataset("trec"), str(root)).test) == 500
    test_file.write_bytes(full[: len(full) // 2])
    with pytest.raises(UserError) as exc:
        load_splits(get_dataset("trec"), str(root))  # the splits cached in this process are not served
    msg = str(exc.value)
    assert "\n" not in msg and "TREC.test" in msg and "11,677 bytes, not the manifest's 23,354" in msg
    assert "gpta data prepare" in msg and "delete" not in msg
    test_file.write_bytes(full.replace(b"ABBR", b"ABBX", 1))  # same size, other bytes
    with pytest.raises(UserError, match="sha256 .* is not the manifest's"):
        manifest.verify_files("trec", root)
    test_file.write_bytes(full)
    info = manifest._verdict.cache_info()
    manifest.verify_files("trec", root)
    manifest.verify_files("trec", root)
    assert manifest._verdict.cache_info().hits >= info.hits + 2  # unchanged files: no second hash


def test_a_user_file_changed_after_it_was_read_is_refused(tmp_path):
    """csv: splits carry the sha256 of the file they were read from; a later load checks it."""
    from gpta.data import get_dataset, load_splits
    from gpta.errors import UserError

    csv = tmp_path / "d.csv"
    csv.write_text("text,label\n" + "".join(f"text number {i},{('a', 'b')[i % 2]}\n" for i in range(40)))
    spec = get_dataset(f"csv:{csv}")
    assert sum(load_splits(spec).sizes().values()) == 40
    csv.write_text(csv.read_text() + "one more row,a\n")
    with pytest.raises(UserError, match=r"d\.csv changed after it was read"):
        load_splits(spec)
