"""Loading model files safely and predicting with them (audit/inputs/model.py).

Models are trained here on a small synthetic frame, saved to tmp_path and loaded back; every
prediction is compared with the in-memory scikit-learn model it came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.datasets import dump_svmlight_file
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from audit.errors import InputError
from audit.inputs import model as model_module
from audit.inputs.model import is_allowed_type, load_model, sha256_file

NUMERIC = ["age", "income", "visits"]
FEATURES = [*NUMERIC, "region"]


# --- data and models (fitted once per module) -------------------------------------------------


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    data = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "income": rng.normal(50, 15, n),
            "visits": rng.integers(0, 6, n),
            "region": rng.choice(["north", "south", "east"], n),
            "sex": rng.choice(["F", "M"], n),  # a sensitive column the models never see
        }
    )
    signal = 0.08 * (data["age"] - 40) + (data["region"] == "south") + rng.normal(0, 1, n)
    data["outcome"] = (signal > 0.3).astype(int)
    return data


@pytest.fixture(scope="module")
def pipeline(frame: pd.DataFrame) -> Pipeline:
    prep = ColumnTransformer([("num", StandardScaler(), NUMERIC), ("cat", OneHotEncoder(), ["region"])])
    return Pipeline([("prep", prep), ("clf", LogisticRegression())]).fit(frame[FEATURES], frame["outcome"])


@pytest.fixture(scope="module")
def boosting(frame: pd.DataFrame) -> HistGradientBoostingClassifier:
    model = HistGradientBoostingClassifier(max_iter=15, random_state=0)
    return model.fit(frame[NUMERIC], frame["outcome"])


@pytest.fixture(scope="module")
def numeric_pipeline(frame: pd.DataFrame) -> Pipeline:
    model = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    return model.fit(frame[NUMERIC], frame["outcome"])


def _dump(model: object, path: Path) -> Path:
    skops.io.dump(model, path)
    return path


def _onnx_bytes(model: Pipeline, sample: object, *, zipmap: bool) -> bytes:
    from skl2onnx import to_onnx

    options = None if zipmap else {LogisticRegression: {"zipmap": False}}
    return to_onnx(model, sample, options=options).SerializeToString()


# --- skops: loads and predicts exactly like the in-memory model -------------------------------


def test_skops_pipeline_predicts_like_scikit_learn(tmp_path, frame, pipeline):
    path = _dump(pipeline, tmp_path / "model.skops")

    loaded = load_model(path)

    assert loaded.kind == "skops"
    assert loaded.path == path
    assert loaded.feature_names == tuple(FEATURES)
    assert loaded.classes == (0, 1)
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() == sha256_file(path)
    labels = loaded.predict(frame)  # extra columns (sex, outcome) are ignored
    assert labels.shape == (len(frame),)
    np.testing.assert_array_equal(labels, pipeline.predict(frame[FEATURES]))
    scores = loaded.predict_scores(frame)
    np.testing.assert_array_equal(scores, pipeline.predict_proba(frame[FEATURES])[:, 1])


def test_skops_gradient_boosting_predicts_like_scikit_learn(tmp_path, frame, boosting):
    loaded = load_model(_dump(boosting, tmp_path / "hgb.skops"))

    assert loaded.feature_names == tuple(NUMERIC)
    np.testing.assert_array_equal(loaded.predict(frame), boosting.predict(frame[NUMERIC]))
    np.testing.assert_array_equal(loaded.predict_scores(frame), boosting.predict_proba(frame[NUMERIC])[:, 1])


def test_skops_categorical_gradient_boosting_with_string_classes(tmp_path, frame):
    # Native categorical support adds functools.partial(check_array) and a preprocessor.
    data = frame[FEATURES].assign(region=frame["region"].astype("category"))
    target = np.where(frame["outcome"] == 1, "approve", "deny")
    model = HistGradientBoostingClassifier(max_iter=10, categorical_features="from_dtype", random_state=0).fit(
        data, target
    )

    loaded = load_model(_dump(model, tmp_path / "hgb_cat.skops"))

    assert loaded.classes == ("approve", "deny")
    np.testing.assert_array_equal(loaded.predict(data), model.predict(data))
    np.testing.assert_array_equal(loaded.predict_scores(data), model.predict_proba(data)[:, 1])


def test_column_order_in_the_frame_does_not_matter(tmp_path, frame, pipeline):
    loaded = load_model(_dump(pipeline, tmp_path / "model.skops"))
    shuffled = frame[["region", "sex", *reversed(NUMERIC)]]

    np.testing.assert_array_equal(loaded.predict(shuffled), pipeline.predict(frame[FEATURES]))
    reordered = loaded.predict(frame, features=list(reversed(FEATURES)))  # same set: model order
    np.testing.assert_array_equal(reordered, pipeline.predict(frame[FEATURES]))


def test_features_other_than_the_recorded_ones_are_refused(tmp_path, frame, pipeline):
    loaded = load_model(_dump(pipeline, tmp_path / "model.skops"))

    with pytest.raises(InputError, match="differ from those the model records") as info:
        loaded.predict(frame, features=[*NUMERIC, "sex"])
    assert str(tmp_path / "model.skops") in str(info.value)


# --- skops: the allow-list --------------------------------------------------------------------


def _double(values):
    return values * 2


class HomeMadeClassifier(LogisticRegression):
    """A scikit-learn subclass, but defined outside scikit-learn: not allow-listed."""


def test_function_from_outside_scikit_learn_is_refused_and_named(tmp_path, frame):
    model = Pipeline([("double", FunctionTransformer(_double)), ("clf", LogisticRegression())]).fit(
        frame[NUMERIC], frame["outcome"]
    )
    path = _dump(model, tmp_path / "custom.skops")

    with pytest.raises(InputError) as info:
        load_model(path)

    message = str(info.value)
    assert message.startswith(f"{path}: refusing to load type(s) ")
    assert f"{_double.__module__}._double" in message
    assert "allow-list" in message
    assert "ONNX" in info.value.hint


def test_custom_estimator_class_is_refused_even_if_it_subclasses_scikit_learn(tmp_path, frame):
    model = HomeMadeClassifier().fit(frame[NUMERIC], frame["outcome"])

    with pytest.raises(InputError) as info:
        load_model(_dump(model, tmp_path / "custom.skops"))

    assert f"{HomeMadeClassifier.__module__}.HomeMadeClassifier" in str(info.value)


@pytest.mark.parametrize(
    ("make", "refused"),
    [
        # a scikit-learn *function* that writes files: the sklearn prefix covers classes only
        (
            lambda: FunctionTransformer(dump_svmlight_file),
            "sklearn.datasets._svmlight_format_io.dump_svmlight_file",
        ),
        # compiled index structures that Fairgate does not validate
        (lambda: KNeighborsClassifier(algorithm="kd_tree"), "sklearn.neighbors._kd_tree.KDTree"),
    ],
    ids=["sklearn-function", "kd-tree"],
)
def test_scikit_learn_names_outside_the_vetted_set_are_refused(tmp_path, frame, make, refused):
    model = make()
    if hasattr(model, "predict"):
        model.fit(frame[NUMERIC], frame["outcome"])

    with pytest.raises(InputError, match="refusing to load type") as info:
        load_model(_dump(model, tmp_path / "model.skops"))

    assert refused in str(info.value)


def test_allow_list_decisions():
    assert is_allowed_type("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor")
    assert is_allowed_type("sklearn.calibration._SigmoidCalibration")  # estimator subclass
    assert is_allowed_type("numpy.dtype")
    assert not is_allowed_type("sklearn.utils.validation.column_or_1d")  # function
    assert not is_allowed_type("sklearn.neighbors._ball_tree.BallTree")
    assert not is_allowed_type("sklearn.no_such_module.Thing")
    assert not is_allowed_type("sklearnx.LogisticRegression")
    assert not is_allowed_type("posix.system")
    assert not is_allowed_type("builtins.eval")


def test_crafted_type_name_is_reported_on_one_line(tmp_path, frame, numeric_pipeline):
    original = _dump(numeric_pipeline, tmp_path / "model.skops")
    crafted = tmp_path / "crafted.skops"
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(crafted, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "schema.json":
                schema = json.loads(data)
                schema["__module__"] = "posix\nerror: all checks passed\x1b[2J"
                schema["__class__"] = "system"
                data = json.dumps(schema).encode()
            target.writestr(item, data)

    with pytest.raises(InputError, match="refusing to load type") as info:
        load_model(crafted)

    assert "posix" in str(info.value)
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value)


# --- skops: native structures are checked before anything runs -------------------------------


def _crafted_decision_tree(frame: pd.DataFrame, field: str, value: int) -> DecisionTreeClassifier:
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(frame[NUMERIC], frame["outcome"])
    state = tree.tree_.__getstate__()
    state["nodes"][field][0] = value
    tree.tree_.__setstate__(state)
    return tree  # predicting with this in memory could crash the test process: only dump it


def _crafted_boosting(frame: pd.DataFrame) -> HistGradientBoostingClassifier:
    model = HistGradientBoostingClassifier(max_iter=3, random_state=0)
    model.fit(frame[NUMERIC], frame["outcome"])
    model._predictors[0][0].nodes["left"][0] = 10**6
    return model


def _crafted_gradient_boosting(frame: pd.DataFrame) -> GradientBoostingClassifier:
    model = GradientBoostingClassifier(n_estimators=3, random_state=0)
    model.fit(frame[NUMERIC], frame["outcome"])
    model.estimators_ = np.hstack([model.estimators_] * 4)  # writes past its output columns
    return model


@pytest.mark.parametrize(
    ("craft", "problem"),
    [
        (lambda f: _crafted_decision_tree(f, "left_child", 10_000), "points outside the tree"),
        (lambda f: _crafted_decision_tree(f, "right_child", 0), "points outside the tree"),
        (lambda f: _crafted_decision_tree(f, "feature", 40), "feature the model does not have"),
        (_crafted_boosting, "points outside the tree"),
        (_crafted_gradient_boosting, "trees per stage do not match"),
    ],
    ids=[
        "tree-child-out-of-range",
        "tree-cycle",
        "tree-feature",
        "hist-gradient-boosting",
        "gradient-boosting-stages",
    ],
)
def test_crafted_tree_nodes_are_refused_at_load(tmp_path, frame, craft, problem):
    # Loaded with skops alone and used, such files crash the interpreter (segfault, heap
    # corruption): Fairgate must refuse them before anything predicts.
    path = _dump(craft(frame), tmp_path / "crafted.skops")

    with pytest.raises(InputError, match=problem) as info:
        load_model(path)

    assert str(info.value).startswith(f"{path}: refusing to use the model")


def test_crafted_sparse_matrix_is_refused(tmp_path, frame):
    model = LogisticRegression().fit(frame[NUMERIC], frame["outcome"]).sparsify()
    model.coef_.indices[0] = 99  # column index outside the 3 features

    with pytest.raises(InputError, match="invalid sparse matrix"):
        load_model(_dump(model, tmp_path / "sparse.skops"))


def test_healthy_tree_models_load(tmp_path, frame):
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(frame[NUMERIC], frame["outcome"])

    loaded = load_model(_dump(tree, tmp_path / "tree.skops"))

    np.testing.assert_array_equal(loaded.predict(frame), tree.predict(frame[NUMERIC]))


@pytest.mark.parametrize("content", [b"", b"not a zip file at all", b"PK\x03\x04broken"])
def test_corrupt_skops_file_is_refused(tmp_path, content):
    path = tmp_path / "broken.skops"
    path.write_bytes(content)

    with pytest.raises(InputError, match="not a readable skops model") as info:
        load_model(path)

    assert str(info.value).startswith(str(path))


def test_skops_file_without_a_model_is_refused(tmp_path):
    path = _dump({"weights": [1, 2, 3]}, tmp_path / "dict.skops")

    with pytest.raises(InputError, match=r"has no predict\(\) method"):
        load_model(path)


# --- ONNX -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "names", "tolerance"),
    [
        # one [n, 1] input per column (visits as int64); skl2onnx joins them with the ai.onnx.ml
        # FeatureVectorizer, which computes in float32: scores agree to ~1e-8, not bit for bit
        (lambda f: f[NUMERIC].iloc[:1], tuple(NUMERIC), 1e-6),
        # one [n, 3] double tensor: the graph stays in float64
        (lambda f: f[NUMERIC].to_numpy(dtype=np.float64)[:1], None, 1e-12),
    ],
    ids=["input-per-column", "double-tensor"],
)
def test_onnx_predicts_like_scikit_learn(tmp_path, frame, numeric_pipeline, sample, names, tolerance):
    path = tmp_path / "model.onnx"
    path.write_bytes(_onnx_bytes(numeric_pipeline, sample(frame), zipmap=False))
    features = None if names else NUMERIC

    loaded = load_model(path)

    assert loaded.kind == "onnx"
    assert loaded.feature_names == names
    expected = numeric_pipeline.predict(frame[NUMERIC])
    np.testing.assert_array_equal(loaded.predict(frame, features=features), expected)
    np.testing.assert_allclose(
        loaded.predict_scores(frame, features=features),
        numeric_pipeline.predict_proba(frame[NUMERIC])[:, 1],
        rtol=0,
        atol=tolerance,
    )


def test_onnx_with_a_string_input_column(tmp_path, frame, pipeline):
    # The mixed pipeline (OneHotEncoder on region) exports a tensor(string) input for region.
    path = tmp_path / "mixed.onnx"
    sample = frame[FEATURES].iloc[:1].astype({"region": object})
    path.write_bytes(_onnx_bytes(pipeline, sample, zipmap=False))

    loaded = load_model(path)

    assert loaded.feature_names == tuple(FEATURES)
    np.testing.assert_array_equal(loaded.predict(frame), pipeline.predict(frame[FEATURES]))
    with pytest.raises(InputError, match="'region' has missing values"):
        loaded.predict(frame.assign(region=frame["region"].where(frame.index != 3)))


def test_onnx_single_tensor_with_zipmap_output(tmp_path, frame, numeric_pipeline):
    sample = frame[NUMERIC].to_numpy(dtype=np.float32)[:1]
    path = tmp_path / "tensor.onnx"
    path.write_bytes(_onnx_bytes(numeric_pipeline, sample, zipmap=True))
    expected = numeric_pipeline.predict_proba(frame[NUMERIC].astype(np.float32))[:, 1]

    loaded = load_model(path)

    assert loaded.feature_names is None
    with pytest.raises(InputError, match="does not record its feature names") as info:
        loaded.predict(frame)
    assert "--features" in info.value.hint
    scores = loaded.predict_scores(frame, features=NUMERIC)  # ZipMap: list of {class: p}
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    labels = loaded.predict(frame, features=NUMERIC)
    clear = np.abs(expected - 0.5) > 1e-4  # float32 may flip a coin-toss case
    np.testing.assert_array_equal(labels[clear], (expected[clear] > 0.5).astype(int))
    with pytest.raises(InputError, match="takes 3 feature column"):
        loaded.predict(frame, features=NUMERIC[:2])


def test_onnx_input_that_cannot_take_a_column_is_reported(tmp_path, frame, numeric_pipeline):
    path = tmp_path / "model.onnx"
    path.write_bytes(_onnx_bytes(numeric_pipeline, frame[NUMERIC].iloc[:1], zipmap=False))
    loaded = load_model(path)

    with pytest.raises(InputError, match="column 'region' is not numeric") as info:
        loaded.predict(frame, features=["age", "income", "region"])
    assert str(info.value).startswith(str(path))
    fractional = frame.assign(visits=frame["visits"] + 0.5)
    with pytest.raises(InputError, match="cannot hold exactly"):
        loaded.predict(fractional)


@pytest.mark.parametrize("content", [b"definitely not protobuf", b"", b"\x08\x07" * 20])
def test_bytes_that_are_not_onnx_are_refused(tmp_path, content):
    path = tmp_path / "model.onnx"
    path.write_bytes(content)

    with pytest.raises(InputError, match="not a valid ONNX model") as info:
        load_model(path)

    assert str(info.value).startswith(str(path))


# --- pickle: refused unless the caller names this exact file's hash --------------------------


def test_pickle_is_refused_without_a_hash(tmp_path, pipeline):
    path = tmp_path / "model.pkl"
    joblib.dump(pipeline, path)

    with pytest.raises(InputError, match="refusing to unpickle") as info:
        load_model(path)

    assert "runs any code" in str(info.value)
    assert 'skops.io.dump(model, "model.skops")' in info.value.hint.replace("'", '"')


def test_pickle_with_a_wrong_hash_is_refused_and_shows_the_real_one(tmp_path, pipeline):
    path = tmp_path / "model.joblib"
    joblib.dump(pipeline, path)

    with pytest.raises(InputError, match="does not match") as info:
        load_model(path, trust_pickle_sha256="0" * 64)

    assert sha256_file(path) in str(info.value)


@pytest.mark.parametrize("suffix", [".pkl", ".pickle", ".joblib"])
def test_pickle_with_the_right_hash_loads(tmp_path, frame, pipeline, suffix):
    path = tmp_path / f"model{suffix}"
    if suffix == ".joblib":
        joblib.dump(pipeline, path)
    else:
        path.write_bytes(pickle.dumps(pipeline))

    loaded = load_model(path, trust_pickle_sha256=sha256_file(path).upper())

    assert loaded.kind == "pickle"
    assert loaded.sha256 == sha256_file(path)
    np.testing.assert_array_equal(loaded.predict(frame), pipeline.predict(frame[FEATURES]))


class _MakesMarker:
    """Unpickling this calls os.mkdir(marker): stands in for any code a pickle can run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("suffix", [".pkl", ".pickle", ".joblib"])
