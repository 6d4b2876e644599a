"""extends, waivers and data requirements through the CLI: resolution, provenance, and bad policies (exit 2)."""

from __future__ import annotations

import hashlib
import json
import textwrap

import jsonschema
import pytest

from audit.policy.load import load_policy
from audit.util.resources import schema_path
from tests.cli.helpers import invoke, run_args, skewed_rows, write_csv

BASE = """\
fairgate: 1
id: base
version: "1"
title: Base
groups:
  min_count: 5
rules:
  - id: air
    title: Selection rate ratio
    metric: selection_rate
    min_value: 0.8
  - id: tpr
    title: TPR gap
    metric: true_positive_rate
    compare: absolute_difference
    max_value: 0.1
    severity: warn
"""


def _write(path, text):
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _child(tmp_path, body, name="child.yaml"):
    return _write(tmp_path / name, 'fairgate: 1\nextends: base.yaml\nid: child\nversion: "2"\ntitle: Child\n' + body)


def test_extends_merges_mappings_and_rules_by_id(tmp_path):
    _write(tmp_path / "base.yaml", BASE)
    child = _child(
        tmp_path,
        "groups:\n  intersections: false\nrules:\n  - id: air\n    min_value: 0.9\n"
        "  - id: fpr\n    title: FPR gap\n    metric: false_positive_rate\n"
        "    compare: absolute_difference\n    max_value: 0.1\n",
    )
    loaded = load_policy(str(child))
    pol = loaded.policy
    assert (pol.id, pol.version, pol.groups.min_count, pol.groups.intersections) == ("child", "2", 5, False)
    assert [r.id for r in pol.rules] == ["air", "tpr", "fpr"]
    assert pol.rules[0].min_value == 0.9 and pol.rules[0].title == "Selection rate ratio"  # field-level override
    assert pol.extends is None
    base_bytes = (tmp_path / "base.yaml").read_bytes()
    assert [(e.source, e.sha256) for e in loaded.extends] == [("base.yaml", hashlib.sha256(base_bytes).hexdigest())]


def test_remove_and_replace_a_rule(tmp_path):
    _write(tmp_path / "base.yaml", BASE)
    child = _child(
        tmp_path,
        "remove: [air, tpr]\nrules:\n  - id: air\n    title: New\n    metric: accuracy\n"
        "    compare: difference\n    min_value: -0.05\n",
    )
    pol = load_policy(str(child)).policy
    assert [(r.id, r.metric, r.title) for r in pol.rules] == [("air", "accuracy", "New")]


def test_shipped_nyc_ll144_extends_the_selection_policy():
    loaded = load_policy("nyc-ll144")
    base = load_policy("nyc-ll144-selection").policy
    assert loaded.policy.rules == base.rules and loaded.policy.groups == base.groups
    assert [e.path for e in loaded.extends] == ["fairgate:policies/nyc-ll144-selection.yaml"]
    scoring = load_policy("nyc-ll144-scoring").policy
    assert scoring.columns.threshold == "median" and scoring.rules[0].metric == "selection_rate"


def test_policy_show_prints_the_resolved_policy(tmp_path, capsys):
    _write(tmp_path / "base.yaml", BASE)
    child = _child(tmp_path, "rules:\n  - id: air\n    min_value: 0.9\n")
    out = invoke(capsys, ["policy", "show", child], exit_code=0).out
    assert "# extends base.yaml" in out and "min_value: 0.9" in out and "id: tpr" in out


def _bad(tmp_path, capsys, path, *fragments):
    ran = invoke(capsys, ["policy", "validate", path], exit_code=2)
    for fragment in fragments:
        assert fragment in ran.err, ran.err
    return ran


def test_cycle_in_extends_names_the_files(tmp_path, capsys):
    _write(tmp_path / "a.yaml", 'fairgate: 1\nextends: b.yaml\nid: a\nversion: "1"\ntitle: A\n')
    _write(tmp_path / "b.yaml", 'fairgate: 1\nextends: a.yaml\nid: b\nversion: "1"\ntitle: B\n')
    _bad(tmp_path, capsys, tmp_path / "a.yaml", "b.yaml:2: extends: cycle:", "a.yaml → ", "b.yaml → ")


