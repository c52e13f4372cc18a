"""Run one cell: validate everything first, then run the method, then write its result.

Validation happens before any work so bad input exits 2 with nothing written; the result is
written once, atomically, at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gpta.config import RunConfig, check_config
from gpta.context import RunContext
from gpta.data.spec import get_dataset
from gpta.errors import UserError
from gpta.llm import make_backend
from gpta.llm.cache import require_cache_file
from gpta.llm.ledger import StagedLedger
from gpta.registry import get_method, give_inputs, method_options, needs_of, source_config
from gpta.results import cell_id, read_result, write_json_atomic


def validate(cfg: RunConfig, data_dir: str | None = None, read_cache: Path | None = None) -> None:
    """Every check that needs no data loading or model, so bad input fails before any work."""
    method = get_method(cfg.method)
    check_config(cfg)  # seeds, ranges, enum settings, typed options (also checked when they were set)
    spec = get_dataset(cfg.dataset, **cfg.dataset_options)
    if spec.task not in method.tasks:
        raise UserError(f"method {cfg.method!r} does not apply to {spec.task} dataset {spec.name!r}")
    method_options(cfg).check_dataset(spec)  # e.g. transfer: the source prefix's task is this dataset's
    from gpta.model import max_positions, resolve_model_path  # torch: only once the settings are known to be good

    check_sequence_length(cfg, spec.task, max_positions(resolve_model_path(cfg.model)))
    if spec.needs_data_dir:  # a missing data dir fails here, before anything is written
        from gpta.data import load_splits

        load_splits(spec, data_dir)
    if method.uses_llm:
        make_backend(cfg.llm, cfg.generation)  # parses the spec; a bad one fails here
        if read_cache is not None:  # else the cache refuses only at the first LLM call, after the model loads
            require_cache_file(read_cache)


def check_sequence_length(cfg: RunConfig, task: str, limit: int | None) -> None:
    """The longest input the settings can build must fit the encoder's positions (512 for MiniLM):
    past them the first forward pass fails, after the data and the model have loaded."""
    if limit is None:
        return
    t = cfg.train
    if task == "qa":
        from gpta.qa import QA_MAX_LENGTH

        length = t.max_prefix_tokens + QA_MAX_LENGTH
        parts = f"train.max_prefix_tokens={t.max_prefix_tokens} + the QA window {QA_MAX_LENGTH}"
    else:
        length = t.max_prefix_tokens + t.max_text_tokens + 3
        parts = (f"train.max_text_tokens={t.max_text_tokens} + train.max_prefix_tokens={t.max_prefix_tokens} + "
                 "3 special tokens")
    if length > limit:
        raise UserError(f"{parts} = {length} tokens, more than model {cfg.model!r} takes ({limit}: "
                        f"max_position_embeddings in its config.json); lower them")


def result_path(out_dir: str | Path, cfg: RunConfig, data_dir: str | None = None) -> Path:
    return Path(out_dir) / f"{cell_id(cfg.to_dict(), data_dir)}.json"


def give_inputs_from_dir(cfg: RunConfig, out_dir: str | Path, data_dir: str | None = None) -> RunConfig:
    """For a single ``gpta run``: each value the method needs (``MethodInfo.needs``) from the source
    cell's result at its exact path in ``out_dir`` (the cell this one would share a suite with).
    Inputs already given (by a sweep, which knows the source cell) are kept: nothing is searched."""
    for need in needs_of(cfg.method):
        if f"{need.value}_from" not in cfg.inputs:
            give_inputs(cfg, need, read_result(result_path(out_dir, source_config(cfg, need), data_dir)))
    return cfg


def execute(cfg: RunConfig, out_dir: str | Path, data_dir: str | None = None,
            llm_cache: str = "readwrite", llm_cache_path: str | None = None,
            progress: bool = True, expected_id: str | None = None) -> tuple[Path, dict[str, Any]]:
    """Run one cell into ``out_dir``. ``expected_id``: the id the sweep planned the cell under; a
    worker that computes another (its settings resolve differently here: ``train.precision: auto``
    on a machine with other bf16 support, other data files) refuses the cell, since a result
    written under another id would never count as the planned cell done and every resume would
    run it again (audit 4, finding 9)."""
    out_dir = Path(out_dir)
    give_inputs_from_dir(cfg, out_dir, data_dir)
    run_id = cell_id(cfg.to_dict(), data_dir)
    if expected_id is not None and run_id != expected_id:
        raise UserError(f"this worker names the cell {run_id}, the sweep planned it as {expected_id}: a setting "
                        "resolves differently on this machine (train.precision: auto, --device auto, or other data files); "
                        "pin train.precision (fp32 or bf16) and --device (cpu or cuda), and use the same data on "
                        "every machine")
    ctx = RunContext(out_dir=out_dir, run_id=run_id, cfg=cfg, data_dir=data_dir or RunContext.default_data_dir(),
                     llm_cache_mode=llm_cache, llm_cache_path=llm_cache_path, progress=progress)
    validate(cfg, data_dir, ctx.llm_cache_file if llm_cache == "read" else None)
    path = out_dir / f"{run_id}.json"
    with StagedLedger(ctx.ledger_path) as ledger:  # the run's messages go to a temp file until it finishes
        try:
            result = get_method(cfg.method).run(cfg, ctx)
        except BaseException:
            if read_result(path) is None:  # a failed run and no finished result: its ledger is kept for the
                ledger.commit()            # audit (a ledger without a result), as before staging
            raise  # (beside a finished result the temp file stays hidden: the old ledger is the result's)
        record_revision(result, cfg.method)
        ledger.commit()  # just before the result; a kill in between is caught by `gpta audit` (ledger vs conversation)
        write_json_atomic(path, result)
    return path, result


def record_revision(result: dict[str, Any], method: str) -> None:
    """The method's revision (registry ``MethodInfo.revision``) in the result's recorded identity,
    so a reader can tell results of two revisions apart (revision 1 is not in the id's hash, and
    this field is not hashed: the id is computed from the config, never from the result)."""
    if isinstance(result.get("identity"), dict):
        result["identity"]["method_revision"] = get_method(method).revision
