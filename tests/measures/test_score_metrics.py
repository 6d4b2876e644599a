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
    invoke(
        capsys,
        [
            "run",
            "--data",
            tmp_path / "d.parquet",
            "--model",
            tmp_path / "m.skops",
            "--policy",
            "four-fifths",
            "--label",
            "income",
            "--positive-label",
            ">50K",
            "--sensitive",
            "sex",
            "--out",
            tmp_path / "out",
            "--no-pdf",
        ],
        exit_code=1,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    proba = model.predict_proba(frame[features])[:, list(model.classes_).index(">50K")]
    y = (frame["income"] == ">50K").to_numpy()
    for sex in ("Female", "Male"):
        mask = (frame["sex"] == sex).to_numpy()
        group = next(g for g in doc["groups"] if g["id"] == f"sex={sex}")
        auc = group["score_metrics"]["auc"]
        assert auc["value"] == pytest.approx(roc_auc_score(y[mask], proba[mask]), abs=1e-12)
        assert auc["ci"][0] < auc["value"] < auc["ci"][1]
        assert group["score_metrics"]["brier"]["value"] == pytest.approx(
            brier_score_loss(y[mask], proba[mask]), abs=1e-12
        )


def test_standardized_mean_difference_of_scores_by_hand(tmp_path, capsys, compas_csv):
    import numpy as np

    frame = pd.read_csv(compas_csv, usecols=["race", "decile_score", "two_year_recid"])
    invoke(
        capsys,
        [
            "run",
            "--data",
            compas_csv,
            "--policy",
            "four-fifths",
            "--scores",
            "decile_score",
            "--threshold",
            "5",
            "--label",
            "two_year_recid",
            "--sensitive",
            "race",
            "--out",
            tmp_path / "out",
            "--no-pdf",
        ],
        exit_code=1,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    groups = {g["id"]: g for g in doc["groups"]}
    top = max(frame.groupby("race")["decile_score"].mean().items(), key=lambda kv: kv[1])[0]
    a = frame.loc[frame["race"] == "Caucasian", "decile_score"].to_numpy(float)
    b = frame.loc[frame["race"] == top, "decile_score"].to_numpy(float)
    pooled = np.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    smd = groups["race=Caucasian"]["score_metrics"]["smd_vs_highest"]
    assert smd["value"] == pytest.approx((a.mean() - b.mean()) / pooled, rel=1e-9)
    assert smd["ci"][0] < smd["value"] < smd["ci"][1]
    assert groups[f"race={top}"]["score_metrics"]["smd_vs_highest"]["value"] == 0.0
