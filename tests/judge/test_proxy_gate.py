"""Rules on a probabilistic feature are judged items that gate (issue 19, item 2): the weighted estimate with
its sampling interval under the rule's decide_on, at the edges — exactly at the limit, one person's
probability either side, a tiny expected group, a waiver — in a proxy-only audit and beside a recorded
feature; and every printer agrees with the exit code on them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pandas as pd
import pytest

from audit.errors import PolicyError
from audit.judge.status import Status, fails_gate
from audit.pipeline import run_audit

LEVELS = ("white", "black", "hispanic", "api")
PROBA = "race=" + ",".join(f"p_{g}" for g in LEVELS)


def people(group: str, n: int, selected: int, **extra) -> list[dict]:
    """``n`` people certainly of ``group`` (probability 1), the first ``selected`` approved."""
    return [{**{f"p_{g}": float(g == group) for g in LEVELS}, "approved": int(i < selected), **extra} for i in range(n)]


def base() -> list[dict]:
    # white 40/50 = 0.8 (highest); black 32/50 = 0.64: exactly 0.8 of white's; hispanic 38/50
    return people("white", 50, 40) + people("black", 50, 32) + people("hispanic", 50, 38)


def one_person(approved: int) -> dict:
    """Black with probability 0.01 (else hispanic): black's rate moves just below or above 0.64."""
    return {"p_white": 0.0, "p_black": 0.01, "p_hispanic": 0.99, "p_api": 0.0, "approved": approved}


def policy(decide_on: str = "point", waiver: str | None = None, severity: str = "block") -> dict:
    rule = {
        "id": "impact",
        "title": "Impact ratio",
        "metric": "selection_rate",
        "compare": "ratio",
        "against": "max",
        "min_value": 0.8,
        "decide_on": decide_on,
        "severity": severity,
    }
    doc = {"fairgate": 1, "id": "edge", "version": "1", "title": "edge", "groups": {"min_count": 30}, "rules": [rule]}
    if waiver is not None:
        entry = {"rule": "impact", "reason": "known", "approved_by": "Board", "expires": "2099-01-01"}
        doc["waivers"] = [entry | ({} if waiver == "*" else {"group": waiver})]  # "*": the whole rule
    return doc


def audit(rows: list[dict], **options):
    return run_audit(
        data=pd.DataFrame(rows),
        policy=policy(**options),
        predictions="approved",
        positive_label="1",
        sensitive_proba=[PROBA],
        ledger=False,
        audit_date="2024-06-01",
    )


def proxy_item(result):
    (item,) = [i for i in result.items if i.kind == "proxy_rule"]
    return item


def group_row(result, group):
    rule = result.to_dict()["proxy"]["rules"][0]
    return next(g for g in rule["groups"] if g["group"] == group)


def test_a_proxy_only_audit_has_a_real_verdict_exactly_at_the_limit():
    result = audit(base())
    assert [i.id for i in result.items] == ["impact.race"]  # the scope-less recorded finding gives way
    assert result.verdict is Status.PASS and result.exit_code == 0
    row = group_row(result, "black")
    assert row["estimate"] == pytest.approx(0.8, abs=1e-12) and row["outcome"] == "PASS"


@pytest.mark.parametrize(("approved", "status", "code"), [(0, Status.FAIL, 1), (1, Status.PASS, 0)])
def test_one_persons_probability_either_side_of_the_limit(approved, status, code):
    result = audit([*base(), one_person(approved)])
    row = group_row(result, "black")
    assert (row["estimate"] < 0.8) == (approved == 0)
    assert proxy_item(result).status is status and result.exit_code == code and result.verdict is status
    if status is Status.FAIL:
        message = proxy_item(result).message
        # as many decimals as it takes not to read as the limit it fails (0.7998 was printed "0.800")
        shown = f"{row['estimate'] * 100:.2f}%"
        assert shown != "80.00%" and f"black's selection rate is {shown} of white's" in message
        assert "below the limit of 80%" in message
        # the bounds let that 0.01 of a person be the approved hispanic rather than ... : they straddle the limit
        assert "straddle the limit: the proxy alone cannot settle it" in message


@pytest.mark.parametrize(
    ("decide_on", "status"),
    [
        ("point", Status.FAIL),
        ("whole_interval", Status.PASS),
        ("practical_significance", Status.PASS),
        ("any_interval", Status.FAIL),
    ],
)
def test_decide_on_is_the_rules_own(decide_on, status):
    result = audit([*base(), one_person(0)], decide_on=decide_on)
    assert proxy_item(result).status is status


