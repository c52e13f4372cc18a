"""Where cells run: in this process, in N local worker processes, or on a Ray cluster.

Every executor has ``slots`` (cells in flight at once) and ``run(jobs, on_done)``, which calls
``on_done(job, outcome)`` in the driver process as each cell finishes, so the journal, the
failure records, the results table and the progress bar have one writer.

Threads: N cells on C cores each get ``max(1, C // N)`` torch threads, so N workers do not
oversubscribe the machine. (A cell whose config sets ``train.threads`` keeps its own.)

Ray: each cell is a task asking for its threads as ``num_cpus``; Ray places it on any node with
room. The worker runs the cell in a scratch directory and returns the result and ledger, which
the driver writes into the results directory, so results need no shared filesystem. The LLM
cache is one SQLite file (WAL, safe for concurrent processes on one machine); every task gets its
absolute path. On a multi-node cluster put ``--llm-cache-path`` on storage every node sees, or
the nodes that cannot reach it each keep their own cache at that path.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from gpta.errors import UserError
from gpta.sweep.worker import Job, run_job, run_job_detached, set_threads

OnDone = Callable[[Job, dict[str, Any]], None]


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def threads_per_cell(total_cpus: int, workers: int) -> int:
    return max(1, total_cpus // max(1, workers))


class InProcessExecutor:
    """One cell at a time in this process: the simplest, and a kill stops exactly one cell."""

    name = "local"

    def __init__(self) -> None:
        self.slots = 1
        self.threads = threads_per_cell(cores(), 1)

    def run(self, jobs: list[Job], on_done: OnDone) -> None:
        for job in jobs:
            on_done(job, run_job(job))

    def close(self) -> None:
        pass


def _init_worker(threads: int, parent_pid: int | None = None) -> None:
    import signal

    from gpta.sweep.lock import die_with_parent

    if parent_pid is not None:
        die_with_parent(parent_pid)  # a killed driver takes its workers with it
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle (it stops the workers)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    set_threads(threads)


class LocalPoolExecutor:
    """N worker processes on this machine (spawned: torch and forked threads do not mix)."""

    name = "local"

    def __init__(self, workers: int) -> None:
        self.slots = workers
        self.threads = threads_per_cell(cores(), workers)
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.slots, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(self.threads, os.getpid()))

    def run(self, jobs: list[Job], on_done: OnDone) -> None:
        queue = list(reversed(jobs))
        in_flight: dict[Any, Job] = {}
        self._pool = self._pool or self._new_pool()
        while queue or in_flight:
            while queue and len(in_flight) < self.slots:
                job = queue.pop()
                in_flight[self._pool.submit(run_job, job)] = job
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken = False
            for fut in finished:
                job = in_flight.pop(fut)
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    broken = True
                    outcome = _crashed(job, "a worker process died (killed or out of memory); "
                                            "this cell may not be the one that crashed: rerun with --retry-failed")
                on_done(job, outcome)
            if broken:  # the pool is unusable: the cells still in it are lost; start a new pool
                for fut, job in list(in_flight.items()):
                    on_done(job, _crashed(job, "lost when a worker process died: rerun with --retry-failed"))
                in_flight.clear()
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def terminate(self) -> None:
        """Stop at once (Ctrl-C, SIGTERM): kill the workers; their running cells write nothing."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        procs = list((getattr(pool, "_processes", None) or {}).values())
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.join(5)
        pool.shutdown(wait=False, cancel_futures=True)


def _crashed(job: Job, why: str) -> dict[str, Any]:
    return {"run_id": job.run_id, "status": "failed", "seconds": None,
            "error": {"type": "WorkerCrashed", "message": why, "traceback": ""}}


class RayExecutor:
    """Cells as Ray tasks on a cluster (``address``) or a local Ray instance (no address)."""

    name = "ray"

    def __init__(self, address: str | None, workers: int | None) -> None:
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray needs Ray: pip install 'gpta-suite[ray]' (ray[default])") from None
        self._ray = ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False,
                                      "configure_logging": False}
            try:
                if address:
                    ray.init(address=address, **kwargs)
                else:  # a local instance with this machine's cores
                    ray.init(num_cpus=cores(), **kwargs)
            except ConnectionError as exc:
                raise UserError(f"--address {address}: cannot reach the Ray cluster ({exc})") from None
        total = int(ray.cluster_resources().get("CPU", 1))
        self.slots = workers or total
        self.threads = threads_per_cell(total, self.slots)
        self._remote = ray.remote(num_cpus=self.threads, max_retries=0)(run_job_detached)

    def run(self, jobs: list[Job], on_done: OnDone) -> None:
        ray = self._ray
        queue = list(reversed(jobs))
        in_flight: dict[Any, Job] = {}
        while queue or in_flight:
            while queue and len(in_flight) < self.slots:
                job = queue.pop()
                in_flight[self._remote.remote(job)] = job
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                job = in_flight.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a lost node or worker: record it, go on
                    outcome = _crashed(job, f"the Ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                on_done(job, outcome)

    def close(self) -> None:
        pass  # a driver may run several sweeps; Ray shuts down with the process


def make_executor(kind: str, workers: int | None, address: str | None):
    if kind == "ray":
        return RayExecutor(address, workers)
    if address:
        raise UserError("--address is for --executor ray")
    if workers is None or workers == 1:
        return InProcessExecutor()
    if workers < 1:
        raise UserError(f"--workers {workers}: must be at least 1")
    return LocalPoolExecutor(workers)
