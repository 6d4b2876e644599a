"""The policy's rules on a probabilistic feature (group membership estimated by a proxy).

Each rule whose metric is a rate (audit.measures.proba.supported) is evaluated on the weighted
estimates of every level against the rule's comparator. A weighted estimate is a float (a ratio of
expected counts), so it is compared with the limit as a float, within the relative tolerance
:func:`audit.judge.rules.within` uses for floats; there is no exact-fraction path. Each group gets
two outcomes:

* ``estimate``: PASS or FAIL — the weighted estimate against the limit (sampling interval beside it);
* ``bounds``: PASS when every value in the partial-identification bounds meets the limit (whatever
  the joint distribution of group and outcome consistent with the proxy), FAIL when none does, and
  INCONCLUSIVE when the answer depends on what the proxy cannot tell.

These results are evidence beside the verdict: they never change the exit code (a proxy's error is
not a sampling error a gate can be calibrated for). The item's status is INFO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from audit.judge.rules import within
from audit.judge.status import Outcome
from audit.measures.proba import ProxyDisparity, disparities, supported

if TYPE_CHECKING:
    from audit.policy.schema import Policy, Rule
    from audit.tables.proba import ProbaTable


@dataclass(frozen=True)
class ProxyCheck:
    rule: Rule
    metric: str
    rows: tuple[tuple[ProxyDisparity, Outcome | None, Outcome | None], ...]  # (disparity, estimate, bounds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule.id,
            "metric": self.metric,
            "compare": self.rule.compare,
            "against": self.rule.against,
            "min_value": self.rule.min_value,
            "max_value": self.rule.max_value,
            "groups": [
                {
                    "group": d.level,
                    "comparator": d.comparator,
                    "estimate": d.value,
                    "ci": None if d.ci is None else list(d.ci),
                    "bounds": None if d.bounds is None else list(d.bounds),
                    "most_likely_group_estimate": d.likely,
                    "estimate_outcome": None if estimate is None else estimate.value,
                    "bounds_outcome": None if bounds is None else bounds.value,
                }
                for d, estimate, bounds in self.rows
            ],
        }


def bounds_outcome(rule: Rule, bounds: tuple[float | None, float | None] | None) -> Outcome | None:
    """PASS: every value in the bounds meets the limit; FAIL: none does; else INCONCLUSIVE. An end
    that is None is unbounded (a ratio whose comparator may be 0)."""
    if bounds is None:
        return None
    low = -math.inf if bounds[0] is None else bounds[0]
    high = math.inf if bounds[1] is None else bounds[1]
    if all(math.isfinite(x) and within(rule, x) for x in (low, high)):  # both ends in: all between too
        return Outcome.PASS
    below = rule.min_value is not None and high < rule.min_value and not within(rule, high)
    above = rule.max_value is not None and low > rule.max_value and not within(rule, low)
    return Outcome.FAIL if below or above else Outcome.INCONCLUSIVE


def check_rules(policy: Policy, table: ProbaTable) -> tuple[ProxyCheck, ...]:
    """Every rule of ``policy`` with a rate metric, evaluated on the probabilistic feature."""
    out = []
    feature = table.feature
    for rule in policy.rules:
        for metric in rule.metric_names:
            if not supported(metric):
                continue
            reference = (rule.reference or {}).get(feature) or policy.groups.reference.get(feature)
            found = disparities(
                table,
                metric,
                compare=rule.compare,
                against=rule.against,
                reference=reference,
                min_count=rule.min_count or policy.groups.min_count,
                level=policy.confidence_level,
            )
            rows = tuple(
                (
                    d,
                    None if d.value is None else (Outcome.PASS if within(rule, d.value) else Outcome.FAIL),
                    bounds_outcome(rule, d.bounds),
                )
                for d in found
            )
            out.append(ProxyCheck(rule, metric, rows))
    return tuple(out)
