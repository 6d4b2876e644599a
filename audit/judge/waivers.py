"""Waivers: approved, dated exceptions that turn a failing rule (or group) into WAIVED.

A waiver applies while the audit date is on or before its ``expires`` date. It names a rule id and,
optionally, one group — its label (``Female``, ``Female × Black``) or ``feature=value`` pairs joined
by ``&`` (``sex=Female&race=Black``). A waived group no longer fails its rule; a rule all of whose
failing groups are waived is WAIVED, which never fails the gate. An expired waiver changes nothing,
and the finding says that it expired. The audit date is explicit (``--audit-date``, else the day of
``SOURCE_DATE_EPOCH``, else today in UTC) and recorded in the evidence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from audit.judge.finding import Finding
from audit.judge.rules import combine, conclude
from audit.judge.status import Outcome, Status
from audit.policy.schema import Policy, Waiver

_WAIVABLE = (Status.FAIL, Status.WARN)


def default_audit_date() -> dt.date:
    """The day of ``SOURCE_DATE_EPOCH`` when set (reproducible runs), else today in UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.datetime.now(dt.UTC).date()


def uses_audit_date(policy: Policy) -> bool:
    return bool(policy.waivers) or any(r.check == "timestamp_age" for r in policy.data_requirements)


@dataclass(frozen=True)
class WaiverRecord:
    waiver: Waiver
    state: str  # "applied" | "expired" | "not needed"
    groups: tuple[str, ...]  # the groups (or items) it waived

    def to_dict(self) -> dict[str, Any]:
        w = self.waiver
        return {
            "rule": w.rule,
            "group": w.group,
            "reason": w.reason,
            "approved_by": w.approved_by,
            "expires": w.expires.isoformat(),
            "state": self.state,
            "waived": list(self.groups),
        }


def expired(policy: Policy, audit_date: dt.date) -> list[tuple[int, Waiver]]:
    return [(i, w) for i, w in enumerate(policy.waivers) if w.expires < audit_date]


def check_not_expired(loaded: Any, as_of: str | dt.date | None) -> None:
    """For `policy validate`: an expired waiver is a mistake to fix (a run only reports it)."""
    from audit.errors import PolicyError, UsageError
    from audit.policy.load import waiver_line

    try:
        day = as_of if isinstance(as_of, dt.date) else (dt.date.fromisoformat(as_of) if as_of else default_audit_date())
    except ValueError:
        raise UsageError(
            f"--as-of must be a date YYYY-MM-DD, not {as_of!r}",
            hint="e.g. --as-of 2024-03-31 (a real calendar day); leave it out for today",
        ) from None
    for i, w in expired(loaded.policy, day):
        raise PolicyError(
            f"{waiver_line(loaded, i)}: waivers.{i}.expires: the waiver for rule {w.rule!r} expired on "
            f"{w.expires.isoformat()} (as of {day.isoformat()})",
            hint="renew it with a new approval and expiry date, or remove it; `fairgate run` ignores it and says so",
        )


def _matches(spec: str | None, features: dict[str, str], names: tuple[str, ...]) -> bool:
    if spec is None:
        return True
    if "=" in spec:
        wanted = dict(part.split("=", 1) for part in spec.split("&"))
        return {k.strip(): v.strip() for k, v in wanted.items()} == dict(features)
    return spec.strip() in names


def _sentence(w: Waiver, what: str) -> str:
    return f"Waived ({what}) until {w.expires.isoformat()}, approved by {w.approved_by}: {w.reason}"


def _expired_sentence(w: Waiver, audit_date: dt.date) -> str:
    what = f"group {w.group}" if w.group else "the whole rule"
    return (
        f"A waiver for {what} expired on {w.expires.isoformat()} (audit date {audit_date.isoformat()}) "
        "and no longer applies."
    )


