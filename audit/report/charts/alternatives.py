"""Less-discriminatory-alternatives chart: each candidate's performance against each rule's worst disparity.

One panel per policy rule (x: the rule's worst observed value, y: the performance measure); a filled
marker passes the policy, a hollow one does not, and a black ring marks the Pareto frontier. SVG with
the report charts' settings, so the same input is the same bytes.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from audit.report.charts.style import (
    FAIL_COLOUR,
    LIMIT_COLOUR,
    PASS_COLOUR,
    WIDTH_IN,
    chart_rc,
    clip_label,
    svg_bytes,
)


def alternatives_chart(document: Mapping[str, Any]) -> bytes:
    """Performance (y) against each rule's worst observed value (x), one panel per rule; markers are numbered
    in the candidates' order and a key under the chart names them (names are often long file paths)."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    rules = list(document["rules"])
    candidates = document["candidates"]
    key = [f"{j}: {clip_label(c['name'])}" for j, c in enumerate(candidates, start=1)]
    key_in = 0.16 * ((len(key) + 1) // 2)
    ring: dict[str, Any] = {"marker": "o", "color": "black", "markerfacecolor": "none", "linestyle": "none"}
    with matplotlib.rc_context(chart_rc()), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font", category=UserWarning)
        height = 2.6 * len(rules) + 0.4 + key_in
        fig = Figure(figsize=(WIDTH_IN, height))
        axes = fig.subplots(len(rules), 1, squeeze=False)[:, 0]
        for i, (ax, rule) in enumerate(zip(axes, rules, strict=True)):
            for j, c in enumerate(candidates, start=1):
                d = c["disparities"][i]
                if d["observed"] is None:
                    continue
                x, y = d["observed"], c["performance"]
                colour = PASS_COLOUR if c["passes"] else FAIL_COLOUR
                face = colour if c["passes"] else "white"
                ax.plot([x], [y], marker="o", markersize=7, color=colour, markerfacecolor=face, linestyle="none")
                if c["frontier"]:
                    ax.plot([x], [y], markersize=12, **ring)
                ax.annotate(str(j), (x, y), xytext=(7, 3), textcoords="offset points", fontsize=7)
            for limit in (document.get("bounds") or {}).get(rule, {}).values():
                if limit is not None:
                    ax.axvline(limit, color=LIMIT_COLOUR, linewidth=0.8, linestyle="--")
            compare = next((c["disparities"][i]["compare"] for c in candidates), "")
            unit = {"ratio": "ratio to the comparator", "odds_ratio": "odds ratio to the comparator"}.get(
                compare, "difference from the comparator"
            )
            ax.set_xlabel(f"{rule}: worst group's {unit}")
            ax.set_ylabel(document["performance"])
            ax.grid(True, linewidth=0.3, alpha=0.5)
            ax.margins(x=0.08, y=0.12)
        handles = [
            Line2D([], [], marker="o", color=PASS_COLOUR, linestyle="none", label="passes the policy"),
            Line2D([], [], marker="o", color=FAIL_COLOUR, markerfacecolor="white", linestyle="none", label="does not"),
            Line2D([], [], markersize=10, label="on the frontier", **ring),
            Line2D([], [], color=LIMIT_COLOUR, linewidth=0.8, linestyle="--", label="policy limit"),
        ]
        fig.legend(handles=handles, loc="upper center", ncol=4, frameon=False)
        half = (len(key) + 1) // 2
        for col, names in enumerate((key[:half], key[half:])):
            fig.text(0.02 + 0.5 * col, 0.01, "\n".join(names), fontsize=6.5, va="bottom", ha="left")
        fig.tight_layout(rect=(0, (key_in + 0.1) / height, 1, 1 - 0.3 / height))
        return svg_bytes(fig)
