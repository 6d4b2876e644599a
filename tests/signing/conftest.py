"""Shared signing fixtures: development keys and a small PDF/A-3b report with evidence attached.

Keys and the base PDF are made once per test module (RSA key generation and WeasyPrint's import
dominate the run time); each test signs and tampers with its own copies in ``tmp_path``.
"""

from __future__ import annotations

import base64
import warnings
from pathlib import Path

import pytest

from audit.signing.keys import DevKeyFiles, generate_dev_key, load_signer

PASSPHRASE = b"correct horse battery staple"
RESULTS_JSON = '{"verdict": "pass", "rows": 3}'
NOTES_JSON = b'{"note": "attached to the page"}'


@pytest.fixture(scope="module")
def keydir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def author_key(keydir: Path) -> DevKeyFiles:
    return generate_dev_key(keydir / "author.p12", passphrase=PASSPHRASE, common_name="Alice Author")


@pytest.fixture(scope="module")
def reviewer_key(keydir: Path) -> DevKeyFiles:
    return generate_dev_key(keydir / "reviewer.p12", passphrase=None, common_name="Rita Reviewer")


@pytest.fixture(scope="module")
def author(author_key: DevKeyFiles):  # type: ignore[no-untyped-def]
    return load_signer(author_key.p12, passphrase=PASSPHRASE)


@pytest.fixture(scope="module")
def reviewer(reviewer_key: DevKeyFiles):  # type: ignore[no-untyped-def]
    return load_signer(reviewer_key.p12, passphrase=None)


@pytest.fixture(scope="module")
def report_bytes() -> bytes:
    """A small PDF/A-3b with results.json attached (as Fairgate's renderer makes them) and a
    second file attached to the page as a /FileAttachment annotation."""
    import weasyprint
    from weasyprint import Attachment

    attachment = Attachment(string=RESULTS_JSON, name="results.json", relationship="Data")
    notes = base64.b64encode(NOTES_JSON).decode()
    link = f'<a rel="attachment" download="notes.json" href="data:application/json;base64,{notes}">'
    html = weasyprint.HTML(string=f"<h1>Fairness audit</h1><p>hello {link}notes</a></p>")
    with warnings.catch_warnings():
        # WeasyPrint 70 opens its sRGB profile for PDF/A and never closes it (ResourceWarning when
        # the file object is dropped, inside write_pdf). Not ours to fix; keep it out of the run.
        warnings.simplefilter("ignore", ResourceWarning)
        return html.write_pdf(pdf_variant="pdf/a-3b", attachments=[attachment])


@pytest.fixture
def report(tmp_path: Path, report_bytes: bytes) -> Path:
    path = tmp_path / "report.pdf"
    path.write_bytes(report_bytes)
    return path