def apply(
    policy: Policy,
    *,
    findings: tuple[Finding, ...],
    representation: tuple[Any, ...],
    checks: tuple[Any, ...],
    audit_date: dt.date,
    judged_elsewhere: Callable[[Waiver], bool] | None = None,
) -> tuple[tuple[Finding, ...], tuple[Any, ...], tuple[Any, ...], tuple[WaiverRecord, ...]]:
    """Findings, representation results and checks with waivers applied, and what each waiver did.

    ``judged_elsewhere(w)``: whether waiver ``w``'s group is one the audit judges outside these findings
    (a group of a probabilistic feature, audit.judge.proxy): such a waiver is not reported as naming no
    group here, since it does its work there."""
    records: list[WaiverRecord] = []
    by_rule: dict[str, list[Waiver]] = {}
    for w in policy.waivers:
        by_rule.setdefault(w.rule, []).append(w)
    out_f = []
    for f in findings:
        f, recs = _waive_finding(
            f, by_rule.get(f.rule.id, []), audit_date, level=policy.confidence_level, elsewhere=judged_elsewhere
        )
        out_f.append(f)
        records += recs
    out_r = []
    for r in representation:
        r, recs = _waive_representation(r, by_rule.get(r.check.id, []), audit_date)
        out_r.append(r)
        records += recs
    out_c = []
    for c in checks:
        c, recs = _waive_check(c, by_rule.get(c.id, []), audit_date)
        out_c.append(c)
        records += recs
    order = {id(w): i for i, w in enumerate(policy.waivers)}
    records.sort(key=lambda r: order[id(r.waiver)])
    return tuple(out_f), tuple(out_r), tuple(out_c), tuple(records)


def _split(waivers: list[Waiver], audit_date: dt.date) -> tuple[list[Waiver], list[Waiver]]:
    return [w for w in waivers if w.expires >= audit_date], [w for w in waivers if w.expires < audit_date]


def _status_after(status: Status, remaining_failing: int, waived_any: bool) -> Status:
    if status in _WAIVABLE and waived_any and remaining_failing == 0:
        return Status.WAIVED
    return status


def _failed(item: Any) -> bool:
    """A group that makes its item fail or warn: outside the limit (a small group outside the limit
    without significance warns, so a waiver covers it too)."""
    if item.status == Outcome.FAIL:
        return True
    comparison = getattr(item, "comparison", None)
    return item.status == Outcome.NOT_SIGNIFICANT and comparison is not None and comparison.small


def _waive(
    items: list[Any],
    active: list[Waiver],
    *,
    status: Status,
    features: Any,
    names: Any,
    label: Any,
    waive: Any,
    seen: set[int] | None = None,
) -> tuple[list[Any], int, dict[int, list[str]]]:
    """Mark every failing item that an active waiver matches as WAIVED (only when the item's own status
    is FAIL or WARN). Returns the items, how many still fail, and what each waiver waived; ``seen``
    collects the waivers that matched any item at all (a waiver that matches none names no group)."""
    used: dict[int, list[str]] = {id(w): [] for w in active}
    out, failing = [], 0
    for item in items:
        if seen is not None:
            seen.update(id(w) for w in active if _matches(w.group, features(item), names(item)))
        hit = next((w for w in active if _matches(w.group, features(item), names(item))), None)
        if _failed(item) and hit is not None and status in _WAIVABLE:
            used[id(hit)].append(label(item))
            item = waive(item, hit)
        elif _failed(item):
            failing += 1
        out.append(item)
    return out, failing, used


def _outcome(
    active: list[Waiver],
    old: list[Waiver],
    used: dict[int, list[str]],
    audit_date: dt.date,
    whole: str,
    part: Any,
    seen: set[int],
    elsewhere: Callable[[Waiver], bool] | None = None,
) -> tuple[list[str], list[WaiverRecord]]:
    """The sentences for the finding and the record of what each waiver (expired or not) did."""
    notes = [_expired_sentence(w, audit_date) for w in old]
    records = [WaiverRecord(w, "expired", ()) for w in old]
    for w in active:
        groups = tuple(used[id(w)])
        if groups:
            state = "applied"
            notes.append(_sentence(w, whole if w.group is None else part(w.group)) + ".")
        elif w.group is not None and id(w) not in seen and not (elsewhere is not None and elsewhere(w)):
            state = "no such group"  # a typo must not read as "this group passed"
            notes.append(
                f"A waiver names group {w.group!r}, which is not among the groups this rule judged; it waived nothing."
            )
        else:
            state = "not needed"
        records.append(WaiverRecord(w, state, groups))
    return notes, records


