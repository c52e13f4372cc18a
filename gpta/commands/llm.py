"""``gpta llm check [--llm SPEC]``, ``gpta llm serve``, ``gpta llm compare --path CACHE`` and
``gpta llm cache stats|clear [--path P]``."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from gpta.config import DEFAULT_LLM, LLMConfig

CHECK_PROMPT = [{"role": "user", "content": "Write one short sentence about the sea."}]
# A prompt of the size GPTA sends (~150 tokens), for the embedded backend's prompt tokens/s.
CHECK_PROMPT_LONG = [{"role": "user", "content": (
    "You help write an instruction for a text classifier. The task: classify the sentiment of a tweet "
    "as negative, neutral or positive. The current instruction is: 'Classify the tweet.' On the dev "
    "set the classifier reached 0.52 accuracy; it confused neutral with positive most often, for "
    "example on tweets that mention a product without praising it, and it missed sarcasm, where a "
    "positive word is used for a negative opinion. Write one improved instruction, one sentence, "
    "that tells the classifier what to look for. Reply with the instruction only.")}]


def tcp_port(text: str) -> int:
    """``--port``: 0 (a free port) or 1..65535; anything else is refused in one line."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: not a TCP port (1..65535, or 0 for a free one)")
    return value


def load_average() -> str:
    """The 1/5/15-minute load averages from /proc/loadavg ('unknown' where there is none)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def add_endpoint_args(p: argparse.ArgumentParser) -> None:
    """Where an ``openai:MODEL`` LLM is served and how it is identified (run, transfer, sweep)."""
    g = p.add_argument_group("OpenAI-compatible LLM server (--llm openai:MODEL)")
    g.add_argument("--llm-base-url", default=None,
                   help="e.g. http://127.0.0.1:8080/v1 (default: $OPENAI_BASE_URL, else api.openai.com); "
                        "key: $OPENAI_API_KEY")
    g.add_argument("--llm-revision", default=None,
                   help="declare the served model's revision: the cache key when the server reports no fingerprint")
    g.add_argument("--llm-cache-unidentified", action="store_true",
                   help="cache replies of a model the server identifies by name only")


def apply_endpoint_args(args: argparse.Namespace) -> None:
    """The flags become the environment the backend reads, so worker processes see them too."""
    if getattr(args, "llm_base_url", None):
        os.environ["OPENAI_BASE_URL"] = args.llm_base_url
    if getattr(args, "llm_revision", None):
        os.environ["GPTA_LLM_REVISION"] = args.llm_revision
    if getattr(args, "llm_cache_unidentified", False):
        os.environ["GPTA_LLM_CACHE_UNIDENTIFIED"] = "1"


def cmd_check(args: argparse.Namespace) -> int:
    from gpta.llm import make_backend

    options = LLMConfig(max_tokens=args.max_tokens, timeout_s=args.timeout)
    apply_endpoint_args(args)
    backend = make_backend(args.llm, options)
    if args.threads is not None and hasattr(backend, "threads"):  # the embedded backend's llama.cpp threads
        backend.threads = args.threads
    t0 = time.perf_counter()
    identity = backend.identity()
    id_seconds = time.perf_counter() - t0
    embedded = identity.get("backend") == "embedded"
    speed = _embedded_speed(backend, options) if embedded else None
    reply = backend.complete(CHECK_PROMPT, options)
    tps = reply.completion_tokens / reply.seconds if reply.seconds > 0 else None
    report = {
        "llm": args.llm, "identity": identity, "identity_seconds": round(id_seconds, 3),
        "reply": reply.text, "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens, "seconds": round(reply.seconds, 3),
        "tokens_per_second": round(tps, 2) if tps else None,
    }
    if speed:
        report["speed"] = speed
    backend.close()
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    host = identity.get("host") or identity.get("base_url")
    where = f" at {host}" if host else ""
    print(f"backend: {identity.get('backend')}{where}")
    print(f"model:   {identity.get('model')}")
    if identity.get("backend") == "openai":
        print(f"fingerprint: system_fingerprint={identity.get('system_fingerprint')}, "
              f"meta={json.dumps(identity.get('meta'), sort_keys=True)}")
        print(f"identity: {identity.get('identified_by') or identity.get('unidentified')}")
    if embedded:
        g = identity.get("gguf") or {}
        print(f"name:    {identity.get('embedded') or '(a GGUF path)'}"
              + (f" = {identity['title']}" if identity.get("title") else ""))
        print(f"gguf:    {g.get('name')!r}, {g.get('architecture')}, {g.get('block_count')} blocks, "
              f"{g.get('quantization')}, {identity.get('bytes'):,} bytes"
              + ("" if g.get("chat_template") else ", NO chat template"))
        print(f"licence: {identity.get('licence')} ({identity.get('licence_source')})")
        if identity.get("upstream"):
            print(f"source:  {identity['upstream']}; packages {identity['packages'][0]}"
                  + (f" ... {identity['packages'][-1]}" if len(identity["packages"]) > 1 else ""))
    print(f"digest:  {identity.get('digest')}" + (" (equals the pinned sha256)" if identity.get("embedded") else ""))
    print(f"reply:   {reply.text.strip()!r}")
    if speed:
        print(f"speed:   prompt {_rate(speed['prompt_tokens_per_second'], speed['prompt_tokens'])}, "
              f"generation {_rate(speed['generation_tokens_per_second'], speed['generated_tokens'])}, "
              f"{speed['threads']} thread(s); model load {speed['load_seconds']} s, peak RSS "
              f"{speed['peak_rss_mb']} MB; load average "
              f"{speed['load_average']} on {speed['cpus']} CPUs (other work on the machine slows both)")
    else:
        rate = (f"{report['tokens_per_second']} tokens/s" if report["tokens_per_second"] else
                "not measured (too few tokens or too short to time; give --max-tokens 2 or more)")
        print(f"speed:   {reply.completion_tokens} tokens in {reply.seconds:.2f} s = {rate} "
              f"(prompt {reply.prompt_tokens} tokens)")
    return 0


def _rate(per_second: float | None, tokens: int | None) -> str:
    """"12.3 tokens/s (40 tokens)"; llama.cpp times no generation for a single token (it comes with
    the prompt's evaluation), so a rate it did not measure is said so, never printed as None."""
    if per_second:
        return f"{per_second} tokens/s ({tokens} tokens)"
    return (f"not measured ({tokens} token{'' if tokens == 1 else 's'}: too few to time; "
            f"give --max-tokens 2 or more)")


def _peak_rss_mb() -> float | None:
    """This process's peak resident memory in MB (the loaded model included; Linux reports KiB)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _embedded_speed(backend, options: LLMConfig) -> dict:
    """Prompt and generation tokens/s of the embedded model, measured now by llama.cpp's own
    timings on a GPTA-sized prompt (the whole prompt evaluated: no KV reuse), with the threads
    and the machine's load average at the time. The first call also loads the model (timed)."""
    from gpta.llm.embedded import llm_threads

    t0 = time.perf_counter()
    backend.complete([{"role": "user", "content": "Hi"}], LLMConfig(max_tokens=1))  # loads the model
    load_seconds = time.perf_counter() - t0
    before = load_average()
    backend.complete(CHECK_PROMPT_LONG, LLMConfig(max_tokens=options.max_tokens, temperature=0.0))
    t = backend.last_timings
    return {
        "threads": backend.threads or llm_threads(),
        "prompt_tokens": t.get("prompt_n"),
        "prompt_tokens_per_second": round(t["prompt_per_second"], 2) if t.get("prompt_per_second") else None,
        "generated_tokens": t.get("predicted_n"),
        "generation_tokens_per_second": round(t["predicted_per_second"], 2) if t.get("predicted_per_second") else None,
        "load_seconds": round(load_seconds, 2),
        "load_average": before,
        "cpus": os.cpu_count(),
        "peak_rss_mb": _peak_rss_mb(),
        "measured": "llama.cpp timings of one call (prompt evaluation; then generation at temperature 0)",
    }


def cmd_serve(args: argparse.Namespace) -> int:
    """llama.cpp's OpenAI-compatible server with the embedded model, until Ctrl-C."""
    import threading

    from gpta.llm.embedded import serve_http

    server, url, model_id = serve_http(args.gguf, args.host, args.port, args.alias, args.ctx, args.threads)
    print(f"serving {model_id} at {url} (llama.cpp OpenAI-compatible server; Ctrl-C stops it)", flush=True)
    print(f"  gpta run ... --llm openai:{model_id} --llm-base-url {url}", flush=True)
    try:
        threading.Event().wait()
    finally:
        del server
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Ask another LLM every request a cache holds (e.g. the server's, through the in-process model)
    and say which replies differ. Exit 0 if all are equal (text and token counts), 1 otherwise."""
    import sqlite3

    from gpta.errors import UserError
    from gpta.llm import make_backend

    apply_endpoint_args(args)
    path = Path(args.path)
    if not path.is_file():
        raise UserError(f"--path {path}: no such LLM cache")
    query = "SELECT reply, prompt_tokens, completion_tokens, request, backend, model FROM calls"
    params: tuple = ()
    if args.cached_backend:
        query, params = query + " WHERE backend=?", (args.cached_backend,)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute(query + " ORDER BY created", params).fetchall()
    rows = [r for r in rows if r[3]]  # entries written before requests were recorded cannot be replayed
    if not rows:
        raise UserError(f"{path}: no cached request to compare" + (f" from backend {args.cached_backend!r}"
                                                                   if args.cached_backend else ""))
    other = make_backend(args.llm, LLMConfig())
    same = 0
    for i, (reply, pt, ct, request, backend, model) in enumerate(rows, 1):
        req = json.loads(request)
        opts = {**req["options"], "stop": tuple(req["options"].get("stop") or ())}
        got = other.complete(req["messages"], LLMConfig(**opts))
        equal = (got.text, got.prompt_tokens, got.completion_tokens) == (reply, pt, ct)
        same += equal
        print(f"{i:4d} {'same' if equal else 'DIFFERENT'}  {backend}:{model} {pt}+{ct} tokens, {args.llm} "
              f"{got.prompt_tokens}+{got.completion_tokens}: {reply[:60]!r}"
              + ("" if equal else f" vs {got.text[:60]!r}"))
    other.close()
    print(f"{same} of {len(rows)} cached replies equal {args.llm}'s replies to the same requests")
    return 0 if same == len(rows) else 1


def _open(path: str | None, mode: str = "readwrite"):
    from gpta.errors import UserError
    from gpta.llm.cache import LLMCache, check_cache_file, default_cache_path

    p = default_cache_path() if path is None else Path(path)
    check_cache_file(p, "--path")  # a folder, a device, a file that is not SQLite: named as what it is
    if not p.exists():
        if path is not None:  # --path was given: say that it names no cache, not to give it
            raise UserError(f"no LLM cache at {p} (the --path given); check the path: a run writes "
                            f"<out>/llm_cache.sqlite")
        default = "$GPTA_LLM_CACHE" if os.environ.get("GPTA_LLM_CACHE") else "the default"
        raise UserError(f"no LLM cache at {p} ({default}); give --path (a run writes <out>/llm_cache.sqlite)")
    return LLMCache(p, mode, option="--path")


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
    from gpta.cli import positive_float, positive_int
    from gpta.llm.models import DEFAULT_EMBEDDED, MODELS

    names = ", ".join(f"embedded:{n}" for n in MODELS)
    c.add_argument("--llm", default=DEFAULT_LLM,
                   help=f"embedded | embedded:NAME ({names}) | embedded:PATH.gguf | ollama:MODEL | openai:MODEL")
    add_endpoint_args(c)
    c.add_argument("--threads", type=positive_int, default=None,
                   help="embedded: llama.cpp CPU threads (default: $GPTA_LLM_THREADS or 1)")

    c.add_argument("--max-tokens", type=positive_int, default=32)
    c.add_argument("--timeout", type=positive_float, default=LLMConfig.timeout_s, help="seconds per request")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_check)
    s = llm_sub.add_parser("serve", help="serve the embedded GGUF over llama.cpp's OpenAI-compatible HTTP server")
    s.add_argument("--gguf", default=None,
                   help=f"GGUF file or embedded model name ({', '.join(MODELS)}; default: {DEFAULT_EMBEDDED})")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=tcp_port, default=8080, help="1..65535, or 0 for a free port")
    s.add_argument("--alias", default=None, help="model id the server reports (default: the file's stem)")
    s.add_argument("--ctx", type=positive_int, default=4096, help="context length (the embedded backend uses 4096)")
    s.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: $GPTA_LLM_THREADS or 1)")
    s.set_defaults(func=cmd_serve)
    m = llm_sub.add_parser("compare", help="ask another LLM every request in a cache; report differing replies")
    m.add_argument("--path", required=True, help="an LLM cache (a run writes <out>/llm_cache.sqlite)")
    m.add_argument("--llm", default=DEFAULT_LLM, help="the LLM to ask (default: embedded)")
    m.add_argument("--cached-backend", default=None, help="only entries of this backend (embedded, ollama, openai)")
    add_endpoint_args(m)
    m.set_defaults(func=cmd_compare)
    k = llm_sub.add_parser("cache", help="stats | clear of the SQLite LLM call cache")
    k.add_argument("action", choices=["stats", "clear"])
    k.add_argument("--path", default=None, help="cache file (default: $GPTA_LLM_CACHE or results/llm_cache.sqlite)")
    k.add_argument("--json", action="store_true")
    k.set_defaults(func=cmd_cache)
