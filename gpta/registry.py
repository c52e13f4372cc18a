"""One registry of methods (GPTA and every baseline), one interface: ``run(cfg, ctx) -> result``.

Like PEFT's mapping from a method name to its implementation, the registry is one table and the
only place a method's facts live: what it isolates, how it uses the LLM and what data it exposes
(the audit's promise), its typed options, its cost model (``gpta/sweep/estimate.py``), its display name,
colour, marker and legend order in reports (``reports/style.py``), and the values it needs from another
method's result of the same cell (``needs``: honoured by every sweep executor). Everything else
derives from this table. It names each implementation as ``"module:function"``; the module is
imported only when the method runs, so listing or validating methods (``gpta list``, a sweep's
plan, a warm re-run that finds every cell done) never loads torch or transformers.

Adding a method: one module with ``run(cfg, ctx)`` and one ``MethodInfo`` row below (plus an
options dataclass if it has options). ``tests/test_registry.py`` then runs it on a tiny cell.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from dataclasses import dataclass
from typing import Any, Callable

from gpta.values import kind_of, parse_value
from gpta.errors import UserError

# -- typed options: one dataclass per method with options (PEFT-style), checked on creation -----


class Options:
    """Base of every method's options: typed fields with defaults; ``check`` refuses bad values."""

    def check(self) -> None:  # ranges beyond the type; overridden per method
        pass

    def check_dataset(self, spec: Any) -> None:  # what needs the cell's dataset (its task); per method
        pass

    def __post_init__(self) -> None:
        self.check()


def _at_least(name: str, value: Any, low: float) -> None:
    if value is not None and value < low:
        raise UserError(f"options.{name}={value!r}: must be >= {low:g}")


@dataclass(frozen=True)
class NoOptions(Options):
    """A method without options: any ``options.X`` is refused."""


@dataclass(frozen=True)
class RandomPrefixOptions(Options):
    prefix_tokens: int | None = None  # length when the cell has no gpta result to take it from

    def check(self) -> None:
        _at_least("prefix_tokens", self.prefix_tokens, 1)


@dataclass(frozen=True)
class PromptTuningOptions(Options):
    virtual_tokens: int | None = None  # default: the manual prefix's token count (capped)
    prompt_lr: float = 1e-2  # the soft prompt's learning rate (the backbone keeps train.learning_rate)
    freeze_backbone: bool = False  # true: only the prompt and the head train (classic prompt tuning)

    def check(self) -> None:
        if self.virtual_tokens is not None and not 1 <= self.virtual_tokens <= 128:
            raise UserError(f"options.virtual_tokens={self.virtual_tokens}: must be 1..128")
        if not (math.isfinite(self.prompt_lr) and self.prompt_lr > 0):
            raise UserError(f"options.prompt_lr={self.prompt_lr!r}: must be a finite number > 0")


@dataclass(frozen=True)
class LLMZeroShotOptions(Options):
    max_eval: int = 0  # 0 = the same test set as the other methods; N = a seeded subset of N
    label_max_tokens: int = 8  # reply length cap for a label (generation fallback)
    scoring: str = "auto"  # auto (label log-likelihood where the backend has it) | logprob | generate

    def check(self) -> None:
        _at_least("max_eval", self.max_eval, 0)
        _at_least("label_max_tokens", self.label_max_tokens, 1)
        if self.scoring not in ("auto", "logprob", "generate"):
            raise UserError(f"options.scoring={self.scoring!r}: allowed values are auto, logprob, generate")


@dataclass(frozen=True)
class SetFitOptions(Options):
    # setfit 1.x TrainingArguments defaults (its documented recipe), not the shared step budget
    num_iterations: int | None = None  # None = setfit's oversampling of pairs; N = N pairs per example
    max_steps: int = -1  # -1 = no cap (setfit's default)
    body_lr: float = 2e-5  # SetFit's body learning rate
    batch_size: int = 16  # setfit's default
    prefix: str | None = None  # none | manual (the dataset's manual prefix) | any text
    select: str = "dev"  # dev = keep the contrastive epoch with the best dev metric (as every method); last

    def check(self) -> None:
        _at_least("num_iterations", self.num_iterations, 1)
        if self.max_steps != -1:
            _at_least("max_steps", self.max_steps, 1)
        _at_least("batch_size", self.batch_size, 1)
        if not (math.isfinite(self.body_lr) and self.body_lr > 0):
            raise UserError(f"options.body_lr={self.body_lr!r}: must be a finite number > 0")
        if self.select not in ("dev", "last"):
            raise UserError(f"options.select={self.select!r}: allowed values are dev, last")


