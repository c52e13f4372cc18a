"""Write a short Markdown summary of the ratios in a pytest-benchmark JSON file.

    python benchmarks/summarize.py bench-results/benchmark.json [--out bench-results/SUMMARY.md]

Ratios come from ``extra_info`` (both sides measured in the same run, interleaved); absolute
times on shared machines are noise, so the table leads with ratios and their spread.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def _ratio(x: dict[str, Any]) -> str:
    if x.get("ratio_median") is None:
        return "-"
    spread = f" ({x['ratio_min']:.2f}-{x['ratio_max']:.2f})" if "ratio_min" in x else ""
    return f"{x['ratio_median']:.2f}x{spread}"


def _detail(name: str, x: dict[str, Any]) -> str:
    if "hf_examples_per_s" in x:
        return (f"{x['n_examples']} tweets x {x['epochs']} epoch, batch {x['batch_size']}, {x['device']} {x['precision']}, "
                f"{x['torch_threads']} thread(s): ours {x['ours_examples_per_s']} ex/s, HF {x['hf_examples_per_s']} ex/s (best of {len(x['ours_seconds'])})")
    if "bf16_seconds" in x:
        return f"{x['n_examples']} tweets on {x['device']}"
    if "ids_identical" in x:
        return (f"{x['n_examples']:,} tweets, prefix {x['prefix_tokens']} tokens; ids identical: {_fmt(x['ids_identical'])}; "
                f"join {min(x['join_seconds']):.3f}s vs re-tokenize {min(x['retokenize_seconds']):.3f}s")
    if "token_ratio" in x:
        return (f"{x['n_examples']} test tweets on {x['device']}: {x['mean_tokens_plain']} -> {x['mean_tokens_prefix']} "
                f"tokens/input (x{x['token_ratio']}), prefix {x['prefix_tokens']} tokens")
    if "warm_seconds" in x:
        return (f"warm {x['warm_seconds']}s (target <= {x['target_s']:.0f}s), cold {_fmt(x['cold_seconds'])}s; "
                f"{x['cells_already_done']} cells done, {x['cells_run']} run, LLM calls {x['llm_calls']}, "
                f"training steps {_fmt(x['training_steps'])}")
    if "peak_rss_mib" in x:
        return f"peak RSS {x['peak_rss_mib']:,.0f} MiB ({x['measured_with']})"
    if "llm_calls" in x:
        s = (f"{x['llm_calls']} LLM calls, {x['prompt_tokens']:,} prompt + {x['completion_tokens']:,} completion tokens, "
             f"{x['llm_seconds']:.1f} LLM s; test {x['test_metric']:.3f}")
        if x.get("majority_line") is not None:  # tiny training: the cell is a cost probe, not an accuracy
            s += f" (majority-class line {x['majority_line']:.3f} on the same test inputs)"
        if "token_budget" in x:
            s += f"; {x['total_tokens']:,} of a {x['token_budget']:,}-token budget ({x['budget_share']:.0%})"
        return s
    return ""


BREAKDOWN = [("tokenize", "tokenize (encode + prefix join)"), ("forward_backward", "forward/backward"),
             ("optimizer", "optimizer (clip + AdamW + schedule)"), ("eval_dev_test", "dev/test evaluation"),
             ("llm", "LLM"), ("other", "other (start-up, model load, data)"), ("wall", "cell wall")]


def comparison_lines(comps: list[dict[str, Any]]) -> list[str]:
    """Grouped comparisons: each side its own benchmark, the ratio from the same run."""
    if not comps:
        return []
    lines = ["", "Grouped comparisons (each side its own benchmark in the named group; ratio = baseline "
             "median / candidate median from this run; spread = slowest/fastest pairings):", "",
             "| group | baseline -> candidate | ratio | target | met | details |", "|---|---|---|---|---|---|"]
    for c in comps:
        target = f">= {c['target']}x" if c.get("target") is not None else "-"
        detail = f"{c['baseline_median_s']:.3g}s -> {c['candidate_median_s']:.3g}s per {c.get('per') or 'round'}"
        if "candidate_accuracy" in c:
            detail += (f"; accuracy {c['baseline_accuracy']:.3f} -> {c['candidate_accuracy']:.3f} "
                       f"(equal or better: {_fmt(c['accuracy_ok'])})")
            if "candidate_macro_f1" in c:
                detail += (f", macro-F1 {c['baseline_macro_f1']:.3f} -> {c['candidate_macro_f1']:.3f}; "
                           f"majority class share {c['candidate_majority_share']:.3f} (a constant guess scores that)")
        lines.append(f"| {c['group']} | {c['baseline']} -> {c['candidate']} | {_ratio(c)} | {target} | "
                     f"{_fmt(c.get('target_met'))} | {detail} |")
    for c in comps:
        if c.get("breakdown"):
            lines += ["", f"Cost breakdown of the candidate cell in `{c['group']}` (seconds; "
                      "old side in parentheses where it records the part):", "",
                      "| part | seconds | share of wall |", "|---|---|---|"]
            new, old = c["breakdown"], c.get("baseline_breakdown") or {}
            for key, label in BREAKDOWN:
                v = new.get(key)
                share = f"{v / new['wall']:.0%}" if isinstance(v, (int, float)) and new.get("wall") else "-"
                was = f" ({_fmt(old[key])})" if old.get(key) is not None else ""
                lines.append(f"| {label} | {_fmt(v)}{was} | {share} |")
    return lines


def summarize(data: dict[str, Any]) -> str:
    m = data.get("machine_info", {})
    g = m.get("gpta", {})
    lines = ["# Benchmark summary", ""]
    lines.append(f"Machine: {g.get('cpu', m.get('processor', '?'))}, {g.get('cores', '?')} cores "
                 f"(capability {g.get('cpu_capability', '?')}, load {g.get('load_avg_1m', '?')} at start), "
                 f"torch {g.get('torch', '?')} with {g.get('torch_threads', '?')} thread(s), device {g.get('device', '?')}; "
                 f"python {m.get('python_version', '?')}; run {data.get('datetime', '?')}.")
    lines += ["", "Ratios: both sides measured in the same process, interleaved; median (min-max) over repeats.", "",
              "| benchmark | ratio | target | met | details |", "|---|---|---|---|---|"]
    for b in data.get("benchmarks", []):
        x = b.get("extra_info", {})
        if x.get("side"):
            continue  # one side of a grouped comparison: its ratio is in the table below
        target = x.get("target", x.get("target_s") and f"<= {x['target_s']:.0f} s" or x.get("token_budget") and f"<= {x['token_budget']:,} tokens")
        target_s = f">= {target}x" if isinstance(target, (int, float)) else _fmt(target)
        lines.append(f"| {b['name']} | {_ratio(x)} | {target_s} | {_fmt(x.get('target_met'))} | {_detail(b['name'], x)} |")
    lines += comparison_lines(data.get("gpta_comparisons", []))
    train = [b["extra_info"] for b in data.get("benchmarks", []) if "hf_training_arguments" in b.get("extra_info", {})]
    if train:
        lines += ["", "HF side: `transformers.Trainer` with `DataCollatorWithPadding` and TrainingArguments "
                  f"`{json.dumps(train[0]['hf_training_arguments'])}` (all else default: fused AdamW, "
                  "max_grad_norm 1.0, logging every 500 steps)."]
    skipped = data.get("gpta_skipped", [])
    for s in skipped:
        lines.append(f"- skipped: {s}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    out = None
    if len(argv) == 3 and argv[1] == "--out":
        argv, out = argv[:1], Path(argv[2])
    if len(argv) != 1:
        print("usage: python benchmarks/summarize.py BENCHMARK.json [--out SUMMARY.md]", file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"summarize: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    text = summarize(data)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
