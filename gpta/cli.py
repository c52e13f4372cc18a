"""``gpta`` command line. Each subcommand lives in ``gpta/commands/<name>.py`` with
``register(subparsers)``; it sets ``func`` to a function taking the parsed args and returning
an exit code. A ``UserError`` anywhere becomes one line on stderr and exit code 2; so do OS,
SQLite and decoding errors (the line names the file and what to do). ``--debug`` (before or
after the subcommand) shows the traceback instead. SIGTERM is handled like SIGINT (Ctrl-C): the
sweep lock and owner file are released and the command exits 143 (130 for SIGINT).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import re
import signal
import sqlite3
import sys
import traceback
from typing import Any

from gpta.errors import UserError

# Order is the order in `gpta --help`.
COMMANDS = ["run", "list", "transfer", "sweep", "report", "audit", "llm", "data"]


DESCRIPTION = """\
gpta-suite: a benchmark reproduction suite for GPTA (Generative Prompt Tuning Assistant,
arXiv 2404.00189): an LLM writes and revises a text prefix for a small encoder's input, and the
suite measures it against finetuning and the paper's baselines, with every result's provenance.

Start with `gpta sweep quick` (12 cells, minutes on 2 CPU cores), then `gpta report results/quick`.
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; every option's default shown, unless its help already says it or
    there is none to show (None, False)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text or default in (None, False, argparse.SUPPRESS) or not action.option_strings
                or isinstance(action, argparse._HelpAction)):
            return text
        shown = default if not isinstance(default, list) else ",".join(map(str, default))
        return f"{text} (default: {shown})" if text else f"default: {shown}"


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage is one ``--help`` away), and help
    shows defaults (HelpFormatter)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("gpta-suite")
    except metadata.PackageNotFoundError:  # a source tree that is not installed
        return "unknown (not installed: pip install -e .)"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number > 0") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be > 0")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number > 0") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a finite number > 0")
    return value


DEVICES = "cpu, cuda, cuda:N or auto"


def device_arg(text: str) -> str:
    """``--device``: cpu, cuda, cuda:N or auto (whether CUDA exists is checked before any cell runs)."""
    value = text.strip().lower()
    if value in ("cpu", "cuda", "auto") or re.fullmatch(r"cuda:\d+", value):
        return value
    raise argparse.ArgumentTypeError(f"{text!r}: use {DEVICES}")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="gpta", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"gpta-suite {version()}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMANDS:  # a missing command module is a broken install: the import error says so
        importlib.import_module(f"gpta.commands.{name}").register(sub)
    _add_debug(sub)  # `gpta run ... --debug` works too, at every level
    return parser


def _add_debug(sub) -> None:
    for p in sub.choices.values():
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_debug(action)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so every ``finally`` (lock, pool) runs as for Ctrl-C."""


def _on_sigterm(signum, frame):  # noqa: ARG001
    raise Terminated()


def explain(exc: BaseException) -> str | None:
    """One line for an OS, SQLite or decoding error: the file and what to do; None if unknown."""
    if isinstance(exc, sqlite3.Error):
        where = _sqlite_file(exc)
        return (f"{where}: SQLite error ({exc}); if it is the LLM cache it is damaged or locked: "
                f"pass another cache path (--llm-cache-path), or --llm-cache off")
    if isinstance(exc, UnicodeDecodeError):
        return (f"{_file_in_traceback(exc) or 'a file'}: cannot decode as {exc.encoding} (byte "
                f"0x{exc.object[exc.start]:02x} at offset {exc.start}); check the file's encoding, or regenerate it")
    if isinstance(exc, OSError):
        name = exc.filename if exc.filename is not None else "a file"
        what = exc.strerror or str(exc)
        if isinstance(exc, PermissionError):  # say which access is missing: reading a file is not writing it
            import os

            if exc.filename is not None and os.path.exists(exc.filename) and not os.access(exc.filename, os.R_OK):
                todo = "it cannot be read: make it readable or pass another file"
            else:
                todo = "make it writable or pass another path (e.g. --out)"
        elif isinstance(exc, (FileNotFoundError, NotADirectoryError)):
            todo = "check the path"
        elif exc.errno in (28, 122):  # ENOSPC, EDQUOT
            todo = "free disk space or pass another --out"
        elif exc.errno == 30:  # EROFS
            todo = "the file system is read-only: pass another --out"
        else:
            todo = "check the path and the disk"
        return f"{name}: {what}; {todo}"
    return None


def _file_in_traceback(exc: BaseException) -> str | None:
    """The file a failing frame was reading (a local ``path``/``p``/``file`` that names a file)."""
    from pathlib import Path

    found = None
    tb = exc.__traceback__
    while tb is not None:
        for name in ("path", "p", "file", "filename"):
            value = tb.tb_frame.f_locals.get(name)
            if isinstance(value, (str, Path)) and str(value) and Path(value).is_file():
                found = str(value)
        tb = tb.tb_next
    return found


def _sqlite_file(exc: sqlite3.Error) -> str:
    tb = exc.__traceback__
    while tb is not None:  # the cache object whose call failed knows its path
        obj = tb.tb_frame.f_locals.get("self")
        path = getattr(obj, "path", None)
        if path is not None:
            return str(path)
        tb = tb.tb_next
    return "the LLM cache"


class _WatchedStdout:
    """Standard output, remembering whether a write to it failed: an OSError without a file name
    is then the console's (a full device, a closed descriptor), not a file's."""

    def __init__(self, stream: Any):
        self._stream, self.failed = stream, False

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError:
            self.failed = True
            raise

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError:
            self.failed = True
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _stdout_broken() -> bool:
    return bool(getattr(sys.stdout, "failed", False))


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail on the closed pipe
    again (the Python docs' recipe for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (an embedding program)
        pass


def main(argv: list[str] | None = None) -> int:
    # Offline by default is the caller's choice (HF_HUB_OFFLINE); we only quiet noisy libraries.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:  # importing every command takes a moment: Ctrl-C then is an interruption too, not a traceback
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        print("gpta: interrupted", file=sys.stderr)
        return 130
    debug = bool(getattr(args, "debug", False)) or os.environ.get("GPTA_DEBUG") == "1"
    previous = None
    real_stdout, sys.stdout = sys.stdout, _WatchedStdout(sys.stdout)
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (an embedding program): leave signals alone
        pass
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # output still in the buffer: a console that cannot take it fails here, named, not at exit
        return code
    except UserError as exc:
        if debug:
            traceback.print_exc()
        print(f"gpta {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Terminated:
        print(f"gpta {args.command}: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"gpta {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader closed the pipe (`gpta list suites | head`): not an error to report
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a tool the closed pipe stopped
    except (OSError, sqlite3.Error, UnicodeDecodeError) as exc:
        if debug:
            traceback.print_exc()
        if isinstance(exc, OSError) and exc.filename is None and _stdout_broken():
            # the console, not a file: no --out to change, and whatever went to disk is whole
            _silence_stdout()
            print(f"gpta {args.command}: error: standard output: {exc.strerror or exc}; the console output was "
                  "lost (files written on disk are not affected)", file=sys.stderr)
            return 2
        print(f"gpta {args.command}: error: {explain(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - a bug, not bad input: one line, the traceback on request
        if debug:
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        print(f"gpta {args.command}: internal error: {type(exc).__name__}: {first} "
              f"(rerun with --debug for the traceback, and please report it)", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        sys.stdout = real_stdout