@dataclass(frozen=True)
class TextualGradientOptions(Options):
    n_examples: int = 4  # misclassified (or, failing that, any) training examples shown per revision

    def check(self) -> None:
        _at_least("n_examples", self.n_examples, 0)


@dataclass(frozen=True)
class TransferOptions(Options):
    prefix: str | None = None  # the prefix text learned elsewhere (required to run)
    source: dict | None = None  # where it came from: result file name, dataset, task, domain, method, run id

    def check_dataset(self, spec: Any) -> None:
        task = (self.source or {}).get("task")
        if task and task != spec.task:  # a classification prefix says nothing about reading a passage
            raise UserError(f"transfer: the prefix comes from a {task} dataset ({self.source.get('dataset')}); "
                            f"{spec.name!r} is {spec.task}: a prefix transfers between datasets of one task")


# -- dependencies on other methods' results of the same cell -------------------------------------


@dataclass(frozen=True)
class Need:
    """A value this method takes from another method's result of the *same cell*.

    The same cell = same dataset (and options), fraction, seeds, model, LLM and train settings
    (``SAME_CELL_KEYS``). The sweep runs the source first and passes ``result[value]`` in as
    ``cfg.inputs[value]`` with the source's run id as ``cfg.inputs[value + "_from"]``; no
    executor searches a folder.
    """

    method: str  # whose result
    value: str  # which top-level key of that result


SAME_CELL_KEYS = ("dataset", "dataset_options", "fraction", "seed", "data_seed", "model", "llm", "train")
# What every cell's id hashes: the cell itself (``RunConfig.to_dict()`` keys); each method adds
# the sections it reads (``MethodInfo.reads``).
CELL_KEYS = ("dataset", "dataset_options", "fraction", "seed", "data_seed", "train_seed", "method", "model",
             "options", "inputs")
LLM_READS = ("train", "llm", "generation")  # an encoder method that asks the LLM
LOOP_READS = (*LLM_READS, "gpta")  # the GPTA loop (gpta, textual-gradient)
# GPTA's first prefix alone (llm-prefix): gpta.gpta_loop.first_prefix samples reply 1 by
# llm_seed and reply_temperature (llm_options) and cleans it by the two reject rules (accept)
FIRST_PREFIX_READS = (*LLM_READS, "gpta.llm_seed", "gpta.reply_temperature", "gpta.reject_partial_labels",
                      "gpta.reject_off_task")


# -- cost model and report style ------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    """What ``gpta/sweep/estimate.py`` prices: training work, sequence length, LLM calls."""

    train: float = 1.0  # training work relative to finetune (0 = no encoder training)
    prefix: bool = True  # adds a prefix to every input (longer sequences)
    # LLM calls: "0", "1", "rounds" (the GPTA loop: 1 + (gpta.rounds - 1) x gpta.candidates), "test"
    # (one per evaluated test input)
    calls: str = "0"
    contrastive: bool = False  # SetFit: trains on sentence pairs, whose number grows with n squared


@dataclass(frozen=True)
class Style:
    """One look in every report: colour (seaborn "colorblind" palette hex), marker, legend order."""

    color: str
    marker: str
    order: int  # legend position: gpta first, its baseline second, then the other comparisons


