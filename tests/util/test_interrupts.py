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
from tests.conftest import REPO, unavailable

PREVIOUS = {
    "results.json": b'{"previous": "run"}\n',
    "summary.md": b"# previous\n",
    "report.pdf": b"%PDF-1.7\nprevious report\n%%EOF\n",
}
PASSPHRASE = "interrupt-test"


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    from audit.signing.keys import generate_dev_key

    return generate_dev_key(tmp_path_factory.mktemp("key") / "dev.p12", passphrase=PASSPHRASE.encode()).p12


def _args(tmp_path, *extra):
    data = write_csv(tmp_path / "d.csv", balanced_rows())
    return [
        "run",
        "--data",
        str(data),
        "--policy",
        "four-fifths",
        "--label",
        "label",
        "--predictions",
        "pred",
        "--sensitive",
        "group",
        "--out",
        str(tmp_path / "out"),
        "-q",
        *extra,
    ]


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
    "while signing": [
        ("audit.report.pdf", "render_pdf", _fake_pdf),
        ("audit.signing.sign", "sign_pdf", lambda source, target, **_: _half_written_then_interrupted(target)),
    ],
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
    import audit.report.pdf
    import audit.util.atomic

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

    monkeypatch.setattr(audit.util.atomic.os, "replace", replace_with_ctrl_c)
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
    assert all(name.startswith(".") and name.endswith(".tmp") or name == ".fairgate.lock" for name in leftovers), (
        leftovers
    )
    # the next run is not blocked by the killed one (the kernel released its lock) and clears its leftovers
    again = _start(tmp_path)
    again.communicate(timeout=180)
    assert again.returncode == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(PREVIOUS)


# --- SIGTERM and SIGHUP: a CI cancellation, Kubernetes, `timeout`, a closed terminal --------------


def _raise_signal(signum):
    def send(*_args, **_kwargs):
        os.kill(os.getpid(), signum)  # a real signal, delivered to this (main) thread right here
        time.sleep(1)  # the handler runs before this returns
        raise AssertionError("the signal was not acted on")

    return send


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("stage", ["before counting", "while rendering the PDF", "while signing"])
def test_sigterm_and_sighup_at_each_stage_keep_the_previous_report(signame, stage, tmp_path, monkeypatch, capsys, key):
    import importlib

    signum = getattr(signal, signame)
    where = {
        "before counting": [("audit.pipeline", "count_groups")],
        "while rendering the PDF": [("audit.report.pdf", "html_to_pdf")],
        "while signing": [("audit.signing.sign", "sign_pdf")],
    }[stage]
    if stage == "while signing":
        monkeypatch.setattr(importlib.import_module("audit.report.pdf"), "render_pdf", _fake_pdf)
    for module, name in where:
        monkeypatch.setattr(importlib.import_module(module), name, _raise_signal(signum))
    monkeypatch.setenv("FAIRGATE_KEY_PASSPHRASE", PASSPHRASE)
    before = signal.getsignal(signum)
    _previous(tmp_path / "out")
    code = main(_args(tmp_path, "--sign", str(key)))
    err = capsys.readouterr().err
    assert code == 130, err
    assert err.strip().splitlines()[-1] == f"interrupted ({signame})" and "Traceback" not in err
    _assert_untouched(tmp_path / "out")
    assert signal.getsignal(signum) == before  # the CLI's handler is gone once main() returns


