"""Data-exposure audit: did any message a run sent to an LLM quote its dataset?

For every result in a results directory we read the run's ledger (``<run_id>.ledger.jsonl``,
every message the method sent) and the run's dataset splits, and look for leaked text: a run of
``n`` (default 8) or more consecutive word tokens, lower-cased, shared by a message the method
sent (roles system and user; the LLM's own replies are not exposure) and any example of the
train pool, dev or test split (for QA also the context paragraph). The whole pool is checked,
not only the run's sample: it is the safe superset of "train, dev or test".

Fast by construction: the messages are few, so their n-grams go into one dict; each dataset is
loaded and scanned once for all runs on it, and repeated texts (QA contexts) once.

Nothing is skipped in silence. Every ``*.json`` and ``*.ledger.jsonl`` under the folder is read;
a file the audit cannot read or match is a named problem and fails the audit (exit 1):

- UNREADABLE: a result or failure record that is not valid JSON (truncated, not UTF-8, no access);
- NOT-A-RESULT: valid JSON that is neither a result nor a failure record (a list, an object
  without ``run_id`` and ``config``), or a result of a schema version this build does not know;
- DAMAGED-LEDGER: ledger lines that are not JSON objects of this run;
- INCOMPLETE-LEDGER: a result whose ledger lacks messages the result says were sent (a system or
  user message of its ``conversation``), or holds none though the result made LLM calls: the
  ledger is not this result's (a rerun killed mid-run, before staged ledgers: gpta/llm/ledger.py).

An unfinished run's staged ledger (``.<run_id>.ledger.jsonl.tmp``: a run killed, or still
running, before it wrote its result) is checked too, as a ledger without its result: its
messages were sent. It lasts until the cell runs again or the next sweep starts (a sweep removes
every stale ``.*.tmp``); audit a folder before resuming it to see a killed run's messages.

A ledger is checked even when its result is damaged or absent (a run killed before it wrote its
result, a truncated file): the method comes from the ledger's own lines, the dataset from the
failure record, the damaged file's readable text or the run id. A run whose messages cannot be
checked (its dataset cannot be told or loaded) is UNCHECKED, a failure for a method that
promises no exposure: not a leak (nothing was found), but no evidence of none either. The
summary counts the three failing verdicts apart (``Audit.leaked``, ``no_ledger``,
``not_checked``); only LEAK is a broken promise.

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
from gpta.schema import SCHEMA_VERSION

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
    source: str = "result"  # where run id, method and dataset came from (a ledger without its result)
    unchecked: str | None = None  # why the messages could not be checked against the data

    @property
    def leaked_examples(self) -> int:
        return len({(leak.split, leak.index) for leak in self.leaks})

    @property
    def promises_no_exposure(self) -> bool:
        """True for "none" and for a method this build does not know (its promise cannot be read)."""
        return self.exposure == "none" or self.exposure.startswith("unknown method")

    @property
    def verdict(self) -> str:
        if self.ledger is None and (self.llm_calls or 0) > 0:
            return "NO-LEDGER"  # it called an LLM but nothing shows what it sent
        if self.leaks:
            return "LEAK" if self.promises_no_exposure else "EXPOSED-as-declared"
        if self.unchecked and self.messages:
            return "UNCHECKED"
        return "ok"

    @property
    def failed(self) -> bool:
        """Fails the audit: a run that promises no exposure and leaked (LEAK), called an LLM with no
        ledger to show what it sent (NO-LEDGER), or whose messages could not be checked (UNCHECKED).
        Only LEAK is a broken promise; the other two are runs the audit cannot vouch for."""
        return self.promises_no_exposure and self.verdict in ("LEAK", "NO-LEDGER", "UNCHECKED")

    def line(self) -> str:
        out = (f"{self.verdict:<19} {self.run_id}  method={self.method}  messages={self.messages}  "
               f"leaked_examples={self.leaked_examples}")
        if self.source != "result":
            out += f"  ({self.source})"
        if self.unchecked and self.messages and not self.leaks:
            out += f"  [not checked: {self.unchecked}]"
        return out


@dataclass
class Problem:
    """A file under the results folder the audit could not read or match: fails the audit."""

    kind: str  # UNREADABLE | NOT-A-RESULT | DAMAGED-LEDGER | INCOMPLETE-LEDGER
    path: str
    why: str

    def line(self) -> str:
        return f"{self.kind:<19} {self.path}: {self.why}"


@dataclass
class Audit:
    runs: list[RunAudit]
    problems: list[Problem]

    @property
    def failed(self) -> list[RunAudit]:
        """Runs that fail the audit (leaked, no ledger, or not checked): see ``leaked``,
        ``no_ledger`` and ``not_checked`` for each kind; only ``leaked`` broke a promise."""
        return [a for a in self.runs if a.failed]

    def _failed_as(self, verdict: str) -> list[RunAudit]:
        return [a for a in self.runs if a.failed and a.verdict == verdict]

    @property
    def leaked(self) -> list[RunAudit]:
        """Runs that promise no exposure and sent text of their dataset: a broken promise."""
        return self._failed_as("LEAK")

    @property
    def no_ledger(self) -> list[RunAudit]:
        """Runs that called an LLM but left no ledger: what they sent cannot be told."""
        return self._failed_as("NO-LEDGER")

    @property
    def not_checked(self) -> list[RunAudit]:
        """Runs whose messages could not be checked (their dataset cannot be told or loaded)."""
        return self._failed_as("UNCHECKED")

    def not_checked_reasons(self) -> list[tuple[str, int]]:
        """(reason, number of runs) for the runs not checked, most frequent first."""
        counts: dict[str, int] = defaultdict(int)
        for a in self.not_checked:
            counts[a.unchecked or "unknown"] += 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    @property
    def passed(self) -> bool:
        return not self.failed and not self.problems

    # An Audit reads as its list of runs where only runs matter (``for a in audit_dir(...)``).
    def __iter__(self):
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    def __getitem__(self, i: int) -> RunAudit:
        return self.runs[i]


def method_exposure(name: str) -> str:
    """The registry's promise, ``MethodInfo.exposure`` ("none" or what the LLM sees).

    A method this build does not know (a result from another build) has no promise to read: the
    audit holds it to "none" (RunAudit.promises_no_exposure)."""
    from gpta.registry import all_methods

    methods = all_methods()
    if name in methods:
        return methods[name].exposure
    return "unknown method (not in this build's registry): held to no exposure"


@dataclass
class LedgerRead:
    entries: list[dict[str, Any]]
    problem: str | None  # why some lines could not be used (None: every line read)


def read_ledger(path: Path, run_id: str) -> LedgerRead:
    """The ledger's entries of ``run_id``; lines that are not JSON objects of this run are counted
    and named (first line number), never dropped in silence."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return LedgerRead([], f"unreadable ({exc.strerror})")
    except UnicodeDecodeError as exc:
        return LedgerRead([], f"not UTF-8 (byte at offset {exc.start})")
    entries, bad, other = [], [], []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            bad.append(lineno)
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("text", ""), (str, type(None))):
            bad.append(lineno)
        elif str(entry.get("run_id", run_id)) != run_id:
            other.append(lineno)
        else:
            entries.append(entry)
    why = []
    if bad:
        why.append(f"{len(bad)} line(s) not a JSON message object (first: line {bad[0]})")
    if other:
        why.append(f"{len(other)} line(s) of another run id than {run_id!r} (first: line {other[0]})")
    return LedgerRead(entries, "; ".join(why) + "; their messages are not checked" if why else None)


