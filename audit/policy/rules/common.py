"""The result of a check that is not a group-metric rule (data requirements, score rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckItem:
    """One thing a check judged: a feature, a group, the whole data set."""

    subject: str  # what was measured, in words ("sex", "Female × Black", "all rows")
    value: float | None
    limit: float | None
    status: str  # PASS | FAIL | NOT_JUDGED | WAIVED
    detail: str = ""
    features: dict[str, str] = field(default_factory=dict)  # the group's values, for waivers ({} if not a group)
    ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class CheckResult:
    check: Any  # the policy entry (a data requirement or a score rule)
    kind: str  # "data_requirement" | "score_smd"
    status: str  # PASS | WARN | FAIL | INFO | INSUFFICIENT_DATA | WAIVED
    items: tuple[CheckItem, ...]
    message: str
    waivers: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return str(self.check.id)

    @property
    def severity(self) -> str:
        return str(self.check.severity)
