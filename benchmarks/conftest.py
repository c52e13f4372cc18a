"""Benchmark session settings: offline, torch threads chosen once and recorded, machine named."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

from benchmarks.harness import choose_threads, machine  # noqa: E402


def pytest_configure(config):
    # One thread count for the whole session, so both sides of every comparison share it.
    torch.set_num_threads(choose_threads(os.environ.get("GPTA_BENCH_THREADS", "auto")))
    # pytest-benchmark opens --benchmark-json only at the end, and fails there (after every
    # benchmark ran) if its folder does not exist, as bench-results/ does not in a fresh clone.
    # pytest-benchmark 5.3 hands a path; 5.1-5.2 an already opened file (whose folder exists).
    json_path = config.getoption("benchmark_json", None)
    if json_path is not None and hasattr(json_path, "parent"):
        json_path.parent.mkdir(parents=True, exist_ok=True)


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["gpta"] = machine()


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def device(request) -> torch.device:
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    return torch.device(request.param)


_SKIPPED: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped and isinstance(report.longrepr, tuple):
        _SKIPPED.append(f"{report.nodeid}: {report.longrepr[2].removeprefix('Skipped: ')}")


def pytest_benchmark_update_json(config, benchmarks, output_json):
    output_json["gpta_skipped"] = list(_SKIPPED)  # the summary names every skip and its reason
    output_json["gpta_comparisons"] = comparisons(output_json.get("benchmarks", []))


def comparisons(benches: list[dict]) -> list[dict]:
    """One ratio per named group whose benchmarks mark a ``side`` (baseline / candidate).

    Each side is its own pytest-benchmark benchmark (so ``--benchmark-compare`` and its
    statistics apply to it); the ratio is computed here from the same run: the baseline's
    median seconds over the candidate's. Extra checks a group declares (``accuracy``: the
    candidate's must be >= the baseline's) are evaluated here too.
    """
    from benchmarks.harness import side_ratio

    groups: dict[str, dict[str, dict]] = {}
    for b in benches:
        x = b.get("extra_info", {})
        if x.get("side") in ("baseline", "candidate") and b.get("group"):
            groups.setdefault(b["group"], {})[x["side"]] = b
    return [side_ratio(group, sides["baseline"], sides["candidate"])
            for group, sides in sorted(groups.items()) if len(sides) == 2]
