"""Load a model file and get its predictions without running code that came with the file.

Security stance
---------------
A model under audit is untrusted input: it may come from the team whose release the audit gates.
Loading it must not let the file run code on the auditing machine (which also holds signing keys),
and a file that tries should be refused with a clear message, not half-loaded.

* ``.skops`` files are loaded with skops, which rebuilds objects from a JSON schema instead of
  unpickling them. skops reports every type it does not trust by default; Fairgate then compares
  *each* reported name against its own allow-list (:data:`ALLOWED_TYPE_NAMES`, plus scikit-learn
  estimator classes found by :func:`is_allowed_type`) and refuses the file if any name is outside
  it. Only the names that passed that check are handed to ``skops.io.loads(trusted=...)``; Fairgate
  never passes ``trusted=True`` nor the unchecked output of ``get_untrusted_types``.
* Before skops reads a ``.skops`` archive, its member count and sizes are checked (a small zip can
  unpack to gigabytes): see :mod:`audit.inputs.archive`.
* Some allowed types hold raw index arrays that scikit-learn's compiled code follows without bounds
  checks (decision-tree nodes, histogram-gradient-boosting predictors, sparse matrices). skops can
  only check an object's type, not its contents, so Fairgate checks those structures after loading
  and before any prediction: a crafted file is refused instead of crashing the process or reading
  memory outside the model.
* ``.onnx`` files run in onnxruntime on the CPU provider. The model is read into memory and the
  session is built from those bytes, so the graph cannot pull in other files as "external data".
  No custom-operator libraries are registered.
* ``.pkl`` / ``.pickle`` / ``.joblib`` files are refused: unpickling runs whatever code the file
  names. The one exception is a file whose SHA-256 the caller passes explicitly
  (``trust_pickle_sha256``), a deliberate statement that this exact file is trusted. The bytes are
  hashed and unpickled from the same in-memory copy, so the file cannot change in between.

Every expected failure raises :class:`audit.errors.InputError` with a one-line message naming the
model file. scikit-learn, skops and onnxruntime are imported only when a model is loaded.
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from audit.errors import InputError, UsageError
from audit.inputs.archive import check_skops_archive, check_skops_file_size
from audit.inputs.model_checks import check_native_structures
from audit.inputs.provenance import sha256_file  # noqa: F401  (re-exported for callers)

ModelKind = Literal["skops", "onnx", "pickle", "estimator"]

#: Predictions are computed in slices of at most this many rows, so memory stays bounded.
BATCH_ROWS = 100_000

SKOPS_SUFFIXES = (".skops",)
ONNX_SUFFIXES = (".onnx",)
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")

#: Exact type names Fairgate accepts in a skops file beyond what skops trusts by default.
#: Each entry was seen in a dump of an ordinary scikit-learn model and reviewed; see the comments.
ALLOWED_TYPE_NAMES: frozenset[str] = frozenset(
    {
        # Plain Python values that skops reports: a type object ``object`` (for example
        # make_column_selector(dtype_include=object)) and ordered dicts (older estimators).
        "builtins.object",
        "collections.OrderedDict",
        # ``functools.partial`` wraps check_array inside HistGradientBoosting's categorical
        # preprocessor. skops reports the wrapped function separately, so it is checked too.
        "functools.partial",
        # dtype objects stored as estimator parameters (for example KBinsDiscretizer(dtype=...)).
        "numpy.dtype",
        # Sparse matrices (linear models after .sparsify(), SVMs fitted on sparse data); their
        # index arrays are fully checked after loading.
        "scipy.sparse._csr.csr_matrix",
        "scipy.sparse._csc.csc_matrix",
        "scipy.sparse._csr.csr_array",
        "scipy.sparse._csc.csc_array",
        # scikit-learn helpers that are not estimators (pure Python, no native index arrays).
        "sklearn.utils._bunch.Bunch",  # named_estimators_ of Voting/Stacking
        "sklearn.calibration._CalibratedClassifier",  # CalibratedClassifierCV
        "sklearn.compose._column_transformer.make_column_selector",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",  # MLP (used in fit only)
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn.utils.validation.check_array",  # the function wrapped by the partial above
        # Tree storage that skops deliberately does not trust by default (compiled code follows
        # its node indices without bounds checks). Allowed only because Fairgate validates every
        # instance after loading: see _check_native_structures().
        "sklearn.tree._tree.Tree",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    }
)

#: Names under this prefix are accepted when they name a scikit-learn estimator or transformer
#: class (a ``sklearn.base.BaseEstimator`` subclass defined in scikit-learn). Functions and other
#: classes under ``sklearn.`` (such as KDTree or dump_svmlight_file) are not.
ALLOWED_ESTIMATOR_PREFIX = "sklearn."

_MAX_SHOWN = 300  # characters of a foreign string (type name, error) shown in one message


@dataclass(frozen=True, kw_only=True)
class LoadedModel:
    """A model ready to predict on a DataFrame; see :func:`load_model`."""

    kind: ModelKind
    path: Path
    feature_names: tuple[str, ...] | None
    classes: tuple[Any, ...] | None
    sha256: str
    _runner: _Runner = field(repr=False, compare=False)

    def predict(self, frame: pd.DataFrame, *, features: Sequence[str] | None = None) -> np.ndarray:
        """Hard label predictions, one per row of ``frame`` (1-D, in row order).

        ``features`` names the model's input columns when the model does not record them (or to
        override the names an ONNX model's inputs carry: they are fed in the order given). Other
        columns of ``frame`` are ignored. Rows are predicted in batches of :data:`BATCH_ROWS`.
        """
        columns = self._columns(frame, features)
        result = self._batched(frame, columns, run=self._runner.labels)
        assert result is not None  # labels() never returns None
        return result

    def predict_scores(self, frame: pd.DataFrame, *, features: Sequence[str] | None = None) -> np.ndarray | None:
        """Probability of the positive class (the second of two classes) per row, or None.

        None when the model exposes no probabilities or is not a binary classifier.
        """
        if not self._runner.may_score:
            return None
        columns = self._columns(frame, features)
        return self._batched(frame, columns, run=self._runner.scores)

    def _columns(self, frame: pd.DataFrame, features: Sequence[str] | None) -> tuple[str, ...]:
        if isinstance(features, str):
            raise TypeError("features must be a sequence of column names, not one string")
        if features is not None:
            columns = tuple(features)
        elif self.feature_names is not None:
            columns = self.feature_names
        else:
            raise InputError(
                f"{self.path}: the model does not record its feature names",
                hint="pass --features col1,col2,... (in the order the model was trained on)",
            )
        if not columns:
            raise InputError(f"{self.path}: no feature columns were given for the model")
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise InputError(
                f"{self.path}: the data has no column(s) {_names(missing, quote=True)} that the model needs",
                hint="check the dataset's header, or pass --features to name the model's inputs",
            )
        return self._runner.arrange(columns, self.path)

    def _batched(
        self,
        frame: pd.DataFrame,
        columns: tuple[str, ...],
        *,
        run: Callable[[pd.DataFrame], np.ndarray | None],
    ) -> np.ndarray | None:
        parts: list[np.ndarray] = []
        for start in range(0, len(frame), BATCH_ROWS):
            batch = frame.iloc[start : start + BATCH_ROWS][list(columns)]
            try:
                values = run(batch)
            except InputError:
                raise
            except Exception as exc:  # raised by the model's own code: report, never a traceback
                raise InputError(
                    f"{self.path}: the model failed to predict: {_one_line(exc)}",
                    hint="check that the columns and their types match what the model was trained on",
                ) from exc
            if values is None:
                return None
            parts.append(_one_per_row(values, rows=len(batch), path=self.path))
        return np.concatenate(parts) if parts else np.empty(0)


class _Runner(Protocol):
    """What LoadedModel needs from a backend (scikit-learn object or ONNX session)."""

    may_score: bool

    def arrange(self, columns: tuple[str, ...], path: Path) -> tuple[str, ...]: ...

    def labels(self, batch: pd.DataFrame) -> np.ndarray: ...

    def scores(self, batch: pd.DataFrame) -> np.ndarray | None: ...


def load_model(path: Path, *, trust_pickle_sha256: str | None = None) -> LoadedModel:
    """Load ``path`` (.skops, .onnx; .pkl/.pickle/.joblib only with a matching SHA-256).

    Raises :class:`InputError` for a missing, unreadable, unsupported, refused or corrupt file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SKOPS_SUFFIXES:
        return _load_skops(path)
    if suffix in ONNX_SUFFIXES:
        return _load_onnx(path)
    if suffix in PICKLE_SUFFIXES:
        return _load_pickle(path, trust_pickle_sha256)
    _require_file(path)  # a missing file is reported as missing, whatever its name
    supported = ", ".join(SKOPS_SUFFIXES + ONNX_SUFFIXES + PICKLE_SUFFIXES)
    raise InputError(
        f"{path}: unsupported model format {suffix or '(no suffix)'!r}; supported: {supported}",
        hint="save scikit-learn models with skops.io.dump(model, 'model.skops'), or export to ONNX",
    )


