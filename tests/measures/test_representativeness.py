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


# 2020 Census, PL 94-171 P2 (policies/references/us-census-2020.csv): counts of the race/ethnicity groups
CENSUS_P2 = {
    "Hispanic or Latino": 62080044,
    "White alone, not Hispanic or Latino": 191697647,
    "Black or African American alone, not Hispanic or Latino": 39940338,
    "American Indian and Alaska Native alone, not Hispanic or Latino": 2251699,
    "Asian alone, not Hispanic or Latino": 19618719,
    "Native Hawaiian and Other Pacific Islander alone, not Hispanic or Latino": 622018,
    "Some Other Race alone, not Hispanic or Latino": 1689833,
    "Two or More Races, not Hispanic or Latino": 13548983,
}
ASIAN, NHPI, SOR = (
    "Asian alone, not Hispanic or Latino",
    "Native Hawaiian and Other Pacific Islander alone, not Hispanic or Latino",
    "Some Other Race alone, not Hispanic or Latino",
)
COMPAS_TO_CENSUS = {
    "African-American": "Black or African American alone, not Hispanic or Latino",
    "Caucasian": "White alone, not Hispanic or Latino",
    "Hispanic": "Hispanic or Latino",
    "Native American": "American Indian and Alaska Native alone, not Hispanic or Latino",
    "Asian": ASIAN,
    "Other": [ASIAN, NHPI, SOR],  # one data value, three census groups
}


def _run(capsys, tmp_path, data, policy, sensitive, exit_code=None, formats="json,md"):
    args = ["run", "--data", data, "--policy", policy, "--predictions", "pred", "--sensitive", sensitive]
    invoke(capsys, [*args, "--out", tmp_path / "out", "--format", formats], exit_code=exit_code)
    return json.loads((tmp_path / "out" / "results.json").read_text())


def test_compas_races_vs_the_2020_census_with_a_one_to_many_mapping(tmp_path, capsys, compas_csv):
    import pandas as pd

    frame = pd.read_csv(compas_csv)
    data = tmp_path / "compas.csv"
    frame.assign(pred=frame["two_year_recid"])[["race", "pred", "two_year_recid"]].to_csv(data, index=False)
    check = {
        "id": "race-vs-census",
        "feature": "race",
        "reference": {"csv": "fairgate:references/us-census-2020.csv", "dimension": "race_ethnicity_PL94-171_P2"},
        "mapping": COMPAS_TO_CENSUS,
        "min_representation_ratio": 0.8,
    }
    doc = _run(capsys, tmp_path, data, _policy(tmp_path, check), "race", exit_code=0, formats="html,json,md")
    rep = doc["representativeness"][0]
    counts = frame["race"].value_counts()  # by hand: 3696, 2454, 637, 377 Other, 32 Asian, 18 Native American
    n = int(counts.sum())
    total = sum(CENSUS_P2.values())
    merged = f"{ASIAN} + {NHPI} + {SOR}"
    BLACK, AIAN = COMPAS_TO_CENSUS["African-American"], COMPAS_TO_CENSUS["Native American"]  # noqa: N806
    # the census groups "Other" covers are compared as one group, with both data values that map into it
    expected = {
        "Hispanic or Latino": (counts["Hispanic"], CENSUS_P2["Hispanic or Latino"]),
        "White alone, not Hispanic or Latino": (counts["Caucasian"], CENSUS_P2["White alone, not Hispanic or Latino"]),
        BLACK: (counts["African-American"], CENSUS_P2[BLACK]),
        AIAN: (counts["Native American"], CENSUS_P2[AIAN]),
        merged: (counts["Other"] + counts["Asian"], CENSUS_P2[ASIAN] + CENSUS_P2[NHPI] + CENSUS_P2[SOR]),
        "Two or More Races, not Hispanic or Latino": (0, CENSUS_P2["Two or More Races, not Hispanic or Latino"]),
    }
    by = {g["group"]: g for g in rep["groups"]}
    assert list(by) == list(expected)  # in the reference's order, the merged group where its first member is
    for name, (k, ref) in expected.items():
        assert by[name]["count"] == k
        assert by[name]["observed_share"] == pytest.approx(k / n)
        assert by[name]["expected_share"] == pytest.approx(ref / total, rel=1e-12)
        assert by[name]["representation_ratio"] == pytest.approx((k / n) / (ref / total))
    assert sorted(by[merged]["data_values"]) == ["Asian", "Other"]
    assert by[merged]["reference_groups"] == [ASIAN, NHPI, SOR]
    assert rep["n"] == n == 7214 and rep["unmapped"] == {}
    assert rep["unmatched_reference"] == ["Two or More Races, not Hispanic or Latino"]
    assert rep["mapping"]["Other"] == [ASIAN, NHPI, SOR]
    assert rep["mapping"]["Caucasian"] == ["White alone, not Hispanic or Latino"]
    ks = [k for k, _ in expected.values()]
    fs = [ref / total * n for _, ref in expected.values()]
    assert rep["chi2"] == pytest.approx(chisquare(ks, fs).statistic)
    assert rep["tvd"] == pytest.approx(0.5 * sum(abs(k / n - ref / total) for k, ref in expected.values()))
    # Black defendants are 51% of the rows vs 12% of the census (ratio > 1 passes a minimum); White,
    # Asian/other and Two or More fall short: the message and the evidence name the unmatched census group
    assert by["Two or More Races, not Hispanic or Latino"]["status"] == "FAIL"
    assert "Reference groups no data value maps to (0 rows): Two or More Races" in rep["message"]
    assert doc["verdict"] == "WARN"
    # the report's section names the unmatched census group and each compared group's data values
    html = (tmp_path / "out" / "report.html").read_text()
    assert "reference groups no data value maps to (0 rows in the test): Two or More Races" in html
    assert "<th>Data values</th>" in html
    assert f"<td>{', '.join(by[merged]['data_values'])}</td>" in html
    assert "Two or More Races, not Hispanic or Latino." in (tmp_path / "out" / "summary.md").read_text()


