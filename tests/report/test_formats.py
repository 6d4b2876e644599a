"""`fairgate run --format`: which files are written, the HTML copy, summary.md naming the PDF,
usage errors; and byte-reproducible unsigned PDFs across processes."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from audit.errors import RenderError
from audit.outputs import DEFAULT_FORMATS, FORMATS, parse_formats
from tests.cli.helpers import invoke, run_args, skewed_rows, write_csv

REPO = Path(__file__).resolve().parents[2]


def _args(tmp_path: Path, *extra: object) -> list[object]:
    data = write_csv(tmp_path / "d.csv", skewed_rows())
    return run_args(data, tmp_path / "out", *extra)


def _written(tmp_path: Path) -> set[str]:
    return {p.name for p in (tmp_path / "out").iterdir()}


def test_every_format_is_mapped_to_a_file_and_parsing_is_strict():
    assert set(FORMATS) == {"pdf", "html", "json", "md", "model-card", "ll144-summary", "ll144-summary-html"}
    assert parse_formats("json,ll144-summary") == {"json", "ll144-summary", "ll144-summary-html"}  # PDF and HTML
    assert parse_formats(None) == DEFAULT_FORMATS == {"pdf", "json", "md"}
    assert parse_formats(" PDF, html ,") == {"pdf", "html"}
    for bad in ("docx", "pdf,xml"):
        with pytest.raises(Exception, match="unknown format") as info:
            parse_formats(bad)
        assert (
            info.value.exit_code == 2
            and "pdf, html, json, md, ll144-summary, ll144-summary-html, model-card" in info.value.hint
        )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--format", "pdf,docx"), "--format: unknown format 'docx'"),
        (("--format", ","), "--format: no format given"),
        (("--format", "pdf", "--no-pdf"), "--no-pdf contradicts --format pdf"),
        (("--format", "html,json", "--sign", "key.p12"), "--sign needs a report to sign: add pdf to --format"),
    ],
)
def test_bad_format_requests_are_usage_errors_and_write_nothing(tmp_path, capsys, extra, message):
    ran = invoke(capsys, _args(tmp_path, *extra), exit_code=2)
    assert message in ran.err
    assert not (tmp_path / "out").exists()


def test_html_json_only_and_stale_outputs_removed(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    for stale in ("report.pdf", "summary.md"):
        (out / stale).write_text("from an earlier run")
    ran = invoke(capsys, _args(tmp_path, "--format", "html,json"), exit_code=1)
    assert _written(tmp_path) == {"report.html", "results.json"}
    assert "html:    " in ran.out and "report:" not in ran.out
    html = (out / "report.html").read_text(encoding="utf-8")
    # the same document as the PDF, for a browser: every section, and self-contained
    for heading in (
        "Verdict",
        "2. Findings",
        "3. Group metrics",
        "4. Methodology",
        "5. Limitations",
        "6. Provenance",
        "Sign-off",
    ):
        assert heading in html, heading
    assert "UNSIGNED DRAFT" in html
    code = re.sub(r"/\*.*?\*/", "", html, flags=re.S)  # CSS comments say "no url()"
    assert not re.search(r"<link\b|@import|url\(", code, re.I)
    # one script, the bundled explore layer (report_templates/explore.js), allowed by its hash alone
    assert re.findall(r"<script\b[^>]*>", html, re.I) == ["<script>"]
    assert "script-src 'sha256-" in html and "default-src 'none'" in html
    for attr, value in re.findall(r'\b(src|href)="([^"]*)"', html):
        assert value.startswith("data:image/svg+xml;base64," if attr == "src" else "#"), (attr, value[:60])
    # the evidence it describes is the results.json written beside it
    digest = hashlib.sha256((out / "results.json").read_bytes()).hexdigest()
    assert digest in html


def test_default_formats_and_summary_names_the_pdf_by_hash(tmp_path, capsys, monkeypatch):
    step = tmp_path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.html").write_text("stale")
    invoke(capsys, _args(tmp_path), exit_code=1)
    assert _written(tmp_path) == {"report.pdf", "results.json", "summary.md"}
    pdf = (tmp_path / "out" / "report.pdf").read_bytes()
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert f"Full report: `report.pdf` (UNSIGNED DRAFT), sha256 `{hashlib.sha256(pdf).hexdigest()}`" in summary
    assert step.read_text(encoding="utf-8") == summary


def test_format_is_read_from_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FAIRGATE_RUN_FORMAT", "md")
    ran = invoke(capsys, _args(tmp_path, "--json"), exit_code=1)
    assert _written(tmp_path) == {"summary.md"}
    # --json prints the evidence even though no results.json file was asked for
    assert ran.out.startswith("{") and '"schema_version": "1.0"' in ran.out


# --- reproducible bytes ---------------------------------------------------------------------

_RENDER = """
import sys
import weasyprint.pdf.fonts as fonts
fonts.harfbuzz_subset = None  # the fontTools path: what a machine without libharfbuzz-subset uses
from audit.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_unsigned_pdf_is_byte_identical_across_processes(tmp_path):
    """Same inputs, seed and SOURCE_DATE_EPOCH → the same bytes, whatever the hash seed, with
    fontTools subsetting (no HarfBuzz-subset): the fixed /ID, dates and font subsets."""
    write_csv(tmp_path / "d.csv", skewed_rows())
    # the same command line in two directories: the evidence records it, so it must not differ
    args = [
        "run",
        "--data",
        "../d.csv",
        "--policy",
        "four-fifths",
        "--label",
        "label",
        "--predictions",
        "pred",
        "--sensitive",
        "group",
        "--out",
        "out",
        "--format",
        "pdf",
        "--seed",
        "7",
        "-q",
    ]
    runs = []
    for i, hash_seed in enumerate(("1", "4242")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "SOURCE_DATE_EPOCH": "1700000000", "PYTHONPATH": str(REPO)}
        (tmp_path / f"run{i}").mkdir()
        runs.append(
            subprocess.Popen(
                [sys.executable, "-c", _RENDER, *args],
                env=env,
                cwd=tmp_path / f"run{i}",
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    for proc in runs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode in (0, 1), err.decode()[-2000:]
    first, second = ((tmp_path / f"run{i}" / "out" / "report.pdf").read_bytes() for i in range(2))
    assert first == second
    # fonts are embedded as subsets (so the fontTools path was really exercised)
    from io import BytesIO

    from pypdf import PdfReader

    reader = PdfReader(BytesIO(first))
    assert reader.metadata["/CreationDate"].startswith("D:20231114221320")  # SOURCE_DATE_EPOCH, not the clock
    fonts = [f.get_object() for page in reader.pages for f in page["/Resources"]["/Font"].values()]
    assert fonts and all(re.match(r"/[A-Z]{6}\+", str(f["/BaseFont"])) for f in fonts)


def test_python_api_saves_the_html_copy(tmp_path):
    from audit.pipeline import run_audit

    data = write_csv(tmp_path / "d.csv", skewed_rows())
    result = run_audit(data=data, policy="four-fifths", predictions="pred", label="label", sensitive=["group"])
    assert result.save(tmp_path / "nb", formats=["html", "json"]) == tmp_path / "nb" / "results.json"
    assert {p.name for p in (tmp_path / "nb").iterdir()} == {"report.html", "results.json"}


# --- one Renderer protocol, an exhaustive format map -----------------------------------------


@pytest.mark.slow
def test_every_format_has_a_renderer_and_every_renderer_produces_bytes(tmp_path, monkeypatch):
    from typing import get_args

    from audit.report.interface import FORMAT_RENDERERS, Format, RenderInputs, canonical_json, renderer_for
    from tests.report.test_golden import _document

    assert set(FORMAT_RENDERERS) == set(get_args(Format))
    assert set(FORMATS) <= set(FORMAT_RENDERERS)  # every file of the output set has its renderer
    document = _document(tmp_path, monkeypatch)
    inputs = RenderInputs(generated_at="2024-01-01T00:00:00Z", results_json=canonical_json(document))
    for fmt in get_args(Format):
        renderer = renderer_for(fmt)
        assert renderer.format == fmt and FORMAT_RENDERERS[fmt].format == fmt
        if fmt.startswith("ll144-"):  # needs an LL144 audit's context (tests/report/test_ll144_summary.py)
            with pytest.raises(RenderError, match="needs the audit's context"):
                renderer.render(document, inputs)
            continue
        data = renderer.render(document, inputs)
        assert isinstance(data, bytes) and data, fmt
    assert FORMAT_RENDERERS["json"].render(document, inputs) == canonical_json(document)
    assert FORMAT_RENDERERS["pdf"].render(document, inputs).startswith(b"%PDF-")
