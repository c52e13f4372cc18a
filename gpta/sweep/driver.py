"""Run a suite into a results directory: resume, record failures, show progress, keep the table.

A cell is *done* iff ``<out>/<cell_id>.json`` holds a result (written atomically by the cell, so
a kill leaves either the whole file or none). A cell that raised has ``<cell_id>.failed.json``
(config, error type and message, traceback); it is skipped on the next sweep unless
``--retry-failed``, and removed once the cell succeeds. ``sweep.jsonl`` journals every start and
finish (who, when, how long), so it is visible afterwards that no finished cell ran twice.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpta.results import read_result, write_json_atomic, write_text_atomic
from gpta.sweep.estimate import Estimator, human
from gpta.sweep.suite import (Cell, Suite, check_suite, dependency_waves, expand_transfer, stage_cells,
                              give_stage_inputs)
from gpta.sweep.table import ResultsTable, read_records
from gpta.sweep.worker import Job, journal


@dataclass
class SweepOptions:
    out: Path
    data_dir: str | None = None
    llm_cache: str = "readwrite"
    llm_cache_path: str | None = None
    retry_failed: bool = False
    executor: str = "local"
    workers: int | None = None
    address: str | None = None
    progress: bool = True
    device: str = "auto"  # --device; the executor gives each cell its GPU share (executors.py)
    gpus_per_worker: float | None = None
    track: str | None = None  # --track mlflow[:URI] (gpta/tracking.py); None: off


@dataclass
class SweepReport:
    ran: int = 0
    ok: int = 0
    failed: int = 0  # failed in this sweep
    skipped_done: int = 0
    skipped_failed: int = 0  # failed earlier, not retried
    waiting: list[str] = field(default_factory=list)  # transfer cells whose source has no result

    @property
    def complete(self) -> bool:
        return not (self.failed or self.skipped_failed or self.waiting)


def result_path(out: Path, run_id: str) -> Path:
    return out / f"{run_id}.json"


def failed_path(out: Path, run_id: str) -> Path:
    return out / f"{run_id}.failed.json"


def is_done(out: Path, run_id: str) -> bool:
    path = result_path(out, run_id)
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("status", "ok") == "ok"
    except (OSError, ValueError, AttributeError):
        return False  # unreadable: run the cell again (its new result replaces the file)


def remove_stale_temp_files(out: Path) -> int:
    """Temp files a killed writer left behind (``.<name>.<random>.tmp``): never results."""
    n = 0
    for p in out.glob(".*.tmp"):
        p.unlink(missing_ok=True)
        n += 1
    return n


def plan_stage(suite: Suite, stage_index: int, out: Path, done_cells: dict[str, list[Cell]]) -> tuple[list[Cell], list[str]]:
    stage = suite.stages[stage_index]
    if stage.is_transfer:
        return expand_transfer(stage, done_cells[stage.transfer_from], out)
    return stage_cells(suite, stage), []


class Sweep:
    def __init__(self, suite: Suite, opts: SweepOptions):
        self.suite = suite
        self.opts = opts
        self.out = opts.out
        self.report = SweepReport()
        self.tracker = None  # --track: set in run()
        self.seen: set[str] = set()  # cell ids an earlier stage of this sweep already ran or counted

    def run(self) -> SweepReport:
        from gpta.sweep.executors import make_executor
        from gpta.sweep.lock import sweep_lock

        check_suite(self.suite, self.opts.data_dir)
        from gpta.tracking import make_tracker

        self.tracker = make_tracker(self.opts.track)  # a bad --track is refused before --out is written
        for note in self.suite.notes:
            print(f"note: {note}", file=sys.stderr)
        with sweep_lock(self.out):
            remove_stale_temp_files(self.out)
            from gpta.results import damaged_files

            damaged = damaged_files(self.out)
            if damaged:  # named; not read as results, so the cell of each runs again here (is_done, table.status)
                print(f"note: {len(damaged)} damaged file{'s' if len(damaged) > 1 else ''} in {self.out} "
                      f"(not read as results; their cells run again if this sweep plans them): "
                      + "; ".join(f"{n} ({why})" for n, why in damaged[:5]) + (" ..." if len(damaged) > 5 else ""),
                      file=sys.stderr)
            from gpta.results import set_identity_device
            from gpta.sweep.plan import write_plan

            # The executor first: it resolves the device the cells will run on (Ray: from the
            # cluster), and a cell's id holds that device's kind (gpta.results._device_kind).
            executor = make_executor(self.opts.executor, self.opts.workers, self.opts.address, self.opts.device,
                                     self.opts.gpus_per_worker)
            self.executor = executor
            set_identity_device(getattr(executor, "device", None))
            try:
                write_plan(self.out, self.suite)  # what `gpta report` counts coverage against (plan.py)
                records = read_records(self.out)  # read every result once: the table, resume and the ETA use it
            except BaseException:
                executor.close()
                set_identity_device(None)
                raise
            self.table = ResultsTable(self.out, records)
            self.estimator = Estimator()
            self.estimator.learn_all(r for r in records.values() if r.get("status", "ok") == "ok")
            journal(self.out, "sweep-start", suite=self.suite.name, executor=executor.name, slots=executor.slots,
                    threads=executor.threads, host=platform.node())
            try:
                cells_by_stage: dict[str, list[Cell]] = {}
                for i, stage in enumerate(self.suite.stages):
                    cells, waiting = plan_stage(self.suite, i, self.out, cells_by_stage)
                    cells_by_stage[stage.name] = cells
                    self.report.waiting.extend(waiting)
                    self._run_stage(stage.name, cells, executor)
            except BaseException:  # Ctrl-C, SIGTERM, a bug: stop the workers now, not after their cells
                getattr(executor, "terminate", lambda: None)()
                raise
            finally:
                executor.close()
                set_identity_device(None)
                self.table.write()
                journal(self.out, "sweep-end", ok=self.report.ok, failed=self.report.failed)
        return self.report

    # -- one stage ---------------------------------------------------------------------------
    def _run_stage(self, stage: str, cells: list[Cell], executor: Any) -> None:
        """The stage's cells wave by wave: a cell that needs another method's result of the same
        cell (``MethodInfo.needs``) runs after it, with the values passed in its config."""
        for i, wave in enumerate(dependency_waves(cells)):
            if i:
                wave, waiting = give_stage_inputs(wave, cells, lambda run_id: read_result(result_path(self.out, run_id)))
                self.report.waiting.extend(waiting)
            self._run_cells(stage, wave, executor)

    def _run_cells(self, stage: str, cells: list[Cell], executor: Any) -> None:
        todo: list[Cell] = []
        for cell in cells:
            if cell.id in self.seen:  # an earlier stage planned the same cell (a confirm stage re-listing
                continue              # seeds): it ran, or was counted, there
            self.seen.add(cell.id)
            status = self.table.status(cell.id)
            if status == "ok":
                self.report.skipped_done += 1
            elif status == "failed" and not self.opts.retry_failed:
                self.report.skipped_failed += 1
            else:
                todo.append(cell)
        todo = self._inject_failures(todo, stage)
        if not todo:
            return
        cache_path = Path(self.opts.llm_cache_path or self.out / "llm_cache.sqlite").resolve()
        jobs = [Job(cfg=c.cfg, run_id=c.id, stage=stage, out_dir=str(self.out), data_dir=self.opts.data_dir,
                    llm_cache=self.opts.llm_cache, llm_cache_path=str(cache_path), threads=executor.threads)
                for c in todo]
        if executor.name == "ray":  # a remote task cannot write our journal: record the hand-over
            for job in jobs:
                journal(self.out, "submit", run_id=job.run_id, stage=stage)
        self._progress = Progress(stage, jobs, self.estimator, executor.slots, self.opts.progress)
        try:
            executor.run(jobs, self._on_done)
        finally:
            self._progress.close()

    def _inject_failures(self, todo: list[Cell], stage: str) -> list[Cell]:
        """``GPTA_FAIL_CELLS=METHOD[,METHOD|CELL_ID...]``: those cells fail without running, recorded
        like any failure. A deliberate failure, to check what a failed cell does to a job (e.g.
        ``GPTA_FAIL_CELLS=gpta tox -e quick`` must still write the report and exit non-zero)."""
        names = {n.strip() for n in os.environ.get("GPTA_FAIL_CELLS", "").split(",") if n.strip()}
        if not names:
            return todo
        fail = [c for c in todo if c.cfg.method in names or c.id in names]
        if fail:
            self._progress = Progress(stage, [], self.estimator, 1, False)
            for c in fail:
                job = Job(cfg=c.cfg, run_id=c.id, stage=stage, out_dir=str(self.out), data_dir=self.opts.data_dir,
                          llm_cache=self.opts.llm_cache, llm_cache_path="", threads=0)
                self._on_done(job, {"run_id": c.id, "status": "failed", "seconds": 0.0, "host": platform.node(),
                                    "error": {"type": "InjectedFailure", "message": "GPTA_FAIL_CELLS asked this cell "
                                              "to fail (a deliberate test of failure handling)", "traceback": ""}})
            self._progress.close()
        return [c for c in todo if c not in fail]

    def _on_done(self, job: Job, outcome: dict[str, Any]) -> None:
        """In the driver, for every finished cell: files, journal, table, progress."""
        self.report.ran += 1
        if outcome["status"] == "ok":
            result = outcome["result"]
            if "path" not in outcome:  # a detached (Ray) worker: write its files here, the result last
                if outcome.get("ledger") is not None:  # (a result on disk means the cell is complete)
                    write_text_atomic(self.out / f"{job.run_id}.ledger.jsonl", outcome["ledger"])
                write_json_atomic(result_path(self.out, job.run_id), result)
            failed_path(self.out, job.run_id).unlink(missing_ok=True)
            self.report.ok += 1
            self.table.add(result)
            self.estimator.learn(result)
            journal(self.out, "ok", run_id=job.run_id, seconds=outcome["seconds"], host=outcome.get("host"))
            line = _summary(result)
            if self.tracker is not None:
                self.tracker.log_cell(result, self.out / f"{job.run_id}.ledger.jsonl")
        else:
            record = {"status": "failed", "run_id": job.run_id, "stage": job.stage, "method": job.cfg.method,
                      "config": job.cfg.to_dict(), "error": outcome["error"], "seconds": outcome.get("seconds"),
                      "host": outcome.get("host"), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
            write_json_atomic(failed_path(self.out, job.run_id), record)
            self.report.failed += 1
            self.table.add(record)
            journal(self.out, "failed", run_id=job.run_id, error=outcome["error"]["type"])
            line = f"FAILED {job.run_id}: {outcome['error']['type']}: {outcome['error']['message'].splitlines()[0] if outcome['error']['message'] else ''}"
        self.table.write()
        self._progress.tick(job, outcome["status"] == "ok", line)


def _summary(result: dict[str, Any]) -> str:
    m = result.get("metric")
    test = (result.get("metrics") or {}).get("test", {}).get(m)
    test_s = f"{test:.4f}" if isinstance(test, (int, float)) else "?"
    wall = (result.get("costs") or {}).get("wall_seconds")
    return f"ok {result['run_id']}: test {m} {test_s} ({human(wall or 0)})"


class Progress:
    """A tqdm bar: cells done / failed / left, and an ETA from the cost model and finished cells."""

    def __init__(self, stage: str, jobs: list[Job], estimator: Estimator, slots: int, enabled: bool):
        from tqdm import tqdm

        self.left = {j.run_id: j for j in jobs}
        self.done = self.failed = 0
        self.estimator = estimator
        self.slots = max(1, slots)
        self.bar = tqdm(total=len(jobs), desc=f"sweep {stage}", unit="cell", disable=not enabled,
                        file=sys.stderr, dynamic_ncols=True, mininterval=1.0,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
        self._refresh()

    def eta(self) -> float:
        return sum(self.estimator.seconds(j.cfg) for j in self.left.values()) / self.slots

    def _refresh(self) -> None:
        self.bar.set_postfix_str(f"done {self.done}, failed {self.failed}, left {len(self.left)}, "
                                 f"ETA {human(self.eta())}", refresh=True)

    def tick(self, job: Job, ok: bool, line: str) -> None:
        self.left.pop(job.run_id, None)
        if ok:
            self.done += 1
        else:
            self.failed += 1
        if not self.bar.disable:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)
        self._refresh()
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def run_sweep(suite: Suite, opts: SweepOptions) -> SweepReport:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # one bar: the sweep's (workers inherit this)
    return Sweep(suite, opts).run()
