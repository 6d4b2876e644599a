"""Less-discriminatory-alternatives chart: each candidate's performance against each rule's worst disparity.

One panel per policy rule (x: the rule's worst observed value, y: the performance measure); a filled
marker passes the policy, a hollow one does not, and a black ring marks the Pareto frontier. SVG with
the report charts' settings, so the same input is the same bytes.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from audit.report.charts.style import FAIL_COLOUR, MATPLOTLIB_RC, PASS_COLOUR, WIDTH_IN, clip_label, svg_bytes


def alternatives_chart(document: Mapping[str, Any]) -> bytes:
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    rules = list(document["rules"])
    candidates = document["candidates"]
    with matplotlib.rc_context(MATPLOTLIB_RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        fig = Figure(figsize=(WIDTH_IN, 2.9 * len(rules) + 0.5))
        axes = fig.subplots(len(rules), 1, squeeze=False)[:, 0]
        for i, (ax, rule) in enumerate(zip(axes, rules, strict=True)):
            for c in candidates:
                d = c["disparities"][i]
                if d["observed"] is None:
                    continue
                colour = PASS_COLOUR if c["passes"] else FAIL_COLOUR
                ax.plot(
                    [d["observed"]],
                    [c["performance"]],
                    marker="o",
                    markersize=7,
                    color=colour,
                    markerfacecolor=colour if c["passes"] else "white",
                    linestyle="none",
                )
                if c["frontier"]:
                    ax.plot([d["observed"]], [c["performance"]], marker="o", markersize=12, color="black",
                            markerfacecolor="none", linestyle="none")  # fmt: skip
                ax.annotate(clip_label(c["name"]), (d["observed"], c["performance"]), xytext=(7, 4),
                            textcoords="offset points", fontsize=6.5)  # fmt: skip
            compare = next((c["disparities"][i]["compare"] for c in candidates), "")
            unit = "ratio to the comparator" if compare == "ratio" else "difference from the comparator"
            ax.set_xlabel(f"{rule}: worst group's {unit}")
            ax.set_ylabel(document["performance"])
            ax.grid(True, linewidth=0.3, alpha=0.5)
        handles = [
            Line2D([], [], marker="o", color=PASS_COLOUR, linestyle="none", label="passes the policy"),
            Line2D([], [], marker="o", color=FAIL_COLOUR, markerfacecolor="white", linestyle="none", label="does not"),
            Line2D(
                [],
                [],
                marker="o",
                markersize=10,
                color="black",
                markerfacecolor="none",
                linestyle="none",
                label="on the frontier",
            ),  # fmt: skip
        ]
        fig.legend(handles=handles, loc="upper center", ncol=3, frameon=False)
        fig.tight_layout(rect=(0, 0, 1, 0.95))
        return svg_bytes(fig)
