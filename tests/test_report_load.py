"""What `gpta report` reads from a results folder: one result per cell and settings.

Audit 4 (finding 1): a result an older version left beside the planned one (same config, older
protocol, another id) joined the planned one's arm: a cell counted twice its seeds, and which one
became GPTA's finetune partner followed file-name order; 70 such copies turned claim 1 of the
published run from "contradicted" to "supported".
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.report_synth import write_folder
from reports.analysis import attach_baseline
from reports.load import load, problem_files


def _copy_finetune_as_older(folder: Path, suffix: str, version: int = 1, drop: float = 0.06) -> list[str]:
    """A copy of every finetune result as an older protocol left it: same config, another id,
    test accuracy ``drop`` lower. Returns the copies' file names."""
    names = []
    for p in sorted(folder.glob("*__finetune__*.json")):
        r = json.loads(p.read_text())
        r["run_id"] = r["run_id"].rsplit("__", 1)[0] + "__" + suffix
        r["identity"] = {**(r.get("identity") or {}), "protocol_version": version}
        r["metrics"]["test"][r["metric"]] -= drop
        (folder / f"{r['run_id']}.json").write_text(json.dumps(r))
        names.append(f"{r['run_id']}.json")
    return names


def _plan(folder: Path) -> None:
    """A sweep plan naming every result now in the folder (as `gpta sweep` writes it)."""
    rows = []
    for p in sorted(folder.glob("*.json")):
        r = json.loads(p.read_text())
        c = r["config"]
        rows.append({"suite": "t", "stage": "s", "dataset": c["dataset"], "fraction": c["fraction"], "seed": c["seed"],
                     "method": c["method"], "llm": c.get("llm"), "run_id": r["run_id"]})
    (folder / "sweep_plan.jsonl").write_text("".join(json.dumps(x) + "\n" for x in rows))


def test_a_planned_result_supersedes_an_older_copy_of_its_cell_and_the_copy_is_named(tmp_path):
    folder = write_folder(tmp_path / "res", seeds=(1, 2, 3), fractions=(0.01,), zero_shot=False)
    for p in folder.glob("*.json"):  # the planned results are protocol 2
        r = json.loads(p.read_text())
        p.write_text(json.dumps({**r, "identity": {"protocol_version": 2}}))
    _plan(folder)
    before = attach_baseline(load(folder).runs)
    copies = _copy_finetune_as_older(folder, "0000000000")  # sorts before the planned ids
    rs = load(folder)
    runs = attach_baseline(rs.runs)
    assert len(runs) == len(before) and (runs.groupby(["method", "fraction"])["seed"].size() == 3).all()
    gp = runs[runs["method"] == "gpta"].sort_values("seed")
    assert gp["ft_test"].tolist() == before[before["method"] == "gpta"].sort_values("seed")["ft_test"].tolist()
    named = dict(problem_files(folder))
    assert sorted(named) == sorted(copies)
    assert all("the sweep's plan names it" in why and "protocol_version" in why for why in named.values())


def test_without_a_plan_the_newer_protocol_supersedes_the_older(tmp_path):
    folder = write_folder(tmp_path / "res", seeds=(1, 2, 3), fractions=(0.01,), zero_shot=False)
    _copy_finetune_as_older(folder, "ffffffffff", version=3, drop=-0.01)  # a newer protocol, sorting last
    runs = load(folder).runs
    ft = runs[runs["method"] == "finetune"]
    assert len(ft) == 3 and ft["run_id"].str.endswith("ffffffffff").all()
    assert all("newer protocol or finished later" in why for why in dict(problem_files(folder)).values())


def test_results_of_different_settings_are_not_superseded(tmp_path):
    """Another setting is another arm (an ablation), not a second version of the same result."""
    folder = write_folder(tmp_path / "res", seeds=(1, 2, 3), fractions=(0.01,), zero_shot=False)
    for p in sorted(folder.glob("*__finetune__*.json")):
        r = json.loads(p.read_text())
        r["run_id"] = r["run_id"].rsplit("__", 1)[0] + "__eeeeeeeeee"
        r["config"]["train"] = {**(r["config"].get("train") or {}), "epochs": 9}
        (folder / f"{r['run_id']}.json").write_text(json.dumps(r))
    assert problem_files(folder) == [] and (load(folder).runs["method"] == "finetune").sum() == 6


def test_results_that_differ_in_options_or_inputs_are_not_superseded(tmp_path):
    """Review 6: a key of the settings alone made a transfer from gpta and one from llm-prefix (or two
    csv cells with other columns) one cell, and left one out. Only the id's additions may differ."""
    folder = write_folder(tmp_path / "res", seeds=(1, 2, 3), fractions=(0.01,), zero_shot=False)
    for p in sorted(folder.glob("*__finetune__*.json")):
        r = json.loads(p.read_text())
        r["run_id"] = r["run_id"].rsplit("__", 1)[0] + "__dddddddddd"
        r["config"]["dataset_options"] = {"text_col": "other"}
        (folder / f"{r['run_id']}.json").write_text(json.dumps(r))
    assert problem_files(folder) == []


def test_a_run_tested_with_our_template_is_a_stand_in_even_after_a_round_kept_it():
    """Review 6: a round that keeps the incumbent records source "incumbent"; the template's origin
    (the first entry with the tested text) decides."""
    from reports.extract import stand_in

    t, llm_text = "Classify the question type.", "Decide the question's type."
    kept = {"prefix": t, "prefix_history": [{"prefix": t, "source": "fallback"}, {"prefix": t, "source": "incumbent"}]}
    assert stand_in(kept)
    adopted = {"prefix": llm_text, "prefix_history": [{"prefix": t, "source": "fallback"},
                                                     {"prefix": llm_text, "source": "llm"}]}
    assert not stand_in(adopted)
    assert stand_in({"prefix": t, "prefix_source": "fallback"}) and not stand_in({"prefix": t, "prefix_source": "llm"})