def test_error_in_the_extended_file_names_that_file_and_line(tmp_path, capsys):
    _write(tmp_path / "base.yaml", BASE.replace("min_count: 5", "min_count: many"))
    child = _child(tmp_path, "")
    _bad(tmp_path, capsys, child, f"{tmp_path / 'base.yaml'}:6: groups.min_count:")


def test_error_in_an_override_names_the_extending_file(tmp_path, capsys):
    _write(tmp_path / "base.yaml", BASE)
    child = _child(tmp_path, "rules:\n  - id: air\n    metric: happiness\n")
    _bad(tmp_path, capsys, child, f"{child}:8: rules.0.metric: unknown metric 'happiness'")


BAD = [
    ("unknown key", BASE.replace("  min_count: 5", "  min_count: 5\n  colour: blue"), ":7: groups.colour: unknown key"),
    ("wrong type", BASE.replace("min_count: 5", "min_count: many"), ":6: groups.min_count:"),
    ("unknown metric", BASE.replace("metric: selection_rate", "metric: happiness"), ":10: rules.0.metric:"),
    (
        "waiver for an unknown rule",
        BASE + "waivers:\n  - rule: airr\n    reason: r\n    approved_by: x\n    expires: 2030-01-01\n",
        ":19: waivers.0.rule: no rule with id 'airr'",
    ),
    (
        "expired waiver",
        BASE + "waivers:\n  - rule: air\n    reason: r\n    approved_by: x\n    expires: 2020-01-01\n",
        ":22: waivers.0.expires: the waiver for rule 'air' expired on 2020-01-01",
    ),
    (
        "bad data requirement",
        BASE + "data_requirements:\n  - id: d\n    check: duplicate_rows\n    max_share: lots\n",
        ":21: data_requirements.0.max_share:",
    ),
    (
        "unknown extends",
        BASE.replace('version: "1"', 'version: "1"\nextends: five-sixths'),
        ":4: extends: unknown policy id 'five-sixths'",
    ),
]


@pytest.mark.parametrize(("case", "text", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_bad_policies_exit_2_naming_key_and_line(tmp_path, capsys, case, text, fragment):
    path = _write(tmp_path / "bad.yaml", text)
    ran = _bad(tmp_path, capsys, path, f"{path}{fragment}")
    assert ran.err.startswith("error: ")
    # `run` refuses it the same way (exit 2), except an expired waiver, which a run reports instead
    if case != "expired waiver":
        data = write_csv(tmp_path / "d.csv", skewed_rows())
        invoke(
            capsys,
            [
                "run",
                "--data",
                data,
                "--policy",
                path,
                "--predictions",
                "pred",
                "--label",
                "label",
                "--sensitive",
                "group",
                "--out",
                tmp_path / "out",
                "--no-pdf",
            ],
            exit_code=2,
        )
        assert not (tmp_path / "out" / "results.json").exists()


WAIVED = (
    BASE
    + """\
waivers:
  - rule: air
    group: b
    reason: New outreach programme; re-audit in Q3
    approved_by: Head of Risk
    expires: 2026-06-30
data_requirements:
  - id: no-dups
    check: duplicate_rows
    max_share: 0.5
  - id: group-size
    check: min_group_rows
    min_rows: 60
    severity: info
"""
)


def _run(tmp_path, capsys, policy, audit_date, exit_code):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    out = tmp_path / f"out-{audit_date}"
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
            "--label",
            "label",
            "--sensitive",
            "group",
            "--out",
            out,
            "--no-pdf",
            "--audit-date",
            audit_date,
        ],
        exit_code=exit_code,
    )
    return json.loads((out / "results.json").read_text()), (out / "summary.md").read_text()