def test_sigterm_during_the_renames_completes_the_new_set_then_exits_130(tmp_path, monkeypatch, capsys):
    import audit.report.pdf
    import audit.util.atomic

    real_replace = os.replace
    out = tmp_path / "out"
    renamed = []

    def replace_with_sigterm(src, dst):
        ours = os.path.dirname(dst) == str(out) and not os.path.basename(dst).startswith(".")
        if ours and not renamed:
            os.kill(os.getpid(), signal.SIGTERM)  # held back until the set is complete
        real_replace(src, dst)
        if ours:
            renamed.append(os.path.basename(dst))

    monkeypatch.setattr(audit.util.atomic.os, "replace", replace_with_sigterm)
    monkeypatch.setattr(audit.report.pdf, "render_pdf", _fake_pdf)
    _previous(out)
    assert main(_args(tmp_path)) == 130
    assert "interrupted (SIGTERM)" in capsys.readouterr().err
    assert renamed == ["report.pdf", "summary.md", "results.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(PREVIOUS)
    assert (out / "report.pdf").read_bytes() == FAKE_PDF


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_real_sigterm_and_sighup_during_the_run(tmp_path, signame):
    out = tmp_path / "out"
    _previous(out)
    proc = _start(tmp_path)
    _wait_for_report_temp(proc, out)
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert f"interrupted ({signame})" in err and "Traceback" not in err
    _assert_untouched(out)


def test_real_sigterm_before_any_output_leaves_no_directory(tmp_path):
    """`timeout -s TERM` while the data is still being read: no --out directory is left behind."""
    out = tmp_path / "out"
    proc = _start(tmp_path)
    deadline = time.monotonic() + 60
    while not (out / ".fairgate.lock").exists():  # the run holds its output directory from the start
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert not out.exists() or list(out.iterdir()) == []


# --- the output set is all or nothing: a rename that fails rolls back the others -----------------


@pytest.mark.parametrize("failing", ["report.pdf", "summary.md", "results.json"])
def test_a_refused_rename_rolls_the_set_back_and_exits_2_naming_the_file(failing, tmp_path, monkeypatch, capsys):
    import audit.report.pdf
    import audit.util.atomic

    real_replace = os.replace
    out = tmp_path / "out"

    def refusing(src, dst):
        if os.path.basename(str(dst)) == failing and not os.path.basename(str(src)).endswith(".bak.tmp"):
            raise PermissionError(1, "Operation not permitted", str(dst))  # e.g. chattr +i
        real_replace(src, dst)

    monkeypatch.setattr(audit.util.atomic.os, "replace", refusing)
    monkeypatch.setattr(audit.report.pdf, "render_pdf", _fake_pdf)
    _previous(out)
    assert main(_args(tmp_path)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == (
        f"error: {out / failing}: cannot write this output (Operation not permitted); nothing was changed in {out}"
    )
    assert err[1].startswith("hint: ") and len(err) == 2
    _assert_untouched(out)  # the files renamed before the failure are back, no backup or temp file left


def test_a_stale_file_that_cannot_be_removed_rolls_the_set_back(tmp_path, monkeypatch, capsys):
    """--format json,md must remove an earlier report.pdf (it would disagree); if that fails, nothing changes."""
    import audit.util.atomic

    real_unlink = os.unlink
    out = tmp_path / "out"

    def refusing(path, *args, **kwargs):
        if os.path.basename(str(path)) == "report.pdf":
            raise PermissionError(1, "Operation not permitted", str(path))
        real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(audit.util.atomic.os, "unlink", refusing)
    _previous(out)
    assert main(_args(tmp_path, "--format", "json,md")) == 2
    assert f"error: {out / 'report.pdf'}: cannot write this output" in capsys.readouterr().err
    _assert_untouched(out)


def test_a_full_disk_while_writing_is_exit_2_naming_the_output(tmp_path, monkeypatch, capsys):
    import audit.report.markdown

    out = tmp_path / "out"
    real = audit.report.markdown.render_markdown

    def full_disk(*args, **kwargs):
        real(*args, **kwargs)
        temp = next(out.glob(".summary.md.*.tmp"))
        raise OSError(28, "No space left on device", str(temp))

    monkeypatch.setattr(audit.report.markdown, "render_markdown", full_disk)
    _previous(out)
    assert main(_args(tmp_path, "--no-pdf")) == 2
    err = capsys.readouterr().err
    assert f"error: {out / 'summary.md'}: cannot write this output (No space left on device)" in err
    _assert_untouched(out)


# --- one run per output directory ---------------------------------------------------------------


def test_a_second_run_into_a_held_directory_stops_naming_the_other_process(tmp_path, capsys):
    from audit.util.atomic import _LOCKED, output_lock

    out = tmp_path / "out"
    _previous(out)
    with output_lock(out):
        _LOCKED.clear()  # as if another process held it (flock conflicts across open files)
        assert main(_args(tmp_path)) == 2
        _LOCKED.add(os.path.realpath(out))
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0] == f"error: {out}: another Fairgate run (process {os.getpid()}) is writing to this directory"
    assert err[1].startswith("hint: ")
    _assert_untouched(out)  # and the lock file is gone with the run that held it


def test_two_real_runs_into_one_directory_never_interleave(tmp_path):
    out = tmp_path / "out"
    first = _start(tmp_path)
    deadline = time.monotonic() + 60
    while not (out / ".fairgate.lock").exists():
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.002)
    second = _start(tmp_path)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2 and f"(process {first.pid}) is writing to this directory" in err, err
    first.communicate(timeout=180)
    assert first.returncode == 0
    assert sorted(p.name for p in out.iterdir()) == ["report.pdf", "results.json", "summary.md"]


