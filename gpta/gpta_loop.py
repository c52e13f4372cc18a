"""GPTA, the paper's algorithm, top to bottom.

1. The LLM reads the dataset description (never the data) and writes prefix p0.
2. Each round: train the encoder with the current prefix (the *incumbent*) for the round's
   epochs; evaluate dev.
3. At the round boundary, a same-weights A/B: every prefix seen so far is scored on dev with the
   weights the round ended with (forward passes only), so the prefix's own effect is measured
   apart from the effect of more training.
4. The LLM gets one feedback message in the same conversation (the "dialogue gradient"):
   aggregate numbers and the (prefix, same-weights dev score) trajectory, never an example. It
   answers with K candidate prefixes (``gpta.candidates``), each cleaned and checked, and the
   new ones are scored on the same weights.
   ``gpta.reply_line=first-new`` (ours): a candidate is the reply's first usable line that is not
   a repeat, since a small LLM often copies the old instruction on line 1 and writes below it.
5. ``gpta.adopt``: ``always`` (the paper) takes reply 1; ``if-better`` takes the best new
   candidate only if it beats the incumbent on the same weights.
6. Keep the checkpoint and prefix with the best dev metric; evaluate test once with them.
   The LLM is not used at inference.
Open choices (rounds, weights continue/restart, history, K, adoption) are in ``gpta.config.GPTAConfig``.

"LLM accuracy" = the share of genuinely new proposals (text differs from every earlier prefix)
that beat the incumbent on the same weights: did the LLM move the prefix in a direction that
helps. An echo, a duplicate or an unusable reply is not a proposal the LLM gets credit for.
What the result records is documented in ``DIALOGUE_KEYS`` below.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

from gpta import prompts
from gpta.config import GPTAConfig, LLMConfig, RunConfig
from gpta.context import RunContext
from gpta.errors import UserError
from gpta.llm import LLM
from gpta.pipeline import Setup
from gpta.prefix import clean_prefix

ADOPT = ("always", "if-better")
MAX_CANDIDATES = 16

# Keys a GPTA result adds (issue 14). Per round, in ``prefix_history[i]``:
#   revision: how this round's prefix came about: "first" (p0 from the LLM), "fallback" (reply
#     unusable: template for p0, else the incumbent kept), "changed" (a new text adopted), "echo"
#     (reply 1 repeated an earlier prefix, or, with if-better, every usable candidate did),
#     "kept" (if-better: new candidates, none beat the incumbent)
#   proposals: the candidates the LLM wrote at the end of this round (the last round has none),
#     each {candidate, seed, temperature, reply, prefix, note, status, echo_of, prefix_tokens,
#     dev_metric, dev_loss, beats_incumbent, gain, adopted}; status is "new" | "echo" (same text
#     as an earlier prefix: echo_of names its round and candidate) | "duplicate" (same as an
#     earlier candidate of this round) | "fallback" (rejected by the cleaning rules, note says
#     why; no score). dev_metric/dev_loss: on the weights this round ended with; gain = its dev
#     metric minus the incumbent's on those weights.
#   incumbent_dev: {metric, loss} of the round's prefix on those same weights (= dev_metric).
#   trajectory: every distinct prefix so far on those weights, best first (what the LLM is shown).
# Top level, ``dialogue``: candidates, adopt, candidate_temperature, reply_line, rounds_with_proposals,
#   proposals, new, echo, duplicate, fallback, beat_incumbent, adopted, share_new (new /
#   proposals), share_adopted (adopted / proposals), llm_accuracy (beat_incumbent / new; null when
#   nothing new was proposed: no credit), adopted_gains (same-weights gain of each adopted
#   proposal), extra_dev_passes and extra_dev_examples (forward passes over dev added by the A/B,
#   i.e. beyond the per-epoch dev evaluation every method does).
DIALOGUE_KEYS = ("candidates", "adopt", "candidate_temperature", "reply_line", "rounds_with_proposals", "proposals", "new",
                 "echo", "duplicate", "fallback", "beat_incumbent", "adopted", "share_new", "share_adopted",
                 "llm_accuracy", "adopted_gains", "extra_dev_passes", "extra_dev_examples")


def split_epochs(epochs: int, rounds: int) -> list[int]:
    """Spread the epoch budget over rounds (earlier rounds get the remainder)."""
    rounds = max(1, min(rounds, epochs))
    return [epochs // rounds + (1 if r < epochs % rounds else 0) for r in range(rounds)]


def check_options(g: GPTAConfig) -> None:
    """The loop's own settings, checked before any data or model loads."""
    if g.adopt not in ADOPT:
        raise UserError(f"gpta.adopt {g.adopt!r}: use one of {', '.join(ADOPT)}")
    if not 1 <= g.candidates <= MAX_CANDIDATES:
        raise UserError(f"gpta.candidates {g.candidates}: must be 1..{MAX_CANDIDATES}")
    if not 0 <= g.candidate_temperature <= 2:
        raise UserError(f"gpta.candidate_temperature {g.candidate_temperature}: must be in [0, 2]")


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


