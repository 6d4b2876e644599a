"""Does the audited sample look like the population it should represent?

For one sensitive feature: each group's observed share of the rows with a known value against
its expected share in a reference population (a census, an applicant pool), the representation
ratio (observed / expected) with a Wilson interval (the reference is treated as known: a census
is a count, not a sample), Pearson's χ² goodness-of-fit test and the total variation distance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from scipy.stats import chisquare

from audit.measures.groups import Scope
from audit.measures.intervals import wilson
from audit.measures.significance import p_text


class Representativeness(Protocol):
    """A policy's representativeness check, as this module reads it (``audit.policy.schema.Representativeness``
    is one): named here so that measures do not import the policy, which is validated against them. Read-only
    properties, as the frozen policy model's fields are."""

    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def feature(self) -> str: ...

    @property
    def reference(self) -> Any: ...  # .shares: {group: share} (or None), .source: str

    @property
    def mapping(self) -> Mapping[str, str]: ...

    @property
    def min_representation_ratio(self) -> float | None: ...

    @property
    def max_share_gap(self) -> float | None: ...

    @property
    def severity(self) -> Any: ...

    @property
    def explanation(self) -> str: ...

    @property
    def citation(self) -> str: ...


@dataclass(frozen=True)
class GroupShare:
    group: str  # reference group name
    data_values: tuple[str, ...]  # data levels mapped to it
    count: int
    observed: float
    expected: float
    ratio: float
    ratio_ci: tuple[float, float]
    gap: float  # observed − expected
    status: str | None = None  # set by the judge: an audit.judge.status.Outcome


@dataclass(frozen=True)
class Representation:
    check: Representativeness
    n: int  # rows with a known value that map to a reference group
    groups: tuple[GroupShare, ...]
    unmapped: dict[str, int]  # data values with no reference group (not in the test)
    unknown: int
    chi2: float | None
    p_value: float | None
    tvd: float
    status: str | None = None  # set by the judge: an audit.judge.status.Status
    message: str = ""


def assess(check: Representativeness, scope: Scope, *, level: float) -> Representation:
    shares = check.reference.shares or {}
    total_share = sum(shares.values())
    expected = {g: s / total_share for g, s in shares.items()}
    counts: dict[str, int] = dict.fromkeys(expected, 0)
    members: dict[str, list[str]] = {g: [] for g in expected}
    unmapped: dict[str, int] = {}
    unknown = 0
    for group in scope.groups:
        value = group.label
        if group.has_unknown:
            unknown += group.n
            continue
        target = check.mapping.get(value, value)
        if target in counts:
            counts[target] += group.n
            members[target].append(value)
        else:
            unmapped[value] = group.n
    n = sum(counts.values())
    if n == 0:
        return Representation(
            check,
            0,
            (),
            unmapped,
            unknown,
            None,
            None,
            0.0,
            None,
            f"No row of {check.feature} matches the reference groups "
            f"({', '.join(list(expected)[:4])} …): check `mapping`.",
        )
    rows = []
    for g, e in expected.items():
        k = counts[g]
        lo, hi = wilson(k, n, level=level)
        ratio = (k / n) / e
        rows.append(GroupShare(g, tuple(members[g]), k, k / n, e, ratio, (lo / e, hi / e), k / n - e))
    test = chisquare([r.count for r in rows], [r.expected * n for r in rows])
    tvd = 0.5 * sum(abs(r.gap) for r in rows)
    return Representation(check, n, tuple(rows), unmapped, unknown, float(test.statistic), float(test.pvalue), tvd)


def message(check: Representativeness, rows, failing, n: int, tvd: float, p: float, level: float) -> str:
    source = f" ({check.reference.source})" if check.reference.source else ""
    if failing:
        worst = min(failing, key=lambda r: r.ratio)
        head = (
            f"{worst.group} makes up {worst.observed:.1%} of the {n:,} rows with a known {check.feature} "
            f"but {worst.expected:.1%} of the reference population{source}: a representation ratio of "
            f"{worst.ratio:.2f} ({level:.0%} CI {worst.ratio_ci[0]:.2f}–{worst.ratio_ci[1]:.2f})"
        )
        others = len(failing) - 1
        more = f"; {others} other group{' is' if others == 1 else 's are'} also outside the limits" if others else ""
        return f"{head}{more}. Total variation distance {tvd:.3f}; χ² goodness-of-fit {_p(p)}."
    return (
        f"Every {check.feature} group is within the limits against the reference population{source}; "
        f"total variation distance {tvd:.3f}, χ² goodness-of-fit {_p(p)}."
    )


def _p(p: float) -> str:
    return p_text(p)