@dataclass
class Scanned:
    """What the folder holds, read strictly."""

    results: list[dict[str, Any]] = field(default_factory=list)  # readable results, with "_path"
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)  # run_id -> failure record
    damaged: dict[Path, str] = field(default_factory=dict)  # unreadable result file -> its raw text
    ledgers: list[Path] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in path.relative_to(root).parts)  # temp files, hidden folders


def _rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


def scan_folder(results_dir: Path) -> Scanned:
    """Read every result, failure record and ledger under ``results_dir`` (recursively)."""
    out = Scanned()
    for p in sorted(results_dir.rglob("*.json")):  # suites may write one folder per suite
        if not _visible(p, results_dir) or not p.is_file():
            continue
        raw = b""
        try:
            raw = p.read_bytes()
            obj: Any = json.loads(raw.decode("utf-8"))
        except OSError as exc:
            out.problems.append(Problem("UNREADABLE", _rel(p, results_dir), f"cannot be read ({exc.strerror})"))
            continue
        except UnicodeDecodeError as exc:
            out.problems.append(Problem("UNREADABLE", _rel(p, results_dir), f"not UTF-8 (byte at offset {exc.start})"))
            out.damaged[p] = raw.decode("utf-8", "replace")
            continue
        except json.JSONDecodeError as exc:
            doc = exc.doc.strip()
            cut = doc.startswith(("{", "[")) and not doc.endswith(("}", "]"))
            why = (f"truncated JSON (it ends mid-value after {len(raw)} bytes)" if cut else
                   f"not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})")
            out.problems.append(Problem("UNREADABLE", _rel(p, results_dir), why + "; its run is not audited "
                                        "from it (its ledger, if any, is checked on its own)"))
            out.damaged[p] = exc.doc
            continue
        failure = p.name.endswith(".failed.json")
        why = _not_a_result(obj, failure)
        if why:
            out.problems.append(Problem("NOT-A-RESULT", _rel(p, results_dir), why))
            out.damaged[p] = raw.decode("utf-8", "replace")
            continue
        if failure or obj.get("status") == "failed":
            out.failures[str(obj.get("run_id") or p.name.removesuffix(".failed.json"))] = obj
            continue
        obj["_path"] = str(p)
        out.results.append(obj)
    out.ledgers = [p for p in sorted(results_dir.rglob("*.ledger.jsonl")) if _visible(p, results_dir)]
    out.ledgers += [p for p in sorted(results_dir.rglob(".*.ledger.jsonl.tmp")) if _visible(p.parent, results_dir)]
    return out


