"""AuditRequest: built once, recorded whole in results.json, replayed as recorded."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

import audit
from audit.errors import UsageError
from audit.flow.request import RECORDED, AuditRequest, split_columns
from audit.pipeline import run, run_audit
from audit.report.results import canonical_json
from tests.cli.helpers import skewed_rows, write_csv


def test_the_recorded_request_round_trips():
    request = AuditRequest(
        data="logs/*.parquet",
        policy="four-fifths",
        scores="score",
        threshold="median",
        label="y",
        positive_label=1,
        sensitive=["sex", "race"],
        features=["a", "b"],
        seed=3,
        fail_on="warn",
        strict=True,
        audit_date=dt.date(2026, 1, 31),
        period_column="t",
        period="week",
        baseline={"groups": []},
        baseline_source="launch/results.json",
    )
    recorded = request.to_dict()
    assert tuple(recorded) == RECORDED
    assert recorded["positive_label"] == "1" and recorded["audit_date"] == "2026-01-31"
    assert recorded["baseline"] == "launch/results.json" and recorded["sensitive"] == ["sex", "race"]
    json.dumps(recorded)  # JSON types only
    again = AuditRequest.from_dict(json.loads(json.dumps(recorded)))
    assert again.to_dict() == recorded
    assert again.baseline is None  # the document itself is not recorded: its source is
    plain = AuditRequest(data="d.csv", policy="p.yaml", predictions="pred", sensitive=("g",))
    assert AuditRequest.from_dict(plain.to_dict()) == plain


def test_run_time_fields_are_not_recorded_and_values_are_normalized():
    from audit.tables.engines.interface import EngineOptions

    request = AuditRequest(
        data="d.csv",
        policy="p",
        threshold=np.int64(5),
        engine="duckdb",
        command=["fairgate"],
        engine_options=EngineOptions(memory_limit="1GB"),
        features=[],
        trust_pickle="AB" * 32,
    )
    recorded = request.to_dict()
    assert recorded["threshold"] == 5 and type(recorded["threshold"]) is int
    assert recorded["features"] is None and recorded["trust_pickle"] == "ab" * 32
    assert not {"engine", "engine_options", "command"} & set(recorded)
    with pytest.raises(UsageError, match="--fail-on must be 'fail' or 'warn'"):
        AuditRequest(data="d.csv", policy="p", fail_on="never")
    with pytest.raises(UsageError, match="unknown field"):
        AuditRequest.from_dict({**recorded, "engine": "spark"})
    assert split_columns(" a, ,b ") == ("a", "b") and split_columns("") is None and split_columns(None) is None


def test_run_audit_keywords_and_a_request_give_the_same_evidence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "d.csv", skewed_rows())
    keywords = dict(data="d.csv", policy="four-fifths", label="label", predictions="pred", sensitive=["group"], seed=2)
    by_keywords = canonical_json(run_audit(**keywords, ledger=False).to_dict())  # run() records in no ledger
    request = AuditRequest(**keywords)
    assert canonical_json(run(request).to_dict()) == by_keywords
    assert canonical_json(run_audit(request, ledger=False).to_dict()) == by_keywords
    assert canonical_json(audit.run(request).to_dict()) == by_keywords
    document = json.loads(by_keywords)
    assert document["request"] == request.to_dict() and document["request"]["data"] == "d.csv"  # as given
    with pytest.raises(TypeError, match="takes no other inputs"):
        run_audit(request, seed=4)
    with pytest.raises(TypeError, match="needs data= and policy="):
        run_audit(policy="four-fifths")