def from_estimator(estimator: Any, *, name: str) -> LoadedModel:
    """A fitted scikit-learn estimator held in memory (the Python API), ready to predict like a file's.

    Nothing is loaded, so nothing needs refusing: the estimator is the caller's own object. Its
    identity is :func:`estimator_sha256`; ``name`` stands in for a file path in messages and evidence.
    """
    return _sklearn_model("estimator", Path(name), model=estimator, sha256=estimator_sha256(estimator, name=name))


#: The object ids skops writes (``"__id__": 1398…`` and the ``1398….npy`` members) are memory addresses.
_SKOPS_IDS = re.compile(rb'(?<="__id__": )\d+|\d+(?=\.npy)')


def estimator_sha256(estimator: Any, *, name: str) -> str:
    """The sha256 of the estimator's skops serialisation, made deterministic.

    ``skops.io.dumps`` is not byte-identical from run to run: its zip members carry the time of the
    dump, and its object ids (and the names of the array members) are memory addresses. So the hash
    is over the archive's content with those normalised: ``schema.json`` with every id renumbered in
    order of first appearance, then each array member in that order (its renumbered name and bytes).
    The same fitted estimator (a copy, another process) gives the same hash with the same skops,
    scikit-learn and NumPy; it is not the sha256 of a ``.skops`` file that ``skops.io.dump`` writes.
    """
    import zipfile

    import skops.io

    try:
        data = skops.io.dumps(estimator)
    except Exception as exc:  # an object skops cannot represent: no identity to record
        raise InputError(
            f"{name}: skops cannot serialise this model to identify it ({_one_line(exc)})",
            hint="audit a scikit-learn estimator (or Pipeline), or save the model to a file first",
        ) from exc
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = archive.read("schema.json")
        order: dict[bytes, bytes] = {}
        for match in _SKOPS_IDS.finditer(schema):
            order.setdefault(match.group(), str(len(order)).encode())
        digest = hashlib.sha256(_SKOPS_IDS.sub(lambda m: order[m.group()], schema))
        for original, number in order.items():
            member = original.decode() + ".npy"
            if member in archive.namelist():
                digest.update(b"\0" + number + b".npy\0" + archive.read(member))
    return digest.hexdigest()


