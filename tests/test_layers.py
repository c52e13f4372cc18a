"""Layers read downward only: no import cycle, no import from a CLI module into the library, and
no import from the core (``gpta``) into a method module (``baselines``): the core reaches methods
only through the registry's "module:function" names (gpta/registry.py).

The walk parses every module of the packages (module-level and function-level imports alike,
so a cycle hidden behind a lazy import still counts; ``if TYPE_CHECKING:`` blocks do not). It
finds CLI modules by what they are, not by their file names: a module that imports ``argparse``
(the command line's parser) or is a package's ``__main__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("gpta", "baselines", "reports")


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(name: str, path: Path, known: dict[str, Path]) -> tuple[set[str], bool]:
    """(modules of ours this module imports, whether it imports argparse)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    uses_argparse = False
    skip: set[int] = set()
    for node in ast.walk(tree):
        if _type_checking(node):
            skip.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                uses_argparse |= alias.name == "argparse"
                if alias.name.split(".")[0] in PACKAGES:
                    found.add(_closest(alias.name, known))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else _closest(base, known))
    found.discard(name)
    return found, uses_argparse


def _closest(module: str, known: dict[str, Path]) -> str:
    parts = module.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts)


def graph() -> tuple[dict[str, set[str]], set[str]]:
    known = modules()
    edges, cli = {}, set()
    for name, path in known.items():
        edges[name], uses_argparse = imports(name, path, known)
        if uses_argparse or name.endswith("__main__"):
            cli.add(name)
    return edges, cli


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def _package_edge(a: str, b: str) -> bool:
    """A package's ``__init__`` importing its own submodule (and back) is how packages register
    their parts (gpta.data registers its datasets): not a layering cycle."""
    return a.startswith(b + ".") or b.startswith(a + ".")


def test_the_walk_sees_imports():
    edges, cli = graph()
    assert "gpta.cli" in cli and "gpta.config" not in cli
    assert "gpta.errors" in edges["gpta.config"]  # a plain module-level import
    assert "gpta.registry" in edges["gpta.config"]  # a function-level (lazy) import counts too
    # the walk finds a planted cycle
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle():
    edges, _ = graph()
    pruned = {a: {b for b in bs if not _package_edge(a, b)} for a, bs in edges.items()}
    assert cycles(pruned) == []


def test_no_library_module_imports_a_cli_module():
    edges, cli = graph()
    wrong = sorted(f"{a} -> {b}" for a, bs in edges.items() if a not in cli for b in bs if b in cli)
    assert wrong == []


def core_to_baselines(edges: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} -> {b}" for a, bs in edges.items() if a.split(".")[0] == "gpta"
                  for b in bs if b.split(".")[0] == "baselines")


def test_the_core_imports_no_baseline_module(tmp_path):
    """gpta -> baselines is an upward arrow: a method plugs in through its registry row (impl,
    from_result: "module:function" strings, resolved when used), never by an import in the core."""
    edges, _ = graph()
    assert core_to_baselines(edges) == []
    # the walk sees such an import, even a lazy one inside a function
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from baselines.transfer import read_source\n    return read_source\n")
    found, _ = imports("gpta.sweep.planted", planted, modules())
    assert core_to_baselines({"gpta.sweep.planted": found}) == ["gpta.sweep.planted -> baselines.transfer"]
