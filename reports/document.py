"""A report as a list of blocks, rendered to Markdown and to standalone HTML from the same
blocks, so index.md and index.html always say the same thing.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field, replace
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
        return self._markdown(for_html=False)

    def _markdown(self, for_html: bool) -> str:
        """The document as Markdown; ``for_html``: the page's variant (a table's ``details_column`` below it)."""
        out = [f"# {self.title}", ""]
        for b in self.blocks:
            out += _block_markdown(b, for_html)
        return "\n".join(out).rstrip() + "\n"

    def to_html(self) -> str:
        """The same Markdown, rendered by Python-Markdown (tables, alignment, emphasis, escaping); a table with a
        ``details_column`` shows that column as one folding block per row below the table (long text per cell
        makes a wide table unreadable in a browser)."""
        import markdown

        body = markdown.markdown(self._markdown(for_html=True), extensions=["tables", "sane_lists"],
                                 output_format="html")
        return "\n".join([
            "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
            f"<title>{html.escape(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:64em;margin:2em auto;padding:0 1em;line-height:1.45}"
            "img{max-width:100%;width:34em;border:1px solid #ddd;display:block;margin-top:1.2em}"
            "table{border-collapse:collapse;margin:.5em 0;font-size:.88em}"
            "th,td{padding:.2em .6em;border-bottom:1px solid #ccc;vertical-align:top}"
            "thead th{border-bottom:2px solid #333}code{font-size:.92em}"
            "details{margin:.3em 0;font-size:.92em}summary{cursor:pointer;font-weight:bold}</style></head><body>",
            body, "</body></html>"]) + "\n"


def _block_markdown(b: Block, for_html: bool) -> list[str]:
    """One block's Markdown lines (a blank line after each)."""
    if b.kind == "heading":
        return ["#" * b.level + " " + b.text, ""]
    if b.kind == "text":
        return [b.text, ""]
    if b.kind == "bullets":
        return [f"- {i}" for i in b.items] + [""]
    if b.kind == "figure":
        return [f"![{b.items[0]}]({b.png})", "", f"*{b.items[0]}.* {b.text} [PDF]({b.pdf})", ""]
    if b.kind == "table" and b.table is not None:
        if for_html and set(b.table.details_columns) & set(b.table.header):
            return _table_with_details(b.table)
        return [to_markdown(b.table), ""]
    return []


def split_details(t: Table) -> tuple[Table, list[tuple[str, list[tuple[str, str]]]]]:
    """``t`` without its ``details_columns``, and per row: its name (its first two cells) and (header, text) of
    each of those columns."""
    moved = [j for j, h in enumerate(t.header) if h in t.details_columns]
    keep = [j for j in range(len(t.header)) if j not in moved]
    spec = re.sub(r"\{[^}]*\}", "", t.align)
    short = replace(t, header=[t.header[j] for j in keep], rows=[[r[j] for j in keep] for r in t.rows],
                    align="".join(spec[j] for j in keep) if len(spec) == len(t.header) else "", details_columns=())
    named = [(". ".join(c.text for c in r[:2]), [(t.header[j], r[j].text) for j in moved]) for r in t.rows]
    return short, named


def _table_with_details(t: Table) -> list[str]:
    """The table without its details columns, then one ``<details>`` block per row holding their text."""
    short, named = split_details(t)
    cols = " and ".join(h for h in t.header if h in t.details_columns)
    out = [to_markdown(short), "",
           f"{cols} of each row: in the blocks below (the Markdown and LaTeX files keep them as columns).", ""]
    for name, parts in named:
        out += [f"<details><summary>{html.escape(name)}: {html.escape(cols.lower())}</summary>"]
        # the text's own Markdown (bold, code) rendered here: Python-Markdown leaves raw HTML blocks alone
        out += [f"<div><b>{html.escape(h)}.</b> {_inline_html(text)}</div>" for h, text in parts]
        out += ["</details>", ""]
    return out


def _inline_html(text: str) -> str:
    """One cell's Markdown as HTML (its paragraph tags dropped: it sits beside a bold header)."""
    import markdown

    out = markdown.markdown(text.replace("<", "&lt;"), output_format="html")  # our text holds no tags: "p < 0.05"
    return out.removeprefix("<p>").removesuffix("</p>")


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
