"""Comparison methods, one module each; importing this package registers them all."""

from baselines import finetune  # noqa: F401
