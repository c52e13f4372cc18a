"""``gpta list datasets|methods|suites [--markdown]``.

``--markdown`` prints a Markdown table, so the docs' tables are generated from the one source
(the method registry, the dataset registry, the shipped suite files), never written twice:
docs/methods.md's method table is ``gpta list methods --markdown``.
"""

from __future__ import annotations

import argparse

from gpta.errors import UserError


def list_datasets(data_dir: str | None) -> list[dict]:
    from gpta.data import REGISTRY, load_splits

    rows = []
    for name, spec in sorted(REGISTRY.items()):
        row = {"name": name, "domain": spec.domain, "task": spec.task,
               "classes": len(spec.label_names) if spec.label_names else "-", "pool": "-", "dev": "-",
               "test": "-", "source": spec.source_hint}
        row.update({"duplicates removed": "-", "truncated (test)": "-"})
        try:
            splits = load_splits(spec, data_dir)
            row.update(splits.sizes())
            row["source"] = splits.source
            row.update(data_checks(spec, splits))
        except UserError as exc:
            row["source"] = f"unavailable: {exc}"
        rows.append(row)
    return rows


def data_checks(spec, splits) -> dict[str, str]:
    """Cross-split duplicates removed (issue 13) and the share of test texts cut at the default
    ``train.max_text_tokens`` by the default encoder's tokenizer."""
    out = {}
    d = splits.extra.get("cross_split_duplicates")
    if d:
        out["duplicates removed"] = (f"pool {d['pool_removed_in_test']}+{d['pool_removed_in_dev']} "
                                     f"(test+dev), dev {d['dev_removed_in_test']}")
    if spec.task != "qa":
        from gpta.config import DEFAULT_MODEL, TrainConfig
        from gpta.data.truncation import truncation
        from gpta.model import load_tokenizer

        t = truncation(load_tokenizer(DEFAULT_MODEL), splits.test, TrainConfig().max_text_tokens)
        out["truncated (test)"] = f"{t['rate']:.1%} at {t['max_text_tokens']} tok"
    return out


def list_suites() -> list[dict]:
    """The shipped suites (suites/*.yaml): name, what it is (its description) and its cost text."""
    from gpta.sweep.suite import SUITES_DIR, load_suite

    rows = []
    for path in sorted(SUITES_DIR.glob("*.yaml")):
        try:
            suite = load_suite(str(path))  # reads and checks the YAML; plans no cell, loads no data
        except UserError as exc:  # named in its row; the other suites are still listed
            rows.append({"name": path.stem, "file": f"suites/{path.name}", "what": f"unreadable: {exc}", "cost": "-"})
            continue
        rows.append({"name": suite.name, "file": f"suites/{path.name}", "what": _one_line(suite.description),
                     "cost": _one_line(suite.cost)})
    return rows


def shipped_suite_names() -> list[str]:
    from gpta.sweep.suite import SUITES_DIR

    return sorted(p.stem for p in SUITES_DIR.glob("*.yaml"))


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "-"


def _markdown(rows: list[dict], cols: list[str]) -> str:
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def method_rows() -> list[dict]:
    from gpta.registry import UNAVAILABLE, all_methods, unavailable_reason

    rows = [{"name": m.name, "isolates": m.isolates, "llm use": m.llm_use, "data exposure": m.exposure}
            for m in sorted(all_methods().values(), key=lambda m: m.name)]
    # Shown, not hidden: a reader looking for prefix-tuning learns why it cannot run here.
    rows += [{"name": name, "isolates": f"unavailable: {unavailable_reason(name)}", "llm use": "-",
              "data exposure": "-"} for name in sorted(UNAVAILABLE)]
    return rows


def _table(rows: list[dict], cols: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    show = _markdown if args.markdown else _table
    if args.what == "datasets":
        rows = list_datasets(args.data_dir)
        print(show(rows, ["name", "domain", "task", "classes", "pool", "dev", "test", "duplicates removed",
                          "truncated (test)", "source"]))
    elif args.what == "suites":
        rows = list_suites()
        if args.markdown:
            print(_markdown(rows, ["name", "file", "what", "cost"]))
        else:
            import textwrap

            for r in rows:
                print(f"{r['name']}  ({r['file']})")
                print(textwrap.fill(r["what"], 100, initial_indent="  ", subsequent_indent="  "))
                print(textwrap.fill(f"cost: {r['cost']}", 100, initial_indent="  ", subsequent_indent="  ") + "\n")
            print("`gpta sweep NAME --dry-run` lists a suite's cells and the cost model's time estimate.")
    else:
        rows = method_rows()
        if args.markdown:
            print(_markdown(rows, ["name", "isolates", "llm use", "data exposure"]))
        else:
            print(_table(rows, ["name", "llm use", "data exposure", "isolates"]))
    return 0


def register(sub) -> None:
    p = sub.add_parser("list", help="list datasets, methods or the shipped suites")
    p.add_argument("what", choices=["datasets", "methods", "suites"])
    p.add_argument("--data-dir", default=None, help="local benchmark files (default: $GPTA_DATA_DIR)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table (the docs' tables are made so)")
    p.set_defaults(func=cmd_list)