def _waive_finding(
    f: Finding,
    waivers: list[Waiver],
    audit_date: dt.date,
    *,
    level: float,
    elsewhere: Callable[[Waiver], bool] | None = None,
) -> tuple[Finding, list[WaiverRecord]]:
    if not waivers:
        return f, []
    active, old = _split(waivers, audit_date)
    used: dict[int, list[str]] = {id(w): [] for w in active}
    seen: set[int] = set()

    def waive_part(part: Finding) -> Finding:
        scopes = []
        for disparity, outcomes in part.scopes:
            new, _, scope_used = _waive(
                list(outcomes),
                active,
                status=part.status,
                features=lambda o: o.comparison.group.features,
                names=lambda o: (o.comparison.group.label, o.comparison.group.id),
                label=lambda o: o.comparison.group.id,
                waive=lambda o, w: dataclasses.replace(
                    o, status=Outcome.WAIVED, note=_sentence(w, f"group {o.comparison.group.label}")
                ),
                seen=seen,
            )
            for key, groups in scope_used.items():
                used[key] += groups
            scopes.append((disparity, tuple(new)))
        # status, headline group and sentence again: the headline names a group that still fails
        return conclude(dataclasses.replace(part, scopes=tuple(scopes)), level=level)

    updated = combine(f.rule, tuple(waive_part(p) for p in f.parts)) if f.parts else waive_part(f)
    notes, records = _outcome(active, old, used, audit_date, "whole rule", lambda g: f"group {g}", seen, elsewhere)
    message = " ".join([updated.message, *notes]) if notes else updated.message
    return dataclasses.replace(updated, message=message, waivers=tuple(notes)), records


def _waive_representation(r: Any, waivers: list[Waiver], audit_date: dt.date) -> tuple[Any, list[WaiverRecord]]:
    if not waivers:
        return r, []
    active, old = _split(waivers, audit_date)
    seen: set[int] = set()
    groups, failing, used = _waive(
        list(r.groups),
        active,
        status=r.status,
        features=lambda g: {r.check.feature: g.group},
        names=lambda g: (g.group, *g.data_values),
        label=lambda g: g.group,
        waive=lambda g, _w: dataclasses.replace(g, status=Outcome.WAIVED),
        seen=seen,
    )
    notes, records = _outcome(active, old, used, audit_date, "whole check", lambda g: f"group {g}", seen)
    status = _status_after(Status(r.status), failing, any(used.values()))
    message = " ".join([r.message, *notes]) if notes else r.message
    return dataclasses.replace(r, groups=tuple(groups), status=status, message=message), records


def _waive_check(c: Any, waivers: list[Waiver], audit_date: dt.date) -> tuple[Any, list[WaiverRecord]]:
    if not waivers:
        return c, []
    active, old = _split(waivers, audit_date)

    def label(item: Any) -> str:
        return " × ".join(item.features.values()) if item.features else item.subject

    seen: set[int] = set()
    items, failing, used = _waive(
        list(c.items),
        active,
        status=c.status,
        features=lambda i: i.features,
        names=lambda i: (label(i), i.subject),
        label=lambda i: i.subject,
        waive=lambda i, _w: dataclasses.replace(i, status=Outcome.WAIVED),
        seen=seen,
    )
    notes, records = _outcome(active, old, used, audit_date, "whole requirement", str, seen)
    status = _status_after(c.status, failing, any(used.values()))
    message = " ".join([c.message, *notes]) if notes else c.message
    return dataclasses.replace(c, items=tuple(items), status=status, message=message, waivers=tuple(notes)), records