def _stat(pid):
    """(state, parent pid) of a process from /proc, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def _descendants(pid):
    parents = {int(p): (_stat(p) or ("X", -1))[1] for p in os.listdir("/proc") if p.isdigit()}
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    return found


@pytest.mark.slow
@pytest.mark.parametrize("to", ["the process", "its process group"])
def test_sigterm_during_a_spark_run_cancels_it_cleanly(tmp_path, to):
    """Kubernetes signals the main process; a CI cancellation or `timeout` the whole group, so Spark's
    JVM dies with it and py4j fails: either way exit 130, one line, no output, no JVM left behind."""
    import shutil

    import pandas as pd

    if shutil.which("java") is None or not os.path.isdir("/proc"):
        unavailable("the Spark interrupt test needs Java and /proc")
    rows = pd.DataFrame(balanced_rows(), columns=["group", "label", "pred"])
    data = tmp_path / "d.parquet"
    pd.concat([rows] * 2000, ignore_index=True).to_parquet(data)
    out = tmp_path / "out"
    env = {**os.environ, "FAIRGATE_LOG_DIR": str(tmp_path / "logs"), "PYSPARK_PYTHON": sys.executable}
    cmd = [
        sys.executable,
        "-m",
        "audit",
        "run",
        "--engine",
        "spark",
        "--data",
        str(data),
        "--policy",
        "four-fifths",
        "--label",
        "label",
        "--predictions",
        "pred",
        "--sensitive",
        "group",
        "--out",
        str(out),
        "--no-pdf",
    ]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while not _descendants(proc.pid):  # Spark's JVM is starting: the run is in Spark's hands
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before Spark started"
        time.sleep(0.05)
    time.sleep(2)
    jvm = _descendants(proc.pid)
    if to == "the process":
        proc.send_signal(signal.SIGTERM)
    else:
        os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    # Fairgate says one line; Spark's JVM shares the terminal and, stopped while it starts, may print its
    # own Java trace (its gateway file was already removed) — that is the JVM's, not a Python traceback
    # (the exception's own line too: "java.io.FileNotFoundException: …/connection….info", seen once in CI-like runs)
    java = ("WARNING", "Setting", "Exception in thread", "java.", "\tat ", "\t... ", "Caused by")
    lines = [line for line in err.splitlines() if not line.startswith(java) and line.strip()]
    assert lines == ["interrupted (SIGTERM)"], err
    assert "Traceback" not in err
    assert not out.exists()
    time.sleep(1)
    assert jvm and not [p for p in jvm if (_stat(p) or ("X",))[0] not in ("X", "Z")]  # gone (or a zombie)