def test_waiver_applies_until_it_expires(tmp_path, capsys):
    policy = _write(tmp_path / "waived.yaml", WAIVED)
    schema = json.loads(schema_path("results.schema.json").read_text())
    doc, summary = _run(tmp_path, capsys, policy, "2026-06-30", exit_code=0)
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    air = next(f for f in doc["findings"] if f["rule_id"] == "air")
    assert air["status"] == "WAIVED" and "Head of Risk" in air["message"]
    assert doc["audit"]["audit_date"] == "2026-06-30"
    assert doc["waivers"][0]["state"] == "applied" and doc["waivers"][0]["waived"] == ["group=b"]
    assert "WAIVED" in summary and "Head of Risk" in summary
    groups = next(d for d in doc["disparities"] if d["rule_id"] == "air")["groups"]
    assert {g["group"]: g["status"] for g in groups}["group=b"] == "WAIVED"
    checks = {c["check_id"]: c for c in doc["checks"]}
    # skewed_rows: 100 rows, many exact repeats over (group, label, pred); groups of 50 < 60 (info only)
    assert checks["group-size"]["status"] == "INFO"
    assert doc["data_quality"]["duplicate_rows"] == 100 - len({r for r in skewed_rows()})
    assert doc["summary"]["waived"] == 1 and doc["verdict"] in ("PASS", "WARN")

    doc, summary = _run(tmp_path, capsys, policy, "2026-07-01", exit_code=1)
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)
    air = next(f for f in doc["findings"] if f["rule_id"] == "air")
    assert air["status"] == "FAIL" and "expired on 2026-06-30" in air["message"]
    assert doc["waivers"][0]["state"] == "expired"


def test_no_date_dependence_no_audit_date(tmp_path, capsys):
    policy = _write(tmp_path / "plain.yaml", BASE)
    doc, _ = _run(tmp_path, capsys, policy, "2026-01-01", exit_code=1)
    assert "audit_date" not in doc["audit"] and "waivers" not in doc and "checks" not in doc


def test_extended_policy_provenance_in_the_evidence(tmp_path, capsys):
    _write(tmp_path / "base.yaml", BASE)
    child = _child(tmp_path, "rules:\n  - id: air\n    min_value: 0.3\n")
    doc, _ = _run(tmp_path, capsys, child, "2026-01-01", exit_code=0)
    assert doc["policy"]["extends"] == [
        {
            "source": "base.yaml",
            "path": str(tmp_path / "base.yaml"),
            "sha256": hashlib.sha256((tmp_path / "base.yaml").read_bytes()).hexdigest(),
        }
    ]
    assert doc["policy"]["document"]["rules"][0]["min_value"] == 0.3
    assert [r["id"] for r in doc["policy"]["document"]["rules"]] == ["air", "tpr"]


def test_report_shows_waivers_checks_and_rule_kinds(tmp_path, capsys):
    from audit.report.html import ReportContext, render_html

    policy = _write(
        tmp_path / "waived.yaml",
        WAIVED.replace("metric: true_positive_rate", "metrics: [true_positive_rate, false_positive_rate]"),
    )
    doc, _ = _run(tmp_path, capsys, policy, "2026-06-30", exit_code=0)
    html = render_html(doc, context=ReportContext(generated_at="2026-06-30T00:00:00Z"))
    for text in (
        "Waivers",
        "Head of Risk",
        "2026-06-30",
        "Data requirements and score rules",
        "no-dups",
        "multi metric",
        "Kinds of rule in this policy",
        "shown for context only",
    ):
        assert text in html, text


def test_a_waiver_covers_an_under_represented_group(tmp_path, capsys):
    """Representativeness checks take waivers like rules do (group by name, whole check, expiry)."""
    import json

    from tests.cli.helpers import invoke, write_csv

    rows = [("a", i % 2, i % 2) for i in range(180)] + [("b", i % 2, i % 2) for i in range(20)]
    data = write_csv(tmp_path / "d.csv", rows)
    policy = tmp_path / "p.yaml"
    policy.write_text(
        """\
fairgate: 1
id: rep-waiver
version: "1"
title: t
representativeness:
  - id: rep
    feature: group
    reference: {shares: {a: 0.5, b: 0.5}}
    min_representation_ratio: 0.8
    severity: block
waivers:
  - {rule: rep, group: b, reason: recruiting more b, approved_by: R. Roe, expires: 2030-01-01}
""",
        encoding="utf-8",
    )
    args = [
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
        tmp_path / "o",
        "--no-pdf",
        "--audit-date",
        "2026-06-01",
    ]
    invoke(capsys, args, exit_code=0)
    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    rep = doc["representativeness"][0]
    assert rep["status"] == "WAIVED"
    assert {g["group"]: g["status"] for g in rep["groups"]}["b"] == "WAIVED"
    assert "recruiting more b" in rep["message"]
    invoke(capsys, [*args[:-1], "2031-01-01"], exit_code=1)  # expired: the group fails again


