"""Row filters through `fairgate run` (issue 18, item 1): ProPublica's published COMPAS analysis stated
whole in a policy, run on the raw file, identical on every engine, replayed by verify --recompute."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.cli.helpers import invoke, run_args, skewed_rows, write_csv
from tests.conftest import shared_data

PROPUBLICA_POLICY = """\
fairgate: 1
extends: four-fifths
id: propublica-compas
version: "1"
title: COMPAS as ProPublica filtered it
where:
  - days_b_screening_arrest between -30 and 30
  - is_recid != -1
  - c_charge_degree != 'O'
  - score_text != 'N/A'
"""


def _run(tmp_path, capsys, name, *extra, code=1):
    policy = tmp_path / "propublica.yaml"
    policy.write_text(PROPUBLICA_POLICY)
    out = tmp_path / name
    invoke(
        capsys,
        [
            "run",
            "--data",
            shared_data("compas-scores-two-years.csv"),
            "--policy",
            policy,
            "--scores",
            "decile_score",
            "--threshold",
            "5",
            "--label",
            "two_year_recid",
            "--sensitive",
            "race",
            "--out",
            out,
            "--no-pdf",
            "--no-ledger",
            *extra,
        ],
        exit_code=code,
    )
    return json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_propublica_filter_in_one_run_keeps_its_published_6172_rows(tmp_path, capsys):
    doc = _run(tmp_path, capsys, "numpy")
    assert doc["audit"]["rows"] == 6172  # of the raw file's 7,214 (ProPublica's compas-analysis notebook)
    assert [(c["clause"], c["removed"]) for c in doc["audit"]["where"]] == [
        ("days_b_screening_arrest between -30 and 30", 1042),
        ("is_recid != -1", 0),
        ("c_charge_degree != 'O'", 0),
        ("score_text != 'N/A'", 0),
    ]
    assert doc["policy"]["document"]["where"][0] == "days_b_screening_arrest between -30 and 30"
    raw = pd.read_csv(shared_data("compas-scores-two-years.csv"))  # the file as read, before the filter
    dataset = next(i for i in doc["provenance"]["inputs"] if i["role"] == "dataset")
    assert (dataset["rows"], dataset["columns"]) == raw.shape == (7214, 53)
    summary = (tmp_path / "numpy" / "summary.md").read_text()
    assert "removed 1,042" in summary
    duckdb = _run(tmp_path, capsys, "duckdb", "--engine", "duckdb")
    for key in ("groups", "disparities", "findings", "items", "verdict"):
        assert duckdb[key] == doc[key], key
    assert duckdb["audit"]["where"] == doc["audit"]["where"]
    assert [(i["rows"], i["columns"]) for i in duckdb["provenance"]["inputs"] if i["role"] == "dataset"] == [raw.shape]


@pytest.mark.slow
def test_where_on_the_command_line_is_recorded_and_replayed(tmp_path, capsys, monkeypatch):
    data = write_csv(tmp_path / "d.csv", skewed_rows() + [("c", i % 2, 1) for i in range(30)])
    out = tmp_path / "out"
    key = tmp_path / "k.p12"
    from audit.signing.keys import generate_dev_key

    generate_dev_key(key, passphrase=b"pw")
    args = run_args(data, out, "--where", "group != 'c'", "--sign", key, "--no-ledger")
    monkeypatch.setenv("FAIRGATE_KEY_PASSPHRASE", "pw")
    invoke(capsys, args, exit_code=1)
    doc = json.loads((out / "results.json").read_text())
    assert doc["request"]["where"] == ["group != 'c'"]
    assert {g["label"] for g in doc["groups"] if g["scope"] == "group"} == {"a", "b"}
    assert doc["audit"]["where"][0]["removed"] == 30 and doc["audit"]["rows"] == 100
    ran = invoke(
        capsys,
        ["verify", out / "report.pdf", "--trust", key.with_suffix(".cert.pem"), "--recompute", "--data", data],
        exit_code=0,
    )
    assert "recomputed: the same results" in ran.out


@pytest.mark.parametrize(
    ("clause", "fragment"),
    [
        ("nosuch > 1", "where clause 'nosuch > 1': no column named 'nosuch'"),
        ("label > 'x'", "where clause \"label > 'x'\": column 'label' holds numbers"),
        ("group > 3", "where clause 'group > 3': column 'group' holds text"),
        ("label > open('/etc/passwd')", "where clause \"label > open('/etc/passwd')\""),
        ("label > read_csv('x')", "where clause \"label > read_csv('x')\""),
        ("label = 1 OR 1=1", "where clause 'label = 1 OR 1=1'"),
    ],
)
def test_a_bad_clause_is_exit_2_naming_it_and_writes_nothing(tmp_path, capsys, clause, fragment):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    ran = invoke(
        capsys,
        run_args(data, tmp_path / "out", "--where", clause),
        exit_code=2,
    )
    lines = ran.err.strip().splitlines()
    assert fragment in lines[0] and lines[1].startswith("hint: ") and len(lines) == 2
    assert not (tmp_path / "out").exists()


def test_a_bad_clause_in_a_policy_names_file_line_and_clause(tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text(PROPUBLICA_POLICY.replace("is_recid != -1", "is_recid !! -1"))
    ran = invoke(capsys, ["policy", "validate", policy], exit_code=2)
    assert "p.yaml" in ran.err and "where" in ran.err and "is_recid !! -1" in ran.err
