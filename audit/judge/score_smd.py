"""Judge score rules: the standardized mean difference (SMD) of each group's scores vs the highest-mean group."""

from __future__ import annotations

from typing import Any

from audit.judge.checks import CheckItem, CheckResult
from audit.judge.kinds import SCORE_SMD as KIND
from audit.judge.status import Outcome, Status, failing_status
from audit.measures.groups import Scope
from audit.policy.schema import Policy, ScoreRule


def evaluate(policy: Policy, scopes: tuple[Scope, ...], score_metrics: dict[str, dict[str, Any]]) -> list[CheckResult]:
    return [_evaluate(rule, policy, scopes, score_metrics) for rule in policy.score_rules]


def _evaluate(
    rule: ScoreRule, policy: Policy, scopes: tuple[Scope, ...], score_metrics: dict[str, dict[str, Any]]
) -> CheckResult:
    if not score_metrics:
        return CheckResult(
            rule,
            KIND,
            Status.INSUFFICIENT_DATA,
            (),
            "Not evaluated: the audit has no scores (pass --scores COLUMN or a model that gives probabilities).",
        )
    min_count = rule.min_count or policy.groups.min_count
    items = []
    for scope in scopes:
        if not scope.features or (rule.features is not None and not all(f in rule.features for f in scope.features)):
            continue
        for g in scope.groups:
            mv = score_metrics.get(g.id, {}).get(rule.metric)
            if g.has_unknown or mv is None:
                continue
            subject = f"{g.label} ({scope.name})"
            if mv.value is None or g.n < min_count:
                items.append(
                    CheckItem(
                        subject,
                        mv.value,
                        rule.max_abs_value,
                        Outcome.NOT_JUDGED,
                        f"too few ({g.n} < min_count {min_count})" if g.n < min_count else "undefined",
                        dict(g.features),
                    )
                )
                continue
            ci = (mv.ci_low, mv.ci_high) if mv.ci_low is not None else None
            items.append(
                CheckItem(
                    subject,
                    mv.value,
                    rule.max_abs_value,
                    Outcome.FAIL if abs(mv.value) > rule.max_abs_value else Outcome.PASS,
                    f"{g.n:,} rows",
                    dict(g.features),
                    ci,
                )
            )
    judged = [i for i in items if i.status in (Outcome.PASS, Outcome.FAIL)]
    failing = [i for i in items if i.status is Outcome.FAIL]
    if failing:
        worst = max(failing, key=lambda i: abs(i.value or 0))
        more = len(failing) - 1
        status = failing_status(rule.severity)
        message = (
            f"The scores of {worst.subject} differ from the highest-mean group's by an SMD of "
            f"{worst.value:+.2f}; the policy flags |SMD| above {rule.max_abs_value:g}"
            + (f"; {more} other group{'s' if more != 1 else ''} also outside the limit." if more else ".")
        )
    elif judged:
        worst = max(judged, key=lambda i: abs(i.value or 0))
        status = Status.PASS
        message = (
            f"All {len(judged)} judged groups have |SMD| within {rule.max_abs_value:g}; largest: "
            f"{worst.subject}, {worst.value:+.2f}."
        )
    else:
        status = Status.INSUFFICIENT_DATA
        message = "Not enough data to judge the score differences of any group."
    return CheckResult(rule, KIND, status, tuple(items), message)
