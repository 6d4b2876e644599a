"""Dot-and-interval charts, one per finding: each judged group's ratio or difference to the
comparator with its confidence interval, the policy limit, and failing groups marked.

Charts are drawn only from the results document (``document["disparities"]`` rows of one rule)
and returned as ``data:image/svg+xml;base64,…`` URIs for an ``<img>``. Output is
byte-identical for the same document: a fixed SVG hash salt, no date metadata, text drawn as
paths in the HTML copy (no font files referenced) and as text in DejaVu Sans in the PDF
(``style.text_as_text``), and no pyplot global state (``matplotlib.figure.Figure``).

Greyscale and colour-blind safe: status is carried by colour (Okabe–Ito), marker shape and
fill, and a word printed at the right of each row.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from audit.errors import RenderError
from audit.measures.disparities import is_ratio
from audit.report.charts.style import (
    BOTTOM_IN,
    COMPARATOR_COLOUR,
    FAIL_COLOUR,
    LEFT_IN,
    LIMIT_COLOUR,
    MAX_ROWS,
    NOTSIG_COLOUR,
    OUTSIDE_FILL,
    PASS_COLOUR,
    RIGHT_IN,
    ROW_IN,
    SMALL_LABEL,
    TOP_IN,
    UNDECIDED_COLOUR,
    WAIVED_COLOUR,
    WIDTH_IN,
    Chart,
    chart_rc,
    clip_label,
    data_uri,
    svg_bytes,
)
from audit.report.labels import group_label, is_scoring, metric_label


@dataclass(frozen=True)
class _Row:
    kind: str  # "scope" (a heading row) or "group"
    label: str
    status: str = ""
    value: float | None = None
    ci: tuple[float, float] | None = None


def finding_charts(document: Mapping[str, Any], rule_id: str, *, max_rows: int = MAX_ROWS) -> list[Chart]:
    """Charts for the finding ``rule_id``: an empty list when no group could be judged."""
    prepared = _prepare(document, rule_id, max_rows)
    if prepared is None:
        return []
    pages, finding, x_range = prepared
    charts = []
    for i, page in enumerate(pages):
        svg = _draw(page, finding, x_range, document["audit"]["confidence_level"])
        groups = [r for r in page if r.kind == "group"]
        outside = sum(1 for r in groups if r.status == "FAIL")
        what = {"ratio": "ratio to", "odds_ratio": "odds ratio to"}.get(finding["compare"], "difference from")
        alt = (
            f"Chart: {_metric_words(finding)} {what} the comparator for "
            f"{len(groups)} group(s), {outside} outside the policy limit."
        )
        charts.append(Chart(data_uri(svg), len(groups), alt, i > 0))
    return charts


def finding_figure(document: Mapping[str, Any], rule_id: str, *, max_rows: int = MAX_ROWS) -> Any:
    """The first of ``finding_charts`` as a ``matplotlib.figure.Figure`` (for a notebook), or None."""
    prepared = _prepare(document, rule_id, max_rows)
    if prepared is None:
        return None
    pages, finding, x_range = prepared
    with _context():
        return _figure(pages[0], finding, x_range, document["audit"]["confidence_level"])


def _prepare(
    document: Mapping[str, Any], rule_id: str, max_rows: int
) -> tuple[list[list[_Row]], dict[str, Any], tuple[float, float]] | None:
    """The finding's rows cut into pages, the finding (with ``scoring``) and the shared x range."""
    finding = next((f for f in document["findings"] if f["rule_id"] == rule_id), None)
    if finding is None:
        raise RenderError(f"no finding {rule_id!r} in the results document")
    labels = {(g["scope"], g["id"]): group_label(g["label"]) for g in document["groups"]}
    scopes: list[tuple[str, list[_Row]]] = []
    for disparity in document["disparities"]:
        if disparity["rule_id"] != rule_id:
            continue
        rows = [
            _Row(
                "group",
                labels.get((disparity["scope"], g["group"]), group_label(g["group"])),
                g["status"],
                g["value"],
                tuple(g["ci"]) if g["ci"] else None,
            )
            for g in disparity["groups"]
            if g["status"] in DRAWN and g["value"] is not None
        ]
        if rows:
            scopes.append((disparity["scope"], rows))
    if not scopes:
        return None
    pages = _paginate(scopes, max_rows)
    finding = {**finding, "scoring": is_scoring(document)}
    limits = [v for v in (finding["min_value"], finding["max_value"]) if v is not None]
    x_range = _x_range(finding["compare"], [r for _, rows in scopes for r in rows], limits)
    return pages, finding, x_range