def test_refused_pickle_never_runs_its_code(tmp_path, suffix):
    # First prove the payload is live: unpickling it directly does create its marker.
    probe = tmp_path / "probe-marker"
    pickle.loads(pickle.dumps(_MakesMarker(probe)))
    assert probe.exists()

    marker = tmp_path / "marker"
    path = tmp_path / f"evil{suffix}"
    path.write_bytes(pickle.dumps(_MakesMarker(marker)))

    with pytest.raises(InputError, match="refusing to unpickle"):
        load_model(path)
    with pytest.raises(InputError, match="does not match"):
        load_model(path, trust_pickle_sha256=hashlib.sha256(b"something else").hexdigest())
    assert not marker.exists()


# --- files, columns and failures --------------------------------------------------------------


@pytest.mark.parametrize("name", ["model.skops", "model.onnx", "model.pkl", "model.bin"])
def test_missing_file_is_named(tmp_path, name):
    path = tmp_path / name

    with pytest.raises(InputError, match="model file not found") as info:
        load_model(path)

    assert str(info.value).startswith(str(path))


def test_unknown_suffix_lists_the_supported_formats(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF")

    with pytest.raises(InputError, match="unsupported model format '.h5'") as info:
        load_model(path)

    assert all(fmt in str(info.value) for fmt in (".skops", ".onnx", ".pkl", ".joblib"))


def test_missing_columns_are_named_with_the_model_file(tmp_path, frame, pipeline):
    path = _dump(pipeline, tmp_path / "model.skops")
    loaded = load_model(path)

    with pytest.raises(InputError) as info:
        loaded.predict(frame.drop(columns=["income", "region"]))

    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "'income'" in message and "'region'" in message
    with pytest.raises(InputError, match="'income'"):
        loaded.predict_scores(frame.drop(columns=["income"]))


def test_model_without_feature_names_needs_features(tmp_path, frame):
    model = LogisticRegression().fit(frame[NUMERIC].to_numpy(), frame["outcome"])
    loaded = load_model(_dump(model, tmp_path / "plain.skops"))

    assert loaded.feature_names is None
    with pytest.raises(InputError, match="does not record its feature names") as info:
        loaded.predict(frame)
    assert "--features" in info.value.hint
    labels = loaded.predict(frame, features=NUMERIC)
    np.testing.assert_array_equal(labels, model.predict(frame[NUMERIC].to_numpy()))


def test_model_errors_become_one_line_input_errors(tmp_path, frame):
    model = LogisticRegression().fit(frame[NUMERIC].to_numpy(), frame["outcome"])
    loaded = load_model(_dump(model, tmp_path / "plain.skops"))

    with pytest.raises(InputError, match="the model failed to predict") as info:
        loaded.predict(frame, features=["age", "income", "region"])

    assert str(info.value).startswith(str(tmp_path / "plain.skops"))
    assert "\n" not in str(info.value)


class _TooFewPredictions(LogisticRegression):
    def predict(self, X):
        return super().predict(X)[:-1]


def test_prediction_count_must_match_the_rows(tmp_path, frame):
    model = _TooFewPredictions().fit(frame[NUMERIC], frame["outcome"])
    path = tmp_path / "short.pkl"
    path.write_bytes(pickle.dumps(model))
    loaded = load_model(path, trust_pickle_sha256=sha256_file(path))

    with pytest.raises(InputError, match="one label per row") as info:
        loaded.predict(frame)

    assert str(info.value).startswith(str(path))


def test_predictions_in_small_batches_equal_one_call(tmp_path, frame, boosting, numeric_pipeline, monkeypatch):
    skops_model = load_model(_dump(boosting, tmp_path / "hgb.skops"))
    onnx_path = tmp_path / "model.onnx"
    onnx_path.write_bytes(_onnx_bytes(numeric_pipeline, frame[NUMERIC].iloc[:1], zipmap=False))
    onnx_model = load_model(onnx_path)
    whole = [(m.predict(frame), m.predict_scores(frame)) for m in (skops_model, onnx_model)]

    calls: list[int] = []
    original = HistGradientBoostingClassifier.predict

    def counting_predict(self, X):
        calls.append(len(X))
        return original(self, X)

    monkeypatch.setattr(model_module, "BATCH_ROWS", 37)
    monkeypatch.setattr(HistGradientBoostingClassifier, "predict", counting_predict)
    batched = [(m.predict(frame), m.predict_scores(frame)) for m in (skops_model, onnx_model)]

    assert calls == [37] * 10 + [len(frame) - 370]
    for (labels, scores), (batch_labels, batch_scores) in zip(whole, batched, strict=True):
        np.testing.assert_array_equal(batch_labels, labels)
        np.testing.assert_array_equal(batch_scores, scores)


def test_regression_model_has_no_scores(tmp_path, frame):
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(frame[NUMERIC], frame["outcome"])
    loaded = load_model(_dump(model, tmp_path / "reg.skops"))

    assert loaded.classes is None
    assert loaded.predict_scores(frame) is None


def test_empty_frame_gives_empty_predictions(tmp_path, frame, pipeline):
    loaded = load_model(_dump(pipeline, tmp_path / "model.skops"))

    assert loaded.predict(frame.iloc[:0]).shape == (0,)


def test_trusted_pickle_that_is_not_a_model_is_refused(tmp_path):
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps({"not": "a model"}))

    with pytest.raises(InputError, match=r"has no predict\(\) method"):
        load_model(path, trust_pickle_sha256=sha256_file(path))
