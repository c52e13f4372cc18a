"""The command line's conventions: --version, defaults in --help, `list suites`, `list methods
--markdown` (the docs' method table is its output), `report A B`, a report folder written whole
or not at all, and a missing command module failing loudly. In process, on synthetic results
(tests/report_synth.py): no model, no LLM.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pandas as pd
import pytest

from gpta import cli
from gpta.cli import main
from tests.report_synth import write_folder

REPO = Path(__file__).resolve().parent.parent


def test_version(capsys):
    from importlib import metadata

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"gpta-suite {metadata.version('gpta-suite')}"


def test_help_shows_defaults_and_opens_with_what_it_is(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 0.05)" in out and "(default: readwrite)" in out and "(default: auto)" in out
    for flag in ("--llm-cache", "--text-col", "--label-col", "--encoding", "--device", "--track"):
        assert flag in out
    with pytest.raises(SystemExit):
        main(["--help"])
    first = capsys.readouterr().out.split("\n\n")[1]
    assert first.startswith("gpta-suite: a benchmark reproduction suite for GPTA")


def test_a_missing_command_module_fails_loudly(monkeypatch):
    monkeypatch.setattr(cli, "COMMANDS", [*cli.COMMANDS, "no_such_command"])
    with pytest.raises(ModuleNotFoundError, match="gpta.commands.no_such_command"):
        cli.build_parser()


def test_list_suites_names_every_shipped_suite(capsys):
    assert main(["list", "suites"]) == 0
    out = capsys.readouterr().out
    for path in (REPO / "suites").glob("*.yaml"):
        assert f"({'suites/' + path.name})" in out
    assert main(["list", "suites", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("| name | file | what | cost |")


def test_a_reader_that_closes_the_pipe_gets_no_error_line():
    """`gpta list suites | head -1`: the reader of a real pipe is gone when gpta writes. Python
    raises BrokenPipeError; that is not bad input, so no "error: ... Broken pipe" line and not
    exit 2, but the shell's SIGPIPE status, quietly. The read end is closed before gpta starts,
    so every write fails whatever the timing (with a live `head` the race depends on buffering)."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-m", "gpta", "list", "suites"], stdout=write_end,
                              stderr=subprocess.PIPE, env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=REPO,
                              timeout=120)
    finally:
        os.close(write_end)
    err = done.stderr.decode()
    assert done.returncode == 141, err
    assert err == ""


def test_docs_method_table_is_the_registry(capsys):
    assert main(["list", "methods", "--markdown"]) == 0
    table = capsys.readouterr().out
    docs = (REPO / "docs" / "methods.md").read_text(encoding="utf-8")
    generated = docs.split("-->\n", 1)[1].split("<!-- end generated -->", 1)[0]
    assert generated == table, "docs/methods.md is stale: paste `gpta list methods --markdown` between its markers"


def test_report_compares_two_folders(tmp_path, capsys):
    a = write_folder(tmp_path / "a", seeds=(1, 2, 3), fractions=(0.01,), gain=0.10, zero_shot=False)
    b = write_folder(tmp_path / "b", seeds=(2, 3, 4), fractions=(0.01,), gain=0.0, zero_shot=False)
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    assert "Two result folders side by side" in out
    table = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    gpta = table[table["method"] == "gpta"].iloc[0]

    def test_acc(folder: Path, seed: int) -> float:
        [p] = folder.glob(f"*__gpta__f0.01__s{seed}__*.json")
        return json.loads(p.read_text())["metrics"]["test"]["accuracy"]

    assert gpta["seeds_a"] == 3 and gpta["seeds_b"] == 3 and gpta["paired_seeds"] == 2
    assert gpta["test_a"] == pytest.approx(sum(test_acc(a, s) for s in (1, 2, 3)) / 3)
    paired = sum(test_acc(b, s) - test_acc(a, s) for s in (2, 3)) / 2
    assert gpta["b_minus_a_paired"] == pytest.approx(paired)
    assert paired < 0  # b has no gain: GPTA is lower there on the same seeds
    assert f"{paired:+.4f} (n=2)" in (tmp_path / "cmp" / "compare.md").read_text()


def test_report_folder_is_whole_or_absent(tmp_path, monkeypatch):
    """A report that fails half-way (a stand-in build_report that writes one file, then raises)
    leaves the previous report as it was and no partial folder beside it."""
    results = write_folder(tmp_path / "r", seeds=(1,), fractions=(0.01,), zero_shot=False)
    report = tmp_path / "report"
    report.mkdir()
    (report / "index.md").write_text("the previous report")
    reports = importlib.import_module("reports")

    def fails_half_way(results_dir, out_dir):
        (Path(out_dir) / "tables.md").write_text("half")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(reports, "build_report", fails_half_way)
    assert main(["report", str(results), "--out", str(report)]) == 1  # an internal error, one line
    assert [p.name for p in report.iterdir()] == ["index.md"]
    assert (report / "index.md").read_text() == "the previous report"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    monkeypatch.undo()
    assert main(["report", str(results), "--out", str(report)]) == 0  # the real one replaces it whole
    assert (report / "index.md").read_text() != "the previous report" and (report / "tables.md").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
