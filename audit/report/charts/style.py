"""The look every report chart shares: Okabe–Ito colours, sizes, matplotlib settings that make the
SVG byte-identical for the same input, label clipping, and the ``data:`` URI an ``<img>`` shows.

Used by :mod:`audit.report.charts.findings`, :mod:`audit.report.charts.representation` and
:mod:`audit.report.charts.trends`.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from audit.util.display import visible

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: Okabe–Ito colours: vermillion (outside the limit), blue (within), black (comparator).
FAIL_COLOUR = "#D55E00"
PASS_COLOUR = "#0072B2"
COMPARATOR_COLOUR = "#000000"
LIMIT_COLOUR = "#000000"
NOTSIG_COLOUR = "#E69F00"  # Okabe–Ito orange: outside the limit, not statistically significant
UNDECIDED_COLOUR = "#777777"
WAIVED_COLOUR = "#CC79A7"
OUTSIDE_FILL = "#EDEDED"

#: Most group rows in one chart image; longer findings are split over several images.
MAX_ROWS = 22
#: Longest group name drawn in a chart (the tables below the chart carry the full name).
MAX_LABEL = 50  # characters; labels over SMALL_LABEL are drawn smaller rather than cut
SMALL_LABEL = 36

WIDTH_IN = 6.7  # A4 text width at the report's margins
ROW_IN = 0.18
TOP_IN = 0.42  # room for the limit label
BOTTOM_IN = 0.78  # x axis, its label and the legend
LEFT_IN = 2.35
RIGHT_IN = 0.85

#: matplotlib settings for every chart: a fixed SVG hash salt, text drawn as paths (``chart_rc`` switches
#: to real text inside the PDF renderer).
MATPLOTLIB_RC: dict[RcKeyType, Any] = {
    "svg.hashsalt": "fairgate-report",
    "svg.fonttype": "path",
    "svg.image_inline": True,
    "font.family": "DejaVu Sans",
    "font.size": 7.5,
    "axes.unicode_minus": True,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "path.simplify": False,
}


#: How chart text is drawn: "path" (glyph outlines: a browser shows the same shapes whatever fonts it
#: has) unless ``text_as_text`` is in effect.
_SVG_TEXT: contextvars.ContextVar[str] = contextvars.ContextVar("fairgate_chart_text", default="path")


def chart_rc() -> dict[RcKeyType, Any]:
    """The matplotlib settings for a chart drawn now (``MATPLOTLIB_RC`` with the text mode in effect)."""
    return {**MATPLOTLIB_RC, "svg.fonttype": _SVG_TEXT.get()}


@contextlib.contextmanager
def text_as_text() -> Iterator[None]:
    """Charts drawn inside draw their text as SVG ``<text>`` in DejaVu Sans instead of glyph paths.

    For the PDF (issue 23): WeasyPrint lays the text out with the same DejaVu Sans the report's own text
    uses (found by fontconfig, embedded and subset like the rest), and the SVG has about a third of the
    elements — a chart with 18 groups went from 1,085 elements to 391, and WeasyPrint draws those
    elements one by one, which was seconds of a report's render. The text also becomes selectable and
    searchable. A browser may lack DejaVu Sans, so the HTML copy keeps paths.
    """
    token = _SVG_TEXT.set("none")
    try:
        yield
    finally:
        _SVG_TEXT.reset(token)


@dataclass(frozen=True)
class Chart:
    """One chart image of a finding (a finding with many groups has several)."""

    data_uri: str
    rows: int  # group rows drawn
    alt: str
    continued: bool  # True for the second and later images of one finding


def clip_label(text: str) -> str:
    """A group name as a chart draws it: made visible, one line, at most ``MAX_LABEL`` characters."""
    text = " ".join(visible(str(text)).split())  # data text: control and format characters made visible
    if len(text) <= MAX_LABEL:
        return text
    # Keep both ends: intersections differ at the end ("… × Female" / "… × Male").
    head = (MAX_LABEL - 1) // 2
    return text[:head] + "…" + text[-(MAX_LABEL - 1 - head) :]


def data_uri(svg: bytes) -> str:
    """``data:image/svg+xml;base64,…`` for an ``<img>``."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def svg_bytes(fig) -> bytes:
    """The figure as SVG without a date (so the same chart is the same bytes)."""
    out = io.BytesIO()
    fig.savefig(out, format="svg", metadata={"Date": None}, transparent=True)
    return out.getvalue()