def test_merging_is_transitive_and_several_values_add_up(tmp_path, capsys):
    # Other → A, B and Mixed → B, C join A, B, C into one group; "A" (not in the mapping) matches A by name;
    # "a1" and "a2" both map to D; "Z" matches nothing and is left out; E gets no value.
    data = write_csv(tmp_path / "d.csv", _rows({"Other": 10, "Mixed": 5, "A": 15, "a1": 20, "a2": 30, "Z": 7}))
    check = {
        "id": "m",
        "feature": "group",
        "mapping": {"Other": ["A", "B"], "Mixed": ["B", "C"], "a1": "D", "a2": "D"},
        "reference": {"shares": {"A": 0.2, "B": 0.1, "C": 0.1, "D": 0.4, "E": 0.2}},
        "max_share_gap": 0.5,
    }
    rep = _run(capsys, tmp_path, data, _policy(tmp_path, check), "group", exit_code=0)["representativeness"][0]
    by = {g["group"]: g for g in rep["groups"]}
    assert list(by) == ["A + B + C", "D", "E"]
    assert by["A + B + C"]["count"] == 30 and by["A + B + C"]["expected_share"] == pytest.approx(0.4)
    assert sorted(by["A + B + C"]["data_values"]) == ["A", "Mixed", "Other"]
    assert by["D"]["count"] == 50 and sorted(by["D"]["data_values"]) == ["a1", "a2"]
    assert by["E"]["count"] == 0 and rep["n"] == 80
    assert rep["unmapped"] == {"Z": 7} and rep["unmatched_reference"] == ["E"]
    assert by["D"]["observed_share"] == pytest.approx(50 / 80)
    assert "Data values with no reference group, left out: Z (7 rows)" in rep["message"]


def test_a_mapping_to_a_group_the_reference_lacks_is_a_policy_error(tmp_path):
    check = {
        "id": "x",
        "feature": "race",
        "reference": {"csv": "fairgate:references/us-census-2020.csv", "dimension": "race_ethnicity_PL94-171_P2"},
        "mapping": {"Other": ["Asian alone, not Hispanic or Latino", "Pacific Islander"]},
        "min_representation_ratio": 0.8,
    }
    with pytest.raises(PolicyError, match="'Other' → 'Pacific Islander' is not a group of the reference population"):
        load_policy(str(_policy(tmp_path, check)))
