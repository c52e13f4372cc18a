"""setfit-gpta and setfit-manual: does an LLM-written prefix help the best few-shot learner?

``setfit-gpta`` trains SetFit (``baselines/setfit_baseline.py``, unchanged recipe) with the prefix
GPTA selected for the *same cell*; ``setfit-manual`` is its control: the same SetFit with the
dataset's hand-written prefix. Against each other they isolate the LLM-written prefix's effect on
SetFit; against ``setfit`` (no prefix), any prefix's.

Dependency (declared in the registry: ``Need("gpta", "prefix")``): setfit-gpta takes the
prefix GPTA selected for the *same cell*. The sweep runs that gpta cell first, whatever order the
suite lists them in, and passes its ``prefix`` (and run id) in as ``cfg.inputs``; a single
``gpta run`` reads the same cell's gpta result at its exact path in ``--out``. Nothing searches a
folder, and this method never runs gpta itself: without the input it refuses in one line. What was
taken is recorded under ``prefix_from`` (run id and prefix).
"""

from __future__ import annotations

import copy
from typing import Any

from baselines import setfit_baseline
from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.errors import UserError


def gpta_prefix(cfg: RunConfig) -> dict[str, Any]:
    """The same cell's gpta prefix, as the sweep (or ``gpta run``) passed it in."""
    prefix = cfg.inputs.get("prefix")
    if not isinstance(prefix, str):
        raise UserError("setfit-gpta needs the same cell's gpta result: run --method gpta with the same "
                        "settings and --out first, or list both methods in one suite")
    return {"method": "gpta", "run_id": cfg.inputs.get("prefix_from"), "prefix": prefix}


def _setfit_with(cfg: RunConfig, ctx: RunContext, prefix: str, prefix_from: dict[str, Any]) -> dict[str, Any]:
    if "prefix" in cfg.options:
        raise UserError(f"{cfg.method}: options.prefix is set by the method; use method setfit for your own prefix")
    inner = copy.deepcopy(cfg)
    inner.options = {**cfg.options, "prefix": prefix}
    result = setfit_baseline.run(inner, ctx)
    result["config"] = cfg.to_dict()  # the cell's own config (its run id hashes this one)
    result["prefix_from"] = prefix_from
    return result


def run_gpta(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    dep = gpta_prefix(cfg)
    return _setfit_with(cfg, ctx, dep["prefix"], dep)


def run_manual(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    from gpta.data.spec import get_dataset

    spec = get_dataset(cfg.dataset, **cfg.dataset_options)
    return _setfit_with(cfg, ctx, spec.manual_prefix, {"method": None, "source": "dataset registry (manual_prefix)",
                                                       "prefix": spec.manual_prefix})
