"""Windows (monitoring) and data requirements give the same evidence on every engine.

The out-of-core engines hand the pipeline one row per distinct combination of values with the
number of rows it stands for; time windows, missing-value shares, duplicate rows and timestamp
ages must count those rows, not the combinations.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from audit import pipeline
from audit.report.results import canonical_json
from tests.judge.test_monitoring import POLICY, _log

QUALITY_POLICY = """\
fairgate: 1
id: quality-engines
version: "1"
title: Data requirements on every engine
groups: {min_count: 5}
rules:
  - id: sr
    title: selection-rate ratio
    metric: selection_rate
    min_value: 0.8
data_requirements:
  - id: no-missing-sex
    check: missing_sensitive
    max_share: 0.01
  - id: few-duplicates
    check: duplicate_rows
    max_share: 0.05
  - id: fresh
    check: timestamp_age
    column: decided_at
    max_age_days: 400
"""


def run_audit(*args, **kw):
    """Engines compared document to document: no ledger head (it moves with every recorded audit)."""
    return pipeline.run_audit(*args, ledger=False, **kw)


def _doc(data, engine, policy, **kw):
    doc = run_audit(data=data, policy=str(policy), engine=engine, audit_date="2025-01-15", **kw).to_dict()
    return canonical_json(doc)


@pytest.fixture(scope="module")
def log_parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("log") / "decisions.parquet"
    _log().to_parquet(path)
    return path


def test_windowed_audit_is_identical_on_numpy_and_duckdb(log_parquet, tmp_path):
    policy = tmp_path / "monitor.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    kw = dict(label="outcome", predictions="decision", sensitive=["sex"])
    numpy_doc, duckdb_doc = (_doc(log_parquet, e, policy, **kw) for e in ("numpy", "duckdb"))
    assert numpy_doc == duckdb_doc
    parsed = json.loads(numpy_doc)
    assert len(parsed["monitoring"]["windows"]) == 12 and parsed["monitoring"]["rows_without_time"] == 5


def test_data_requirements_count_rows_not_combinations(tmp_path):
    frame = _log().head(2000).copy()
    frame.loc[frame.index[:7], "sex"] = None  # 7 rows without a sensitive value
    frame = pd.concat([frame, frame.head(40)], ignore_index=True)  # 40 exact duplicate rows
    data = tmp_path / "q.parquet"
    frame.to_parquet(data)
    policy = tmp_path / "q.yaml"
    policy.write_text(QUALITY_POLICY, encoding="utf-8")
    kw = dict(label="outcome", predictions="decision", sensitive=["sex"])
    numpy_doc, duckdb_doc = (_doc(data, e, policy, **kw) for e in ("numpy", "duckdb"))
    assert numpy_doc == duckdb_doc
    quality = json.loads(numpy_doc)["data_quality"]
    assert quality["rows"] == len(frame)
    assert quality["duplicate_rows"] == int(frame.duplicated().sum())
    assert quality["missing"]["sex"] == int(frame["sex"].isna().sum())
