"""Friendly on a terminal (progress, colours), plain in CI and pipes (no ANSI codes).

The terminal tests run the CLI in a pseudo-terminal of a known size and feed what it wrote through a
terminal emulator (pyte), so they assert what a person sees on the final screen, not the raw bytes.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import pyte

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


def _terminal_env():
    drop = ("CI", "COLUMNS", "LINES", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY")
    return {k: v for k, v in os.environ.items() if k not in drop} | {"TERM": "xterm-256color"}


def _read_all(leader: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _final_screen(args, *, columns=100, lines=40, stdout_pipe=False):
    """Run fairgate in a pty of ``columns`` × ``lines``; the screen a person sees when it exits (and,
    with ``stdout_pipe``, what went to a pipe instead: ``fairgate run … | tee log``)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "audit", *args],
        stdin=follower,
        stdout=subprocess.PIPE if stdout_pipe else follower,
        stderr=follower,
        env=_terminal_env(),
        cwd=REPO,
    )
    os.close(follower)
    raw = _read_all(leader)
    piped = None
    if proc.stdout is not None:
        with proc.stdout:
            piped = proc.stdout.read().decode("utf-8")
    code = proc.wait(timeout=120)
    os.close(leader)
    screen = pyte.Screen(columns, lines)
    pyte.ByteStream(screen).feed(raw)
    return code, [line.rstrip() for line in screen.display], raw, piped


def _plain_summary(tmp_path):
    """The summary the same audit prints to a pipe: the table's text must all be on the final screen."""
    ran = subprocess.run(
        [sys.executable, "-m", "audit", *_args(tmp_path), "--no-ledger"],
        capture_output=True,
        text=True,
        env=_terminal_env(),
        cwd=REPO,
    )
    return ran.stdout


def test_the_final_screen_keeps_the_whole_summary_the_verdict_and_the_output_lines(tmp_path):
    args = [a for a in _args(tmp_path) if a != "--no-pdf"]  # with the PDF: the slowest step, and a report: line
    code, screen, raw, _ = _final_screen([*args, "--no-ledger"], columns=180, lines=40)  # paths fit on a line
    assert code == 1
    assert "verdict" in raw.decode("utf-8", "replace")
    text = "\n".join(screen)
    assert "reading the data" not in text and "writing the report" not in text  # the progress display is gone
    verdict = next(i for i, line in enumerate(screen) if line.startswith("verdict: FAIL"))
    assert screen[verdict + 1].startswith(f"results: {tmp_path / 'out' / 'results.json'}")
    assert screen[verdict + 2].startswith(f"report:  {tmp_path / 'out' / 'report.pdf'} (UNSIGNED DRAFT)")
    table = screen[:verdict]
    top = next(i for i, line in enumerate(table) if line.startswith("┏"))
    assert "Fairgate — policy four-fifths" in table[top - 1]  # the title, above the table
    assert table[-1].startswith("└") and table[-1].endswith("┘")  # the table's last line, just above the verdict
    body = " ".join(line.strip("│ ") for line in table[top:])
    for word in ("selection-rate-impact-ratio", "FAIL", "[bold]b[/bold]", "policy requires at least 80%", "parity)."):
        assert word in body, word
    # every line between the table's top and bottom is a table line: nothing cut or overwritten
    assert all(line[:1] in "┏┃┡│├└" for line in table[top:]), table[top:]


def test_a_short_narrow_terminal_still_ends_with_the_verdict_and_outputs(tmp_path):
    code, screen, _, _ = _final_screen([*_args(tmp_path), "--no-ledger"], columns=60, lines=12)
    assert code == 1
    verdict = next(i for i, line in enumerate(screen) if line.startswith("verdict: FAIL"))
    assert screen[verdict + 1].startswith("results: ")  # (the path wraps onto the next lines)
    assert screen[verdict - 1].startswith("└")  # the table's end, just above (its top scrolled away)


def test_verbose_keeps_the_timings_above_the_summary(tmp_path):
    code, screen, _, _ = _final_screen([*_args(tmp_path), "--no-ledger", "--verbose"], columns=100, lines=40)
    assert code == 1
    text = "\n".join(screen)
    assert text.index("counting groups") < text.index("Fairgate — policy") < text.index("verdict: FAIL")
    assert "results: " in text


def test_progress_goes_to_the_terminal_and_a_piped_stdout_gets_the_plain_summary(tmp_path):
    code, screen, raw, piped = _final_screen([*_args(tmp_path), "--no-ledger"], stdout_pipe=True)
    assert code == 1
    assert "\x1b[" not in piped and piped.startswith("verdict: FAIL")  # no progress, no colour, no box drawing
    assert "results: " in piped
    assert b"reading the data" in raw  # the progress display was on the terminal (stderr) ...
    assert not any(screen)  # ... and erased at the end


def test_segment_findings_are_a_table_on_a_terminal_with_long_findings_wrapped_in_their_column(tmp_path):
    """The rules within each segment (segment_by) were plain lines that the terminal wrapped at its edge, their
    continuation lines flush left; on a terminal they are a table below the judged items, as those are."""
    rows = [(g, y, p, "x" if i % 2 else "y") for i, (g, y, p) in enumerate(skewed_rows())]
    data = tmp_path / "d.csv"
    data.write_text("group,label,pred,region\n" + "".join(f"{g},{y},{p},{s}\n" for g, y, p, s in rows))
    policy = tmp_path / "p.yaml"
    policy.write_text("fairgate: 1\nextends: four-fifths\nid: s\nversion: '1'\ntitle: s\nsegment_by: [region]\n")
    args = ["run", "--data", str(data), "--policy", str(policy), "--label", "label", "--predictions", "pred"]
    args += ["--sensitive", "group", "--out", str(tmp_path / "out"), "--no-pdf", "--no-ledger"]
    code, screen, _, _ = _final_screen(args, columns=100, lines=60)
    assert code == 1
    heading = next(i for i, line in enumerate(screen) if line.startswith("within segments (region;"))
    verdict = next(i for i, line in enumerate(screen) if line.startswith("verdict: FAIL"))
    part = screen[heading + 1 : verdict]
    assert part[0].startswith("┏") and part[-1].startswith("└")
    assert all(line[:1] in "┏┃┡│├└" for line in part), part  # every line inside the table: none flush left
    body = " ".join(line.strip("│ ") for line in part)
    for where in ("region=x", "region=y"):
        assert where in body
    assert max(len(line) for line in part) <= 100
