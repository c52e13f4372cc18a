"""prefix-tuning: PEFT prefix tuning does not run on this suite's BERT encoder, so it is listed in
``gpta.registry.UNAVAILABLE``; ``--method prefix-tuning`` exits with ``reason()`` instead.

Why (peft 0.21.2, transformers 5.x): prefix tuning injects trained key/value vectors into every
attention layer through ``past_key_values``. PEFT's sequence-classification wrapper passes them
to the model's ``forward``, or to the backbone's; it raises "Model does not support past key
values which are required for prefix tuning" when neither accepts ``past_key_values``.
``BertForSequenceClassification.forward`` and ``BertModel.forward`` (all-MiniLM-L6-v2 is a BERT)
no longer take that argument in transformers 5 (a key/value cache is a decoder feature there),
so every forward pass fails. We check that condition at import, the way PEFT does, so the
message stays true if a later transformers restores the argument.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version



def bert_accepts_past_key_values() -> bool:
    """PEFT's own test (``PeftModelForSequenceClassification._prefix_tuning_forward``)."""
    from transformers import BertForSequenceClassification, BertModel

    return any("past_key_values" in inspect.signature(f.forward).parameters
               for f in (BertForSequenceClassification, BertModel))


def reason() -> str:
    versions = f"peft {version('peft')}, transformers {version('transformers')}"
    if not bert_accepts_past_key_values():
        return (f"PEFT prefix tuning needs the encoder's forward to accept past_key_values, and "
                f"BertModel (all-MiniLM-L6-v2) does not in {versions}; use --method prompt-tuning "
                f"(soft prompt on the input embeddings) instead")
    return (f"BertModel accepts past_key_values in {versions}, so PEFT prefix tuning may now work, "
            f"but this suite has no prefix-tuning method yet; use --method prompt-tuning")

