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

GPUs (``--device cuda``): every cell in flight holds a share of one GPU, ``--gpus-per-worker``
(default: the GPUs divided among the workers, at most 1). Local workers get ``cuda:K`` of the
least-loaded GPU with a free share; Ray tasks ask for ``num_gpus`` = the share, so Ray places
them and sets ``CUDA_VISIBLE_DEVICES`` (a task that asks for no GPU sees none). Each cell checks
that torch sees the GPU it was given before it starts, and the driver refuses a result that
asked for CUDA and ran elsewhere. ``--device cuda:N`` (one GPU) is for local workers only.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
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


def uses_cuda(device: str) -> bool:
    return device == "cuda" or device.startswith("cuda:")


def gpu_share(gpus_per_worker: float | None, gpus: float, workers: int | None) -> float:
    """The share of one GPU each cell in flight holds: the flag, else the GPUs divided among the
    workers (at most one GPU each: a cell trains on one device)."""
    if gpus_per_worker is not None:
        if not 0 < gpus_per_worker <= 1:
            raise UserError(f"--gpus-per-worker {gpus_per_worker:g}: must be in (0, 1] (a cell trains on one GPU)")
        return gpus_per_worker
    return min(1.0, gpus / workers) if workers else 1.0


class GpuShares:
    """Fractional GPU shares for local workers: ``per_cell`` of one GPU per cell in flight, so
    ``floor(1 / per_cell)`` cells fit on each GPU; a new cell goes to the least-loaded GPU."""

    def __init__(self, indices: list[int], per_cell: float) -> None:
        self.per_gpu = math.floor(1 / per_cell + 1e-9)
        self.in_use = {i: 0 for i in indices}

    @property
    def capacity(self) -> int:
        return self.per_gpu * len(self.in_use)

    def acquire(self) -> str:
        index = min((i for i, n in self.in_use.items() if n < self.per_gpu), key=lambda i: (self.in_use[i], i))
        self.in_use[index] += 1
        return f"cuda:{index}"

    def release(self, device: str) -> None:
        self.in_use[int(device.split(":", 1)[1])] -= 1


def checked(job: Job, outcome: dict[str, Any]) -> dict[str, Any]:
    """In the driver: a cell that asked for CUDA and reports another device is a failure, not a result."""
    if outcome.get("status") != "ok" or not uses_cuda(job.device):
        return outcome
    ran_on = str((outcome.get("result") or {}).get("env", {}).get("device", "?"))
    if uses_cuda(ran_on):
        return outcome
    return _crashed(job, f"the cell asked for --device {job.device} but its result says it ran on {ran_on}; "
                         f"not recorded as a result", kind="WrongDevice")


def local_gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def local_gpus(device: str, workers: int, gpus_per_worker: float | None, gpu_count: int | None) -> GpuShares | None:
    """The GPU shares for ``workers`` local cells on ``device``; None for CPU. ``gpu_count``:
    the GPUs to plan for (default: what torch sees)."""
    if device == "cpu":
        return None
    count = local_gpu_count() if gpu_count is None else gpu_count
    if device == "auto":
        if not count:
            return None
        device = "cuda"
    if not count:
        from gpta.model import resolve_device

        resolve_device(device)  # raises, naming why torch sees no CUDA device
    indices = [int(device.split(":", 1)[1])] if ":" in device else list(range(count))
    if indices[0] >= count:
        raise UserError(f"--device {device}: this machine has {count} CUDA device(s)")
    share = gpu_share(gpus_per_worker, len(indices), workers)
    shares = GpuShares(indices, share)
    if workers > shares.capacity:
        raise UserError(f"--workers {workers} with --gpus-per-worker {share:g} on {len(indices)} GPU(s): "
                        f"at most {shares.capacity} cells fit at once; lower --workers or --gpus-per-worker")
    return shares


