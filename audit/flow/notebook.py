"""What a notebook reads off an ``AuditResult``: group metrics with counts and intervals, fairlearn-style
ratio and difference summaries, the report's chart as a matplotlib figure, and a short ``repr``.

``ratio()`` and ``difference()`` summarise each scope (``sex``, ``race``, ``sex × race``) per metric,
as fairlearn's ``MetricFrame.ratio()``/``.difference()`` do for one set of sensitive features:

===================================  ======================================  =============================
method                               ratio                                   difference
===================================  ======================================  =============================
``between_groups`` (also ``max``,    smallest / largest group value          largest − smallest
``min``: every group against the
highest or lowest one gives the
same worst case)
``to_overall`` (also ``overall``)    min over groups of min(g/o, o/g)        max over groups of |g − o|
``reference`` (``reference=``)       min over groups of g / reference        max over groups of |g − reference|
                                     (only the scopes that have the group, or that a dict ``{scope: group}`` names)
===================================  ======================================  =============================

``o`` is the metric over everyone (the ``overall`` scope). Groups whose value is undefined (no one
to divide by) are left out, as fairlearn's ``nan`` values are by ``min``/``max``; a scope with no
defined value gives ``nan``. The summaries are descriptive: the verdict comes from the policy's
rules (their comparators, minimum counts and intervals), not from these numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from audit.errors import ArgumentError, UsageError
from audit.judge.status import Status

if TYPE_CHECKING:
    import pandas as pd

    from audit.judge.core import JudgedItem

#: An ``AuditResult`` (not imported: it imports this module, and the import graph has no cycles).
AuditResult = Any

#: ``method=`` names and the summary each one means (see the module's table).
METHODS = {
    "between_groups": "between_groups",
    "max": "between_groups",
    "min": "between_groups",
    "to_overall": "to_overall",
    "overall": "to_overall",
    "reference": "reference",
}
_SKIPPED = ("count",)  # the group size is the ``n`` column


def by_group(result: AuditResult) -> pd.DataFrame:
    """One row per scope × group: n, the confusion counts (tp, fp, fn, tn; without a label, the selected
    count), then every metric's value with its interval (``<metric>``, ``<metric>_ci_low``, ``<metric>_ci_high``)."""
    import pandas as pd

    has_label = result.table.has_label if result.table is not None else False
    rows = []
    for scope in result.scopes:
        for group in scope.groups:
            row: dict[str, object] = {"scope": scope.name, "group": group.label, "n": group.n}
            if result.task == "classification":
                counts = group.counts  # [y, ŷ]
                if has_label:
                    row |= {
                        "tp": int(counts[1, 1]),
                        "fp": int(counts[0, 1]),
                        "fn": int(counts[1, 0]),
                        "tn": int(counts[0, 0]),
                    }
                else:
                    row["selected"] = int(counts[:, 1].sum())
            for name, value in group.metrics.items():
                if name in _SKIPPED:
                    continue
                row |= {name: value.value, f"{name}_ci_low": value.ci_low, f"{name}_ci_high": value.ci_high}
            rows.append(row)
    frame = pd.DataFrame(rows)
    metric_columns = [c for c in frame.columns if c not in ("scope", "group")]
    frame[metric_columns] = frame[metric_columns].astype("float64").where(frame[metric_columns].notna())
    for column in ("n", "tp", "fp", "fn", "tn", "selected"):
        if column in frame:
            frame[column] = frame[column].astype("int64")
    return frame


def summary(
    result: AuditResult,
    kind: str,
    *,
    method: str,
    metrics: Sequence[str] | None,
    reference: str | Mapping[str, str] | None,
) -> pd.DataFrame:
    """``ratio()`` (``kind`` "ratio") or ``difference()``: one row per scope but ``overall``, one column per metric."""
    import pandas as pd

    if method not in METHODS:
        raise ArgumentError(
            f"{kind}(method={method!r}): expected one of {', '.join(map(repr, METHODS))}",
            hint="between_groups and to_overall are fairlearn's MetricFrame names; see docs/notebook.md",
        )
    meaning = METHODS[method]
    overall = next((s.groups[0] for s in result.scopes if not s.features and s.groups), None)
    names = _metric_names(result, metrics, kind)
    out: dict[str, dict[str, float]] = {}
    for scope in result.scopes:
        if not scope.features:
            continue
        comparator: dict[str, float | None] = {}
        if meaning == "to_overall":
            comparator = {m: _value(overall, m) for m in names} if overall is not None else {}
        elif meaning == "reference":
            if not _compared(scope, reference):
                continue
            chosen = _reference_group(scope, reference, kind)
            comparator = {m: _value(chosen, m) for m in names}
        out[scope.name] = {
            m: _summarise(
                kind, meaning, [v for g in scope.groups if (v := _value(g, m)) is not None], comparator.get(m)
            )
            for m in names
        }
    if meaning == "reference" and reference is not None and not out:
        raise UsageError(
            f"{kind}(reference={reference!r}): no scope has that group",
            hint="name a group of a scope (reference='F'), or map scopes to groups (reference={'sex': 'F'})",
        )
    frame = pd.DataFrame.from_dict(out, orient="index", columns=list(names))
    frame.index.name = "scope"
    return frame


