"""results.json's ``proxy`` section: how a probabilistic feature was obtained and what it shows.

Every figure the report states about it is here: the estimate's summary (method, tables, vintage,
sha256, coverage and fallbacks) when it was computed inline, the tolerance, each group's weighted
rates with their sampling intervals and effective sizes, the partial-identification bounds, the
most-likely-group estimates beside them, and the policy's rules evaluated on all three — for the
feature alone (``groups``, ``rules``) and, with recorded features, for each intersection judged
(``intersections``: the same figures per group such as ``black × F``; present only when there is one),
and the same per segment or score band (``segments``, with why nothing is pooled over them) and per time
window (``windows``, with why drift is not evaluated on the feature), present only with those.
"""

from __future__ import annotations

from typing import Any

from audit.measures.metrics import label_of
from audit.measures.proba import group_estimates, scope_of, supported
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
#: How the rules are judged on the probabilistic feature (audit.judge.proxy).
DECISIONS = (
    "Each rule is judged on the weighted estimate with its sampling interval, under the rule's decide_on, as for a "
    "recorded feature; a blocking rule that fails there fails the audit. Groups whose expected size is under "
    "min_count are judged with the interval in place of an exact test. The partial-identification bounds are shown "
    "beside each group and do not decide: when they straddle the limit, the proxy alone cannot settle it."
)
SELF_REPORTED = [
    "People with a self-reported value count in their own group with weight 1 (assumed correct); only the others "
    "are counted through the proxy, and the bounds place the self-reported people exactly (narrowed bounds).",
    "The proxy's quality is measured on the people with a self-reported value; it describes the others only as far "
    "as those people resemble them.",
]
COMMON = [
    "Group sizes and rates are expected values: each person counts in every group with their probability.",
    "The weighted estimate assumes group membership is independent of the outcome given the proxy's inputs; "
    "the intervals cover sampling error only.",
    "The proxy's own error is a separate uncertainty: the bounds give every value consistent with the proxy's "
    "probabilities without that assumption (Kallus, Mao & Zhou 2020), not counting sampling error.",
    "Assigning each person their most likely group biases disparities (usually towards no difference): those "
    "figures are shown for comparison only.",
]


INTERSECTIONS = [
    "In an intersection with recorded features (such as race × sex) each person counts, within their recorded "
    "group, in every group of the probabilistic feature with their probability, and the bounds use the proxy cells "
    "of that recorded group only: the figures take the proxy as calibrated within each recorded group (among women "
    "as among men), which a proxy that does not use those features holds only as far as they are unrelated to it "
    "given its inputs.",
]


SEGMENTS = [
    "Within each segment the rules are judged on the segment's own expected counts and the bounds use the segment's "
    "proxy cells only: the figures take the proxy as calibrated within each segment. The segments are evidence "
    "beside the pooled verdict; the statistics pooled over them (Mantel–Haenszel, CMH, Breslow–Day) are not computed "
    "on expected counts.",
]


WINDOWS = [
    "Within each time window the rules are judged on the window's own expected counts and the bounds use the "
    "window's proxy cells only: the figures take the proxy as calibrated in every window. Drift rules are not "
    "evaluated on the probabilistic feature.",
]


def metrics_of(outcome: ProxyOutcome) -> list[str]:
    names = [*BASE_METRICS, *(LABEL_METRICS if outcome.table.has_label else ())]
    for f in outcome.findings:
        names += [p.metric for p in f.parts if p.metric not in names and supported(p.metric)]
    return names


