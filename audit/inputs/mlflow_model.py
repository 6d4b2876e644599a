"""A model named by an MLflow URI (``models:/name/1``, ``models:/m-…``, ``runs:/<run id>/model``), fetched as a
local file that :func:`audit.inputs.model.load_model` then loads with its own safe loaders.

Only flavors that load without pickle are accepted: the ONNX flavor, and the scikit-learn flavor saved with
``serialization_format="skops"``. Fairgate never calls ``mlflow.<flavor>.load_model`` (the sklearn flavor
unpickles by default, and pyfunc runs the model's own code): it downloads the model's artifact directory,
reads its ``MLmodel`` file as YAML, and hands the ``.onnx`` or ``.skops`` file to the loaders Fairgate
uses for any file (skops with Fairgate's allow-list, onnxruntime on the CPU). A directory without an
``MLmodel`` file (an artifact folder of a run) is accepted when it holds exactly one ``.skops`` or
``.onnx`` file. Anything else exits 2 with the reason; nothing is unpickled.

MLflow is optional (``pip install 'fairgate[mlflow]'``) and imported only here, when such a URI is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from audit.errors import InputError

#: URI schemes that name an MLflow model or run artifact.
SCHEMES = ("models:/", "runs:/")
INSTALL_HINT = "install the optional extra: pip install 'fairgate[mlflow]'"
PICKLE_HINT = (
    "log the model with mlflow.sklearn.log_model(model, name=..., serialization_format='skops') or "
    "mlflow.onnx.log_model, or pass a .skops or .onnx file to --model"
)


def is_mlflow_uri(value: object) -> bool:
    """Whether ``value`` (as typed for --model) names an MLflow model rather than a file."""
    return isinstance(value, str | Path) and str(value).startswith(SCHEMES)


def fetch_model(uri: str, dest: Path) -> Path:
    """Download the model ``uri`` into ``dest`` and return the one file Fairgate may load from it."""
    try:
        import mlflow.artifacts
    except ImportError:
        raise InputError(f"--model {uri}: reading an MLflow model needs MLflow", hint=INSTALL_HINT) from None
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dest)))
    except Exception as exc:  # MlflowException, OSError: the URI names nothing this tracking server has
        raise InputError(
            f"--model {uri}: cannot download it from MLflow ({_one_line(exc)})",
            hint="check the URI and MLFLOW_TRACKING_URI (and MLFLOW_REGISTRY_URI for models:/)",
        ) from None
    return model_file(local, uri=uri)


def model_file(local: Path, *, uri: str) -> Path:
    """The ``.onnx`` or skops ``.skops`` file of a downloaded MLflow model (or artifact directory)."""
    if local.is_file():
        if local.suffix.lower() in (".onnx", ".skops"):
            return local
        raise InputError(f"--model {uri}: {local.name} is neither a .skops nor an .onnx file", hint=PICKLE_HINT)
    mlmodel = local / "MLmodel"
    if mlmodel.is_file():
        return _from_flavors(local, _flavors(mlmodel, uri), uri=uri)
    found = sorted(p for p in local.rglob("*") if p.suffix.lower() in (".onnx", ".skops") and p.is_file())
    if len(found) == 1:
        return found[0]
    raise InputError(
        f"--model {uri}: no MLmodel file and {'no' if not found else len(found)} .skops/.onnx files in its artifacts",
        hint=PICKLE_HINT if not found else "name the one file: runs:/<run id>/<path of the .skops or .onnx file>",
    )


def _flavors(mlmodel: Path, uri: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"--model {uri}: its MLmodel file is unreadable ({_one_line(exc)})") from None
    flavors = data.get("flavors") if isinstance(data, dict) else None
    if not isinstance(flavors, dict):
        raise InputError(f"--model {uri}: its MLmodel file names no flavors")
    return flavors


def _from_flavors(local: Path, flavors: dict[str, Any], *, uri: str) -> Path:
    onnx = flavors.get("onnx")
    sklearn = flavors.get("sklearn")
    if isinstance(onnx, dict) and onnx.get("data"):
        return _inside(local, str(onnx["data"]), uri=uri)
    if isinstance(sklearn, dict) and sklearn.get("serialization_format") == "skops" and sklearn.get("pickled_model"):
        return _inside(local, str(sklearn["pickled_model"]), uri=uri)
    names = ", ".join(sorted(flavors))
    how = (
        f"serialization_format {sklearn.get('serialization_format')!r}"
        if isinstance(sklearn, dict)
        else f"flavor {names}"
    )
    raise InputError(
        f"--model {uri}: this MLflow model ({how}) loads only by unpickling, which Fairgate never does",
        hint=PICKLE_HINT,
    )


def _inside(local: Path, relative: str, *, uri: str) -> Path:
    path = (local / relative).resolve()
    if local.resolve() not in path.parents or not path.is_file():
        raise InputError(f"--model {uri}: its MLmodel names {relative!r}, which is not a file of the model")
    return path


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text[:200] + "…" if len(text) > 200 else text) or type(exc).__name__
