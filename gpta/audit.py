"""Data-exposure audit: did any message a run sent to an LLM quote its dataset?

For every result in a results directory we read the run's ledger (``<run_id>.ledger.jsonl``,
every message the method sent) and the run's dataset splits, and look for leaked text: a run of
``n`` (default 8) or more consecutive word tokens, lower-cased, shared by a message the method
sent (roles system and user; the LLM's own replies are not exposure) and any example of the
train pool, dev or test split (for QA also the context paragraph). The whole pool is checked,
not only the run's sample: it is the safe superset of "train, dev or test".

Fast by construction: the messages are few, so their n-grams go into one dict; each dataset is
loaded and scanned once for all runs on it, and repeated texts (QA contexts) once.

Limitation by definition: an example shorter than ``n`` words cannot match, so quoting a whole
short example (a 6-word question) is not caught at the default ``n``; lower ``--ngram`` to check.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from gpta.errors import UserError

NGRAM = 8
SENT_ROLES = ("system", "user")
_WORD = re.compile(r"\w+")



def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def ngrams(tokens: list[str], n: int = NGRAM) -> set[tuple[str, ...]]:
    return set(zip(*(tokens[i:] for i in range(n))))


@dataclass
class Leak:
    split: str  # pool | dev | test
    index: int  # position in that split
    field: str  # text | context
    quote: str  # the first shared n-gram, as words


@dataclass
class RunAudit:
    run_id: str
    method: str
    dataset: str
    messages: int  # messages the method sent (system + user)
    exposure: str  # what the method declares it shows the LLM ("none" = nothing)
    ledger: str | None  # path, or None when the run has no ledger
    llm_calls: int | None
    leaks: list[Leak] = field(default_factory=list)

    @property
    def leaked_examples(self) -> int:
        return len({(leak.split, leak.index) for leak in self.leaks})

    @property
    def promises_no_exposure(self) -> bool:
        return self.exposure == "none"

    @property
    def verdict(self) -> str:
        if self.ledger is None and (self.llm_calls or 0) > 0:
            return "NO-LEDGER"  # it called an LLM but nothing shows what it sent
        if not self.leaks:
            return "ok"
        return "LEAK" if self.promises_no_exposure else "EXPOSED-as-declared"

    @property
    def failed(self) -> bool:
        return self.promises_no_exposure and self.verdict in ("LEAK", "NO-LEDGER")

    def line(self) -> str:
        return (f"{self.verdict:<19} {self.run_id}  method={self.method}  messages={self.messages}  "
                f"leaked_examples={self.leaked_examples}")


def method_exposure(name: str) -> str:
    """The registry's promise, ``MethodInfo.exposure`` ("none" or what the LLM sees).

    A method this build does not know (a result from another build) promises nothing we can check."""
    from gpta.registry import all_methods

    methods = all_methods()
    if name in methods:
        return methods[name].exposure
    return "unknown method (not in this build's registry): no promise to check"


def read_ledger(path: Path, run_id: str) -> list[dict[str, Any]]:
    entries = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                raise UserError(f"{path}:{lineno}: not a JSON line; the ledger is damaged") from None
            if entry.get("run_id", run_id) == run_id:
                entries.append(entry)
    return entries


def load_result_files(results_dir: Path) -> list[dict[str, Any]]:
    """Every run result JSON in the directory (other JSON files, e.g. suite summaries, are skipped)."""
    out = []
    for p in sorted(results_dir.rglob("*.json")):  # suites may write one folder per suite
        if any(part.startswith(".") for part in p.relative_to(results_dir).parts):
            continue  # temp files of an atomic write, hidden folders
        try:
            obj = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(obj, dict) and "run_id" in obj and isinstance(obj.get("config"), dict):
            obj["_path"] = str(p)
            out.append(obj)
    return out


def _example_fields(example: Any) -> Iterable[tuple[str, str]]:
    yield "text", example.text or ""
    if getattr(example, "context", None):
        yield "context", example.context


def audit_dir(results_dir: str | Path, data_dir: str | None = None, n: int = NGRAM) -> list[RunAudit]:
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise UserError(f"gpta audit: {results_dir} is not a directory")
    results = load_result_files(results_dir)
    if not results:
        raise UserError(f"gpta audit: no result JSON (with run_id and config) in {results_dir}")

    audits: list[RunAudit] = []
    sent_by_run: list[list[str]] = []
    for res in results:
        cfg = res["config"]
        run_id = str(res["run_id"])
        ledger = Path(res["_path"]).with_name(f"{run_id}.ledger.jsonl")
        entries = read_ledger(ledger, run_id) if ledger.is_file() else []
        sent = [e.get("text") or "" for e in entries if e.get("role") in SENT_ROLES]
        method = str(res.get("method") or cfg.get("method"))
        audits.append(RunAudit(
            run_id=run_id, method=method, dataset=str(cfg.get("dataset")), messages=len(sent),
            exposure=method_exposure(method), ledger=str(ledger) if ledger.is_file() else None,
            llm_calls=(res.get("costs") or {}).get("llm_calls"),
        ))
        sent_by_run.append(sent)

    # One scan per dataset for all runs on it.
    groups: dict[str, list[int]] = defaultdict(list)
    for i, res in enumerate(results):
        cfg = res["config"]
        if sent_by_run[i]:
            key = json.dumps([cfg.get("dataset"), cfg.get("dataset_options") or {}], sort_keys=True)
            groups[key].append(i)
    for key, members in groups.items():
        name, options = json.loads(key)
        index: dict[tuple[str, ...], list[int]] = defaultdict(list)  # n-gram -> runs that sent it
        for i in members:
            grams = set().union(*(ngrams(words(text), n) for text in sent_by_run[i]))
            for g in grams:
                index[g].append(i)
        if not index:
            continue
        recorded: set[tuple[int, str, int, str]] = set()  # one piece of evidence per run and field
        for split, i_example, fld, gram in scan_dataset(name, options, index, data_dir, n):
            for i in index[gram]:
                if (i, split, i_example, fld) not in recorded:
                    recorded.add((i, split, i_example, fld))
                    audits[i].leaks.append(Leak(split, i_example, fld, " ".join(gram)))
    return audits


def scan_dataset(name: str, options: dict[str, Any], index: dict[tuple[str, ...], Any],
                 data_dir: str | None, n: int) -> Iterable[tuple[str, int, str, tuple[str, ...]]]:
    """Yield (split, example index, field, shared n-gram) for every example sharing an n-gram."""
    from gpta.data import get_dataset, load_splits

    spec = get_dataset(name, **options)
    splits = load_splits(spec, data_dir)
    seen: dict[str, set[tuple[str, ...]]] = {}  # text -> shared n-grams (QA contexts repeat)
    for split in ("pool", "dev", "test"):
        for i, example in enumerate(getattr(splits, split)):
            for fld, text in _example_fields(example):
                if text not in seen:
                    seen[text] = {g for g in ngrams(words(text), n) if g in index}
                for gram in sorted(seen[text]):
                    yield split, i, fld, gram


def render(audits: list[RunAudit], verbose: bool = False) -> list[str]:
    lines = []
    for a in audits:
        lines.append(a.line())
        if verbose:
            for leak in a.leaks[:5]:
                lines.append(f"    {leak.split}[{leak.index}].{leak.field}: \"{leak.quote}\"")
    return lines
