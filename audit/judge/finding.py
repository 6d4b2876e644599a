"""A judged rule: each group's outcome and the rule's finding (the types the judging and its
sentences share)."""

from __future__ import annotations

from dataclasses import dataclass, field

from audit.judge.status import Outcome, Status
from audit.measures.disparities import Comparison, ScopeDisparity
from audit.policy.schema import Rule


@dataclass(frozen=True)
class GroupOutcome:
    comparison: Comparison
    status: Outcome
    note: str | None = None  # how the decision was reached when it is not the plain rule
    #: a selection-rate ratio below the rule's min_value: how many more favourable decisions the group
    #: needs to reach the limit, and to reach parity with the comparator (``rules.shortfall``)
    shortfall: Shortfall | None = None


@dataclass(frozen=True)
class Shortfall:
    to_limit: int
    to_parity: int


@dataclass(frozen=True)
class Finding:
    rule: Rule
    status: Status
    observed: float | None
    worst: GroupOutcome | None
    scopes: tuple[tuple[ScopeDisparity, tuple[GroupOutcome, ...]], ...]
    message: str
    not_judged: int = 0
    failing: tuple[GroupOutcome, ...] = field(default=())
    parts: tuple[Finding, ...] = ()  # a multi-metric rule: one finding per metric
    waivers: tuple[str, ...] = ()  # sentences about the waivers that applied or expired
    scoring: bool = False  # decisions are scores above the median: LL144's "scoring rate"

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def severity(self) -> str:
        return self.rule.severity
