"""A reviewer countersigns a real report and sees it on the sign-off page; `verify --require-role`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from audit.signing.ledger import Ledger
from tests.cli.helpers import invoke, run_args, skewed_rows, write_csv
from tests.signing.tools import field_box, ink_in_field

PASS = "correct horse battery staple"
pytestmark = pytest.mark.slow


@pytest.fixture
def issued(tmp_path, capsys, monkeypatch):
    """An author-signed report and the keys of its author, reviewer and approver."""
    monkeypatch.setenv("FAIRGATE_KEY_PASSPHRASE", PASS)
    keys = {}
    for role in ("author", "reviewer", "approver"):
        key = tmp_path / "keys" / f"{role}.p12"
        invoke(capsys, ["keygen", "--out", key, "--name", f"{role.capitalize()} Person"], exit_code=0)
        keys[role] = key
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    invoke(capsys, run_args(data, tmp_path / "out", "--sign", keys["author"]), exit_code=1)
    trust = [a for key in keys.values() for a in ("--trust", key.with_suffix(".cert.pem"))]
    return tmp_path / "out" / "report.pdf", keys, trust


def test_a_reviewer_countersigns_and_sees_the_stamp_on_the_reviewer_line(issued, tmp_path, capsys):
    report, keys, trust = issued
    page, _ = field_box(report, "Fairgate-reviewer-1")
    assert page > 1  # the sign-off page, at the end of the report
    blank = ink_in_field(report, "Fairgate-reviewer-1", tmp_path)
    out = tmp_path / "reviewed.pdf"
    before = report.read_bytes()

    ran = invoke(
        capsys,
        ["sign", report, "--key", keys["reviewer"], "--role", "reviewer", "--decision", "approve-with-conditions"]
        + ["--comment", "re-run on the 2025 holdout", "--out", out, *trust],
        exit_code=0,
    )

    assert f"{out}: countersigned as reviewer (approve with conditions), written to {out} ({report} is unchanged)" in (
        ran.out
    )
    assert "a stamp on the reviewer line" in ran.out
    assert report.read_bytes() == before
    assert blank == 0
    assert ink_in_field(out, "Fairgate-reviewer-1", tmp_path) > 300
    assert ink_in_field(out, "Fairgate-approver-1", tmp_path) == 0
    checked = json.loads(invoke(capsys, ["verify", out, *trust, "--json"], exit_code=0).out)
    review = checked["signatures"][1]
    assert (review["role"], review["decision"], review["comment"]) == (
        "reviewer",
        "approve with conditions",
        "re-run on the 2025 holdout",
    )


def test_require_role_fails_until_every_role_has_signed(issued, capsys):
    report, keys, trust = issued
    invoke(capsys, ["verify", report, *trust, "--require-role", "author"], exit_code=0)
    missing = invoke(capsys, ["verify", report, *trust, "--require-role", "reviewer,approver"], exit_code=1)
    assert "problem: required role 'reviewer' has not signed (--require-role)" in missing.out
    assert "problem: required role 'approver' has not signed (--require-role)" in missing.out

    signed = invoke(
        capsys,
        ["sign", report, "--key", keys["reviewer"], "--role", "reviewer", "--decision", "approve", *trust],
        exit_code=0,
    )
    assert f"{report}: countersigned as reviewer (approve), written in place" in signed.out
    half = invoke(capsys, ["verify", report, *trust, "--require-role", "reviewer,approver"], exit_code=1)
    assert "'approver' has not signed" in half.out and "'reviewer' has not signed" not in half.out

    invoke(capsys, ["sign", report, "--key", keys["approver"], "--role", "approver", *trust], exit_code=0)
    done = invoke(capsys, ["verify", report, *trust, "--require-role", "reviewer,approver", "--json"], exit_code=0)
    assert json.loads(done.out)["roles"] == ["author", "reviewer", "approver"]


def test_a_reviewer_must_state_a_decision(issued, capsys):
    report, keys, trust = issued
    before = report.read_bytes()

    ran = invoke(capsys, ["sign", report, "--key", keys["reviewer"], "--role", "reviewer", *trust], exit_code=2)
    rejected = invoke(
        capsys,
        ["sign", report, "--key", keys["reviewer"], "--role", "reviewer", "--decision", "reject", *trust],
        exit_code=2,
    )

    assert "a reviewer's countersignature records a decision: add --decision" in ran.err
    assert "a decision to reject needs a comment saying why" in rejected.err
    assert report.read_bytes() == before


def test_the_ledger_records_the_decision(issued, capsys):
    report, keys, trust = issued
    invoke(
        capsys,
        ["sign", report, "--key", keys["reviewer"], "--role", "reviewer", "--decision", "reject"]
        + ["--comment", "the holdout leaks labels", *trust],
        exit_code=0,
    )

    ledger = Ledger(Path(os.environ["FAIRGATE_LEDGER"]))  # tests/conftest.py: one ledger per test
    [record] = [r for r in ledger.records() if r.body["action"] == "sign"]
    assert record.body["verdict"] == "signed as reviewer: reject"
    assert record.body["countersignature"] == {
        "role": "reviewer",
        "decision": "reject",
        "comment": "the holdout leaks labels",
        "field": "Fairgate-reviewer-1",
    }
