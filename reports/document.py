"""A report as a list of blocks, rendered to Markdown and to standalone HTML from the same
blocks, so index.md and index.html always say the same thing.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from reports.tables import Table, to_markdown


@dataclass
class Block:
    kind: str  # heading | text | bullets | figure | table | code
    text: str = ""
    level: int = 2
    items: list[str] = field(default_factory=list)
    png: str = ""  # figure paths relative to the index
    pdf: str = ""
    table: Table | None = None


class Document:
    def __init__(self, title: str):
        self.title = title
        self.blocks: list[Block] = []

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(Block("heading", text, level=level))

    def text(self, text: str) -> None:
        self.blocks.append(Block("text", text))

    def bullets(self, items: list[str]) -> None:
        if items:
            self.blocks.append(Block("bullets", items=list(items)))

    def figure(self, caption: str, png: str, pdf: str, title: str) -> None:
        self.blocks.append(Block("figure", caption, png=png, pdf=pdf, items=[title]))

    def table(self, table: Table) -> None:
        self.blocks.append(Block("table", table=table))

    def to_markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for b in self.blocks:
            if b.kind == "heading":
                out += ["#" * b.level + " " + b.text, ""]
            elif b.kind == "text":
                out += [b.text, ""]
            elif b.kind == "bullets":
                out += [f"- {i}" for i in b.items] + [""]
            elif b.kind == "figure":
                out += [f"![{b.items[0]}]({b.png})", "", f"*{b.items[0]}.* {b.text} [PDF]({b.pdf})", ""]
            elif b.kind == "table" and b.table is not None:
                out += [to_markdown(b.table), ""]
        return "\n".join(out).rstrip() + "\n"

    def to_html(self) -> str:
        """The same Markdown, rendered by Python-Markdown (tables, alignment, emphasis, escaping)."""
        import markdown

        body = markdown.markdown(self.to_markdown(), extensions=["tables", "sane_lists"], output_format="html")
        return "\n".join([
            "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
            f"<title>{html.escape(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:64em;margin:2em auto;padding:0 1em;line-height:1.45}"
            "img{max-width:100%;width:34em;border:1px solid #ddd;display:block;margin-top:1.2em}"
            "table{border-collapse:collapse;margin:.5em 0;font-size:.88em}"
            "th,td{padding:.2em .6em;border-bottom:1px solid #ccc;vertical-align:top}"
            "thead th{border-bottom:2px solid #333}code{font-size:.92em}</style></head><body>",
            body, "</body></html>"]) + "\n"


def summary_json(obj: Any) -> Any:
    """Numbers for the returned summary: plain floats/ints, NaN as None."""
    import math

    if isinstance(obj, dict):
        return {k: summary_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [summary_json(v) for v in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if hasattr(obj, "item"):
        return summary_json(obj.item())
    return obj
