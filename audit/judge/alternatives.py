"""Less discriminatory alternatives: N candidate audits side by side, performance against disparity.

A lender documenting its search for a less discriminatory alternative (LDA) lists the candidate
models it tried, how well each performs and how disparate each is under the same policy. For each
results.json (``fairgate compare --alternatives A.json B.json C.json``):

- **performance**: accuracy from the overall group's confusion counts ((tn + tp) / n, labelled audits
  only), or, with ``performance="auc"``, the overall AUC the audit recorded (scored audits only);
- **disparity**: each policy rule's worst observed value as the audit recorded it (the finding's
  ``observed``: the value the rule judged, at its worst group), and how *bad* that is in the rule's own
  direction — lower is worse for a rule with only a minimum (an impact ratio ≥ 0.8), higher for one
  with only a maximum, the distance from parity (|log ratio|, |difference|) for a rule with both;
  a rule with no observed value counts as the worst possible (nothing shows it is less disparate);
- **verdict** under its policy, and whether it *passes* (PASS or WARN: the release gate would not block);
- the **frontier** (Pareto): a candidate is on it unless another is at least as good in performance and
  in every rule's disparity, and strictly better in one of them.

The candidates must share the policy (id and version) and the sensitive features, else the view is
refused (``UsageError``, exit 2), as the two-file comparison refuses incomparable files. Nothing is
re-estimated: the numbers are the audits' own, so the view matches each signed report.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from audit.errors import UsageError

PERFORMANCE = ("accuracy", "auc")
PASSING = ("PASS", "WARN")


@dataclass(frozen=True)
class RuleDisparity:
    rule_id: str
    compare: str
    observed: float | None  # the rule's worst value, as the audit recorded it
    worst_group: str | None
    badness: float  # higher is more disparate, in the rule's direction (inf: no value)
    status: str


@dataclass(frozen=True)
class Candidate:
    name: str
    accuracy: float | None
    auc: float | None
    performance: float  # the one the frontier uses
    disparities: tuple[RuleDisparity, ...]
    verdict: str
    passes: bool
    frontier: bool = False


@dataclass(frozen=True)
class Alternatives:
    policy_id: str
    policy_version: str
    sensitive_features: tuple[str, ...]
    performance: str
    rules: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    bounds: tuple[tuple[float | None, float | None], ...] = ()  # each rule's (min_value, max_value)


def badness(finding: dict[str, Any]) -> float:
    """How disparate a rule's observed value is, higher worse, in the direction the rule's bounds look."""
    observed = finding.get("observed")
    if observed is None or not math.isfinite(observed):
        return math.inf
    low, high = finding.get("min_value"), finding.get("max_value")
    if low is not None and high is None:
        return -float(observed)
    if high is not None and low is None:
        return float(observed)
    if finding.get("compare") in ("ratio", "odds_ratio"):
        return abs(math.log(observed)) if observed > 0 else math.inf
    return abs(float(observed))


def dominates(a: Candidate, b: Candidate) -> bool:
    """``a`` is at least as good as ``b`` in performance and every rule's disparity, and better in one."""
    pairs = list(zip(a.disparities, b.disparities, strict=True))
    if a.performance < b.performance or any(x.badness > y.badness for x, y in pairs):
        return False
    return a.performance > b.performance or any(x.badness < y.badness for x, y in pairs)


