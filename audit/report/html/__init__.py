"""The audit report as HTML: Jinja2 templates fed only from the results document.

- :mod:`~audit.report.html.format` — the filters: numbers, percentages, intervals, p-values, statuses.
- :mod:`~audit.report.html.view` — the view model: everything the templates show, built from the document.
- :mod:`~audit.report.html.render` — the Jinja2 environment (autoescaped, strict), ``render_html``, ``ReportContext``.

The names other modules import from ``audit.report.html`` are re-exported here.
"""

from __future__ import annotations

from audit.report.html.format import STATUS_CLASS, STATUS_WORDS, fmt_contrast, fmt_pct
from audit.report.html.render import ReportContext, render_html, template_source
from audit.report.html.view import COVER_GROUPS, parse_generated_at

#: The former private name, still imported by tests/judge/test_printers.py.
_STATUS_CLASS = STATUS_CLASS

__all__ = [
    "COVER_GROUPS",
    "STATUS_CLASS",
    "STATUS_WORDS",
    "ReportContext",
    "fmt_contrast",
    "fmt_pct",
    "parse_generated_at",
    "render_html",
    "template_source",
]
