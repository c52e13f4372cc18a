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

Nothing is written for a run that is refused: before the cell, only the package and, for a local
store (``sqlite:///PATH``, ``file:PATH`` or a plain path), that its folder is usable are checked
(a remote store is asked, read-only, whether it answers). The store itself (``mlflow.db``, the
experiment) is created when the first finished cell is logged.
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
    """The tracker ``--track`` asks for, or None when off. Checked now (the package; a local store's
    folder; a remote store answering), created nowhere: the store is opened at the first cell."""
    parsed = parse_track(spec)
    if parsed is None:
        return None
    return MlflowTracker(parsed[1])


def local_store_path(uri: str) -> Path | None:
    """The file (SQLite) or folder (file store) a local tracking URI names; None for a remote one."""
    from urllib.parse import unquote, urlparse

    if uri.startswith("sqlite:"):
        rest = uri[len("sqlite:"):]
        if not rest.startswith("///"):  # sqlite:// (in memory) or a malformed URI: nothing to check
            return None
        return Path(unquote(rest[3:].split("?", 1)[0])).expanduser()
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path)).expanduser()
    if not parsed.scheme or len(parsed.scheme) == 1:  # a plain path (a file store), or C:\... on Windows
        return Path(uri).expanduser()
    return None


def check_local_store(uri: str, path: Path) -> None:
    """A local store can be created or opened later: its folder exists and is writable, and the
    store path itself, if it exists, is what the URI says (a file for SQLite, a folder for a file
    store). Creates nothing."""
    sqlite = uri.startswith("sqlite:")
    folder = path.parent if sqlite else path
    if not sqlite and not path.exists():
        folder = path.parent  # a file store's folder is created at the first cell, in this one
    where = f"--track mlflow:{uri}"
    if path.exists():
        if sqlite and not path.is_file():
            raise UserError(f"{where}: {path} is {'a folder' if path.is_dir() else 'not a regular file'}, not an "
                            f"SQLite store; give a .db file path, e.g. --track mlflow:sqlite:///{path / 'mlflow.db'}")
        if not sqlite and not path.is_dir():
            raise UserError(f"{where}: {path} is a file, not an MLflow file store (a folder); give a folder, "
                            f"or a database as mlflow:sqlite:///PATH.db")
    if not folder.is_dir():
        what = f"{folder} is a file, not a folder" if folder.exists() else f"folder {folder} does not exist"
        raise UserError(f"{where}: {what}; create the folder, or give another store "
                        f"(--track mlflow:sqlite:///PATH/mlflow.db)")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"{where}: {path if path.exists() else folder} is not writable; give a store in a "
                        f"folder you can write (--track mlflow:sqlite:///PATH/mlflow.db)")


class MlflowTracker:
    """Logs cells to one MLflow experiment through ``MlflowClient`` (no global MLflow state).

    Construction checks and creates nothing (see the module's notes); the store and the experiment
    are opened by the first ``log_cell``."""

    def __init__(self, uri: str | None = None, experiment: str | None = None) -> None:
        try:
            from mlflow.tracking import MlflowClient  # noqa: F401 - the package is checked now
        except ImportError:
            raise UserError("--track mlflow needs MLflow: pip install 'gpta-suite[track]'") from None
        import logging

        import mlflow

        for name in ("mlflow.store.db.utils", "alembic.runtime.migration"):  # "Creating tables..." lines
            logging.getLogger(name).setLevel(logging.WARNING)
        self.uri = uri or mlflow.get_tracking_uri()  # a URI string only: getting it opens nothing
        self.experiment_name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        self._client = None
        self._experiment_id: str | None = None
        local = local_store_path(self.uri)
        if local is not None:
            check_local_store(self.uri, local)
        else:  # a remote store: ask, read-only, whether it answers (creates no experiment)
            try:
                self.client.get_experiment_by_name(self.experiment_name)
            except Exception as exc:  # noqa: BLE001 - any store error: one line naming the URI
                raise UserError(f"--track mlflow:{self.uri}: cannot open the MLflow store "
                                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None

    @property
    def client(self):
        """The MLflow client (creating one opens no store: its first request does)."""
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    @property
    def experiment_id(self) -> str:
        """The experiment's id; the first use opens (for SQLite: creates) the store and the experiment."""
        if self._experiment_id is None:
            found = self.client.get_experiment_by_name(self.experiment_name)
            self._experiment_id = (found.experiment_id if found is not None else
                                   self.client.create_experiment(self.experiment_name,
                                                                 artifact_location=_artifacts_beside(self.uri)))
        return self._experiment_id

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
