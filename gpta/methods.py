"""One registry of methods (GPTA and every baseline), one interface: ``run(cfg, ctx) -> result``.

Like PEFT's mapping from a name to (config, implementation): each method module registers a
``MethodInfo`` that says what it isolates, how it uses the LLM and what data it exposes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from gpta.errors import UserError


@dataclass(frozen=True)
class MethodInfo:
    name: str
    run: Callable[..., dict[str, Any]]
    isolates: str  # the claim this method's comparison tests
    llm_use: str  # e.g. "none", "1 call", "1 + (rounds-1) calls", "1 call per test input"
    exposure: str  # "none" or which data the LLM sees
    tasks: tuple[str, ...] = ("classification", "qa")
    uses_llm: bool = False

    @property
    def exposes_data(self) -> bool:
        return self.exposure != "none"


METHODS: dict[str, MethodInfo] = {}
# Methods this installation cannot run, with the reason (e.g. prefix-tuning on a BERT encoder).
UNAVAILABLE: dict[str, str] = {}


def register(info: MethodInfo) -> MethodInfo:
    METHODS[info.name] = info
    return info


def unavailable(name: str, reason: str) -> None:
    UNAVAILABLE[name] = reason


def _load_all() -> None:
    import baselines  # noqa: F401  (each baseline module registers itself)
    import gpta.method as gpta_method

    if "gpta" not in METHODS:
        register(MethodInfo(
            name="gpta", run=gpta_method.run,
            isolates="the full method: LLM-written prefix revised by the dialogue gradient",
            llm_use="rounds calls (1 + one revision per later round)", exposure="none", uses_llm=True,
        ))


def all_methods() -> dict[str, MethodInfo]:
    _load_all()
    return METHODS


def get_method(name: str) -> MethodInfo:
    methods = all_methods()
    if name not in methods and name in UNAVAILABLE:
        raise UserError(f"method {name!r} is not available: {UNAVAILABLE[name]}")
    if name not in methods:
        raise UserError(f"unknown method {name!r}; known: {', '.join(sorted(methods))}")
    return methods[name]
