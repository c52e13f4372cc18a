"""The one training loop every encoder method uses.

AdamW, linear warm-up then linear decay, dynamic padding, length-grouped batches, bf16 autocast
where the hardware has it, evaluation under ``torch.inference_mode``. Nothing per step that is
not needed: no logging callbacks, no gradient accumulation, no per-step device syncs.
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any

import numpy as np
import torch

from gpta.config import TrainConfig
from gpta.model import pick_device, resolve_precision

PAD_KEYS = {"input_ids", "token_type_ids", "attention_mask"}
EVAL_CACHE = 8  # feature lists whose padded evaluation batches a Trainer keeps


def set_seed(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def collate(features: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad to the longest sequence in this batch (dynamic padding).

    Rows are written into one NumPy array per key and wrapped without a copy
    (``torch.from_numpy``): one allocation per key instead of a tensor per row.
    """
    width = max(len(f["input_ids"]) for f in features)
    ids = np.full((len(features), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(features), width), dtype=np.int64)
    types = np.zeros((len(features), width), dtype=np.int64)
    for i, f in enumerate(features):
        n = len(f["input_ids"])
        ids[i, :n] = f["input_ids"]
        mask[i, :n] = 1
        if "token_type_ids" in f:
            types[i, :n] = f["token_type_ids"]
    batch: dict[str, torch.Tensor] = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask),
                                      "token_type_ids": torch.from_numpy(types)}
    for key in features[0]:
        if key not in PAD_KEYS and not key.startswith("_"):
            batch[key] = torch.tensor([f[key] for f in features])
    return batch


def batch_order(lengths: list[int], batch_size: int, n_batches: int, rng: np.random.Generator,
                grouped: bool) -> list[list[int]]:
    """``n_batches`` batches of shuffled indices, repeating passes as needed.

    Length grouping sorts within windows of 50 batches and shuffles the batches, so batches
    hold similar lengths (less padding) while the order stays random.
    """
    batches: list[list[int]] = []
    n = len(lengths)
    while len(batches) < n_batches:
        perm = rng.permutation(n)
        if grouped:
            window = batch_size * 50
            chunks = [sorted(perm[i:i + window], key=lambda j: lengths[j]) for i in range(0, n, window)]
            perm = np.array([j for c in chunks for j in c])
        passes = [perm[i:i + batch_size].tolist() for i in range(0, n, batch_size)]
        if grouped:
            passes = [passes[i] for i in rng.permutation(len(passes))]
        batches.extend(passes)
    return batches[:n_batches]


def steps_per_epoch(n_train: int, cfg: TrainConfig) -> int:
    return max(math.ceil(n_train / cfg.batch_size), cfg.min_steps_per_epoch)


