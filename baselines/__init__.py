"""Comparison methods, one module each; importing this package registers them all."""

from baselines import (  # noqa: F401
    finetune,
    llm_prefix,
    llm_zero_shot,
    manual_prefix,
    prefix_tuning,
    prompt_tuning,
    random_prefix,
    setfit_baseline,
    textual_gradient,
    transfer,
)
