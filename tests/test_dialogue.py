"""The dialogue gradient's bookkeeping (issue 14): same-weights A/B, candidates, adoption, credit.

Real encoder, real data, tiny budget. Two tests use a *scripted test-double LLM* (``ScriptedTestDouble``,
not a model: it returns fixed texts) because what they check is how the loop treats a given reply
(an echo, a set of distinct candidates); ``test_real_llm_candidates_are_recorded_and_cached`` runs the
embedded LLM.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpta import gpta_loop as gpta_method
from gpta.config import LLMConfig
from gpta.context import RunContext
from gpta.llm.base import LLM, Backend, Reply
from gpta.llm.ledger import Ledger
from gpta.gpta_loop import decide
from gpta.cell import execute
from gpta.results import cell_id
from tests.helpers import tiny_config

P0 = "Classify the sentiment of this tweet as negative or positive."


class ScriptedTestDouble(Backend):
    """A test double, not an LLM: p0 is ``P0``; every later reply comes from ``script(call_index, options)``."""

    name = "scripted-test-double"

    def __init__(self, script):
        self.script = script
        self.calls: list[LLMConfig] = []

    def identity(self):
        return {"backend": self.name, "model": "script", "digest": "none"}

    def complete(self, messages, options):
        self.calls.append(options)
        n = len(self.calls) - 1
        text = P0 if n == 0 else self.script(n, options)
        return Reply(text=text, prompt_tokens=10, completion_tokens=5, seconds=0.0)


def run_scripted(tmp_path: Path, script, **overrides):
    cfg = tiny_config("gpta", fraction=0.02, **overrides)
    run_id = cell_id(cfg.to_dict())
    ctx = RunContext(out_dir=tmp_path, run_id=run_id, cfg=cfg, progress=False)
    llm = LLM(ScriptedTestDouble(script), cfg.generation)
    llm.hooks.append(Ledger(ctx.ledger_path, run_id, "gpta").record)
    ctx._llms.append(llm)  # the run's LLM: ctx.llm() returns it
    return gpta_method.run(cfg, ctx), llm.backend


@pytest.mark.parametrize("adopt", ["if-better", "always"])
def test_echoing_llm_gets_no_new_proposals_no_adoption_no_credit(tmp_path, adopt):
    result, backend = run_scripted(tmp_path, lambda n, o: f"Sure! Here is the prefix: \"{P0}\"",
                                   **{"gpta.candidates": 3, "gpta.adopt": adopt, "gpta.rounds": 3,
                                      "train.epochs": 3})
    d = result["dialogue"]
    assert d["proposals"] == 2 * 3 and d["new"] == 0 and d["adopted"] == 0 and d["beat_incumbent"] == 0
    assert d["llm_accuracy"] is None and d["share_new"] == 0 and d["adopted_gains"] == []
    assert d["echo"] == 6  # the cleaned text repeats p0 (lead-in and quotes stripped)
    assert [h["prefix"] for h in result["prefix_history"]] == [P0] * 3
    assert [h["revision"] for h in result["prefix_history"]] == ["first", "echo", "echo"]
    for h in result["prefix_history"][:-1]:
        for p in h["proposals"]:
            assert p["status"] == "echo" and p["echo_of"] == {"round": 0, "candidate": None}
            assert p["dev_metric"] == h["incumbent_dev"]["metric"] and p["gain"] == 0 and not p["adopted"]
    # candidate k>1 samples at the candidate temperature with its own seed; reply 1 is the paper's
    revisions = backend.calls[1:4]
    assert [(o.temperature, o.seed) for o in revisions] == [(0.0, 0), (0.8, 1), (0.8, 2)]
    # the feedback shows the trajectory on the same weights and keeps training apart from the prefix
    feedback = [m["content"] for m in result["conversation"] if m["role"] == "user"][1:]
    assert "untrained head" in feedback[0] and "same instruction, before and after" in feedback[1]
    assert f'1. "{P0}": ' in feedback[1]


def _proposal(k, status, metric=None, loss=None, beats=False):
    return {"candidate": k, "status": status, "dev_metric": metric, "dev_loss": loss, "beats_incumbent": beats,
            "prefix": None if status == "fallback" else f"text {k}"}


def test_decide_adopts_the_best_candidate_that_beats_the_incumbent():
    props = [_proposal(1, "new", 0.70, 0.6), _proposal(2, "new", 0.82, 0.5, True),
             _proposal(3, "new", 0.82, 0.4, True), _proposal(4, "echo", 0.80, 0.3)]
    chosen, revision = decide(props, "if-better")
    assert chosen["candidate"] == 3 and revision == "changed"  # equal metric: the lower dev loss wins
    chosen, revision = decide(props, "always")  # the paper: reply 1, even when it is worse
    assert chosen["candidate"] == 1 and revision == "changed"
    assert decide([_proposal(1, "new", 0.7, 0.6), _proposal(2, "fallback")], "if-better") == (None, "kept")
    assert decide([_proposal(1, "fallback"), _proposal(2, "echo", 0.8, 0.3)], "if-better") == (None, "echo")
    assert decide([_proposal(1, "fallback")], "always") == (None, "fallback")


def test_a_round_with_a_better_candidate_adopts_it(tmp_path):
    """Distinct scripted candidates, scored on the same weights: the best one that beats the incumbent
    becomes the next round's prefix; the record and the summary agree."""
    texts = ["Decide whether this tweet is negative or positive.",
             "Is the opinion in this short tweet negative or positive?",
             "Label the tweet about technology as negative or positive.",
             "Read the tweet and answer negative or positive.",
             "Tell if the writer of this tweet feels negative or positive.",
             "Sentiment of the following tweet, negative or positive:"]
    result, _ = run_scripted(tmp_path, lambda n, o: texts[(n - 1) % len(texts)],
                             **{"gpta.candidates": 6, "gpta.adopt": "if-better", "gpta.rounds": 2})
    first, second = result["prefix_history"]
    props = first["proposals"]
    assert [p["status"] for p in props] == ["new"] * 6
    inc = first["incumbent_dev"]
    for p in props:
        assert p["beats_incumbent"] == (p["dev_metric"] > inc["metric"]
                                        or (p["dev_metric"] == inc["metric"] and p["dev_loss"] < inc["loss"]))
    winners = [p for p in props if p["beats_incumbent"]]
    assert winners, "with six distinct candidates on barely trained weights one beats p0 (seeded: deterministic)"
    best = max(winners, key=lambda p: (p["dev_metric"], -p["dev_loss"]))
    assert [p["candidate"] for p in props if p["adopted"]] == [best["candidate"]]
    assert second["prefix"] == best["prefix"] and second["revision"] == "changed"
    # "before" of round 1 is the adopted prefix's same-weights score: no retraining in between
    assert second["dev_before"] == best["dev_metric"] and not second["dev_before_untrained_head"]
    d = result["dialogue"]
    assert d["new"] == 6 and d["adopted"] == 1 and d["llm_accuracy"] == len(winners) / 6
    assert d["adopted_gains"] == [best["dev_metric"] - inc["metric"]]
    assert d["extra_dev_passes"] == 6  # p0 is the incumbent (its epoch-end pass counts), 6 candidates
    # the conversation continues with the adopted reply
    assert result["conversation"][-1] == {"role": "assistant", "content": best["prefix"]}


