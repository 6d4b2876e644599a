"""Rules on a probabilistic feature within segments (the policy's ``segment_by``; audit.judge.proxy_segments):
each segment judged on its own expected counts beside the pooled verdict, which it does not change — at the
edges: a group exactly at min_count in a segment and just under it, a group with zero expected size in a
segment, a segment whose rows have no probabilities, a segment the row filter empties, a waiver; the
statistics pooled over the segments shown as not computed; every printer shows the per-segment findings and
``verify --recompute`` reproduces them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from audit.judge.status import Status
from audit.pipeline import run_audit
from tests.judge.test_proxy_gate import LEVELS, PROBA, people, policy


def segmented() -> list[dict]:
    """Product A: white 40/50 = 0.8, black 18/30 = 0.6 — 0.75 of white's, below 0.8, with an expected size of
    exactly min_count (30). Product B: white 40/50, black 38/50 — 0.95. Pooled: black 56/80 = 0.7, 0.875 of
    white's 0.8: only segment A fails. Nobody is hispanic or api: zero expected size everywhere."""
    return (
        people("white", 50, 40, product="A")
        + people("black", 30, 18, product="A")
        + people("white", 50, 40, product="B")
        + people("black", 50, 38, product="B")
    )


def with_segments(doc: dict, columns=("product",)) -> dict:
    return {**doc, "segment_by": list(columns)}


def audit(rows: list[dict], doc: dict | None = None, sensitive=(), **options):
    return run_audit(
        data=pd.DataFrame(rows),
        policy=with_segments(doc or policy()),
        predictions="approved",
        positive_label="1",
        sensitive=list(sensitive),
        sensitive_proba=[PROBA],
        ledger=False,
        audit_date="2024-06-01",
        **options,
    )


def segment_docs(result) -> dict[str, dict]:
    section = result.to_dict()["proxy"]["segments"]
    return {s["segment"]["product"]: s for s in section["segments"]}


def rule_rows(segment: dict) -> dict[str, dict]:
    (rule,) = segment["rules"]
    return {g["group"]: g for g in rule["groups"]}


def test_each_segment_is_judged_on_its_own_and_the_pooled_verdict_is_unchanged():
    result = audit(segmented())
    plain = run_audit(
        data=pd.DataFrame(segmented()),
        policy=policy(),
        predictions="approved",
        positive_label="1",
        sensitive_proba=[PROBA],
        ledger=False,
        audit_date="2024-06-01",
    )
    # the pooled audit: the same items, verdict and proxy figures as without segment_by
    assert [(i.id, i.status) for i in result.items] == [(i.id, i.status) for i in plain.items]
    assert result.items[0].status is Status.PASS and result.exit_code == 0
    doc, plain_doc = result.to_dict(), plain.to_dict()
    assert {k: v for k, v in doc["proxy"].items() if k not in ("segments", "limitations")} == {
        k: v for k, v in plain_doc["proxy"].items() if k != "limitations"
    }
    segments = segment_docs(result)
    assert list(segments) == ["A", "B"]
    a, b = segments["A"], segments["B"]
    assert a["rows"] == 80 and b["rows"] == 100 and a["unknown_rows"] == 0
    assert [(f["id"], f["status"]) for f in a["findings"]] == [("impact.race", "FAIL")]
    assert [(f["id"], f["status"]) for f in b["findings"]] == [("impact.race", "PASS")]
    black = rule_rows(a)["black"]
    assert black["comparator"] == "white" and black["estimate"] == pytest.approx(0.75)
    assert black["expected_n"] == 30.0 and black["small"] is False and black["outcome"] == "FAIL"
    assert black["bounds"] == pytest.approx([0.75, 0.75])  # certain people: nothing for the proxy to move
    assert rule_rows(b)["black"]["estimate"] == pytest.approx(0.95)
    assert "black's selection rate is 75% of white's" in a["findings"][0]["message"]
    # the recorded features' segments are there too; with no recorded feature they hold no finding
    assert [s["findings"] for s in doc["segments"]["segments"]] == [[], []]


def test_the_statistics_pooled_over_the_segments_are_not_computed_with_the_reason():
    section = audit(segmented()).to_dict()["proxy"]["segments"]
    assert section["columns"] == ["product"]
    pooled = section["pooled_over_segments"]
    assert pooled["computed"] is False
    assert "Mantel–Haenszel" in pooled["reason"] and "Breslow–Day" in pooled["reason"]
    assert "integers" in pooled["reason"]


