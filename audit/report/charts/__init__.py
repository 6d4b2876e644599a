"""The report's charts, each an SVG ``data:`` URI drawn only from the results document.

- :mod:`~audit.report.charts.style` — the shared look (colours, sizes, deterministic SVG settings).
- :mod:`~audit.report.charts.findings` — one dot-and-interval chart per finding.
- :mod:`~audit.report.charts.representation` — data share vs reference population per group.
- :mod:`~audit.report.charts.trends` — each rule's disparity over the time windows, and drift.
"""

from __future__ import annotations

from audit.report.charts.findings import DRAWN, STYLES, finding_charts, finding_figure
from audit.report.charts.representation import REFERENCE_HATCH, representation_chart
from audit.report.charts.style import (
    COMPARATOR_COLOUR,
    FAIL_COLOUR,
    LIMIT_COLOUR,
    MAX_LABEL,
    MAX_ROWS,
    NOTSIG_COLOUR,
    OUTSIDE_FILL,
    PASS_COLOUR,
    SMALL_LABEL,
    UNDECIDED_COLOUR,
    WAIVED_COLOUR,
    Chart,
)

__all__ = [
    "COMPARATOR_COLOUR",
    "DRAWN",
    "FAIL_COLOUR",
    "LIMIT_COLOUR",
    "MAX_LABEL",
    "MAX_ROWS",
    "NOTSIG_COLOUR",
    "OUTSIDE_FILL",
    "PASS_COLOUR",
    "REFERENCE_HATCH",
    "SMALL_LABEL",
    "STYLES",
    "UNDECIDED_COLOUR",
    "WAIVED_COLOUR",
    "Chart",
    "finding_charts",
    "finding_figure",
    "representation_chart",
]
