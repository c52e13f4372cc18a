"""GPTA, the paper's algorithm, top to bottom.

1. p0: the LLM reads the dataset description (never the data) and writes the first prefix.
2. Train: each round trains the encoder with the current prefix (the *incumbent*) for the
   round's epochs, with a dev evaluation after every epoch.
3. A/B: at the round boundary every prefix seen so far is scored on dev with the weights the
   round ended with (forward passes only), so a prefix's own effect is measured apart from the
   effect of more training.
4. Propose: the LLM gets one feedback message in the same conversation (the "dialogue
   gradient": aggregate numbers and the (prefix, same-weights dev score) trajectory, never an
   example) and answers with K candidates (``gpta.candidates``). Each is cleaned and judged by
   one rule (``gpta.prefix``): *new*, an *echo* of an earlier prefix, an earlier proposal or a
   line of our own request (``find_echo``), a *fragment*, or *rejected*. Usable ones are scored
   on the same weights. ``gpta.reply_line=first-new`` (ours): a candidate is the reply's first
   line or sentence that is new by that rule (a small LLM often copies the old instruction on
   line 1 and writes below it).
5. Adopt: ``gpta.adopt=always`` (the paper) takes reply 1 unless it is unusable;
   ``if-better`` takes the best new candidate whose gain over the incumbent passes the paired
   test (``paired_gain``: exact one-sided sign test on the dev items, p < ``ADOPT_ALPHA``).
6. Finish: keep the checkpoint and prefix with the best dev metric; evaluate test once with
   them. The LLM is not used at inference.
Open choices (rounds, weights continue/restart, history, K, adoption, LLM sampling) are in
``gpta.config.GPTAConfig``.

"LLM accuracy" = the share of new proposals that beat the incumbent on the same weights by a
gain that passes the paired test: did the LLM move the prefix in a direction that helps, beyond
noise. An echo, a fragment or a rejected reply is not a proposal the LLM gets credit for.
What the result records is documented in ``DIALOGUE_KEYS`` below.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy.stats import binomtest

from gpta import prompts
from gpta.config import GPTAConfig, LLMConfig, RunConfig
from gpta.context import RunContext
from gpta.llm import LLM
from gpta.pipeline import Setup
from gpta.prefix import ECHO_RULE, Earlier, clean_prefix, reply_texts, request_texts
from gpta.train import Trainer

ADOPT_ALPHA = 0.05  # one-sided level of the paired test a gain must pass to count
ADOPT_TEST = (f"exact one-sided sign test (scipy.stats.binomtest, p = 1/2) on the dev items whose per-item score "
              f"differs between candidate and incumbent on the same weights (classification: correct or not, i.e. "
              f"an exact McNemar test; QA: per-question score), p < {ADOPT_ALPHA}, and a positive gain in the dev "
              f"metric (or an equal metric and a lower dev loss)")

# Keys a GPTA result adds (issues 14, 23). Per round, in ``prefix_history[i]``:
#   revision: how this round's prefix came about: "first" (p0 from the LLM), "fallback" (reply
#     unusable: template for p0, else the incumbent kept), "changed" (a new text adopted), "echo"
#     (always: reply 1 was an echo; if-better: no new candidate, at least one echo), "kept"
#     (if-better: new candidates, none passed the paired test)
#   proposals: the candidates the LLM wrote at the end of this round (the last round has none),
#     each {candidate, seed, temperature, reply, prefix, note, status, echo_of, prefix_tokens,
#     dev_metric, dev_loss, gain, test, beats_incumbent_raw, beats_incumbent, adopted,
#     adopted_without_test}. status: "new" | "echo" (echo_of = {source: prefix | proposal |
#     request, text: what it repeats, similarity, contained, round and candidate or message}) |
#     "fragment" | "rejected" (note says why; no score). dev_metric/dev_loss: on the weights this
#     round ended with; gain = its dev metric minus the incumbent's there; test = {wins, losses,
#     p_value, passed} (``paired_gain``); beats_incumbent_raw: new and a positive gain (the old
#     rule, no test); beats_incumbent: that and the test passed; adopted_without_test: what
#     if-better would have adopted under the old rule.
#   incumbent_dev: {metric, loss} of the round's prefix on those same weights (= dev_metric).
#   trajectory: every distinct prefix so far on those weights, best first (what the LLM is shown).
# Top level, ``dialogue``: the settings (candidates, adopt, candidate_temperature, reply_line,
#   llm_sampling = {temperature, seed, seed_from, deterministic}), llm_deterministic (the same:
#   reply 1 greedy, so the first prefix cannot vary with the run seed), the rules (echo_rule, adopt_test),
#   rounds_with_proposals, proposals, new, echo, fragment, rejected, echo_sources (echoes per
#   source), beat_incumbent, beat_incumbent_raw, adopted, refused_by_test (adoptions the old
#   any-positive-gain rule would have made that the test refuses; if-better only), share_new,
#   share_echo, share_adopted (of proposals), llm_accuracy (beat_incumbent / new; null when
#   nothing new was proposed: no credit), llm_accuracy_raw (the old rule's count / new),
#   adopted_gains (same-weights gain of each adopted proposal), extra_dev_passes and
#   extra_dev_examples (forward passes over dev added by the A/B, beyond the per-epoch dev
#   evaluation every method does).
DIALOGUE_KEYS = ("candidates", "adopt", "candidate_temperature", "reply_line", "llm_sampling", "llm_deterministic",
                 "echo_rule",
                 "adopt_test", "rounds_with_proposals", "proposals", "new", "echo", "fragment", "rejected",
                 "echo_sources", "beat_incumbent", "beat_incumbent_raw", "adopted", "refused_by_test", "share_new",
                 "share_echo", "share_adopted", "llm_accuracy", "llm_accuracy_raw", "adopted_gains",
                 "extra_dev_passes", "extra_dev_examples")
STATUSES = ("new", "echo", "fragment", "rejected")


def split_epochs(epochs: int, rounds: int) -> list[int]:
    """Spread the epoch budget over rounds (earlier rounds get the remainder)."""
    rounds = max(1, min(rounds, epochs))
    return [epochs // rounds + (1 if r < epochs % rounds else 0) for r in range(rounds)]


# -- the LLM side: options, calls, the first prefix ------------------------------------------------

def llm_options(cfg: RunConfig, k: int = 1) -> LLMConfig:
    """Reply k's generation options. Reply 1 (p0 and each round's paper reply) samples at
    ``gpta.reply_temperature`` with the LLM seed ``gpta.llm_seed`` picks ("run": the cell's seed,
    so the first prefix varies with the run seed; "fixed": ``generation.seed``). Reply k > 1
    samples at ``gpta.candidate_temperature`` with that seed + k - 1. Options are part of the
    LLM cache key, so no two seeds share a reply."""
    g = cfg.gpta
    seed = cfg.seed if g.llm_seed == "run" else cfg.generation.seed
    if k == 1:
        return dataclasses.replace(cfg.generation, temperature=g.reply_temperature, seed=seed)
    return dataclasses.replace(cfg.generation, temperature=g.candidate_temperature, seed=seed + k - 1)


def llm_sampling(cfg: RunConfig) -> dict[str, Any]:
    """How reply 1 was sampled: temperature, LLM seed, where the seed came from, deterministic."""
    opts = llm_options(cfg, 1)
    return {"temperature": opts.temperature, "seed": opts.seed, "seed_from": cfg.gpta.llm_seed,
            "deterministic": llm_deterministic(cfg)}


def llm_deterministic(cfg: RunConfig) -> bool:
    """Reply 1 is greedy (temperature 0): the first prefix is the same for every run seed, so an
    interval over seeds excludes the LLM's variability (the report says so)."""
    return cfg.gpta.reply_temperature == 0


