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
class Sensitivity:
    """A rule's figures over every assignment of the rows of unknown category (``audit.judge.unknowns``):
    each is (value, group id, scope name), the rule's headline as the judge would read it."""

    mode: str  # ignore | proportional | worst_case: what the rule was judged on
    rows: int  # the most rows of unknown value in any scope the rule covers
    worst: tuple[float, str, str] | None  # the least favourable value any group can reach
    best: tuple[float, str, str] | None  # the worst group when every group gets its most favourable assignment
    proportional: tuple[float, str, str] | None  # the worst group with the unknowns spread proportionally
    worst_fails: bool  # the worst case is outside the rule's bounds
    unbounded: tuple[tuple[str, str], ...] = ()  # (scope, why) where the unknowns could not be bounded
    sentence: str = ""


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
    unknowns: Sensitivity | None = None  # the rule's figures over the rows of unknown category

    @property
    def id(self) -> str:
        return self.rule.id

    @property
    def severity(self) -> str:
        return self.rule.severity