def accept(setup: Setup, reply: str, previous: str | None,
           skip: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """Clean the reply into a prefix; fall back to the previous one (or a template) if unusable.
    ``skip``: texts a later line of the reply is preferred to (``gpta.reply_line=first-new``)."""
    cfg, spec = setup.cfg, setup.spec
    tokenizer = setup.task.tokenizer
    verdict = clean_prefix(
        reply, spec.label_names, lambda s: len(tokenizer(s, add_special_tokens=False)["input_ids"]),
        cfg.train.max_prefix_tokens, cfg.gpta.reject_partial_labels, cfg.gpta.reject_off_task, skip=skip,
    )
    if verdict.prefix is not None:
        return {"prefix": verdict.prefix, "source": "llm", "note": verdict.reason, "reply": reply}
    fallback = previous or prompts.fallback_prefix(spec.label_names, spec.domain, spec.task)
    return {"prefix": fallback, "source": "fallback", "note": verdict.reason, "reply": reply}


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


# feedback(setup, report) -> the next user message
Feedback = Callable[[Setup, RoundReport], str]


def aggregate_feedback(setup: Setup, rep: RoundReport) -> str:
    """GPTA's dialogue gradient: aggregate numbers and prefix scores only, never an example."""
    return prompts.feedback_message(rep.index, rep.epochs, rep.prefix, len(rep.prefix_ids), setup.spec.metric,
                                    rep.before, rep.after, rep.train, setup.evaluated["dev"], rep.trajectory,
                                    rep.fresh_head)


def _norm(text: str) -> str:
    """Texts that differ only in case, spacing or final punctuation are the same prefix."""
    return " ".join(text.lower().split()).rstrip(" .!")


def beats(a: dict[str, float], b: dict[str, float]) -> bool:
    """``a`` beats ``b`` on the same weights: a higher dev metric, or the same metric and lower dev loss."""
    return a["metric"] > b["metric"] or (a["metric"] == b["metric"] and a["loss"] < b["loss"])


def candidate_options(cfg: RunConfig, k: int) -> LLMConfig:
    """Reply 1 uses the run's generation options (the paper's reply); reply k>1 samples at the
    candidate temperature with seed ``generation.seed + k - 1``: deterministic and cacheable."""
    if k == 1:
        return cfg.generation
    return dataclasses.replace(cfg.generation, temperature=cfg.gpta.candidate_temperature,
                               seed=cfg.generation.seed + k - 1)


def decide(proposals: list[dict[str, Any]], adopt: str) -> tuple[dict[str, Any] | None, str]:
    """Which proposal becomes the next prefix (None: keep the incumbent), and the revision label.

    always (the paper): reply 1, unless unusable. if-better: of the new candidates that beat the
    incumbent on the same weights, the one with the best dev metric (then lowest loss, then the
    lowest candidate number); none: keep the incumbent.
    """
    if adopt == "always":
        first = proposals[0]
        if first["status"] == "fallback":
            return None, "fallback"
        return first, "changed" if first["status"] == "new" else "echo"
    winners = [p for p in proposals if p["beats_incumbent"]]
    if winners:
        return max(winners, key=lambda p: (p["dev_metric"], -p["dev_loss"], -p["candidate"])), "changed"
    if any(p["status"] == "new" for p in proposals):
        return None, "kept"
    if any(p["status"] in ("echo", "duplicate") for p in proposals):
        return None, "echo"
    return None, "fallback"


def run(cfg: RunConfig, ctx: RunContext, feedback: Feedback = aggregate_feedback) -> dict[str, Any]:
    """GPTA. ``feedback`` is the one thing a variant may change (textual-gradient shows examples)."""
    g = cfg.gpta
    check_options(g)
    setup = Setup.build(cfg, ctx)
    spec, metric = setup.spec, setup.spec.metric
    llm = ctx.llm()
    plan = split_epochs(cfg.train.epochs, g.rounds)
    n_dev = setup.evaluated["dev"]

    def score(prefix: str) -> dict[str, float]:
        m = trainer.evaluate(setup.features("dev", setup.task.prefix_ids(prefix)), setup.enc["dev"])
        return {"metric": m[metric], "loss": m["loss"]}

    # -- step 1: the LLM writes p0 from the dataset description alone ---------------------------
    conversation = [
        {"role": "system", "content": prompts.system_message(spec.task)},
        {"role": "user", "content": prompts.first_message(spec.description, spec.label_names, spec.task)},
    ]
    current = accept(setup, ask(llm, conversation, g.history, "p0"), previous=None)
    current["revision"] = "first" if current["source"] == "llm" else "fallback"
    seen: dict[str, dict[str, Any]] = {}  # normalised text -> {prefix, round, candidate}: every prefix so far
    seen[_norm(current["prefix"])] = {"prefix": current["prefix"], "round": 0, "candidate": None}
    history: list[dict[str, Any]] = []
    extra_passes = 0
    carried: dict[str, float] | None = None  # the new incumbent's A/B score: its "before" next round

    trainer = setup.new_trainer(cfg.train.epochs if g.weights == "continue" else plan[0])
    for r, epochs in enumerate(plan):
        # -- step 2: the round's model (restart: every prefix from pretrained weights) ------------
        if r > 0 and g.weights == "restart":
            trainer = setup.new_trainer(epochs)
            carried = None
        prefix = current["prefix"]
        pids = setup.task.prefix_ids(prefix)
        fresh_head = carried is None  # round 0, or a restart: "before" is an untrained head
        if carried is None:
            b = trainer.evaluate(setup.features("dev", pids), setup.enc["dev"])
            before = {metric: b[metric], "loss": b["loss"]}
        else:  # the same weights the A/B scored it on: no extra pass
            before = {metric: carried["metric"], "loss": carried["loss"]}

        # -- step 3: train with the incumbent; dev after every epoch (best checkpoint kept) ------
        rows = setup.fit_epochs(trainer, prefix, epochs, round_index=r)
        after, train = rows[-1]["dev"], rows[-1]["train"]
        entry: dict[str, Any] = {
            "round": r, "prefix": prefix, "prefix_tokens": len(pids), "source": current["source"],
            "revision": current["revision"], "note": current["note"], "dev_before": before[metric],
            "dev_before_untrained_head": fresh_head, "dev_metric": after[metric],
            "dev_best_in_round": max(row["dev"][metric] for row in rows),
            "dev_loss_before": before["loss"], "dev_loss": after["loss"], "train_loss": train["loss"],
            "epochs": [row["epoch"] for row in rows],
        }
        history.append(entry)
        if "predictions" in train and spec.task != "qa":  # wrong answers on the train-eval sample
            labels = setup.enc["train_eval"].labels
            entry["train_errors"] = int(sum(p != y for p, y in zip(train["predictions"], labels)))
        if r == len(plan) - 1:
            break

        # -- step 4: same-weights A/B, part 1: every prefix so far on the end-of-round weights ---
        incumbent = {"metric": after[metric], "loss": after["loss"]}  # the last epoch's dev pass: these weights
        scores: dict[str, dict[str, float]] = {_norm(prefix): incumbent}
        for key, s in seen.items():
            if key not in scores:
                scores[key] = score(s["prefix"])
                extra_passes += 1
        trajectory = sorted(({"prefix": s["prefix"], "dev_metric": scores[k]["metric"],
                              "dev_loss": scores[k]["loss"], "round_proposed": s["round"]}
                             for k, s in seen.items()), key=lambda t: (-t["dev_metric"], t["dev_loss"]))
        entry["incumbent_dev"] = incumbent
        entry["trajectory"] = trajectory

        # -- step 5: the dialogue gradient (aggregate only) and K candidate replies --------------
        report = RoundReport(r, epochs, prefix, pids, before, after, train, trajectory, fresh_head)
        conversation.append({"role": "user", "content": feedback(setup, report)})
        proposals = []
        round_seen: dict[str, int] = {}

        def repeat(text: str) -> bool:  # an earlier prefix or an earlier candidate of this round
            return _norm(text) in seen or _norm(text) in round_seen

        for k in range(1, g.candidates + 1):
            opts = candidate_options(cfg, k)
            purpose = f"revise-{r + 1}" + (f"-c{k}" if k > 1 else "")
            reply = ask(llm, conversation, g.history, purpose, options=opts, record=False)
            verdict = accept(setup, reply, previous=None, skip=repeat if g.reply_line == "first-new" else None)
            p = {"candidate": k, "seed": opts.seed, "temperature": opts.temperature, "reply": reply,
                 "prefix": None, "note": verdict["note"], "status": "fallback", "echo_of": None,
                 "prefix_tokens": None, "dev_metric": None, "dev_loss": None, "beats_incumbent": False,
                 "gain": None, "adopted": False}
            if verdict["source"] == "llm":
                text, key = verdict["prefix"], _norm(verdict["prefix"])
                p.update(prefix=text, prefix_tokens=len(setup.task.prefix_ids(text)))
                if key in seen:
                    p.update(status="echo", echo_of={"round": seen[key]["round"], "candidate": seen[key]["candidate"]})
                elif key in round_seen:
                    p.update(status="duplicate", echo_of={"round": r + 1, "candidate": round_seen[key]})
                else:
                    p["status"] = "new"
                    round_seen[key] = k
                    # -- step 6: same-weights A/B, part 2: the new candidate on the same weights
                    scores[key] = score(text)
                    extra_passes += 1
                s = scores[key]
                p.update(dev_metric=s["metric"], dev_loss=s["loss"], gain=s["metric"] - incumbent["metric"],
                         beats_incumbent=p["status"] == "new" and beats(s, incumbent))
            proposals.append(p)

        # -- step 7: adopt (always: reply 1, as in the paper; if-better: the best new candidate
        #    if it beats the incumbent on the same weights) ----------------------------------------
        chosen, revision = decide(proposals, g.adopt)
        if chosen is not None and _norm(chosen["prefix"]) != _norm(prefix):
            chosen["adopted"] = True
        for p in proposals:  # what the LLM proposed this round is now part of the trajectory
            if p["status"] == "new":
                seen[_norm(p["prefix"])] = {"prefix": p["prefix"], "round": r + 1, "candidate": p["candidate"]}
        entry["proposals"] = proposals
        # The conversation holds one reply per round: the adopted one, else reply 1 (K=1: the paper's).
        conversation.append({"role": "assistant", "content": (chosen or proposals[0])["reply"]})
        if chosen is not None:
            nxt = chosen["prefix"]
            carried = scores[_norm(nxt)]
            current = {"prefix": nxt, "source": "llm", "note": chosen["note"], "revision": revision}
        else:
            carried = incumbent
            current = {"prefix": prefix, "source": "fallback" if revision == "fallback" else "incumbent",
                       "note": proposals[0]["note"] if revision == "fallback" else "", "revision": revision}

    return setup.finish(trainer, {
        "prefix_history": history,
        "conversation": conversation,
        "rounds_plan": plan,
        "fallbacks": sum(h["source"] == "fallback" for h in history),
        "dialogue": dialogue_summary(g, history, extra_passes, n_dev),
    })


def dialogue_summary(g: GPTAConfig, history: list[dict[str, Any]], extra_passes: int, n_dev: int) -> dict[str, Any]:
    """The run's dialogue record in numbers (keys: ``DIALOGUE_KEYS``)."""
    props = [p for h in history for p in h.get("proposals", [])]
    count = {s: sum(p["status"] == s for p in props) for s in ("new", "echo", "duplicate", "fallback")}
    beat = sum(p["beats_incumbent"] for p in props)
    adopted = [p for p in props if p["adopted"]]
    n = len(props)
    out = {
        "candidates": g.candidates, "adopt": g.adopt, "candidate_temperature": g.candidate_temperature,
        "reply_line": g.reply_line,
        "rounds_with_proposals": sum("proposals" in h for h in history), "proposals": n, **count,
        "beat_incumbent": beat, "adopted": len(adopted),
        "share_new": count["new"] / n if n else None,
        "share_adopted": len(adopted) / n if n else None,
        "llm_accuracy": beat / count["new"] if count["new"] else None,
        "adopted_gains": [p["gain"] for p in adopted],
        "extra_dev_passes": extra_passes, "extra_dev_examples": extra_passes * n_dev,
    }
    assert tuple(out) == DIALOGUE_KEYS
    return out
