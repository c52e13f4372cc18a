"""prompt-tuning: PEFT soft prompt tuning on the encoder; no text prefix, no LLM.

``n`` virtual-token embeddings are prepended to every input and trained with the rest
(``PromptTuningConfig``, ``task_type=SEQ_CLS``), initialised from the dataset's manual prefix
(``PromptTuningInit.TEXT``). PEFT tokenizes the init text *with* special tokens, so the first
virtual token starts as ``[CLS]``: BERT's pooler reads position 0, which is now that token.

Options (recorded under ``prompt_tuning`` in the result):
- ``virtual_tokens``: default = the manual prefix's length in tokens, with [CLS] and [SEP]
  (so the whole manual text seeds the prompt), capped at ``train.max_prefix_tokens``.
- ``freeze_backbone``: default false. PEFT's default freezes the encoder and trains only the
  prompt and the head; with 8-16 examples per class and the shared epoch budget a frozen MiniLM
  learns little (see docs/methods.md), and GPTA fine-tunes the whole encoder, so the fair
  default is the same trainable encoder plus a soft prompt. ``true`` gives classic prompt tuning.
- ``prompt_lr``: learning rate of the virtual-token embeddings (default 1e-2, the usual order
  for soft prompts; the rest of the model keeps ``train.learning_rate``).
Everything else (Trainer, epochs, steps, warm-up, best-dev selection) is shared with GPTA.
"""

from __future__ import annotations

from typing import Any

import torch

from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.registry import PromptTuningOptions, method_options
from gpta.model import load_model, resolve_model_path
from gpta.pipeline import Setup
from gpta.train import Trainer, set_seed

DEFAULT_PROMPT_LR = PromptTuningOptions.prompt_lr
PROMPT_PARAM = "prompt_encoder"  # PEFT's name for the virtual-token embedding module


class SoftPromptTrainer(Trainer):
    """The shared Trainer; only the optimiser gets a separate learning rate for the prompt."""

    def __init__(self, *args: Any, prompt_lr: float = DEFAULT_PROMPT_LR, **kwargs: Any):
        self.prompt_lr = prompt_lr  # read by reset_optimizer, which Trainer.__init__ calls
        super().__init__(*args, **kwargs)

    def param_groups(self) -> list[dict[str, Any]]:
        """The soft prompt in its own group (its own learning rate, no decay), then the usual groups."""
        prompt = [p for n, p in self.model.named_parameters() if p.requires_grad and PROMPT_PARAM in n]
        mine = {id(p) for p in prompt}
        rest = [{**g, "params": [p for p in g["params"] if id(p) not in mine]} for g in super().param_groups()]
        return [{"params": prompt, "weight_decay": 0.0, "lr": self.prompt_lr}, *rest]


def soft_prompt_model(model_name: str, num_labels: int, seed: int, n_virtual: int, init_text: str,
                      freeze_backbone: bool) -> Any:
    """The encoder + head wrapped by PEFT prompt tuning; the backbone trainable unless frozen."""
    from peft import PromptTuningConfig, PromptTuningInit, TaskType, get_peft_model

    base = load_model(model_name, "classification", num_labels, seed=seed)
    config = PromptTuningConfig(
        task_type=TaskType.SEQ_CLS, num_virtual_tokens=n_virtual,
        prompt_tuning_init=PromptTuningInit.TEXT, prompt_tuning_init_text=init_text,
        tokenizer_name_or_path=resolve_model_path(model_name),
    )
    model = get_peft_model(base, config)
    if not freeze_backbone:
        for p in model.base_model.parameters():
            p.requires_grad_(True)
    return model


def prompt_weights(model: Any) -> torch.Tensor:
    return next(p for n, p in model.named_parameters() if PROMPT_PARAM in n).detach().clone()


def backbone_weights(model: Any) -> torch.Tensor:
    """One encoder matrix (layer 0 query), enough to tell whether the backbone moved."""
    return next(p for n, p in model.named_parameters()
                if "encoder.layer.0.attention.self.query.weight" in n).detach().clone()


def options(cfg: RunConfig, setup: Setup) -> dict[str, Any]:
    init_text = setup.spec.manual_prefix
    default_n = min(len(setup.task.tokenizer(init_text)["input_ids"]), cfg.train.max_prefix_tokens)
    o = method_options(cfg)  # typed and checked: gpta.registry.PromptTuningOptions
    n = default_n if o.virtual_tokens is None else o.virtual_tokens
    return {"virtual_tokens": n, "init_text": init_text, "prompt_lr": o.prompt_lr,
            "freeze_backbone": o.freeze_backbone}


def run(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    setup = Setup.build(cfg, ctx)
    opts = options(cfg, setup)
    set_seed(cfg.train_seed)
    model = soft_prompt_model(cfg.model, setup.spec.num_labels, cfg.train_seed, opts["virtual_tokens"],
                              opts["init_text"], opts["freeze_backbone"])
    start_prompt, start_backbone = prompt_weights(model), backbone_weights(model)
    trainer = SoftPromptTrainer(model, setup.task, cfg.train, cfg.train.epochs * setup.steps_per_epoch(),
                                seed=cfg.train_seed, device=setup.device, prompt_lr=opts["prompt_lr"])
    setup.trainers.append(trainer)
    setup.fit_epochs(trainer, None, cfg.train.epochs)  # no text prefix: the soft prompt is the prefix
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    result = setup.finish(trainer, {})  # restores the best-dev checkpoint
    result["prompt_tuning"] = {
        **opts, "trainable_params": trainable, "total_params": total,
        # L2 distance of the selected checkpoint from the initial weights: the test's evidence
        "prompt_change_l2": float((prompt_weights(model).cpu() - start_prompt.cpu()).norm()),
        "backbone_change_l2": float((backbone_weights(model).cpu() - start_backbone.cpu()).norm()),
    }
    return result