def compare_alternatives(
    documents: Sequence[tuple[str, dict[str, Any]]], *, performance: str = "accuracy"
) -> Alternatives:
    """The LDA view of ``documents`` ((name, results.json) pairs, at least two)."""
    if len(documents) < 2:
        raise UsageError("--alternatives needs at least two results files", hint="name every candidate's results.json")
    if performance not in PERFORMANCE:
        raise UsageError(f"unknown performance measure {performance!r}", hint=f"one of {', '.join(PERFORMANCE)}")
    first_name, first = documents[0]
    policy = first["policy"]
    features = tuple(first["audit"]["sensitive_features"])
    for name, doc in documents[1:]:
        theirs = doc["policy"]
        if (theirs["id"], theirs["version"]) != (policy["id"], policy["version"]):
            raise UsageError(
                f"cannot compare {name} with {first_name}: audited under policy {theirs['id']} "
                f"{theirs['version']}, not {policy['id']} {policy['version']}",
                hint="audit every candidate under the same policy (fairgate run --policy)",
            )
        if set(doc["audit"]["sensitive_features"]) != set(features):
            raise UsageError(
                f"cannot compare {name} with {first_name}: they audit different sensitive features "
                f"({', '.join(doc['audit']['sensitive_features'])}; {', '.join(features)})",
                hint="compare audits of the same sensitive features (--sensitive)",
            )
    rules = tuple(f["rule_id"] for f in first["findings"])
    if not rules:
        raise UsageError(
            f"cannot compare alternatives: policy {policy['id']} {policy['version']} has no group rule",
            hint="audit the candidates under a policy with rules",
        )
    candidates = [_candidate(name, doc, rules, performance) for name, doc in documents]
    marked = tuple(
        dataclasses.replace(c, frontier=not any(dominates(o, c) for o in candidates if o is not c)) for c in candidates
    )
    bounds = tuple((f.get("min_value"), f.get("max_value")) for f in first["findings"])
    return Alternatives(policy["id"], policy["version"], features, performance, rules, marked, bounds)


def _candidate(name: str, doc: dict[str, Any], rules: tuple[str, ...], performance: str) -> Candidate:
    overall = next((g for g in doc["groups"] if g["scope"] == "overall"), None)
    accuracy = None
    if overall is not None and doc["audit"].get("has_label"):
        c = overall["counts"]
        total = c["tn"] + c["fp"] + c["fn"] + c["tp"]
        accuracy = (c["tn"] + c["tp"]) / total if total else None
    auc = (((overall or {}).get("score_metrics") or {}).get("auc") or {}).get("value")
    chosen = accuracy if performance == "accuracy" else auc
    if chosen is None:
        why = "has no labels (accuracy needs them)" if performance == "accuracy" else "records no AUC (no scores)"
        other = "auc" if performance == "accuracy" else "accuracy"
        raise UsageError(
            f"{name}: {why}",
            hint=f"audit every candidate with --label, or rank by --performance {other}",
        )
    findings = {f["rule_id"]: f for f in doc["findings"]}
    disparities = []
    for rule_id in rules:
        f = findings.get(rule_id)
        if f is None:
            disparities.append(RuleDisparity(rule_id, "", None, None, math.inf, "MISSING"))
            continue
        observed = f.get("observed")
        disparities.append(
            RuleDisparity(rule_id, f["compare"], observed, f.get("worst_group"), badness(f), f["status"])
        )
    verdict = doc["verdict"]
    return Candidate(name, accuracy, auc, float(chosen), tuple(disparities), verdict, verdict in PASSING)


def alternatives_document(view: Alternatives) -> dict[str, Any]:
    """The view as plain data (--json, the Markdown table and the chart)."""
    return {
        "policy": {"id": view.policy_id, "version": view.policy_version},
        "sensitive_features": list(view.sensitive_features),
        "performance": view.performance,
        "rules": list(view.rules),
        "bounds": {r: {"min_value": lo, "max_value": hi} for r, (lo, hi) in zip(view.rules, view.bounds, strict=True)},
        "frontier_rule": (
            "Pareto: on the frontier unless another candidate is at least as good in performance and in every "
            "rule's disparity, and strictly better in one"
        ),
        "candidates": [
            {
                "name": c.name,
                "accuracy": c.accuracy,
                "auc": c.auc,
                "performance": c.performance,
                "verdict": c.verdict,
                "passes": c.passes,
                "frontier": c.frontier,
                "disparities": [
                    {
                        "rule_id": d.rule_id,
                        "compare": d.compare,
                        "observed": d.observed,
                        "worst_group": d.worst_group,
                        "badness": None if math.isinf(d.badness) else d.badness,
                        "status": d.status,
                    }
                    for d in c.disparities
                ],
            }
            for c in view.candidates
        ],
    }
