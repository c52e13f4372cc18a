"""The GPU path: ``--device``, GPU shares for local workers and Ray tasks, the driver's device check.

No GPU is needed for most of it: local workers are planned for a stated number of GPUs
(``gpu_count``), and Ray's own fake resources (``ray.init(num_gpus=...)``, a documented Ray
feature, not a mock) give a cluster view with GPUs, so Ray really schedules the tasks by
``num_gpus`` and sets ``CUDA_VISIBLE_DEVICES``. On this CPU-only machine each cell then stops at
its first step, naming why (torch sees no CUDA device): that stop is what a misplaced cell does.
The tests marked ``cuda`` need a real GPU and skip cleanly without one.
"""

from __future__ import annotations

import argparse

import pytest
import torch

from gpta.cli import device_arg, main
from gpta.errors import UserError
from gpta.sweep.executors import GpuShares, InProcessExecutor, LocalPoolExecutor, checked, gpu_share
from gpta.sweep.worker import Job
from tests.helpers import tiny_config

HAS_CUDA = torch.cuda.is_available()
cuda = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device on this machine")


def job(tmp_path, name: str, device: str = "auto") -> Job:
    return Job(cfg=tiny_config("finetune"), run_id=name, stage="main", out_dir=str(tmp_path), data_dir=None,
               llm_cache="off", llm_cache_path=str(tmp_path / "cache.sqlite"), threads=1, device=device)


@pytest.mark.parametrize("text, expected", [("cpu", "cpu"), ("CUDA", "cuda"), ("cuda:3", "cuda:3"), ("auto", "auto")])
def test_device_flag_accepts(text, expected):
    assert device_arg(text) == expected


@pytest.mark.parametrize("text", ["gpu", "cuda:", "cuda:x", "mps"])
def test_device_flag_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError, match="use cpu, cuda, cuda:N or auto"):
        device_arg(text)


def test_gpu_shares_put_cells_on_the_least_loaded_gpu():
    shares = GpuShares([0, 1], per_cell=gpu_share(0.5, 2, 4))
    assert shares.capacity == 4
    assert [shares.acquire() for _ in range(4)] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]
    shares.release("cuda:1")
    assert shares.acquire() == "cuda:1"
    assert gpu_share(None, 1, 4) == 0.25 and gpu_share(None, 2, 1) == 1.0  # default: the GPUs among the workers
    with pytest.raises(UserError, match="must be in"):
        gpu_share(1.5, 2, 1)


def test_more_workers_than_gpu_shares_is_refused_at_planning():
    with pytest.raises(UserError, match="at most 2 cells fit at once"):
        LocalPoolExecutor(4, device="cuda", gpus_per_worker=0.5, gpu_count=1)


@pytest.mark.skipif(HAS_CUDA, reason="checks the refusal on a machine without CUDA")
def test_cuda_without_a_gpu_is_refused_before_any_cell(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="sees no CUDA device"):
        InProcessExecutor(device="cuda")
    monkeypatch.setenv("GPTA_DEVICE", "auto")  # `run --device` sets it; monkeypatch restores it
    code = main(["run", "--dataset", "tweets", "--method", "finetune", "--device", "cuda", "--out", str(tmp_path / "o")])
    assert code == 2 and not (tmp_path / "o").exists()


def test_driver_refuses_a_cuda_cell_that_ran_on_the_cpu(tmp_path):
    ran_on_cpu = {"run_id": "x", "status": "ok", "result": {"env": {"device": "cpu"}}}
    out = checked(job(tmp_path, "x", "cuda:0"), ran_on_cpu)
    assert out["status"] == "failed" and out["error"]["type"] == "WrongDevice"
    assert "asked for --device cuda:0" in out["error"]["message"]
    ran_on_gpu = {"run_id": "x", "status": "ok", "result": {"env": {"device": "cuda:0"}}}
    assert checked(job(tmp_path, "x", "cuda"), ran_on_gpu) is ran_on_gpu
    assert checked(job(tmp_path, "x", "cpu"), ran_on_cpu) is ran_on_cpu


@pytest.mark.skipif(HAS_CUDA, reason="on a GPU these cells would run; here each must stop at the device check")
def test_local_workers_get_one_gpu_share_each(tmp_path):
    """Two spawned workers, two GPUs planned, one share each: each cell goes to its own GPU and
    the worker process checks it before anything else (here: no CUDA, so it stops, naming why)."""
    executor = LocalPoolExecutor(2, device="cuda", gpus_per_worker=1.0, gpu_count=2)
    outcomes = {}
    try:
        executor.run([job(tmp_path, "a"), job(tmp_path, "b")], lambda j, o: outcomes.update({j.run_id: (j, o)}))
    finally:
        executor.close()
    assert sorted(j.device for j, _ in outcomes.values()) == ["cuda:0", "cuda:1"]
    for j, o in outcomes.values():
        assert o["device"] == j.device  # what the worker process was given
        assert o["status"] == "failed" and f"--device {j.device}" in o["error"]["message"]
        assert "sees no CUDA device" in o["error"]["message"]