class Trainer:
    """Holds the model, optimiser and schedule across epochs (and GPTA rounds)."""

    def __init__(self, model: Any, task: Any, cfg: TrainConfig, total_steps: int, seed: int,
                 device: torch.device | None = None):
        self.task = task
        self.cfg = cfg
        self.device = device or pick_device()
        self.precision = resolve_precision(cfg.precision, self.device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.model = model.to(self.device)
        self.word_embeddings = cfg.word_embeddings  # train | frozen (checked at planning: gpta.config)
        if cfg.word_embeddings == "frozen":
            freeze_word_embeddings(self.model)
        self._eval_batches: dict[int, tuple[Any, list[int], list[dict[str, torch.Tensor]]]] = {}
        self.rng = np.random.default_rng(seed)
        self.reset_optimizer(total_steps)
        self.steps_done = 0
        self.train_seconds = 0.0
        self.eval_seconds = 0.0
        self.forward_backward_seconds = 0.0  # collate + forward + backward, per training step
        self.optimizer_seconds = 0.0  # grad clipping + AdamW + schedule + zero_grad

    def param_groups(self) -> list[dict[str, Any]]:
        """The optimiser's parameter groups: weight decay except on biases and LayerNorm weights.
        A subclass with its own groups (prompt tuning's soft prompt) overrides this, not the
        optimiser set-up, so every method gets the same (fused) AdamW and schedule."""
        no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        return [
            {"params": [p for n, p in named if not n.endswith(no_decay)], "weight_decay": self.cfg.weight_decay},
            {"params": [p for n, p in named if n.endswith(no_decay)], "weight_decay": 0.0},
        ]

    def reset_optimizer(self, total_steps: int) -> None:
        from transformers import get_linear_schedule_with_warmup

        params = [p for p in self.model.parameters() if p.requires_grad]
        groups = [g for g in self.param_groups() if g["params"]]
        assert sum(len(g["params"]) for g in groups) == len(params)
        # The fused kernel (one pass over all parameters; the HF Trainer's default too) takes
        # the optimizer step from ~0.7 s to ~0.4 s for MiniLM on CPU: half its 22M parameters
        # are the word embeddings, whose dense gradient every step touches.
        self.optimizer = torch.optim.AdamW(groups, lr=self.cfg.learning_rate, **_fused_if_supported(self.device))
        warmup = int(round(self.cfg.warmup_ratio * total_steps))
        self.scheduler = get_linear_schedule_with_warmup(self.optimizer, warmup, max(total_steps, 1))

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def train_epoch(self, features: list[dict[str, Any]]) -> float:
        """One epoch (>= min_steps_per_epoch steps); returns the mean training loss."""
        t0 = time.perf_counter()
        self.model.train()
        lengths = [len(f["input_ids"]) for f in features]
        n_steps = steps_per_epoch(len(features), self.cfg)
        order = batch_order(lengths, self.cfg.batch_size, n_steps, self.rng, self.cfg.length_grouped)
        total = torch.zeros((), device=self.device)
        count = 0
        params = [p for p in self.model.parameters() if p.requires_grad]
        for idx in order:
            t_step = time.perf_counter()
            batch = self._to_device(collate([features[i] for i in idx], self.task.pad_id))
            with self._autocast():
                loss, _ = self.task.loss_and_outputs(self.model, batch)
            n = len(idx)
            # The task's loss is the batch's SUM of per-example losses (so evaluation can sum over
            # batches of any size); dividing by the batch size makes the gradient the batch MEAN's,
            # as with a mean-reduced loss. The last batch of a pass may be smaller: its examples
            # weigh as much as any other's, not more.
            (loss / n).backward()
            t_opt = time.perf_counter()
            # Clip the global L2 norm of all trained gradients to train.max_grad_norm (1.0, the HF
            # Trainer's default) before the step: with a high learning rate and 8-16 examples per
            # class an unlucky batch can otherwise throw the small encoder far off in one step.
            torch.nn.utils.clip_grad_norm_(params, self.cfg.max_grad_norm)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
            # host-side split of the step (on CUDA, kernel launches: asynchronous, so approximate)
            self.forward_backward_seconds += t_opt - t_step
            self.optimizer_seconds += time.perf_counter() - t_opt
            total += loss.detach()
            count += n
            self.steps_done += 1
        self.train_seconds += time.perf_counter() - t0
        return float(total) / max(count, 1)

    def evaluate(self, features: list[dict[str, Any]], enc: Any) -> dict[str, Any]:
        """Loss (mean per example) and the task's metrics, under inference mode.

        Inputs are evaluated sorted by length (least padding) and the outputs put back in the
        split's order. The padded batches of a feature list are built once and kept (a split
        with a fixed prefix is evaluated after every epoch): the same tensors every time.
        """
        t0 = time.perf_counter()
        self.model.eval()
        order, batches = self._batches_for(features)
        outputs: list[Any] = []
        loss_sum = 0.0
        with torch.inference_mode(), self._autocast():
            for cpu_batch in batches:
                loss, out = self.task.loss_and_outputs(self.model, self._to_device(cpu_batch))
                loss_sum += float(loss)
                outputs.append(out)
        # restore the split's order (we evaluated sorted by length for speed)
        outputs = self.task.unsort(outputs, order) if hasattr(self.task, "unsort") else _unsort(outputs, order)
        metrics = self.task.metrics(outputs, enc, features)
        metrics["loss"] = loss_sum / max(len(features), 1)
        self.eval_seconds += time.perf_counter() - t0
        return metrics

    def _batches_for(self, features: list[dict[str, Any]]) -> tuple[list[int], list[dict[str, torch.Tensor]]]:
        """(length order, padded CPU batches) for this feature list, built on first use.

        Keyed by the list's identity (pipeline.Setup caches one list per split and prefix); the
        list itself is held so its id cannot be reused. At most EVAL_CACHE lists are kept.
        """
        hit = self._eval_batches.get(id(features))
        if hit is not None and hit[0] is features:
            return hit[1], hit[2]
        order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
        step = self.cfg.eval_batch_size
        batches = [collate([features[i] for i in order[s:s + step]], self.task.pad_id)
                   for s in range(0, len(order), step)]
        if len(self._eval_batches) >= EVAL_CACHE:
            self._eval_batches.pop(next(iter(self._eval_batches)))
        self._eval_batches[id(features)] = (features, order, batches)
        return order, batches

    def snapshot(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def restore(self, state: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(state)


def freeze_word_embeddings(model: Any) -> int:
    """Take the input word-embedding matrix out of training; returns its parameter count.

    Position and token-type embeddings, LayerNorms, the encoder and the head still train. The
    frozen matrix gets no gradient, no AdamW moments and no clipping pass, which removes about
    half of MiniLM-L6's optimizer work per step.
    """
    emb = model.get_input_embeddings()
    emb.weight.requires_grad_(False)
    return emb.weight.numel()


def _fused_if_supported(device: torch.device) -> dict[str, bool]:
    return {"fused": True} if device.type in ("cpu", "cuda") else {}


def _unsort(outputs: list[torch.Tensor], positions: list[int]) -> list[torch.Tensor]:
    flat = torch.cat(outputs)
    inverse = torch.empty(len(positions), dtype=torch.long)
    inverse[torch.tensor(positions)] = torch.arange(len(positions))
    return [flat[inverse]]
