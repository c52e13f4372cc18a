"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""


class UserError(Exception):
    """Bad input (dataset, method, model path, LLM, fraction, data file...): one clear line."""

    exit_code = 2


class LLMUnavailable(UserError):
    """The LLM backend cannot be reached or the model is missing."""
