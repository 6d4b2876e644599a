"""A PDF report for an audit with many groups: the tables summarise, the full table is attached.

Laying out a table row costs WeasyPrint milliseconds; an intersectional audit with thousands of
groups made a report of hundreds of pages that took minutes and over a gigabyte to render (issue 23).
In a scope with more than ``SUMMARY_THRESHOLD`` groups, each finding's chart and table show the
``SHOWN_ROWS`` groups that fail or come closest to the policy's limit (worst first, the comparator
besides), the group-metrics table shows those same groups, and a sentence under each says so. Every
group's figures go into ``groups.csv``, attached to the PDF beside results.json (which holds them too).

Only the PDF summarises: the HTML copy and results.json always carry every group.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from typing import Any

#: A scope with more groups than this is summarised in the PDF.
SUMMARY_THRESHOLD = 60
#: Groups shown per finding in a summarised scope (besides the comparator): one chart image's worth.
SHOWN_ROWS = 20
CSV_NAME = "groups.csv"
CSV_DESCRIPTION = "Every group's counts, metrics and judged comparisons (the report's tables summarise)"

_OUTSIDE = ("FAIL", "NOT_SIGNIFICANT")


def summarised_scopes(document: Mapping[str, Any], *, threshold: int = SUMMARY_THRESHOLD) -> set[str]:
    """The scopes whose tables the PDF summarises: more than ``threshold`` groups."""
    sizes: dict[str, int] = {}
    for g in document["groups"]:
        sizes[g["scope"]] = sizes.get(g["scope"], 0) + 1
    return {scope for scope, n in sizes.items() if n > threshold}


def _limits(document: Mapping[str, Any], rule_id: str) -> tuple[float | None, float | None]:
    finding = next((f for f in document["findings"] if f["rule_id"] == rule_id), None)
    if finding is None:
        return None, None
    return finding.get("min_value"), finding.get("max_value")


def _margin(value: float | None, low: float | None, high: float | None) -> float:
    """How far inside the limits a value is (negative: outside); infinite when it cannot be placed."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.inf
    margins = [value - low] if low is not None else []
    if high is not None:
        margins.append(high - value)
    return min(margins) if margins else math.inf


def shown_rows(
    document: Mapping[str, Any], disparity: Mapping[str, Any], *, limit: int = SHOWN_ROWS
) -> list[Mapping[str, Any]]:
    """The comparator, then the ``limit`` groups that fail or come closest to the limit, worst first."""
    low, high = _limits(document, disparity["rule_id"])
    comparators = [o for o in disparity["groups"] if o["status"] == "COMPARATOR"]
    others = [o for o in disparity["groups"] if o["status"] != "COMPARATOR"]
    order = sorted(
        range(len(others)),
        key=lambda i: (
            others[i]["status"] not in _OUTSIDE,  # failing groups first
            others[i]["value"] is None,  # groups without a value last
            _margin(others[i]["value"], low, high),
            i,  # ties: the document's order
        ),
    )
    return comparators + [others[i] for i in order[:limit]]


def summarise(document: Mapping[str, Any], scopes: set[str]) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
    """A copy of ``document`` for display, each disparity of a summarised scope cut to ``shown_rows``,
    and what each cut left out: ``{(rule_id, scope): {"total", "shown", "outside", "outside_shown"}}``.

    The copy's other content (groups, findings, counts) is the document's own.
    """
    notes: dict[tuple[str, str], Any] = {}
    disparities = []
    for d in document["disparities"]:
        if d["scope"] not in scopes:
            disparities.append(d)
            continue
        rows = shown_rows(document, d)
        kept = {o["group"] for o in rows}
        cut = dict(d, groups=rows)
        if d.get("unknowns"):
            cut["unknowns"] = dict(d["unknowns"], groups=[b for b in d["unknowns"]["groups"] if b["group"] in kept])
        disparities.append(cut)
        notes[(d["rule_id"], d["scope"])] = {
            "total": len(d["groups"]),
            "shown": len(rows),
            "outside": sum(1 for o in d["groups"] if o["status"] in _OUTSIDE),
            "outside_shown": sum(1 for o in rows if o["status"] in _OUTSIDE),
        }
    return dict(document, disparities=disparities), notes


def shown_groups(display: Mapping[str, Any], scope: str) -> set[str]:
    """The groups of ``scope`` some finding shows (the group-metrics table shows the same ones)."""
    return {o["group"] for d in display["disparities"] if d["scope"] == scope for o in d["groups"]}


def groups_csv(document: Mapping[str, Any]) -> bytes:
    """Every group of the document, one row each: counts, each metric with its interval, and each rule's
    comparison (value, interval, status, adjusted p). UTF-8, comma-separated, a header row."""
    metrics: list[str] = list(dict.fromkeys(m for g in document["groups"] for m in g.get("metrics") or {}))
    rules: list[str] = list(dict.fromkeys(d["rule_id"] for d in document["disparities"]))
    judged: dict[tuple[str, str, str], Mapping[str, Any]] = {
        (d["rule_id"], d["scope"], o["group"]): o for d in document["disparities"] for o in d["groups"]
    }
    cells = ("tp", "fp", "fn", "tn")
    header = ["scope", "group", "label", "n", *cells]
    header += [f"{m}{suffix}" for m in metrics for suffix in ("", ".ci_low", ".ci_high")]
    header += [f"{r}.{part}" for r in rules for part in ("value", "ci_low", "ci_high", "status", "p_adjusted")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for g in document["groups"]:
        counts = g.get("counts") or {}
        row: list[Any] = [g["scope"], g["id"], g["label"], g["n"], *(counts.get(c, "") for c in cells)]
        for m in metrics:
            value = (g.get("metrics") or {}).get(m) or {}
            ci = value.get("ci") or (None, None)
            row += [_number(value.get("value")), _number(ci[0]), _number(ci[1])]
        for r in rules:
            o = judged.get((r, g["scope"], g["id"]))
            if o is None:
                row += ["", "", "", "", ""]
                continue
            ci = o.get("ci") or (None, None)
            row += [_number(o.get("value")), _number(ci[0]), _number(ci[1]), o["status"], _number(o.get("p_adjusted"))]
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _number(value: Any) -> Any:
    """A number as Python writes it (repr: round-trips exactly); empty when absent."""
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else value


def summary_sentence(note: Mapping[str, Any], *, csv_name: str = CSV_NAME) -> str:
    """The sentence under a summarised finding table."""
    others = note["shown"] - note["outside_shown"]
    if note["outside"] > note["outside_shown"]:
        what = (
            f"the {note['outside_shown']:,} of its {note['outside']:,} groups outside the limit that are furthest out"
        )
    elif note["outside"]:
        what = f"all {note['outside']:,} groups outside the limit and the {others:,} closest to it"
    else:
        what = f"the {others:,} groups closest to the limit"
    return (
        f"This scope has {note['total']:,} groups: the chart and table show {what} (and the comparator); "
        f"every group is in {csv_name}, attached to this PDF."
    )


def metrics_sentence(total: int, shown: int, *, csv_name: str = CSV_NAME) -> str:
    """The sentence under a summarised group-metrics table."""
    return (
        f"This scope has {total:,} groups: the table shows the {shown:,} its findings show; "
        f"every group is in {csv_name}, attached to this PDF."
    )
