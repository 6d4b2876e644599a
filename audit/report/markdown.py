"""A short Markdown summary of the audit: for launch docs, pull requests and CI step summaries.

Rendered from the results document only. Group names and messages come from the data, so every
Markdown-active character in them is escaped: a group called ``**x**`` or ``[a](http://…)`` stays
inert text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from audit.judge.status import Status
from audit.util.display import visible

# Only what can change a table row's meaning in GitHub/Slack/Jira Markdown: escaping every
# punctuation mark makes pasted text unreadable where Markdown is not rendered.
_ACTIVE = re.compile(r"([\\`*_\[\]|<>])")
#: Every Status has an icon (tested), so a new status cannot break the summary.
ICON = {
    Status.PASS: "✅ PASS",
    Status.WARN: "⚠️ WARN",
    Status.FAIL: "❌ FAIL",
    Status.INSUFFICIENT_DATA: "❔ INSUFFICIENT DATA",
    Status.WAIVED: "📝 WAIVED",
    Status.INFO: "ℹ️ INFO",
}

#: Every comparison status has a heading (tested), so a new one cannot break the summary.
COMPARISON_STATE = {
    "REGRESSED": "❌ REGRESSED",
    "INSUFFICIENT_DATA": "❔ INSUFFICIENT_DATA",
    "NO_REGRESSION": "✅ NO_REGRESSION",
}


def _icon(status: str) -> str:
    return ICON[Status(status)]


def escape(text: object) -> str:
    return _ACTIVE.sub(r"\\\1", " ".join(visible(str(text)).split()))


def _observed(finding: dict[str, Any]) -> str:
    value = finding["observed"]
    if value is None:
        return "—"
    return _contrast_text(value, finding["compare"], limits=(finding.get("min_value"), finding.get("max_value")))


def _contrast_text(value: float, compare: str, limits: Sequence[float | None] = ()) -> str:
    """A ratio as a percentage, an odds ratio as a number, a difference in points; with more decimals when
    one would print it as a limit it is not (79.96%, never "80.0%" beside a FAIL)."""

    def text(x: float, digits: int) -> str:
        if compare == "odds_ratio":
            return f"OR {x:.{digits + 1}f}"
        return f"{x * 100:.{digits}f}%" if compare == "ratio" else f"{x * 100:.{digits}f} pts"

    digits = 1
    near = [b for b in limits if b is not None and not math.isclose(value, b, rel_tol=1e-9, abs_tol=1e-12)]
    while digits < 8 and any(text(value, digits) == text(b, digits) for b in near):
        digits += 1
    return text(value, digits)


def _outside(value: float, low: float | None, high: float | None) -> float:
    """How far ``value`` lies outside [low, high] (negative: how far inside)."""
    return max(low - value if low is not None else -math.inf, value - high if high is not None else -math.inf)


def _proxy_observed(document: dict[str, Any], item_id: str) -> str:
    """A rule on the probabilistic feature (or an intersection with it): the weighted estimate of its group
    farthest outside (or least inside) the limits, as a recorded rule shows its worst group's value."""
    proxy = document.get("proxy") or {}
    scopes = [(proxy.get("feature"), proxy.get("rules", []))]
    scopes += [(x["scope"], x["rules"]) for x in proxy.get("intersections", [])]
    for scope, rules in scopes:
        for rule in rules:
            if f"{rule['rule_id']}.{scope}" != item_id:
                continue
            values = [g["estimate"] for g in rule["groups"] if g.get("estimate") is not None]
            if not values:
                return "—"
            low, high = rule["min_value"], rule["max_value"]
            _, value = max((_outside(v, low, high), v) for v in values)
            return _contrast_text(value, rule["compare"], limits=(rule["min_value"], rule["max_value"]))
    return "—"


def _unknowns_line(finding: dict[str, Any], labels: dict[tuple[str, str], str]) -> str:
    """A rule's worst, proportional and best case over the rows of unknown category."""
    u = finding["unknowns"]

    def figure(name: str) -> str:
        f = u[name]
        return "—" if f is None else _observed(finding | {"observed": f["value"]})

    worst = u["worst"]
    where = ""
    if worst:
        where = f" ({escape(labels.get((worst['scope'], worst['group']), worst['group']))}, {escape(worst['scope'])})"
    verdict = "outside the bounds" if u["worst_fails"] else "within the bounds"
    return (
        f"- {escape(finding['rule_id'])}: up to {u['rows']:,} rows; worst case {figure('worst')}{where}, {verdict}; "
        f"proportional {figure('proportional')}; best case {figure('best')}; judged on {escape(u['judged_on'])}."
    )