def test_any_interval_fails_exactly_at_the_limit_when_the_interval_crosses_it():
    assert proxy_item(audit(base(), decide_on="any_interval")).status is Status.FAIL


def test_a_tiny_expected_group_outside_the_limit_warns_on_small_numbers():
    result = audit([*base(), *people("api", 6, 1)])
    row = group_row(result, "api")
    assert row["small"] and row["expected_n"] == pytest.approx(6) and row["outcome"] == "NOT_SIGNIFICANT"
    assert proxy_item(result).status is Status.WARN and result.exit_code == 0
    assert "small expected group" in proxy_item(result).message


def test_no_group_reaching_min_count_is_insufficient_data_never_pass():
    result = audit(people("white", 20, 10) + people("black", 20, 2))
    assert proxy_item(result).status is Status.INSUFFICIENT_DATA
    assert "expected size of at least 30" in proxy_item(result).message


@pytest.mark.parametrize("waiver", ["black", "race=black", "*"])
def test_a_waiver_on_the_proxy_feature(waiver):
    result = audit([*base(), one_person(0)], waiver=waiver)
    assert proxy_item(result).status is Status.WAIVED and result.exit_code == 0 and result.verdict is Status.PASS
    assert "Waived" in proxy_item(result).message
    (record,) = result.to_dict()["waivers"]
    assert record["state"] == "applied" and record["waived"] == ["race=black"]


def test_a_waiver_for_another_group_waives_nothing():
    result = audit([*base(), one_person(0)], waiver="hispanic")
    assert proxy_item(result).status is Status.FAIL and result.exit_code == 1


def test_bounds_straddling_the_limit_are_said_in_the_sentence():
    rows = base() + [  # 60 people half white, half black: the proxy cannot say who was approved
        {"p_white": 0.5, "p_black": 0.5, "p_hispanic": 0.0, "p_api": 0.0, "approved": int(i < 20)} for i in range(60)
    ]
    result = audit(rows)
    row = group_row(result, "black")
    assert row["bounds_outcome"] == "INCONCLUSIVE"
    assert "straddle the limit: the proxy alone cannot settle it" in proxy_item(result).message


def test_beside_a_recorded_feature_both_are_judged():
    """The recorded feature, the probabilistic one, and (groups.intersections: true, the default) their
    intersection, whose groups of 25 expected people are under min_count 30 here: not judged, never PASS."""
    rows = [dict(r, sex="F" if i % 2 else "M") for i, r in enumerate([*base(), one_person(0)])]
    result = run_audit(
        data=pd.DataFrame(rows),
        policy=policy(),
        predictions="approved",
        positive_label="1",
        sensitive=["sex"],
        sensitive_proba=[PROBA],
        ledger=False,
    )
    assert [(i.kind, i.id) for i in result.items] == [
        ("rule", "impact"),
        ("proxy_rule", "impact.race"),
        ("proxy_rule", "impact.race × sex"),
    ]
    assert result.items[1].status is Status.FAIL and result.exit_code == 1
    assert result.items[2].status is Status.INSUFFICIENT_DATA


def test_a_metric_not_evaluated_on_proxies_is_insufficient_data():
    doc = policy()
    doc["rules"][0] |= {"metric": "f1", "compare": "difference", "min_value": -0.1}
    result = run_audit(
        data=pd.DataFrame([dict(r, label=r["approved"]) for r in base()]),
        policy=doc,
        predictions="approved",
        label="label",
        positive_label="1",
        sensitive_proba=[PROBA],
        ledger=False,
    )
    assert proxy_item(result).status is Status.INSUFFICIENT_DATA and "not evaluated" in proxy_item(result).message


# --- every printer ---------------------------------------------------------------------------

PRINTED = {
    "pass": (base(), {}),
    "fail": ([*base(), one_person(0)], {}),
    "warn": ([*base(), one_person(0)], {"severity": "warn"}),
    "small-warn": ([*base(), *people("api", 6, 1)], {}),
    "insufficient": (people("white", 20, 10) + people("black", 20, 2), {}),
    "info": ([*base(), one_person(0)], {"severity": "info"}),
    "waived": ([*base(), one_person(0)], {"waiver": "black"}),
}


