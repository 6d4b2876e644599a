"""Recompute-to-verify compares a fresh audit with the recorded evidence, section by section."""

from __future__ import annotations

import copy

import pytest

from audit.pipeline import run_audit
from audit.recompute import recompute
from tests.cli.helpers import skewed_rows, write_csv

POLICY = (
    "fairgate: 1\nid: custom\nversion: '1'\ntitle: t\ngroups: {min_count: 5}\nrules:\n"
    "  - {id: r, title: r, metric: selection_rate, min_value: 0.8, decide_on: practical_significance}\n"
)


def _recorded(tmp_path):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY)
    doc = run_audit(
        data=data, policy=str(policy), label="label", predictions="pred", sensitive=["group"], seed=9
    ).to_dict()
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


@pytest.mark.slow
def test_verify_recompute_replays_an_audit_that_used_features(tmp_path, capsys):
    """`--features` is recorded with the request and replayed: a model that does not record its input
    columns recomputes to the same evidence (before, the replay lost --features and failed)."""
    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    from tests.cli.helpers import invoke

    rng = np.random.default_rng(3)
    n = 400
    group = np.where(rng.random(n) < 0.5, "a", "b")
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    label = (x1 + 0.5 * x2 + (group == "a") * 0.3 + rng.normal(scale=0.5, size=n) > 0).astype(int)
    rows = [
        (g, int(y), f"{a:.6f}", f"{b:.6f}", f"note {i}")
        for i, (g, y, a, b) in enumerate(zip(group, label, x1, x2, strict=True))
    ]
    data = write_csv(tmp_path / "d.csv", rows, header=("group", "label", "x1", "x2", "note"))
    model = tmp_path / "m.skops"
    sio.dump(LogisticRegression().fit(np.column_stack([x1, x2]), label), model)  # fitted on an array: no names
    key = tmp_path / "keys" / "k.p12"
    invoke(capsys, ["keygen", "--out", key, "--no-passphrase"], exit_code=0)
    out = tmp_path / "out"
    invoke(
        capsys,
        [
            "run",
            "--data",
            data,
            "--model",
            model,
            "--features",
            "x1,x2",
            "--policy",
            "four-fifths",
            "--label",
            "label",
            "--positive-label",
            "1",
            "--sensitive",
            "group",
            "--out",
            out,
            "--sign",
            key,
            "--no-ledger",
            "-q",
        ],
        exit_code=0,
    )
    ran = invoke(
        capsys,
        [
            "verify",
            out / "report.pdf",
            "--trust",
            key.with_suffix(".cert.pem"),
            "--recompute",
            "--data",
            data,
            "--model",
            model,
            "--no-ledger",
        ],
        exit_code=0,
    )
    assert "recomputed: the same results" in ran.out


def test_an_ll144_audit_with_its_context_is_replayed(tmp_path):
    """The context is an input of the audit: recorded in the request (its content, not the file's path)
    and replayed by recompute, which needs no copy of the --context file."""
    from audit.policy.load import load_context
    from tests.conftest import shared_data
    from tests.policy.test_ll144 import CONTEXT

    data = shared_data("ll144_selection_example_individuals.csv")
    doc = run_audit(data=data, policy="nyc-ll144", predictions="selected", context=load_context(CONTEXT)).to_dict()
    assert doc["request"]["context"]["auditor"]["name"] == "Example Audit Partners"
    assert doc["context"]["jurisdiction"].startswith("New York City")  # the policy's, under the file's
    assert recompute(doc, data=data, model=None).identical
    edited = copy.deepcopy(doc)
    edited["context"]["distribution_date"] = "2020-01-01"
    assert "recomputed 'context' differs from the signed evidence" in recompute(edited, data=data, model=None).problems
