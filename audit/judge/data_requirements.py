"""Judge data requirements: completeness, group sizes, label balance, duplicates and age of the data.

Engine-free: every input is a count — the ``DataQuality`` summary from ``audit.tables.quality``
and the group counts of the scopes — so the same judgement follows from any counting engine.
"""

from __future__ import annotations

import datetime as dt

from audit.errors import PolicyError
from audit.judge.checks import CheckItem, CheckResult, check_status
from audit.judge.kinds import DATA_REQUIREMENT as KIND
from audit.judge.status import Outcome
from audit.measures.groups import Scope
from audit.policy.schema import (
    DataRequirement,
    DuplicateRows,
    LabelBalance,
    MinGroupRows,
    MissingLabel,
    MissingSensitive,
    Policy,
    TimestampAge,
)
from audit.tables.quality import DataQuality

#: A requirement's judged items, and the note that replaces the summary sentence when it was not evaluated.
Items = tuple[list[CheckItem], str | None]


def evaluate(
    policy: Policy,
    quality: DataQuality,
    scopes: tuple[Scope, ...],
    *,
    label: str | None,
    has_label: bool,
    audit_date: dt.date,
) -> list[CheckResult]:
    return [
        _evaluate(req, quality, scopes, label=label, has_label=has_label, audit_date=audit_date)
        for req in policy.data_requirements
    ]


def _evaluate(
    req: DataRequirement,
    quality: DataQuality,
    scopes: tuple[Scope, ...],
    *,
    label: str | None,
    has_label: bool,
    audit_date: dt.date,
) -> CheckResult:
    items, note = _items(req, quality, scopes, label=label, has_label=has_label, audit_date=audit_date)
    failing = [i for i in items if i.status is Outcome.FAIL]
    return CheckResult(
        req, KIND, check_status(items, req.severity), tuple(items), note or _message(req, items, failing)
    )


def _items(
    req: DataRequirement,
    quality: DataQuality,
    scopes: tuple[Scope, ...],
    *,
    label: str | None,
    has_label: bool,
    audit_date: dt.date,
) -> Items:
    """The items of one requirement: the policy schema's ``check`` field picks the class, hence the judge."""
    match req:
        case MissingSensitive():
            return _missing_sensitive(req, quality, scopes)
        case MissingLabel():
            return _missing_label(req, quality, label=label)
        case MinGroupRows():
            return _min_group_rows(req, scopes)
        case LabelBalance():
            return _label_balance(req, scopes, has_label=has_label)
        case DuplicateRows():
            return _duplicate_rows(req, quality)
        case TimestampAge():
            return _timestamp_age(req, quality, audit_date=audit_date)


def _fails(outside: bool) -> Outcome:
    return Outcome.FAIL if outside else Outcome.PASS


def _share(k: int, n: int) -> float:
    return k / n if n else 0.0


def _missing_sensitive(req: MissingSensitive, quality: DataQuality, scopes: tuple[Scope, ...]) -> Items:
    sensitive = [s.features[0] for s in scopes if len(s.features) == 1]
    features = req.features or sensitive
    unknown = [f for f in features if f not in sensitive]
    if unknown:
        raise PolicyError(
            f"data requirement {req.id!r}: {unknown[0]!r} is not a sensitive feature of this audit",
            hint=f"sensitive features: {', '.join(sensitive)}",
        )
    items = []
    for f in features:
        k = quality.missing.get(f, 0)
        share = _share(k, quality.rows)
        items.append(
            CheckItem(f, share, req.max_share, _fails(share > req.max_share), f"{k:,} of {quality.rows:,} rows")
        )
    return items, None


def _missing_label(req: MissingLabel, quality: DataQuality, *, label: str | None) -> Items:
    if label is None:
        return [], "Not evaluated: no label column was given."
    k = quality.missing.get(label, 0)
    share = _share(k, quality.rows)
    return [
        CheckItem(
            label,
            share,
            req.max_share,
            _fails(share > req.max_share),
            f"{k:,} of {quality.rows:,} rows have no {label}; they are left out of the audit",
        )
    ], None


def _covered(req: MinGroupRows | LabelBalance, scopes: tuple[Scope, ...]) -> list[Scope]:
    wanted = req.features
    return [s for s in scopes if s.features and (wanted is None or all(f in wanted for f in s.features))]


