"""Baseline vs candidate on two real models trained on UCI Adult, one deliberately worse for women."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from tests.cli.helpers import invoke
from tests.conftest import REPO

FEATURES = ["age", "education_num", "hours_per_week", "capital_gain", "sex", "race", "relationship"]


def _model(train):
    model = make_pipeline(
        ColumnTransformer(
            [("num", StandardScaler(), FEATURES[:4]), ("cat", OneHotEncoder(handle_unknown="ignore"), FEATURES[4:])]
        ),
        LogisticRegression(max_iter=1000),
    )
    return model.fit(train[FEATURES], train["income"])


@pytest.fixture(scope="module")
def adult_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("compare")
    data = pd.read_csv(REPO / "demo" / "data" / "adult-train.csv.gz").dropna(subset=FEATURES)
    train, holdout = data.iloc[:12000], data.iloc[12000:20000]
    fair = _model(train)
    # the "worse" model learns from labels in which 60% of high-income women were recorded as low income
    biased_train = train.copy()
    women = biased_train.index[(biased_train["sex"] == "Female") & (biased_train["income"] == ">50K")]
    flip = np.random.default_rng(0).choice(women, size=int(0.6 * len(women)), replace=False)
    biased_train.loc[flip, "income"] = "<=50K"
    worse = _model(biased_train)
    holdout.to_parquet(tmp / "holdout.parquet")
    for name, model in (("baseline", fair), ("candidate", worse)):
        sio.dump(model, tmp / f"{name}.skops")
    return tmp


def _run(capsys, tmp, name, *extra, exit_code):
    return invoke(
        capsys,
        [
            "run",
            "--data",
            tmp / "holdout.parquet",
            "--model",
            tmp / f"{name}.skops",
            "--policy",
            "four-fifths",
            "--label",
            "income",
            "--positive-label",
            ">50K",
            "--sensitive",
            "sex",
            "--out",
            tmp / name,
            "--no-pdf",
            *extra,
        ],
        exit_code=exit_code,
    )


def test_compare_flags_the_model_that_is_worse_for_women(adult_runs, capsys):
    tmp = adult_runs
    _run(capsys, tmp, "baseline", exit_code=1)  # Adult fails four-fifths even for the plain model
    _run(capsys, tmp, "candidate", exit_code=1)
    ran = invoke(
        capsys,
        [
            "compare",
            tmp / "baseline" / "results.json",
            tmp / "candidate" / "results.json",
            "--json",
            "--markdown",
            tmp / "cmp.md",
        ],
        exit_code=1,
    )
    doc = json.loads(ran.out)
    assert doc["blocking_regression"] is True
    female = next(c for c in doc["changes"] if c["group"] == "sex=Female")
    assert female["regressed"] and female["change"] < 0 and female["ci"][1] < 0
    assert "REGRESSED" in (tmp / "cmp.md").read_text()


def test_a_model_compared_with_itself_does_not_regress(adult_runs, capsys):
    tmp = adult_runs
    _run(capsys, tmp, "baseline", exit_code=1)
    results = tmp / "baseline" / "results.json"
    ran = invoke(capsys, ["compare", results, results, "--json"], exit_code=0)
    doc = json.loads(ran.out)
    assert not doc["regressed"] and all(c["change"] == 0 for c in doc["changes"])


@pytest.mark.slow
def test_run_with_baseline_puts_the_comparison_in_the_evidence_and_report(adult_runs, capsys):
    tmp = adult_runs
    _run(capsys, tmp, "baseline", exit_code=1)
    out = tmp / "with-baseline"
    invoke(
        capsys,
        [
            "run",
            "--data",
            tmp / "holdout.parquet",
            "--model",
            tmp / "candidate.skops",
            "--policy",
            "four-fifths",
            "--label",
            "income",
            "--positive-label",
            ">50K",
            "--sensitive",
            "sex",
            "--out",
            out,
            "--baseline",
            tmp / "baseline" / "results.json",
        ],
        exit_code=1,
    )
    doc = json.loads((out / "results.json").read_text())
    assert doc["comparison"]["blocking_regression"] is True
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(out / "report.pdf").pages)
    assert "Comparison with the baseline model" in text and "REGRESSED" in text


def test_compare_refuses_a_file_that_is_not_results_json(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("[1, 2]")
    ran = invoke(capsys, ["compare", bad, bad], exit_code=2)
    assert f"error: {bad}: not a Fairgate results.json" in ran.err