def test_a_new_line_below_an_echoed_first_line_is_the_proposal(tmp_path):
    """gpta.reply_line: with first-new (default) the reply's new second line is a new proposal;
    with first the same reply is an echo (line 1 repeats p0)."""
    reply = f"{P0}\nDecide whether this tweet is negative or positive."
    common = {"gpta.candidates": 1, "gpta.adopt": "always", "gpta.rounds": 2}
    result, _ = run_scripted(tmp_path / "new", lambda n, o: reply, **common)
    (p,) = result["prefix_history"][0]["proposals"]
    assert p["status"] == "new" and p["prefix"] == "Decide whether this tweet is negative or positive."
    assert "line 2 of the reply" in p["note"] and p["adopted"]
    assert result["prefix_history"][1]["prefix"] == p["prefix"] and result["dialogue"]["reply_line"] == "first-new"
    result, _ = run_scripted(tmp_path / "first", lambda n, o: reply, **common, **{"gpta.reply_line": "first"})
    (p,) = result["prefix_history"][0]["proposals"]
    assert p["status"] == "echo" and result["dialogue"]["new"] == 0
    assert [h["revision"] for h in result["prefix_history"]] == ["first", "echo"]


def test_bad_adopt_value_is_refused_before_data_loads(tmp_path):
    from gpta.errors import UserError

    cfg = tiny_config("gpta", **{"gpta.adopt": "sometimes"})
    with pytest.raises(UserError, match="gpta.adopt 'sometimes': use one of always, if-better"):
        gpta_method.run(cfg, RunContext(out_dir=tmp_path, run_id="x", cfg=cfg, progress=False))