def _metric_words(finding: Mapping[str, Any]) -> str:
    return metric_label(finding["metric"], scoring=bool(finding.get("scoring")))


def _paginate(scopes: list[tuple[str, list[_Row]]], max_rows: int) -> list[list[_Row]]:
    """Split rows into images of at most ``max_rows`` groups, balanced (no image of two stragglers),
    repeating the scope heading where a scope continues."""
    total = sum(len(rows) for _, rows in scopes)
    images = -(-total // max(max_rows, 1))
    max_rows = -(-total // images)
    pages: list[list[_Row]] = []
    current: list[_Row] = []
    count = 0
    for scope, rows in scopes:
        first = True
        for row in rows:
            if count == max_rows:
                pages.append(current)
                current, count = [], 0
                first = True
            if first:
                continued = bool(pages) and pages[-1] and _scope_of(pages[-1]) == scope
                current.append(_Row("scope", scope + (" (continued)" if continued else "")))
                first = False
            current.append(row)
            count += 1
    if current:
        pages.append(current)
    return pages


def _scope_of(rows: list[_Row]) -> str | None:
    heads = [r.label for r in rows if r.kind == "scope"]
    return heads[-1].removesuffix(" (continued)") if heads else None


def _x_range(compare: str, rows: Sequence[_Row], limits: list[float]) -> tuple[float, float]:
    """Axis range covering points, intervals and limits; one very wide interval is cut at the edge
    (drawn with an arrow) rather than squashing every other group."""
    core = [r.value for r in rows if r.value is not None] + limits + [1.0 if is_ratio(compare) else 0.0]
    ends = [v for r in rows if r.ci for v in r.ci]
    if compare == "difference":
        span = max(max(core) - min(core), 0.05)
        lo = max(min(core + ends), min(core) - span)
        hi = min(max(core + ends), max(core) + span)
        pad = 0.05 * (hi - lo)
        return lo - pad, hi + pad
    top = max(max(core), 0.05)
    hi = min(max(core + ends), 2 * top) * 1.05
    return -0.015 * hi, hi  # a little room left of 0 so a marker at 0 is drawn whole


def _fmt_tick(compare: str):
    if compare == "odds_ratio":
        return lambda x, _pos: f"{x:.2g}"
    if compare == "ratio":
        return lambda x, _pos: f"{x * 100:.0f}%"
    return lambda x, _pos: f"{x * 100:+.0f} pts" if compare == "difference" and abs(x) > 1e-12 else f"{x * 100:.0f} pts"


def _limit_text(compare: str, value: float) -> str:
    if compare == "odds_ratio":
        return f"OR {value:.2f}"
    if compare == "ratio":
        return f"{value * 100:.0f}%"
    return f"{value * 100:.1f} pts"


def _draw(rows: list[_Row], finding: Mapping[str, Any], x_range: tuple[float, float], level: float) -> bytes:
    with _context():
        return svg_bytes(_figure(rows, finding, x_range, level))


@contextlib.contextmanager
def _context() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(chart_rc()), warnings.catch_warnings():
        # A group name with characters DejaVu Sans lacks is drawn with a box, not an error.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        yield


def _figure(rows: list[_Row], finding: Mapping[str, Any], x_range: tuple[float, float], level: float) -> Any:
    from matplotlib.figure import Figure

    height = TOP_IN + BOTTOM_IN + ROW_IN * len(rows)
    fig = Figure(figsize=(WIDTH_IN, height), dpi=72)
    ax = _axes(fig, len(rows), height, x_range, finding["compare"])
    _draw_limits(ax, finding, x_range)
    label_tf = ax.get_yaxis_transform()  # x in axes fraction, y in data
    for y, row in enumerate(rows):
        if row.kind == "scope":
            _draw_scope_row(ax, y, row, label_tf)
        else:
            _draw_group_row(ax, y, row, label_tf, x_range)
    ax.set_xlabel(_x_label(finding), fontsize=7.5, labelpad=3)
    _legend(fig, finding, rows, level)
    return fig


def _axes(fig, n: int, height: float, x_range: tuple[float, float], compare: str):
    """The plotting area: one row per entry, no y ticks, a light vertical grid."""
    from matplotlib.ticker import FuncFormatter

    lo, hi = x_range
    ax = fig.add_axes(
        (
            LEFT_IN / WIDTH_IN,
            BOTTOM_IN / height,
            1 - (LEFT_IN + RIGHT_IN) / WIDTH_IN,
            ROW_IN * n / height,
        )
    )
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(lo, hi)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.xaxis.set_major_formatter(FuncFormatter(_fmt_tick(compare)))
    ax.grid(axis="x", color="#D9D9D9", linewidth=0.5)
    ax.set_axisbelow(True)
    return ax


def _draw_limits(ax, finding: Mapping[str, Any], x_range: tuple[float, float]) -> None:
    """Region outside the policy's limits, the no-disparity line, then the limits themselves."""
    compare = finding["compare"]
    lo, hi = x_range
    if finding["min_value"] is not None:
        ax.axvspan(min(lo, 0.0), finding["min_value"], color=OUTSIDE_FILL, zorder=0, linewidth=0)
    if finding["max_value"] is not None:
        ax.axvspan(finding["max_value"], hi, color=OUTSIDE_FILL, zorder=0, linewidth=0)
    anchor = 1.0 if is_ratio(compare) else 0.0
    if lo <= anchor <= hi:
        ax.axvline(anchor, color="#7F7F7F", linewidth=0.8, zorder=1)
    for bound in (finding["min_value"], finding["max_value"]):
        if bound is None:
            continue
        ax.axvline(bound, color=LIMIT_COLOUR, linewidth=1.0, linestyle=(0, (4, 2)), zorder=2)
        ax.text(
            bound,
            -0.5,
            f"limit {_limit_text(compare, bound)}",
            ha="center",
            va="bottom",
            fontsize=7,
            parse_math=False,
            clip_on=False,
        )


def _draw_scope_row(ax, y: int, row: _Row, label_tf) -> None:
    """A heading row: the scope's name in bold at the left edge."""
    ax.text(
        -LEFT_IN / (WIDTH_IN - LEFT_IN - RIGHT_IN),
        y,
        clip_label(row.label),
        transform=label_tf,
        ha="left",
        va="center",
        fontweight="bold",
        parse_math=False,
        clip_on=False,
    )


def _draw_group_row(ax, y: int, row: _Row, label_tf, x_range: tuple[float, float]) -> None:
    """A group: its name, its interval (arrows where cut at the edge), its point and its status word."""
    lo, hi = x_range
    ax.text(
        -0.015,
        y,
        clip_label(row.label),
        transform=label_tf,
        ha="right",
        va="center",
        fontsize=7.5 if len(row.label) <= SMALL_LABEL else 6,
        parse_math=False,
        clip_on=False,
    )
    colour, marker, face, size, word = _style(row.status)
    if row.ci is not None:
        c_lo, c_hi = max(row.ci[0], lo), min(row.ci[1], hi)
        ax.plot(
            [c_lo, c_hi],
            [y, y],
            color=colour,
            linewidth=1.3,
            solid_capstyle="butt",
            zorder=3,
        )
        for end, clipped in ((row.ci[0], row.ci[0] < lo), (row.ci[1], row.ci[1] > hi)):
            ax.plot(
                [min(max(end, lo), hi)],
                [y],
                marker=(">" if end > hi else "<") if clipped else "|",
                color=colour,
                markersize=5 if clipped else 6,
                markeredgewidth=1.0,
                zorder=3,
            )
    ax.plot(
        [row.value],
        [y],
        marker=marker,
        markersize=size,
        color=colour,
        markerfacecolor=face,
        markeredgewidth=1.2,
        linestyle="none",
        zorder=4,
    )
    ax.text(
        1.02,
        y,
        word,
        transform=label_tf,
        ha="left",
        va="center",
        fontsize=7,
        fontweight="bold" if row.status == "FAIL" else "normal",
        color=colour,
        parse_math=False,
        clip_on=False,
    )


def _x_label(finding: Mapping[str, Any]) -> str:
    compare = finding["compare"]
    return (
        f"ratio of each group's {_metric_words(finding)} to the comparator's"
        if compare == "ratio"
        else f"odds ratio of each group's {_metric_words(finding)} to the comparator's (1 = equal odds)"
        if compare == "odds_ratio"
        else f"{'absolute ' if compare == 'absolute_difference' else ''}difference from the "
        f"comparator's {_metric_words(finding)} (percentage points)"
    )


def _legend(fig, finding: Mapping[str, Any], rows: list[_Row], level: float) -> None:
    """The legend under the chart: the entries every chart shows, then those for statuses drawn."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D(
            [],
            [],
            color=FAIL_COLOUR,
            marker="s",
            markersize=6,
            linestyle="none",
            label="group outside the limit",
        ),
        Line2D(
            [],
            [],
            color=PASS_COLOUR,
            marker="o",
            markerfacecolor="white",
            markersize=6,
            markeredgewidth=1.2,
            linestyle="none",
            label="group within the limit",
        ),
        _comparator_handle(finding),
        Line2D(
            [],
            [],
            color="#555555",
            linewidth=1.3,
            label=f"{level * 100:.0f}% confidence interval",
        ),
        Line2D(
            [],
            [],
            color=LIMIT_COLOUR,
            linewidth=1.0,
            linestyle=(0, (4, 2)),
            label="policy limit",
        ),
        Patch(facecolor=OUTSIDE_FILL, edgecolor="none", label="shaded: not allowed by the policy"),
    ]
    present = {r.status for r in rows if r.kind == "group"}
    for status in _OPTIONAL_LEGEND:
        if status in present:
            colour, marker, face, size, _word, words = STYLES[status]
            handles.append(
                Line2D(
                    [],
                    [],
                    color=colour,
                    marker=marker,
                    markerfacecolor=face,
                    markersize=6,
                    markeredgewidth=1.2,
                    linestyle="none",
                    label=words,
                )
            )
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=3,
        frameon=False,
        fontsize=6.5,
        bbox_to_anchor=(0.5, 0.0),
        handlelength=1.6,
        columnspacing=1.0,
        handletextpad=0.4,
    )


def _comparator_handle(finding: Mapping[str, Any]):
    """The comparator's legend entry: a group's marker, or (against the overall population, which is
    no row of the chart) the no-disparity line that stands for it."""
    from matplotlib.lines import Line2D

    if finding["against"] == "overall":
        return Line2D([], [], color="#7F7F7F", linewidth=0.8, label="the overall population (no disparity)")
    return Line2D(
        [],
        [],
        color=COMPARATOR_COLOUR,
        marker="D",
        markersize=5,
        linestyle="none",
        label=f"comparator ({_AGAINST.get(finding['against'], 'comparator')})",
    )


_AGAINST = {
    "max": "highest group",
    "min": "lowest group",
    "reference": "reference group",
    "overall": "overall population",
}


#: (colour, marker, face colour, size, word, legend) for every group outcome a chart draws (tested).
STYLES = {
    "FAIL": (FAIL_COLOUR, "s", FAIL_COLOUR, 6.5, "OUTSIDE", "group outside the limit"),
    "NOT_SIGNIFICANT": (
        NOTSIG_COLOUR,
        "^",
        "white",
        6.5,
        "outside, n.s.",
        "outside the limit, not statistically significant",
    ),
    "INCONCLUSIVE": (
        UNDECIDED_COLOUR,
        "o",
        "white",
        5.5,
        "undecided",
        "small group: interval crosses the limit (undecided)",
    ),
    "WAIVED": (WAIVED_COLOUR, "s", "white", 6.0, "waived", "outside the limit, waived"),
    "COMPARATOR": (COMPARATOR_COLOUR, "D", COMPARATOR_COLOUR, 5.0, "comparator", "comparator"),
    "PASS": (PASS_COLOUR, "o", "white", 6.0, "within", "group within the limit"),
}
DRAWN = tuple(STYLES)
#: Legend entries beyond the three every chart shows, added when a chart draws such a group.
_OPTIONAL_LEGEND = ("NOT_SIGNIFICANT", "INCONCLUSIVE", "WAIVED")


def _style(status: str) -> tuple[str, str, str, float, str]:
    """(colour, marker, face colour, size, word) for a group's status."""
    return STYLES.get(status, STYLES["PASS"])[:5]