@pytest.mark.parametrize("name", list(PRINTED))
@pytest.mark.parametrize(("fail_on", "strict"), [("fail", False), ("warn", False), ("fail", True)])
def test_every_printer_agrees_with_the_exit_code_on_proxy_items(tmp_path, capsys, name, fail_on, strict):
    import yaml

    from audit.cli import main

    rows, options = PRINTED[name]
    data = tmp_path / "d.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(policy(**options)))
    out = tmp_path / "out"
    args = [
        "run",
        "--data",
        data,
        "--policy",
        tmp_path / "p.yaml",
        "--predictions",
        "approved",
        "--positive-label",
        "1",
    ]
    args += ["--sensitive-proba", PROBA, "--out", out, "--format", "json,html,md", "--junit", tmp_path / "junit.xml"]
    args += ["--fail-on", fail_on, "--audit-date", "2024-06-01", "--no-ledger", *(["--strict"] if strict else [])]
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    doc = json.loads((out / "results.json").read_text())
    items = doc["items"]
    assert [i["id"] for i in items] == ["impact.race"]
    expected = any(fails_gate(Status(i["status"]), i["severity"], fail_on=fail_on, strict=strict) for i in items)
    assert code == int(expected) == doc["exit_code"]
    want = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "small-warn": "WARN", "insufficient": "INSUFFICIENT_DATA"}
    want |= {"info": "INFO", "waived": "WAIVED"}
    assert items[0]["status"] == want[name]
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    assert (int(suite.get("failures")) > 0) == (code == 1) and int(suite.get("tests")) == 1
    html = (out / "report.html").read_text()
    cover = html.split('class="cover"', 1)[1].split("</section>", 1)[0]
    assert "1 item" in cover and "impact.race" in cover
    assert f"verdict: {doc['verdict']}" in captured.out
    assert f"{items[0]['status']:<17} impact.race:" in captured.out
    summary = (out / "summary.md").read_text()
    assert "Impact ratio — race (estimated by proxy)" in summary


# --- intersections with recorded features ----------------------------------------------------------


def crossed() -> list[dict]:
    """Race × sex, everyone certain of their race: white × F 24/30 = 0.8, white × M 32/40, black × M 32/40,
    api × M 28/35, and black × F 18/30 = 0.6 — 0.75 of the highest, below 0.8, with an expected size of
    exactly min_count (30). On race alone black is 50/70, 0.893 of white's: only the intersection fails.
    No woman is api or hispanic: those intersection groups have an expected size of 0."""
    return (
        people("white", 30, 24, sex="F")
        + people("white", 40, 32, sex="M")
        + people("black", 30, 18, sex="F")
        + people("black", 40, 32, sex="M")
        + people("api", 35, 28, sex="M")
    )


def crossed_audit(rows: list[dict], doc: dict | None = None, sensitive=("sex",)):
    return run_audit(
        data=pd.DataFrame(rows),
        policy=doc or policy(),
        predictions="approved",
        positive_label="1",
        sensitive=list(sensitive),
        sensitive_proba=[PROBA],
        ledger=False,
        audit_date="2024-06-01",
    )


def item(result, id_: str):
    (found,) = [i for i in result.items if i.id == id_]
    return found


def crossed_rows(result, scope: str = "race × sex") -> dict[str, dict]:
    (section,) = [x for x in result.to_dict()["proxy"]["intersections"] if x["scope"] == scope]
    (rule,) = section["rules"]
    return {g["group"]: g for g in rule["groups"]}


def test_the_intersection_is_judged_and_fails_where_the_feature_alone_passes():
    result = crossed_audit(crossed())
    assert [(i.kind, i.id) for i in result.items] == [
        ("rule", "impact"),
        ("proxy_rule", "impact.race"),
        ("proxy_rule", "impact.race × sex"),
    ]
    assert item(result, "impact.race").status is Status.PASS
    crossed_item = item(result, "impact.race × sex")
    assert crossed_item.status is Status.FAIL and result.exit_code == 1
    assert crossed_item.title == "Impact ratio — race × sex (estimated by proxy)"
    assert "On race × sex (weighted estimate from the proxy), black × F's selection rate is 75% of white × F's" in (
        crossed_item.message
    )
    row = crossed_rows(result)["black × F"]
    assert row["features"] == {"race": "black", "sex": "F"} and row["comparator"] == "white × F"
    assert row["estimate"] == pytest.approx(0.75) and row["outcome"] == "FAIL"
    assert row["bounds"] == pytest.approx([0.75, 0.75])  # certain people: the proxy cannot move anyone


