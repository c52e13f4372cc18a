"""gpta-suite: a reproduction suite for GPTA (Liu & Zhang, arXiv 2404.00189).

An LLM writes a natural-language prefix from a dataset description; the prefix is joined to
every input of a small encoder trained with ordinary gradients; between rounds the LLM sees
aggregate dev feedback (the "dialogue gradient") and revises the prefix.
"""

__version__ = "0.1.0"
