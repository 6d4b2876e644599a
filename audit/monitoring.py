"""Audits over time windows: every rule per window, drift between windows, the run's verdict.

The windows come from one count table (``audit.tables.windows``); each window is judged by the
policy's rules exactly as a whole audit would be, then each drift rule compares every window with
its baseline. Which window decides the run's verdict is the policy's ``monitoring.verdict_from``:
the latest (default), the worst, or all windows pooled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit.findings import Finding, Status, evaluate, verdict
from audit.measures.drift import DriftCheck, Side, check
from audit.measures.groups import Scope, build_scopes
from audit.policy.monitoring import Monitoring
from audit.tables.groups import GroupTable
from audit.tables.windows import Window


@dataclass(frozen=True)
class WindowAudit:
    window: Window
    scopes: tuple[Scope, ...]
    findings: tuple[Finding, ...]
    drift: tuple[DriftCheck, ...]

    @property
    def rows(self) -> int:
        return self.window.table.n

    @property
    def judged_drift(self) -> tuple[DriftCheck, ...]:
        """Drift checks that had a baseline (the baseline window itself has nothing to drift from)."""
        return tuple(d for d in self.drift if d.baseline is not None)

    @property
    def verdict(self) -> Status:
        gated = [f for f in self.findings if f.rule.severity != "info"]  # info rules never move a verdict
        return verdict(gated, tuple(d.status for d in self.judged_drift))


@dataclass(frozen=True)
class Monitored:
    period_column: str
    period: str
    verdict_from: str
    windows: tuple[WindowAudit, ...]
    excluded_rows: int  # rows without a time (not in any window)

    @property
    def latest(self) -> WindowAudit:
        return self.windows[-1]

    def statuses(self) -> tuple[str, ...]:
        """The statuses besides the main findings that decide the run's verdict and exit code."""
        if self.verdict_from == "worst":
            return tuple(w.verdict.value for w in self.windows)
        return tuple(d.status for d in self.latest.judged_drift)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period_column": self.period_column,
            "period": self.period,
            "verdict_from": self.verdict_from,
            "rows_without_time": self.excluded_rows,
            "windows": [_window_doc(w) for w in self.windows],
            "drift": [d.to_dict() for w in self.windows for d in w.drift],
        }


def audit_windows(
    windows: list[Window], *, policy: Any, monitoring: Monitoring, period_column: str, excluded_rows: int,
    has_label: bool, seed: int, launch: tuple[Scope, ...] | None = None,
) -> Monitored:
    """Judge every window by the policy's rules, then every drift rule against its baseline."""
    judged = []
    for w in windows:
        scopes = build_scopes(w.table, intersections=policy.groups.intersections, level=policy.confidence_level,
                              seed=seed)
        judged.append((w, scopes, tuple(evaluate(policy, scopes, has_label=has_label, seed=seed))))
    launch_side = None
    if launch is not None:
        launch_side = Side("launch", launch, tuple(evaluate(policy, launch, has_label=has_label, seed=seed)))
    out = []
    for i, (w, scopes, findings) in enumerate(judged):
        current = Side(w.label, scopes, findings)
        checks = []
        for rule in monitoring.drift:
            if rule.baseline == "launch":
                base = launch_side
            elif i == 0:
                base = None
            else:
                b = judged[0] if rule.baseline == "first" else judged[i - 1]
                base = Side(b[0].label, b[1], b[2])
            checks.append(_launch_missing(rule, current) if rule.baseline == "launch" and base is None
                          else check(rule, current, base, policy=policy, seed=seed))
        out.append(WindowAudit(w, scopes, findings, tuple(checks)))
    return Monitored(period_column, monitoring.period, monitoring.verdict_from, tuple(out), excluded_rows)


def _launch_missing(rule: Any, current: Side) -> DriftCheck:
    return DriftCheck(rule, current.label, None, "INSUFFICIENT_DATA", (),
                      "This rule compares with the launch audit: pass its results.json with --baseline.")


def verdict_table(windows: list[Window], full: GroupTable, verdict_from: str) -> GroupTable:
    """The table whose groups the run's main findings and report tables describe."""
    return full if verdict_from == "pooled" else windows[-1].table


def _window_doc(w: WindowAudit) -> dict[str, Any]:
    return {
        "label": w.window.label,
        "start": w.window.start,
        "end": w.window.end,
        "rows": w.rows,
        "verdict": w.verdict.value,
        "groups": [
            {"id": g.id, "scope": g.scope, "label": g.label, "n": g.n,
             "counts": dict(zip(("tn", "fp", "fn", "tp"), (int(x) for x in g.counts.reshape(4)), strict=True))}
            for s in w.scopes for g in s.groups
        ],
        "findings": [
            {"rule_id": f.rule.id, "status": f.status.value, "observed": f.observed,
             "worst_group": f.worst.comparison.group.id if f.worst else None, "message": f.message}
            for f in w.findings
        ],
        "disparities": [
            {"rule_id": f.rule.id, "metric": d.metric, "scope": d.scope.name,
             "comparator": d.comparator.id if d.comparator else None,
             "groups": [{"group": o.comparison.group.id, "label": o.comparison.group.label,
                         "value": o.comparison.value, "ci": list(o.comparison.ci) if o.comparison.ci else None,
                         "status": o.status} for o in outs]}
            for f in w.findings for d, outs in f.scopes
        ],
    }