def _proxy_markdown(proxy: dict[str, Any]) -> str:
    """A few lines on a probabilistic feature: how it was obtained, how its rules were judged (they are
    items of the table above), the bounds, and with self-reported values how well the proxy did."""
    how = (
        "probability columns supplied with the data"
        if proxy["source"] == "columns"
        else (
            f"estimated by {proxy['source'].upper()} from "
            + ", ".join(t["name"] for t in (proxy["estimate"] or {}).get("tables", []))
        )
    )
    intersections = proxy.get("intersections", [])
    counts: dict[str, int] = {}
    for rule in [*proxy["rules"], *(r for x in intersections for r in x["rules"])]:
        for row in rule["groups"]:
            if row["bounds_outcome"]:
                counts[row["bounds_outcome"]] = counts.get(row["bounds_outcome"], 0) + 1
    within = ", ".join(f"{n} {state.lower()}" for state, n in sorted(counts.items())) or "none"
    items = " and ".join(
        f"`RULE.{escape(scope)}`" for scope in [proxy["feature"], *(x["scope"] for x in intersections)]
    )
    crossed = (
        f" Its intersections with recorded features ({', '.join(escape(x['scope']) for x in intersections)}) are "
        "judged the same way, each group's expected counts and bounds taken within its recorded group."
        if intersections
        else ""
    )
    text = (
        f"{escape(proxy['feature'])} is probabilistic ({escape(how)}): rates are expected-count (weighted) "
        "estimates, and the rules on it are judged on them with their sampling intervals "
        f"(items {items} above).{crossed} The proxy's own error is a separate uncertainty: "
        f"against the limits, the partial-identification bounds are {within} (shown, not judged)."
    )
    reported = proxy.get("self_reported")
    if reported:
        quality = reported.get("quality") or {}
        per = "; ".join(
            f"{escape(g['group'])} AUC {'—' if g['auc'] is None else format(g['auc'], '.2f')}, "
            f"{g['members']:,} members vs {g['expected_members']:,.1f} expected"
            for g in quality.get("groups", [])
        )
        text += (
            f"  \n{reported['rows']:,} people have a self-reported value (`{escape(reported['column'])}`): they count "
            "in their own group and narrow the bounds."
            + (
                f" On them the proxy's Brier score is {quality['brier']:.3f}; {per}."
                if quality.get("brier") is not None
                else ""
            )
        )
    return text


def _sensitive_features(document: dict[str, Any]) -> list[str]:
    """The recorded sensitive features, then a probabilistic one marked as estimated."""
    names = list(document["audit"]["sensitive_features"])
    proxy = document.get("proxy")
    if proxy:
        names.append(f"{proxy['feature']} (estimated by proxy, not recorded)")
    return names


def render_markdown(document: dict[str, Any], *, report: Mapping[str, Any] | None = None) -> str:
    """The summary; ``report`` (``name``, ``sha256``, ``signed``) names the full PDF it accompanies."""
    policy, audit = document["policy"], document["audit"]
    lines = [
        f"## Fairgate audit: {_icon(document['verdict'])}",
        "",
        f"Policy **{escape(policy['id'])}** {escape(policy['version'])} — {escape(policy['title'])}  ",
        f"{audit['rows']:,} rows; sensitive features: {escape(', '.join(_sensitive_features(document)))}"
        + (
            (
                "  \nRows filtered (where): "
                + "; ".join(f"`{escape(c['clause'])}` removed {c['removed']:,}" for c in audit["where"])
            )
            if audit.get("where")
            else ""
        ),
        "",
        "| rule | status | observed | finding |",
        "|---|---|---|---|",
    ]
    rules = {f["rule_id"]: f for f in document["findings"]}
    shares = {r["check_id"]: r for r in document.get("representativeness", [])}
    for item in document["items"]:  # every judged item the verdict rests on
        if item["kind"] == "rule":
            observed = _observed(rules[item["id"]])
        elif item["kind"] == "unknowns":
            f = rules[item["id"].removesuffix(".unknowns")]
            observed = _observed(f | {"observed": f["unknowns"]["worst"]["value"]}) + " (worst case)"
        elif item["kind"] == "representativeness":
            observed = f"TVD {shares[item['id']]['tvd']:.3f}"
        elif item["kind"] == "proxy_rule":
            observed = _proxy_observed(document, item["id"])
        else:
            observed = "—"
        lines.append(f"| {escape(item['title'])} | {_icon(item['status'])} | {observed} | {escape(item['message'])} |")
    unknowns = [f for f in document["findings"] if f.get("unknowns")]
    if unknowns:
        lines += ["", "Unknown categories (rows whose sensitive value is missing, assigned to the known groups):", ""]
        labels = {(g["scope"], g["id"]): g["label"] for g in document["groups"]}
        lines += [_unknowns_line(f, labels) for f in unknowns]
    if document.get("waivers"):
        lines += [
            "",
            f"Waivers (audit date {escape(document['audit'].get('audit_date', '—'))}):",
            "",
            "| rule | group | state | expires | approved by | reason |",
            "|---|---|---|---|---|---|",
        ]
        for w in document["waivers"]:
            lines.append(
                f"| {escape(w['rule'])} | {escape(w['group'] or 'whole rule')} | {escape(w['state'])} | "
                f"{escape(w['expires'])} | {escape(w['approved_by'])} | {escape(w['reason'])} |"
            )
    if document.get("proxy"):
        lines += ["", _proxy_markdown(document["proxy"])]
    dataset = next((i for i in document["provenance"]["inputs"] if i["role"] == "dataset"), None)
    if dataset:
        lines += [
            "",
            f"Dataset sha256 `{dataset['sha256'][:16]}…`; evidence in results.json "
            f"(schema {document['schema_version']}).",
        ]
    if document.get("crosswalk"):
        lines += ["", crosswalk_line(document["crosswalk"])]
    if report:
        state = "signed" if report.get("signed") else "UNSIGNED DRAFT"
        lines += ["", f"Full report: `{report['name']}` ({state}), sha256 `{report['sha256']}`."]
    if document.get("comparison"):
        lines += ["", render_comparison_markdown(document["comparison"]).rstrip("\n")]
    if document.get("monitoring"):
        lines += ["", _monitoring_markdown(document["monitoring"], proxy=(document.get("proxy") or {}).get("windows"))]
    if document.get("segments"):
        lines += ["", segments_markdown(document["segments"], proxy=(document.get("proxy") or {}).get("segments"))]
    if document.get("probe"):
        from audit.report.probe import probe_markdown

        lines += ["", *probe_markdown(document["probe"], escape=escape)]
    return "\n".join(lines) + "\n"