@dataclass(frozen=True)
class MethodInfo:
    name: str
    impl: str  # "module:function" with signature run(cfg, ctx) -> result dict
    isolates: str  # the claim this method's comparison tests
    llm_use: str  # e.g. "none", "1 call", "1 call per test input"
    exposure: str  # the audit's promise: "none", or which data the LLM sees
    style: Style
    cost: Cost = Cost()
    tasks: tuple[str, ...] = ("classification", "qa")
    uses_llm: bool = False
    options: type[Options] = NoOptions
    needs: tuple[Need, ...] = ()
    unavailable: str | None = None  # "module:function" returning why this installation cannot run it
    smoke_options: tuple[tuple[str, Any], ...] = ()  # what a smallest real run must be given (the battery)
    # True: the result depends on neither fraction nor train seed (llm-zero-shot): a suite runs
    # one cell per dataset and LLM (gpta.sweep.suite.expand_stage)
    once_per_dataset: bool = False
    # What the method reads of a cell's config beyond the cell itself (CELL_KEYS): config sections
    # ("train", "gpta", "generation", "llm") or single settings ("train.test_max"). The cell's id
    # hashes exactly these (gpta.results.cell_id), so changing a GPTA default re-runs no baseline.
    reads: tuple[str, ...] = ("train",)
    # The precision the method always trains in, whatever train.precision (SetFit: fp32), or why
    # none applies; None: train.precision, resolved on this machine (gpta.model.resolve_precision).
    precision: str | None = None
    # "module:function" reading another cell's result file into this method's options (transfer:
    # the learned prefix and where it came from), for `gpta transfer --from` and transfer stages
    from_result: str | None = None
    display: str = ""  # the name reports print (legends, tables, captions); "" = the registry name
    # Bumped when the method's code changes what it computes for the same config. From 2 up it is
    # part of the cell id (gpta.results.identity_config), so results of an earlier revision are not
    # reused; revision 1 adds nothing to the id, so an unchanged method keeps its ids.
    # llm-zero-shot 2: one-character tokens no longer fit a label (gpta.llm.base.LABEL_FIT_RULE).
    # gpta 2, textual-gradient 2: the feedback names whose instruction the round trained with, says
    # why an unusable reply was not used, and gives the length limit (gpta.prompts.FEEDBACK).
    revision: int = 1

    @property
    def display_name(self) -> str:
        return self.display or self.name

    @property
    def exposes_data(self) -> bool:
        return self.exposure != "none"

    @property
    def run(self) -> Callable[..., dict[str, Any]]:
        return _resolve(self.impl)


def _resolve(impl: str) -> Any:
    module, _, attr = impl.partition(":")
    return getattr(importlib.import_module(module), attr)


CLASSIFICATION = ("classification",)
# SetFit at its documented defaults pairs every example with many others: the battery's smallest
# real run caps it (a few contrastive steps still exercise the whole method)
SETFIT_SMOKE = (("max_steps", 4), ("num_iterations", 1))
SETFIT_PRECISION = "fp32"  # setfit's trainer runs without autocast (baselines/setfit_baseline.py)
_CB = ['#0173b2', '#de8f05', '#029e73', '#d55e00', '#cc78bc', '#ca9161', '#fbafe4', '#949494', '#ece133',
       '#56b4e9']  # seaborn.color_palette("colorblind").as_hex(): ten colours; transfer gets black

