"""Recompute-to-verify compares a fresh audit with the recorded evidence, section by section."""

from __future__ import annotations

import copy

from audit.pipeline import run_audit
from audit.recompute import recompute
from tests.cli.helpers import skewed_rows, write_csv

POLICY = ("fairgate: 1\nid: custom\nversion: '1'\ntitle: t\ngroups: {min_count: 5}\nrules:\n"
          "  - {id: r, title: r, metric: selection_rate, min_value: 0.8, decide_on: practical_significance}\n")


def _recorded(tmp_path):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    doc = run_audit(data=data, policy=str(policy), label="label", predictions="pred", sensitive=["group"],
                    seed=9).to_dict()
    return data, doc


def test_a_custom_policy_is_rebuilt_from_the_evidence(tmp_path):
    data, doc = _recorded(tmp_path)
    (tmp_path / "p.yaml").unlink()  # the reviewer has only the report and the data
    assert recompute(doc, data=data, model=None).identical


def test_an_edited_number_is_caught(tmp_path):
    data, doc = _recorded(tmp_path)
    edited = copy.deepcopy(doc)
    edited["groups"][1]["metrics"]["selection_rate"]["value"] = 0.9
    result = recompute(edited, data=data, model=None)
    assert not result.identical
    assert result.problems == ("recomputed 'groups' differs from the signed evidence",)


def test_an_edited_verdict_is_caught(tmp_path):
    data, doc = _recorded(tmp_path)
    edited = copy.deepcopy(doc) | {"verdict": "PASS"}
    assert "recomputed 'verdict' differs from the signed evidence" in recompute(edited, data=data, model=None).problems