@pytest.mark.parametrize(("p_black", "small", "status"), [(1.0, False, Status.FAIL), (0.99, True, Status.WARN)])
def test_an_intersection_group_exactly_at_min_count_is_judged_just_under_it_is_small(p_black, small, status):
    """black × F's expected size is exactly 30 = min_count: judged on its estimate (FAIL). With one of its
    unselected women black with probability 0.99 (white 0.01) it is 29.99: small, the interval crosses
    parity, so it warns."""
    rows = crossed()
    last = 30 + 40 + 29  # the last black woman (not selected)
    rows[last] = dict(rows[last], p_black=p_black, p_white=1.0 - p_black)
    result = crossed_audit(rows)
    row = crossed_rows(result)["black × F"]
    assert row["expected_n"] == pytest.approx(29 + p_black, abs=1e-8)
    assert (row["expected_n"] == 30.0) is not small  # exactly min_count: fixed-point sums of whole people
    assert row["small"] is small
    assert item(result, "impact.race × sex").status is status


def test_an_intersection_group_with_zero_expected_size_is_shown_and_not_compared():
    result = crossed_audit(crossed())
    (section,) = result.to_dict()["proxy"]["intersections"]
    groups = {g["group"]: g for g in section["groups"]}
    assert set(groups) == {f"{r} × {s}" for r in LEVELS for s in ("F", "M")}
    for empty in ("api × F", "hispanic × F", "hispanic × M"):
        assert groups[empty]["expected_n"] == 0.0
        assert groups[empty]["metrics"]["selection_rate"]["estimate"] is None
        assert groups[empty]["metrics"]["selection_rate"]["bounds"] is None
    assert groups["api × M"]["expected_n"] == 35.0  # the feature alone has api: only the women have none
    compared = crossed_rows(result)
    assert "api × F" not in compared and "api × M" in compared
    assert item(result, "impact.race × sex").status is Status.FAIL  # decided by black × F alone


@pytest.mark.parametrize("waiver", ["black & F", "F & black", "black × F", "race=black&sex=F", "sex=F&race=black"])
def test_a_waiver_names_an_intersection_group(waiver):
    result = crossed_audit(crossed(), policy(waiver=waiver))
    crossed_item = item(result, "impact.race × sex")
    assert crossed_item.status is Status.WAIVED and result.exit_code == 0 and result.verdict is Status.PASS
    assert "Waived (group " + waiver in crossed_item.message
    assert crossed_rows(result)["black × F"]["outcome"] == "WAIVED"
    (record,) = result.to_dict()["waivers"]
    assert record["state"] == "applied" and record["waived"] == ["race=black&sex=F"]


@pytest.mark.parametrize("waiver", ["black", "race=black", "black & M", "white & F"])
def test_a_waiver_for_another_group_does_not_waive_the_intersection(waiver):
    result = crossed_audit(crossed(), policy(waiver=waiver))
    assert item(result, "impact.race × sex").status is Status.FAIL and result.exit_code == 1


def test_an_intersections_list_naming_the_proxy_feature_and_one_recorded_feature():
    """sex and age recorded, `intersections: [[race, sex]]`: race × sex is judged (its groups summed over
    age), no race × sex × age, and no recorded intersection (the list names none of theirs)."""
    rows = [dict(r, age="<40" if i % 3 else "40+") for i, r in enumerate(crossed())]
    doc = policy()
    doc["groups"]["intersections"] = [["race", "sex"]]
    result = crossed_audit(rows, doc, sensitive=("sex", "age"))
    assert [i.id for i in result.items] == ["impact", "impact.race", "impact.race × sex"]
    document = result.to_dict()
    assert {g["scope"] for g in document["groups"]} == {"overall", "sex", "age"}
    assert [x["scope"] for x in document["proxy"]["intersections"]] == ["race × sex"]
    frame = pd.DataFrame(rows)
    groups = {g["group"]: g for g in document["proxy"]["intersections"][0]["groups"]}
    for (sex, race), n in (
        frame.assign(race=frame[[f"p_{g}" for g in LEVELS]].idxmax(axis=1).str[2:])
        .groupby(["sex", "race"])
        .size()
        .items()
    ):
        assert groups[f"{race} × {sex}"]["expected_n"] == pytest.approx(n)
    assert item(result, "impact.race × sex").status is Status.FAIL


