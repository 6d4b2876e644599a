"""Multi-metric rule (equalized-odds style): one rule, several metrics, the same bounds.

Each metric is judged exactly as a single-metric rule would judge it (``audit.findings``); the
rule fails when any of its metrics fails, and its finding lists every metric's result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.measures.metrics import label_of

if TYPE_CHECKING:
    from audit.findings import Finding
    from audit.measures.groups import Scope
    from audit.policy.schema import Policy, Rule

KIND = "multi_metric"
EXPLANATION = (
    "One rule judges several metrics with the same comparison and bounds (for equalized odds: the true "
    "positive rate and the false positive rate). Each metric is judged group by group as a single-metric "
    "rule would be; the rule fails when any of its metrics fails, and it is only a pass when every metric "
    "passes."
)


def evaluate(rule: Rule, policy: Policy, scopes: tuple[Scope, ...], *, has_label: bool, seed: int) -> Finding:
    from audit.findings import Finding, Status, _evaluate_rule, _worst

    parts = tuple(_evaluate_rule(rule.model_copy(update={"metric": m, "metrics": None}), policy, scopes,
                                 has_label=has_label, seed=seed) for m in rule.metric_names)
    order = [Status.FAIL, Status.WARN, Status.INFO, Status.INSUFFICIENT_DATA, Status.PASS]
    status = next(s for s in order if any(p.status is s for p in parts))
    failing = tuple(o for p in parts for o in p.failing)
    candidates = failing or tuple(p.worst for p in parts if p.worst is not None)
    worst = _worst(rule, candidates)
    message = " ".join(f"{label_of(p.rule.metric or '').capitalize()}: {p.message}" for p in parts)
    return Finding(rule, status, worst.comparison.value if worst else None, worst,
                   tuple(sc for p in parts for sc in p.scopes), message,
                   sum(p.not_judged for p in parts), failing, parts)