def is_allowed_type(name: str) -> bool:
    """Whether a type name reported by skops is on Fairgate's allow-list."""
    if name in ALLOWED_TYPE_NAMES:
        return True
    return name.startswith(ALLOWED_ESTIMATOR_PREFIX) and _is_sklearn_estimator_class(name)


# --- reading files ----------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    _require_file(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the model file ({exc.strerror or exc})") from exc


def _require_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: model file not found", hint="check the --model path")
    if not path.is_file():
        raise InputError(f"{path}: is not a file", hint="pass the model file itself")


# --- skops ------------------------------------------------------------------------------------


def _load_skops(path: Path) -> LoadedModel:
    _require_file(path)
    check_skops_file_size(path, path.stat().st_size)
    data = _read_bytes(path)
    check_skops_archive(path, data)  # sizes and member count, before skops unpacks anything
    import skops.io

    reported = _skops_step(path, lambda: skops.io.get_untrusted_types(data=data))
    refused = [name for name in reported if not is_allowed_type(name)]
    if refused:
        raise InputError(
            f"{path}: refusing to load type(s) {_names(refused)} that are not on Fairgate's allow-list",
            hint="Fairgate audits only models built from scikit-learn components; "
            "convert custom code to ONNX (for example with skl2onnx) and audit the .onnx file",
        )
    checked = [name for name in reported if is_allowed_type(name)]
    model = _skops_step(path, lambda: skops.io.loads(data, trusted=checked))
    check_native_structures(model, path)
    return _sklearn_model("skops", path, model=model, sha256=hashlib.sha256(data).hexdigest())


