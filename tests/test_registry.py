"""One battery over the method registry (gpta/registry.py), and the dependencies it declares.

Fast tests: every fact about a method lives in its registry row and everything else reads it
(cost model, report style, audit promise, ``gpta list``, options); a method added with one
module and one row shows up everywhere.

Slow tests (real encoder, real embedded LLM, real data, tiny budget): every registered method
runs one tiny cell in one sweep whose method list puts dependent methods *first*; each result is
checked against the common schema, its ledger, its exposure promise and its declared needs.
Then a suite listing ``random-prefix`` before ``gpta`` runs in-process, with ``--workers 2`` and
on Ray: every random-prefix cell has the GPTA cell's selected prefix length, identically.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import yaml

from gpta.cli import main
from gpta.config import RunConfig, apply_overrides
from gpta.errors import UserError
from gpta.registry import METHODS, UNAVAILABLE, Cost, MethodInfo, Need, Style, parse_options
from gpta.schema import METHOD_KEYS, RESULT_KEYS

TINY = {"train.epochs": 1, "train.min_steps_per_epoch": 2, "train.max_text_tokens": 32,
        "train.dev_max": 32, "train.test_max": 16, "train.eval_train_max": 16, "gpta.rounds": 1,
        "generation.max_tokens": 48}


# -- fast: the registry is the one source ----------------------------------------------------

def test_every_method_has_all_its_facts_in_its_row():
    from gpta.sweep.estimate import method_cost
    from reports.style import METHOD_COLORS, method_color, method_marker, method_rank

    colours = set()
    for name, info in {**METHODS, **UNAVAILABLE}.items():
        assert info.name == name and info.isolates and info.llm_use and info.exposure
        assert method_color(name) == info.style.color == METHOD_COLORS[name]
        assert method_marker(name) == info.style.marker
        colours.add(info.style.color)
        for need in info.needs:
            assert need.method in METHODS and need.method != name
    for name, info in METHODS.items():
        assert method_cost(name) == info.cost
        parse_options(name, dict(info.smoke_options))  # what the battery gives it is valid
    assert len(colours) == len(METHODS) + len(UNAVAILABLE)  # no two methods share a colour
    assert method_rank("gpta") == 0 and method_rank("finetune") == 1


def test_exposure_promise_is_the_registry_row():
    from gpta.audit import method_exposure

    for name, info in METHODS.items():
        assert method_exposure(name) == info.exposure
    assert method_exposure("not-a-method") != "none"  # nothing unknown is assumed clean


@pytest.fixture
def toy_method(monkeypatch):
    """A new method: one module (finetune's run, renamed) and one registry row."""
    info = MethodInfo("toy", "baselines.finetune:run", isolates="a method added by a test", llm_use="none",
                      exposure="none", cost=Cost(train=3.0, prefix=False), style=Style("#123456", "p", 99))
    monkeypatch.setitem(METHODS, "toy", info)
    return info


def test_a_new_row_appears_in_list_estimates_and_report_style(toy_method, capsys, tmp_path):
    from gpta.sweep.estimate import prior_seconds
    from reports.style import method_color, method_marker, method_rank

    assert main(["list", "methods"]) == 0
    assert "a method added by a test" in capsys.readouterr().out
    cfg = RunConfig("tweets", 0.01, 13, "toy")
    base = RunConfig("tweets", 0.01, 13, "finetune")
    assert prior_seconds(cfg) > prior_seconds(base)  # its cost row is read: 3x the training work
    assert (method_color("toy"), method_marker("toy")) == ("#123456", "p")
    assert method_rank("toy") > method_rank("transfer")
    suite = tmp_path / "s.yaml"
    suite.write_text(yaml.safe_dump({"name": "s", "datasets": ["tweets"], "fractions": [0.01], "seeds": [13],
                                     "methods": ["toy"]}))
    assert main(["sweep", str(suite), "--out", str(tmp_path / "o"), "--dry-run"]) == 0
    assert "tweets__toy__" in capsys.readouterr().out
    with pytest.raises(UserError, match="allowed: none"):
        apply_overrides(RunConfig("tweets", 0.01, 13, "toy"), {"options.x": 1})


def test_dependent_cells_come_after_their_source_whatever_the_suite_order(tmp_path):
    from gpta.sweep.suite import dependency_waves, expand_stage, load_suite

    suite = tmp_path / "s.yaml"
    suite.write_text(yaml.safe_dump({"name": "s", "datasets": ["tweets"], "fractions": [0.01], "seeds": [13, 21],
                                     "methods": ["random-prefix", "finetune", "gpta"]}))
    cells = expand_stage(load_suite(str(suite)).stages[0])
    methods = [c.cfg.method for c in cells]
    assert methods.index("random-prefix") > max(i for i, m in enumerate(methods) if m == "gpta")
    assert [len(w) for w in dependency_waves(cells)] == [4, 2]


def test_a_need_cycle_is_refused(monkeypatch):
    from gpta.sweep.suite import need_depth

    monkeypatch.setitem(METHODS, "a", dataclasses.replace(METHODS["finetune"], name="a", needs=(Need("b", "x"),)))
    monkeypatch.setitem(METHODS, "b", dataclasses.replace(METHODS["finetune"], name="b", needs=(Need("a", "x"),)))
    with pytest.raises(UserError, match="cycle"):
        need_depth("a")


def test_gpta_run_takes_the_value_from_the_same_cell_only(tmp_path):
    """`gpta run --method random-prefix` reads the gpta result of exactly its cell, by its id."""
    from gpta.registry import source_config
    from gpta.results import write_json_atomic
    from gpta.cell import give_inputs_from_dir, result_path

    def cfg(method, **changes):
        c = apply_overrides(RunConfig("tweets", 0.005, 13, method), dict(TINY))
        return dataclasses.replace(c, **changes)

    def write(c, n):
        write_json_atomic(result_path(tmp_path, c), {"run_id": f"gpta-{n}", "status": "ok", "prefix_tokens": n})

    write(cfg("gpta", seed=14), 21)  # another cell: ignored
    mine = give_inputs_from_dir(cfg("random-prefix"), tmp_path)
    assert mine.inputs == {"prefix_tokens_from": None}  # no source: the method's fallback, recorded
    write(source_config(cfg("random-prefix"), METHODS["random-prefix"].needs[0]), 15)
    mine = give_inputs_from_dir(cfg("random-prefix"), tmp_path)
    assert mine.inputs == {"prefix_tokens": 15, "prefix_tokens_from": "gpta-15"}
    from baselines.random_prefix import DEFAULT_TOKENS, resolve_length

    assert resolve_length(mine) == (15, "gpta result gpta-15")
    assert resolve_length(cfg("random-prefix", options={"prefix_tokens": 9})) == (9, "options.prefix_tokens")
    assert resolve_length(cfg("random-prefix"))[0] == DEFAULT_TOKENS


def test_task_protocol_is_implemented_by_both_tasks():
    from gpta.model import load_tokenizer
    from gpta.qa import QATask
    from gpta.tasks import ClassificationTask, Task

    tok = load_tokenizer("embedded:all-MiniLM-L6-v2")
    assert isinstance(ClassificationTask(tok, ["a", "b"], 32, 8), Task)
    qa = QATask(tok, 32, 8)
    assert isinstance(qa, Task) and "qa_settings" in qa.settings()


# -- slow: every registered method, one tiny real cell -------------------------------------------

def write_suite(path: Path, methods: list[str], **fields) -> Path:
    per_method = {m: {"settings": {f"options.{k}": v for k, v in METHODS[m].smoke_options}}
                  for m in methods if METHODS[m].smoke_options}
    suite = {"name": "battery", "datasets": ["tweets"], "fractions": [0.005], "seeds": [13], "methods": methods,
             "settings": dict(TINY), **({"per_method": per_method} if per_method else {}), **fields}
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    return path


def results(out: Path) -> dict[str, dict]:
    from gpta.results import load_results

    return {r["method"]: r for r in load_results(out)}


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
    from gpta.sweep.suite import need_depth

    root = tmp_path_factory.mktemp("battery")
    # dependent methods listed first: the sweep must still run their sources before them
    methods = sorted(METHODS, key=lambda m: -need_depth(m))
    suite = write_suite(root / "battery.yaml", methods)
    out = root / "out"
    assert main(["sweep", str(suite), "--out", str(out), "--no-progress"]) == 0
    return out, results(out)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(METHODS))
