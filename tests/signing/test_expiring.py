"""`fairgate history --expiring`: audits older than their policy's validity (NYC LL144: one year)."""

from __future__ import annotations

import json

from tests.cli.helpers import invoke
from tests.conftest import shared_data
from tests.policy.test_ll144 import CONTEXT


def _audit(tmp_path, capsys, ledger, day, *extra):
    data = shared_data("ll144_scoring_example_individuals.csv")
    args = ["run", "--data", data, "--policy", "nyc-ll144-scoring", "--context", CONTEXT, "--audit-date", day]
    invoke(capsys, [*args, *extra, "--out", tmp_path / day, "--format", "json", "--ledger", ledger], exit_code=0)


def test_expiring_lists_audits_past_a_year_and_what_supersedes_them(tmp_path, capsys):
    ledger = tmp_path / "ledger.sqlite"
    _audit(tmp_path, capsys, ledger, "2024-01-15")
    _audit(tmp_path, capsys, ledger, "2024-06-01")
    records = json.loads(invoke(capsys, ["history", "--ledger", ledger, "--json"], exit_code=0).out)
    assert [(r["audit_date"], r["valid_until"]) for r in records] == [
        ("2024-01-15", "2025-01-14"),  # 365 days (nyc-ll144-selection's valid_for_days)
        ("2024-06-01", "2025-06-01"),
    ]
    assert records[0]["system"] == {"name": "ResumeRank (worked example of 6 RCNY § 5-301)", "version": "2.1"}

    # on the last valid day nothing has expired; the day after, the first audit has
    out = invoke(capsys, ["history", "--ledger", ledger, "--expiring", "--as-of", "2025-01-14"], exit_code=0).out
    assert out.strip() == "no audit past its validity on 2025-01-14"
    out = invoke(capsys, ["history", "--ledger", ledger, "--expiring", "--as-of", "2025-01-15"], exit_code=0).out
    lines = out.strip().splitlines()
    assert len(lines) == 1 and "audit 2024-01-15" in lines[0] and "expired after 2025-01-14" in lines[0]
    assert "superseded by record 2" in lines[0]  # a later audit of the same system under the same policy

    # later both have expired, and the newest is not re-audited: that is the one to act on
    ran = invoke(capsys, ["history", "--ledger", ledger, "--expiring", "--as-of", "2025-07-01", "--json"], exit_code=0)
    audits = json.loads(ran.out)["audits"]
    assert [(a["seq"], a["superseded_by"]) for a in audits] == [(1, 2), (2, None)]
    out = invoke(capsys, ["history", "--ledger", ledger, "--expiring", "--as-of", "2025-07-01"], exit_code=0).out
    assert out.strip().splitlines()[-1].endswith("NOT RE-AUDITED")

    # --within: also those whose validity ends within the next days
    ran = invoke(
        capsys, ["history", "--ledger", ledger, "--expiring", "--as-of", "2025-05-20", "--within", "30"], exit_code=0
    )
    assert "expires after 2025-06-01" in ran.out


def test_audits_under_a_policy_without_validity_are_never_listed(tmp_path, capsys):
    ledger = tmp_path / "ledger.sqlite"
    data = shared_data("ll144_selection_example_individuals.csv")
    args = ["run", "--data", data, "--policy", "four-fifths", "--sensitive", "sex", "--predictions", "selected"]
    invoke(capsys, [*args, "--out", tmp_path / "o", "--format", "json", "--ledger", ledger], exit_code=0)
    out = invoke(capsys, ["history", "--ledger", ledger, "--expiring", "--as-of", "2099-01-01"], exit_code=0).out
    assert out.strip() == "no audit past its validity on 2099-01-01"


def test_expiring_options_are_checked(tmp_path, capsys):
    ledger = tmp_path / "ledger.sqlite"
    ran = invoke(capsys, ["history", "--ledger", ledger, "--as-of", "2025-01-01"], exit_code=2)
    assert "--as-of and --within apply to --expiring" in ran.err