def test_a_listed_intersection_keeps_its_own_order():
    doc = policy()
    doc["groups"]["intersections"] = [["sex", "race"]]
    result = crossed_audit(crossed(), doc)
    assert [i.id for i in result.items][-1] == "impact.sex × race"
    assert crossed_rows(result, "sex × race")["F × black"]["features"] == {"sex": "F", "race": "black"}


def test_intersections_false_judges_the_feature_alone():
    doc = policy()
    doc["groups"]["intersections"] = False
    result = crossed_audit(crossed(), doc)
    assert [i.id for i in result.items] == ["impact", "impact.race"]
    assert "intersections" not in result.to_dict()["proxy"]


def test_a_listed_intersection_naming_no_sensitive_feature_is_refused():
    from audit.errors import PolicyError

    doc = policy()
    doc["groups"]["intersections"] = [["race", "region"]]
    with pytest.raises(PolicyError, match="'region' is not a sensitive feature"):
        crossed_audit(crossed(), doc)


@pytest.mark.parametrize(("features", "ids"), [(["sex"], ["impact"]), (["race", "sex"], None)])
def test_a_rules_features_must_cover_the_intersection(features, ids):
    doc = policy()
    doc["rules"][0]["features"] = features
    result = crossed_audit(crossed(), doc)
    assert [i.id for i in result.items] == (ids or ["impact", "impact.race", "impact.race × sex"])


def test_against_a_reference_group_of_the_intersection():
    doc = policy()
    doc["rules"][0]["against"] = "reference"
    doc["groups"]["reference"] = {"race": "white", "sex": "M"}
    result = crossed_audit(crossed(), doc)
    rows = crossed_rows(result)
    assert {r["comparator"] for r in rows.values()} == {"white × M"} and "white × M" not in rows
    assert rows["black × F"]["estimate"] == pytest.approx(0.75)


@pytest.mark.parametrize(("include_unknown", "judged"), [(False, False), (True, True)])
def test_a_missing_recorded_value_is_judged_only_under_include_unknown(include_unknown, judged):
    rows = crossed() + people("black", 40, 20, sex="")  # 0.5 / 0.8: would fail
    doc = policy()
    doc["groups"]["include_unknown"] = include_unknown
    result = crossed_audit(rows, doc)
    assert ("black × unknown" in crossed_rows(result)) is judged
    groups = {g["group"] for g in result.to_dict()["proxy"]["intersections"][0]["groups"]}
    assert "black × unknown" in groups  # shown either way


def test_every_printer_shows_the_intersection_and_verify_recompute_reproduces_it(tmp_path, capsys):
    import yaml

    from audit.cli import main
    from audit.recompute import recompute

    data = tmp_path / "d.csv"
    pd.DataFrame(crossed()).to_csv(data, index=False)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(policy()))
    out = tmp_path / "out"
    args = ["run", "--data", data, "--policy", tmp_path / "p.yaml", "--predictions", "approved"]
    args += ["--positive-label", "1", "--sensitive", "sex", "--sensitive-proba", PROBA, "--out", out]
    args += ["--format", "json,html,md", "--junit", tmp_path / "junit.xml", "--audit-date", "2024-06-01", "--no-ledger"]
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    doc = json.loads((out / "results.json").read_text())
    assert [i["id"] for i in doc["items"]] == ["impact", "impact.race", "impact.race × sex"]
    assert doc["summary"]["fail"] == 1 and doc["exit_code"] == 1
    assert "FAIL              impact.race × sex: On race × sex" in captured.out
    suite = ET.parse(tmp_path / "junit.xml").getroot()
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["impact.race × sex"].find("failure") is not None and cases["impact.race"].find("failure") is None
    summary = (out / "summary.md").read_text()
    assert "Impact ratio — race × sex (estimated by proxy)" in summary and "`RULE.race × sex`" in summary
    html = (out / "report.html").read_text()
    cover = html.split('class="cover"', 1)[1].split("</section>", 1)[0]
    assert "impact.race × sex" in cover
    section = html.split('<section class="proxy">', 1)[1].split("</section>", 1)[0]
    assert "Intersections: race × sex" in section and "impact.race × sex: FAIL" in section
    assert "black × F" in section and "proxy cells of that recorded group only" in section
    assert "calibrated within each recorded group" in html  # the limitation
    replay = recompute(doc, data=data, model=None)
    assert replay.identical, replay.problems


