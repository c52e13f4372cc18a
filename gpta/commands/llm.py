"""``gpta llm check [--llm SPEC]`` and ``gpta llm cache stats|clear [--path P]``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from gpta.config import DEFAULT_LLM, LLMConfig

CHECK_PROMPT = [{"role": "user", "content": "Write one short sentence about the sea."}]


def cmd_check(args: argparse.Namespace) -> int:
    from gpta.llm import make_backend

    options = LLMConfig(max_tokens=args.max_tokens, timeout_s=args.timeout)
    backend = make_backend(args.llm, options)
    t0 = time.perf_counter()
    identity = backend.identity()
    id_seconds = time.perf_counter() - t0
    reply = backend.complete(CHECK_PROMPT, options)
    tps = reply.completion_tokens / reply.seconds if reply.seconds > 0 else None
    report = {
        "llm": args.llm, "identity": identity, "identity_seconds": round(id_seconds, 3),
        "reply": reply.text, "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens, "seconds": round(reply.seconds, 3),
        "tokens_per_second": round(tps, 2) if tps else None,
    }
    backend.close()
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    where = f" at {identity['host']}" if identity.get("host") else ""
    print(f"backend: {identity.get('backend')}{where}")
    print(f"model:   {identity.get('model')}")
    print(f"digest:  {identity.get('digest')}")
    print(f"reply:   {reply.text.strip()!r}")
    print(f"speed:   {reply.completion_tokens} tokens in {reply.seconds:.2f} s = "
          f"{report['tokens_per_second']} tokens/s (prompt {reply.prompt_tokens} tokens)")
    return 0


def _open(path: str | None, mode: str = "readwrite"):
    from gpta.errors import UserError
    from gpta.llm.cache import LLMCache, default_cache_path

    p = default_cache_path() if path is None else Path(path)
    if not p.is_file():
        raise UserError(f"no LLM cache at {p}; give --path (a run writes <out>/llm_cache.sqlite)")
    return LLMCache(p, mode)


def cmd_cache(args: argparse.Namespace) -> int:
    cache = _open(args.path)
    if args.action == "stats":
        stats = cache.stats()
        if args.json:
            print(json.dumps(stats, indent=1))
        else:
            print(f"{stats['path']}: {stats['entries']} replies, {stats['prompt_tokens']} prompt + "
                  f"{stats['completion_tokens']} completion tokens, {stats['bytes']} bytes")
            for m in stats["models"]:
                print(f"  {m['entries']:>6}  {m['backend']}:{m['model']}  {m['digest']}")
    else:
        print(f"cleared {cache.clear()} cached replies from {cache.path}")
    cache.close()
    return 0


def register(sub) -> None:
    p = sub.add_parser("llm", help="check the LLM backend; inspect or clear the LLM call cache")
    llm_sub = p.add_subparsers(dest="llm_command", required=True)
    c = llm_sub.add_parser("check", help="which backend and model answer, their identity, tokens/second")
    c.add_argument("--llm", default=DEFAULT_LLM, help="embedded | embedded:PATH.gguf | ollama:MODEL")
    from gpta.cli import positive_float, positive_int

    c.add_argument("--max-tokens", type=positive_int, default=32)
    c.add_argument("--timeout", type=positive_float, default=LLMConfig.timeout_s, help="seconds per request")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_check)
    k = llm_sub.add_parser("cache", help="stats | clear of the SQLite LLM call cache")
    k.add_argument("action", choices=["stats", "clear"])
    k.add_argument("--path", default=None, help="cache file (default: $GPTA_LLM_CACHE or results/llm_cache.sqlite)")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_cache)
