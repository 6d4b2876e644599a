"""`fairgate run --mlflow` against a local file: tracking store, read back with MlflowClient; models read from
models:/ and runs:/ URIs only when their flavor loads without pickle (skops, ONNX), and never unpickled."""

from __future__ import annotations

import json
import pickle
import sys

import numpy as np
import pandas as pd
import pytest

from tests.cli.helpers import invoke

mlflow = pytest.importorskip("mlflow")  # a test dependency (pyproject's test extra): present in CI
from mlflow.tracking import MlflowClient  # noqa: E402


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """A file: tracking store in tmp_path (MLflow 3 asks for the opt-in to file stores)."""
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    for name in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(name, raising=False)
    mlflow.set_tracking_uri(uri)
    yield MlflowClient(uri)
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def data(tmp_path):
    """Two groups, two features; the label follows x1, group b's x1 is lower (so a model selects it less)."""
    rng = np.random.default_rng(3)
    n = 400
    group = np.where(np.arange(n) % 2 == 0, "a", "b")
    x1 = rng.normal(size=n) - (group == "b") * 0.4
    frame = pd.DataFrame({"x1": x1, "x2": rng.normal(size=n), "group": group, "label": (x1 > 0).astype(int)})
    frame["pred"] = (frame["x1"] > 0.1).astype(int)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path, frame


def _model(frame):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(frame[["x1", "x2"]], frame["label"])


def _run(data_path, out, *extra):
    return [
        "run",
        "--data",
        data_path,
        "--policy",
        "four-fifths",
        "--label",
        "label",
        "--sensitive",
        "group",
        "--out",
        out,
        "--no-ledger",
        *extra,
    ]


def test_run_logs_verdict_rules_and_files(tracking, data, tmp_path, capsys):
    out = tmp_path / "out"
    ran = invoke(
        capsys,
        _run(data[0], out, "--predictions", "pred", "--format", "html,json,md,model-card", "--mlflow"),
        exit_code=1,
    )
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    run_id = ran.out.split("mlflow:  run ")[1].split()[0]
    run = tracking.get_run(run_id)
    tags, metrics = run.data.tags, run.data.metrics
    assert tags["fairgate.verdict"] == document["verdict"] == "FAIL"
    assert tags["fairgate.policy"] == "four-fifths@1.0.0"
    assert tags["fairgate.exit_code"] == "1"
    assert metrics["fairgate.passed"] == 0.0
    assert metrics["fairgate.summary.fail"] == document["summary"]["fail"]
    for item in document["items"]:
        assert tags[f"fairgate.rule.{item['id']}"] == item["status"]
        assert metrics[f"fairgate.{item['id']}.pass"] == float(item["status"] == "PASS")
    for finding in document["findings"]:
        assert metrics[f"fairgate.{finding['rule_id']}.observed"] == pytest.approx(finding["observed"])
    names = sorted(a.path for a in tracking.list_artifacts(run_id, "fairgate"))
    assert names == [f"fairgate/{n}" for n in ("model-card.md", "report.html", "results.json", "summary.md")]
    local = tracking.download_artifacts(run_id, "fairgate/results.json", str(tmp_path / "back"))
    with open(local, "rb") as handle:
        assert handle.read() == (out / "results.json").read_bytes()
    assert (
        tags["fairgate.results_sha256"] == __import__("hashlib").sha256((out / "results.json").read_bytes()).hexdigest()
    )
    assert run.info.status == "FINISHED"


def test_summary_and_results_logged_when_not_written(tracking, data, tmp_path, capsys):
    out = tmp_path / "out"
    ran = invoke(capsys, _run(data[0], out, "--predictions", "pred", "--format", "html", "--mlflow"), exit_code=1)
    run_id = ran.out.split("mlflow:  run ")[1].split()[0]
    names = sorted(a.path for a in tracking.list_artifacts(run_id, "fairgate"))
    assert names == ["fairgate/report.html", "fairgate/results.json", "fairgate/summary.md"]


def test_logs_to_the_active_run(tracking, data, tmp_path, capsys):
    """Called from Python inside mlflow.start_run(): the audit joins that run and leaves it open."""
    with mlflow.start_run() as active:
        invoke(
            capsys,
            _run(data[0], tmp_path / "out", "--predictions", "pred", "--format", "json", "--mlflow"),
            exit_code=1,
        )
        assert mlflow.active_run().info.run_id == active.info.run_id
    assert tracking.get_run(active.info.run_id).data.tags["fairgate.verdict"] == "FAIL"