def beside_sex(doc: dict, approved: int = 0, **options):
    """The base people and one more (``one_person(approved)``), sex recorded alternately, audited on
    ``doc`` with race from the proxy."""
    rows = [dict(r, sex="F" if i % 2 else "M") for i, r in enumerate([*base(), one_person(approved)])]
    return run_audit(
        data=pd.DataFrame(rows),
        policy=doc,
        predictions="approved",
        positive_label="1",
        sensitive=["sex"],
        sensitive_proba=[PROBA],
        ledger=False,
        **options,
    )


def _beside_sex(waiver: str):
    return beside_sex(policy(waiver=waiver), audit_date="2024-06-01")


@pytest.mark.parametrize("waiver", ["black", "race=black"])
def test_a_waiver_naming_a_proxy_group_is_not_called_one_naming_no_group_by_the_recorded_finding(waiver):
    """The recorded feature (sex) has no group "black"; the probabilistic one has, and the waiver waives it
    there: the recorded finding must not say the waiver named no group and waived nothing."""
    result = _beside_sex(waiver)
    recorded = next(i for i in result.items if i.kind == "rule")
    assert "waived nothing" not in recorded.message and "not among the groups" not in recorded.message
    assert next(i for i in result.items if i.id == "impact.race").status is Status.WAIVED
    (record,) = result.to_dict()["waivers"]
    assert record["state"] == "applied" and record["waived"] == ["race=black"]


def test_a_waiver_naming_no_group_anywhere_still_says_so_beside_a_proxy():
    result = _beside_sex("blakc")  # a typo: neither sex nor race has it
    recorded = next(i for i in result.items if i.kind == "rule")
    assert "A waiver names group 'blakc', which is not among the groups this rule judged; it waived nothing." in (
        recorded.message
    )
    assert next(i for i in result.items if i.id == "impact.race").status is Status.FAIL and result.exit_code == 1
    (record,) = result.to_dict()["waivers"]
    assert record["state"] == "no such group"


def test_bounds_a_hair_either_side_of_the_limit_read_differently():
    """Bounds that straddle the limit by less than a sentence's one decimal are written with more."""
    from audit.judge.sentences import span_text

    rule = SimpleNamespace(compare="ratio")
    assert span_text(rule, 0.79996, 0.80004) == "79.996% to 80.004%"
    assert span_text(rule, 0.75, 0.855) == "75% to 85.5%"
    assert span_text(rule, 0.8, 0.8) == "80% to 80%"
    assert span_text(rule, None, 0.8) == "unbounded to 80%"
    limited = SimpleNamespace(compare="ratio", min_value=0.8, max_value=None)
    assert span_text(limited, 0.7996, 0.7996) == "79.96% to 79.96%"  # not "80% to 80%" … outside the limit
    assert span_text(limited, 0.8, 0.8) == "80% to 80%"
    assert span_text(limited, 0.8000000000000002, 1.0000000000000002) == "80% to 100%"  # float noise is not apart
    assert (
        span_text(SimpleNamespace(compare="difference"), -0.0500004, -0.0499996)
        == "-5.00004 to -4.99996 percentage points"
    )


def _with_rule_reference(reference: dict):
    doc = policy()
    doc["rules"][0] |= {"against": "reference", "reference": reference}
    return beside_sex(doc)


def test_a_rules_own_reference_may_name_the_probabilistic_feature_beside_a_recorded_one():
    """`reference: {race: white, sex: M}`: race's comparator is white on the proxy, sex's is M; the recorded
    judge's check that a reference names a feature of the audit does not refuse race."""
    result = _with_rule_reference({"race": "white", "sex": "M"})
    document = result.to_dict()
    assert document["policy"]["document"]["rules"][0]["reference"] == {"race": "white", "sex": "M"}  # as written
    proxy_rule = document["proxy"]["rules"][0]
    assert {g["comparator"] for g in proxy_rule["groups"]} == {"white"}
    assert next(i for i in result.items if i.id == "impact.race").status is Status.FAIL  # black at 0.639 of white
    recorded = next(d for d in document["disparities"] if d["rule_id"] == "impact" and d["scope"] == "sex")
    assert recorded["comparator"] == "sex=M"


def test_a_rules_reference_for_the_proxy_alone_still_needs_one_for_the_recorded_feature():
    with pytest.raises(PolicyError, match="names one for 'sex'"):
        _with_rule_reference({"race": "white"})


