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
        try:
            splits = load_splits(spec, data_dir)
            row.update(splits.sizes())
            row["source"] = splits.source
        except UserError as exc:
            row["source"] = f"unavailable: {exc}"
        rows.append(row)
    return rows


def _table(rows: list[dict], cols: list[str]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "datasets":
        rows = list_datasets(args.data_dir)
        print(_table(rows, ["name", "domain", "task", "classes", "pool", "dev", "test", "source"]))
    else:
        from gpta.methods import UNAVAILABLE, all_methods, unavailable_reason

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
