"""Packaging: what pyproject.toml declares matches what the code imports, and the lock file
(requirements/lock.txt, which tox installs from) satisfies pyproject's ranges.

Reads files only (pyproject, the lock, the source's import statements): no install, no network.
The install checks themselves (a fresh 3.11 venv resolves from the ranges; Python 3.10 is refused
with the requires-python message) are commands in docs/PACKAGING.md, run by hand.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
RUNTIME_DIRS = ("gpta", "baselines", "reports", "suites")
# Imported only inside the optional feature that needs them: module -> (distribution, extra).
OPTIONAL_IMPORTS = {"ray": ("ray", "ray"), "mlflow": ("mlflow-skinny", "track")}


def requirements(lines: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, lines)}


def lock() -> dict[str, Version]:
    pins = {}
    for line in (REPO / "requirements" / "lock.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


def imported_modules(dirs: tuple[str, ...]) -> set[str]:
    """Top-level names of every absolute import in the given source folders."""
    found = set()
    for d in dirs:
        for path in (REPO / d).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return found


def test_python_and_no_exact_pins_at_runtime():
    assert PROJECT["requires-python"] == ">=3.11"
    runtime = requirements(PROJECT["dependencies"])
    exact = [str(r) for r in runtime.values() if any(s.operator == "==" for s in r.specifier)]
    assert not exact, f"exact pins belong in the lock, not [project]: {exact}"
    assert "pytest-benchmark" not in runtime and "ray" not in runtime and "pytest" not in runtime


def test_every_imported_package_is_declared():
    ours = {"gpta", "baselines", "reports", "suites", "tests", "benchmarks"}
    third_party = imported_modules(RUNTIME_DIRS) - ours - set(sys.stdlib_module_names) - {"__future__"}
    declared = set(requirements(PROJECT["dependencies"]))
    extras = {name: set(requirements(reqs)) for name, reqs in PROJECT["optional-dependencies"].items()}
    by_module = metadata.packages_distributions()
    missing = []
    for module in sorted(third_party):
        dists = {canonicalize_name(d) for d in by_module.get(module, [])}
        if module in OPTIONAL_IMPORTS:  # may not be installed here: its declared distribution
            dist, extra = OPTIONAL_IMPORTS[module]
            ok = dist in extras[extra]
        else:
            ok = dists & declared
        if not ok:
            missing.append(f"{module} (from {sorted(dists) or 'no installed distribution'})")
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_the_lock_pins_every_declared_package_within_its_range():
    pins = lock()
    declared = list(PROJECT["dependencies"]) + [r for reqs in PROJECT["optional-dependencies"].values() for r in reqs]
    problems = []
    for name, req in requirements(declared).items():
        if name not in pins:
            problems.append(f"{name}: not in the lock")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{name}=={pins[name]} outside {req.specifier}")
    assert not problems, problems
    assert str(pins["torch"]).endswith("+cpu")  # the lock is the CPU lock (README, Install)