def _waiver_run(tmp_path, capsys, waiver_group):
    import json

    from tests.cli.helpers import invoke, write_csv

    rows = []
    for i in range(100):
        rows.append(("a", i % 2, int(i % 10 < 6)))
        rows.append(("b", i % 2, int(i % 10 < 1)))  # worst: 10% vs 60%
        rows.append(("c", i % 2, int(i % 10 < 3)))  # also failing: 30% vs 60%
    data = write_csv(tmp_path / "d.csv", rows)
    policy = tmp_path / "p.yaml"
    policy.write_text(
        f"""\
fairgate: 1
id: w
version: "1"
title: t
extends: four-fifths
waivers:
  - {{rule: selection-rate-impact-ratio, group: {waiver_group}, reason: remediation, approved_by: A. Lee,
     expires: 2030-01-01}}
""",
        encoding="utf-8",
    )
    invoke(
        capsys,
        run_args(data, tmp_path / "o", "--no-pdf", "--audit-date", "2026-06-01", policy=policy),
        exit_code=1,
    )
    return json.loads((tmp_path / "o" / "results.json").read_text())


def test_after_a_waiver_the_headline_names_a_group_that_still_fails(tmp_path, capsys):
    doc = _waiver_run(tmp_path, capsys, "b")
    finding = doc["findings"][0]
    assert finding["status"] == "FAIL"
    assert finding["worst_group"] == "group=c" and finding["failing_groups"] == ["group=c"]
    assert finding["observed"] == pytest.approx(0.3 / 0.6)
    assert finding["message"].startswith("c (group) was selected at 50% of the rate of a")
    assert "other group" not in finding["message"]  # the waived group is not counted as failing


def test_a_waiver_naming_no_group_of_the_audit_says_so(tmp_path, capsys):
    doc = _waiver_run(tmp_path, capsys, "group=bb")
    assert [w["state"] for w in doc["waivers"]] == ["no such group"]
    assert "waiver names group 'group=bb', which is not among the groups" in doc["findings"][0]["message"]


def test_a_misspelt_key_is_named_before_the_key_it_leaves_missing(tmp_path, capsys):
    from tests.cli.helpers import invoke

    typo = tmp_path / "typo.yaml"
    typo.write_text(
        BASE + "monitoring:\n  period_column: t\n  drift:\n    - id: d\n      metric: true_positive_rate\n"
        "      max_chnage: 0.05\n",
        encoding="utf-8",
    )
    ran = invoke(capsys, ["policy", "validate", typo], exit_code=2)
    *errors, hint = ran.err.splitlines()
    assert "monitoring.drift.0.max_chnage: unknown key (did you mean 'max_change'?)" in errors[0]
    assert "monitoring.drift.0.max_change: required, but missing" in errors[1]  # both shown, the typo first
    assert hint == "hint: did you mean 'max_change'? `fairgate policy schema` lists every allowed key"


def test_policy_show_prints_the_resolved_policy_without_resolution_keys(capsys):
    from tests.cli.helpers import invoke

    out = invoke(capsys, ["policy", "show", "nyc-ll144"], exit_code=0).out
    assert out.startswith("# extends nyc-ll144-selection")
    assert "\nextends:" not in out and "\nremove:" not in out and "ll144-impact-ratio" in out


def test_count_is_a_rule_metric(tmp_path, capsys):
    """Issue 15 (9) refused `count` in rules; issue 18 makes it one: a group's size compared exactly."""
    from tests.cli.helpers import invoke

    path = _write(
        tmp_path / "p.yaml",
        'fairgate: 1\nid: p\nversion: "1"\ntitle: t\nrules:\n'
        "  - {id: size, title: size, metric: count, min_value: 0.5}\n",
    )
    invoke(capsys, ["policy", "validate", str(path)], exit_code=0)
    schema = invoke(capsys, ["policy", "schema"], exit_code=0).out
    offered = json.loads(schema)["$defs"]["Rule"]["properties"]["metric"]["description"]
    assert all(m in offered for m in ("count", "ppr", "group_size_share", "positive_likelihood_ratio"))
