"""Proxy quality on the rows that also carry a self-reported value (issue 19, item 4): AUC, Brier and
the calibration table, each checked against scikit-learn's own implementation, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score

from audit.cli import main
from audit.measures.proxy_quality import auc_one_vs_rest, proxy_quality
from tests.cli.helpers import invoke

GROUPS = ("white", "black", "api", "native", "multiple", "hispanic")


def _sample(n: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Dirichlet probabilities, true groups drawn from them (a calibrated proxy), some values on bin edges."""
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(len(GROUPS), 0.6), size=n)
    p[:50] = np.round(p[:50], 1)  # ties and values exactly on the edges 0.1, 0.2, …
    p[:50] /= p[:50].sum(axis=1, keepdims=True)
    truth = np.array([rng.choice(len(GROUPS), p=row) for row in p])
    return p, truth


def test_auc_brier_and_calibration_equal_scikit_learns():
    p, truth = _sample(3000)
    quality = proxy_quality(p, GROUPS, pd.Series([GROUPS[t] for t in truth]))
    assert quality.labelled == 3000 and quality.unmatched == 0 and quality.missing == 0
    for i, g in enumerate(quality.groups):
        member = truth == i
        assert g.members == int(member.sum())
        assert g.auc == pytest.approx(roc_auc_score(member, p[:, i]), abs=1e-12)
        assert g.brier == pytest.approx(brier_score_loss(member, p[:, i]), abs=1e-12)
        prob_true, prob_pred = calibration_curve(member, p[:, i], n_bins=10, strategy="uniform")
        assert [b.observed_share for b in g.calibration] == pytest.approx(prob_true, abs=1e-12)
        assert [b.mean_probability for b in g.calibration] == pytest.approx(prob_pred, abs=1e-12)
        assert sum(b.n for b in g.calibration) == 3000
    # the multi-class Brier score: the mean over rows of the squared distance to the one-hot truth
    onehot = np.eye(len(GROUPS))[truth]
    assert quality.brier == pytest.approx(float(np.mean(((p - onehot) ** 2).sum(axis=1))), abs=1e-12)
    assert quality.top_group_accuracy == pytest.approx(float(np.mean(p.argmax(axis=1) == truth)))


def test_values_are_matched_by_name_and_the_rest_counted():
    p = np.array([[0.7, 0.3], [0.2, 0.8], [0.5, 0.5], [np.nan, np.nan], [0.9, 0.1]])
    reported = pd.Series([" White", "BLACK", "martian", "white", None])
    quality = proxy_quality(p, ("white", "black"), reported)
    assert (quality.labelled, quality.unmatched, quality.missing) == (2, 1, 2)
    white = quality.groups[0]
    assert white.members == 1 and white.expected_members == pytest.approx(0.9)
    assert white.auc == 1.0  # the white row has the higher p_white
    assert white.brier == pytest.approx(((0.7 - 1) ** 2 + (0.2 - 0) ** 2) / 2)


def test_one_class_only_has_no_auc_and_no_rows_no_quality():
    assert auc_one_vs_rest(np.array([0.2, 0.4]), np.array([True, True])) is None
    quality = proxy_quality(np.array([[0.5, 0.5]]), ("a", "b"), pd.Series([None]))
    assert quality.labelled == 0 and quality.brier is None and quality.groups == ()


def _write(tmp_path, rows: list[dict]) -> str:
    path = tmp_path / "proxy.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def test_the_cli_prints_the_quality_and_its_json(tmp_path, capsys):
    p, truth = _sample(400, seed=3)
    rows = [{**{f"p_{g}": p[i, j] for j, g in enumerate(GROUPS)}, "race": GROUPS[truth[i]]} for i in range(400)]
    rows[0]["race"] = ""  # not reported
    data = _write(tmp_path, rows)
    ran = invoke(capsys, ["proxy", "quality", "--data", data, "--self-reported", "race", "--json"], exit_code=0)
    doc = json.loads(ran.out)
    assert doc["labelled"] == 399 and doc["missing"] == 1
    member = truth[1:] == 0
    assert doc["groups"][0]["auc"] == pytest.approx(roc_auc_score(member, p[1:, 0]), abs=1e-9)
    text = invoke(capsys, ["proxy", "quality", "--data", data, "--self-reported", "race"], exit_code=0).out
    assert "proxy quality on 399 self-reported rows" in text and "hispanic" in text


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"p_white": 0.5}, "do not sum to 1"),
        ({"p_white": -0.1, "p_black": 1.1}, "outside [0, 1]"),
        ({"p_black": None}, "'p_black' is empty in 1 rows"),
        ({"p_api": "high"}, "'p_api' has 1 values that are not numbers"),
    ],
)
def test_bad_probability_columns_are_one_line_errors_naming_the_column(tmp_path, capsys, change, words):
    good = {"p_white": 0.25, "p_black": 0.25, "p_api": 0.25, "p_native": 0.25, "race": "white"}
    data = _write(tmp_path, [good, {**good, **change}])
    args = ["proxy", "quality", "--data", data, "--self-reported", "race", "--proba", "p_white,p_black,p_api,p_native"]
    ran = invoke(capsys, args, exit_code=2)
    assert words in ran.err and data in ran.err
    assert ran.err.startswith("error: ") and len([ln for ln in ran.err.splitlines() if ln.startswith("error")]) == 1


def test_a_missing_column_is_named(tmp_path, capsys):
    data = _write(tmp_path, [{"p_white": 1.0, "race": "white"}])
    ran = invoke(capsys, ["proxy", "quality", "--data", data, "--self-reported", "self"], exit_code=2)
    assert "no column named 'self'" in ran.err
    ran = invoke(capsys, ["proxy", "quality", "--data", data, "--self-reported", "race"], exit_code=2)
    assert "no probability column named 'p_black'" in ran.err


def test_the_quality_command_accepts_what_the_audit_accepts_and_agrees_with_its_figures(tmp_path, capsys):
    """Probabilities rounded to 4 decimals miss 1 by up to 3e-4: `fairgate run` accepts them (within 1e-3,
    each row divided by its sum) and `proxy quality` refused them (within 1e-6). Both now read them alike:
    the same Brier score and per-group AUC as the audit's own quality section."""
    p, truth = _sample(400, seed=5)
    rounded = np.round(p, 4)
    assert np.abs(rounded.sum(axis=1) - 1).max() > 1e-6  # the file is one the old check refused
    rows = [
        {**{f"p_{g}": rounded[i, j] for j, g in enumerate(GROUPS)}, "race": GROUPS[truth[i]], "y": i % 2}
        for i in range(400)
    ]
    data = _write(tmp_path, rows)
    alone = json.loads(
        invoke(capsys, ["proxy", "quality", "--data", data, "--self-reported", "race", "--json"], exit_code=0).out
    )
    proba = "race=" + ",".join(f"p_{g}" for g in GROUPS)
    args = ["run", "--data", data, "--policy", "four-fifths", "--predictions", "y", "--positive-label", "1"]
    args += ["--sensitive-proba", proba, "--self-reported", "race=race", "--out", tmp_path / "o", "--no-ledger"]
    main([str(a) for a in [*args, "--format", "json"]])
    capsys.readouterr()
    audited = json.loads((tmp_path / "o" / "results.json").read_text())["proxy"]["self_reported"]["quality"]
    assert alone["labelled"] == audited["labelled"] == 400
    assert alone["brier"] == pytest.approx(audited["brier"], abs=1e-12)
    for mine, theirs in zip(alone["groups"], audited["groups"], strict=True):
        assert mine["auc"] == pytest.approx(theirs["auc"], abs=1e-12)
