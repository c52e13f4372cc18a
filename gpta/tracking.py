"""Opt-in experiment tracking: ``--track mlflow[:URI]`` logs every finished cell to MLflow.

Off by default, and MLflow is not a dependency of the suite: ``pip install 'gpta-suite[track]'``
(MLflow's tracking client, ``mlflow-skinny``, with the SQL store it needs). The result JSON in the
results directory stays the source of truth; a tracked run is a copy, made after the result is
written. One MLflow run per cell:

- run name: the cell id; tags: dataset, method, fraction, seeds, LLM, encoder, device, git commit;
- params: the resolved config, flattened (``train.lr``, ``gpta.rounds`` ...);
- metrics: every numeric metric per split (``test.accuracy``) and every numeric cost
  (``costs.llm_calls``, ``costs.train_seconds`` ...);
- artifacts: ``result.json`` (the cell's result, as written) and the cell's LLM ledger, if any.

``--track mlflow`` uses MLflow's own default store (``$MLFLOW_TRACKING_URI``, else
``sqlite:///mlflow.db`` in the working folder, which ``mlflow ui`` there shows);
``--track mlflow:URI`` any MLflow tracking URI (``sqlite:///PATH.db``, ``http://HOST:5000``).
A local SQLite store keeps its artifacts beside the database (``mlruns/`` next to it). The
experiment is ``$MLFLOW_EXPERIMENT_NAME``, else ``gpta-suite``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from gpta.errors import UserError

DEFAULT_EXPERIMENT = "gpta-suite"
BATCH = 100  # MLflow's log_batch accepts at most 100 params (and 1000 metrics) per call
MAX_PARAM_CHARS = 6000  # MLflow's limit on one param value


def parse_track(spec: str | None) -> tuple[str, str | None] | None:
    """``mlflow`` -> ("mlflow", None); ``mlflow:URI`` -> ("mlflow", URI); None/"" -> None (off)."""
    if not spec:
        return None
    kind, _, uri = spec.partition(":")
    if kind != "mlflow":
        raise UserError(f"--track {spec}: unknown tracker {kind!r}; use mlflow or mlflow:URI")
    return kind, (uri or None)


def make_tracker(spec: str | None) -> "MlflowTracker | None":
    """The tracker ``--track`` asks for (checked now: the package, the store), or None when off."""
    parsed = parse_track(spec)
    if parsed is None:
        return None
    return MlflowTracker(parsed[1])


class MlflowTracker:
    """Logs cells to one MLflow experiment through ``MlflowClient`` (no global MLflow state)."""

    def __init__(self, uri: str | None = None, experiment: str | None = None) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise UserError("--track mlflow needs MLflow: pip install 'gpta-suite[track]'") from None
        import logging

        import mlflow

        for name in ("mlflow.store.db.utils", "alembic.runtime.migration"):  # "Creating tables..." lines
            logging.getLogger(name).setLevel(logging.WARNING)
        self.uri = uri or mlflow.get_tracking_uri()
        self.client = MlflowClient(tracking_uri=self.uri)
        name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        try:
            found = self.client.get_experiment_by_name(name)
            self.experiment_id = (found.experiment_id if found is not None
                                  else self.client.create_experiment(name, artifact_location=_artifacts_beside(self.uri)))
        except Exception as exc:  # noqa: BLE001 - any store error: one line naming the URI
            raise UserError(f"--track mlflow:{self.uri}: cannot open the MLflow store "
                            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None

    def log_cell(self, result: dict[str, Any], ledger: str | Path | None = None) -> str | None:
        """One MLflow run for a finished cell; returns its run id (None if the store refused: the
        result file is already written, so a tracking failure is a note, not a failed cell)."""
        try:
            return self._log(result, ledger)
        except Exception as exc:  # noqa: BLE001
            print(f"note: --track: cell {result.get('run_id')} not logged to MLflow at {self.uri} "
                  f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})", file=sys.stderr)
            return None

    def _log(self, result: dict[str, Any], ledger: str | Path | None) -> str:
        from mlflow.entities import Metric, Param, RunTag

        run = self.client.create_run(self.experiment_id, run_name=str(result.get("run_id")), tags=run_tags(result))
        run_id = run.info.run_id
        try:
            params = [Param(k, v) for k, v in config_params(result.get("config") or {}).items()]
            metrics = [Metric(k, v, 0, 0) for k, v in numeric_metrics(result).items()]
            for i in range(0, max(len(params), len(metrics)), BATCH):
                self.client.log_batch(run_id, metrics=metrics[i:i + BATCH], params=params[i:i + BATCH],
                                      tags=[RunTag("gpta.schema_version", str(result.get("schema_version")))] if not i else [])
            self.client.log_text(run_id, json.dumps(result, indent=1, default=str), "result.json")
            if ledger is not None and Path(ledger).is_file():
                self.client.log_artifact(run_id, str(ledger))
        except BaseException:
            self.client.set_terminated(run_id, status="FAILED")
            raise
        self.client.set_terminated(run_id, status="FINISHED")
        return run_id


def _artifacts_beside(uri: str) -> str | None:
    """For a local SQLite store: artifacts in ``mlruns/`` next to the database (MLflow's default
    is ``./mlruns`` in whatever folder the run happens to start in); else the store's default."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    return (Path(uri[len(prefix):]).expanduser().resolve().parent / "mlruns").as_uri()


def run_tags(result: dict[str, Any]) -> dict[str, str]:
    cfg = result.get("config") or {}
    env = result.get("env") or {}
    tags = {"gpta.run_id": result.get("run_id"), "gpta.dataset": cfg.get("dataset"), "gpta.method": result.get("method"),
            "gpta.fraction": cfg.get("fraction"), "gpta.seed": cfg.get("seed"), "gpta.llm": cfg.get("llm"),
            "gpta.model": cfg.get("model"), "gpta.device": env.get("device"),
            "mlflow.source.git.commit": (env.get("git") or {}).get("commit")}
    return {k: str(v) for k, v in tags.items() if v is not None}


def config_params(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """The config flattened to MLflow params: ``train.lr`` -> "2e-05"; lists and None as JSON."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(config_params(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            out[name] = text[:MAX_PARAM_CHARS]
    return out


def numeric_metrics(result: dict[str, Any]) -> dict[str, float]:
    """``<split>.<metric>`` for every numeric metric and ``costs.<name>`` for every numeric cost."""
    out: dict[str, float] = {}
    for split, values in (result.get("metrics") or {}).items():
        if isinstance(values, dict):
            out.update({f"{split}.{k}": float(v) for k, v in values.items() if _is_number(v)})
    out.update({f"costs.{k}": float(v) for k, v in (result.get("costs") or {}).items() if _is_number(v)})
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value  # not NaN