def _plain(value: Any) -> Any:
    """JSON's own types (tuples as lists), so the section equals itself read back from results.json
    (``verify --recompute`` compares the fresh document with the recorded one)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def proxy_section(outcome: ProxyOutcome, *, level: float) -> dict[str, Any]:
    return dict(_plain(_section(outcome, level=level)))


def _groups(
    outcome: ProxyOutcome, features: tuple[str, ...], *, level: float, segment: Any = None
) -> list[dict[str, Any]]:
    """Each group of the scope ``features`` (the feature alone: ``()``): expected size, most-likely-group
    size, and per metric the weighted estimate, interval, bounds and most-likely-group estimate; within
    ``segment`` (an audit.judge.proxy_segments.ProxySegment) when given."""
    if segment is None:
        table, known = outcome.table, outcome.known
        proxy_only = None if outcome.labelled is None else outcome.labelled.proxy
    else:
        table, known, proxy_only = segment.table, segment.known, segment.proxy_only
    scope = scope_of(table, features, known=known)
    names = metrics_of(outcome)
    per_metric = {m: group_estimates(scope, m, level=level) for m in names}
    wide: dict[str, Any] = {}
    if proxy_only is not None:
        alone = scope_of(proxy_only, features)
        wide = {m: group_estimates(alone, m, level=level) for m in names}
    groups = []
    for g, grp in enumerate(scope.groups):
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
            if metric in wide:  # without the self-reported people: the proxy's estimate and bounds alone
                w = wide[metric][g]
                metrics[metric] |= {
                    "proxy_only_estimate": w.weighted.value,
                    "bounds_without_self_reported": None if w.bounds is None else list(w.bounds),
                }
        groups.append(
            {
                "group": grp.label,
                **({"features": dict(grp.features)} if len(grp.features) > 1 else {}),
                "expected_n": float(grp.expected.sum()),
                "most_likely_group_n": int(grp.likely.sum()),
                "metrics": metrics,
            }
        )
    return groups


def _intersections(outcome: ProxyOutcome, *, level: float, segment: Any = None) -> dict[str, Any]:
    """The intersections judged, each with its groups and its rules (present only when there is one);
    within ``segment`` when given."""
    if not outcome.intersections:
        return {}
    findings = outcome.findings if segment is None else segment.findings
    out = []
    for cut in outcome.intersections:
        recorded = [f for f in cut if f != outcome.table.feature]
        out.append(
            {
                "scope": " × ".join(cut),
                "features": list(cut),
                "proxy_cells": f"most likely group × {BINS} equal bins of the largest probability, within each "
                f"group of {' × '.join(recorded)}",
                "groups": _groups(outcome, cut, level=level, segment=segment),
                "rules": [p.to_dict() for f in findings if f.features == cut for p in f.parts],
            }
        )
    return {"intersections": out}


def _section(outcome: ProxyOutcome, *, level: float) -> dict[str, Any]:
    table, plan = outcome.table, outcome.plan
    labelled = outcome.labelled
    groups = _groups(outcome, (), level=level)
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
        "rules": [p.to_dict() for f in outcome.findings if not f.intersection for p in f.parts],
        **_intersections(outcome, level=level),
        **_segments(outcome, level=level),
        **_windows(outcome, level=level),
        "decisions": DECISIONS,
        **_self_reported(outcome),
        "limitations": [
            *LIMITATIONS[plan.source],
            *COMMON,
            *(SELF_REPORTED if labelled is not None else ()),
            *(INTERSECTIONS if outcome.intersections else ()),
            *(SEGMENTS if outcome.segments else ()),
            *(WINDOWS if outcome.windows else ()),
        ],
    }


def _segments(outcome: ProxyOutcome, *, level: float) -> dict[str, Any]:
    """The rules within each segment (the policy's ``segment_by``; present only with segments): per segment
    its rows, groups, rules and intersections, as for the whole feature; evidence, not judged items. The
    statistics pooled over the segments are not computed, with the reason (audit.judge.proxy_segments)."""
    if not outcome.segment_by:
        return {}
    from audit.judge.proxy_segments import NOT_POOLED

    return {
        "segments": {
            "columns": list(outcome.segment_by),
            "proxy_cells": f"most likely group × {BINS} equal bins of the largest probability, within each segment",
            "segments": [{"segment": dict(s.segment), **_part(outcome, s, level=level)} for s in outcome.segments],
            "pooled_over_segments": {"computed": False, "reason": NOT_POOLED},
        }
    }


def _windows(outcome: ProxyOutcome, *, level: float) -> dict[str, Any]:
    """The rules within each time window (present only with windows): per window its label, rows, groups,
    rules and intersections, as for the whole feature; each window's verdict counts them (results.json
    ``monitoring``). Drift rules are not evaluated on the feature, with the reason."""
    if not outcome.windows:
        return {}
    from audit.judge.proxy_segments import NO_DRIFT
    from audit.tables.windows import WINDOW_KEY

    return {
        "windows": {
            "proxy_cells": f"most likely group × {BINS} equal bins of the largest probability, within each window",
            "windows": [{"label": w.segment[WINDOW_KEY], **_part(outcome, w, level=level)} for w in outcome.windows],
            "drift": {"evaluated": False, "reason": NO_DRIFT},
        }
    }


def _part(outcome: ProxyOutcome, part: Any, *, level: float) -> dict[str, Any]:
    """One segment or window (an audit.judge.proxy_segments.ProxySegment): its rows, groups, rules, the
    findings' statuses and sentences, and its intersections."""
    return {
        "rows": part.table.rows,
        "unknown_rows": part.table.unknown_rows,
        "groups": _groups(outcome, (), level=level, segment=part),
        "rules": [p.to_dict() for f in part.findings if not f.intersection for p in f.parts],
        "findings": [
            {"id": f.id, "rule_id": f.rule.id, "scope": f.scope, "status": f.status.value, "message": f.message}
            for f in part.findings
        ],
        **_intersections(outcome, level=level, segment=part),
    }


def _self_reported(outcome: ProxyOutcome) -> dict[str, Any]:
    """The self-reported values: which column, how many people, and the proxy's quality on them."""
    labelled = outcome.labelled
    if labelled is None:
        return {}
    quality = outcome.quality.as_dict() if outcome.quality is not None else None
    return {
        "self_reported": {
            "column": labelled.column,
            "rows": labelled.labelled,
            "unmatched": labelled.unmatched,
            "quality": quality,
        }
    }