def _metric_names(result: AuditResult, metrics: Sequence[str] | None, kind: str) -> list[str]:
    known = list(dict.fromkeys(n for s in result.scopes for g in s.groups for n in g.metrics if n not in _SKIPPED))
    if metrics is None:
        return known
    if isinstance(metrics, str):
        metrics = [metrics]
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise UsageError(
            f"{kind}(metrics=…): this audit has no metric {', '.join(map(repr, unknown))}",
            hint=f"its metrics: {', '.join(known)}",
        )
    return list(metrics)


def _value(group: Any, metric: str) -> float | None:
    value = group.metrics.get(metric) if group is not None else None
    if value is None or value.value is None or not math.isfinite(value.value):
        return None
    return float(value.value)


def _compared(scope: Any, reference: str | Mapping[str, str] | None) -> bool:
    """With ``method='reference'``, the scopes summarised: those the mapping names, or that have the group."""
    if reference is None:
        return True  # refused by _reference_group, naming the argument
    if isinstance(reference, Mapping):
        return scope.name in reference
    return any(g.label == str(reference) for g in scope.groups)


def _reference_group(scope: Any, reference: str | Mapping[str, str] | None, kind: str) -> Any:
    wanted = reference.get(scope.name) if isinstance(reference, Mapping) else reference
    if wanted is None:
        raise ArgumentError(
            f"{kind}(method='reference') needs reference=: a group name, or a dict of scope → group name",
            hint=f"e.g. reference={{{scope.name!r}: {scope.groups[0].label!r}}}",
        )
    found = next((g for g in scope.groups if g.label == str(wanted)), None)
    if found is None:
        raise UsageError(
            f"{kind}(reference={wanted!r}): scope {scope.name!r} has no such group",
            hint=f"its groups: {', '.join(g.label for g in scope.groups)}",
        )
    return found


def _summarise(kind: str, meaning: str, values: list[float], comparator: float | None) -> float:
    if not values:
        return math.nan
    if meaning == "between_groups":
        low, high = min(values), max(values)
        if kind == "difference":
            return high - low
        return low / high if high else math.nan
    if comparator is None:
        return math.nan
    if kind == "difference":
        return max(abs(v - comparator) for v in values)
    if meaning == "to_overall":  # fairlearn: each group's ratio to overall, turned to be at most 1
        ratios = [v / comparator if comparator else math.nan for v in values]
        return min((r if r <= 1 else 1 / r) if r else r for r in ratios)
    return min(v / comparator for v in values) if comparator else math.nan


def driving(result: AuditResult) -> list[JudgedItem]:
    """The items the verdict comes from: those with its status that can move it (none when it passes)."""
    verdict = result.verdict
    if verdict in (Status.PASS, Status.INFO):
        return []
    return [i for i in result.items if i.gates and i.status == verdict]


def short_repr(result: AuditResult) -> str:
    """A few lines: the verdict, the policy, the rows, the items behind the verdict."""
    policy = result.policy.policy
    head = (
        f"<AuditResult {result.verdict.value}: policy {policy.id} {policy.version}, {result.rows:,} rows, "
        f"{len(result.items)} items, exit code {result.exit_code}>"
    )
    items = driving(result)
    if not items:
        return head
    shown = ", ".join(i.id for i in items[:8]) + (f" and {len(items) - 8} more" if len(items) > 8 else "")
    return f"{head}\n  {result.verdict.value}: {shown}"


def figure(result: AuditResult, rule: str | None) -> Any:
    """The report's chart of ``rule`` (default: the first finding that failed or warned, else the first)."""
    from audit.report.charts import finding_figure
    from audit.report.labels import labels_for

    document = result.to_dict()
    findings = document["findings"]
    if rule is None:
        chosen = [f for f in findings if f["status"] in ("FAIL", "WARN")] or findings
        if not chosen:
            raise UsageError("plot(): this audit has no rule findings to chart", hint="its items: see result.items")
        rule = chosen[0]["rule_id"]
    elif rule not in {f["rule_id"] for f in findings}:
        raise UsageError(
            f"plot(rule={rule!r}): no such rule in this audit",
            hint=f"its rules: {', '.join(f['rule_id'] for f in findings)}",
        )
    with labels_for(document):
        fig = finding_figure(document, rule)
    if fig is None:
        raise UsageError(f"plot(rule={rule!r}): no group could be judged, so there is nothing to chart")
    return fig