@pytest.mark.parametrize(("p_black", "small", "status"), [(1.0, False, "FAIL"), (0.99, True, "WARN")])
def test_a_segments_group_exactly_at_min_count_is_judged_just_under_it_is_small(p_black, small, status):
    """black in product A has an expected size of exactly 30 = min_count: judged on its estimate (FAIL). With
    one of its unselected people black with probability 0.99 (white 0.01) it is 29.99: small, the interval
    crosses parity, so the segment's finding warns."""
    rows = segmented()
    last = 50 + 29  # the last black person of product A (not selected)
    rows[last] = dict(rows[last], p_black=p_black, p_white=1.0 - p_black)
    a = segment_docs(audit(rows))["A"]
    black = rule_rows(a)["black"]
    assert black["expected_n"] == pytest.approx(29 + p_black, abs=1e-8)
    assert (black["expected_n"] == 30.0) is not small  # fixed-point sums of whole people: exact
    assert black["small"] is small
    assert a["findings"][0]["status"] == status


def test_a_group_with_zero_expected_size_in_a_segment_is_shown_and_not_compared():
    rows = [*segmented(), *people("api", 40, 32, product="B")]  # api only in product B
    segments = segment_docs(audit(rows))
    for name, empty in (("A", ("hispanic", "api")), ("B", ("hispanic",))):
        groups = {g["group"]: g for g in segments[name]["groups"]}
        assert set(groups) == set(LEVELS)
        for level in empty:
            assert groups[level]["expected_n"] == 0.0
            assert groups[level]["metrics"]["selection_rate"]["estimate"] is None
            assert groups[level]["metrics"]["selection_rate"]["bounds"] is None
            assert level not in rule_rows(segments[name])
    assert "api" in rule_rows(segments["B"]) and segments["A"]["findings"][0]["status"] == "FAIL"


def test_a_segment_without_probabilities_is_shown_and_judged_insufficient_never_pass():
    """Product C's people have no probabilities: all of them are unknown, every group's expected size is 0."""
    unknown = [{"p_white": None, "p_black": None, "p_hispanic": None, "p_api": None, "approved": 1, "product": "C"}]
    result = audit([*segmented(), *(unknown * 12)])
    c = segment_docs(result)["C"]
    assert c["rows"] == 12 and c["unknown_rows"] == 12
    assert all(g["expected_n"] == 0.0 for g in c["groups"])
    assert [f["status"] for f in c["findings"]] == ["INSUFFICIENT_DATA"]
    assert c["rules"][0]["groups"] == []
    assert result.items[0].status is Status.PASS  # the pooled verdict: unknowns are not a group of race


def test_a_segment_the_row_filter_empties_is_absent_as_for_recorded_features():
    rows = [*segmented(), *people("black", 40, 0, product="D")]
    result = audit(rows, where=("product != 'D'",))
    assert list(segment_docs(result)) == ["A", "B"]
    assert [s["segment"]["product"] for s in result.to_dict()["segments"]["segments"]] == ["A", "B"]


@pytest.mark.parametrize("waiver", ["black", "race=black", "*"])
def test_a_waiver_applies_within_the_segments(waiver):
    """Waivers name a rule and a group, never a segment (as for recorded features): product A's failing
    group is waived, its finding WAIVED and its sentence says so; a waiver for another group waives nothing."""
    a = segment_docs(audit(segmented(), policy(waiver=waiver)))["A"]
    assert a["findings"][0]["status"] == "WAIVED" and rule_rows(a)["black"]["outcome"] == "WAIVED"
    assert "Waived" in a["findings"][0]["message"]
    other = segment_docs(audit(segmented(), policy(waiver="hispanic")))["A"]
    assert other["findings"][0]["status"] == "FAIL"


def test_beside_a_recorded_feature_segments_hold_both_and_the_intersection():
    rows = [dict(r, sex="F" if i % 2 else "M") for i, r in enumerate(segmented())]
    result = audit(rows, sensitive=("sex",))
    doc = result.to_dict()
    for s in doc["proxy"]["segments"]["segments"]:
        assert [f["id"] for f in s["findings"]] == ["impact.race", "impact.race × sex"]
        (cut,) = s["intersections"]
        assert cut["scope"] == "race × sex"
        # an intersection within a segment sums to the segment's feature alone
        alone = {g["group"]: g["expected_n"] for g in s["groups"]}
        for level in LEVELS:
            parts = [g["expected_n"] for g in cut["groups"] if g["features"]["race"] == level]
            assert sum(parts) == pytest.approx(alone[level])
    assert [[f["rule_id"] for f in s["findings"]] for s in doc["segments"]["segments"]] == [["impact"], ["impact"]]