def _ledger_run_id(ledger: Path) -> str:
    """The run id a ledger file belongs to: ``<id>.ledger.jsonl`` or a staged ``.<id>.ledger.jsonl.tmp``."""
    if ledger.name.endswith(".tmp"):
        return ledger.name[1:].removesuffix(".ledger.jsonl.tmp")
    return ledger.name.removesuffix(".ledger.jsonl")


def ledger_gap(result: dict[str, Any], sent: list[str]) -> str | None:
    """Why a ledger's sent messages (system and user texts) cannot be the whole record of
    ``result``'s LLM use, or None. Checked: every system/user message of the result's
    ``conversation`` is in the ledger, and a result with LLM calls has a ledger that is not empty
    (the ledger records a message once an LLM or the cache answered it)."""
    have = set(sent)
    conversation = result.get("conversation")
    if isinstance(conversation, list):
        missing = [m for m in conversation if isinstance(m, dict) and m.get("role") in SENT_ROLES
                   and (m.get("content") or "") not in have]
        if missing:
            return (f"{len(missing)} of the result's sent conversation messages are not in its ledger (first: "
                    f"{missing[0].get('role')} {str(missing[0].get('content'))[:60]!r}): the ledger is not this "
                    f"result's (a rerun killed mid-run?); rerun the cell (`gpta run`, or delete the result and resume "
                    f"the sweep)")
    costs = result.get("costs") if isinstance(result.get("costs"), dict) else {}
    calls = costs.get("llm_calls")
    if isinstance(calls, int) and calls > 0 and not sent:
        return (f"the result made {calls} LLM call(s) but its ledger holds no sent message; rerun the cell "
                f"(`gpta run`, or delete the result and resume the sweep)")
    return None


def _not_a_result(obj: Any, failure_record: bool) -> str | None:
    """Why a parsed JSON file is neither a result nor a failure record (None: it is one)."""
    if not isinstance(obj, dict):
        return f"the top level is a JSON {type(obj).__name__}, not a result object"
    if failure_record:
        return None
    version = obj.get("schema_version", SCHEMA_VERSION)  # results before the field existed are version 1
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= SCHEMA_VERSION:
        return (f"schema_version {version!r} is not one this build reads (1..{SCHEMA_VERSION}); "
                f"audit it with the build that wrote it")
    missing = [k for k in ("run_id", "config") if k not in obj]
    if missing:
        return f"a JSON object without {' and '.join(missing)}: not a result this suite writes"
    if not isinstance(obj["config"], dict) or not isinstance(obj["run_id"], str):
        return f"run_id is {type(obj['run_id']).__name__} and config is {type(obj['config']).__name__} " \
               f"(expected str and object)"
    return None


_CONFIG_DATASET = re.compile(r'"config"\s*:\s*\{.*?"dataset"\s*:\s*("(?:[^"\\]|\\.)*")', re.S)
_CONFIG_OPTIONS = re.compile(r'"dataset_options"\s*:\s*(\{[^{}]*\})', re.S)


def _dataset_of_orphan(run_id: str, failure: dict[str, Any] | None, damaged_text: str | None) -> tuple[str | None, dict, str]:
    """(dataset, options, where it was read) for a ledger whose result cannot be read."""
    if failure and isinstance(failure.get("config"), dict) and failure["config"].get("dataset"):
        cfg = failure["config"]
        return str(cfg["dataset"]), cfg.get("dataset_options") or {}, "its failure record"
    if damaged_text:
        m = _CONFIG_DATASET.search(damaged_text)
        if m:
            options: dict = {}
            o = _CONFIG_OPTIONS.search(damaged_text)
            if o:
                try:
                    options = json.loads(o.group(1))
                except json.JSONDecodeError:
                    options = {}
            return json.loads(m.group(1)), options if isinstance(options, dict) else {}, "the damaged result's text"
    from gpta.data import REGISTRY

    prefix = run_id.split("__", 1)[0]
    if "__" in run_id and prefix in REGISTRY:
        return prefix, {}, "the run id"
    return None, {}, ""


