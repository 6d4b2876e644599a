"""Friendly on a terminal (progress, colours), plain in CI and pipes (no ANSI codes)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from tests.cli.helpers import invoke, skewed_rows, write_csv
from tests.conftest import REPO


def _args(tmp_path):
    rows = [("[bold]b[/bold]" if g == "b" else g, y, p) for g, y, p in skewed_rows()]
    data = write_csv(tmp_path / "d.csv", rows)
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
        "--no-pdf",
    ]


def test_piped_output_has_no_ansi_codes(tmp_path, capsys):
    ran = invoke(capsys, [*_args(tmp_path), "--verbose"], exit_code=1)
    assert "\x1b[" not in ran.out + ran.err
    assert "counting groups:" in ran.err  # --verbose timings, plain


def test_quiet_prints_nothing(tmp_path, capsys):
    ran = invoke(capsys, [*_args(tmp_path), "--quiet"], exit_code=1)
    assert ran.out == "" and ran.err == ""


def test_a_terminal_gets_a_coloured_table_with_data_shown_literally(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"TERM": "xterm-256color", "COLUMNS": "160"}
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "audit", *_args(tmp_path)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        cwd=REPO,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=60) == 1
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[" in screen  # colour on a terminal
    assert "FAIL" in screen and "[bold]b[/bold]" in screen  # markup in group names stays text
    # the progress display is gone before the summary: nothing moves up or erases the summary's lines
    tail = screen[screen.rindex("verdict:") :]
    assert "results:" in tail and "\x1b[1A" not in tail and "\x1b[2K" not in tail
