"""`fairgate run`: the exit codes a release pipeline gates on, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli.helpers import balanced_rows, invoke, run_args, skewed_rows, write_csv


def _run(tmp_path, data, *extra):
    return run_args(data, tmp_path / "out", "--no-pdf", *extra)


def test_pass_exits_0_and_writes_results(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    ran = invoke(capsys, _run(tmp_path, data), exit_code=0)
    assert "verdict: PASS" in ran.out
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["verdict"] == "PASS" and doc["exit_code"] == 0
    assert doc["findings"][0]["status"] == "PASS"


def test_blocking_failure_exits_1(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    ran = invoke(capsys, _run(tmp_path, data), exit_code=1)
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    assert doc["verdict"] == "FAIL"
    finding = doc["findings"][0]
    assert finding["failing_groups"] == ["group=b"]
    # b: 10 of 50 selected (20%), a: 30 of 50 (60%) → impact ratio 1/3, computed by hand
    assert finding["observed"] == pytest.approx(0.2 / 0.6)
    assert "b (group) was selected at 33.3% of the rate of a, the highest group" in ran.out


def test_results_json_is_byte_identical_across_runs(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    args = [*_run(tmp_path, data), "--no-ledger"]
    invoke(capsys, args, exit_code=1)
    first = (tmp_path / "out" / "results.json").read_bytes()
    invoke(capsys, args, exit_code=1)
    assert (tmp_path / "out" / "results.json").read_bytes() == first


def test_with_a_ledger_results_json_also_records_the_ledger_head(tmp_path, capsys):
    """The only difference between two runs into one ledger is the head each found there."""
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    docs = []
    for _ in range(2):
        invoke(capsys, _run(tmp_path, data), exit_code=1)
        docs.append(json.loads((tmp_path / "out" / "results.json").read_text()))
    assert docs[0]["ledger"]["seq"] == 0 and docs[1]["ledger"]["seq"] == 1
    assert docs[0]["ledger"]["hash"] == "0" * 64 != docs[1]["ledger"]["hash"]
    assert {k: v for k, v in docs[0].items() if k != "ledger"} == {k: v for k, v in docs[1].items() if k != "ledger"}


def test_results_json_records_inputs_and_counts(tmp_path, capsys):
    import hashlib

    data = write_csv(tmp_path / "d.csv", skewed_rows())
    invoke(capsys, _run(tmp_path, data), exit_code=1)
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    dataset = next(i for i in doc["provenance"]["inputs"] if i["role"] == "dataset")
    assert dataset["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert dataset["size_bytes"] == data.stat().st_size
    groups = {g["id"]: g for g in doc["groups"]}
    assert groups["overall"]["features"] == {}
    assert groups["group=b"]["features"] == {"group": "b"}
    assert groups["group=b"]["counts"] == {"tn": 20, "fp": 5, "fn": 20, "tp": 5}
    assert doc["policy"]["id"] == "four-fifths"
    assert doc["provenance"]["command"][:2] == ["fairgate", "run"] or doc["provenance"]["command"][0] == "fairgate"


def _file(path, data: bytes):
    path.write_bytes(data)
    return path


BAD_INPUTS = [
    ("missing file", lambda p: p / "nope.csv", (), "nope.csv: no such file"),
    ("empty file", lambda p: _file(p / "e.csv", b""), (), "e.csv: the file is empty"),
    ("not utf-8", lambda p: _file(p / "x.csv", b"group,label,pred\n\xff\xfe,1,1\n"), (), "not UTF-8"),
    (
        "ragged csv",
        lambda p: _file(p / "r.csv", b"group,label,pred\na,1,1\nb,1,1,9,9\n"),
        (),
        "r.csv: line 3 has 5 fields, the header has 3",
    ),
    ("header only", lambda p: _file(p / "h.csv", b"group,label,pred\n"), (), "h.csv: the dataset has no rows"),
    (
        "missing label column",
        lambda p: write_csv(p / "d.csv", balanced_rows(), header=("group", "y", "pred")),
        (),
        "d.csv: no column named 'label'",
    ),
    (
        "non-binary labels",
        lambda p: write_csv(p / "d.csv", [("a", 2, 1), ("a", 0, 1), ("b", 1, 0)]),
        (),
        "label column 'label': 3 distinct values (0, 1, 2)",
    ),
    (
        "unknown policy id",
        lambda p: write_csv(p / "d.csv", balanced_rows()),
        ("--policy", "nine-tenths"),
        "nine-tenths: unknown policy id",
    ),
    (
        "two prediction sources",
        lambda p: write_csv(p / "d.csv", balanced_rows()),
        ("--scores", "pred"),
        "give only one of --model, --predictions, --scores",
    ),
    ("unsupported format", lambda p: _file(p / "d.xlsx", b"x"), (), "d.xlsx: unsupported dataset format"),
    ("bad parquet", lambda p: _file(p / "d.parquet", b"PAR1garbage"), (), "d.parquet: not a readable Parquet file"),
    (
        "repeated column that differs",
        lambda p: _file(p / "d.csv", b"group,label,pred,label\na,1,1,0\nb,0,1,0\n"),
        (),
        "d.csv: column 'label' appears more than once with different values",
    ),
    (
        "id used as sensitive feature",
        lambda p: write_csv(p / "d.csv", [(f"id{i}", i % 2, i % 2) for i in range(1200)]),
        (),
        "sensitive column 'group' has 1200 distinct values — is it an identifier?",
    ),
]


@pytest.mark.parametrize(("case", "make", "extra", "fragment"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line_and_no_output(tmp_path, capsys, case, make, extra, fragment):
    data = make(tmp_path)
    args = _run(tmp_path, data)
    if extra and extra[0] == "--policy":
        args[args.index("four-fifths")] = extra[1]
    else:
        args += list(extra)
    ran = invoke(capsys, args, exit_code=2)
    first = ran.err.splitlines()[0]
    assert first.startswith("error: ")
    assert fragment in first
    assert "Traceback" not in ran.err
    assert not (tmp_path / "out").exists()


def test_unknown_metric_in_policy_exits_2(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "fairgate: 1\nid: p\nversion: '1'\ntitle: t\nrules:\n"
        "  - id: r\n    title: r\n    metric: joy_rate\n    min_value: 0.8\n"
    )
    args = _run(tmp_path, data)
    args[args.index("four-fifths")] = policy
    ran = invoke(capsys, args, exit_code=2)
    assert f"error: {policy}:8: rules.0.metric: unknown metric 'joy_rate'" in ran.err


def test_unexpected_error_exits_3_and_logs_the_traceback(tmp_path, capsys, monkeypatch):
    import audit.pipeline

    def boom(*_, **__):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(audit.pipeline, "run", boom)
    monkeypatch.setenv("FAIRGATE_LOG_DIR", str(tmp_path))
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    ran = invoke(capsys, _run(tmp_path, data), exit_code=3)
    assert len(ran.err.strip().splitlines()) == 1
    assert "internal error: RuntimeError: kaboom" in ran.err
    logs = list(tmp_path.glob("fairgate-error-*.log"))
    assert len(logs) == 1 and "Traceback" in logs[0].read_text()


def test_usage_error_exits_2(capsys):
    ran = invoke(capsys, ["run", "--policy", "four-fifths"], exit_code=2)
    assert "Missing option '--data'" in ran.err


def test_help_does_not_import_the_heavy_stack():
    code = (
        "import sys; from audit.cli import main; "
        "rc = main(['--help']); "
        "heavy = [m for m in ('pandas', 'sklearn', 'matplotlib', 'weasyprint', 'pyhanko', 'scipy') if m in sys.modules]; "  # noqa: E501
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_python_dash_m_audit_works():
    proc = subprocess.run([sys.executable, "-m", "audit", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and "fairgate" in proc.stdout