def test_battery(battery, name):
    from gpta.audit import audit_dir

    out, by_method = battery
    info = METHODS[name]
    result = by_method[name]
    # the common schema, and nothing undocumented
    assert set(RESULT_KEYS) <= set(result), set(RESULT_KEYS) - set(result)
    undocumented = set(result) - set(RESULT_KEYS) - set(METHOD_KEYS) - {"_path"}
    assert not undocumented, f"document these keys in gpta/schema.py METHOD_KEYS: {undocumented}"
    assert result["status"] == "ok" and result["method"] == name and result["run_id"] == Path(result["_path"]).stem
    assert 0 <= result["metrics"]["test"][result["metric"]] <= 1
    # the ledger: every LLM message recorded, and none from a method that uses no LLM
    ledger = out / f"{result['run_id']}.ledger.jsonl"
    calls = result["costs"]["llm_calls"]
    if info.uses_llm:
        assert calls >= 1 and ledger.is_file()
        assert any(json.loads(line)["role"] == "user" for line in ledger.read_text().splitlines())
    else:
        assert calls == 0 and not ledger.exists()
    # the exposure promise: a method that promises none shows the LLM no data
    audit = next(a for a in audit_dir(out) if a.run_id == result["run_id"])
    assert audit.exposure == info.exposure and not audit.failed, audit.line()
    # options: the typed ones are recorded; an unknown one is refused naming the allowed ones
    assert result["config"]["options"] == {k: v for k, v in info.smoke_options}
    with pytest.raises(UserError, match="allowed"):
        apply_overrides(RunConfig("tweets", 0.005, 13, name), {"options.zz": 1})
    # declared needs: the value came from the source cell's result, whose id is recorded
    for need in info.needs:
        source = by_method[need.method]
        assert result["config"]["inputs"] == {need.value: source[need.value],
                                              f"{need.value}_from": source["run_id"]}
    if not info.needs:
        assert "inputs" not in result["config"]


