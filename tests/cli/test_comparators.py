"""Issue 18 (3, 4): each rule chooses its comparator (its own reference group, or the overall
population), and the policy lists the intersections to audit. On COMPAS, checked against pandas
counts computed here by hand (and, for ``against: overall``, fairlearn in tests/measures)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.cli.helpers import invoke

FPR = "false_positive_rate"


def _policy(tmp_path, largest: str, *, intersections: str = "[[sex, race], [race, age_cat]]", extra: str = ""):
    path = tmp_path / "p.yaml"
    path.write_text(
        f"""fairgate: 1
id: propublica-style
version: '1'
title: ProPublica-style comparators
groups:
  reference: {{race: Other}}
  intersections: {intersections}
rules:
  - id: fpr-vs-caucasian
    title: False positive rate against Caucasian defendants (ProPublica)
    metric: {FPR}
    against: reference
    reference: {{race: Caucasian}}
    features: [race]
    max_value: 1.25
    severity: warn
  - id: fpr-vs-largest
    title: False positive rate against the largest group (Aequitas)
    metric: {FPR}
    against: reference
    reference: {{race: {largest}}}
    features: [race]
    min_value: 0.8
    severity: warn
  - id: selection-vs-overall
    title: Selection rate against the whole population (fairlearn to_overall)
    metric: selection_rate
    against: overall
    min_value: 0.8
    severity: warn
{extra}"""
    )
    return path


def _run(
    tmp_path, capsys, data, policy, *extra, exit_code=0, sensitive=("race", "sex", "age_cat"), formats="json", out="out"
):
    args = ["run", "--data", data, "--policy", policy, "--scores", "decile_score", "--threshold", "5", *extra]
    args += ["--label", "two_year_recid", "--out", tmp_path / out, "--format", formats]
    for s in sensitive:
        args += ["--sensitive", s]
    return invoke(capsys, args, exit_code=exit_code)


def _fpr(frame: pd.DataFrame) -> pd.Series:
    negatives = frame[frame["two_year_recid"] == 0]
    return (negatives["decile_score"] >= 5).groupby(negatives["race"]).mean()


@pytest.fixture
def compas(compas_csv):
    return pd.read_csv(compas_csv, usecols=["race", "sex", "age_cat", "decile_score", "two_year_recid"])


def test_two_rules_with_different_reference_groups_and_listed_intersections(tmp_path, capsys, compas_csv, compas):
    largest = compas["race"].value_counts().idxmax()
    assert largest == "African-American"  # Aequitas's default reference: the largest group
    _run(tmp_path, capsys, compas_csv, _policy(tmp_path, largest), formats="json,html")
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    fpr = _fpr(compas)
    by_rule = {(d["rule_id"], d["scope"]): d for d in doc["disparities"]}
    for rule, reference in (("fpr-vs-caucasian", "Caucasian"), ("fpr-vs-largest", largest)):
        d = by_rule[(rule, "race")]
        assert d["against"] == "reference"
        assert d["comparator"] == f"race={reference}"
        assert d["comparator_value"] == pytest.approx(fpr[reference], rel=1e-12)
        for g in d["groups"]:
            race = g["group"].removeprefix("race=")
            if race != reference:
                assert g["value"] == pytest.approx(fpr[race] / fpr[reference], rel=1e-12), (rule, race)
        # each rule judges only the race scope (features: [race])
        assert {s for (r, s) in by_rule if r == rule} == {"race"}
    # ProPublica: Black defendants' false positive rate is far above White defendants'
    aa = next(g for g in by_rule[("fpr-vs-caucasian", "race")]["groups"] if g["group"] == "race=African-American")
    assert aa["value"] > 1.7
    # the policy-wide reference (Other) is not used by rules that name their own
    assert all(d["comparator"] != "race=Other" for d in doc["disparities"] if d["rule_id"].startswith("fpr-"))
    # the listed intersections are scopes (and the full race × sex × age_cat one is not)
    scopes = {g["scope"] for g in doc["groups"]}
    assert {"sex × race", "race × age_cat"} <= scopes
    assert not any(s.count("×") > 1 for s in scopes)
    overall_rule = {d["scope"] for d in doc["disparities"] if d["rule_id"] == "selection-vs-overall"}
    assert overall_rule == {"race", "sex", "age_cat", "sex × race", "race × age_cat"}
    cross = next(g for g in doc["groups"] if g["id"] == "race=Caucasian&age_cat=Less than 25")
    assert cross["n"] == int(((compas["race"] == "Caucasian") & (compas["age_cat"] == "Less than 25")).sum())
    html = (tmp_path / "out" / "report.html").read_text()
    for text in (
        "sex × race",
        "race × age_cat",
        "the overall population",
        "race = Caucasian",
        f"race = {largest}",
        "from the group against the rest of the population",
    ):
        assert text in html, text


def test_against_overall_in_results_and_sentences(tmp_path, capsys, compas_csv, compas):
    policy = _policy(tmp_path, "African-American", intersections="true")
    _run(tmp_path, capsys, compas_csv, policy, sensitive=("race", "sex"))
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    d = next(d for d in doc["disparities"] if d["rule_id"] == "selection-vs-overall" and d["scope"] == "race")
    selected = compas["decile_score"] >= 5
    assert d["against"] == "overall" and d["comparator"] == "overall"
    assert d["comparator_value"] == selected.mean()
    assert d["extreme"] is None  # no pair of groups is chosen from the data: every group vs the whole
    for g in d["groups"]:
        assert g["status"] != "COMPARATOR"  # no group is the comparator: every group is judged
        assert g["ci_method"] is None or g["ci_method"].startswith("katz-log (the group vs the rest")
    finding = next(f for f in doc["findings"] if f["rule_id"] == "selection-vs-overall")
    assert finding["against"] == "overall"
    assert "the overall population" in finding["message"]


@pytest.mark.parametrize(
    ("extra", "intersections", "error"),
    [
        (
            "  - {id: bad-ref, title: t, metric: selection_rate, against: reference, reference: {colour: red},"
            " min_value: 0.8}\n",
            "false",
            "rule 'bad-ref': its reference names 'colour', which is not a sensitive feature of this audit",
        ),
        (
            "  - {id: bad-value, title: t, metric: selection_rate, against: reference, reference: {race: Martian},"
            " features: [race], min_value: 0.8}\n",
            "false",
            "rule 'bad-value': reference group 'Martian' does not occur in race",
        ),
        ("", "[[sex, colour]]", "groups.intersections lists sex × colour, but 'colour' is not a sensitive feature"),
    ],
)
def test_bad_comparators_and_intersections_exit_2(tmp_path, capsys, compas_csv, extra, intersections, error):
    policy = _policy(tmp_path, "African-American", intersections=intersections, extra=extra)
    ran = _run(tmp_path, capsys, compas_csv, policy, exit_code=2, sensitive=("race", "sex"))
    lines = ran.err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), ran.err
    assert error in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            "groups: {intersections: [[sex]]}\nrules:\n  - {id: r, title: t, metric: selection_rate, min_value: 0.8}",
            "needs two or more different features",
        ),
        (
            "groups: {intersections: [[sex, race], [race, sex]]}\n"
            "rules:\n  - {id: r, title: t, metric: selection_rate, min_value: 0.8}",
            "is listed twice",
        ),
        (
            "rules:\n  - {id: r, title: t, metric: selection_rate, reference: {race: Caucasian}, min_value: 0.8}",
            "add `against: reference`",
        ),
        (
            "rules:\n  - {id: r, title: t, metric: selection_rate, against: everyone, min_value: 0.8}",
            "against",
        ),
    ],
)
def test_bad_policy_keys_exit_2(tmp_path, capsys, body, error):
    policy = tmp_path / "p.yaml"
    policy.write_text(f"fairgate: 1\nid: p\nversion: '1'\ntitle: t\n{body}\n")
    ran = invoke(capsys, ["policy", "validate", policy], exit_code=2)
    lines = ran.err.strip().splitlines()
    assert lines[0].startswith("error: ") and error in lines[0], ran.err
    assert lines[-1].startswith("hint: ")


def test_compare_resamples_the_whole_population_for_an_overall_rule(tmp_path, capsys, compas_csv):
    """`fairgate compare` re-computes the overall comparator in every bootstrap replicate: a run
    compared with itself changes by exactly 0, with an interval around 0, for every group."""
    policy = _policy(tmp_path, "African-American", intersections="false")
    _run(tmp_path, capsys, compas_csv, policy, sensitive=("race",))
    results = tmp_path / "out" / "results.json"
    ran = invoke(capsys, ["compare", results, results, "--json"], exit_code=0)
    doc = json.loads(ran.out)
    changes = [c for c in doc["changes"] if c["rule_id"] == "selection-vs-overall"]
    assert {c["group"] for c in changes} >= {"race=African-American", "race=Caucasian", "race=Other"}
    for c in changes:
        assert c["change"] == 0 and c["ci"][0] < 0 < c["ci"][1] and not c["regressed"], c


@pytest.mark.slow
def test_engines_agree_and_recompute_reproduces_the_evidence(tmp_path, capsys, compas_csv):
    """Per-rule references, against: overall and listed intersections give the same results.json on
    numpy and DuckDB, and `verify --recompute`'s replay of the recorded request reproduces it."""
    from audit.recompute import recompute

    policy = _policy(tmp_path, "African-American")
    _run(tmp_path, capsys, compas_csv, policy)
    _run(tmp_path, capsys, compas_csv, policy, "--engine", "duckdb", out="duckdb")
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    duck = json.loads((tmp_path / "duckdb" / "results.json").read_text())
    for key in ("groups", "disparities", "findings", "verdict"):
        assert duck[key] == doc[key], key
    assert recompute(doc, data=compas_csv, model=None).identical
