"""results.json's ``proxy`` section: how a probabilistic feature was obtained and what it shows.

Every figure the report states about it is here: the estimate's summary (method, tables, vintage,
sha256, coverage and fallbacks) when it was computed inline, the tolerance, each group's weighted
rates with their sampling intervals and effective sizes, the partial-identification bounds, the
most-likely-group estimates beside them, and the policy's rules evaluated on all three.
"""

from __future__ import annotations

from typing import Any

from audit.measures.metrics import label_of
from audit.measures.proba import group_estimates, supported
from audit.tables.proba import BINS, TOLERANCE

#: an audit.flow.proxy.ProxyOutcome (plan, table, checks, summary): the flow stage sits above this one
ProxyOutcome = Any

#: Shown for every proxy audit, whatever the rules: the decision rate, and with labels the error rates.
BASE_METRICS = ("selection_rate",)
LABEL_METRICS = ("true_positive_rate", "false_positive_rate")

LIMITATIONS = {
    "columns": [
        "The probability columns were supplied with the data; how they were estimated is not recorded here.",
    ],
    "bisg": [
        "BISG combines P(race | surname) from the 2010 census surname list with P(area | race) from 2010 "
        "census geography: it is calibrated only to the extent that people resemble the 2010 population of "
        "their surname and area (docs/proxy.md).",
        "BISG is least accurate for Native American and multiracial people, and for surnames shared across groups.",
    ],
}
LIMITATIONS["bifsg"] = [*LIMITATIONS["bisg"], "BIFSG adds P(first name | race) from a mortgage-application list."]
COMMON = [
    "Group sizes and rates are expected values: each person counts in every group with their probability.",
    "The weighted estimate assumes group membership is independent of the outcome given the proxy's inputs; "
    "the intervals cover sampling error only.",
    "The proxy's own error is a separate uncertainty: the bounds give every value consistent with the proxy's "
    "probabilities without that assumption (Kallus, Mao & Zhou 2020), not counting sampling error.",
    "Assigning each person their most likely group biases disparities (usually towards no difference): those "
    "figures are shown for comparison only.",
]


def metrics_of(outcome: ProxyOutcome) -> list[str]:
    names = [*BASE_METRICS, *(LABEL_METRICS if outcome.table.has_label else ())]
    names += [c.metric for c in outcome.checks if c.metric not in names and supported(c.metric)]
    return names


def proxy_section(outcome: ProxyOutcome, *, level: float) -> dict[str, Any]:
    table, plan = outcome.table, outcome.plan
    expected, _, likely = table.marginal()
    groups = []
    per_metric = {m: group_estimates(table, m, level=level) for m in metrics_of(outcome)}
    for g, name in enumerate(table.levels):
        metrics = {}
        for metric, estimates in per_metric.items():
            e = estimates[g]
            metrics[metric] = {
                "label": label_of(metric),
                "estimate": e.weighted.value,
                "expected_n": e.weighted.expected_n,
                "effective_n": e.weighted.effective_n,
                "ci": None if e.weighted.ci is None else list(e.weighted.ci),
                "bounds": None if e.bounds is None else list(e.bounds),
                "most_likely_group_estimate": e.likely,
                "most_likely_group_n": e.likely_n,
            }
        groups.append(
            {
                "group": name,
                "expected_n": float(expected[g].sum()),
                "most_likely_group_n": int(likely[g].sum()),
                "metrics": metrics,
            }
        )
    return {
        "feature": table.feature,
        "source": plan.source,
        "columns": list(plan.spec.columns),
        "levels": list(table.levels),
        "rows": table.rows,
        "unknown_rows": table.unknown_rows,
        "tolerance": TOLERANCE,
        "proxy_cells": f"most likely group × {BINS} equal bins of the largest probability",
        "estimate": outcome.summary,
        "groups": groups,
        "rules": [c.to_dict() for c in outcome.checks],
        "limitations": [*LIMITATIONS[plan.source], *COMMON],
    }
