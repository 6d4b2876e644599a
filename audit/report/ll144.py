"""The NYC Local Law 144 public summary: the one page an employer publishes (6 RCNY § 5-303).

Everything comes from the results document (results.json) — its audit context, its groups and the
impact-ratio rule's comparisons — so the summary can never disagree with the evidence. What the rule
requires, in its order, and where it is taken from:

- the date of the most recent bias audit: ``audit.audit_date`` (recorded for the LL144 policies);
- the source and an explanation of the data used (historical or test data; why test data): ``context.data``;
- the number of individuals assessed who fall within an unknown category: the rows whose sex or
  race/ethnicity is missing, audited or left out (``audit.excluded_unknown_counts``);
- the number of applicants or candidates: everyone assessed (rows audited plus those left out);
- the selection or scoring rates and the impact ratios of every category and intersectional category
  (§ 5-301(b), (c)); categories under the policy's ``exclude_below_share`` (2%, § 5-301(d)) are listed
  with their numbers and rates but no impact ratio, and the summary says so;
- the distribution date of the AEDT: ``context.distribution_date``.

The HTML is rendered by the report's environment (autoescaped, strict); the PDF by the same data-only
WeasyPrint path as the report (nothing is fetched), with the summary's own page stylesheet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from audit.errors import RenderError
from audit.report.labels import is_scoring

TEMPLATE = "ll144_summary.html.j2"
STYLESHEET = "ll144_summary.css"
#: How the rule names the metric, the count and the ratio (6 RCNY § 5-300).
WORDS = {
    False: {"rate": "Selection rate", "count": "Number selected", "kind": "selection"},
    True: {"rate": "Scoring rate", "count": "Number above the median", "kind": "scoring"},
}
SCOPE_TITLES = {1: "Categories", 2: "Intersectional categories"}


def summary_view(document: Mapping[str, Any], *, generated_at: str) -> dict[str, Any]:
    """Everything the summary shows, from the results document; RenderError when it cannot be an LL144 summary."""
    context = document.get("context")
    if not context:
        raise RenderError(
            "the LL144 summary needs the audit's context (system, data source, distribution date …), and this "
            "audit recorded none",
            hint="audit under an NYC LL144 policy with --context FILE.yaml (see docs/policies.md#audit-context)",
        )
    scoring = is_scoring(document)
    disparities = _impact_ratios(document)
    groups = {(g["scope"], g["id"]): g for g in document["groups"]}
    audit = document["audit"]
    exclude = (document["policy"]["document"].get("groups") or {}).get("exclude_below_share")
    tables = [_table(d, groups, exclude) for d in disparities]
    unknown = unknown_category(document)
    excluded_rows = sum((audit.get("excluded_rows") or {}).values())
    return {
        "context": context,
        "words": WORDS[scoring],
        "scoring": scoring,
        "median": audit["predictions"].get("threshold") if scoring else None,
        "audit_date": audit.get("audit_date") or generated_at[:10],
        "distribution_date": context.get("distribution_date"),
        "applicants": audit["rows"] + excluded_rows,
        "audited": audit["rows"],
        "excluded_rows": audit.get("excluded_rows") or {},
        "unknown": unknown,
        "tables": tables,
        "exclude_below_share": exclude,
        "excluded_categories": [r for t in tables for r in t["rows"] if r["excluded"]],
        "policy": document["policy"],
        "evidence_sha256": _evidence_sha256(document),
        "generated_at": generated_at,
    }


def unknown_category(document: Mapping[str, Any]) -> int:
    """The individuals assessed whose category is unknown (any sensitive value missing): those audited
    (the finest groups with an ``unknown`` level) and those left out without a score."""
    features = document["audit"]["sensitive_features"]
    finest = " × ".join(features)
    audited = sum(
        g["n"]
        for g in document["groups"]
        if g["scope"] == finest and len(g["features"]) == len(features) and "unknown" in g["features"].values()
    )
    left_out = (document["audit"].get("excluded_unknown_counts") or {}).get("any", 0)
    return int(audited + left_out)


def _impact_ratios(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The comparisons of the rule that computes LL144's impact ratio: a selection (or scoring) rate
    divided by the highest category's."""
    rules = [
        f["rule_id"]
        for f in document["findings"]
        if f["metric"] == "selection_rate" and f["compare"] == "ratio" and f["against"] == "max"
    ]
    if not rules:
        raise RenderError(
            f"the LL144 summary shows impact ratios, and policy {document['policy']['id']} has no rule computing "
            "them (metric selection_rate, compare: ratio, against: max)",
            hint="audit under nyc-ll144 (selection rates) or nyc-ll144-scoring (scoring rates), or a policy "
            "extending one",
        )
    return [d for d in document["disparities"] if d["rule_id"] == rules[0]]


def _table(d: Mapping[str, Any], groups: Mapping[tuple[str, str], Any], exclude: float | None) -> dict[str, Any]:
    by_group = {g["group"]: g for g in d["groups"]}
    members = [g for (scope, _), g in groups.items() if scope == d["scope"] and "unknown" not in g["features"].values()]
    known = sum(g["n"] for g in members)
    rows = []
    for g in members:
        rate = g["metrics"]["selection_rate"]
        ratio = (by_group.get(g["id"]) or {}).get("value")
        excluded = exclude is not None and known > 0 and g["n"] / known < exclude
        rows.append(
            {
                "label": g["label"],
                "n": g["n"],
                "count": rate.get("numerator"),
                "rate": rate["value"],
                "ratio": None if excluded else ratio,
                "excluded": excluded,
                "share": g["n"] / known if known else None,
                "highest": d.get("comparator") == g["id"],
            }
        )
    width = len(d["scope"].split(" × "))
    return {
        "scope": d["scope"],
        "title": f"{SCOPE_TITLES.get(width, 'Categories')}: {d['scope']}",
        "rows": rows,
        "known": known,
    }


def _evidence_sha256(document: Mapping[str, Any]) -> str:
    from audit.report.results import canonical_json

    return hashlib.sha256(canonical_json(dict(document))).hexdigest()


def render_ll144_html(document: Mapping[str, Any], *, generated_at: str) -> str:
    """The summary as a self-contained HTML page (stylesheet inlined)."""
    import jinja2
    from markupsafe import Markup

    from audit.report.html import template_source
    from audit.report.html.render import environment
    from audit.report.labels import labels_for

    with labels_for(document):
        view = summary_view(document, generated_at=generated_at)
        try:
            return (
                environment()
                .get_template(TEMPLATE)
                .render(**view, stylesheet=Markup(template_source(STYLESHEET)), fmt=_FORMATS)
            )
        except jinja2.TemplateError as exc:
            raise RenderError(f"LL144 summary template error: {type(exc).__name__}: {exc}") from exc


def render_ll144_pdf(document: Mapping[str, Any], *, generated_at: str) -> bytes:
    """The summary as a one-page PDF/A-3b (no attachment: it is a public notice; results.json is named by hash)."""
    from audit.report.html import parse_generated_at
    from audit.report.pdf import html_to_pdf

    html = render_ll144_html(document, generated_at=generated_at)
    return html_to_pdf(html, created=parse_generated_at(generated_at), stylesheet=None)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def _date(value: str | None) -> str:
    if not value:
        return "—"
    try:
        return dt.date.fromisoformat(str(value)).strftime("%-d %B %Y")
    except ValueError:
        return str(value)


_FORMATS = {"rate": _rate, "ratio": _ratio, "count": _count, "date": _date}