def _skops_step(path: Path, step: Callable[[], Any]) -> Any:
    try:
        return step()
    except Exception as exc:  # zip, JSON, schema or construction errors from a damaged file
        raise InputError(
            f"{path}: not a readable skops model ({_one_line(exc)})",
            hint="re-save the model with skops.io.dump(model, 'model.skops')",
        ) from exc


def _is_sklearn_estimator_class(name: str) -> bool:
    import skops.io  # noqa: F401  (on import, skops imports every public scikit-learn module)
    from sklearn.base import BaseEstimator

    found = _find_loaded(name)
    return (
        isinstance(found, type)
        and issubclass(found, BaseEstimator)
        and f"{found.__module__}.{found.__qualname__}" == name
    )


def _find_loaded(name: str) -> object | None:
    """Look ``name`` up among modules that are already imported; never imports anything.

    A name from the file therefore cannot make Fairgate import a module (and run its top-level
    code) before the file has passed the allow-list.
    """
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        found: object | None = sys.modules.get(".".join(parts[:cut]))
        for attribute in parts[cut:]:
            namespace = getattr(found, "__dict__", None)
            found = namespace.get(attribute) if namespace is not None else None
        if found is not None:
            return found
    return None


# --- scikit-learn objects (skops or trusted pickle) -------------------------------------------


def _sklearn_model(kind: ModelKind, path: Path, *, model: Any, sha256: str) -> LoadedModel:
    if not callable(getattr(model, "predict", None)):
        raise InputError(
            f"{path}: the file holds a {type(model).__name__}, which has no predict() method",
            hint="save the fitted model (estimator or Pipeline) itself",
        )
    runner = _SklearnRunner(model)
    return LoadedModel(
        kind=kind,
        path=path,
        feature_names=runner.feature_names,
        classes=runner.classes,
        sha256=sha256,
        _runner=runner,
    )


class _SklearnRunner:
    def __init__(self, model: Any) -> None:
        self.model = model
        names = _get(model, "feature_names_in_")
        self.feature_names = tuple(str(n) for n in names) if names is not None else None
        classes = np.asarray(_get(model, "classes_"), dtype=object)
        self.classes = tuple(classes.tolist()) if classes.ndim == 1 else None
        binary = self.classes is not None and len(self.classes) == 2
        self.may_score = binary and callable(_get(model, "predict_proba"))

    def arrange(self, columns: tuple[str, ...], path: Path) -> tuple[str, ...]:
        if self.feature_names is None or columns == self.feature_names:
            return columns
        if set(columns) == set(self.feature_names):
            return self.feature_names  # same columns in another order: use the model's order
        raise InputError(
            f"{path}: the feature columns given ({_names(columns, quote=True)}) differ from "
            f"those the model records ({_names(self.feature_names, quote=True)})",
            hint="leave --features out to use the model's own feature names",
        )

    def _inputs(self, batch: pd.DataFrame) -> Any:
        # A model fitted on a NumPy array warns when given a DataFrame: give it an array.
        return batch if self.feature_names is not None else batch.to_numpy()

    def labels(self, batch: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model.predict(self._inputs(batch)))

    def scores(self, batch: pd.DataFrame) -> np.ndarray | None:
        probabilities = np.asarray(self.model.predict_proba(self._inputs(batch)))
        if probabilities.ndim != 2 or probabilities.shape[1] != 2:
            return None
        return probabilities[:, 1].astype(np.float64)