# -- slow: random-prefix before gpta, on every executor ------------------------------------------

@pytest.mark.slow
def test_random_prefix_takes_gptas_length_on_every_executor(battery, tmp_path):
    ray = pytest.importorskip("ray")
    battery_out, by_method = battery
    suite = write_suite(tmp_path / "deps.yaml", ["random-prefix", "gpta"])
    cache = str(battery_out / "llm_cache.sqlite")  # the battery's replies: the same prefixes, fewer calls
    runs = {"in-process": (battery_out, by_method)}
    for label, extra in (("workers", ["--workers", "2"]), ("ray", ["--executor", "ray", "--workers", "1"])):
        out = tmp_path / label
        try:
            assert main(["sweep", str(suite), "--out", str(out), "--no-progress", "--llm-cache-path", cache,
                         *extra]) == 0
        finally:
            if label == "ray":
                ray.shutdown()
        runs[label] = (out, results(out))
    gpta_tokens = by_method["gpta"]["prefix_tokens"]
    for label, (_, res) in runs.items():
        rp, gp = res["random-prefix"], res["gpta"]
        assert gp["prefix_tokens"] == gpta_tokens, label
        assert rp["prefix_tokens"] == rp["prefix_tokens_target"] == gpta_tokens, label
        assert rp["config"]["inputs"] == {"prefix_tokens": gpta_tokens, "prefix_tokens_from": gp["run_id"]}, label
        reference = by_method["random-prefix"]
        assert rp["run_id"] == reference["run_id"], label  # the same cell everywhere ...
        assert rp["prefix"] == reference["prefix"], label  # ... with the same random tokens
        if rp["env"]["torch_threads"] == reference["env"]["torch_threads"]:  # (thread count changes float sums)
            assert rp["metrics"] == reference["metrics"], label
