"""The roles methods play in a report, read from the method registry (gpta/registry.py).

The one place reports get them: which method is under test (the paper's method), which is the
baseline every gain is measured against, which methods are references (one cell per dataset and
LLM: they depend on neither fraction nor seed), and which use an LLM. Nothing here copies a
method's facts; the two role names are checked against the registry when this module loads, so
renaming a method fails here, at import, not as an empty figure.
"""

from __future__ import annotations

from gpta.registry import BASELINE, UNDER_TEST, MethodInfo, styled_methods

__all__ = ["BASELINE", "UNDER_TEST", "reference_methods", "uses_llm"]  # roles: the registry's constants


def _info(method: str) -> MethodInfo | None:
    return styled_methods().get(method)  # read live: a method registered later is known too


for _role, _name in (("UNDER_TEST", UNDER_TEST), ("BASELINE", BASELINE)):
    if _info(_name) is None:
        raise ImportError(f"reports/roles.py: {_role} = {_name!r} is not a method in gpta/registry.py")


def reference_methods() -> tuple[str, ...]:
    """Methods with ``once_per_dataset`` in the registry: references, not seed-paired arms."""
    return tuple(name for name, info in styled_methods().items() if info.once_per_dataset)


def uses_llm(method: str) -> bool:
    """Whether the registry says the method calls an LLM (False for a method it does not know)."""
    info = _info(method)
    return bool(info and info.uses_llm)
