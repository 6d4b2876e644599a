"""Rules within segments (the policy's ``segment_by``): every rule per segment, and for selection-rate
rules the segmented adverse impact ratio pooled over the segments.

The segments are evidence beside the pooled verdict, which they do not change: each segment is judged by
the policy's rules exactly as a whole audit would be (its own comparator, its own groups), and each group a
pooled selection-rate rule compared with its comparator is compared again within every segment and pooled
by Mantel–Haenszel (``audit.measures.stratified``), the way fair-lending reviews test within score bands,
products or regions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from audit.judge.finding import Finding
from audit.judge.rules import evaluate
from audit.measures.groups import Group, Scope, build_scopes
from audit.measures.stratified import Stratified, Table, mantel_haenszel
from audit.policy.schema import Policy
from audit.tables.groups import GroupTable
from audit.tables.segments import split_segments

SELECTION = "selection_rate"


@dataclass(frozen=True)
class SegmentAudit:
    segment: dict[str, str]
    scopes: tuple[Scope, ...]
    findings: tuple[Finding, ...]

    @property
    def rows(self) -> int:
        return sum(g.n for s in self.scopes if not s.features for g in s.groups)

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.segment.items())


@dataclass(frozen=True)
class Stratum:
    segment: dict[str, str]
    group: tuple[int, int]  # selected, rows
    comparator: tuple[int, int]

    @property
    def ratio(self) -> float | None:
        (k1, n1), (k2, n2) = self.group, self.comparator
        if n1 == 0 or n2 == 0 or k2 == 0:
            return None
        return (k1 / n1) / (k2 / n2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": dict(self.segment),
            "selected": self.group[0],
            "n": self.group[1],
            "comparator_selected": self.comparator[0],
            "comparator_n": self.comparator[1],
            "ratio": self.ratio,
        }


@dataclass(frozen=True)
class SegmentedRatio:
    """One group's selection rate against its pooled comparator, segment by segment and pooled."""

    rule_id: str
    scope: str
    group: Group
    comparator: Group
    pooled_ratio: float | None
    strata: tuple[Stratum, ...]
    stratified: Stratified

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "scope": self.scope,
            "group": self.group.id,
            "comparator": self.comparator.id,
            "pooled_ratio": self.pooled_ratio,
            "segments": [s.to_dict() for s in self.strata],
            **self.stratified.to_dict(),
        }


@dataclass(frozen=True)
class Segmented:
    columns: tuple[str, ...]
    segments: tuple[SegmentAudit, ...]
    ratios: tuple[SegmentedRatio, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "segments": [_segment_doc(s) for s in self.segments],
            "selection_rate": [r.to_dict() for r in self.ratios],
        }


def audit_segments(
    table: GroupTable,
    *,
    policy: Policy,
    pooled: Sequence[Finding],
    has_label: bool,
    seed: int,
    audit_date: dt.date,
    scoring: bool = False,
    segment_by: Sequence[str] | None = None,
) -> Segmented:
    """``table`` counts the sensitive features and the policy's ``segment_by`` columns (last); ``pooled``
    are the pooled audit's findings, whose selection-rate comparisons are pooled over the segments.
    ``segment_by`` (default: the policy's) also names derived segments such as the score band."""
    from audit.judge.waivers import apply

    segments = []
    columns = tuple(policy.segment_by if segment_by is None else segment_by)
    for segment, sub in split_segments(table, columns):
        scopes = build_scopes(sub, intersections=policy.groups.intersections, level=policy.confidence_level, seed=seed)
        findings = tuple(evaluate(policy, scopes, has_label=has_label, seed=seed, scoring=scoring, part=True))
        findings = apply(policy, findings=findings, representation=(), checks=(), audit_date=audit_date)[0]
        segments.append(SegmentAudit(segment, scopes, findings))
    ratios = _selection_ratios(pooled, segments, level=policy.confidence_level)
    return Segmented(columns, tuple(segments), ratios)


def _selection_ratios(
    pooled: Sequence[Finding], segments: Sequence[SegmentAudit], *, level: float
) -> tuple[SegmentedRatio, ...]:
    out = []
    for finding in pooled:
        for d, _ in finding.scopes:
            if d.metric != SELECTION or d.comparator is None:
                continue
            for c in d.comparisons:
                if not c.judged or c.group.id == d.comparator.id:
                    continue
                strata = tuple(
                    Stratum(
                        s.segment, _selected(s, d.scope.name, c.group.id), _selected(s, d.scope.name, d.comparator.id)
                    )
                    for s in segments
                )
                tables: list[Table] = [
                    (k1, n1 - k1, k2, n2 - k2) for st in strata for (k1, n1), (k2, n2) in [(st.group, st.comparator)]
                ]
                out.append(
                    SegmentedRatio(
                        finding.rule.id,
                        d.scope.name,
                        c.group,
                        d.comparator,
                        c.value,
                        strata,
                        mantel_haenszel(tables, level=level),
                    )
                )
    return tuple(out)


def _selected(segment: SegmentAudit, scope: str, group: str) -> tuple[int, int]:
    """A group's selected rows and rows within ``segment`` (0, 0 when it has none there)."""
    for s in segment.scopes:
        if s.name == scope:
            for g in s.groups:
                if g.id == group:
                    return int(g.counts[:, 1].sum()), int(g.counts.sum())
    return 0, 0


def _segment_doc(s: SegmentAudit) -> dict[str, Any]:
    return {
        "segment": dict(s.segment),
        "rows": s.rows,
        "groups": [
            {
                "id": g.id,
                "scope": g.scope,
                "label": g.label,
                "n": g.n,
                "counts": dict(zip(("tn", "fp", "fn", "tp"), (int(x) for x in g.counts.reshape(4)), strict=True)),
            }
            for sc in s.scopes
            for g in sc.groups
        ],
        "findings": [
            {
                "rule_id": f.rule.id,
                "status": f.status.value,
                "observed": f.observed,
                "worst_group": f.worst.comparison.group.id if f.worst else None,
                "message": f.message,
            }
            for f in s.findings
        ],
        "disparities": [
            {
                "rule_id": f.rule.id,
                "metric": d.metric,
                "scope": d.scope.name,
                "comparator": d.comparator.id if d.comparator else None,
                "groups": [
                    {
                        "group": o.comparison.group.id,
                        "metric_value": o.comparison.group.metrics[d.metric].value,
                        "value": o.comparison.value,
                        "ci": list(o.comparison.ci) if o.comparison.ci else None,
                        "status": o.status.value,
                    }
                    for o in outs
                ],
            }
            for f in s.findings
            for d, outs in f.scopes
        ],
    }
