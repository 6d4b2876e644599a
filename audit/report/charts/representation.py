"""Representativeness chart: each group's share in the data vs the reference population."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from audit.report.charts.style import (
    BOTTOM_IN,
    FAIL_COLOUR,
    LEFT_IN,
    PASS_COLOUR,
    RIGHT_IN,
    SMALL_LABEL,
    TOP_IN,
    WIDTH_IN,
    Chart,
    chart_rc,
    clip_label,
    data_uri,
    svg_bytes,
)
from audit.report.labels import group_label

if TYPE_CHECKING:
    from matplotlib.artist import Artist

REFERENCE_HATCH = "////"


def representation_chart(check: Mapping[str, Any], *, level: float) -> Chart | None:
    """Paired horizontal bars per group: the reference population's share (white, hatched) and the
    share in the audited data (solid: blue within the policy's limits, vermillion outside), with
    the data share's confidence interval. ``None`` when the check has no groups."""
    groups = [g for g in check.get("groups") or [] if g.get("observed_share") is not None]
    if not groups:
        return None
    svg = _draw_representation(groups, check, level)
    outside = sum(1 for g in groups if g.get("status") == "FAIL")
    alt = (
        f"Chart: share of each {check.get('feature', 'group')} group in the data vs the reference "
        f"population, {len(groups)} group(s), {outside} outside the policy limit."
    )
    return Chart(data_uri(svg), len(groups), alt, False)


def _draw_representation(groups: Sequence[Mapping[str, Any]], check: Mapping[str, Any], level: float) -> bytes:
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    row_in = 0.34
    height = TOP_IN + BOTTOM_IN + row_in * len(groups)
    top = max(max(g["observed_share"], g["expected_share"]) for g in groups)
    ends = [g["ci"][1] * g["expected_share"] for g in groups if g.get("ci") and g.get("expected_share")]
    hi = min(max([top, *ends]) * 1.08, 1.0) or 1.0
    with matplotlib.rc_context(chart_rc()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        fig = Figure(figsize=(WIDTH_IN, height), dpi=72)
        ax = fig.add_axes(
            (LEFT_IN / WIDTH_IN, BOTTOM_IN / height, 1 - (LEFT_IN + RIGHT_IN) / WIDTH_IN, row_in * len(groups) / height)
        )
        ax.set_ylim(len(groups) - 0.5, -0.5)
        ax.set_xlim(0, hi)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x * 100:.0f}%"))
        ax.grid(axis="x", color="#D9D9D9", linewidth=0.5)
        ax.set_axisbelow(True)
        label_tf = ax.get_yaxis_transform()
        for y, g in enumerate(groups):
            failing = g.get("status") == "FAIL"
            colour = FAIL_COLOUR if failing else PASS_COLOUR
            ax.barh(
                y - 0.17,
                g["expected_share"],
                height=0.32,
                color="white",
                edgecolor="#333333",
                hatch=REFERENCE_HATCH,
                linewidth=0.6,
                zorder=2,
            )
            ax.barh(y + 0.17, g["observed_share"], height=0.32, color=colour, edgecolor=colour, linewidth=0.6, zorder=2)
            if g.get("ci") and g.get("expected_share"):
                lo, hi_ci = (v * g["expected_share"] for v in g["ci"])
                ax.plot([lo, min(hi_ci, hi)], [y + 0.17, y + 0.17], color="#111111", linewidth=0.9, zorder=3)
                for end in (lo, min(hi_ci, hi)):
                    ax.plot([end], [y + 0.17], marker="|", color="#111111", markersize=5, zorder=3)
            ax.text(
                -0.015,
                y,
                clip_label(group_label(g["group"])),
                transform=label_tf,
                ha="right",
                va="center",
                fontsize=7.5 if len(str(g["group"])) <= SMALL_LABEL else 6,
                parse_math=False,
                clip_on=False,
            )
            ax.text(
                1.02,
                y,
                "OUTSIDE" if failing else "within",
                transform=label_tf,
                ha="left",
                va="center",
                fontsize=7,
                fontweight="bold" if failing else "normal",
                color=colour,
                parse_math=False,
                clip_on=False,
            )
        ax.set_xlabel("share of the rows with a known value", fontsize=7.5, labelpad=3)
        handles: list[Artist] = [
            Patch(facecolor="white", edgecolor="#333333", hatch=REFERENCE_HATCH, label="reference population"),
            Patch(facecolor=PASS_COLOUR, label="share in the data, within the limit"),
            Patch(facecolor=FAIL_COLOUR, label="share in the data, outside the limit"),
        ]
        from matplotlib.lines import Line2D

        handles.append(
            Line2D([], [], color="#111111", linewidth=0.9, label=f"{level * 100:.0f}% confidence interval (data share)")
        )
        fig.legend(
            handles=handles,
            loc="lower center",
            ncol=2,
            frameon=False,
            fontsize=6.5,
            bbox_to_anchor=(0.5, 0.0),
            handlelength=1.6,
            columnspacing=1.0,
            handletextpad=0.4,
        )
        svg = svg_bytes(fig)
    return svg
