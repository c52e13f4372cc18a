"""``gpta list datasets|methods``."""

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


def _table(rows: list[dict], cols: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "datasets":
        rows = list_datasets(args.data_dir)
        print(_table(rows, ["name", "domain", "task", "classes", "pool", "dev", "test", "duplicates removed",
                            "truncated (test)", "source"]))
    else:
        from gpta.registry import UNAVAILABLE, all_methods, unavailable_reason

        rows = [{"name": m.name, "isolates": m.isolates, "llm use": m.llm_use, "data exposure": m.exposure}
                for m in sorted(all_methods().values(), key=lambda m: m.name)]
        # Shown, not hidden: a reader looking for prefix-tuning learns why it cannot run here.
        rows += [{"name": name, "isolates": f"unavailable: {unavailable_reason(name)}", "llm use": "-",
                  "data exposure": "-"} for name in sorted(UNAVAILABLE)]
        print(_table(rows, ["name", "llm use", "data exposure", "isolates"]))
    return 0


def register(sub) -> None:
    p = sub.add_parser("list", help="list datasets or methods")
    p.add_argument("what", choices=["datasets", "methods"])
    p.add_argument("--data-dir", default=None, help="local benchmark files (default: $GPTA_DATA_DIR)")
    p.set_defaults(func=cmd_list)