@pytest.mark.slow
@pytest.mark.skipif(HAS_CUDA, reason="on a GPU these cells would run; here each must stop at the device check")
def test_ray_tasks_ask_for_gpus_when_cuda_is_asked(tmp_path):
    ray = pytest.importorskip("ray")
    from gpta.sweep.executors import RayExecutor

    ray.shutdown()
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        executor = RayExecutor(None, 2, device="cuda", gpus_per_worker=0.5)
        assert executor.task_options == {"num_cpus": 1, "num_gpus": 0.5}
        outcomes = {}
        executor.run([job(tmp_path, "a"), job(tmp_path, "b")], lambda j, o: outcomes.update({j.run_id: o}))
        for o in outcomes.values():
            assert o["device"] == "cuda"
            assert len(o["ray_gpu_ids"]) == 1  # Ray gave the task (a share of) one GPU ...
            assert o["cuda_visible_devices"] == o["ray_gpu_ids"][0]  # ... and made it the one the task sees
            assert o["status"] == "failed" and "sees no CUDA device" in o["error"]["message"]
        cpu = RayExecutor(None, 1, device="cpu")
        assert cpu.task_options["num_gpus"] == 0  # --device cpu: the tasks ask Ray for no GPU
        with pytest.raises(UserError, match="use --device cuda"):
            RayExecutor(None, 1, device="cuda:1")
    finally:
        ray.shutdown()


@pytest.mark.slow
@pytest.mark.skipif(HAS_CUDA, reason="on a GPU these cells would run; here each must stop at the device check")
def test_a_ray_driver_plans_the_ids_its_gpu_tasks_compute(tmp_path, monkeypatch):
    """A CUDA cell's id holds the device kind (gpta.results._device_kind). A Ray driver on a
    CPU-only head plans for its tasks' device, not its own: had it planned CPU ids, every GPU task
    would have named its cell differently and refused it ("the sweep planned it as ...")."""
    import json

    import yaml

    from gpta.results import cell_id
    from gpta.sweep.suite import load_suite, stage_cells
    from tests.helpers import TINY

    ray = pytest.importorskip("ray")
    settings = {**TINY, "train.precision": "fp32"}
    suite = tmp_path / "one.yaml"
    suite.write_text(yaml.safe_dump({"name": "one", "datasets": ["tweets"], "fractions": [0.005], "seeds": [13],
                                     "methods": ["finetune"], "settings": settings}))
    [cell] = stage_cells(load_suite(str(suite)), load_suite(str(suite)).stages[0])
    monkeypatch.setenv("GPTA_DEVICE", "cpu")
    cpu_id = cell_id(cell.cfg.to_dict())
    monkeypatch.setenv("GPTA_DEVICE", "cuda")
    cuda_id = cell_id(cell.cfg.to_dict())
    monkeypatch.delenv("GPTA_DEVICE")
    assert cuda_id != cpu_id
    ray.shutdown()
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:  # --device auto: the executor finds the cluster's GPU and the tasks ask for it
        assert main(["sweep", str(suite), "--executor", "ray", "--workers", "1", "--out", str(tmp_path / "out"),
                     "--no-progress"]) != 0  # the cell fails here: no real GPU
    finally:
        ray.shutdown()
    planned = [json.loads(line)["run_id"] for line in (tmp_path / "out" / "sweep_plan.jsonl").read_text().splitlines()
               if line.strip() and "run_id" in line]
    assert planned == [cuda_id]
    failure = json.loads((tmp_path / "out" / f"{cuda_id}.failed.json").read_text())
    message = json.dumps(failure)
    assert "sees no CUDA device" in message and "planned it as" not in message


# -- the CUDA group: runs only where torch sees a GPU ----------------------------------------------

@pytest.mark.cuda
@cuda
def test_cuda_cell_records_the_gpu(tmp_path, monkeypatch):
    import json

    from tests.helpers import TINY_ARGS

    monkeypatch.setenv("GPTA_DEVICE", "auto")
    code = main(["run", "--dataset", "tweets", "--fraction", "0.005", "--method", "finetune", "--device", "cuda",
                 "--out", str(tmp_path), *TINY_ARGS])
    assert code == 0
    [path] = [p for p in tmp_path.glob("*.json")]
    env = json.loads(path.read_text())["env"]
    assert env["device"] == "cuda:0" and env["device_name"] == torch.cuda.get_device_name(0)


@pytest.mark.cuda
@cuda
def test_cuda_local_workers_share_a_gpu(tmp_path):
    executor = LocalPoolExecutor(2, device="cuda:0", gpus_per_worker=0.5)
    assert executor.gpus.capacity == 2
    executor.close()


def test_a_worker_that_names_the_cell_differently_refuses_it(tmp_path):
    """Audit 4, finding 9: a worker that resolves a setting differently (train.precision: auto on
    another CPU) computed another id and wrote the result under it; the planned cell never counted
    as done and every resume ran it again. The worker now refuses the cell, naming both ids."""
    from gpta.sweep.worker import run_job

    out = run_job(job(tmp_path, "planned__finetune__f0.1__s13__0123456789", device="cpu"), log=False)
    assert out["status"] == "failed" and "the sweep planned it as planned__finetune" in out["error"]["message"]
    assert not list(tmp_path.glob("*.json"))  # nothing written under either id