def test_resumes_the_run_named_by_mlflow_run_id(tracking, data, tmp_path, capsys, monkeypatch):
    run_id = tracking.create_run(tracking.get_experiment_by_name("Default").experiment_id).info.run_id
    monkeypatch.setenv("MLFLOW_RUN_ID", run_id)
    invoke(
        capsys, _run(data[0], tmp_path / "out", "--predictions", "pred", "--format", "json", "--mlflow"), exit_code=1
    )
    assert tracking.get_run(run_id).data.tags["fairgate.policy"] == "four-fifths@1.0.0"


def test_mlflow_missing_is_a_usage_error_before_any_work(data, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed: find_spec and import both fail
    ran = invoke(capsys, _run(data[0], tmp_path / "out", "--predictions", "pred", "--mlflow"), exit_code=2)
    assert "--mlflow needs MLflow" in ran.err and "fairgate[mlflow]" in ran.err
    assert not (tmp_path / "out").exists()


def test_model_from_registry_skops(tracking, data, tmp_path, capsys):
    path, frame = data
    model = _model(frame)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="model", serialization_format="skops", registered_model_name="hire")
    out = tmp_path / "out"
    for uri in ("models:/hire/1", info.model_uri):
        invoke(capsys, _run(path, out, "--model", uri, "--format", "json"), exit_code=1)
        document = json.loads((out / "results.json").read_text(encoding="utf-8"))
        assert document["audit"]["predictions"]["source"] == "model"
        model_input = next(i for i in document["provenance"]["inputs"] if i["role"] == "model")
        assert model_input["path"].endswith("model.skops")
    # the same decisions as the model itself makes
    selected = model.predict(frame[["x1", "x2"]])
    groups = {g["id"]: g for g in document["groups"] if g["scope"] == "group"}
    for name, group in groups.items():
        expected = selected[frame["group"] == name.split("=")[-1]].mean()
        assert group["metrics"]["selection_rate"]["value"] == pytest.approx(expected)


def test_model_from_run_onnx(tracking, data, tmp_path, capsys):
    path, frame = data
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    onnx_model = to_onnx(
        _model(frame), frame[["x1", "x2"]].to_numpy()[:1], options={LogisticRegression: {"zipmap": False}}
    )
    with mlflow.start_run() as run:
        mlflow.onnx.log_model(onnx_model, name="model", save_as_external_data=False)
    out = tmp_path / "out"
    invoke(
        capsys,
        _run(path, out, "--model", f"runs:/{run.info.run_id}/model", "--features", "x1,x2", "--format", "json"),
        exit_code=1,
    )
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert next(i for i in document["provenance"]["inputs"] if i["role"] == "model")["path"].endswith(".onnx")


class _Bomb:
    """Unpickling this writes a file: proof that something unpickled it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_flavor_refused_never_unpickled(tracking, data, tmp_path, capsys):
    marker = tmp_path / "unpickled"
    model_dir = tmp_path / "pickled-model"
    model_dir.mkdir()
    (model_dir / "model.pkl").write_bytes(pickle.dumps(_Bomb(str(marker))))
    (model_dir / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    pickled_model: model.pkl\n    serialization_format: cloudpickle\n"
        "  python_function:\n    loader_module: mlflow.sklearn\n",
        encoding="utf-8",
    )
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(model_dir), artifact_path="model")
    ran = invoke(capsys, _run(data[0], tmp_path / "out", "--model", f"runs:/{run.info.run_id}/model"), exit_code=2)
    error = [line for line in ran.err.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "loads only by unpickling, which Fairgate never does" in error[0]
    assert "serialization_format='skops'" in ran.err
    assert not marker.exists()


def test_artifact_folder_without_mlmodel(tracking, data, tmp_path, capsys):
    """A run's plain artifact folder holding one .skops file is accepted; one with a .pkl is not."""
    import skops.io

    path, frame = data
    folder = tmp_path / "plain"
    folder.mkdir()
    skops.io.dump(_model(frame), folder / "clf.skops")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(folder), artifact_path="plain")
        (tmp_path / "pkl").mkdir()
        (tmp_path / "pkl" / "clf.pkl").write_bytes(b"not read")
        mlflow.log_artifacts(str(tmp_path / "pkl"), artifact_path="pkl")
    invoke(
        capsys,
        _run(path, tmp_path / "out", "--model", f"runs:/{run.info.run_id}/plain", "--format", "json"),
        exit_code=1,
    )
    ran = invoke(capsys, _run(path, tmp_path / "out2", "--model", f"runs:/{run.info.run_id}/pkl"), exit_code=2)
    assert "no MLmodel file and no .skops/.onnx files" in ran.err


def test_unknown_uri_is_an_input_error(tracking, data, tmp_path, capsys):
    ran = invoke(capsys, _run(data[0], tmp_path / "out", "--model", "models:/nothing/7"), exit_code=2)
    assert "cannot download it from MLflow" in ran.err
