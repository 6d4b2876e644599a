"""Does the audited sample look like the population it should represent?

For one sensitive feature: each group's observed share of the rows with a known value against
its expected share in a reference population (a census, an applicant pool), the representation
ratio (observed / expected) with a Wilson interval (the reference is treated as known: a census
is a count, not a sample), Pearson's χ² goodness-of-fit test and the total variation distance.

The policy's ``mapping`` says which reference group(s) each data value belongs to. Several data values may
map to one reference group (their rows are added up), and one data value may map to several reference
groups (COMPAS's "Other" covers the census's Asian, Native Hawaiian and Other Pacific Islander, and Some
Other Race groups): the data cannot split its rows among them, so those reference groups are compared as
one group (their shares added up) with every data value mapped to any of them. Merging is transitive: the
compared groups are the connected parts of the mapping, read from the policy alone, so they do not depend
on which values the sample happens to hold. A data value with no mapping entry matches the reference group
of the same name. Data values that match no reference group are left out of the test (``unmapped``);
reference groups no data value in the data maps to stay in the test with no rows (the data cannot represent
them) and are listed (``unmatched_reference``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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
    def mapping(self) -> Mapping[str, str | Sequence[str]]: ...

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
    group: str  # compared group: a reference group's name, or merged ones joined by " + "
    data_values: tuple[str, ...]  # data levels mapped to it
    count: int
    observed: float
    expected: float
    ratio: float
    ratio_ci: tuple[float, float]
    gap: float  # observed − expected
    status: str | None = None  # set by the judge: an audit.judge.status.Outcome
    reference_groups: tuple[str, ...] = ()  # the reference groups compared as this one (in the reference's order)


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
    unmatched_reference: tuple[str, ...] = ()  # reference groups no data value in the data maps to


def targets(check: Representativeness, value: str) -> tuple[str, ...]:
    """The reference groups a data value maps to (itself when the mapping does not name it)."""
    target = check.mapping.get(value, value)
    return (target,) if isinstance(target, str) else tuple(target)


def compared_groups(check: Representativeness, reference: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each reference group → the reference groups it is compared together with (one entry per member), by
    joining the groups each mapping entry names together (union–find, in the reference's order)."""
    parent = {g: g for g in reference}

    def root(g: str) -> str:
        while parent[g] != g:
            g = parent[g]
        return g

    order = {g: i for i, g in enumerate(reference)}
    for target in check.mapping.values():
        names = [t for t in ((target,) if isinstance(target, str) else target) if t in parent]
        for other in names[1:]:
            a, b = sorted((root(names[0]), root(other)), key=order.__getitem__)
            parent[b] = a
    members: dict[str, list[str]] = {}
    for g in reference:
        members.setdefault(root(g), []).append(g)
    return {g: tuple(members[root(g)]) for g in reference}


def assess(check: Representativeness, scope: Scope, *, level: float) -> Representation:
    shares = check.reference.shares or {}
    total_share = sum(shares.values())
    merged = compared_groups(check, list(shares))
    expected: dict[str, float] = {}
    parts: dict[str, tuple[str, ...]] = {}
    for members in merged.values():
        name = " + ".join(members)
        if name not in expected:
            expected[name] = sum(shares[m] for m in members) / total_share
            parts[name] = members
    counts: dict[str, int] = dict.fromkeys(expected, 0)
    values: dict[str, list[str]] = {g: [] for g in expected}
    matched: set[str] = set()
    unmapped: dict[str, int] = {}
    unknown = 0
    for group in scope.groups:
        value = group.label
        if group.has_unknown:
            unknown += group.n
            continue
        names = [t for t in targets(check, value) if t in merged]
        if names:
            target = " + ".join(merged[names[0]])
            counts[target] += group.n
            values[target].append(value)
            matched.update(names)
        else:
            unmapped[value] = group.n
    unmatched = tuple(g for g in shares if g not in matched)
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
            f"({', '.join(list(shares)[:4])} …): check `mapping`.",
            unmatched,
        )
    rows = []
    for g, e in expected.items():
        k = counts[g]
        lo, hi = wilson(k, n, level=level)
        ratio = (k / n) / e
        rows.append(
            GroupShare(g, tuple(values[g]), k, k / n, e, ratio, (lo / e, hi / e), k / n - e, reference_groups=parts[g])
        )
    from scipy.stats import chisquare  # here, not at the top: a slow import that most audits never need

    test = chisquare([r.count for r in rows], [r.expected * n for r in rows])
    tvd = 0.5 * sum(abs(r.gap) for r in rows)
    return Representation(
        check, n, tuple(rows), unmapped, unknown, float(test.statistic), float(test.pvalue), tvd, None, "", unmatched
    )


def coverage_text(r: Representation) -> str:
    """What the mapping leaves out, in sentences (empty when every value and reference group is matched)."""
    parts = []
    if r.unmapped:
        parts.append(
            " Data values with no reference group, left out: "
            + ", ".join(f"{k} ({v:,} rows)" for k, v in sorted(r.unmapped.items()))
            + "."
        )
    if r.unmatched_reference:
        parts.append(" Reference groups no data value maps to (0 rows): " + "; ".join(r.unmatched_reference) + ".")
    return "".join(parts)


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
