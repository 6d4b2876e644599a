"""Hostile content is inert text, long text is cut, and rendering reads and fetches nothing it should not.

Group names, a column name, the policy's title/rule text and the model's file and feature names
carry HTML, CSS, ``file:///etc/passwd`` and ``http://127.0.0.1:9/x`` URLs, Jinja syntax and a
10,000-character string. The report (PDF text), summary.md and results.json must show them as
text, ``{{ 7*7 }}`` must never become 49, and an audit hook (``sys.addaudithook``) records every
file opened, URL requested, socket used and process started while the outputs are written:
only the bundled templates, WeasyPrint's own colour profile, the system's fonts and the output
directory may be touched, and nothing on the network.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from io import BytesIO
from pathlib import Path

import pytest

H_HTML = '<img src="file:///etc/passwd"><b>bold</b>'
H_CSS = '<style>@import url("http://127.0.0.1:9/x"); *{background:url(file:///etc/passwd)}</style>'
H_JINJA = "J{{ 7*7 }}J"
H_LINK = '<a href="http://127.0.0.1:9/x">click</a>'
H_LONG = "L" * 10_000
GROUPS = [H_HTML, H_CSS, H_JINJA + H_LINK, H_LONG]
COLUMN = f"sex {H_JINJA} <i>"
FEATURE = f"x {H_JINJA} <img src=file:///etc/passwd>"
WATCHED = {
    "open",
    "socket.connect",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "urllib.Request",
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
}

#: The programs ctypes.util.find_library may run to locate a shared library (never with our data).
FIND_LIBRARY = {"ldconfig", "gcc", "cc", "ld", "objdump"}

_recording: list[tuple[str, object]] | None = None


def _hook(event: str, args: tuple) -> None:
    if _recording is not None and event in WATCHED:
        _recording.append((event, args[0] if args else None))


sys.addaudithook(_hook)  # permanent for this process; it records only while _recording is a list


def _record(action):
    global _recording
    _recording = []
    try:
        action()
        return _recording
    finally:
        _recording = None


def _setup(tmp: Path) -> dict:
    import pandas as pd
    import skops.io
    from sklearn.linear_model import LogisticRegression

    rows = [(g, i % 7, i % 2) for g in GROUPS for i in range(40)]
    with open(tmp / "d.csv", "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow([COLUMN, FEATURE, "label"])
        out.writerows(rows)
    frame = pd.DataFrame({FEATURE: [float(r[1]) for r in rows], "label": [r[2] for r in rows]})
    model = tmp / f"m {H_JINJA} <b>.skops"
    skops.io.dump(LogisticRegression().fit(frame[[FEATURE]], frame["label"]), model)
    (tmp / "p.yaml").write_text(
        json.dumps(
            {  # JSON is YAML: quoting every hostile string exactly
                "fairgate": 1,
                "id": "hostile",
                "version": "1",
                "title": f"T {H_JINJA} {H_HTML}",
                "rules": [
                    {
                        "id": "r1",
                        "title": f"R {H_CSS}",
                        "metric": "selection_rate",
                        "min_value": 0.8,
                        "explanation": f"E {H_JINJA} {H_LINK} file:///etc/passwd http://127.0.0.1:9/x {H_LONG}",
                        "citation": f"C {H_HTML}",
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    from audit.pipeline import run_audit

    return run_audit(
        data=tmp / "d.csv", policy=str(tmp / "p.yaml"), model=model, label="label", sensitive=[COLUMN]
    ).to_dict()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from audit.outputs import write_outputs

    tmp = tmp_path_factory.mktemp("hostile")
    document = _setup(tmp)
    first = _record(lambda: write_outputs(document, tmp / "warm"))  # cold: imports, font caches
    second = _record(lambda: write_outputs(document, tmp / "out"))
    return document, tmp / "out", first, second


def _squeeze(text: str) -> str:
    return "".join(text.split())


def test_hostile_text_is_shown_literally_in_the_pdf(rendered):
    from pypdf import PdfReader

    _, out, _, _ = rendered
    text = _squeeze(" ".join(p.extract_text() for p in PdfReader(BytesIO((out / "report.pdf").read_bytes())).pages))
    for hostile in (H_HTML, H_CSS, H_LINK, H_JINJA, COLUMN):
        assert _squeeze(hostile) in text, hostile
    assert "J49J" not in text
    assert "[10,000characters;wholeinresults.json]" in text  # cut, and says so
    assert "L" * 1001 not in text


def test_evidence_keeps_the_long_name_whole_and_summary_escapes_markup(rendered):
    document, out, _, _ = rendered
    evidence = json.loads((out / "results.json").read_bytes())
    assert any(g["features"].get(COLUMN) == H_LONG for g in evidence["groups"])
    assert evidence["audit"]["predictions"]["feature_names"] == [FEATURE]
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert re.search(r"(?<!\\)<", summary) is None  # every < is escaped, so no tag is live
    assert '\\<img src="file:///etc/passwd"\\>' in summary


def test_report_html_holds_no_live_markup(rendered):
    from audit.report.html import ReportContext, render_html

    document, _, _, _ = rendered
    html = render_html(document, context=ReportContext(generated_at="2025-01-31T09:30:00Z"))
    for live in ('<img src="file:', "<style>@import", '<a href="http', "<b>bold", "<i>"):
        assert live not in html, live
    assert ">J{{ 7*7 }}J" in html or "J{{ 7*7 }}J" in html
    assert "J49J" not in html


def test_nothing_hostile_is_opened_fetched_or_connected(rendered):
    _, _, first, second = rendered
    for event, arg in first + second:
        shown = str(arg)[:200]
        assert not event.startswith("socket."), (event, shown)
        if event.startswith(("subprocess.", "os.system", "os.exec", "os.posix_spawn")):
            # only the helpers ctypes.util.find_library runs while a library first loads, in the cold run
            assert Path(str(arg)).name in FIND_LIBRARY and (event, arg) not in second, (event, shown)
        if event == "urllib.Request":
            assert shown.startswith("data:image/svg+xml;base64,"), shown
        assert "passwd" not in shown and "127.0.0.1" not in shown, (event, shown)


def test_only_bundled_files_fonts_and_the_output_are_opened(rendered):
    import weasyprint

    from audit.util.resources import templates_dir

    _, out, _, second = rendered
    allowed = (
        str(templates_dir()),
        str(Path(weasyprint.__file__).parent),
        str(out),
        "/usr/share/fonts",
        "/etc/fonts",
        "/var/cache/fontconfig",
        str(Path.home() / ".cache" / "fontconfig"),
    )
    opened = [str(arg) for event, arg in second if event == "open" and not isinstance(arg, int)]
    assert any(p.startswith(str(templates_dir())) for p in opened)  # the hook did see the render
    strays = [p for p in opened if not p.startswith(allowed)]
    assert not strays, strays
