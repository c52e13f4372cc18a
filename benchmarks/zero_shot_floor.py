"""Where llm-zero-shot's LLM time goes on the embedded model: a decomposition, not a benchmark.

Run: ``python -m benchmarks.zero_shot_floor [N]`` (default 30 random test tweets, seed 0, the
same prompt and sample as benchmarks/test_zero_shot.py). It prints LLM seconds per input for
generation and for label scoring, each with the whole prompt evaluated and with llama.cpp's
prompt cache reused from the previous input, and for scoring batched over parallel slots (with
how many top tokens batching changed). README "Why three targets are not met" quotes it.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

SLOTS = 8


def main(argv: list[str]) -> int:
    import xllamacpp

    from baselines.llm_zero_shot import DEFAULT_LABEL_TOKENS
    from benchmarks.harness import zero_shot_inputs
    from gpta.llm.embedded import SCORE_TOP_K, _server, default_gguf, llm_threads, server_params

    n = int(argv[0]) if argv else 30
    _, items = zero_shot_inputs(n)
    inputs = [messages for messages, _ in items]
    score = {"max_tokens": 1, "logprobs": True, "top_logprobs": SCORE_TOP_K}
    # what label_by_generation asks for: DEFAULT_LABEL_TOKENS tokens, stopping at a line break
    generate = {"max_tokens": DEFAULT_LABEL_TOKENS, "stop": ["\n\n", "\n"]}

    def run(server, messages, opts, cache):
        req = {"messages": messages, "temperature": 0.0, "seed": 0, "cache_prompt": cache, **opts}
        out = server.handle_chat_completions(req)
        top = out["choices"][0].get("logprobs")
        return out["usage"]["prompt_tokens"], out.get("timings", {}).get("prompt_n"), \
            top["content"][0]["top_logprobs"][0]["token"] if top else None

    one = _server(str(default_gguf().resolve()), 4096)
    print(f"{n} random test tweets (seed 0), {llm_threads()} LLM thread(s)\n")
    print("| call | LLM s per input | prompt tokens evaluated |\n|---|---|---|")
    single_top = None
    for name, opts, cache in ((f"generate <= {DEFAULT_LABEL_TOKENS} tokens, whole prompt (the baseline)", generate, False),
                              (f"generate <= {DEFAULT_LABEL_TOKENS} tokens, prompt cache reused", generate, True),
                              ("score 1 token, whole prompt", score, False),
                              ("score 1 token, prompt cache reused (the candidate)", score, True)):
        run(one, inputs[-1], opts, False)  # the slot holds another prompt, as in a real run
        t0 = time.perf_counter()
        rows = [run(one, m, opts, cache) for m in inputs]
        per = (time.perf_counter() - t0) / n
        evaluated = [r[1] for r in rows if r[1] is not None]
        span = f"{min(evaluated)}-{max(evaluated)}" if evaluated else "?"
        print(f"| {name} | {per:.3f} | {span} |", flush=True)
        if opts is score and cache:
            single_top = [r[2] for r in rows]

    p = server_params(str(default_gguf().resolve()), 4096 * SLOTS)
    p.n_parallel = SLOTS
    batched = xllamacpp.Server(p)
    with ThreadPoolExecutor(SLOTS) as pool:
        list(pool.map(lambda m: run(batched, m, score, True), inputs[:SLOTS]))  # each slot caches the shared part
        t0 = time.perf_counter()
        rows = list(pool.map(lambda m: run(batched, m, score, True), inputs))
        per = (time.perf_counter() - t0) / n
    changed = sum(a != b[2] for a, b in zip(single_top, rows))
    print(f"| score 1 token, cache reused, {SLOTS} parallel slots | {per:.3f} | "
          f"top token differs from one-at-a-time for {changed} of {n} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