METHODS: dict[str, MethodInfo] = {m.name: m for m in [
    MethodInfo("gpta", "gpta.gpta_loop:run", display="GPTA",
               isolates="the full method: LLM-written prefix revised by the dialogue gradient",
               llm_use="1 + (rounds - 1) x gpta.candidates calls (the first prefix, then K revision replies per "
                       "later round)", exposure="none", uses_llm=True,
               cost=Cost(calls="rounds"), reads=LOOP_READS, revision=2,
               style=Style(_CB[3], "o", 0)),  # vermillion: stands out
    MethodInfo("finetune", "baselines.finetune:run", display="Fine-tune",
               isolates="the baseline every gain is measured against: no prefix, no LLM",
               llm_use="none", exposure="none", cost=Cost(prefix=False), style=Style(_CB[0], "s", 1)),
    MethodInfo("empty-prefix", "baselines.empty_prefix:run", display="Empty prefix",
               isolates="the layout control: finetune in the prefix methods' pair layout ([CLS] [SEP] text "
                        "[SEP], text in segment B) with an empty prefix; prefix methods vs this isolate the "
                        "prefix's content from the segment change",
               llm_use="none", exposure="none", tasks=CLASSIFICATION, cost=Cost(prefix=False),
               style=Style("#333333", "_", 13)),
    MethodInfo("manual-prefix", "baselines.manual_prefix:run", display="Manual prefix",
               isolates="any sensible hand-written prefix vs the LLM's prefix (no LLM)",
               llm_use="none", exposure="none", style=Style(_CB[2], "^", 2)),
    MethodInfo("llm-prefix", "baselines.llm_prefix:run", display="LLM prefix",
               isolates="the dialogue gradient: GPTA's first prefix, no feedback rounds, same epochs",
               llm_use="1 call", exposure="none", uses_llm=True, cost=Cost(calls="1"),
               reads=FIRST_PREFIX_READS, style=Style(_CB[1], "v", 3)),
    MethodInfo("random-prefix", "baselines.random_prefix:run", display="Random prefix",
               isolates="prefix content vs prefix length: random tokens, as many as GPTA's selected prefix",
               llm_use="none", exposure="none", options=RandomPrefixOptions,
               needs=(Need("gpta", "prefix_tokens"),), style=Style(_CB[7], "x", 4)),
    MethodInfo("prompt-tuning", "baselines.prompt_tuning:run", display="Prompt tuning",
               isolates="soft (trained) prompt vs LLM-written text prefix: the classic parameter-efficient "
                        "answer, no LLM",
               llm_use="none", exposure="none", tasks=CLASSIFICATION, options=PromptTuningOptions,
               style=Style(_CB[4], "D", 5)),
    MethodInfo("llm-zero-shot", "baselines.llm_zero_shot:run", display="LLM zero-shot",
               isolates="the LLM at inference: what GPTA's no-LLM-at-test-time design saves in cost and exposure",
               llm_use="1 call per test input (label scoring: one prompt evaluation each; the same test "
                       "items as the other methods, or a seeded sample of options.max_eval of them), once per "
                       "dataset and LLM",
               exposure="test inputs: every evaluated test text is sent to the LLM",
               tasks=CLASSIFICATION, uses_llm=True, once_per_dataset=True, options=LLMZeroShotOptions,
               reads=("train.test_max", "llm", "generation"), precision="n/a (no encoder)", revision=2,
               cost=Cost(train=0.0, prefix=False, calls="test"), style=Style(_CB[9], "*", 7)),
    MethodInfo("setfit", "baselines.setfit_baseline:run", display="SetFit",
               isolates="what a practitioner would pick for few-shot classification: SetFit on the same "
                        "encoder, no LLM",
               llm_use="none", exposure="none", tasks=CLASSIFICATION, options=SetFitOptions,
               # contrastive pairs: two sentences per pair, pairs ~ n^2 by setfit's default (estimate.py)
               cost=Cost(prefix=False, contrastive=True), smoke_options=SETFIT_SMOKE, precision=SETFIT_PRECISION,
               style=Style(_CB[6], "h", 8)),
    MethodInfo("textual-gradient", "baselines.textual_gradient:run", display="Textual gradient",
               isolates="showing the LLM misclassified training data (ProTeGi/TextGrad) vs GPTA's "
                        "aggregate-only feedback",
               llm_use="like gpta: 1 + (rounds - 1) x gpta.candidates calls (the first prefix, then K revision "
                       "replies per later round); no separate critique call: the examples ride in the feedback",
               exposure="training data: up to options.n_examples (default 4) training texts with labels "
                        "per revision",
               tasks=CLASSIFICATION, uses_llm=True, options=TextualGradientOptions,
               cost=Cost(calls="rounds"), reads=LOOP_READS, revision=2,  # the GPTA loop, another feedback
               style=Style(_CB[8], "<", 9)),  # yellow (markers get a dark edge so it reads on white)
    MethodInfo("setfit-gpta", "baselines.setfit_gpta:run_gpta", display="SetFit + GPTA prefix",
               isolates="whether an LLM-written prefix helps the best few-shot learner: SetFit with GPTA's "
                        "selected prefix of the same cell (control: setfit-manual)",
               llm_use="none itself (takes the same cell's gpta prefix)", exposure="none", tasks=CLASSIFICATION,
               options=SetFitOptions, needs=(Need("gpta", "prefix"),),
               cost=Cost(prefix=True, contrastive=True), smoke_options=SETFIT_SMOKE, precision=SETFIT_PRECISION,
               style=Style("#117733", "H", 11)),
    MethodInfo("setfit-manual", "baselines.setfit_gpta:run_manual", display="SetFit + manual prefix",
               isolates="setfit-gpta's control: the same SetFit with the dataset's hand-written prefix",
               llm_use="none", exposure="none", tasks=CLASSIFICATION, options=SetFitOptions,
               cost=Cost(prefix=True, contrastive=True), smoke_options=SETFIT_SMOKE, precision=SETFIT_PRECISION,
               style=Style("#882255", "d", 12)),
    MethodInfo("transfer", "baselines.transfer:run", display="Transfer",
               isolates="whether a prefix learned on one dataset helps another (the paper's transfer claim)",
               llm_use="none (reuses a learned prefix)", exposure="none", options=TransferOptions,
               smoke_options=(("prefix", "Is this tweet negative or positive?"),), from_result="baselines.transfer:read_source",
               style=Style("#000000", ">", 10)),
]}

# Methods this installation cannot run: listed (with the reason, computed when asked: it inspects
# transformers) and styled, never run.
UNAVAILABLE: dict[str, MethodInfo] = {m.name: m for m in [
    MethodInfo("prefix-tuning", "baselines.prefix_tuning:reason", display="Prefix tuning",
               isolates="trained key/value prefixes (PEFT prefix tuning)", llm_use="none", exposure="none",
               unavailable="baselines.prefix_tuning:reason", style=Style(_CB[5], "P", 6)),
]}