def crosswalk_line(crosswalk: dict[str, Any]) -> str:
    """One line naming the frameworks the report's crosswalk maps (the statements are in the report)."""
    named = ", ".join(
        f"{escape(f['name'])} ({len(f['entries'])} provision{'s' if len(f['entries']) > 1 else ''})"
        for f in crosswalk["frameworks"]
    )
    return (
        f"Regulation crosswalk: {named}. What the report covers for each is in its crosswalk section and in "
        "results.json `crosswalk`; it is not a legal opinion."
    )


def segments_markdown(segmented: dict[str, Any], *, proxy: dict[str, Any] | None = None) -> str:
    """Each rule within each segment (policy ``segment_by``) and the segmented selection ratios; evidence
    beside the pooled verdict. ``proxy``: results.json ``proxy.segments``, the rules on a probabilistic
    feature within the same segments (``RULE.FEATURE``), listed after the recorded features' and followed
    by why nothing is pooled over the segments for it."""
    columns = ", ".join(segmented["columns"])
    lines = [f"**Within segments** ({escape(columns)}; evidence only, the verdict is the pooled audit's):", ""]
    on_proxy = {} if proxy is None else {_key(s["segment"]): s["findings"] for s in proxy["segments"]}
    for s in segmented["segments"]:
        label = ", ".join(f"{k} = {v}" for k, v in s["segment"].items())
        results = " · ".join(
            [
                *(f"{escape(f['rule_id'])} {_icon(f['status'])}" for f in s["findings"]),
                *(f"{escape(f['id'])} {_icon(f['status'])}" for f in on_proxy.get(_key(s["segment"]), [])),
            ]
        )
        lines.append(f"- {escape(label)} ({s['rows']} rows): {results}")
    if proxy is not None:
        reason = escape(proxy["pooled_over_segments"]["reason"])
        lines += ["", f"On the probabilistic feature, pooled over the segments: {reason}"]
    if segmented["selection_rate"]:
        lines += [
            "",
            "| rule | group vs comparator | pooled ratio | MH rate ratio (CI) | MH odds ratio | CMH p | "
            "Breslow–Day p |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in segmented["selection_rate"]:
            ci = r["rate_ratio_ci"]
            rate = "—" if r["rate_ratio"] is None else f"{r['rate_ratio']:.3f}"
            rate += f" ({ci[0]:.3f}–{ci[1]:.3f})" if ci else ""
            lines.append(
                f"| {escape(r['rule_id'])} | {escape(r['group'])} vs {escape(r['comparator'])} | "
                f"{_num(r['pooled_ratio'])} | {rate} | {_num(r['odds_ratio'])} | {_num(r['cmh_p_value'], 4)} | "
                f"{_num(r['breslow_day_p_value'], 4)} |"
            )
    return "\n".join(lines)


def _key(segment: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(segment.items())


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _monitoring_markdown(monitoring: dict[str, Any], *, proxy: dict[str, Any] | None = None) -> str:
    """Windows and the latest window's drift checks (audits run with --period-column); ``proxy``: results.json
    ``proxy.windows``, each window's rules on a probabilistic feature (they count in its verdict)."""
    windows = monitoring["windows"]
    trail = " · ".join(f"{escape(w['label'])} {_icon(w['verdict'])}" for w in windows)
    lines = [
        f"**Per {escape(monitoring['period'])}** ({escape(monitoring['period_column'])}; the verdict is the "
        f"{escape(monitoring['verdict_from'])} window's): {trail}"
    ]
    if proxy is not None:
        lines += ["", "On the probabilistic feature, per window (each window's verdict counts them):", ""]
        for w in proxy["windows"]:
            results = " · ".join(f"{escape(f['id'])} {_icon(f['status'])}" for f in w["findings"]) or "no rule"
            lines.append(f"- {escape(w['label'])} ({w['rows']:,} rows): {results}")
        lines += ["", f"Drift rules on the probabilistic feature: {escape(proxy['drift']['reason'])}"]
    return "\n".join(lines)  # the latest window's drift checks are judged items: listed in the main table


def render_comparison_markdown(comparison: dict[str, Any]) -> str:
    from audit.judge.compare import ComparisonStatus, comparison_status

    status = comparison_status(comparison)
    state = COMPARISON_STATE[status]
    lines = [f"## Fairgate comparison: {state}", ""]
    if comparison.get("reason"):
        lines += [escape(comparison["reason"]), ""]
    lacking = [r for r in comparison.get("rules") or [] if r["status"] == ComparisonStatus.INSUFFICIENT_DATA.value]
    for r in lacking:
        lines.append(f"- ❔ {escape(r['rule_id'])}: insufficient data. {escape(r['reason'])}")
    if lacking:
        lines.append("")
    if not comparison["changes"]:
        return "\n".join(lines).rstrip("\n") + "\n"
    lines += ["| rule | group | baseline | candidate | change (CI) | result |", "|---|---|---|---|---|---|"]
    for c in comparison["changes"]:
        ci = "—" if c["ci"] is None else f"{c['ci'][0]:+.3f} to {c['ci'][1]:+.3f}"
        result = (
            "REGRESSED" if c["regressed"] else ("worse, within tolerance" if c["worse_by"] > 0 else "same or better")
        )  # noqa: E501
        lines.append(
            f"| {escape(c['rule_id'])} | {escape(c['group'])} | {c['baseline']:.3f} | {c['candidate']:.3f} "
            f"| {c['change']:+.3f} ({ci}) | {result} |"
        )
    return "\n".join(lines) + "\n"


def _disparity_cell(d: dict[str, Any]) -> str:
    if d["observed"] is None:
        return "—"
    value = _contrast_text(d["observed"], d["compare"])
    return f"{value} ({d['worst_group']})" if d.get("worst_group") else value


def alternatives_rows(document: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The less-discriminatory-alternatives table as text cells (the console and Markdown both print it):
    one row per candidate — name, accuracy, AUC, each rule's worst disparity, verdict, passes, frontier."""
    header = ["candidate", "accuracy", "AUC", *document["rules"], "verdict", "passes", "frontier"]
    rows = []
    for c in document["candidates"]:
        rows.append(
            [
                c["name"],
                "—" if c["accuracy"] is None else f"{c['accuracy']:.4f}",
                "—" if c["auc"] is None else f"{c['auc']:.4f}",
                *(_disparity_cell(d) for d in c["disparities"]),
                c["verdict"],
                "yes" if c["passes"] else "no",
                "* yes" if c["frontier"] else "no",
            ]
        )
    return header, rows


def render_alternatives_markdown(document: dict[str, Any]) -> str:
    """The less-discriminatory-alternatives view: a table of every candidate, the frontier marked."""
    policy = document["policy"]
    header, rows = alternatives_rows(document)
    on = [c["name"] for c in document["candidates"] if c["frontier"]]
    passing = [c["name"] for c in document["candidates"] if c["frontier"] and c["passes"]]
    lines = [
        "## Fairgate: less discriminatory alternatives",
        "",
        f"Policy **{escape(policy['id'])}** {escape(policy['version'])}; sensitive features: "
        f"{escape(', '.join(document['sensitive_features']))}; performance: {escape(document['performance'])}; "
        f"each rule's column is its worst observed value (worst group).",
        "",
        "| " + " | ".join(escape(h) for h in header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(escape(cell) for cell in row) + " |" for row in rows]
    lines += [
        "",
        f"Frontier ({escape(document['frontier_rule'])}): {escape(', '.join(on))}.",
        f"On the frontier and passing the policy: {escape(', '.join(passing)) or 'none'}.",
    ]
    return "\n".join(lines) + "\n"