def _proxy_only(doc: dict):
    """The base rows audited on race alone under ``doc``, without a ledger or an audit date."""
    return run_audit(
        data=pd.DataFrame(base()),
        policy=doc,
        predictions="approved",
        positive_label="1",
        sensitive_proba=[PROBA],
        ledger=False,
    )


@pytest.mark.parametrize("where", ["rule", "groups"])
def test_a_reference_naming_no_level_of_the_probabilistic_feature_stops_the_run(where):
    """A typo (`whte`) would leave every group unjudged (INSUFFICIENT_DATA, the gate open): exit 2 naming the
    rule, the closest level and the levels there are — as for a recorded feature."""
    doc = policy()
    doc["rules"][0]["against"] = "reference"
    if where == "rule":
        doc["rules"][0]["reference"] = {"race": "whte"}
    else:
        doc["groups"]["reference"] = {"race": "whte"}
    with pytest.raises(PolicyError, match="rule 'impact': reference group 'whte' is not a group of race") as caught:
        _proxy_only(doc)
    assert caught.value.hint.startswith("did you mean 'white'? groups of race: white, black, hispanic")


def test_a_proxy_rule_against_a_reference_that_names_none_stops_the_run():
    doc = policy()
    doc["rules"][0]["against"] = "reference"
    with pytest.raises(PolicyError, match="names one for 'race'"):
        _proxy_only(doc)


def test_a_segment_without_the_reference_group_is_not_judged_there_and_the_audit_goes_on():
    """Product A has no men: against the reference white × M, its recorded and intersection findings are not
    judged there (before, the recorded judge stopped the whole run: "reference group 'M' does not occur")."""
    from tests.judge.test_proxy_segments import audit as segmented_audit
    from tests.judge.test_proxy_segments import segmented

    rows = [dict(r, sex="F" if r["product"] == "A" or i % 2 else "M") for i, r in enumerate(segmented())]
    doc = policy()
    doc["rules"][0]["against"] = "reference"
    doc["groups"]["reference"] = {"race": "white", "sex": "M"}
    result = segmented_audit(rows, doc, sensitive=["sex"])
    segments = {s["segment"]["product"]: s for s in result.to_dict()["segments"]["segments"]}
    (in_a,) = segments["A"]["findings"]
    (in_b,) = segments["B"]["findings"]
    assert in_a["status"] == "INSUFFICIENT_DATA" and in_b["status"] == "PASS"
    assert "(nobody here is in the reference group 'M' of sex)" in in_a["message"]  # says why, naming M
    assert "unknown value or excluded" not in in_a["message"]  # F was not judged for want of M, not for that
    assert next(i for i in result.items if i.id == "impact").status is Status.PASS  # pooled: M is there


@pytest.mark.parametrize("strict", [False, True])
def test_a_rule_limited_to_the_probabilistic_feature_has_no_recorded_item_beside_a_recorded_feature(strict):
    """`features: [race]` with sex recorded: the rule has no recorded scope; its scope-less recorded finding
    ("not enough data in any scope") made the verdict INSUFFICIENT_DATA, a failure under --strict, although
    the rule passes on race. Only the judged item RULE.race remains."""
    doc = policy()
    doc["rules"][0]["features"] = ["race"]
    result = beside_sex(doc, approved=1, strict=strict)
    assert [i.id for i in result.items] == ["impact.race"]
    assert result.verdict is Status.PASS and result.exit_code == 0


def test_self_reported_values_naming_no_group_are_said_on_the_terminal(tmp_path, capsys):
    """Census-style answers ("Black or African American") do not name the group black: they are left to the
    proxy, which the report already said; the terminal summary now says it too, with both counts."""
    from audit.cli import main

    rows = base()
    for i, row in enumerate(rows):
        row["race_self"] = "White" if i < 10 else ("Black or African American" if i < 65 else "")
    data = tmp_path / "d.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    args = ["run", "--data", data, "--policy", "four-fifths", "--predictions", "approved", "--positive-label", "1"]
    args += ["--sensitive-proba", PROBA, "--self-reported", "race=race_self", "--out", tmp_path / "o", "--no-ledger"]
    main([str(a) for a in [*args, "--format", "json"]])
    printed = capsys.readouterr().out
    document = json.loads((tmp_path / "o" / "results.json").read_text())
    assert document["proxy"]["self_reported"]["unmatched"] == 55
    assert (
        "note: 55 value(s) of race_self name no group of race and were left to the proxy (10 matched); "
        "the groups are white, black, hispanic, api" in printed
    )