def _get(obj: object, name: str) -> Any:
    try:
        return getattr(obj, name, None)
    except Exception:  # an estimator property that raises (e.g. unfitted step) means "absent"
        return None


# --- pickle -----------------------------------------------------------------------------------


def check_trusted_sha256(value: str) -> str:
    """``--trust-pickle``'s value as 64 lower-case hex digits; anything else is refused up front."""
    digest = value.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise UsageError(
            f"--trust-pickle {value!r}: not a SHA-256 (64 hexadecimal digits)",
            hint="pass the model file's hash as `sha256sum model.pkl` prints it",
        )
    return digest


def _load_pickle(path: Path, trusted_sha256: str | None) -> LoadedModel:
    if trusted_sha256 is None:
        _require_file(path)  # report a missing file as missing; nothing is read
        raise InputError(
            f"{path}: refusing to unpickle: loading a pickle/joblib file runs any code inside it",
            hint="where the model was trained, save it with skops.io.dump(model, 'model.skops') "
            "and audit that file; to load this exact file anyway, pass its SHA-256 "
            "(sha256sum) with --trust-pickle",
        )
    trusted_sha256 = check_trusted_sha256(trusted_sha256)
    data = _read_bytes(path)
    actual = hashlib.sha256(data).hexdigest()
    if trusted_sha256 != actual:
        raise InputError(
            f"{path}: the trusted pickle hash does not match the file (its SHA-256 is {actual})",
            hint="check where this file came from before trusting that hash",
        )
    import joblib

    try:
        model = joblib.load(io.BytesIO(data))  # the same bytes that were hashed
    except Exception as exc:
        raise InputError(
            f"{path}: not a readable pickle file ({_one_line(exc)})",
            hint="save the model again (skops.io.dump is safer than pickle)",
        ) from exc
    return _sklearn_model("pickle", path, model=model, sha256=actual)


# --- ONNX -------------------------------------------------------------------------------------

_ONNX_DTYPES: dict[str, Any] = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": object,
}


def _load_onnx(path: Path) -> LoadedModel:
    data = _read_bytes(path)
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: no warnings printed to stderr
    try:
        session = onnxruntime.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise InputError(
            f"{path}: not a valid ONNX model ({_one_line(exc)})",
            hint="export the model again (for example with skl2onnx); models with external "
            "data files are not supported",
        ) from exc
    runner = _OnnxRunner(session, path)
    sha256 = hashlib.sha256(data).hexdigest()
    return LoadedModel(
        kind="onnx",
        path=path,
        feature_names=runner.feature_names,
        classes=None,
        sha256=sha256,
        _runner=runner,
    )


