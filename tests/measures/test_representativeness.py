"""Representativeness: observed vs reference shares, by hand and through `fairgate run`."""

from __future__ import annotations

import json

import pytest
import yaml
from scipy.stats import chisquare

from audit.errors import PolicyError
from audit.policy.load import load_policy
from tests.cli.helpers import invoke, write_csv
from tests.conftest import REPO


def _policy(tmp_path, check):
    body = {"fairgate": 1, "id": "rep", "version": "1", "title": "rep", "representativeness": [check]}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def _rows(counts):
    return [(g, 0, 0) for g, n in counts.items() for _ in range(n)]


def test_shares_ratio_chi_square_and_tvd_by_hand(tmp_path, capsys):
    # 300 a, 100 b vs a 50/50 reference: shares .75/.25, ratios 1.5/0.5, TVD 0.25
    data = write_csv(tmp_path / "d.csv", _rows({"a": 300, "b": 100}))
    policy = _policy(
        tmp_path,
        {
            "id": "g-rep",
            "feature": "group",
            "reference": {"shares": {"a": 0.5, "b": 0.5}},
            "min_representation_ratio": 0.8,
            "severity": "block",
        },
    )
    invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--policy",
            policy,
            "--predictions",
            "pred",
            "--sensitive",
            "group",
            "--out",
            tmp_path / "out",
            "--no-pdf",
        ],
        exit_code=1,
    )
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    rep = doc["representativeness"][0]
    by = {g["group"]: g for g in rep["groups"]}
    assert by["a"]["observed_share"] == 0.75 and by["b"]["representation_ratio"] == pytest.approx(0.5)
    assert by["b"]["status"] == "FAIL" and by["a"]["status"] == "PASS"
    assert rep["tvd"] == pytest.approx(0.25)
    assert rep["p_value"] == pytest.approx(chisquare([300, 100], [200, 200]).pvalue)
    assert doc["verdict"] == "FAIL" and doc["summary"]["fail"] == 1


def test_mapping_and_unmapped_values(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", _rows({"M": 50, "F": 50, "X": 5}))
    policy = _policy(
        tmp_path,
        {
            "id": "sex",
            "feature": "group",
            "mapping": {"M": "Male", "F": "Female"},
            "reference": {"shares": {"Male": 0.49, "Female": 0.51}},
            "max_share_gap": 0.1,
        },
    )
    invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--policy",
            policy,
            "--predictions",
            "pred",
            "--sensitive",
            "group",
            "--out",
            tmp_path / "out",
            "--no-pdf",
        ],
        exit_code=0,
    )
    rep = json.loads((tmp_path / "out" / "results.json").read_text())["representativeness"][0]
    assert rep["status"] == "PASS" and rep["n"] == 100 and rep["unmapped"] == {"X": 5}


def test_census_reference_is_read_from_the_shipped_csv():
    policy = load_policy("representation-us-census").policy
    shares = policy.representativeness[0].reference.shares
    assert shares == pytest.approx({"Male": 162685811 / 331449281, "Female": 168763470 / 331449281})


def test_adult_under_represents_women_against_the_census(tmp_path, capsys):
    data = REPO / "demo" / "data" / "adult-holdout.csv.gz"
    ran = invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--policy",
            "representation-us-census",
            "--label",
            "income",
            "--positive-label",
            ">50K",
            "--predictions",
            "income",
            "--out",
            tmp_path / "out",
            "--no-pdf",
        ],
        exit_code=0,
    )
    assert "WARN" in ran.out and "sex-vs-census: Female makes up 33.3%" in ran.out


def test_a_missing_reference_csv_is_a_policy_error(tmp_path):
    policy = _policy(
        tmp_path,
        {
            "id": "x",
            "feature": "group",
            "min_representation_ratio": 0.8,
            "reference": {"csv": "nope.csv", "dimension": "sex"},
        },
    )
    with pytest.raises(PolicyError, match="reference population file 'nope.csv' not found"):
        load_policy(str(policy))


def test_shares_must_sum_to_one(tmp_path):
    policy = _policy(
        tmp_path,
        {"id": "x", "feature": "group", "min_representation_ratio": 0.8, "reference": {"shares": {"a": 0.5, "b": 0.2}}},
    )
    with pytest.raises(PolicyError, match="reference shares sum to 0.700, not 1"):
        load_policy(str(policy))