def _min_group_rows(req: MinGroupRows, scopes: tuple[Scope, ...]) -> Items:
    items = []
    for scope in _covered(req, scopes):
        for g in scope.groups:
            if g.has_unknown:
                continue
            items.append(
                CheckItem(
                    f"{g.label} ({scope.name})",
                    float(g.n),
                    float(req.min_rows),
                    _fails(g.n < req.min_rows),
                    f"{g.n:,} rows",
                    dict(g.features),
                )
            )
    return items, None


def _label_balance(req: LabelBalance, scopes: tuple[Scope, ...], *, has_label: bool) -> Items:
    if not has_label or any(g.size is not None for s in scopes for g in s.groups):
        return [], "Not evaluated: label balance needs binary true outcomes (a label column)."
    items = []
    for scope in _covered(req, scopes):
        for g in scope.groups:
            if g.has_unknown:
                continue
            positives, n = int(g.counts[1].sum()), int(g.counts.sum())
            if n == 0:
                items.append(
                    CheckItem(
                        f"{g.label} ({scope.name})",
                        None,
                        req.min_share,
                        Outcome.NOT_JUDGED,
                        "no rows",
                        dict(g.features),
                    )
                )
                continue
            rarer = min(positives, n - positives) / n
            items.append(
                CheckItem(
                    f"{g.label} ({scope.name})",
                    rarer,
                    req.min_share,
                    _fails(rarer < req.min_share),
                    f"{positives:,} positive and {n - positives:,} negative outcomes",
                    dict(g.features),
                )
            )
    return items, None


def _duplicate_rows(req: DuplicateRows, quality: DataQuality) -> Items:
    k = quality.duplicate_rows or 0
    share = _share(k, quality.rows)
    return [
        CheckItem(
            "all rows",
            share,
            req.max_share,
            _fails(share > req.max_share),
            f"{k:,} of {quality.rows:,} rows repeat an earlier row exactly",
        )
    ], None


def _timestamp_age(req: TimestampAge, quality: DataQuality, *, audit_date: dt.date) -> Items:
    ts = quality.timestamp
    if ts is None or ts.oldest is None or ts.newest is None:
        return [], f"Not evaluated: column {req.column!r} holds no readable date."
    extra = "".join(
        [
            f"; {ts.missing:,} rows have no date" if ts.missing else "",
            f"; {ts.unparseable:,} values are not dates" if ts.unparseable else "",
        ]
    )
    items = []
    for subject, day, limit in (
        ("oldest row", ts.oldest, req.max_age_days),
        ("newest row", ts.newest, req.max_newest_age_days),
    ):
        age = (audit_date - day).days
        future = " (after the audit date)" if age < 0 else ""
        status = _fails(age > limit) if limit is not None else Outcome.NOT_JUDGED
        items.append(
            CheckItem(
                subject,
                float(age),
                None if limit is None else float(limit),
                status,
                f"{day.isoformat()}, {age:,} days before {audit_date.isoformat()}{future}{extra}",
            )
        )
    return items, None


def _fmt(req: DataRequirement, value: float | None) -> str:
    if value is None:
        return "undefined"
    if req.check in ("min_group_rows",):
        return f"{int(value):,} rows"
    if req.check == "timestamp_age":
        return f"{int(value):,} days"
    return f"{value:.1%}"


_LIMIT = {
    "missing_sensitive": ("at most", "missing"),
    "missing_label": ("at most", "missing"),
    "min_group_rows": ("at least", ""),
    "label_balance": ("at least", "for the rarer outcome"),
    "duplicate_rows": ("at most", "duplicated"),
    "timestamp_age": ("at most", "old"),
}


def _message(req: DataRequirement, items: list[CheckItem], failing: list[CheckItem]) -> str:
    bound, noun = _LIMIT[req.check]
    if failing:
        extreme = min if bound == "at least" else max
        worst = failing[0] if req.check == "timestamp_age" else extreme(failing, key=lambda i: i.value or 0)
        more = len(failing) - 1
        tail = f"; {more} other{'s' if more != 1 else ''} also outside the limit" if more else ""
        return (
            f"{worst.subject}: {_fmt(req, worst.value)} {noun} ({worst.detail}); the policy requires "
            f"{bound} {_fmt(req, worst.limit)}{tail}."
        ).replace("  ", " ")
    judged = [i for i in items if i.status is Outcome.PASS]
    if not judged:
        return "Nothing could be judged."
    pick = min if bound == "at least" else max
    closest = pick(judged, key=lambda i: i.value or 0)
    return (
        f"Within the limit ({bound} {_fmt(req, closest.limit)}) for all {len(judged)} judged item(s); "
        f"closest: {closest.subject}, {_fmt(req, closest.value)} ({closest.detail})."
    )
