"""The binned score path (issue 23): cells, exact sums, error bounds that hold, every engine alike."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import brier_score_loss, roc_auc_score

from audit import pipeline
from audit.measures.scores import compute_score, ece_exact, error_bounds, group_auc
from audit.report.html import ReportContext, render_html
from audit.report.results import canonical_json
from audit.tables import scores as tables
from audit.tables.scores import CELL_SLOTS, cell_index, count_scores
from audit.util.resources import schema_path


def _data(seed: int, n: int, *, ties: float = 0.0, skew: float = 0.5) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < skew, "big", rng.choice(["small", "tiny"], n, p=[0.9, 0.1]))
    y = rng.random(n) < np.where(group == "tiny", 0.05, 0.35)
    s = np.clip(rng.normal(0.35 + 0.25 * y, 0.2), 0.0, 1.0)
    tied = rng.random(n) < ties
    s[tied] = rng.choice([0.0, 0.1, 0.25, 0.5, 0.7, 1.0], int(tied.sum()))  # calibration edges and ends
    return pd.DataFrame({"g": group}), y, s


def test_cells_are_ordered_like_the_scores_and_split_at_the_calibration_edges_and_threshold():
    s = np.array([0.0, 0.1, np.nextafter(0.1, 1), 0.3, np.nextafter(0.3, 0), 0.5, 0.7, 1.0])
    c = cell_index(np.sort(s), split_at=0.7)
    assert (np.diff(c) >= 0).all() and c.max() < CELL_SLOTS
    assert cell_index(np.array([0.1]))[0] != cell_index(np.array([np.nextafter(0.1, 1)]))[0]
    below, at = cell_index(np.array([np.nextafter(0.7, 0), 0.7]), split_at=0.7)
    assert below != at


def test_few_distinct_scores_keep_the_exact_table():
    frame, y, s = _data(0, 20_000)
    rounded = np.round(s, 3)
    exact = count_scores(frame, sensitive=["g"], y_true=y, scores=rounded)
    binned_allowed = count_scores(frame, sensitive=["g"], y_true=y, scores=rounded, bin_rows=True)
    assert not binned_allowed.binned and binned_allowed.exact is not None
    for g in range(len(exact.keys)):
        assert group_auc(binned_allowed, g) == group_auc(exact, g)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(50, 6_000),
    ties=st.sampled_from([0.0, 0.3, 0.9]),
    skew=st.sampled_from([0.5, 0.97]),
    split=st.sampled_from([None, 0.5, 0.3333]),
)
def test_binned_metrics_hold_their_bounds(seed, n, ties, skew, split):
    frame, y, s = _data(seed, n, ties=ties, skew=skew)
    table = count_scores(frame, sensitive=["g"], y_true=y, scores=s, split_at=split, bin_rows=True)
    median = float(np.median(s))
    for marginal in (table, table.overall()):
        for g, key in enumerate(marginal.keys):
            mask = (frame["g"] == key[0]).to_numpy() if key else np.ones(n, bool)
            yy, ss = y[mask], s[mask]
            bounds = error_bounds(marginal, g)
            if 0 < yy.sum() < yy.size:
                assert abs(group_auc(marginal, g) - roc_auc_score(yy, ss)) <= bounds.get("auc", 0.0) + 1e-12
                brier = compute_score("brier", marginal, g, level=0.95).value
                assert brier == pytest.approx(brier_score_loss(yy, ss), rel=1e-12, abs=1e-15)
                ece = compute_score("ece", marginal, g, level=0.95, replicates=10).value
                assert ece == pytest.approx(ece_exact(ss, yy), abs=1e-12)
            rate = compute_score("scoring_rate", marginal, g, level=0.95).value
            if table.binned:
                exact_rate = float((ss > median).mean())
                assert rate - 1e-12 <= exact_rate <= rate + bounds["scoring_rate"] + 1e-12
            mean = compute_score("mean_score", marginal, g, level=0.95).value
            assert mean == pytest.approx(ss.mean(), rel=1e-12)


def test_a_continuous_audit_reports_the_bound_and_validates(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "EXACT_ROWS", 1000)
    frame, y, s = _data(3, 20_000)
    path = tmp_path / "d.parquet"
    pd.DataFrame({"g": frame["g"], "label": y.astype(int), "score": s}).to_parquet(path)
    result = pipeline.run_audit(
        data=path, policy="four-fifths", label="label", scores="score", threshold=0.5, sensitive=["g"], ledger=False
    )
    doc = result.to_dict()
    accuracy = doc["score_accuracy"]
    assert accuracy["method"] == "binned" and accuracy["metrics"]["brier"]["exact"] is True
    assert 0 < accuracy["metrics"]["auc"]["error_bound"] < accuracy["auc_target"]
    assert set(accuracy["groups"]) == {g["id"] for g in doc["groups"]}
    schema = json.loads(schema_path("results.schema.json").read_text())
    jsonschema.validate(json.loads(canonical_json(doc)), schema, cls=jsonschema.Draft202012Validator)
    html = render_html(json.loads(canonical_json(doc)), context=ReportContext(generated_at="2025-01-31T09:30:00Z"))
    text = " ".join(html.split())
    assert "Score metrics binned." in text and "target &#177;1e-04: met" in text


@pytest.mark.parametrize("as_csv", [False])
def test_numpy_and_duckdb_give_the_same_binned_evidence(tmp_path, monkeypatch, as_csv):
    monkeypatch.setattr(tables, "EXACT_ROWS", 1000)
    frame, y, s = _data(4, 30_000, ties=0.2)
    raw = pd.DataFrame({"g": frame["g"].where(np.arange(len(s)) % 7 != 0, " " + frame["g"]), "label": y.astype(int)})
    raw["score"] = s
    path = tmp_path / "d.parquet"
    raw.to_parquet(path)
    kw = dict(policy="four-fifths", label="label", scores="score", threshold=0.4, sensitive=["g"], ledger=False)
    docs = {e: canonical_json(pipeline.run_audit(data=path, engine=e, **kw).to_dict()) for e in ("numpy", "duckdb")}
    assert docs["numpy"] == docs["duckdb"]
    assert "score_accuracy" in json.loads(docs["duckdb"])


def test_spark_counts_the_same_cells(tmp_path, monkeypatch, spark):
    monkeypatch.setattr(tables, "EXACT_ROWS", 1000)
    frame, y, s = _data(5, 20_000, ties=0.2)
    path = tmp_path / "d.parquet"
    pd.DataFrame({"g": frame["g"], "label": y.astype(int), "score": s}).to_parquet(path)
    kw = dict(policy="four-fifths", label="label", scores="score", threshold=0.5, sensitive=["g"], ledger=False)
    docs = {
        e: canonical_json(pipeline.run_audit(data=path, engine=e, **kw).to_dict()) for e in ("numpy", "duckdb", "spark")
    }
    assert docs["spark"] == docs["numpy"] == docs["duckdb"]
    assert "score_accuracy" in json.loads(docs["spark"])