def ask(llm: LLM, conversation: list[dict[str, str]], history: str, purpose: str,
        options: LLMConfig | None = None, record: bool = True) -> str:
    """Send the conversation (or its first and last exchange); record the reply in it if ``record``."""
    sent = conversation
    if history == "last" and len(conversation) > 4:
        sent = conversation[:2] + conversation[-2:]  # the task, then the latest prefix and feedback
    reply = llm.chat(sent, purpose=purpose, options=options)
    if record:
        conversation.append({"role": "assistant", "content": reply.text})
    return reply.text


def accept(setup: Setup, reply: str, earlier: list[Earlier] = (), first_new: bool = False) -> dict[str, Any]:
    """The reply cleaned and judged (``gpta.prefix.clean_prefix``): {prefix (None if unusable),
    status, echo_of, note, reply}."""
    cfg, spec = setup.cfg, setup.spec
    tokenizer = setup.task.tokenizer
    v = clean_prefix(reply, spec.label_names, lambda s: len(tokenizer(s, add_special_tokens=False)["input_ids"]),
                     cfg.train.max_prefix_tokens, cfg.gpta.reject_partial_labels, cfg.gpta.reject_off_task,
                     earlier=earlier, first_new=first_new)
    return {"prefix": v.prefix, "status": v.status, "echo_of": v.echo_of, "note": v.reason, "reply": reply}