def test_every_printer_shows_the_segments_and_verify_recompute_reproduces_them(tmp_path, capsys):
    import jsonschema
    import yaml

    from audit.cli import main
    from audit.recompute import recompute
    from audit.util.resources import schema_path

    data = tmp_path / "d.csv"
    pd.DataFrame(segmented()).to_csv(data, index=False)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(with_segments(policy())))
    out = tmp_path / "out"
    args = ["run", "--data", data, "--policy", tmp_path / "p.yaml", "--predictions", "approved"]
    args += ["--positive-label", "1", "--sensitive-proba", PROBA, "--out", out]
    args += ["--format", "json,html,md", "--junit", tmp_path / "junit.xml", "--audit-date", "2024-06-01", "--no-ledger"]
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert code == 0, captured.err  # segment A fails: evidence, not the verdict
    doc = json.loads((out / "results.json").read_text())
    schema = json.loads(schema_path("results.schema.json").read_text())
    jsonschema.validate({"proxy": doc["proxy"]}, schema | {"required": []})  # the section, as documented
    assert [i["id"] for i in doc["items"]] == ["impact.race"]
    assert "within segments (product; evidence only" in captured.out
    assert "FAIL              impact.race [product=A]: On race" in captured.out
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"impact.race", "impact.race [product=A]", "impact.race [product=B]"}
    assert suite.get("failures") == "0" and suite.get("tests") == "3"
    evidence = cases["impact.race [product=A]"]
    assert evidence.find("failure") is None and "FAIL (evidence, not gated here)" in evidence.find("system-out").text
    summary = (out / "summary.md").read_text()
    assert "- product = A (80 rows): impact.race ❌ FAIL" in summary
    assert "On the probabilistic feature, pooled over the segments: not computed" in summary
    html = (out / "report.html").read_text()
    section = html.split('<section class="proxy">', 1)[1].split("</section>", 1)[0]
    assert "Within segments (product)" in section and "Segment product = A (80 rows)" in section
    assert "impact.race (within product = A): FAIL" in section
    replay = recompute(doc, data=data, model=None)
    assert replay.identical, replay.problems


def test_score_bands_are_segments_combined_with_segment_by():
    """``score_bands: [0.5]`` derives the band from the score column: with ``segment_by: [product]`` each
    (product, band) is one segment, its rows and expected counts those of its people."""
    rows = [dict(r, score=0.9 if r["approved"] else 0.1 + 0.3 * (i % 2)) for i, r in enumerate(segmented())]
    doc = with_segments(policy()) | {"score_bands": [0.5]}
    result = run_audit(
        data=pd.DataFrame(rows),
        policy=doc,
        scores="score",
        threshold=0.5,
        sensitive_proba=[PROBA],
        ledger=False,
        audit_date="2024-06-01",
    )
    section = result.to_dict()["proxy"]["segments"]
    assert section["columns"] == ["product", "score band"]
    frame = pd.DataFrame(rows)
    want = frame.assign(band=frame["score"] > 0.5).groupby(["product", "band"]).size()
    got = {(s["segment"]["product"], s["segment"]["score band"]): s["rows"] for s in section["segments"]}
    assert sorted(got.values()) == sorted(want.tolist()) and len(got) == 4
    for s in section["segments"]:
        above = s["segment"]["score band"].startswith("02")
        black = next(g for g in s["groups"] if g["group"] == "black")
        people_ = frame[(frame["product"] == s["segment"]["product"]) & ((frame["score"] > 0.5) == above)]
        assert black["expected_n"] == people_["p_black"].sum()
        rate = black["metrics"]["selection_rate"]["estimate"]
        assert rate == (1.0 if above else 0.0)  # every decision within a band is the same: score >= 0.5
    assert [i.id for i in result.items] == ["impact.race"] and result.items[0].status is Status.PASS


@pytest.mark.parametrize(
    ("whites", "said"),
    [
        (0, "The reference group white has an expected size of 0 on selection rate here: not judged."),
        (10, "The reference group white has an expected size of 10.0 on selection rate here, under min_count 30"),
        (29, "The reference group white has an expected size of 29.0 on selection rate here, under min_count 30"),
    ],
)
def test_a_segment_whose_reference_group_is_absent_or_small_says_so(whites, said):
    """`against: reference` with white as the reference: in product A white has nobody, 10 or 29 people
    (one under min_count) while black has 30. The segment is not judged, and its sentence names white and
    its expected size — before, it said no group reached min_count, which black did."""
    rows = people("white", whites, whites, product="A") + people("black", 30, 18, product="A")
    rows += people("white", 50, 40, product="B") + people("black", 50, 38, product="B")
    doc = policy()
    doc["rules"][0]["against"] = "reference"
    doc["groups"]["reference"] = {"race": "white"}
    a = segment_docs(audit(rows, doc))["A"]
    (finding,) = a["findings"]
    assert finding["status"] == "INSUFFICIENT_DATA"
    assert said in finding["message"]


def test_a_segment_where_the_reference_reaches_min_count_is_judged():
    """The edge above: white exactly at min_count (30) in product A is a comparator, so A is judged."""
    rows = people("white", 30, 24, product="A") + people("black", 30, 18, product="A")
    rows += people("white", 50, 40, product="B") + people("black", 50, 38, product="B")
    doc = policy()
    doc["rules"][0]["against"] = "reference"
    doc["groups"]["reference"] = {"race": "white"}
    a = segment_docs(audit(rows, doc))["A"]
    assert a["findings"][0]["status"] == "FAIL"  # black 0.6 / white 0.8 = 0.75
    assert rule_rows(a)["black"]["comparator"] == "white"
