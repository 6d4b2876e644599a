"""The result of a check that is not a group-metric rule (data requirements, score rules)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from audit.judge.status import Outcome, Status, failing_status


@dataclass(frozen=True)
class CheckItem:
    """One thing a check judged: a feature, a group, the whole data set."""

    subject: str  # what was measured, in words ("sex", "Female × Black", "all rows")
    value: float | None
    limit: float | None
    status: Outcome  # PASS | FAIL | NOT_JUDGED | WAIVED
    detail: str = ""
    features: dict[str, str] = field(default_factory=dict)  # the group's values, for waivers ({} if not a group)
    ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class CheckResult:
    check: Any  # the policy entry (a data requirement or a score rule)
    kind: str  # "data_requirement" | "score_smd"
    status: Status
    items: tuple[CheckItem, ...]
    message: str
    waivers: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return str(self.check.id)

    @property
    def severity(self) -> str:
        return str(self.check.severity)


def check_status(items: Iterable[CheckItem], severity: str) -> Status:
    """Any failing item → the severity's failing status; nothing judged → INSUFFICIENT_DATA."""
    seen = [i.status for i in items]
    if Outcome.FAIL in seen:
        return failing_status(severity)
    if not any(s in (Outcome.PASS, Outcome.WAIVED) for s in seen):
        return Status.INSUFFICIENT_DATA
    return Status.WAIVED if Outcome.WAIVED in seen else Status.PASS
