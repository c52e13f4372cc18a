"""``--track mlflow[:URI]``: a tracked cell is written to a real local MLflow store (SQLite, MLflow's
own default kind) and read back with MLflow's own client. Needs the ``track`` extra (CI has it).
"""

from __future__ import annotations

import json

import pytest

from gpta.errors import UserError
from gpta.tracking import config_params, numeric_metrics, parse_track
from tests.helpers import TINY_ARGS


def test_track_spec():
    assert parse_track(None) is None and parse_track("") is None
    assert parse_track("mlflow") == ("mlflow", None)
    assert parse_track("mlflow:sqlite:///x/m.db") == ("mlflow", "sqlite:///x/m.db")
    with pytest.raises(UserError, match="unknown tracker 'wandb'"):
        parse_track("wandb")


def test_params_and_metrics_from_a_result():
    params = config_params({"dataset": "tweets", "train": {"lr": 2e-5, "epochs": 2}, "inputs": {}, "x": None,
                            "seeds": [1, 2]})
    assert params == {"dataset": "tweets", "train.lr": "2e-05", "train.epochs": "2", "inputs": "{}", "x": "null",
                      "seeds": "[1, 2]"}
    metrics = numeric_metrics({"metrics": {"test": {"accuracy": 0.5, "test_predictions": [1, 0]}, "dev": {"f1": 1}},
                               "costs": {"llm_calls": 3, "cache": "warm", "flag": True, "bad": float("nan")}})
    assert metrics == {"test.accuracy": 0.5, "dev.f1": 1.0, "costs.llm_calls": 3.0}


@pytest.mark.slow
def test_tracked_run_is_read_back_by_mlflow(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from gpta.cli import main

    monkeypatch.chdir(tmp_path)  # MLflow writes nothing outside the store we name
    monkeypatch.setenv("GPTA_DEVICE", "auto")  # `run` sets it; restored after
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    (tmp_path / "store").mkdir()
    out = tmp_path / "out"
    code = main(["run", "--dataset", "tweets", "--fraction", "0.005", "--method", "finetune", "--out", str(out),
                 "--track", f"mlflow:{uri}", *TINY_ARGS, "--set", "train.epochs=1", "--set", "train.test_max=32"])
    assert code == 0
    [path] = [p for p in out.glob("*.json")]
    result = json.loads(path.read_text())

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("gpta-suite")
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == result["run_id"] and run.info.status == "FINISHED"
    assert run.data.tags["gpta.method"] == "finetune" and run.data.tags["gpta.device"] == result["env"]["device"]
    assert run.data.params["train.epochs"] == "1" and run.data.params["dataset"] == "tweets"
    assert run.data.metrics["test.accuracy"] == pytest.approx(result["metrics"]["test"]["accuracy"])
    assert run.data.metrics["costs.train_seconds"] == pytest.approx(result["costs"]["train_seconds"])
    local = client.download_artifacts(run.info.run_id, "result.json", str(tmp_path))
    assert json.loads(open(local, encoding="utf-8").read()) == result  # the result JSON, as written
    assert (tmp_path / "store" / "mlruns").is_dir()  # artifacts beside the database, not in the cwd
    assert not (tmp_path / "mlruns").exists()
