"""Regression audits end to end on the LSAC law-school data: numbers checked against scikit-learn."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from pypdf import PdfReader
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, root_mean_squared_error

from tests.cli.helpers import invoke
from tests.conftest import shared_data


@pytest.fixture(scope="module")
def law(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("law")
    frame = pd.read_csv(shared_data("law_school_clean.csv"))
    frame["sex"] = np.where(frame["male"] == 1.0, "male", "female")
    features = ["lsat", "ugpa"]
    model = LinearRegression().fit(frame[features], frame["zfygpa"])
    sio.dump(model, tmp / "model.skops")
    frame.to_parquet(tmp / "law.parquet")
    return tmp, frame, model.predict(frame[features])


@pytest.mark.slow
def test_group_errors_match_scikit_learn_and_the_rule_judges_them(law, capsys):
    tmp, frame, pred = law
    invoke(
        capsys,
        [
            "run",
            "--data",
            tmp / "law.parquet",
            "--model",
            tmp / "model.skops",
            "--policy",
            "regression-error-parity",
            "--label",
            "zfygpa",
            "--sensitive",
            "race",
            "--sensitive",
            "sex",
            "--out",
            tmp / "out",
        ],
        exit_code=0,
    )
    doc = json.loads((tmp / "out" / "results.json").read_text())
    assert doc["audit"]["task"] == "regression"
    groups = {g["id"]: g for g in doc["groups"]}
    for race in frame["race"].unique():
        mask = (frame["race"] == race).to_numpy()
        g = groups[f"race={race}"]
        assert g["n"] == mask.sum() and "counts" not in g
        assert g["metrics"]["mae"]["value"] == pytest.approx(
            mean_absolute_error(frame["zfygpa"][mask], pred[mask]), rel=1e-9
        )
        assert g["metrics"]["rmse"]["value"] == pytest.approx(
            root_mean_squared_error(frame["zfygpa"][mask], pred[mask]), rel=1e-9
        )
        assert g["metrics"]["mean_prediction"]["value"] == pytest.approx(pred[mask].mean(), rel=1e-9)
    mae = next(d for d in doc["disparities"] if d["rule_id"] == "mae-ratio" and d["scope"] == "race")
    values = {g["group"]: g["metric_value"] for g in mae["groups"]}
    best = min(values.values())
    for g in mae["groups"]:
        if g["status"] in ("PASS", "FAIL"):
            assert g["value"] == pytest.approx(g["metric_value"] / best)
            assert g["status"] == ("FAIL" if g["value"] > 1.25 else "PASS")
    judged = [g for g in mae["groups"] if g["status"] in ("PASS", "FAIL")]
    assert judged and all(g["ci_method"] == "delta-log" and g["ci"][0] < g["value"] < g["ci"][1] for g in judged)
    text = "".join(p.extract_text() for p in PdfReader(tmp / "out" / "report.pdf").pages)
    assert "mae-ratio" in text and "mean absolute error" in text.lower()


def test_regression_needs_numeric_outcomes(law, capsys, tmp_path):
    tmp, frame, _ = law
    bad = frame.assign(zfygpa=frame["zfygpa"].astype(str).where(frame.index > 5, "n/a"))
    bad.to_parquet(tmp_path / "bad.parquet")
    ran = invoke(
        capsys,
        [
            "run",
            "--data",
            tmp_path / "bad.parquet",
            "--model",
            tmp / "model.skops",
            "--policy",
            "regression-error-parity",
            "--label",
            "zfygpa",
            "--sensitive",
            "race",
            "--out",
            tmp_path / "out",
            "--no-pdf",
        ],
        exit_code=2,
    )
    assert "label column 'zfygpa': 6 missing or non-numeric value(s)" in ran.err


def test_delta_method_ratio_interval_covers_in_simulation():
    """Ratio of two group MAEs: the delta-log interval covers the true ratio ~95% of the time."""
    from audit.measures.disparities import _delta_ratio
    from audit.measures.values import MetricValue

    rng = np.random.default_rng(3)
    covered, reps = 0, 600
    for _ in range(reps):
        errs_a, errs_b = np.abs(rng.normal(0, 1.2, 400)), np.abs(rng.normal(0, 1.0, 500))
        mvs = []
        for e in (errs_a, errs_b):
            se = e.std(ddof=1) / np.sqrt(len(e))
            mvs.append(
                MetricValue(e.mean(), None, len(e), e.mean() - 1.959964 * se, e.mean() + 1.959964 * se, "normal")
            )
        lo, hi = _delta_ratio(mvs[0], mvs[1], 0.95)
        covered += lo <= 1.2 <= hi
    assert 0.93 <= covered / reps <= 0.97
