"""The audit report as PDF/A-3b, with results.json attached as an associated file.

HTML from ``audit.report.html`` → WeasyPrint 70. Nothing outside the bundle is fetched: the
HTML, the print stylesheet and the attachment all go through a data-only ``BundleFetcher``
with ``base_url=None``; any other URL aborts the render. The attached evidence is checked to
hold the same content as the document the report is drawn from, so the two cannot disagree.

Reproducibility: the PDF's dates (info, XMP, attachment) are the report's ``generated_at``,
never the clock; font subsets are timestamped from it too (``SOURCE_DATE_EPOCH``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from audit.errors import RenderError
from audit.report.base import Attachment
from audit.report.charts.style import text_as_text
from audit.report.html import ReportContext, parse_generated_at, render_html, template_source
from audit.report.many_groups import CSV_DESCRIPTION, CSV_NAME, groups_csv, summarised_scopes
from audit.report.results import canonical_json
from audit.report.sigfields import reserve_signature_fields

PRINT_STYLESHEET = "print.css"
ATTACHMENT_NAME = "results.json"
PDF_VARIANT = "pdf/a-3b"  # PDF/A-2b would silently drop the JSON attachment

_ENV_LOCK = threading.Lock()


def render_pdf(
    document: Mapping[str, Any],
    *,
    context: ReportContext,
    results_json: bytes,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    """Render ``document`` as a PDF/A-3b report with ``results_json`` attached (byte for byte), and any
    further ``attachments`` (named on the provenance page with their sizes and hashes).

    ``results_json`` must be a serialisation of ``document`` itself (normally
    ``canonical_json(document)``). Raises ``RenderError`` with a one-line message on any failure.
    """
    _check_evidence(document, results_json)
    if summarised_scopes(document):  # many groups: the tables summarise, every group's row is attached
        attachments = [*attachments, Attachment(CSV_NAME, groups_csv(document), CSV_DESCRIPTION)]
    evidence = {
        "name": ATTACHMENT_NAME,
        "sha256": hashlib.sha256(results_json).hexdigest(),
        "size_bytes": len(results_json),
        "attached": True,
        "others": [
            {
                "name": a.name,
                "sha256": hashlib.sha256(a.data).hexdigest(),
                "size_bytes": len(a.data),
                "description": a.description,
            }
            for a in attachments
        ],
    }
    names = [ATTACHMENT_NAME, *(a.name for a in attachments)]
    if len(set(names)) != len(names):
        raise RenderError(f"two attachments of the report share a name: {', '.join(names)}")
    with text_as_text():  # the charts' text as text, in the report's own font (fewer SVG elements to draw)
        html = render_html(document, context=context, evidence=evidence)
    created = parse_generated_at(context.generated_at)
    return html_to_pdf(html, created=created, attachment=results_json, extra=attachments)


def html_to_pdf(
    html: str,
    *,
    created: dt.datetime,
    attachment: bytes | None = None,
    extra: Sequence[Attachment] = (),
    fetcher: Any | None = None,
    stylesheet: str | None = PRINT_STYLESHEET,
) -> bytes:
    """Lay out report ``html`` (plus the print stylesheet, or another bundled ``stylesheet``; None: only
    the page's own styles) as PDF/A-3b. ``attachment`` is results.json; ``extra`` are further files,
    attached as supplements (``groups.csv`` of a summarised report, a probe's transcripts).

    ``fetcher`` defaults to a fresh ``BundleFetcher`` (data: URLs only); tests pass their own
    to see what was requested. Any URL that is not ``data:`` aborts with ``RenderError``.
    """
    try:
        import weasyprint
        from weasyprint.urls import FatalURLFetchingError
    except ImportError as exc:  # pragma: no cover — a broken installation
        raise RenderError(f"cannot render PDF: WeasyPrint is not available ({exc})") from exc
    from audit.report.fetcher import BundleFetcher

    fetcher = fetcher if fetcher is not None else BundleFetcher()
    moment = created.astimezone(dt.UTC).replace(tzinfo=None)  # WeasyPrint writes these as UTC ("Z")
    errors = _LogCollector()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(errors)
    try:
        with _source_date_epoch(created), warnings.catch_warnings():
            # WeasyPrint 70 opens its bundled sRGB profile (the PDF/A output intent) without closing
            # it; the ResourceWarning is about that one file, never about anything we read.
            warnings.filterwarnings("ignore", message=r"unclosed file .*sRGB2014\.icc", category=ResourceWarning)
            page = weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher)
            stylesheets = (
                [weasyprint.CSS(string=template_source(stylesheet), base_url=None, url_fetcher=fetcher)]
                if stylesheet is not None
                else []
            )
            attachments = []
            if attachment is not None:
                attachments.append(
                    weasyprint.Attachment(
                        string=attachment,
                        base_url=None,
                        url_fetcher=fetcher,
                        name=ATTACHMENT_NAME,
                        description="Fairgate audit results: the evidence this report shows",
                        created=moment,
                        modified=moment,
                        relationship="Data",
                    )
                )
            for more in extra:  # supplements of the evidence (a probe's transcripts)
                attachments.append(
                    weasyprint.Attachment(
                        string=more.data,
                        base_url=None,
                        url_fetcher=fetcher,
                        name=more.name,
                        description=more.description,
                        created=moment,
                        modified=moment,
                        relationship="Supplement",
                    )
                )
            pdf = page.write_pdf(
                stylesheets=stylesheets,
                attachments=attachments,
                pdf_variant=PDF_VARIANT,
                finisher=reserve_signature_fields,  # the sign-off lines' empty signature fields
            )
    except FatalURLFetchingError as exc:
        cause = exc.__cause__ or exc
        raise RenderError(
            f"report refers to a resource outside the report bundle: {_one_line(cause)}",
            hint="the report may only embed data: URLs",
        ) from None
    except RenderError:
        raise
    except Exception as exc:
        raise RenderError(f"PDF rendering failed: {type(exc).__name__}: {_one_line(exc)}") from exc
    finally:
        logger.removeHandler(errors)
    if errors.messages:
        raise RenderError(f"PDF rendering failed: {errors.messages[0]}")
    if not pdf.startswith(b"%PDF"):
        raise RenderError("PDF rendering produced no PDF")
    return pdf


def _check_evidence(document: Mapping[str, Any], results_json: bytes) -> None:
    """The attached results.json must hold exactly the document the report shows."""
    if not isinstance(results_json, bytes | bytearray):
        raise RenderError("results_json must be the bytes of results.json")
    # The usual case, results.json as Fairgate writes it: one serialisation compared byte for byte, rather
    # than two parsed copies of a document that holds tens of megabytes for thousands of groups.
    try:
        if canonical_json(dict(document)) == bytes(results_json):
            return
    except (TypeError, ValueError):
        pass  # the checks below say what is wrong
    try:
        attached = json.loads(bytes(results_json).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RenderError(f"results_json is not valid UTF-8 JSON: {_one_line(exc)}") from exc
    try:
        shown = json.loads(json.dumps(document, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise RenderError(f"results document is not JSON-serialisable: {_one_line(exc)}") from exc
    if attached != shown:
        raise RenderError(
            "results_json does not hold the document being rendered; "
            "the report and its attached evidence would disagree"
        )


class _LogCollector(logging.Handler):
    """Collects WeasyPrint ERROR records (a failed image, a broken attachment): the report must
    not silently lose content."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(_one_line(record.getMessage()))
        except Exception:  # pragma: no cover — a malformed log record
            self.messages.append(str(record.msg)[:300])


@contextlib.contextmanager
def _source_date_epoch(moment: dt.datetime) -> Iterator[None]:
    """Timestamp embedded font subsets from the report date unless the caller set one."""
    with _ENV_LOCK:
        previous = os.environ.get("SOURCE_DATE_EPOCH")
        if previous is None:
            os.environ["SOURCE_DATE_EPOCH"] = str(max(0, int(moment.timestamp())))
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("SOURCE_DATE_EPOCH", None)


def _one_line(exc: object) -> str:
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__
