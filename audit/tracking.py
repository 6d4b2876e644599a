"""``fairgate run --mlflow``: the audit's verdict, each rule's status and headline figures, and its files,
logged to an MLflow run.

The run is the active one when there is one (the Python API inside ``mlflow.start_run()``), else the one
``MLFLOW_RUN_ID`` names, else a new run in ``MLFLOW_EXPERIMENT_NAME``/``MLFLOW_EXPERIMENT_ID`` (MLflow's own
variables; the tracking server is ``MLFLOW_TRACKING_URI``). What is logged:

* tags ``fairgate.verdict``, ``fairgate.policy`` (id@version), ``fairgate.exit_code``,
  ``fairgate.results_sha256``, and ``fairgate.rule.<id>`` = each judged item's status;
* metrics ``fairgate.passed`` (1 when the verdict is PASS), ``fairgate.summary.<status>`` (how many items
  have each status), and per judged item ``fairgate.<id>.pass`` (1 PASS, 0 anything else) and, for a rule
  with an observed value, ``fairgate.<id>.observed``;
* artifacts under ``fairgate/``: every file the run wrote (results.json, report.pdf, report.html,
  summary.md, model-card.md) — results.json and summary.md are logged from memory when not written.

MLflow is optional (``pip install 'fairgate[mlflow]'``) and imported only here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from audit.errors import FairgateError, UsageError

ARTIFACT_DIR = "fairgate"
INSTALL_HINT = "install the optional extra: pip install 'fairgate[mlflow]'"


class TrackingError(FairgateError):
    """The outputs were written but could not be logged to MLflow."""


def require_mlflow() -> None:
    """Fail before any work when --mlflow is asked for and MLflow is not installed."""
    import importlib.util

    if importlib.util.find_spec("mlflow") is None:
        raise UsageError("--mlflow needs MLflow, which is not installed", hint=INSTALL_HINT)


def metrics_and_tags(document: Mapping[str, Any], results_bytes: bytes) -> tuple[dict[str, float], dict[str, str]]:
    """What is logged as metrics and tags, from the results document alone."""
    policy = document["policy"]
    tags = {
        "fairgate.verdict": str(document["verdict"]),
        "fairgate.policy": f"{policy['id']}@{policy['version']}",
        "fairgate.exit_code": str(document["exit_code"]),
        "fairgate.results_sha256": hashlib.sha256(results_bytes).hexdigest(),
    }
    metrics = {"fairgate.passed": float(document["verdict"] == "PASS")}
    metrics |= {f"fairgate.summary.{k}": float(v) for k, v in document["summary"].items()}
    observed = {f["rule_id"]: f["observed"] for f in document["findings"]}
    for item in document["items"]:
        tags[f"fairgate.rule.{item['id']}"] = str(item["status"])
        metrics[f"fairgate.{item['id']}.pass"] = float(item["status"] == "PASS")
        value = observed.get(item["id"]) if item["kind"] == "rule" else None
        if value is not None:
            metrics[f"fairgate.{item['id']}.observed"] = float(value)
    return metrics, tags


def log_audit(
    document: Mapping[str, Any],
    *,
    files: Iterable[Path],
    results_bytes: bytes,
    summary_text: str,
) -> str:
    """Log the audit to the active (or resumed, or a new) MLflow run; return the run's id."""
    try:
        import mlflow
    except ImportError:
        raise UsageError("--mlflow needs MLflow, which is not installed", hint=INSTALL_HINT) from None
    metrics, tags = metrics_and_tags(document, results_bytes)
    paths = [Path(p) for p in files]
    names = {p.name for p in paths}
    try:
        active = mlflow.active_run()
        run = active if active is not None else mlflow.start_run()
        try:
            mlflow.set_tags(tags)
            mlflow.log_metrics(metrics)
            for path in paths:
                mlflow.log_artifact(str(path), artifact_path=ARTIFACT_DIR)
            if "results.json" not in names:
                mlflow.log_text(results_bytes.decode("utf-8"), f"{ARTIFACT_DIR}/results.json")
            if "summary.md" not in names:
                mlflow.log_text(summary_text, f"{ARTIFACT_DIR}/summary.md")
        finally:
            if active is None:
                mlflow.end_run()
    except FairgateError:
        raise
    except Exception as exc:  # MlflowException, OSError, a tracking server that does not answer
        raise TrackingError(
            f"--mlflow: the outputs were written, but logging them to MLflow failed ({_one_line(exc)})",
            hint="check MLFLOW_TRACKING_URI (a file: store also needs MLFLOW_ALLOW_FILE_STORE=true with MLflow 3)",
        ) from None
    return str(run.info.run_id)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:200] + "…" if len(text) > 200 else text) or type(exc).__name__