def register(info: MethodInfo) -> MethodInfo:
    """Add a method (e.g. from a plugin or a test) under ``info.name``."""
    METHODS[info.name] = info
    return info


def unavailable_reason(name: str) -> str:
    return _resolve(UNAVAILABLE[name].unavailable)()


def all_methods() -> dict[str, MethodInfo]:
    return METHODS


# The roles two methods play in every comparison (reports read them through reports/roles.py):
# the method under test (the paper's method) and the baseline every gain is measured against.
UNDER_TEST = "gpta"
BASELINE = "finetune"


def styled_methods() -> dict[str, MethodInfo]:
    """Every method a report may draw (runnable or not), in legend order."""
    both = {**METHODS, **UNAVAILABLE}
    return dict(sorted(both.items(), key=lambda kv: (kv[1].style.order, kv[0])))


def get_method(name: str) -> MethodInfo:
    if name not in METHODS and name in UNAVAILABLE:
        raise UserError(f"method {name!r} is not available: {unavailable_reason(name)}")
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}; known: {', '.join(sorted(METHODS))}")
    return METHODS[name]


# -- options: from --set strings or suite values to the method's dataclass -----------------------

def _coerce_option(method: str, name: str, value: Any, annotation: str) -> Any:
    """An option's value as its declared type, by the settings' one coercer (gpta.config.parse_value)."""
    kind, optional = kind_of(annotation)
    return parse_value(f"options.{name}", value, kind, optional, where=f" for {method}")


def parse_options(method: str, raw: dict[str, Any]) -> Options:
    """The method's options dataclass from ``cfg.options``: unknown names and bad values refused."""
    info = METHODS.get(method) or get_method(method)
    fields = {f.name: f for f in dataclasses.fields(info.options)}
    values = {}
    for name, value in (raw or {}).items():
        if name not in fields:
            allowed = ", ".join(sorted(fields)) or "none (this method has no options)"
            raise UserError(f"options.{name}: unknown option for {method}; allowed: {allowed}")
        values[name] = _coerce_option(method, name, value, fields[name].type)
    return info.options(**values)


def method_options(cfg: Any) -> Options:
    """``cfg.options`` of a RunConfig as its method's typed options."""
    return parse_options(cfg.method, cfg.options)


# -- dependencies ---------------------------------------------------------------------------------


def same_cell(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two configs (``RunConfig.to_dict()``) are the same cell for a ``Need``."""
    return all(a.get(k) == b.get(k) for k in SAME_CELL_KEYS)


def source_config(cfg: Any, need: Need) -> Any:
    """The config of the cell a ``Need`` reads when nothing better is known: this cell's config
    with the source's method and no options or inputs (what a suite gives a cell by default)."""
    return dataclasses.replace(cfg, method=need.method, options={}, inputs={},
                               train=dataclasses.replace(cfg.train), gpta=dataclasses.replace(cfg.gpta),
                               generation=dataclasses.replace(cfg.generation))


def give_inputs(cfg: Any, need: Need, source: dict[str, Any] | None) -> None:
    """Pass ``source[need.value]`` (a finished result of the source cell, or None) into ``cfg.inputs``."""
    if source is None or source.get("status", "ok") != "ok" or need.value not in source:
        cfg.inputs[f"{need.value}_from"] = None  # recorded: no source result, the method's fallback applies
        cfg.inputs.pop(need.value, None)
        return
    cfg.inputs[need.value] = source[need.value]
    cfg.inputs[f"{need.value}_from"] = source.get("run_id")


def options_from_result(method: str, path: Any) -> dict[str, Any]:
    """The options ``method`` takes from another cell's result file (``MethodInfo.from_result``):
    for transfer, ``{"prefix": ..., "source": {...}}``. A bad file is a UserError naming it."""
    info = get_method(method)
    if info.from_result is None:
        raise UserError(f"method {method!r} takes nothing from a result file")
    return _resolve(info.from_result)(path)


def depends_on_llm(method: str) -> bool:
    """Whether an LLM changes a cell of ``method``: it asks one, or takes a value from a method
    that does (random-prefix takes the same cell's gpta prefix length)."""
    info = get_method(method)
    return info.uses_llm or any(depends_on_llm(n.method) for n in info.needs)


def needs_of(method: str) -> tuple[Need, ...]:
    info = METHODS.get(method)
    return info.needs if info else ()

