"""--model-positive-class end to end: a model trained on 0/1 audited against a good/bad label."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

from tests.cli.helpers import invoke

FEATURES = ["income", "debt"]


@pytest.fixture
def credit(tmp_path):
    """A 0/1 model (1 = repaid) and data whose label says good/bad."""
    rng = np.random.default_rng(7)
    n = 600
    frame = pd.DataFrame({"income": rng.normal(size=n), "debt": rng.normal(size=n), "sex": rng.choice(["F", "M"], n)})
    repaid = (frame.income - frame.debt + rng.normal(scale=0.5, size=n) > 0).astype(int)
    model = LogisticRegression().fit(frame[FEATURES], repaid)
    frame["outcome"] = np.where(repaid == 1, "good", "bad")
    data = tmp_path / "credit.csv"
    frame.to_csv(data, index=False)
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)
    return data, path, model, frame


def _args(data, model, out, *extra):
    return [
        "run",
        "--data",
        data,
        "--model",
        model,
        "--policy",
        "four-fifths",
        "--label",
        "outcome",
        "--positive-label",
        "good",
        "--sensitive",
        "sex",
        "--out",
        out,
        "--no-pdf",
        "--no-ledger",
        *extra,
    ]


def test_without_the_option_the_differently_coded_model_exits_2_and_names_the_option(tmp_path, capsys, credit):
    data, model, _, _ = credit
    ran = invoke(capsys, _args(data, model, tmp_path / "o"), exit_code=2)
    assert "--model-positive-class" in ran.err


def test_the_models_favourable_class_is_compared_with_the_labels(tmp_path, capsys, credit):
    data, model, fitted, frame = credit
    code = main_code(capsys, _args(data, model, tmp_path / "o", "--model-positive-class", "1"))
    assert code in (0, 1)  # the verdict depends on the data; the numbers are what is checked
    document = json.loads((tmp_path / "o" / "results.json").read_text())
    assert document["request"]["model_positive_class"] == "1"
    decided = fitted.predict(frame[FEATURES]) == 1
    good = frame.outcome.eq("good").to_numpy()
    for sex in ("F", "M"):
        rows = frame.sex.eq(sex).to_numpy()
        group = next(g for g in document["groups"] if g["id"] == f"sex={sex}")
        assert group["metrics"]["selection_rate"]["value"] == pytest.approx(decided[rows].mean())
        tpr = (decided & good & rows).sum() / (good & rows).sum()
        assert group["metrics"]["true_positive_rate"]["value"] == pytest.approx(tpr)
    # the scores are the favourable class's probability: the model ranks the good outcomes first
    everyone = next(g for g in document["groups"] if g["id"] == "overall")
    assert everyone["score_metrics"]["auc"]["value"] > 0.8


def test_a_class_the_model_does_not_have_exits_2_naming_its_classes(tmp_path, capsys, credit):
    data, model, _, _ = credit
    ran = invoke(capsys, _args(data, model, tmp_path / "o", "--model-positive-class", "good"), exit_code=2)
    assert "--model-positive-class 'good' is not one of the model's classes ('0', '1')" in ran.err


def test_without_a_model_the_option_is_a_usage_error(tmp_path, capsys, credit):
    data, _, _, _ = credit
    ran = invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--predictions",
            "outcome",
            "--policy",
            "four-fifths",
            "--sensitive",
            "sex",
            "--positive-label",
            "good",
            "--model-positive-class",
            "1",
            "--out",
            tmp_path / "o",
            "--no-pdf",
        ],
        exit_code=2,
    )
    assert "--model-positive-class names one of a model's classes: it needs --model" in ran.err


def test_onnx_models_take_the_option_too(tmp_path, capsys, credit):
    from skl2onnx import to_onnx

    data, _, fitted, frame = credit
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(
        to_onnx(
            fitted, frame[FEATURES].to_numpy(dtype=np.float64)[:5], options={LogisticRegression: {"zipmap": False}}
        ).SerializeToString()
    )
    args = _args(data, onnx, tmp_path / "o", "--model-positive-class", "1", "--features", "income,debt")
    code = main_code(capsys, args)
    assert code in (0, 1)
    document = json.loads((tmp_path / "o" / "results.json").read_text())
    decided = fitted.predict(frame[FEATURES]) == 1
    rows = frame.sex.eq("F").to_numpy()
    group = next(g for g in document["groups"] if g["id"] == "sex=F")
    assert group["metrics"]["selection_rate"]["value"] == pytest.approx(decided[rows].mean())
    wrong = _args(data, onnx, tmp_path / "o2", "--model-positive-class", "good", "--features", "income,debt")
    ran = invoke(capsys, wrong, exit_code=2)
    assert "is not one of the decisions the model made ('0', '1')" in ran.err


def main_code(capsys, args):
    from audit.cli import main

    code = main([str(a) for a in args])
    capsys.readouterr()
    return code