class _OnnxRunner:
    def __init__(self, session: Any, path: Path) -> None:
        self.session = session
        self.path = path
        self.inputs = session.get_inputs()
        outputs = session.get_outputs()
        if not self.inputs or not outputs or not outputs[0].type.startswith("tensor("):
            raise InputError(
                f"{path}: the ONNX model needs at least one input, and a label tensor as its first output",
                hint="export a classifier whose first output is the predicted label",
            )
        for spec in self.inputs:
            if spec.type not in _ONNX_DTYPES or len(spec.shape) != 2:
                raise InputError(
                    f"{path}: ONNX input {_one_line(spec.name)!r} is {_one_line(spec.type)} "
                    f"with shape {spec.shape}; Fairgate needs 2-D numeric or string tensors",
                    hint="export a tabular model: one [n, 1] input per column or one [n, k] input",
                )
        self.per_column = len(self.inputs) > 1 or self.inputs[0].shape[1] == 1
        self.feature_names = tuple(s.name for s in self.inputs) if self.per_column else None
        self.label_output = outputs[0].name
        self.score_output = outputs[1].name if len(outputs) > 1 else None
        self.may_score = self.score_output is not None

    def arrange(self, columns: tuple[str, ...], path: Path) -> tuple[str, ...]:
        expected = len(self.inputs) if self.per_column else self.inputs[0].shape[1]
        if isinstance(expected, int) and len(columns) != expected:
            raise InputError(
                f"{path}: the model takes {expected} feature column(s) but {len(columns)} "
                f"were given ({_names(columns, quote=True)})",
                hint="pass --features with the model's columns in training order",
            )
        return columns

    def _feed(self, batch: pd.DataFrame) -> dict[str, np.ndarray]:
        if self.per_column:
            return {
                spec.name: _column_values(batch[column], spec, path=self.path).reshape(-1, 1)
                for spec, column in zip(self.inputs, batch.columns, strict=True)
            }
        spec = self.inputs[0]
        stacked = np.column_stack([_column_values(batch[c], spec, path=self.path) for c in batch.columns])
        return {spec.name: stacked}

    def labels(self, batch: pd.DataFrame) -> np.ndarray:
        (labels,) = self.session.run([self.label_output], self._feed(batch))
        return np.asarray(labels)

    def scores(self, batch: pd.DataFrame) -> np.ndarray | None:
        (probabilities,) = self.session.run([self.score_output], self._feed(batch))
        return _positive_probability(probabilities)


def _column_values(column: pd.Series, spec: Any, *, path: Path) -> np.ndarray:
    """One frame column as the dtype the ONNX input declares; InputError if it cannot be."""
    dtype = _ONNX_DTYPES[spec.type]
    problem = _conversion_problem(column, dtype)
    if problem:
        raise InputError(
            f"{path}: column {_one_line(column.name)!r} {problem}, but the model's input "
            f"{_one_line(spec.name)!r} is {spec.type}",
            hint="clean or re-encode the column the way the model was trained",
        )
    if dtype is object:
        return column.astype(str).to_numpy(dtype=object)
    if column.dtype.kind in "iub":
        return column.to_numpy().astype(dtype)
    return column.to_numpy(dtype=np.float64, na_value=np.nan).astype(dtype)


def _conversion_problem(column: pd.Series, dtype: Any) -> str | None:
    floating = dtype in (np.float32, np.float64)
    if not floating and column.isna().any():
        return "has missing values"
    if dtype is object:
        return None
    if column.dtype.kind in "iub":
        values = column.to_numpy()
    else:
        try:
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        except (ValueError, TypeError):
            return "is not numeric"
    if not floating and not np.array_equal(values.astype(dtype), values):
        return "has values the input type cannot hold exactly"
    return None


def _positive_probability(output: Any) -> np.ndarray | None:
    """Second-class probability from a [n, 2] tensor or a ZipMap list of {class: p} dicts."""
    if isinstance(output, list):
        if not all(isinstance(row, dict) and len(row) == 2 for row in output):
            return None
        return np.array([row[sorted(row)[1]] for row in output], dtype=np.float64)
    probabilities = np.asarray(output)
    if probabilities.ndim != 2 or probabilities.shape[1] != 2:
        return None
    return probabilities[:, 1].astype(np.float64)


# --- shared helpers ---------------------------------------------------------------------------


def _one_per_row(values: np.ndarray, *, rows: int, path: Path) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or len(values) != rows:
        raise InputError(
            f"{path}: the model returned {values.shape[0] if values.ndim else 0} prediction(s) "
            f"of shape {values.shape[1:]} for {rows} row(s); Fairgate needs one label per row",
            hint="audit a single-output classifier",
        )
    return values


def _one_line(value: object) -> str:
    """Text from a file or a library as one printable line, shortened (no control characters)."""
    text = " ".join(str(value).split()) or type(value).__name__
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _names(names: Sequence[object], *, quote: bool = False, shown: int = 10) -> str:
    cleaned = [_one_line(name) for name in names[:shown]]
    listed = ", ".join(repr(name) if quote else name for name in cleaned)
    return listed + (f" and {len(names) - shown} more" if len(names) > shown else "")
