"""The visible stamp a countersignature puts on its sign-off line: name, role, decision, date.

Why WeasyPrint draws it, not pyHanko's ``TextStampStyle``: a stamp's text needs a font, and the
report is PDF/A-3b, where every font must be embedded. pyHanko's default stamp font (Courier) is not
embedded, and its embedded OpenType fonts need ``uharfbuzz`` (``pyHanko[opentype]``), which Fairgate
does not otherwise need. WeasyPrint, which made the report, lays out a one-page PDF exactly the size
of the signature field, with its font subset embedded, in the report's own typeface; pyHanko imports
that page as the signature's appearance (``StaticStampStyle``), unscaled.

The HTML holds no URL and is rendered with the report's data-only fetcher, so nothing is read from
disk or the network; every value is HTML-escaped (a certificate's name is the signer's to choose).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import warnings
from typing import TYPE_CHECKING

from audit.errors import SigningError

if TYPE_CHECKING:
    from pyhanko.pdf_utils.content import PdfContent
    from pyhanko.stamp import StaticStampStyle

#: Longest comment shown on the stamp (the whole comment is in the signature and the ledger).
STAMP_COMMENT_CHARS = 90

_CSS = """
@page {{ size: {width:.3f}pt {height:.3f}pt; margin: 0; }}
html {{ font-family: "DejaVu Sans", sans-serif; color: #1a1a1a; }}
body {{ margin: 0; }}
.stamp {{ height: {height:.3f}pt; box-sizing: border-box; border-left: 2pt solid #1f4e79; padding: 2pt 0 0 5pt;
  font-size: 7.5pt; line-height: 1.3; }}
.stamp div {{ white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
.who {{ font-weight: bold; font-size: 8.5pt; }}
.reject {{ color: #a40000; font-weight: bold; }}
.when {{ color: #555; }}
"""


def stamp_pdf(
    *,
    signer: str,
    role: str,
    decision: str | None,
    comment: str | None,
    when: dt.datetime,
    width: float,
    height: float,
) -> bytes:
    """A one-page PDF of ``width`` × ``height`` points showing who signed, as what, their decision and when."""
    import weasyprint

    from audit.report.fetcher import BundleFetcher

    verdict = role.capitalize()
    if decision:
        css = ' class="reject"' if decision == "reject" else ""
        verdict += f" — <span{css}>{html.escape(decision)}</span>"
    if comment:
        shown = comment if len(comment) <= STAMP_COMMENT_CHARS else comment[: STAMP_COMMENT_CHARS - 1] + "…"
        verdict += f": {html.escape(shown)}"
    moment = when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = (
        '<div class="stamp">'
        f'<div class="who">{html.escape(signer)}</div>'
        f"<div>{verdict}</div>"
        f'<div class="when">digitally signed {moment} · check with fairgate verify</div>'
        "</div>"
    )
    fetcher = BundleFetcher()
    page = f"<!doctype html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)  # WeasyPrint's own files, as in audit.report.pdf
            return weasyprint.HTML(string=page, base_url=None, url_fetcher=fetcher).write_pdf(
                stylesheets=[
                    weasyprint.CSS(string=_CSS.format(width=width, height=height), base_url=None, url_fetcher=fetcher)
                ]
            )
    except Exception as exc:  # a stamp that cannot be drawn must not leave a half-signed file
        raise SigningError(f"cannot draw the signature stamp ({type(exc).__name__}: {exc})") from exc


def stamp_style(pdf: bytes) -> StaticStampStyle:
    """pyHanko's appearance for a signature field: the first page of ``pdf``, unscaled and opaque."""
    from pyhanko.pdf_utils import layout
    from pyhanko.stamp import StaticStampStyle

    exact = layout.SimpleBoxLayoutRule(
        x_align=layout.AxisAlignment.ALIGN_MIN,
        y_align=layout.AxisAlignment.ALIGN_MIN,
        margins=layout.Margins(),  # pyHanko's default leaves 5 pt and shrinks the page to fit inside
        inner_content_scaling=layout.InnerScaling.NO_SCALING,
    )
    return StaticStampStyle(
        background=_imported_page(pdf), background_layout=exact, border_width=0, background_opacity=1.0
    )


def _imported_page_class() -> type:
    from pyhanko.pdf_utils.content import PdfContent

    class ImportedPage(PdfContent):  # pyHanko's ImportedPdfPage, from bytes instead of a file name
        def __init__(self, data: bytes) -> None:
            self.data = data
            super().__init__()

        def render(self) -> bytes:
            import binascii
            import uuid

            from pyhanko.pdf_utils.layout import BoxConstraints
            from pyhanko.pdf_utils.reader import PdfFileReader

            xobj = self._ensure_writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self.data)), page_ix=0)
            name = b"/Import" + binascii.hexlify(uuid.uuid4().bytes)
            self.resources.xobject[name.decode("ascii")] = xobj
            x1, y1, x2, y2 = xobj.get_object()["/BBox"]
            self.box = BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
            return name + b" Do"

    return ImportedPage


def _imported_page(data: bytes) -> PdfContent:
    page: PdfContent = _imported_page_class()(data)
    return page
