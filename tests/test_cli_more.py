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


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_console_is_named_as_the_console_not_as_a_file():
    """stdout on a full device: the one line names standard output, not "a file ... pass another
    --out" (`gpta list` has no --out, and a report's files were written whole)."""
    import os
    import subprocess
    import sys

    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "gpta", "list", "methods"], stdout=full, stderr=subprocess.PIPE,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"}, cwd=REPO, timeout=120)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.startswith("gpta list: error: standard output: No space left on device") and "--out" not in err
    assert len(err.strip().splitlines()) == 1


def test_ctrl_c_while_the_commands_load_is_an_interruption_not_a_traceback(monkeypatch, capsys):
    """Ctrl-C in the first moment (while build_parser imports every command) printed a traceback.
    A test double stands in for the keyboard: build_parser raises KeyboardInterrupt, as the real
    signal does there (a real SIGINT at 0.15 s depends on the machine's speed)."""
    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["list", "suites"]) == 130
    assert capsys.readouterr().err == "gpta: interrupted\n"


def test_report_out_never_replaces_a_folder_that_holds_anything_but_a_report(tmp_path, capsys):
    """A report replaces its --out folder whole. Pointed at a results folder, a folder above one or a
    folder of the user's own, it had deleted them (exit 0). It now refuses them before any work,
    replaces an earlier report (or an empty folder), and the comparison path does the same."""
    a = write_folder(tmp_path / "results" / "a", seeds=(1, 2, 3), fractions=(0.01,), gain=0.1, zero_shot=False)
    b = write_folder(tmp_path / "results" / "b", seeds=(1, 2, 3), fractions=(0.01,), gain=0.0, zero_shot=False)
    mine = tmp_path / "mydocs"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    before = sorted(p.name for p in a.iterdir())
    for argv, shown in (([str(a), "--out", str(a)], "holds"), ([str(a), "--out", str(tmp_path / "results")], "'a'"),
                        ([str(a), "--out", str(mine)], "'thesis.tex'"), ([str(a), str(b), "--out", str(mine)], "'thesis.tex'")):
        assert main(["report", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert shown in err and "which no report wrote" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in a.iterdir()) == before and (mine / "thesis.tex").read_text() == "years of work"
    assert (tmp_path / "results" / "b").is_dir()
    # an earlier report, and an empty folder, are replaced as before
    assert main(["report", str(a)]) == 0 and main(["report", str(a)]) == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(a), str(b), "--out", str(empty)]) == 0 and (empty / "compare.md").is_file()
    assert main(["report", str(a), str(b), "--out", str(empty)]) == 0


def test_report_compare_names_left_out_files_and_refuses_an_empty_folder(tmp_path, capsys):
    a = write_folder(tmp_path / "a", seeds=(1, 2, 3), fractions=(0.01,), gain=0.1, zero_shot=False)
    b = write_folder(tmp_path / "b", seeds=(1, 2, 3), fractions=(0.01,), gain=0.0, zero_shot=False)
    (b / "truncated.json").write_text('{"run_id": "x", "config": {"a": ')
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "cmp")]) == 0
    err = capsys.readouterr().err
    assert f"left out 1 file of {b} that is not a usable result" in err and "truncated.json: truncated JSON" in err
    (tmp_path / "empty").mkdir()
    assert main(["report", str(a), str(tmp_path / "empty"), "--out", str(tmp_path / "cmp2")]) == 2
    err = capsys.readouterr().err
    assert "empty: no usable result JSON in it; nothing to compare" in err
    assert not (tmp_path / "cmp2").exists()


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


def test_settings_longer_than_the_encoder_takes_are_refused_before_any_work(tmp_path, capsys):
    """train.max_text_tokens above the encoder's 512 positions had been accepted; the first forward
    pass then failed as an internal error after the data and the model loaded. 477 + 32 + 3 = 512
    is the longest MiniLM takes."""
    out = tmp_path / "out"
    base = ["run", "--dataset", "tweets", "--fraction", "0.02", "--method", "finetune", "--out", str(out)]
    assert main([*base, "--set", "train.max_text_tokens=478"]) == 2
    err = capsys.readouterr().err
    assert ("train.max_text_tokens=478 + train.max_prefix_tokens=32 + 3 special tokens = 513 tokens, more than model "
            "'embedded:all-MiniLM-L6-v2' takes (512") in err
    assert not out.exists()
    from gpta.cell import check_sequence_length
    from gpta.config import RunConfig

    cfg = RunConfig(dataset="tweets", fraction=0.02, seed=1, method="finetune")
    cfg.train.max_text_tokens = 477
    check_sequence_length(cfg, "classification", 512)  # the longest that fits: no error


def test_report_refuses_an_empty_out_as_run_and_sweep_do(tmp_path, capsys):
    a = write_folder(tmp_path / "a", seeds=(1, 2, 3), fractions=(0.01,), gain=0.1, zero_shot=False)
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(a), "--out", ""])
    assert exit_.value.code == 2 and "'' is no folder" in capsys.readouterr().err


def test_transfer_help_offers_no_llm_option_it_would_refuse(capsys):
    with pytest.raises(SystemExit):
        main(["transfer", "--help"])
    out = capsys.readouterr().out
    assert "--from" in out and "--dataset" in out and "--llm" not in out
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "--llm-cache" in capsys.readouterr().out  # run keeps them
