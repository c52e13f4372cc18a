"""Figures as a reader sees them, and the method facts they print, read from the registry.

Fast: synthetic results (tests/report_synth.py), no model, no LLM. Figures are built in memory
and, where layout matters, drawn to a PNG-sized canvas to measure where their text lands.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gpta.registry import METHODS, MethodInfo, Style, styled_methods

REPO = Path(__file__).resolve().parents[1]
MY_FILES = ("reports/figures.py", "reports/style.py", "reports/document.py", "reports/roles.py")


# ---- method facts come from the registry --------------------------------------------------------

def test_every_registry_row_has_its_own_display_name():
    names = {m: info.display for m, info in styled_methods().items()}
    assert all(names.values()), [m for m, d in names.items() if not d]
    assert len(set(names.values())) == len(names)  # no two methods print alike


def test_display_name_reads_the_registry_and_keeps_an_arms_settings():
    from reports.figures import display_name as from_figures
    from reports.style import display_name

    assert from_figures is display_name  # the import path reports.tables uses keeps working
    assert display_name("setfit-gpta") == "SetFit + GPTA prefix" and display_name("empty-prefix") == "Empty prefix"
    assert display_name("gpta [llm=embedded:Qwen]") == "GPTA [llm=embedded:Qwen]"
    assert display_name("transfer from sst2") == "Transfer from sst2"
    assert display_name("not-a-method x") == "not-a-method x"  # unknown: the raw id, never a guess
    info = MethodInfo("toy-shown", "baselines.finetune:run", isolates="t", llm_use="none", exposure="none",
                      style=Style("#123456", "p", 99), display="Toy method")
    METHODS[info.name] = info
    try:
        assert display_name("toy-shown") == "Toy method"  # a method registered later brings its name
    finally:
        del METHODS[info.name]


def test_roles_are_read_from_the_registry():
    from reports import roles

    methods = styled_methods()
    assert roles.UNDER_TEST in methods and roles.BASELINE in methods
    assert set(roles.reference_methods()) == {m for m, i in methods.items() if i.once_per_dataset} != set()
    assert {m for m in methods if roles.uses_llm(m)} == {m for m, i in methods.items() if i.uses_llm}
    assert not roles.uses_llm("not-a-method")


@pytest.mark.parametrize("path", MY_FILES)
def test_no_method_fact_is_copied_into_the_report_modules(path):
    text = (REPO / path).read_text()
    hits = [line for line in text.splitlines() if re.search(r'"gpta"|DISPLAY_NAMES|REFERENCE_METHODS', line)
            and not line.startswith("UNDER_TEST = ")]  # the one named role, in reports/roles.py
    assert not hits, hits
