"""One registry of methods (GPTA and every baseline), one interface: ``run(cfg, ctx) -> result``.

Like PEFT's mapping from a method name to its implementation, the registry is one table: each
``MethodInfo`` says what the method isolates, how it uses the LLM and what data it exposes, and
names its implementation as ``"module:function"``. The module is imported only when the method
runs, so listing or validating methods (``gpta list``, a sweep's plan, a warm re-run that finds
every cell done) never loads torch or transformers.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from gpta.errors import UserError


@dataclass(frozen=True)
class MethodInfo:
    name: str
    impl: str  # "module:function" with signature run(cfg, ctx) -> result dict
    isolates: str  # the claim this method's comparison tests
    llm_use: str  # e.g. "none", "1 call", "1 call per test input"
    exposure: str  # "none" or which data the LLM sees
    tasks: tuple[str, ...] = ("classification", "qa")
    uses_llm: bool = False

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

METHODS: dict[str, MethodInfo] = {m.name: m for m in [
    MethodInfo("gpta", "gpta.method:run",
               isolates="the full method: LLM-written prefix revised by the dialogue gradient",
               llm_use="rounds calls (1 + one revision per later round)", exposure="none", uses_llm=True),
    MethodInfo("finetune", "baselines.finetune:run",
               isolates="the baseline every gain is measured against: no prefix, no LLM",
               llm_use="none", exposure="none"),
    MethodInfo("empty-prefix", "baselines.empty_prefix:run",
               isolates="the layout control: finetune in the prefix methods' pair layout ([CLS] [SEP] text "
                        "[SEP], text in segment B) with an empty prefix; prefix methods vs this isolate the "
                        "prefix's content from the segment change",
               llm_use="none", exposure="none", tasks=CLASSIFICATION),
    MethodInfo("manual-prefix", "baselines.manual_prefix:run",
               isolates="any sensible hand-written prefix vs the LLM's prefix (no LLM)",
               llm_use="none", exposure="none"),
    MethodInfo("llm-prefix", "baselines.llm_prefix:run",
               isolates="the dialogue gradient: GPTA's first prefix, no feedback rounds, same epochs",
               llm_use="1 call", exposure="none", uses_llm=True),
    MethodInfo("random-prefix", "baselines.random_prefix:run",
               isolates="prefix content vs prefix length: random tokens, as many as GPTA's selected prefix",
               llm_use="none", exposure="none"),
    MethodInfo("prompt-tuning", "baselines.prompt_tuning:run",
               isolates="soft (trained) prompt vs LLM-written text prefix: the classic parameter-efficient "
                        "answer, no LLM",
               llm_use="none", exposure="none", tasks=CLASSIFICATION),
    MethodInfo("llm-zero-shot", "baselines.llm_zero_shot:run",
               isolates="the LLM at inference: what GPTA's no-LLM-at-test-time design saves in cost and exposure",
               llm_use="1 call per test input (options.max_eval, default 200)",  # = llm_zero_shot.DEFAULT_MAX_EVAL
               exposure="test inputs: every evaluated test text is sent to the LLM",
               tasks=CLASSIFICATION, uses_llm=True),
    MethodInfo("setfit", "baselines.setfit_baseline:run",
               isolates="what a practitioner would pick for few-shot classification: SetFit on the same "
                        "encoder, no LLM",
               llm_use="none", exposure="none", tasks=CLASSIFICATION),
    MethodInfo("textual-gradient", "baselines.textual_gradient:run",
               isolates="showing the LLM misclassified training data (ProTeGi/TextGrad) vs GPTA's "
                        "aggregate-only feedback",
               llm_use="rounds calls (1 + one revision per later round), like gpta",
               exposure="training data: up to options.n_examples (default 4) training texts with labels "
                        "per revision",
               tasks=CLASSIFICATION, uses_llm=True),
    MethodInfo("transfer", "baselines.transfer:run",
               isolates="whether a prefix learned on one dataset helps another (the paper's transfer claim)",
               llm_use="none (reuses a learned prefix)", exposure="none"),
]}

# Methods this installation cannot run: name -> "module:function" returning the reason (computed
# when asked: it inspects transformers).
UNAVAILABLE: dict[str, str] = {
    "prefix-tuning": "baselines.prefix_tuning:reason",
}


def register(info: MethodInfo) -> MethodInfo:
    """Add a method (e.g. from a plugin or a test) under ``info.name``."""
    METHODS[info.name] = info
    return info


def unavailable_reason(name: str) -> str:
    return _resolve(UNAVAILABLE[name])()


def all_methods() -> dict[str, MethodInfo]:
    return METHODS


def get_method(name: str) -> MethodInfo:
    if name not in METHODS and name in UNAVAILABLE:
        raise UserError(f"method {name!r} is not available: {unavailable_reason(name)}")
    if name not in METHODS:
        raise UserError(f"unknown method {name!r}; known: {', '.join(sorted(METHODS))}")
    return METHODS[name]
