"""The only URL fetcher the PDF renderer uses: ``data:`` URLs, nothing else.

The report is self-contained (charts are ``data:image/svg+xml`` URIs, CSS is passed as a
string, fonts come from the system through fontconfig), so nothing outside the bundle is ever
read: no ``file://`` (which would copy local files such as ``/etc/hostname`` into a signed PDF),
no ``http(s)://``. Any other URL — from an ``<img>``, CSS ``url()``, ``@import``,
``@font-face``, an SVG ``<image>``, or a ``<link rel="attachment">`` — stops the render
(``fail_on_errors``), and the renderer turns that into a ``RenderError``.
"""

from __future__ import annotations

from weasyprint.urls import URLFetcher


class BundleFetcher(URLFetcher):
    """A data-only ``URLFetcher`` that records every URL it was asked for (for tests and logs)."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"data"}, fail_on_errors=True, allow_redirects=False, timeout=1)
        #: Every URL requested, in order, cut to 80 characters (data URIs can be long).
        self.requested: list[str] = []

    def fetch(self, url, headers=None):  # noqa: ANN001, ANN201 — WeasyPrint's signature
        self.requested.append(url[:80])
        # Belt and braces: refuse here too, whatever the base class does with allowed_protocols.
        if not url[:5].lower() == "data:":
            raise ValueError(f"the report may only embed data: URLs, not {url[:80]!r}")
        return super().fetch(url, headers)

    @property
    def refused(self) -> list[str]:
        """URLs requested that were not data: URLs (each one aborted the render)."""
        return [u for u in self.requested if u[:5].lower() != "data:"]
