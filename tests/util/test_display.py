"""Text from the data has one display form in every output (issue 16, item 3).

A group value may hold ESC and BEL (an OSC 52 sequence would write the user's clipboard), CR (it
would overwrite the terminal line), U+FFFE (not allowed in XML: the SVG charts and JUnit broke),
a right-to-left override or zero-width characters (a name displayed spoofed in a signed report).
Every printer shows them as visible escapes; results.json keeps the exact value."""

from __future__ import annotations

import base64
import csv
import json
import re
import xml.etree.ElementTree as ET
from io import BytesIO

import pytest

from audit.util.display import visible
from tests.cli.helpers import invoke, run_args

# one group value per class of character; the escape each must show as
HOSTILE = {
    "osc\x1b]52;c;SGVsbG8=\x07end": ("\\x1b", "\\x07"),  # ESC … BEL: a terminal clipboard write
    "Whi\u202eetihw": ("<U+202E>",),  # right-to-left override
    "zero\u200bwidth\u2066": ("<U+200B>", "<U+2066>"),  # zero-width space, bidi isolate
    "non\ufffechar": ("<U+FFFE>",),  # not a character: XML refuses it
    "cr\rover": ("\\x0d",),  # carriage return: overwrites a terminal line
    "nb\u00a0s\x85p": ("<U+00A0>", "\\x85"),  # a space that is not one; a C1 control (NEL)
}
RAW = set("\x1b\x07\u202e\u200b\u2066\ufffe\r\u00a0\x85")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text × — χ² 92.5%", "plain text × — χ² 92.5%"),
        ("a\x1bb", "a\\x1bb"),
        ("\x00", "\\x00"),
        ("\x7f", "\\x7f"),
        ("\x9b", "\\x9b"),
        ("\u202e", "<U+202E>"),
        ("\ufeff", "<U+FEFF>"),
        ("\u2028", "<U+2028>"),
        ("\ue000", "<U+E000>"),
        ("\U000e0001", "<U+E0001>"),
        ("日本語 café 👍", "日本語 café 👍"),
        ("a\nb\tc", "a\\x0ab\\x09c"),
    ],
)
def test_visible_escapes_every_class_and_nothing_else(text, shown):
    assert visible(text) == shown
    assert visible(visible(text)) == visible(text)  # idempotent: printers may apply it twice
    assert visible("a\nb\tc", multiline=True) == "a\nb\tc"


def _no_raw(text, where):
    found = sorted({f"U+{ord(c):04X}" for c in text if c in RAW})
    assert not found, f"{where} shows raw {found}"


def test_every_output_shows_data_text_visibly_and_results_json_keeps_it(tmp_path, capsys):
    from pypdf import PdfReader

    data = tmp_path / "d.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["group", "label", "pred"])
        for k, value in enumerate(["plain", *HOSTILE]):
            for i in range(60):
                writer.writerow([value, i % 2, int(i % 10 < (6 if k == 0 else 3))])
    out, junit = tmp_path / "out", tmp_path / "junit.xml"
    ran = invoke(
        capsys,
        run_args(data, out, "--format", "pdf,html,json,md", "--junit", junit),
        exit_code=1,
    )
    _no_raw(ran.out + ran.err, "the terminal")
    assert "\x1b" not in ran.out + ran.err  # not even our own colours: this is not a terminal

    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert {g["label"] for g in doc["groups"] if g["scope"] == "group"} == {"plain", *HOSTILE}  # exact values

    html = (out / "report.html").read_text(encoding="utf-8")
    summary = (out / "summary.md").read_text(encoding="utf-8")
    junit_text = junit.read_text(encoding="utf-8")
    ET.fromstring(junit_text.encode())  # well-formed XML
    svgs = [
        base64.b64decode(m).decode("utf-8") for m in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", html)
    ]
    assert svgs
    for svg in svgs:
        ET.fromstring(svg.encode())  # every chart is well-formed XML
    pdf_text = " ".join(page.extract_text() for page in PdfReader(BytesIO((out / "report.pdf").read_bytes())).pages)
    outputs = {
        "report.html": html,
        "summary.md": summary,
        "junit.xml": junit_text,
        "charts": " ".join(svgs),
        "report.pdf": pdf_text,
        "terminal": ran.out,
    }
    for where, text in outputs.items():
        _no_raw(text, where)

    def seen(where, shown):
        text = outputs[where].replace("&lt;", "<").replace("&gt;", ">")  # HTML and XML escapes
        text = text.replace("\\<", "<").replace("\\>", ">").replace("\\\\", "\\")  # Markdown escapes
        return shown in text or shown in re.sub(r"\s+", "", text)  # the PDF's text may break a line anywhere

    for value, escapes in HOSTILE.items():  # the report lists every group
        for shown in escapes:
            for where in ("report.html", "report.pdf"):
                assert seen(where, shown), (value, shown, where)
    # the summary, JUnit and terminal name the groups their sentences name: those are escaped too
    every = [shown for escapes in HOSTILE.values() for shown in escapes]
    for where in ("summary.md", "junit.xml", "terminal"):
        assert any(seen(where, shown) for shown in every), where


def test_an_error_naming_data_text_shows_it_visibly(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("gr\x1b]52;c;SGk=\x07oup\u202e,label,pred\na,1,1\n", encoding="utf-8")
    ran = invoke(
        capsys,
        run_args(data, tmp_path / "out"),
        exit_code=2,
    )
    _no_raw(ran.err, "the error")
    assert "gr\\x1b]52;c;SGk=\\x07oup<U+202E>" in ran.err
