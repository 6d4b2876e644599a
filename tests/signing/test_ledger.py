"""The audit ledger: every run, sign and verify is recorded; edits and deletions are detected."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3

import jsonschema
import pytest

from audit.signing.ledger import GENESIS, Ledger, canonical, record_hash
from audit.util.resources import schema_path
from tests.cli.helpers import balanced_rows, invoke, run_args, skewed_rows, write_csv


def _run_args(tmp_path, data, out, *extra):
    return run_args(data, out, "--no-pdf", *extra)


@pytest.fixture
def ledger_path(tmp_path, monkeypatch):
    path = tmp_path / "ledger" / "audits.sqlite"
    path.parent.mkdir()  # a named ledger's directory must exist (a mistyped path is an error)
    monkeypatch.setenv("FAIRGATE_LEDGER", str(path))
    return path


def test_a_named_ledger_in_a_missing_directory_is_an_error_unless_ledger_create(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    path = tmp_path / "mnt" / "compliance" / "ledger.sqlite"  # a typo of an existing mount, say
    ran = invoke(capsys, [*_run_args(tmp_path, data, tmp_path / "out"), "--ledger", path], exit_code=2)
    assert ran.err.splitlines() == [
        f"error: {path}: the ledger's directory {path.parent} does not exist",
        "hint: check the path (a mistyped one would start a new, empty ledger); "
        "pass --ledger-create to create the directory",
    ]
    assert not (tmp_path / "out").exists() and not path.parent.exists()
    invoke(capsys, [*_run_args(tmp_path, data, tmp_path / "out"), "--ledger", path, "--ledger-create"], exit_code=0)
    assert [r.body["action"] for r in Ledger(path).records()] == ["run"]
    # the next run finds the directory: no flag needed
    invoke(capsys, [*_run_args(tmp_path, data, tmp_path / "out"), "--ledger", path], exit_code=0)
    assert len(Ledger(path).records()) == 2


def test_a_ledger_named_in_the_environment_needs_its_directory_too(tmp_path, capsys, monkeypatch):
    path = tmp_path / "missing" / "ledger.sqlite"
    monkeypatch.setenv("FAIRGATE_LEDGER", str(path))
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    ran = invoke(capsys, _run_args(tmp_path, data, tmp_path / "out"), exit_code=2)
    assert f"error: {path}: the ledger's directory" in ran.err and "--ledger-create" in ran.err


def test_the_default_ledger_directory_is_created(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FAIRGATE_LEDGER")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    invoke(capsys, _run_args(tmp_path, data, tmp_path / "out"), exit_code=0)
    assert len(Ledger(tmp_path / "xdg" / "fairgate" / "ledger.sqlite").records()) == 1


def test_runs_are_recorded_with_hashes_policy_and_verdict(tmp_path, capsys, ledger_path):
    fair = write_csv(tmp_path / "fair.csv", balanced_rows())
    unfair = write_csv(tmp_path / "unfair.csv", skewed_rows())
    invoke(capsys, _run_args(tmp_path, fair, tmp_path / "o1"), exit_code=0)
    invoke(capsys, _run_args(tmp_path, unfair, tmp_path / "o2"), exit_code=1)

    records = Ledger(ledger_path).records()
    assert [r.seq for r in records] == [1, 2]
    assert records[0].prev_hash == GENESIS and records[1].prev_hash == records[0].hash
    first, second = (r.body for r in records)
    assert (first["action"], first["verdict"], second["verdict"]) == ("run", "PASS", "FAIL")
    doc = json.loads((tmp_path / "o1" / "results.json").read_text())
    by_role = {i["role"]: i["sha256"] for i in doc["provenance"]["inputs"]}
    assert first["inputs"]["dataset"] == by_role["dataset"]
    assert first["policy"]["id"] == "four-fifths" and first["policy"]["version"] == doc["policy"]["version"]
    assert first["user"] and first["time"].endswith("Z")
    assert "--no-pdf" in first["command"]

    data_sha = second["inputs"]["dataset"][:10]
    out = invoke(capsys, ["history", "--data-sha", data_sha, "--json"], exit_code=0).out
    listed = json.loads(out)
    assert [r["seq"] for r in listed] == [2]
    out = invoke(capsys, ["history"], exit_code=0).out
    assert out.count("\n") == 2 and "FAIL" in out and "PASS" in out
    assert "INTACT" in invoke(capsys, ["history", "--verify"], exit_code=0).out


@pytest.mark.slow
def test_sign_and_verify_are_recorded_with_the_report_hash(tmp_path, capsys, ledger_path, monkeypatch):
    import hashlib

    invoke(capsys, ["keygen", "--out", tmp_path / "k.p12", "--no-passphrase", "--name", "Ledger Author"], exit_code=0)
    invoke(capsys, ["keygen", "--out", tmp_path / "r.p12", "--no-passphrase", "--name", "Ledger Reviewer"], exit_code=0)
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    out = tmp_path / "out"
    args = [a for a in _run_args(tmp_path, data, out) if a != "--no-pdf"]
    invoke(capsys, [*args, "--sign", tmp_path / "k.p12"], exit_code=0)
    report = out / "report.pdf"
    after_run = hashlib.sha256(report.read_bytes()).hexdigest()
    invoke(
        capsys,
        [
            "sign",
            report,
            "--key",
            tmp_path / "r.p12",
            "--role",
            "reviewer",
            "--decision",
            "approve",
            "--trust",
            tmp_path / "k.cert.pem",
        ],
        exit_code=0,
    )
    after_sign = hashlib.sha256(report.read_bytes()).hexdigest()
    invoke(
        capsys, ["verify", report, "--trust", tmp_path / "k.cert.pem", "--trust", tmp_path / "r.cert.pem"], exit_code=0
    )
    invoke(capsys, ["verify", report], exit_code=1)  # untrusted: recorded as INVALID

    bodies = [r.body for r in Ledger(ledger_path).records()]
    assert [b["action"] for b in bodies] == ["run", "sign", "verify", "verify"]
    assert bodies[0]["report_sha256"] == after_run and "Ledger Author" in bodies[0]["signer"]
    assert bodies[1]["report_sha256"] == after_sign and "reviewer" in bodies[1]["signer"]
    assert bodies[1]["inputs"] == bodies[0]["inputs"]  # the audit the signed report carries
    assert [b["verdict"] for b in bodies[2:]] == ["VALID", "INVALID"]
    assert bodies[2]["report_sha256"] == after_sign


def _seed_ledger(path, n=4):
    ledger = Ledger(path)
    for i in range(n):
        ledger.append({"action": "run", "inputs": {"dataset": f"{i:064x}"}, "verdict": "PASS"})
    return ledger


def test_an_edited_record_is_detected(tmp_path, capsys):
    path = tmp_path / "l.sqlite"
    _seed_ledger(path)
    with sqlite3.connect(path) as conn:
        body = conn.execute("SELECT body FROM records WHERE seq = 2").fetchone()[0]
        conn.execute("UPDATE records SET body = ? WHERE seq = 2", (body.replace("PASS", "FAIL"),))
    out = invoke(capsys, ["history", "--ledger", path, "--verify"], exit_code=1).out
    assert "record 2: its content was changed" in out and "BROKEN" in out


def test_an_edit_that_recomputes_its_own_hash_still_breaks_the_chain(tmp_path, capsys):
    path = tmp_path / "l.sqlite"
    _seed_ledger(path)
    with sqlite3.connect(path) as conn:
        prev = conn.execute("SELECT prev_hash FROM records WHERE seq = 2").fetchone()[0]
        text = canonical({"action": "run", "verdict": "FAIL"})
        conn.execute("UPDATE records SET body = ?, hash = ? WHERE seq = 2", (text, record_hash(prev, text)))
    out = invoke(capsys, ["history", "--ledger", path, "--verify"], exit_code=1).out
    assert "record 3: does not link to the record before it" in out


@pytest.mark.parametrize(("seq", "fragment"), [(2, "record(s) 2 deleted"), (4, "newest record(s) 4–4 were deleted")])
def test_a_deleted_record_is_detected(tmp_path, capsys, seq, fragment):
    path = tmp_path / "l.sqlite"
    _seed_ledger(path)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM records WHERE seq = ?", (seq,))
    out = invoke(capsys, ["history", "--ledger", path, "--verify"], exit_code=1).out
    assert fragment in out


def test_an_intact_ledger_reports_its_head_for_anchoring(tmp_path, capsys):
    path = tmp_path / "l.sqlite"
    ledger = _seed_ledger(path, n=3)
    check = json.loads(invoke(capsys, ["history", "--ledger", path, "--verify", "--json"], exit_code=0).out)
    assert check == {"ok": True, "records": 3, "head": ledger.records()[-1].hash, "problems": []}


def _parallel_run(args, barrier, results):
    from audit.cli import main

    barrier.wait()
    results.put(main([str(a) for a in args]))


@pytest.mark.slow
def test_parallel_runs_lose_no_record(tmp_path, ledger_path):
    """20 processes audit at the same moment into one ledger: 20 records, one unbroken chain."""
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(20), ctx.Queue()
    procs = [
        ctx.Process(target=_parallel_run, args=(_run_args(tmp_path, data, tmp_path / f"o{i}"), barrier, results))
        for i in range(20)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    codes = [results.get(timeout=5) for _ in procs]
    assert codes == [0] * 20
    ledger = Ledger(ledger_path)
    records = ledger.records()
    assert [r.seq for r in records] == list(range(1, 21))
    assert ledger.verify().ok


def test_a_named_ledger_that_cannot_be_written_stops_the_run_before_any_output(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    ran = invoke(capsys, [*_run_args(tmp_path, data, tmp_path / "out"), "--ledger", blocker / "l.sqlite"], exit_code=2)
    assert "ledger" in ran.err and str(blocker) in ran.err
    assert not (tmp_path / "out").exists()


def test_the_default_ledger_is_best_effort(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FAIRGATE_LEDGER")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))  # the default location cannot be created
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    ran = invoke(capsys, _run_args(tmp_path, data, tmp_path / "out"), exit_code=0)
    assert "warning: not recording in the audit ledger" in ran.err
    assert (tmp_path / "out" / "results.json").is_file()


def test_no_ledger_records_nothing(tmp_path, capsys, ledger_path):
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    invoke(capsys, [*_run_args(tmp_path, data, tmp_path / "out"), "--no-ledger"], exit_code=0)
    assert not ledger_path.exists()


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path, capsys):
    bogus = tmp_path / "x.sqlite"
    bogus.write_bytes(b"not sqlite at all" * 100)
    ran = invoke(capsys, ["history", "--ledger", bogus], exit_code=2)
    assert str(bogus) in ran.err and "ledger" in ran.err


# --- truncation (issue 16, item 6) ----------------------------------------------------------------

_TRUNCATIONS = {
    "sequence row deleted": ["DELETE FROM sqlite_sequence"],
    "newest record and sequence row deleted": ["DELETE FROM records WHERE seq = 4", "DELETE FROM sqlite_sequence"],
    "every record and the sequence row deleted": ["DELETE FROM records", "DELETE FROM sqlite_sequence"],
}


def _tamper(path, statements):
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.mark.parametrize("statements", list(_TRUNCATIONS.values()), ids=list(_TRUNCATIONS))
def test_a_deleted_sequence_counter_is_broken(tmp_path, capsys, statements):
    path = tmp_path / "l.sqlite"
    _seed_ledger(path)
    _tamper(path, statements)
    out = invoke(capsys, ["history", "--ledger", path, "--verify"], exit_code=1).out
    assert "sequence counter (the 'records' row of sqlite_sequence) was deleted" in out and "BROKEN" in out


def test_a_new_empty_ledger_is_intact(tmp_path, capsys):
    path = tmp_path / "l.sqlite"
    Ledger(path).ensure_writable()
    assert "INTACT — 0 record(s)" in invoke(capsys, ["history", "--ledger", path, "--verify"], exit_code=0).out


def test_no_record_is_appended_after_the_counter_was_deleted(tmp_path, capsys):
    """SQLite would recreate the counter on the next insert and hide the deletion: the run stops first."""
    path = tmp_path / "l.sqlite"
    _seed_ledger(path)
    _tamper(path, ["DELETE FROM records WHERE seq = 4", "DELETE FROM sqlite_sequence"])
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    ran = invoke(capsys, [*_run_args(tmp_path, data, tmp_path / "out"), "--ledger", path], exit_code=2)
    assert "sequence counter was deleted" in ran.err and "hint: run `fairgate history --verify`" in ran.err
    assert not (tmp_path / "out").exists()
    assert len(Ledger(path).records()) == 3


def _audited(tmp_path, capsys, path, name="out", *extra):
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    invoke(capsys, [*_run_args(tmp_path, data, tmp_path / name), "--ledger", path, *extra], exit_code=0)
    return tmp_path / name / "results.json"


def test_results_json_anchors_the_ledger_head(tmp_path, capsys):
    path = tmp_path / "l.sqlite"
    ledger = _seed_ledger(path, n=3)
    head = ledger.records()[-1]
    results = _audited(tmp_path, capsys, path)
    document = json.loads(results.read_text())
    assert document["ledger"] == {"seq": 3, "hash": head.hash}
    schema = json.loads(schema_path("results.schema.json").read_text())
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    ledger.append({"action": "verify", "verdict": "VALID"})  # later records do not matter

    ran = invoke(capsys, ["history", "--ledger", path, "--verify", "--against", results], exit_code=0)
    assert "still holds the head its audit recorded (record 3) and the audit's own record (4)" in ran.out
    check = json.loads(
        invoke(capsys, ["history", "--ledger", path, "--verify", "--against", results, "--json"], exit_code=0).out
    )
    assert check["ok"] and check["against"] == {
        "file": str(results),
        "anchor": {"seq": 3, "hash": head.hash},
        "audit_record": 4,
    }


@pytest.mark.parametrize(
    ("statements", "fragment"),
    [
        # cut back below the anchored head, the counter lowered to match: the chain alone looks intact
        (
            ["DELETE FROM records WHERE seq >= 3", "UPDATE sqlite_sequence SET seq = 2"],
            "record 4, the head when the report's audit ran",
        ),
        # only the newest record (the audit's own), the counter lowered to match
        (
            ["DELETE FROM records WHERE seq = 5", "UPDATE sqlite_sequence SET seq = 4"],
            "the report's own audit record (after record 4",
        ),
        # every record, the counter reset
        (["DELETE FROM records", "UPDATE sqlite_sequence SET seq = 0"], "record 4, the head when"),
    ],
    ids=["below the head", "the newest record", "every record"],
)
def test_truncation_that_the_chain_hides_is_caught_against_a_report(tmp_path, capsys, statements, fragment):
    path = tmp_path / "l.sqlite"
    _seed_ledger(path)
    results = _audited(tmp_path, capsys, path)
    _tamper(path, statements)
    assert "INTACT" in invoke(capsys, ["history", "--ledger", path, "--verify"], exit_code=0).out
    out = invoke(capsys, ["history", "--ledger", path, "--verify", "--against", results], exit_code=1).out
    assert fragment in out and "BROKEN" in out


@pytest.mark.slow
def test_against_a_signed_report_and_a_report_without_an_anchor(tmp_path, capsys):
    path = tmp_path / "l.sqlite"
    invoke(capsys, ["keygen", "--out", tmp_path / "k.p12", "--no-passphrase"], exit_code=0)
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    args = [a for a in _run_args(tmp_path, data, tmp_path / "out") if a != "--no-pdf"]
    invoke(capsys, [*args, "--ledger", path, "--sign", tmp_path / "k.p12"], exit_code=0)
    report = tmp_path / "out" / "report.pdf"
    invoke(capsys, ["history", "--ledger", path, "--verify", "--against", report], exit_code=0)
    _tamper(path, ["DELETE FROM records WHERE seq = 1", "UPDATE sqlite_sequence SET seq = 0"])
    assert (
        "own audit record"
        in invoke(capsys, ["history", "--ledger", path, "--verify", "--against", report], exit_code=1).out
    )

    unanchored = _audited(tmp_path, capsys, path, "plain", "--no-ledger")
    ran = invoke(capsys, ["history", "--ledger", path, "--verify", "--against", unanchored], exit_code=2)
    assert "recorded no ledger head" in ran.err and "hint:" in ran.err
    ran = invoke(capsys, ["history", "--ledger", path, "--against", unanchored], exit_code=2)
    assert "add --verify" in ran.err


def test_recompute_reuses_the_recorded_ledger_head(tmp_path, capsys):
    from audit.recompute import recompute

    path = tmp_path / "l.sqlite"
    _seed_ledger(path, n=2)
    results = _audited(tmp_path, capsys, path)
    document = json.loads(results.read_text())
    assert document["ledger"]["seq"] == 2
    assert recompute(document, data=tmp_path / "d.csv", model=None).identical
