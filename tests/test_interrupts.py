"""No lost output: a run interrupted at any point leaves the previous report byte-identical.

In-process, each stage is made to raise KeyboardInterrupt (what Ctrl-C raises) or to receive a
real SIGINT; in a subprocess a real SIGINT and a SIGKILL arrive while the report is being
written. After an interrupt: exit 130, no temporary or partial file in the output directory, and
the files of the previous run exactly as they were.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from audit.cli import main
from tests.cli.helpers import balanced_rows, write_csv
from tests.conftest import REPO

PREVIOUS = {"results.json": b'{"previous": "run"}\n', "summary.md": b"# previous\n",
            "report.pdf": b"%PDF-1.7\nprevious report\n%%EOF\n"}
PASSPHRASE = "interrupt-test"


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    from audit.signing.keys import generate_dev_key

    return generate_dev_key(tmp_path_factory.mktemp("key") / "dev.p12", passphrase=PASSPHRASE.encode()).p12


def _args(tmp_path, *extra):
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    return ["run", "--data", str(data), "--policy", "four-fifths", "--label", "label", "--predictions", "pred",
            "--sensitive", "group", "--out", str(tmp_path / "out"), "-q", *extra]


def _previous(out):
    out.mkdir()
    for name, data in PREVIOUS.items():
        (out / name).write_bytes(data)


def _assert_untouched(out):
    assert sorted(p.name for p in out.iterdir()) == sorted(PREVIOUS), list(out.iterdir())
    for name, data in PREVIOUS.items():
        assert (out / name).read_bytes() == data, name


def _raise(*_args, **_kwargs):
    raise KeyboardInterrupt


def _half_written_then_interrupted(path, *_args, **_kwargs):
    path.write_bytes(b"%PDF-1.7\n% half a report")
    raise KeyboardInterrupt


def _fake_pdf(*_args, **_kwargs):
    return FAKE_PDF


FAKE_PDF = b"%PDF-1.7\n% a stand-in for the rendered report (rendering is tested elsewhere)\n%%EOF\n"
# stage → patches (module, attribute, replacement); later stages skip the real PDF rendering for speed
STAGES = {
    "after reading the data": [("audit.pipeline", "count_groups", _raise)],
    "while computing statistics": [("audit.pipeline", "judge", _raise)],
    "while writing results.json and summary.md": [("audit.report.markdown", "render_markdown", _raise)],
    "while rendering the PDF": [("audit.report.pdf", "html_to_pdf", _raise)],
    "half-way through writing the PDF": [("audit.outputs", "_write_report", _half_written_then_interrupted)],
    "while signing": [("audit.report.pdf", "render_pdf", _fake_pdf),
                      ("audit.signing.sign", "sign_pdf",
                       lambda source, target, **_: _half_written_then_interrupted(target))],
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_interrupt_at_each_stage_keeps_the_previous_report(stage, tmp_path, monkeypatch, capsys, key):
    import importlib

    for module, name, replacement in STAGES[stage]:
        monkeypatch.setattr(importlib.import_module(module), name, replacement)
    monkeypatch.setenv("FAIRGATE_KEY_PASSPHRASE", PASSPHRASE)
    _previous(tmp_path / "out")
    code = main(_args(tmp_path, "--sign", str(key)))
    err = capsys.readouterr().err
    assert code == 130, err
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
    _assert_untouched(tmp_path / "out")


def test_junit_belongs_to_the_same_all_or_nothing_set(tmp_path, monkeypatch, capsys):
    """Ctrl-C while the JUnit XML is produced leaves the previous report *and* JUnit file (never a
    new report beside an old JUnit verdict)."""
    monkeypatch.setattr("audit.report.junit.render_junit", _raise)
    _previous(tmp_path / "out")
    junit = tmp_path / "junit.xml"
    junit.write_bytes(b"<previous/>")
    assert main(_args(tmp_path, "--junit", str(junit))) == 130
    _assert_untouched(tmp_path / "out")
    assert junit.read_bytes() == b"<previous/>" and list(tmp_path.glob(".junit.xml.*")) == []
    capsys.readouterr()


def test_ctrl_c_during_the_renames_completes_the_new_set_then_exits_130(tmp_path, monkeypatch, capsys):
    """A real SIGINT while the files are being renamed is held back until all of them are in place."""
    import audit.atomic
    import audit.report.pdf

    real_replace = os.replace
    renamed = []

    out = tmp_path / "out"

    def replace_with_ctrl_c(src, dst):
        ours = os.path.dirname(dst) == str(out)  # other libraries rename files too (font caches)
        if ours and not renamed:
            os.kill(os.getpid(), signal.SIGINT)  # pending: delivered once the renames are done
        real_replace(src, dst)
        if ours:
            renamed.append(os.path.basename(dst))

    monkeypatch.setattr(audit.atomic.os, "replace", replace_with_ctrl_c)
    monkeypatch.setattr(audit.report.pdf, "render_pdf", _fake_pdf)
    _previous(tmp_path / "out")
    code = main(_args(tmp_path))
    assert code == 130, capsys.readouterr().err
    assert renamed == ["report.pdf", "summary.md", "results.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(PREVIOUS)  # no temporary file left
    assert json.loads((out / "results.json").read_bytes())["verdict"] == "PASS"  # the new, complete set
    assert (out / "report.pdf").read_bytes() == FAKE_PDF


def _start(tmp_path):
    env = {**os.environ, "FAIRGATE_LOG_DIR": str(tmp_path / "logs")}
    cmd = [sys.executable, "-m", "audit", *_args(tmp_path)]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_report_temp(proc, out, timeout=120.0):
    """Block until the run is writing the report (its hidden temporary file exists)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list(out.glob(".report.pdf.*.tmp")):
            return
        assert proc.poll() is None, f"the run ended before the report was written: {proc.communicate()}"
        time.sleep(0.005)
    proc.kill()
    pytest.fail("the run never started writing the report")


def test_real_sigint_during_the_run(tmp_path):
    out = tmp_path / "out"
    _previous(out)
    proc = _start(tmp_path)
    _wait_for_report_temp(proc, out)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    _assert_untouched(out)


def test_sigkill_never_leaves_a_truncated_file_under_a_final_name(tmp_path):
    out = tmp_path / "out"
    _previous(out)
    proc = _start(tmp_path)
    _wait_for_report_temp(proc, out)
    proc.kill()
    proc.communicate(timeout=60)
    for name, data in PREVIOUS.items():
        assert (out / name).read_bytes() == data, name
    leftovers = [p.name for p in out.iterdir() if p.name not in PREVIOUS]
    assert all(name.startswith(".") and name.endswith(".tmp") for name in leftovers), leftovers
