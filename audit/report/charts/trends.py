"""The report's trend section: each rule's disparity per group over the time windows, and drift.

Drawn only from ``document["monitoring"]`` (see ``audit.monitoring``). One chart per rule: a
line per single-feature group with its confidence interval as error bars and the policy limit as
a horizontal line; windows where the group fell outside the limit are drawn as filled squares.
Deterministic like the other charts (fixed hash salt, text as paths or as text in DejaVu Sans, no dates).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from audit.report.charts.style import FAIL_COLOUR, LIMIT_COLOUR, chart_rc, clip_label, data_uri, svg_bytes

#: Okabe–Ito colours (colour-blind safe) and line styles so that lines differ in greyscale too.
_LINE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
_LINE_STYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "^", "v", "D", "P", "X", "<", ">")
#: Most lines in one trend chart (groups beyond it are in the tables of results.json).
MAX_LINES = 8


def trends_view(document: Mapping[str, Any]) -> dict[str, Any] | None:
    monitoring = document.get("monitoring")
    if not monitoring:
        return None
    windows = monitoring["windows"]
    labels = [w["label"] for w in windows]
    rules = {f["rule_id"]: f for f in document["findings"]}
    charts = []
    for rule_id, finding in rules.items():
        chart = _rule_chart(rule_id, finding, windows, labels)
        if chart is not None:
            charts.append(chart)
    drift_ids = list(dict.fromkeys(d["rule_id"] for d in monitoring["drift"]))
    grid = [
        {"rule_id": rid, "cells": [_drift_cell(monitoring["drift"], rid, label) for label in labels]}
        for rid in drift_ids
    ]
    latest = labels[-1] if labels else None
    return {
        "period": monitoring["period"],
        "period_column": monitoring["period_column"],
        "verdict_from": monitoring["verdict_from"],
        "rows_without_time": monitoring["rows_without_time"],
        "windows": windows,
        "total_rows": sum(w["rows"] for w in windows),
        "charts": charts,
        "drift_grid": grid,
        "latest_drift": [d for d in monitoring["drift"] if d["window"] == latest],
    }


def _drift_cell(drift: list[Mapping[str, Any]], rule_id: str, label: str) -> str:
    found = next((d for d in drift if d["rule_id"] == rule_id and d["window"] == label), None)
    if found is None:
        return ""
    return found["status"] if found["baseline"] is not None else "baseline"


def _rule_chart(
    rule_id: str, finding: Mapping[str, Any], windows: list[Mapping[str, Any]], labels: list[str]
) -> dict[str, Any] | None:
    series: dict[str, dict[str, Any]] = {}
    for i, w in enumerate(windows):
        for d in w["disparities"]:
            if d["rule_id"] != rule_id or " × " in d["scope"]:
                continue  # single-feature groups only: intersections are in the tables
            for g in d["groups"]:
                if g["value"] is None:
                    continue
                s = series.setdefault(g["group"], {"label": f"{g['label']} ({d['scope']})", "points": []})
                s["points"].append((i, g["value"], g["ci"], g["status"]))
    if not series:
        return None
    chosen = list(series.values())[:MAX_LINES]
    limits = [v for v in (finding.get("min_value"), finding.get("max_value")) if v is not None]
    svg = _draw(chosen, labels, limits, compare=finding.get("compare") or "ratio")
    return {
        "rule_id": rule_id,
        "title": finding.get("title") or rule_id,
        "data_uri": data_uri(svg),
        "alt": f"Trend of rule {rule_id} per group over {len(labels)} windows",
        "omitted": max(0, len(series) - MAX_LINES),
    }


def _draw(series: list[dict[str, Any]], labels: list[str], limits: list[float], *, compare: str) -> bytes:
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(chart_rc()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = Figure(figsize=(6.7, 2.6))
        ax = fig.add_axes((0.08, 0.3, 0.62, 0.62))
        for k, s in enumerate(series):
            xs = [p[0] for p in s["points"]]
            ys = [p[1] for p in s["points"]]
            colour = _LINE_COLOURS[k % len(_LINE_COLOURS)]
            lows = [p[1] - p[2][0] if p[2] else 0 for p in s["points"]]
            highs = [p[2][1] - p[1] if p[2] else 0 for p in s["points"]]
            ax.errorbar(
                xs,
                ys,
                yerr=[lows, highs],
                color=colour,
                linestyle=_LINE_STYLES[k % len(_LINE_STYLES)],
                marker=_MARKERS[k % len(_MARKERS)],
                markersize=3.5,
                linewidth=0.9,
                elinewidth=0.5,
                capsize=1.5,
                label=clip_label(s["label"]),
            )
            fails = [(p[0], p[1]) for p in s["points"] if p[3] == "FAIL"]
            if fails:
                ax.plot(
                    [f[0] for f in fails],
                    [f[1] for f in fails],
                    linestyle="none",
                    marker="s",
                    markersize=5.5,
                    markerfacecolor=FAIL_COLOUR,
                    markeredgecolor="black",
                    markeredgewidth=0.5,
                )
        for limit in limits:
            ax.axhline(limit, color=LIMIT_COLOUR, linewidth=0.9, linestyle=(0, (4, 2)))
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=6.5)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.set_ylabel(
            {"ratio": "ratio to comparator", "odds_ratio": "odds ratio to comparator"}.get(
                compare, "difference to comparator"
            )
        )
        ax.grid(axis="y", linewidth=0.3, color="#BBBBBB")
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            frameon=False,
            fontsize=6.5,
            title="dashed line: policy limit\nsquares: outside it",
            title_fontsize=6,
        )
        svg = svg_bytes(fig)
    return svg
