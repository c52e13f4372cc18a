"""The published verdict run (docs/reproduction/verdict): its shipped report's tables are what
`gpta report` builds from its shipped results, byte for byte, and the folder stays small.

Reads results only (no model, no LLM): fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "docs" / "reproduction" / "verdict"
TABLES = ("tables.md", "tables.tex", "scorecard.md", "scorecard.tex", "runs.csv", "missing_cells.csv")
MAX_FILE = 2_000_000  # bytes: no published file over 2 MB
MAX_TOTAL = 30_000_000  # bytes: the whole folder under 30 MB


def test_the_published_run_is_there():
    results = sorted(PUBLISHED.glob("*.json"))
    assert results, f"no results under {PUBLISHED}"
    assert (PUBLISHED / "report" / "scorecard.md").is_file()


def test_gpta_report_regenerates_the_published_tables_byte_for_byte(tmp_path):
    from gpta.cli import main

    assert main(["report", str(PUBLISHED), "--out", str(tmp_path / "report")]) == 0
    for name in TABLES:
        shipped = PUBLISHED / "report" / name
        if not shipped.is_file():
            pytest.fail(f"{shipped} is not shipped")
        assert (tmp_path / "report" / name).read_bytes() == shipped.read_bytes(), name
    # the figures' PDFs too: no timestamp in them (reports/build.py), so a reader can check a figure
    pdfs = sorted(p.name for p in (PUBLISHED / "report" / "figures").glob("*.pdf"))
    assert pdfs and pdfs == sorted(p.name for p in (tmp_path / "report" / "figures").glob("*.pdf"))
    changed = [n for n in pdfs if (tmp_path / "report" / "figures" / n).read_bytes()
               != (PUBLISHED / "report" / "figures" / n).read_bytes()]
    assert changed == []


def test_no_published_file_over_2_mb_and_the_whole_under_30_mb():
    files = [p for p in (ROOT / "docs" / "reproduction").rglob("*") if p.is_file()]
    big = [(p.relative_to(ROOT), p.stat().st_size) for p in files if p.stat().st_size > MAX_FILE]
    assert big == []
    assert sum(p.stat().st_size for p in files) < MAX_TOTAL
