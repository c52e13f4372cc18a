"""setfit-gpta and setfit-manual: does an LLM-written prefix help the best few-shot learner?

``setfit-gpta`` trains SetFit (``baselines/setfit_baseline.py``, unchanged recipe) with the prefix
GPTA selected for the *same cell*; ``setfit-manual`` is its control: the same SetFit with the
dataset's hand-written prefix. Against each other they isolate the LLM-written prefix's effect on
SetFit; against ``setfit`` (no prefix), any prefix's.

Dependency (declared in ``gpta.methods.DEPENDS_ON``): setfit-gpta needs gpta's selected prefix of
the same cell, i.e. a ``gpta`` result in the output directory whose config matches on
``SAME_CELL_KEYS`` (the random-prefix keys plus the GPTA loop's and the LLM's generation
settings, which decide the prefix). If there is none yet (a suite lists setfit-gpta before gpta,
or runs it on another worker first), the gpta cell is run here first, in-process, with the same
config and method ``gpta``, and written to the output directory like any cell (a later gpta cell
of the sweep then finds it done). GPTA is deterministic, so who runs it first does not change its
prefix. What was taken is recorded under ``prefix_from`` (run id, prefix, whether it ran here).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from baselines import setfit_baseline
from baselines.random_prefix import SAME_CELL_KEYS as _RANDOM_PREFIX_KEYS
from gpta.config import RunConfig
from gpta.context import RunContext
from gpta.errors import UserError

DEPENDS_ON = "gpta"  # the method whose same-cell result this one reads
SAME_CELL_KEYS = (*_RANDOM_PREFIX_KEYS, "gpta", "generation")


def find_gpta_result(out_dir: Path, cfg: RunConfig) -> dict[str, Any] | None:
    """The newest ok gpta result in ``out_dir`` for the same cell, if any."""
    mine = cfg.to_dict()
    found = []
    for path in sorted(Path(out_dir).glob(f"*__{DEPENDS_ON}__*.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        other = result.get("config") or {}
        if result.get("method") != DEPENDS_ON or result.get("status", "ok") != "ok":
            continue
        if all(other.get(k) == mine.get(k) for k in SAME_CELL_KEYS) and isinstance(result.get("prefix"), str):
            found.append(((result.get("timestamps") or {}).get("finished", ""), result))
    return max(found, key=lambda f: f[0])[1] if found else None


def gpta_config(cfg: RunConfig) -> RunConfig:
    """The gpta cell this one depends on: the same cell with method gpta and no method options."""
    dep = copy.deepcopy(cfg)
    dep.method, dep.options = DEPENDS_ON, {}
    return dep


def gpta_prefix(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    result = find_gpta_result(ctx.out_dir, cfg)
    ran_here = result is None
    if ran_here:
        from gpta.runner import execute

        _, result = execute(gpta_config(cfg), ctx.out_dir, data_dir=ctx.data_dir, llm_cache=ctx.llm_cache_mode,
                            llm_cache_path=ctx.llm_cache_path, progress=False)
    return {"method": DEPENDS_ON, "run_id": result.get("run_id"), "prefix": result["prefix"],
            "prefix_tokens": result.get("prefix_tokens"), "ran_here": ran_here,
            "selected": result.get("selected")}


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
    dep = gpta_prefix(cfg, ctx)
    return _setfit_with(cfg, ctx, dep["prefix"], dep)


def run_manual(cfg: RunConfig, ctx: RunContext) -> dict[str, Any]:
    from gpta.data.spec import get_dataset

    spec = get_dataset(cfg.dataset, **cfg.dataset_options)
    return _setfit_with(cfg, ctx, spec.manual_prefix, {"method": None, "source": "dataset registry (manual_prefix)",
                                                       "prefix": spec.manual_prefix})