class InProcessExecutor:
    """One cell at a time in this process: the simplest, and a kill stops exactly one cell."""

    name = "local"

    def __init__(self, device: str = "auto", gpu_count: int | None = None) -> None:
        self.slots = 1
        self.threads = threads_per_cell(cores(), 1)
        shares = local_gpus(device, 1, None, gpu_count)
        self.device = shares.acquire() if shares else ("cpu" if device == "auto" else device)

    def run(self, jobs: list[Job], on_done: OnDone) -> None:
        for job in jobs:
            job = replace(job, device=self.device)
            on_done(job, checked(job, run_job(job)))

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

    def __init__(self, workers: int, device: str = "auto", gpus_per_worker: float | None = None,
                 gpu_count: int | None = None) -> None:
        self.slots = workers
        self.threads = threads_per_cell(cores(), workers)
        self.gpus = local_gpus(device, workers, gpus_per_worker, gpu_count)
        self.device = "cpu" if device == "auto" and self.gpus is None else device
        self._pool: ProcessPoolExecutor | None = None

    def _assign(self, job: Job) -> Job:
        return replace(job, device=self.gpus.acquire() if self.gpus else self.device)

    def _release(self, job: Job) -> None:
        if self.gpus:
            self.gpus.release(job.device)

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.slots, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(self.threads, os.getpid()))

    def run(self, jobs: list[Job], on_done: OnDone) -> None:
        queue = list(reversed(jobs))
        in_flight: dict[Any, Job] = {}
        self._pool = self._pool or self._new_pool()
        while queue or in_flight:
            while queue and len(in_flight) < self.slots:
                job = self._assign(queue.pop())
                in_flight[self._pool.submit(run_job, job)] = job
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken = False
            for fut in finished:
                job = in_flight.pop(fut)
                self._release(job)
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    broken = True
                    outcome = _crashed(job, "a worker process died (killed or out of memory); "
                                            "this cell may not be the one that crashed: rerun with --retry-failed")
                on_done(job, checked(job, outcome))
            if broken:  # the pool is unusable: the cells still in it are lost; start a new pool
                for fut, job in list(in_flight.items()):
                    self._release(job)
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


def _crashed(job: Job, why: str, kind: str = "WorkerCrashed") -> dict[str, Any]:
    return {"run_id": job.run_id, "status": "failed", "seconds": None,
            "error": {"type": kind, "message": why, "traceback": ""}}


class RayExecutor:
    """Cells as Ray tasks on a cluster (``address``) or a local Ray instance (no address)."""

    name = "ray"

    def __init__(self, address: str | None, workers: int | None, device: str = "auto",
                 gpus_per_worker: float | None = None) -> None:
        if device.startswith("cuda:"):
            raise UserError(f"--device {device}: with --executor ray use --device cuda (Ray picks each task's GPU "
                            f"and sets CUDA_VISIBLE_DEVICES)")
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray needs Ray: pip install 'gpta-suite[ray]'") from None
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
        resources = ray.cluster_resources()
        total = int(resources.get("CPU", 1))
        gpus = float(resources.get("GPU", 0))
        if device == "auto":
            device = "cuda" if gpus else "cpu"
        if device == "cuda" and not gpus:
            raise UserError("--device cuda: the Ray cluster has no GPU (ray.cluster_resources() lists none)")
        share = gpu_share(gpus_per_worker, gpus, workers) if device == "cuda" else 0.0
        self.device = device
        self.slots = workers or (min(total, math.floor(gpus / share + 1e-9)) if share else total)
        self.threads = threads_per_cell(total, self.slots)
        # What each task asks Ray for: its threads as CPUs and, on a GPU, its share of one GPU.
        self.task_options: dict[str, Any] = {"num_cpus": self.threads, "num_gpus": share}
        self._remote = ray.remote(max_retries=0, **self.task_options)(run_job_detached)

    def run(self, jobs: list[Job], on_done: OnDone) -> None:
        ray = self._ray
        queue = list(reversed(jobs))
        in_flight: dict[Any, Job] = {}
        while queue or in_flight:
            while queue and len(in_flight) < self.slots:
                job = replace(queue.pop(), device=self.device)
                in_flight[self._remote.remote(job)] = job
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                job = in_flight.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a lost node or worker: record it, go on
                    outcome = _crashed(job, f"the Ray task failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                on_done(job, checked(job, outcome))

    def close(self) -> None:
        pass  # a driver may run several sweeps; Ray shuts down with the process


def make_executor(kind: str, workers: int | None, address: str | None, device: str = "auto",
                  gpus_per_worker: float | None = None):
    if kind == "ray":
        return RayExecutor(address, workers, device, gpus_per_worker)
    if address:
        raise UserError("--address is for --executor ray")
    if workers is None or workers == 1:
        if gpus_per_worker is not None:
            gpu_share(gpus_per_worker, 1, 1)  # a bad value is refused even where it changes nothing
        return InProcessExecutor(device)
    if workers < 1:
        raise UserError(f"--workers {workers}: must be at least 1")
    return LocalPoolExecutor(workers, device, gpus_per_worker)
