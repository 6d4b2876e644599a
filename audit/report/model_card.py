"""``--format model-card``: the fairness section of a model card, in the Hugging Face model-card layout.

The output is a *section* to paste into (or append to) a model's README.md: the template's headings
"## Bias, Risks, and Limitations" (with "### Recommendations") and "## Evaluation" (with "### Testing Data,
Factors & Metrics" and "### Results"), filled from the results document only. No YAML front matter: a model
card has one, at its top, and it belongs to the model, not to one audit. Every text from the data or the
policy is Markdown-escaped (:func:`audit.report.markdown.escape`), so a group called ``**x**`` stays inert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from audit.judge.status import Status
from audit.report.markdown import ICON, escape
from audit.report.results import canonical_json

#: The Hugging Face model-card template's headings this section fills, in order.
HEADINGS = (
    "## Bias, Risks, and Limitations",
    "### Recommendations",
    "## Evaluation",
    "### Testing Data, Factors & Metrics",
    "#### Testing Data",
    "#### Factors",
    "#### Metrics",
    "### Results",
    "#### Summary",
)
_BAD = ("FAIL", "WARN", "INSUFFICIENT_DATA")


def render_model_card(document: Mapping[str, Any], *, report: Mapping[str, Any] | None = None) -> str:
    """The model card's fairness section for ``document``; ``report`` names the report.pdf beside it."""
    policy, audit = document["policy"], document["audit"]
    findings = document["findings"]
    tool = document["tool"]
    lines = [
        HEADINGS[0],
        "",
        f"Audited with Fairgate {escape(tool['version'])} against the policy **{escape(policy['id'])}** "
        f"{escape(policy['version'])} ({escape(policy['title'])}): verdict **{_status(document['verdict'])}** "
        f"on {audit['rows']:,} rows; sensitive features: {escape(', '.join(audit['sensitive_features']))}.",
        "",
    ]
    flagged = [i for i in document["items"] if i["status"] in _BAD]
    lines += [f"- {_status(i['status'])} {escape(i['title'])}: {escape(i['message'])}" for i in flagged]
    if not flagged:
        lines.append("- No rule of the policy failed or warned on this data.")
    lines += [
        "",
        "Limitations of this evaluation: groups smaller than the policy's minimum "
        f"({audit['min_count']:,} people) are listed but not judged; rows with no sensitive value "
        f"({_unknowns(audit)}) are reported, not judged unless the policy says so; the figures describe this "
        "sample and measure differences between groups, not their causes or whether they are justified.",
        "",
        HEADINGS[1],
        "",
    ]
    if flagged:
        lines += [
            f"- Review {escape(i['title'])} ({_status(i['status'])}) before relying on the model." for i in flagged
        ]
    lines += [
        "- Audit again after retraining, after changing the decision threshold, and on data from the population "
        "the model is used on.",
        "",
        HEADINGS[2],
        "",
        HEADINGS[3],
        "",
        HEADINGS[4],
        "",
        *_testing_data(document),
        "",
        HEADINGS[5],
        "",
        *_factors(document),
        "",
        HEADINGS[6],
        "",
    ]
    lines += [_metric_line(f) for f in findings] or ["No group-metric rule in this policy."]
    lines += ["", HEADINGS[7], "", "| rule | status | observed | limit | worst group |", "|---|---|---|---|---|"]
    for f in findings:
        lines.append(
            f"| {escape(f['title'])} | {_status(f['status'])} | {_value(f['observed'], f['compare'])} | "
            f"{_limit(f)} | {escape(_group_label(document, f['worst_group']))} |"
        )
    evidence = hashlib.sha256(canonical_json(dict(document))).hexdigest()
    lines += [
        "",
        HEADINGS[8],
        "",
        f"Verdict {_status(document['verdict'])} over {document['summary']['rules']:,} judged items: "
        + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in document["summary"].items() if k != "rules")
        + ".",
        "",
        f"Evidence: `results.json` sha256 `{evidence}`"
        + (
            f"; report `{escape(report['name'])}` ({'signed' if report.get('signed') else 'unsigned draft'}), "
            f"sha256 `{report['sha256']}`."
            if report
            else "."
        ),
    ]
    return "\n".join(lines) + "\n"


def _status(status: str) -> str:
    return ICON[Status(status)]


def _unknowns(audit: Mapping[str, Any]) -> str:
    counts = audit.get("unknown_counts") or {}
    return ", ".join(f"{escape(k)} {v:,}" for k, v in counts.items() if v) or "none"


def _value(value: float | None, compare: str) -> str:
    if value is None:
        return "—"
    if compare == "odds_ratio":
        return f"{value:.3f}"
    return f"{value * 100:.1f}%" if compare == "ratio" else f"{value * 100:.1f} pts"


def _limit(finding: Mapping[str, Any]) -> str:
    low, high, compare = finding["min_value"], finding["max_value"], finding["compare"]
    parts = ([f"≥ {_value(low, compare)}"] if low is not None else []) + (
        [f"≤ {_value(high, compare)}"] if high is not None else []
    )
    return ", ".join(parts)


def _group_label(document: Mapping[str, Any], group_id: str | None) -> str:
    if group_id is None:
        return "—"
    return next((g["label"] for g in document["groups"] if g["id"] == group_id), group_id)


def _metric_line(finding: Mapping[str, Any]) -> str:
    against = {"max": "the highest group", "min": "the lowest group", "reference": "the reference group"}
    return (
        f"- **{escape(finding['rule_id'])}**: {escape(finding['metric'])}, {escape(finding['compare'])} against "
        f"{escape(against.get(finding['against'], 'the whole population'))}; limit {_limit(finding)}."
    )


def _testing_data(document: Mapping[str, Any]) -> list[str]:
    audit = document["audit"]
    inputs = document["provenance"]["inputs"]
    lines = [
        f"- `{escape(i['role'])}`: {escape(i['path'])} (sha256 `{i['sha256'][:16]}…`)"
        for i in inputs
        if i["role"] in ("dataset", "model")
    ]
    excluded = sum((audit.get("excluded_rows") or {}).values())
    lines.append(f"- {audit['rows']:,} rows audited" + (f"; {excluded:,} rows left out" if excluded else "") + ".")
    if audit.get("label"):
        lines.append(f"- True outcome: column {escape(audit['label'])}.")
    return lines


def _factors(document: Mapping[str, Any]) -> list[str]:
    lines = ["| scope | group | n |", "|---|---|---|"]
    for g in document["groups"]:
        lines.append(f"| {escape(g['scope'])} | {escape(g['label'])} | {g['n']:,} |")
    return lines
