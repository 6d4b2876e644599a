"""Score metrics in the evidence: a model's probabilities give per-group AUC and Brier."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from tests.cli.helpers import invoke
from tests.conftest import REPO


def test_model_probabilities_give_group_auc_and_brier(tmp_path, capsys):
    frame = pd.read_csv(REPO / "demo" / "data" / "adult-holdout.csv.gz").head(4000)
    features = ["age", "education_num", "hours_per_week", "capital_gain"]
    model = LogisticRegression(max_iter=1000).fit(frame[features], frame["income"])
    sio.dump(model, tmp_path / "m.skops")
    frame.to_parquet(tmp_path / "d.parquet")
    invoke(capsys, ["run", "--data", tmp_path / "d.parquet", "--model", tmp_path / "m.skops", "--policy",
                    "four-fifths", "--label", "income", "--positive-label", ">50K", "--sensitive", "sex",
                    "--out", tmp_path / "out", "--no-pdf"], exit_code=1)
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    proba = model.predict_proba(frame[features])[:, list(model.classes_).index(">50K")]
    y = (frame["income"] == ">50K").to_numpy()
    for sex in ("Female", "Male"):
        mask = (frame["sex"] == sex).to_numpy()
        group = next(g for g in doc["groups"] if g["id"] == f"sex={sex}")
        auc = group["score_metrics"]["auc"]
        assert auc["value"] == pytest.approx(roc_auc_score(y[mask], proba[mask]), abs=1e-12)
        assert auc["ci"][0] < auc["value"] < auc["ci"][1]
        assert group["score_metrics"]["brier"]["value"] == pytest.approx(brier_score_loss(y[mask], proba[mask]),
                                                                        abs=1e-12)
