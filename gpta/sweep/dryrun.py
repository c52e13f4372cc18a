"""``gpta sweep --dry-run``: what a sweep would run and how long it should take. Runs nothing.

The estimate is ``gpta/sweep/estimate.py``'s cost model, corrected by the results already in the
output directory; transfer stages are counted from their source cells (their ids exist only once
the sources have results).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TextIO

from gpta.sweep.estimate import Estimator, human
from gpta.sweep.driver import failed_path, is_done
from gpta.results import read_result
from gpta.sweep.suite import (Cell, Suite, dependency_waves, give_stage_inputs, make_config, planned,
                              planned_transfer_count, progress_bar, stage_cells, transfer_targets)

LIST_LIMIT = 60  # list every cell up to this many (or with --list)


def _llm_of(cell: Cell) -> str:
    from gpta.registry import get_method

    return cell.cfg.llm if get_method(cell.cfg.method).uses_llm else "no LLM"


def llm_counts(cells: list[Cell]) -> dict[str, int]:
    """Cells per LLM, counting only methods that use one (the rest run once, whatever the LLM)."""
    out: dict[str, int] = {}
    for c in cells:
        out[_llm_of(c)] = out.get(_llm_of(c), 0) + 1
    return out


@planned
def dry_run(suite: Suite, out: Path, workers: int, slots_note: str, stream: TextIO, list_all: bool = False) -> int:
    from gpta.results import load_results

    est = Estimator()
    files: set[str] = set()  # the output folder's file names, listed once (not two stats per cell)
    if out.is_dir():
        est.learn_all(load_results(out))
        files = {p.name for p in out.iterdir()}
    print(f"suite {suite.name} ({suite.path})", file=stream)
    if suite.description:
        print(f"  {suite.description.strip()}", file=stream)
    if suite.cost:
        print(f"  the suite file says: {' '.join(suite.cost.split())}", file=stream)
    for note in suite.notes:
        print(f"note: {note}", file=stream)

    total_cells = total_todo = 0
    seen: set[str] = set()  # cell ids planned by an earlier stage
    total_s = 0.0
    by_stage: dict[str, list[Cell]] = {}
    for stage in suite.stages:
        if stage.is_transfer:
            sources = by_stage[stage.transfer_from]
            n = planned_transfer_count(stage, sources)
            # Price a transfer cell like the target's finetune at the source's fraction (no LLM).
            secs = sum(est.seconds(make_config(stage, t, c.cfg.fraction, c.cfg.seed, "transfer", stage.settings))
                       for c in sources if c.cfg.method in stage.source_methods
                       for t in transfer_targets(stage, c.cfg.dataset))
            print(f"stage {stage.name}: {n} transfer cells (prefixes from stage {stage.transfer_from!r}, "
                  f"methods {', '.join(stage.source_methods)}, within each domain): ~{human(secs)}", file=stream)
            total_cells += n
            total_todo += n
            total_s += secs
            by_stage[stage.name] = []
            continue
        cells = stage_cells(suite, stage)
        for wave in dependency_waves(cells)[1:]:  # dependent cells are named once their source has a result
            give_stage_inputs(wave, cells, lambda run_id: read_result(out / f"{run_id}.json"))
        by_stage[stage.name] = cells
        multi = len(stage.llms) > 1  # several LLMs: name each cell's
        groups: dict[tuple[str, str], list[float]] = defaultdict(list)
        n_done = n_failed = 0
        lines = []
        todo_secs: dict[str, float] = {}  # cell id -> estimated seconds, for cells not done
        bar = progress_bar(len(cells), f"pricing the cells of stage {stage.name}")
        for cell in cells:
            bar.update(1)
            name = cell.id
            status = ("done" if f"{name}.json" in files and is_done(out, name) else
                      "failed" if failed_path(out, name).name in files else "todo")
            secs = est.seconds(cell.cfg)
            if status == "done":
                n_done += 1
            else:
                n_failed += status == "failed"
                groups[(cell.cfg.dataset, cell.cfg.method)].append(secs)
                todo_secs[name] = secs
            lines.append(f"  {status:6s} {name}  ~{human(secs)}" + (f"  [{_llm_of(cell)}]" if multi else ""))
        bar.close()
        todo_s = sum(sum(v) for v in groups.values())
        n_todo = len(cells) - n_done
        # a cell another stage also plans (same id: e.g. a confirm stage re-listing seeds already run)
        # runs once: the total counts it once
        shared = [c.id for c in cells if c.id in seen]
        shared_todo = [i for i in shared if i in todo_secs]
        seen.update(c.id for c in cells)
        also = f"; {len(shared)} of them also in an earlier stage, counted there" if shared else ""
        print(f"stage {stage.name}: {len(cells)} cells ({n_done} done, {n_failed} failed, {n_todo} to run{also}): "
              f"~{human(todo_s)} of cell time", file=stream)
        if list_all or len(cells) <= LIST_LIMIT:
            print("\n".join(lines), file=stream)
        else:
            print(f"  (pass --list to see all {len(cells)} cells; by dataset x method:)", file=stream)
            for (d, m), secs in sorted(groups.items()):
                print(f"  {d:10s} {m:17s} {len(secs):4d} cells  ~{human(sum(secs))}", file=stream)
        per_llm = llm_counts(cells)
        if len(per_llm) > 1:
            print("  by LLM: " + "; ".join(f"{llm}: {n} cells" for llm, n in per_llm.items()), file=stream)
        total_cells += len(cells) - len(shared)
        total_todo += n_todo - len(shared_todo)
        total_s += todo_s - sum(todo_secs[i] for i in shared_todo)
    learned = (f"corrected by {est.n_learned} finished results in {out}" if est.n_learned
               else "cost-model priors (no finished results to learn from yet)")
    print(f"total: {total_cells} cells, {total_todo} to run; estimate ~{human(total_s / max(1, workers))} "
          f"with {slots_note} ({human(total_s)} of cell time; {learned}; see gpta/sweep/estimate.py)", file=stream)
    return total_cells
