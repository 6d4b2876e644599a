"""The HTML copy's explore layer: a table of contents, and the Content-Security-Policy that lets the
report's one inline script run and nothing be fetched.

Only the browser copy (``ReportContext.medium == "html"``) gets this layer; the PDF keeps its own
contents list, the outline (bookmarks) WeasyPrint builds from the same headings, and never carries
a script. The layer itself — sortable and filterable group tables, charts that scroll rather than
shrink at phone width, a dark palette — lives in ``report_templates/explore.js`` and ``explore.css``,
inlined by :func:`audit.report.html.render.render_html`.

Both steps here run on the finished HTML, so what they describe cannot drift from what was written:

- :func:`add_contents` reads the section headings (every ``h1`` but the cover's title, and the
  ``h2`` of each finding) and puts a ``<nav>`` listing them after the cover. Headings without an id
  get one from their position, never from data; heading text is re-escaped.
- :func:`add_security_policy` hashes every inline ``<script>`` and ``<style>`` element as written
  and puts a ``Content-Security-Policy`` ``<meta>`` first in the head: ``default-src 'none'`` (no
  request of any kind leaves the page), images only as ``data:`` URIs, scripts and styles only by
  sha256. Data text cannot open such an element: it is autoescaped.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from markupsafe import escape

#: Where the policy goes: straight after the charset, before anything it governs.
_CHARSET = '<meta charset="utf-8">'
_INLINE = {tag: re.compile(rf"<{tag}>(.*?)</{tag}>", re.S) for tag in ("script", "style")}
#: The id of the contents list (the script links back to it).
CONTENTS_ID = "contents"


def source_hash(text: str) -> str:
    """A CSP hash source for an inline element whose content is ``text``."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def security_policy(html: str) -> str:
    """The Content-Security-Policy of ``html``: its own inline scripts and styles, ``data:`` images,
    nothing else (no fetch, no form, no base URL, no plugin)."""
    scripts = " ".join(source_hash(s) for s in _INLINE["script"].findall(html)) or "'none'"
    styles = " ".join(source_hash(s) for s in _INLINE["style"].findall(html)) or "'none'"
    return (
        f"default-src 'none'; img-src data:; style-src {styles}; script-src {scripts}; "
        "base-uri 'none'; form-action 'none'; object-src 'none'"
    )


def add_security_policy(html: str) -> str:
    """``html`` with its Content-Security-Policy ``<meta>`` first in the head."""
    if _CHARSET not in html:
        raise ValueError("the report's head has no charset meta to put the security policy after")
    policy = f'<meta http-equiv="Content-Security-Policy" content="{security_policy(html)}">'
    return html.replace(_CHARSET, f"{_CHARSET}\n{policy}", 1)


@dataclass(frozen=True)
class Heading:
    """One entry of the contents: its level (1 or 2), text, and the id it links to."""

    level: int
    text: str
    target: str


class _Outline(HTMLParser):
    """Finds the headings of the contents, the start tags that need an id, and the cover's end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, tuple[int, int], str | None, str | None]] = []  # level, pos, own id, section id
        self.texts: list[str] = []
        self.cover_end: tuple[int, int] | None = None
        self._sections: list[tuple[str | None, bool]] = []  # (id, is the cover)
        self._open: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "section":
            self._sections.append((attributes.get("id"), "cover" in classes))
        elif tag == "h1" and "title" not in classes and not self._in_cover():
            self._start(1, attributes.get("id"), None)
        elif tag == "h2" and self._sections and self._sections[-1][0] and not self._in_cover():
            self._start(2, attributes.get("id"), self._sections[-1][0])

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self._sections:
            _, cover = self._sections.pop()
            if cover and self.cover_end is None:
                line, col = self.getpos()
                self.cover_end = (line, col + len("</section>"))
        elif tag in ("h1", "h2") and self._open is not None:
            self.texts.append(" ".join("".join(self._open).split()))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.append(data)

    def _in_cover(self) -> bool:
        return any(cover for _, cover in self._sections)

    def _start(self, level: int, own: str | None, section: str | None) -> None:
        self.found.append((level, self.getpos(), own, section))
        self._open = []


def add_contents(html: str) -> str:
    """``html`` with a contents list after the cover, linking to every section heading."""
    outline = _Outline()
    outline.feed(html)
    outline.close()
    starts = _line_starts(html)
    headings: list[Heading] = []
    inserts: list[tuple[int, str]] = []  # (offset, text) to insert
    for number, ((level, (line, col), own, section), text) in enumerate(
        zip(outline.found, outline.texts, strict=True), 1
    ):
        target = section or own
        if target is None:
            target = f"section-{number}"  # from the position, never from data
            inserts.append((starts[line - 1] + col + len("<h1"), f' id="{target}"'))
        headings.append(Heading(level=level, text=text, target=target))
    if not headings:
        return html
    if outline.cover_end is not None:
        at = starts[outline.cover_end[0] - 1] + outline.cover_end[1]
    else:
        at = html.index(">", html.index("<body")) + 1
    inserts.append((at, "\n" + contents_nav(headings)))
    for offset, text in sorted(inserts, reverse=True):
        html = html[:offset] + text + html[offset:]
    return html


def contents_nav(headings: list[Heading]) -> str:
    """The contents list as HTML: top-level sections, each finding nested under its section."""
    lines = [f'<nav class="toc" id="{CONTENTS_ID}" aria-labelledby="{CONTENTS_ID}-title">']
    lines.append(f'<h2 id="{CONTENTS_ID}-title">Contents</h2>')
    lines.append("<ul>")
    nested = False
    for i, h in enumerate(headings):
        link = f'<a href="#{escape(h.target)}">{escape(h.text)}</a>'
        if h.level == 2 and not nested:
            lines.append("<ul>")
            nested = True
        elif h.level == 1 and nested:
            lines.append("</ul></li>")
            nested = False
        elif h.level == 1 and i:
            lines[-1] += "</li>"
        lines.append(f"<li>{link}" + ("</li>" if h.level == 2 else ""))
    lines.append("</ul></li>" if nested else "</li>")
    lines.append("</ul>")
    lines.append("</nav>")
    return "\n".join(lines)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for match in re.finditer("\n", text):
        starts.append(match.end())
    return starts
