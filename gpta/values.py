"""Values of settings and method options: from command-line text or a suite's typed value to the
declared type. The one coercer (and the one list of true/false words) for ``gpta.config``'s
settings table and ``gpta.registry``'s method options; ranges and allowed values are theirs.
"""

from __future__ import annotations

import math
from typing import Any

from gpta.errors import UserError

TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
EXPECTED = {"int": "an integer", "float": "a number", "bool": "true or false", "str": "text",
            "tuple": "a list", "dict": "a mapping"}


def kind_of(annotation: Any) -> tuple[str, bool]:
    """(base kind, whether None is allowed) from a dataclass field's annotation text:
    ``"int"`` -> ("int", False), ``"float | None"`` -> ("float", True), ``"tuple[str, ...]"`` -> ("tuple", False)."""
    kinds = [k.strip() for k in str(annotation).split("|")]
    base = next((k for k in kinds if k != "None"), "str")
    base = base.split("[")[0]
    return (base if base in EXPECTED else "str"), "None" in kinds


def parse_value(label: str, value: Any, kind: str, optional: bool = False, where: str = "") -> Any:
    """A value from the command line (text) or a suite/YAML (typed) as ``kind``; the one coercer of
    settings and method options. A wrong type is a UserError: ``{label}={value!r}{where}: expected ...``."""
    if optional and (value is None or (isinstance(value, str) and value.strip().lower() == "none")):
        return None
    bad = UserError(f"{label}={value!r}{where}: expected {EXPECTED[kind]}")
    text = value.strip() if isinstance(value, str) else None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if text is not None and text.lower() in TRUE_WORDS + FALSE_WORDS:
            return text.lower() in TRUE_WORDS
        raise bad
    if kind in ("int", "float"):
        if isinstance(value, bool):
            raise bad
        if text is not None:
            try:
                value = int(text) if kind == "int" else float(text)
            except ValueError:
                raise bad from None
        elif not isinstance(value, int) and not (kind == "float" and isinstance(value, float)):
            raise bad
        if not math.isfinite(value):
            raise UserError(f"{label}={value!r}{where}: must be a finite number")
        return float(value) if kind == "float" else value
    if kind == "tuple":
        if text is not None:
            return tuple(v for v in text.split(",") if v)
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise bad
    if kind == "dict":
        if isinstance(value, dict):
            return value
        raise bad
    if not isinstance(value, str):
        raise bad
    return value
