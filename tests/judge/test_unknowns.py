"""Judging with the rows of unknown category: policy `unknown: ignore | proportional | worst_case`.

Groups a and b, and rows whose group is missing (the unknown category), through `fairgate run`.
"""

from __future__ import annotations

import json

import pytest

from audit.errors import PolicyError
from audit.policy.load import load_policy
from tests.cli.helpers import invoke, run_args, write_csv

RULE = "  - {id: air, title: air, metric: selection_rate, min_value: 0.8%s}\n"


def _run(tmp_path, capsys, groups, *, unknown=None, rule_unknown=None, exit_code):
    """groups: {name: (selected, n)}; the name "" is the unknown category (a missing value)."""
    extra = f", unknown: {rule_unknown}" if rule_unknown else ""
    setting = f", unknown: {unknown}" if unknown else ""
    tmp_path.mkdir(parents=True, exist_ok=True)
    policy = tmp_path / "p.yaml"
    policy.write_text(
        f"fairgate: 1\nid: unk\nversion: '1'\ntitle: t\ngroups: {{min_count: 30{setting}}}\nrules:\n" + RULE % extra
    )
    rows = [(g, int(i < k), int(i < k)) for g, (k, n) in groups.items() for i in range(n)]
    data = write_csv(tmp_path / "d.csv", rows)
    out = tmp_path / "out"
    invoke(capsys, run_args(data, out, "--format", "json,md", policy=policy), exit_code=exit_code)
    return json.loads((out / "results.json").read_text()), (out / "summary.md").read_text()


def _bounds(doc):
    d = next(d for d in doc["disparities"] if d["scope"] == "group")
    return {b["group"]: b for b in d["unknowns"]["groups"]}


@pytest.mark.parametrize(("unknown_rows", "status"), [(10, "PASS"), (11, "FAIL")])
def test_worst_case_exactly_at_the_limit_passes_and_one_row_more_fails(tmp_path, capsys, unknown_rows, status):
    # 20 of 40 selected in each group; the unknown rows all unselected. Worst case for a: all of
    # them in a → (20/50)/(20/40) = 4/5 exactly with 10 rows; 20/51 / (1/2) = 40/51 < 4/5 with 11.
    groups = {"a": (20, 40), "b": (20, 40), "": (0, unknown_rows)}
    doc, _ = _run(tmp_path, capsys, groups, unknown="worst_case", exit_code=0 if status == "PASS" else 1)
    finding = doc["findings"][0]
    assert finding["status"] == status
    assert _bounds(doc)["group=a"]["worst"] == pytest.approx(40 / (40 + unknown_rows))
    assert finding["unknowns"]["mode"] == "worst_case"
    assert finding["unknowns"]["worst_fails"] is (status == "FAIL")
    assert [i["kind"] for i in doc["items"]] == ["rule"]  # judged on the worst case: no separate warning
    if status == "FAIL":
        rows = next(d for d in doc["disparities"] if d["scope"] == "group")["groups"]
        assert {r["group"] for r in rows if r["status"] == "FAIL"} == {"group=a", "group=b"}
        assert all("worst case of the 11 rows" in r["decision_note"] for r in rows if r["status"] == "FAIL")


# a: 20/40, b: 16/40 (ratio 0.8, at the limit); 10 unknown rows, all selected.
# proportional: 5 each → 21/45 vs 25/45 = 0.84 (passes); worst for b: a takes all 10 → (16/40)/(30/50) = 2/3.
MIXED = {"a": (20, 40), "b": (16, 40), "": (10, 10)}


def test_ignore_judges_the_known_rows_and_warns_when_the_worst_case_would_fail(tmp_path, capsys):
    doc, summary = _run(tmp_path, capsys, MIXED, exit_code=0)
    assert doc["findings"][0]["status"] == "PASS"
    assert doc["verdict"] == "WARN"
    items = {i["id"]: i for i in doc["items"]}
    warn = items["air.unknowns"]
    assert (warn["kind"], warn["status"], warn["severity"]) == ("unknowns", "WARN", "warn")
    assert "worst case 66.7%" in warn["message"]
    u = doc["findings"][0]["unknowns"]
    assert u["worst"] == {"value": pytest.approx(2 / 3), "group": "group=b", "scope": "group"}
    assert u["proportional"]["value"] == pytest.approx((16 + 5) / 45 / ((20 + 5) / 45))
    assert "- air: up to 10 rows; worst case 66.7% (b, group), outside the bounds" in summary


def test_the_warning_fails_the_gate_under_fail_on_warn(tmp_path, capsys):
    policy = tmp_path / "p.yaml"
    policy.write_text("fairgate: 1\nid: unk\nversion: '1'\ntitle: t\ngroups: {min_count: 30}\nrules:\n" + RULE % "")
    rows = [(g, int(i < k), int(i < k)) for g, (k, n) in MIXED.items() for i in range(n)]
    data = write_csv(tmp_path / "d.csv", rows)
    invoke(capsys, run_args(data, tmp_path / "out", "--fail-on", "warn", policy=policy), exit_code=1)


def test_proportional_and_worst_case_modes(tmp_path, capsys):
    doc, _ = _run(tmp_path / "p", capsys, MIXED, unknown="proportional", exit_code=0)
    assert doc["findings"][0]["status"] == "PASS" and doc["verdict"] == "PASS"
    doc, _ = _run(tmp_path / "w", capsys, MIXED, unknown="worst_case", exit_code=1)
    assert doc["findings"][0]["status"] == "FAIL"
    # a rule's own setting overrides the policy's
    doc, _ = _run(tmp_path / "r", capsys, MIXED, unknown="worst_case", rule_unknown="ignore", exit_code=0)
    assert doc["findings"][0]["status"] == "PASS" and doc["findings"][0]["unknowns"]["mode"] == "ignore"


def test_no_unknown_rows_adds_nothing(tmp_path, capsys):
    doc, summary = _run(tmp_path, capsys, {"a": (20, 40), "b": (20, 40)}, unknown="worst_case", exit_code=0)
    assert "unknowns" not in doc["findings"][0]
    assert all("unknowns" not in d for d in doc["disparities"])
    assert "Unknown categories" not in summary


@pytest.mark.parametrize(
    "text",
    [
        "groups: {unknown: pessimistic}\n",
        "rules:\n  - {id: r, title: r, metric: selection_rate, min_value: 0.8, unknown: worst}\n",
    ],
)
def test_a_bad_unknown_mode_is_a_policy_error(tmp_path, text):
    base = "fairgate: 1\nid: bad\nversion: '1'\ntitle: t\n"
    if not text.startswith("rules"):
        text += "rules:\n  - {id: r, title: r, metric: selection_rate, min_value: 0.8}\n"
    path = tmp_path / "p.yaml"
    path.write_text(base + text)
    with pytest.raises(PolicyError) as err:
        load_policy(str(path))
    assert "unknown" in err.value.message
    assert "ignore" in err.value.message and "worst_case" in err.value.message