def first_prefix(setup: Setup, llm: LLM) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Step 1 (also llm-prefix's only call): the conversation so far and p0 as the current prefix;
    an unusable reply (rejected, a fragment, or an echo of our own request) gives the template
    prefix, recorded as a fallback with the reason."""
    spec = setup.spec
    conversation = [
        {"role": "system", "content": prompts.system_message(spec.task)},
        {"role": "user", "content": prompts.first_message(spec.description, spec.label_names, spec.task)},
    ]
    # p0 is judged by the same rules as every later proposal: a copy of our own request is an echo
    reply = ask(llm, conversation, setup.cfg.gpta.history, "p0", options=llm_options(setup.cfg))
    v = accept(setup, reply, request_texts(conversation))
    if v["prefix"] is None or v["status"] == "echo":
        note = (f"echoes our request ({v['echo_of']['text'][:80]!r})" if v["status"] == "echo" else v["note"])
        fallback = prompts.fallback_prefix(spec.label_names, spec.domain, spec.task)
        return conversation, {"prefix": fallback, "source": "fallback", "revision": "fallback", "note": note}
    return conversation, {"prefix": v["prefix"], "source": "llm", "revision": "first", "note": v["note"]}


# -- step 3: the same-weights A/B -----------------------------------------------------------------

def _key(text: str) -> str:
    """Texts that differ only in case, spacing or final punctuation are the same prefix (one score)."""
    return " ".join(text.lower().split()).rstrip(" .!")


def item_scores(setup: Setup, evaluated: dict[str, Any]) -> np.ndarray:
    """Per dev item: classification 1/0 (correct or not); QA the item's score in the run's metric."""
    enc = setup.enc["dev"]
    if setup.spec.task != "qa":
        return (np.asarray(evaluated["predictions"]) == np.asarray(enc.labels)).astype(float)
    from gpta.qa import exact_match_score, f1_score, max_over_gold

    per = exact_match_score if setup.spec.metric == "exact_match" else f1_score
    golds = [[a["text"] for a in (ex.answers or [])] or [""] for ex in enc.examples]
    return np.array([max_over_gold(per, p, g) for p, g in zip(evaluated["predictions"], golds)])


class SameWeights:
    """Dev scores of prefixes on one set of weights (the end of one round), each computed once."""

    def __init__(self, setup: Setup, trainer: Trainer, incumbent: str, incumbent_dev: dict[str, Any]):
        self.setup, self.trainer, self.passes = setup, trainer, 0
        self.scores = {_key(incumbent): self._score(incumbent_dev)}  # the round's last dev pass: these weights
        self.incumbent = self.scores[_key(incumbent)]

    def _score(self, evaluated: dict[str, Any]) -> dict[str, Any]:
        metric = self.setup.spec.metric
        return {"metric": evaluated[metric], "loss": evaluated["loss"], "items": item_scores(self.setup, evaluated)}

    def __call__(self, prefix: str) -> dict[str, Any]:
        if _key(prefix) not in self.scores:
            ids = self.setup.task.prefix_ids(prefix)
            self.scores[_key(prefix)] = self._score(self.trainer.evaluate(self.setup.features("dev", ids),
                                                                          self.setup.enc["dev"]))
            self.passes += 1
        return self.scores[_key(prefix)]

    def trajectory(self, texts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Every distinct prefix so far on these weights, best first (what the LLM is shown)."""
        rows = [{"prefix": t["prefix"], "dev_metric": self(t["prefix"])["metric"],
                 "dev_loss": self(t["prefix"])["loss"], "round_proposed": t["round"]} for t in texts.values()]
        return sorted(rows, key=lambda t: (-t["dev_metric"], t["dev_loss"]))


def beats(a: dict[str, float], b: dict[str, float]) -> bool:
    """``a`` beats ``b`` on the same weights: a higher dev metric, or the same metric and lower dev loss."""
    return a["metric"] > b["metric"] or (a["metric"] == b["metric"] and a["loss"] < b["loss"])


def paired_gain(candidate: dict[str, Any], incumbent: dict[str, Any], alpha: float = ADOPT_ALPHA) -> dict[str, Any]:
    """Is the candidate's gain real (``ADOPT_TEST``)? wins/losses: dev items it scores higher/lower on."""
    diff = candidate["items"] - incumbent["items"]
    wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
    p = binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue if wins + losses else 1.0
    return {"wins": wins, "losses": losses, "p_value": float(p), "passed": bool(p < alpha and beats(candidate, incumbent))}


# -- steps 4 and 5: propose and adopt --------------------------------------------------------------

@dataclass
class RoundReport:
    """What one round produced: everything a feedback hook may use."""

    index: int  # 0-based round
    epochs: int  # epochs trained in this round
    prefix: str  # the incumbent the round trained with
    prefix_ids: list[int]
    before: dict[str, Any]  # dev metrics with this prefix before the round's training
    after: dict[str, Any]  # dev metrics with this prefix after it (the same weights as ``trajectory``)
    train: dict[str, Any]  # train-eval metrics after it (with predictions, for textual-gradient)
    trajectory: list[dict[str, Any]]  # every distinct prefix so far on the end-of-round weights, best first
    fresh_head: bool  # the round started from an untrained head: ``before`` says nothing about the prefix
    source: str = "llm"  # where ``prefix`` came from: "llm", "fallback" (reply unusable) or "incumbent"
    note: str = ""  # the prefix record's note: for a fallback, why the reply was not used


# feedback(setup, report) -> the next user message
Feedback = Callable[[Setup, RoundReport], str]


def aggregate_feedback(setup: Setup, rep: RoundReport) -> str:
    """GPTA's dialogue gradient: aggregate numbers and prefix scores only, never an example."""
    return prompts.feedback_message(rep.index, rep.epochs, rep.prefix, len(rep.prefix_ids), setup.spec.metric,
                                    rep.before, rep.after, rep.train, setup.evaluated["dev"], rep.trajectory,
                                    rep.fresh_head, rep.source, rep.note, setup.cfg.train.max_prefix_tokens)


def proposal_record(k: int, opts: LLMConfig, verdict: dict[str, Any]) -> dict[str, Any]:
    """One candidate's record before scoring (see the ``prefix_history`` comment above)."""
    return {"candidate": k, "seed": opts.seed, "temperature": opts.temperature, "reply": verdict["reply"],
            "prefix": verdict["prefix"], "note": verdict["note"], "status": verdict["status"],
            "echo_of": verdict["echo_of"], "prefix_tokens": None, "dev_metric": None, "dev_loss": None, "gain": None,
            "test": None, "beats_incumbent_raw": False, "beats_incumbent": False, "adopted": False,
            "adopted_without_test": False}


def score_proposal(p: dict[str, Any], setup: Setup, ab: SameWeights) -> None:
    """A usable proposal's same-weights score, gain and paired test; credit only for new text."""
    if p["prefix"] is None:
        return
    s = ab(p["prefix"])
    test = paired_gain(s, ab.incumbent)
    new = p["status"] == "new"
    p.update(prefix_tokens=len(setup.task.prefix_ids(p["prefix"])), dev_metric=s["metric"], dev_loss=s["loss"],
             gain=s["metric"] - ab.incumbent["metric"], test=test, beats_incumbent_raw=new and beats(s, ab.incumbent),
             beats_incumbent=new and test["passed"])


def propose(setup: Setup, llm: LLM, conversation: list[dict[str, str]], earlier: list[Earlier],
            r: int, ab: SameWeights) -> list[dict[str, Any]]:
    """K candidate replies to the conversation (whose last message is this round's feedback), each
    judged against what came before it, then scored on the same weights."""
    cfg = setup.cfg
    proposals = []
    for k in range(1, cfg.gpta.candidates + 1):
        opts = llm_options(cfg, k)
        reply = ask(llm, conversation, cfg.gpta.history, f"revise-{r + 1}" + (f"-c{k}" if k > 1 else ""),
                    options=opts, record=False)
        # what this candidate must not repeat: earlier prefixes and proposals, this round's earlier
        # candidates, every part of the LLM's earlier replies, then every line we have sent (the
        # feedback it answers included)
        seen = earlier + [Earlier(p["prefix"], "proposal", {"round": r + 1, "candidate": p["candidate"]})
                          for p in proposals if p["status"] == "new"] + reply_texts(conversation) \
            + request_texts(conversation)
        p = proposal_record(k, opts, accept(setup, reply, seen, first_new=cfg.gpta.reply_line == "first-new"))
        score_proposal(p, setup, ab)
        proposals.append(p)
    return proposals


def decide(proposals: list[dict[str, Any]], adopt: str, test: bool = True) -> tuple[dict[str, Any] | None, str]:
    """Which proposal becomes the next prefix (None: keep the incumbent), and the revision label.

    always (the paper): reply 1, unless unusable (an echo is taken too: the paper takes the reply).
    if-better: of the new candidates whose gain passes the paired test (``test=False``: any
    candidate that beats the incumbent, the rule before issue 23), the best dev metric, then
    lowest loss, then lowest candidate number; none: keep the incumbent.
    """
    if adopt == "always":
        first = proposals[0]
        if first["prefix"] is None:
            return None, "fallback"
        return first, "changed" if first["status"] == "new" else "echo"
    winners = [p for p in proposals if p["beats_incumbent" if test else "beats_incumbent_raw"]]
    if winners:
        return max(winners, key=lambda p: (p["dev_metric"], -p["dev_loss"], -p["candidate"])), "changed"
    statuses = {p["status"] for p in proposals}
    return None, "kept" if "new" in statuses else "echo" if "echo" in statuses else "fallback"


def adopt(proposals: list[dict[str, Any]], how: str, incumbent: str) -> tuple[dict[str, Any] | None, str]:
    """Step 5: mark what is adopted (and what the old no-test rule would have adopted)."""
    chosen, revision = decide(proposals, how)
    if chosen is not None and _key(chosen["prefix"]) != _key(incumbent):
        chosen["adopted"] = True
    if how == "if-better":
        old, _ = decide(proposals, how, test=False)
        if old is not None:
            old["adopted_without_test"] = True
    return chosen, revision


# -- the records ----------------------------------------------------------------------------------

def round_entry(r: int, current: dict[str, Any], pids: list[int], before: dict[str, float], fresh_head: bool,
                rows: list[dict[str, Any]], metric: str, setup: Setup) -> dict[str, Any]:
    """A round's ``prefix_history`` entry: the prefix, where it came from, dev before and after."""
    after, train = rows[-1]["dev"], rows[-1]["train"]
    entry = {
        "round": r, "prefix": current["prefix"], "prefix_tokens": len(pids), "source": current["source"],
        "revision": current["revision"], "note": current["note"], "dev_before": before[metric],
        "dev_before_untrained_head": fresh_head, "dev_metric": after[metric],
        "dev_best_in_round": max(row["dev"][metric] for row in rows),
        "dev_loss_before": before["loss"], "dev_loss": after["loss"], "train_loss": train["loss"],
        "epochs": [row["epoch"] for row in rows],
    }
    if "predictions" in train and setup.spec.task != "qa":  # wrong answers on the train-eval sample
        entry["train_errors"] = int(sum(p != y for p, y in zip(train["predictions"], setup.enc["train_eval"].labels)))
    return entry


def next_prefix(chosen: dict[str, Any] | None, revision: str, incumbent: str,
                proposals: list[dict[str, Any]]) -> dict[str, Any]:
    """The next round's prefix record: the adopted text, else the incumbent kept."""
    if chosen is not None:
        return {"prefix": chosen["prefix"], "source": "llm", "note": chosen["note"], "revision": revision}
    return {"prefix": incumbent, "source": "fallback" if revision == "fallback" else "incumbent",
            "note": proposals[0]["note"] if revision == "fallback" else "", "revision": revision}


def dialogue_summary(cfg: RunConfig, history: list[dict[str, Any]], extra_passes: int, n_dev: int) -> dict[str, Any]:
    """The run's dialogue record in numbers (keys: ``DIALOGUE_KEYS``)."""
    g: GPTAConfig = cfg.gpta
    props = [p for h in history for p in h.get("proposals", [])]
    count = {s: sum(p["status"] == s for p in props) for s in STATUSES}
    beat, beat_raw = sum(p["beats_incumbent"] for p in props), sum(p["beats_incumbent_raw"] for p in props)
    adopted = [p for p in props if p["adopted"]]
    n = len(props)
    out = {
        "candidates": g.candidates, "adopt": g.adopt, "candidate_temperature": g.candidate_temperature,
        "reply_line": g.reply_line, "llm_sampling": llm_sampling(cfg), "llm_deterministic": llm_deterministic(cfg),
        "echo_rule": ECHO_RULE,
        "adopt_test": ADOPT_TEST, "rounds_with_proposals": sum("proposals" in h for h in history), "proposals": n,
        **count,
        "echo_sources": {s: sum(p["status"] == "echo" and p["echo_of"]["source"] == s for p in props)
                         for s in ("prefix", "proposal", "request")},
        "beat_incumbent": beat, "beat_incumbent_raw": beat_raw, "adopted": len(adopted),
        "refused_by_test": sum(p["adopted_without_test"] and not p["adopted"] for p in props),
        "share_new": count["new"] / n if n else None, "share_echo": count["echo"] / n if n else None,
        "share_adopted": len(adopted) / n if n else None,
        "llm_accuracy": beat / count["new"] if count["new"] else None,
        "llm_accuracy_raw": beat_raw / count["new"] if count["new"] else None,
        "adopted_gains": [p["gain"] for p in adopted],
        "extra_dev_passes": extra_passes, "extra_dev_examples": extra_passes * n_dev,
    }
    assert tuple(out) == DIALOGUE_KEYS
    return out


# -- the loop -------------------------------------------------------------------------------------

def run(cfg: RunConfig, ctx: RunContext, feedback: Feedback = aggregate_feedback) -> dict[str, Any]:
    """GPTA. ``feedback`` is the one thing a variant may change (textual-gradient shows examples)."""
    g = cfg.gpta
    setup = Setup.build(cfg, ctx)
    metric = setup.spec.metric
    llm = ctx.llm()
    plan = split_epochs(cfg.train.epochs, g.rounds)

    # 1. p0 from the description alone
    conversation, current = first_prefix(setup, llm)
    earlier = [Earlier(current["prefix"], "prefix", {"round": 0, "candidate": None})]  # what may not be repeated
    trained_with = {_key(current["prefix"])}  # the prefixes in ``earlier``
    trajectory_texts = {_key(current["prefix"]): {"prefix": current["prefix"], "round": 0}}  # every prefix so far
    history: list[dict[str, Any]] = []
    extra_passes = 0
    carried: dict[str, Any] | None = None  # the new incumbent's A/B score: its "before" next round
    trainer = setup.new_trainer(cfg.train.epochs if g.weights == "continue" else plan[0])

    for r, epochs in enumerate(plan):
        if r > 0 and g.weights == "restart":  # every prefix from pretrained weights
            trainer, carried = setup.new_trainer(epochs), None
        # 2. train with the incumbent; dev after every epoch (the best checkpoint is kept)
        prefix = current["prefix"]
        pids = setup.task.prefix_ids(prefix)
        fresh_head = carried is None  # round 0 or a restart: "before" is an untrained head
        if fresh_head:
            b = trainer.evaluate(setup.features("dev", pids), setup.enc["dev"])
            carried = {"metric": b[metric], "loss": b["loss"]}
        before = {metric: carried["metric"], "loss": carried["loss"]}
        rows = setup.fit_epochs(trainer, prefix, epochs, round_index=r)
        entry = round_entry(r, current, pids, before, fresh_head, rows, metric, setup)
        history.append(entry)
        if r == len(plan) - 1:
            break

        # 3. A/B: every prefix so far on the end-of-round weights (the incumbent's last dev pass is one)
        ab = SameWeights(setup, trainer, prefix, rows[-1]["dev"])
        trajectory = ab.trajectory(trajectory_texts)
        entry["incumbent_dev"] = {"metric": ab.incumbent["metric"], "loss": ab.incumbent["loss"]}
        entry["trajectory"] = trajectory

        # 4. the dialogue gradient (aggregate only), then K candidates judged and scored
        report = RoundReport(r, epochs, prefix, pids, before, rows[-1]["dev"], rows[-1]["train"], trajectory,
                             fresh_head, current["source"], current["note"])
        conversation.append({"role": "user", "content": feedback(setup, report)})
        entry["proposals"] = proposals = propose(setup, llm, conversation, earlier, r, ab)
        extra_passes += ab.passes

        # 5. adopt; the conversation holds one reply per round: the adopted one, else reply 1
        chosen, revision = adopt(proposals, g.adopt, prefix)
        conversation.append({"role": "assistant", "content": (chosen or proposals[0])["reply"]})
        for p in proposals:  # new text joins the trajectory and what later proposals may not repeat
            if p["status"] == "new":
                earlier.append(Earlier(p["prefix"], "proposal", {"round": r + 1, "candidate": p["candidate"]}))
                trajectory_texts.setdefault(_key(p["prefix"]), {"prefix": p["prefix"], "round": r + 1})
        current = next_prefix(chosen, revision, prefix, proposals)
        if chosen is not None and _key(chosen["prefix"]) not in trained_with:  # a text trained with from now on
            trained_with.add(_key(chosen["prefix"]))  # (an adopted echo of our request included)
            earlier.insert(0, Earlier(chosen["prefix"], "prefix", {"round": r + 1, "candidate": chosen["candidate"]}))
            trajectory_texts.setdefault(_key(chosen["prefix"]), {"prefix": chosen["prefix"], "round": r + 1})
        carried = ab(current["prefix"])  # the same weights the next round starts from: no extra pass

    # 6. the best dev checkpoint and its prefix, evaluated on test once
    return setup.finish(trainer, {
        "prefix_history": history,
        "conversation": conversation,
        "rounds_plan": plan,
        "fallbacks": sum(h["source"] == "fallback" for h in history),
        "dialogue": dialogue_summary(cfg, history, extra_passes, setup.evaluated["dev"]),
    })
