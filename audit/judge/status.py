"""The one set of statuses, and the one gate that turns them into an exit code.

Every judged item — a rule, a representativeness check, a data requirement, a score rule, a drift
check, a baseline comparison — carries one ``Status``. Strings appear only at the results.json
edge (``Status.value``). Printers map statuses with tables keyed by ``Status`` and a test checks
that every member is in every table, so a new status cannot crash a printer.

Within an item, each group gets an ``Outcome`` (finer than a status: it says *why* a group passed
or not). The item's status follows from its groups' outcomes (``item_status``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
    WAIVED = "WAIVED"  # failed, but every failing group is covered by a waiver that has not expired
    INFO = "INFO"  # an info-severity item outside its bounds: shown for context, never gates


class Outcome(StrEnum):
    """One group's result within a judged item."""

    PASS = "PASS"  # within the limit
    FAIL = "FAIL"  # outside the limit (and, where the rule asks for it, significant)
    NOT_SIGNIFICANT = "NOT_SIGNIFICANT"  # outside the limit, but not statistically significant
    INCONCLUSIVE = "INCONCLUSIVE"  # a small group inside the limit whose interval crosses it; or undefined
    WAIVED = "WAIVED"  # failed, covered by a waiver
    COMPARATOR = "COMPARATOR"  # the group the others are compared with
    NOT_JUDGED = "NOT_JUDGED"  # unknown value, or excluded by the policy (under a share of the data)


#: Worst first: the verdict over several items is the first of these that occurs.
VERDICT_ORDER = (Status.FAIL, Status.WARN, Status.INSUFFICIENT_DATA, Status.PASS)

SEVERITIES = ("block", "warn", "info")


def failing_status(severity: str) -> Status:
    """The status of an item whose limit was crossed, by its severity (info stays INFO everywhere)."""
    return {"block": Status.FAIL, "warn": Status.WARN, "info": Status.INFO}[severity]


def softened(severity: str) -> Status:
    """The status of an item whose limit was crossed on evidence too weak to fail it: a small group
    outside the limit without statistical significance (29 CFR § 1607.4(D)) — a warning, or INFO
    for an info-severity item."""
    return Status.INFO if severity == "info" else Status.WARN


def gates(status: Status, severity: str) -> bool:
    """Whether an item with this status and severity can move the verdict (info items never do)."""
    return severity != "info" and status in VERDICT_ORDER


def verdict(items: Iterable[tuple[Status, str]]) -> Status:
    """FAIL > WARN > INSUFFICIENT_DATA > PASS over (status, severity) pairs; WAIVED and INFO count as
    PASS and info-severity items never count."""
    seen = {s for s, severity in items if gates(s, severity)}
    return next(s for s in VERDICT_ORDER if s in seen or s is Status.PASS)


def fails_gate(status: Status, severity: str, *, fail_on: str = "fail", strict: bool = False) -> bool:
    """The release gate for one item: FAIL always; WARN under ``--fail-on warn``; INSUFFICIENT_DATA
    under ``--strict``. Info-severity items, WAIVED and INFO never fail it."""
    if severity == "info":
        return False
    if status is Status.FAIL:
        return True
    if status is Status.WARN:
        return fail_on == "warn"
    if status is Status.INSUFFICIENT_DATA:
        return strict
    return False


def gate(items: Iterable[tuple[Status, str]], *, fail_on: str = "fail", strict: bool = False) -> int:
    """The exit code of a completed audit: 1 when any item fails the gate, else 0."""
    return 1 if any(fails_gate(s, sev, fail_on=fail_on, strict=strict) for s, sev in items) else 0


def item_status(outcomes: Iterable[Outcome], *, severity: str, small_softened: bool, has_unanswered: bool) -> Status:
    """An item's status from its groups' outcomes.

    Any FAIL → the severity's failing status; a group outside the limit without significance →
    WARN when that group was judged on small numbers (``small_softened``), else no effect; any
    inconclusive group, or a scope where nothing could be compared (``has_unanswered``) →
    INSUFFICIENT_DATA; a rule that judged nobody is INSUFFICIENT_DATA, never PASS.
    """
    seen = list(outcomes)
    if Outcome.FAIL in seen:
        return failing_status(severity)
    if small_softened:
        return softened(severity)
    judged = [o for o in seen if o in (Outcome.PASS, Outcome.NOT_SIGNIFICANT, Outcome.WAIVED)]
    if has_unanswered or Outcome.INCONCLUSIVE in seen or not judged:
        return Status.INSUFFICIENT_DATA
    return Status.PASS