@pytest.mark.slow
def test_real_llm_candidates_are_recorded_and_cached(tmp_path):
    """The embedded LLM, K=2: every proposal is recorded with a same-weights score (unless rejected),
    the costs count 1 + K calls, the ledger shows no dataset text, and a rerun is identical."""
    cfg = tiny_config("gpta", **{"gpta.candidates": 2, "gpta.adopt": "if-better"})
    _, a = execute(cfg, tmp_path / "a", progress=False)
    _, b = execute(cfg, tmp_path / "b", progress=False)
    assert a["costs"]["llm_calls"] == 1 + 2
    props = a["prefix_history"][0]["proposals"]
    assert [p["candidate"] for p in props] == [1, 2]
    for p in props:
        assert (p["dev_metric"] is None) == (p["status"] == "fallback")
    assert a["dialogue"] == b["dialogue"] and a["prefix_history"] == b["prefix_history"]
    assert a["metrics"] == b["metrics"]
    from gpta.audit import audit_dir

    audits = audit_dir(tmp_path / "a")
    assert audits and all(x.verdict == "ok" for x in audits)
    ledger = [json.loads(line) for line in (tmp_path / "a" / f"{a['run_id']}.ledger.jsonl").open()]
    assert {m["purpose"] for m in ledger} >= {"p0", "revise-1"}


@pytest.mark.slow
def test_setfit_gpta_takes_the_same_cells_gpta_prefix_and_never_runs_gpta_itself(tmp_path):
    """A single setfit-gpta run reads the same cell's gpta result at its exact path (the sweep
    passes the value in instead: tests/test_registry.py's battery lists setfit-gpta before gpta);
    without it, one clear line and nothing trained. setfit-manual uses the manual prefix. Both
    write the common schema."""
    from gpta.data import get_dataset
    from gpta.errors import UserError

    over = {"gpta.candidates": 2, "gpta.adopt": "if-better"}
    cfg = tiny_config("setfit-gpta", **over)
    cfg.options = {"max_steps": 2, "num_iterations": 1}
    with pytest.raises(UserError, match="needs the same cell's gpta result"):
        execute(cfg, tmp_path, progress=False)
    gcfg = tiny_config("gpta", **over)
    _, g = execute(gcfg, tmp_path, progress=False)
    cfg = tiny_config("setfit-gpta", **over)
    cfg.options = {"max_steps": 2, "num_iterations": 1}
    _, s = execute(cfg, tmp_path, progress=False)
    dep = s["prefix_from"]
    assert dep["method"] == "gpta" and dep["run_id"] == g["run_id"] == cell_id(gcfg.to_dict())
    assert s["prefix"] == g["prefix"] == dep["prefix"]
    assert s["config"]["inputs"] == {"prefix": g["prefix"], "prefix_from": g["run_id"]}
    assert s["config"]["method"] == "setfit-gpta" and s["config"]["options"] == cfg.options
    for key in ("metrics", "costs", "env", "dataset", "seeds"):
        assert key in s
    mcfg = tiny_config("setfit-manual", **over)
    mcfg.options = {"max_steps": 2, "num_iterations": 1}
    _, m = execute(mcfg, tmp_path, progress=False)
    assert m["prefix"] == get_dataset("tweets").manual_prefix
