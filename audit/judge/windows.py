"""Audits over time windows: every rule per window, drift between windows, the run's verdict.

The windows come from one count table (``audit.tables.windows``); each window is judged by the
policy's rules exactly as a whole audit would be, then each drift rule compares every window with
its baseline. Which window decides the run's verdict is the policy's ``monitoring.verdict_from``:
the latest (default), the worst, or all windows pooled.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from audit.judge.drift import DriftCheck, Side, check
from audit.judge.finding import Finding
from audit.judge.rules import check_references, evaluate
from audit.judge.status import Status, verdict
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
    proxy: tuple[Any, ...] = ()  # the rules on a probabilistic feature in this window (audit.judge.proxy)

    @property
    def rows(self) -> int:
        return self.window.table.n

    @property
    def judged_drift(self) -> tuple[DriftCheck, ...]:
        """Drift checks that had a baseline (the baseline window itself has nothing to drift from)."""
        return tuple(d for d in self.drift if d.baseline is not None)

    @property
    def verdict(self) -> Status:
        """The window's own verdict: its rules (waivers applied), on a probabilistic feature too, and its
        drift checks."""
        return verdict(
            [(f.status, f.rule.severity) for f in self.findings]
            + [(p.status, p.rule.severity) for p in self.proxy]
            + [(d.status, d.rule.severity) for d in self.judged_drift]
        )


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

    def items(self) -> tuple[Any, ...]:
        """The judged items besides the main findings that decide the run's verdict and exit code: the
        latest window's drift checks, and under ``verdict_from: worst`` every window's verdict."""
        from audit.judge.core import JudgedItem

        out = [
            JudgedItem(
                "drift",
                f"{d.rule.id} ({d.window} vs {d.baseline})",
                f"Drift: {d.rule.id} ({d.window} vs {d.baseline})",
                d.status,
                d.rule.severity,
                d.message,
            )
            for d in self.latest.judged_drift
        ]
        if self.verdict_from == "worst":
            out += [
                JudgedItem(
                    "window",
                    f"window {w.window.label}",
                    f"Window {w.window.label}",
                    w.verdict,
                    "block",
                    _window_message(w),
                )
                for w in self.windows
            ]
        return tuple(out)

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
    windows: list[Window],
    *,
    policy: Any,
    monitoring: Monitoring,
    period_column: str,
    excluded_rows: int,
    has_label: bool,
    seed: int,
    launch: tuple[Scope, ...] | None = None,
    audit_date: dt.date | None = None,
) -> Monitored:
    """Judge every window by the policy's rules (with its waivers), then every drift rule against its
    baseline."""
    from audit.judge.waivers import apply, default_audit_date

    day = audit_date or default_audit_date()
    built = [
        build_scopes(w.table, intersections=policy.groups.intersections, level=policy.confidence_level, seed=seed)
        for w in windows
    ]
    check_references(policy, built)  # a window may lack the reference group; every window, a typo
    judged = []
    for w, scopes in zip(windows, built, strict=True):
        findings = tuple(evaluate(policy, scopes, has_label=has_label, seed=seed, part=True))
        findings = apply(policy, findings=findings, representation=(), checks=(), audit_date=day)[0]
        judged.append((w, scopes, findings))
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
            checks.append(
                _launch_missing(rule, current)
                if rule.baseline == "launch" and base is None
                else check(rule, current, base, policy=policy, seed=seed)
            )
        out.append(WindowAudit(w, scopes, findings, tuple(checks)))
    return Monitored(period_column, monitoring.period, monitoring.verdict_from, tuple(out), excluded_rows)


def _window_message(w: WindowAudit) -> str:
    flagged: list[Finding | DriftCheck] = [
        f for f in w.findings if f.status in (Status.FAIL, Status.WARN, Status.INSUFFICIENT_DATA)
    ]
    flagged += [d for d in w.judged_drift if d.status in (Status.FAIL, Status.WARN)]
    named = [(x.rule.id, x.status) for x in flagged]
    named += [(p.id, p.status) for p in w.proxy if p.status in (Status.FAIL, Status.WARN, Status.INSUFFICIENT_DATA)]
    if not named:
        return f"{w.rows:,} rows: every rule met."
    return f"{w.rows:,} rows: " + "; ".join(f"{name} {status.value}" for name, status in named)


def _launch_missing(rule: Any, current: Side) -> DriftCheck:
    return DriftCheck(
        rule,
        current.label,
        None,
        Status.INSUFFICIENT_DATA,
        (),
        "This rule compares with the launch audit: pass its results.json with --baseline.",
    )


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
            {
                "id": g.id,
                "scope": g.scope,
                "label": g.label,
                "n": g.n,
                "counts": dict(zip(("tn", "fp", "fn", "tp"), (int(x) for x in g.counts.reshape(4)), strict=True)),
            }
            for s in w.scopes
            for g in s.groups
        ],
        "findings": [
            {
                "rule_id": f.rule.id,
                "status": f.status.value,
                "observed": f.observed,
                "worst_group": f.worst.comparison.group.id if f.worst else None,
                "message": f.message,
            }
            for f in w.findings
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
                        "label": o.comparison.group.label,
                        "value": o.comparison.value,
                        "ci": list(o.comparison.ci) if o.comparison.ci else None,
                        "status": o.status.value,
                    }
                    for o in outs
                ],
            }
            for f in w.findings
            for d, outs in f.scopes
        ],
    }