def test_the_notebook_api_takes_the_probability_columns_as_a_mapping_too():
    """`sensitive_proba={"race": [...]}` and `self_reported={"race": "race_self"}` (a notebook's natural form)
    audit exactly as the command line's strings do."""
    rows = [dict(r, race_self="black" if i % 7 == 0 else "") for i, r in enumerate(base())]
    common = dict(data=pd.DataFrame(rows), policy=policy(), predictions="approved", positive_label="1", ledger=False)
    as_text = run_audit(**common, sensitive_proba=[PROBA], self_reported="race=race_self")
    as_mapping = run_audit(
        **common, sensitive_proba={"race": [f"p_{g}" for g in LEVELS]}, self_reported={"race": "race_self"}
    )
    assert as_mapping.to_dict()["proxy"] == as_text.to_dict()["proxy"]
    assert as_mapping.to_dict()["proxy"]["self_reported"]["rows"] == 22
    assert [i.status for i in as_mapping.items] == [i.status for i in as_text.items]


def _report_run(tmp_path, capsys, rows: list[dict], *extra) -> tuple[dict, str]:
    """`fairgate run` with json, md and html on ``rows``: (results.json, the report's HTML unescaped)."""
    import html as html_lib

    import yaml

    from audit.cli import main

    data = tmp_path / "d.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(policy()))
    out = tmp_path / "o"
    args = ["run", "--data", data, "--policy", tmp_path / "p.yaml", "--predictions", "approved", "--positive-label"]
    args += ["1", "--sensitive-proba", PROBA, "--out", out, "--no-ledger", "--format", "json,md,html", *extra]
    main([str(a) for a in args])
    capsys.readouterr()
    return json.loads((out / "results.json").read_text()), html_lib.unescape((out / "report.html").read_text())


def _section(page: str, opening: str) -> str:
    return " ".join(page.split(opening, 1)[1].split("</section>", 1)[0].split())


def test_the_report_and_summary_of_a_proxy_only_audit_do_not_contradict_themselves(tmp_path, capsys):
    """A proxy-only report once said "This policy has no rules comparing groups" beside a failing rule on
    race, listed no sensitive feature, and "No row lacked a value for a sensitive feature" beside rows with
    no probabilities; summary.md's "sensitive features:" was empty."""
    rows = [*base(), {"p_white": None, "p_black": None, "p_hispanic": None, "p_api": None, "approved": 1}]
    _, page = _report_run(tmp_path, capsys, rows)
    assert "race (estimated by proxy, not recorded)" in _section(page, 'class="cover"')
    findings = _section(page, '<section class="findings">')
    assert "This policy has no rules comparing groups" not in findings
    assert 'The 1 rule judged on race — estimated by proxy, not recorded — is in the section "How' in findings
    limits = _section(page, '<section class="limitations">')
    assert "No row lacked a value" not in limits and "1 row had no probabilities for race" in limits
    assert "Of race (estimated), api has an expected size under 30." in limits
    assert "sensitive features: race (estimated by proxy, not recorded)" in (tmp_path / "o" / "summary.md").read_text()


def test_the_proxys_limitations_are_printed_whole_however_many(tmp_path, capsys):
    """Joined into one printed expression, the proxy's limitations passed the report's 1,000-character cut for
    text from the data and ended mid-word ("each perso…[1,726 characters; whole in results.json]")."""
    rows = [dict(r, sex="F" if i % 2 else "M") for i, r in enumerate(base())]
    document, page = _report_run(tmp_path, capsys, rows, "--sensitive", "sex")
    assert len(" ".join(document["proxy"]["limitations"])) > 1000
    limits = _section(page, '<section class="limitations">')
    assert "characters; whole in results.json" not in limits
    for sentence in document["proxy"]["limitations"]:
        assert " ".join(sentence.split()) in limits


def test_a_waiver_naming_no_group_of_a_proxy_only_audit_says_so_in_the_finding():
    """Without recorded features no recorded finding carried the note: a mistyped group ("blakc") left the
    rule failing with nothing on the terminal but the failure."""
    result = audit([*base(), one_person(0)], waiver="blakc")
    item = proxy_item(result)
    assert item.status is Status.FAIL
    assert item.message.endswith(
        "A waiver names group 'blakc', which is not among the groups this rule judged; it waived nothing."
    )
    (record,) = result.to_dict()["waivers"]
    assert record["state"] == "no such group"
    assert "blakc" not in audit([*base(), one_person(0)], waiver="black").items[0].message
