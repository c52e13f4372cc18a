"""The dialogue gradient's bookkeeping (issue 14): same-weights A/B, candidates, adoption, credit.

Real encoder, real data, tiny budget. Some tests use a *test-double LLM* (``ScriptedTestDouble``
returns fixed texts, ``ReplayTestDouble`` replays the quick run's real SmolLM2 replies; neither is a
model) because what they check is how the loop treats a given reply (an echo, a set of distinct
candidates); ``test_real_llm_candidates_are_recorded_and_cached`` runs the embedded LLM.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from gpta import gpta_loop as gpta_method
from gpta.config import LLMConfig
from gpta.context import RunContext
from gpta.llm.base import LLM, Backend, Reply
from gpta.llm.ledger import Ledger
from gpta.gpta_loop import ADOPT_ALPHA, decide, paired_gain
from gpta.prefix import Earlier, find_echo, request_texts
from gpta.cell import execute
from gpta.results import cell_id
from tests.helpers import tiny_config

P0 = "Classify the sentiment of this tweet as negative or positive."


class ScriptedTestDouble(Backend):
    """A test double, not an LLM: p0 is ``P0``; every later reply comes from ``script(call_index, options)``."""

    name = "scripted-test-double"

    def __init__(self, script, p0=None):
        self.script = script
        self.p0 = P0 if p0 is None else p0
        self.calls: list[LLMConfig] = []

    def identity(self):
        return {"backend": self.name, "model": "script", "digest": "none"}

    def complete(self, messages, options):
        self.calls.append(options)
        n = len(self.calls) - 1
        text = self.p0 if n == 0 else self.script(n, options)
        return Reply(text=text, prompt_tokens=10, completion_tokens=5, seconds=0.0)


def run_scripted(tmp_path: Path, script, p0=None, **overrides):
    cfg = tiny_config("gpta", fraction=0.02, **overrides)
    run_id = cell_id(cfg.to_dict())
    ctx = RunContext(out_dir=tmp_path, run_id=run_id, cfg=cfg, progress=False)
    llm = LLM(ScriptedTestDouble(script, p0), cfg.generation)
    llm.hooks.append(Ledger(ctx.ledger_path, run_id, "gpta").record)
    ctx._llms.append(llm)  # the run's LLM: ctx.llm() returns it
    return gpta_method.run(cfg, ctx), llm.backend


def test_a_first_reply_that_copies_our_request_is_not_the_prefix(tmp_path):
    """p0 is judged by the echo rule against our own request, as every later proposal is.
    Qwen2.5-Coder-1.5B replied to the earlier wording with it ("The classifier must say what to
    decide and name all the possible labels."); here the double copies a line of today's wording."""
    from gpta import prompts
    from gpta.data.spec import get_dataset

    spec = get_dataset("tweets")
    copy = f"State what the classifier decides about each text and list the labels {prompts.labels_phrase(spec.label_names)}."
    assert copy.lower()[:40] in prompts.first_message(spec.description, spec.label_names, spec.task).lower()
    result, _ = run_scripted(tmp_path, lambda n, o: P0, p0=copy, **{"gpta.rounds": 2, "train.epochs": 2})
    h0 = result["prefix_history"][0]
    assert h0["source"] == "fallback" and h0["prefix"] == prompts.fallback_prefix(spec.label_names, spec.domain, spec.task)
    assert h0["note"].startswith("echoes our request")


@pytest.mark.parametrize("adopt", ["if-better", "always"])
def test_echoing_llm_gets_no_new_proposals_no_adoption_no_credit(tmp_path, adopt):
    result, backend = run_scripted(tmp_path, lambda n, o: f"Sure! Here is the prefix: \"{P0}\"",
                                   **{"gpta.candidates": 3, "gpta.adopt": adopt, "gpta.rounds": 3,
                                      "train.epochs": 3})
    d = result["dialogue"]
    assert d["proposals"] == 2 * 3 and d["new"] == 0 and d["adopted"] == 0 and d["beat_incumbent"] == 0
    assert d["llm_accuracy"] is None and d["share_new"] == 0 and d["adopted_gains"] == []
    assert d["echo"] == 6 and d["share_echo"] == 1 and d["echo_sources"] == {"prefix": 6, "proposal": 0, "request": 0}
    assert [h["prefix"] for h in result["prefix_history"]] == [P0] * 3
    assert [h["revision"] for h in result["prefix_history"]] == ["first", "echo", "echo"]
    for h in result["prefix_history"][:-1]:
        for p in h["proposals"]:
            assert p["status"] == "echo" and p["echo_of"]["source"] == "prefix" and p["echo_of"]["text"] == P0
            assert (p["echo_of"]["round"], p["echo_of"]["candidate"]) == (0, None)
            assert p["dev_metric"] == h["incumbent_dev"]["metric"] and p["gain"] == 0 and not p["adopted"]
    # reply 1 at gpta.reply_temperature (0: greedy, recorded as deterministic) with the cell's seed
    # (13); candidate k at the candidate temperature with seed 13 + k - 1
    revisions = backend.calls[1:4]
    assert [(o.temperature, o.seed) for o in revisions] == [(0.0, 13), (0.8, 14), (0.8, 15)]
    assert d["llm_sampling"] == {"temperature": 0.0, "seed": 13, "seed_from": "run", "deterministic": True}
    assert d["llm_deterministic"]
    # the feedback shows the trajectory on the same weights and keeps training apart from the prefix
    feedback = [m["content"] for m in result["conversation"] if m["role"] == "user"][1:]
    assert "untrained head" in feedback[0] and "same instruction, before and after" in feedback[1]
    assert f'1. "{P0}": ' in feedback[1]


def _proposal(k, status, metric=None, loss=None, beats=False, raw=None):
    return {"candidate": k, "status": status, "dev_metric": metric, "dev_loss": loss, "beats_incumbent": beats,
            "beats_incumbent_raw": beats if raw is None else raw,
            "prefix": None if status in ("rejected", "fragment") else f"text {k}"}


def test_decide_adopts_the_best_candidate_whose_gain_passes_the_test():
    props = [_proposal(1, "new", 0.70, 0.6), _proposal(2, "new", 0.82, 0.5, True),
             _proposal(3, "new", 0.82, 0.4, True), _proposal(4, "echo", 0.80, 0.3)]
    chosen, revision = decide(props, "if-better")
    assert chosen["candidate"] == 3 and revision == "changed"  # equal metric: the lower dev loss wins
    chosen, revision = decide(props, "always")  # the paper: reply 1, even when it is worse
    assert chosen["candidate"] == 1 and revision == "changed"
    assert decide([_proposal(1, "new", 0.7, 0.6), _proposal(2, "rejected")], "if-better") == (None, "kept")
    assert decide([_proposal(1, "fragment"), _proposal(2, "echo", 0.8, 0.3)], "if-better") == (None, "echo")
    assert decide([_proposal(1, "fragment")], "always") == (None, "fallback")
    # a raw gain that fails the paired test: kept under the test, adopted under the old rule
    noise = [_proposal(1, "new", 0.75, 0.5, beats=False, raw=True)]
    assert decide(noise, "if-better") == (None, "kept")
    assert decide(noise, "if-better", test=False)[0]["candidate"] == 1
    # the paper's rule takes an echo too (no credit: revision "echo")
    assert decide([_proposal(1, "echo", 0.7, 0.6)], "always")[1] == "echo"


def test_paired_gain_is_an_exact_one_sided_sign_test_on_the_discordant_items():
    inc = {"metric": 0.80, "loss": 0.5, "items": np.array([1.0] * 80 + [0.0] * 20)}

    def cand(wins, losses):
        items = inc["items"].copy()
        items[80:80 + wins] = 1.0  # wrong before, right now
        items[:losses] = 0.0  # right before, wrong now
        return {"metric": items.mean(), "loss": 0.5, "items": items}

    t = paired_gain(cand(8, 0), inc)  # 8 of 8 discordant items improve: p = 0.5^8
    assert (t["wins"], t["losses"]) == (8, 0) and t["p_value"] == pytest.approx(0.5 ** 8) and t["passed"]
    t = paired_gain(cand(5, 3), inc)  # a gain of 2 items of 100 (DIALOGUE.md's trec gain was 2 of 499)
    assert t["p_value"] == pytest.approx(binomtest(5, 8, alternative="greater").pvalue) and not t["passed"]
    t = paired_gain(cand(12, 4), inc)  # 8 items of gain out of 16 discordant: p = 0.038 < 0.05
    assert t["p_value"] < ADOPT_ALPHA and t["passed"]
    assert not paired_gain(inc, inc)["passed"] and paired_gain(inc, inc)["p_value"] == 1.0
    assert not paired_gain(cand(0, 6), inc)["passed"]


def test_a_round_with_candidates_adopts_only_a_gain_that_passes_the_test(tmp_path):
    """Distinct scripted candidates, scored on the same weights: every raw winner is recorded, the
    adopted one (if any) is the best whose paired test passed; the record and the summary agree,
    and the summary counts what the old any-positive-gain rule would have adopted."""
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
        raw = p["dev_metric"] > inc["metric"] or (p["dev_metric"] == inc["metric"] and p["dev_loss"] < inc["loss"])
        assert p["beats_incumbent_raw"] == raw and p["gain"] == pytest.approx(p["dev_metric"] - inc["metric"])
        assert p["beats_incumbent"] == (raw and p["test"]["p_value"] < ADOPT_ALPHA)
    raw_winners = [p for p in props if p["beats_incumbent_raw"]]
    winners = [p for p in props if p["beats_incumbent"]]
    assert raw_winners, "with six distinct candidates on barely trained weights one beats p0 (seeded: deterministic)"
    old = max(raw_winners, key=lambda p: (p["dev_metric"], -p["dev_loss"]))
    assert [p["candidate"] for p in props if p["adopted_without_test"]] == [old["candidate"]]
    d = result["dialogue"]
    assert d["new"] == 6 and d["beat_incumbent"] == len(winners) and d["beat_incumbent_raw"] == len(raw_winners)
    assert d["llm_accuracy"] == len(winners) / 6 and d["llm_accuracy_raw"] == len(raw_winners) / 6
    if winners:
        best = max(winners, key=lambda p: (p["dev_metric"], -p["dev_loss"]))
        assert [p["candidate"] for p in props if p["adopted"]] == [best["candidate"]]
        assert second["prefix"] == best["prefix"] and second["revision"] == "changed"
        # "before" of round 1 is the adopted prefix's same-weights score: no retraining in between
        assert second["dev_before"] == best["dev_metric"] and not second["dev_before_untrained_head"]
        assert d["adopted_gains"] == [best["dev_metric"] - inc["metric"]]
        assert result["conversation"][-1] == {"role": "assistant", "content": best["prefix"]}
    else:  # the old rule's adoption is refused: the incumbent is kept
        assert second["prefix"] == P0 and second["revision"] == "kept" and d["adopted"] == 0
        assert d["refused_by_test"] == 1
    assert d["extra_dev_passes"] == 6  # p0 is the incumbent (its epoch-end pass counts), 6 candidates


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


class ReplayTestDouble(Backend):
    """A test double, not an LLM: replays a real conversation's assistant turns in order."""

    name = "replay-test-double"

    def __init__(self, replies):
        self.replies = list(replies)

    def identity(self):
        return {"backend": self.name, "model": "replay", "digest": "none"}

    def complete(self, messages, options):
        return Reply(text=self.replies.pop(0), prompt_tokens=10, completion_tokens=5, seconds=0.0)


@pytest.mark.parametrize("dataset", ["tweets", "bbc-news"])
def test_the_quick_runs_revisions_are_echoes(tmp_path, dataset):
    """Issue 23: the quick run's real SmolLM2 replies (tests/quick_replies.py). The old loop adopted
    a near-copy of our request (tweets) and sentence 2 of p0 (bbc-news) as "new"; by the one rule
    both are echoes, first-new finds no new line, and the report counts them as echoes."""
    from reports.dialogue import dialogue_rows
    from reports.extract import revision_kinds
    from tests.quick_replies import CONVERSATIONS, OLD_ADOPTED

    replies = [m["content"] for m in CONVERSATIONS[dataset] if m["role"] == "assistant"]
    cfg = tiny_config("gpta", dataset=dataset, fraction=0.02 if dataset == "bbc-news" else 0.005, **{"gpta.rounds": 2})
    ctx = RunContext(out_dir=tmp_path, run_id="quick-replay", cfg=cfg, progress=False)
    ctx._llms.append(LLM(ReplayTestDouble(replies), cfg.generation))
    result = gpta_method.run(cfg, ctx)
    p0, r1 = result["prefix_history"]
    assert p0["prefix"] == CONVERSATIONS[dataset][2]["content"].splitlines()[0]  # p0 as the quick run had it
    (p,) = p0["proposals"]
    assert p["status"] == "echo" and p["prefix"] != OLD_ADOPTED[dataset]
    assert p["echo_of"]["source"] == "prefix" and not p["beats_incumbent"]
    assert r1["prefix"] == p0["prefix"] and r1["revision"] == "echo"  # nothing new: p0 kept
    d = result["dialogue"]
    assert (d["new"], d["echo"], d["share_echo"], d["llm_accuracy"]) == (0, 1, 1.0, None)
    kinds = revision_kinds(result)  # the report's revisions table ("New x%, Echo y%")
    assert (kinds["new"], kinds["echo"]) == (0, 1)
    result.update(method="gpta", dataset={"name": dataset}, config={"fraction": 0.02, "seed": 13})
    (row,) = dialogue_rows({"quick": result})
    assert row["share_new"] == 0 and row["llm_accuracy"] != row["llm_accuracy"]  # n/a: nothing new, no credit
    # the old adoptions themselves: echoes of what we sent (tweets) and of p0 (bbc-news)
    conversation = CONVERSATIONS[dataset][:4]
    earlier = [Earlier(conversation[2]["content"], "prefix", {"round": 0})] + request_texts(conversation)
    assert find_echo(OLD_ADOPTED[dataset], earlier)["source"] == ("request" if dataset == "tweets" else "prefix")


def test_bad_adopt_value_is_refused_when_the_setting_is_read():
    from gpta.errors import UserError

    with pytest.raises(UserError, match="gpta.adopt"):
        tiny_config("gpta", **{"gpta.adopt": "sometimes"})


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
        assert (p["dev_metric"] is None) == (p["status"] in ("fragment", "rejected"))  # unusable: not scored
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


@pytest.mark.slow  # 6 calls of the embedded SmolLM2 (~10 s on a quiet machine)
def test_first_prefix_varies_with_the_run_seed_only_when_sampled(tmp_path):
    """Issue 23, item 8, with the embedded LLM through step 1 (``first_prefix``, also llm-prefix's
    call): with gpta.reply_temperature=0.7 and llm_seed=run the p0 reply differs across run seeds
    and is identical on a rerun without cache; greedy (the default) gives one reply for every seed
    and the record says so (``llm_deterministic``)."""
    from gpta.gpta_loop import first_prefix, llm_deterministic, llm_options
    from gpta.pipeline import Setup

    def p0_reply(seed, **over):
        cfg = tiny_config("gpta", seed=seed, **over)
        ctx = RunContext(out_dir=tmp_path, run_id=f"s{seed}", cfg=cfg, progress=False, llm_cache_mode="off")
        conversation, _ = first_prefix(Setup.build(cfg, ctx), ctx.llm())
        return conversation[2]["content"], cfg

    sampled = {seed: p0_reply(seed, **{"gpta.reply_temperature": 0.7})[0] for seed in (13, 21, 42)}
    assert len(set(sampled.values())) > 1, sampled
    assert p0_reply(13, **{"gpta.reply_temperature": 0.7})[0] == sampled[13]  # the seed fixes the sample
    (greedy_13, cfg_13), (greedy_21, cfg_21) = p0_reply(13), p0_reply(21)
    assert greedy_13 == greedy_21 and llm_deterministic(cfg_13)
    assert llm_options(cfg_13).seed == 13 and llm_options(cfg_21).seed == 21  # own cache keys all the same


def test_after_an_unusable_first_reply_the_feedback_says_whose_instruction_and_why(tmp_path):
    """gpta revision 2 (the defect in docs/DIALOGUE.md): Qwen2.5-Coder's first reply on bbc-news ran
    past the 32-token cap and the template was used, yet the feedback said the classifier trained
    "with your instruction" and quoted the template. Now it names our stand-in, says why the reply
    was not used in the words the request uses (a word limit), and every request gives the limit."""

    # one sentence past the cap (the shape of Qwen's bbc-news reply): cut mid-sentence, unusable
    too_long = ("The classifier will read the informal tweet with its hashtags and mentions about self-driving "
                "cars and other technology topics and decide whether the sentiment of the tweet is negative or positive.")
    result, _ = run_scripted(tmp_path, lambda n, o: P0, p0=too_long, **{"gpta.rounds": 2, "train.epochs": 2})
    h0 = result["prefix_history"][0]
    assert h0["source"] == "fallback" and "capped at 32 tokens" in h0["note"]
    feedback = result["conversation"][3]["content"]
    assert feedback.startswith(f"Training round 1 is done: the classifier trained 1 epoch with our stand-in "
                               f"instruction \"{h0['prefix']}\"")
    assert "Your first reply was not used (it was longer than 20 words and was cut off" in feedback
    assert "your instruction" not in feedback and "capped at" not in feedback
    assert feedback.endswith("Use at most 20 words. Reply with only that sentence.")
    # the next round trained with the LLM's own (new) sentence: the feedback says so
    assert result["prefix_history"][1]["source"] == "llm"


def test_the_feedback_names_the_llms_own_instruction_and_the_word_limit_follows_the_cap():
    from gpta import prompts

    args = dict(round_index=1, epochs=2, prefix="Classify it.", prefix_tokens=4, metric="accuracy",
                before={"accuracy": 0.5, "loss": 0.7}, after={"accuracy": 0.6, "loss": 0.6, "per_class_recall": {"a": 1.0}},
                train={"accuracy": 0.7, "loss": 0.5}, n_dev=100, trajectory=[], fresh_head=False)
    own = prompts.feedback_message(**args, source="llm")
    assert "with your instruction \"Classify it.\"" in own and "not used" not in own
    kept = prompts.feedback_message(**args, source="fallback", note="degenerate (repetition)", max_prefix_tokens=64)
    assert "with the previous instruction \"Classify it.\"" in kept
    assert "Your last reply was not used (degenerate (repetition))." in kept and "at most 40 words" in kept
    assert prompts.unused_reason("too short (2 words), capped at 16 tokens", 16) == \
        "too short (2 words), it was longer than 10 words and was cut off"