def audit_dir(results_dir: str | Path, data_dir: str | None = None, n: int = NGRAM) -> Audit:
    results_dir = Path(results_dir)
    if not results_dir.is_dir():  # the CLI prefixes "gpta audit: error:" itself
        raise UserError(f"results directory {results_dir}: not a directory; give the folder a run or sweep "
                        f"wrote (its --out)")
    scanned = scan_folder(results_dir)
    if not scanned.results and not scanned.ledgers and not scanned.problems and not scanned.failures:
        raise UserError(f"no result JSON (with run_id and config) and no ledger in {results_dir}; give the "
                        f"folder a run or sweep wrote (its --out)")

    audits: list[RunAudit] = []
    sent_by_run: list[list[str]] = []
    data_of_run: list[tuple[str | None, dict]] = []
    problems = list(scanned.problems)
    claimed: set[Path] = set()

    def add(audit: RunAudit, ledger: Path | None, dataset: str | None, options: dict) -> list[str]:
        entries: list[dict[str, Any]] = []
        if ledger is not None:
            claimed.add(ledger.resolve())
            read = read_ledger(ledger, audit.run_id)
            entries = read.entries
            if read.problem:
                problems.append(Problem("DAMAGED-LEDGER", _rel(ledger, results_dir), read.problem))
        sent = [e.get("text") or "" for e in entries if e.get("role") in SENT_ROLES]
        audit.messages = len(sent)
        audits.append(audit)
        sent_by_run.append(sent)
        data_of_run.append((dataset, options))
        return sent

    for res in scanned.results:
        cfg = res["config"]
        run_id = res["run_id"]
        ledger = Path(res["_path"]).with_name(f"{run_id}.ledger.jsonl")
        method = str(res.get("method") or cfg.get("method"))
        has = ledger.is_file()
        sent = add(RunAudit(run_id=run_id, method=method, dataset=str(cfg.get("dataset")), messages=0,
                     exposure=method_exposure(method), ledger=str(ledger) if has else None,
                     llm_calls=(res.get("costs") or {}).get("llm_calls") if isinstance(res.get("costs"), dict) else None),
            ledger if has else None, cfg.get("dataset"), cfg.get("dataset_options") or {})
        gap = ledger_gap(res, sent) if has else None  # no ledger at all: the NO-LEDGER verdict says so
        if gap:
            problems.append(Problem("INCOMPLETE-LEDGER", _rel(ledger, results_dir), gap))

    damaged_by_stem = {p.parent / p.name.removesuffix(".json"): text for p, text in scanned.damaged.items()}
    for ledger in scanned.ledgers:
        if ledger.resolve() in claimed:
            continue
        run_id = _ledger_run_id(ledger)
        damaged_text = damaged_by_stem.get(ledger.parent / run_id)
        dataset, options, where = _dataset_of_orphan(run_id, scanned.failures.get(run_id), damaged_text)
        methods = {str(e.get("method")) for e in read_ledger(ledger, run_id).entries if e.get("method")}
        method = methods.pop() if len(methods) == 1 else "?"
        state = ("unfinished run (its staged ledger)" if ledger.name.endswith(".tmp") else
                 "result damaged" if damaged_text is not None else
                 "run failed" if run_id in scanned.failures else "no result file")
        source = f"ledger only: {state}; dataset from {where}" if dataset else f"ledger only: {state}"
        audit = RunAudit(run_id=run_id, method=method, dataset=str(dataset), messages=0,
                         exposure=method_exposure(method), ledger=str(ledger), llm_calls=None, source=source)
        if dataset is None:
            audit.unchecked = "its dataset cannot be told (no readable result, failure record or dataset in the run id)"
        add(audit, ledger, dataset, options)

    # One scan per dataset for all runs on it.
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (dataset, options) in enumerate(data_of_run):
        if sent_by_run[i] and dataset is not None:
            groups[json.dumps([dataset, options], sort_keys=True, default=str)].append(i)
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
        try:
            for split, i_example, fld, gram in scan_dataset(name, options, index, data_dir, n):
                for i in index[gram]:
                    if (i, split, i_example, fld) not in recorded:
                        recorded.add((i, split, i_example, fld))
                        audits[i].leaks.append(Leak(split, i_example, fld, " ".join(gram)))
        except UserError as exc:  # the data cannot be loaded here: these runs are not checked
            for i in members:
                audits[i].unchecked = f"dataset {name!r} could not be loaded ({exc})"
    return Audit(audits, problems)


def _example_fields(example: Any) -> Iterable[tuple[str, str]]:
    yield "text", example.text or ""
    if getattr(example, "context", None):
        yield "context", example.context


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


def render(audit: Audit, verbose: bool = False) -> list[str]:
    lines = []
    for a in audit.runs:
        lines.append(a.line())
        if verbose:
            for leak in a.leaks[:5]:
                lines.append(f"    {leak.split}[{leak.index}].{leak.field}: \"{leak.quote}\"")
    lines += [p.line() for p in audit.problems]
    return lines
