"""The report's view model: everything the templates show, prepared from the results document.

``build_view`` reads only the document and the report's context (its date, the signers to be
applied, the medium) and returns the mapping the templates are rendered with. Values from the
document are shortened and labelled here; they are escaped by the environment (``render.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import shlex
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any, Protocol

from audit.errors import RenderError
from audit.report.html.format import MAX_LABEL, FullText, fmt_limit, fmt_pct, shorten, status_words
from audit.report.labels import display_text, group_label, is_scoring, metric_label, relabels
from audit.report.many_groups import (
    SHOWN_ROWS,
    metrics_sentence,
    shown_groups,
    summarise,
    summarised_scopes,
    summary_sentence,
)

SUPPORTED_SCHEMAS = ("1.0",)

#: The document's groups by (scope, group id).
_Groups = Mapping[tuple[str, str], Mapping[str, Any]]

#: Group-metric table columns, in order; metrics a rule uses are added after these.
MAIN_METRICS = (
    "selection_rate",
    "base_rate",
    "true_positive_rate",
    "false_positive_rate",
    "precision",
    "accuracy",
)

#: Plain, direction-neutral definitions ("positive decision", not "favourable": for a risk
#: score the positive decision may be adverse to the person).
_POS, _NEG = "the positive decision", "the negative decision"
SCORING_DEFINITION = (
    "Share of the group scored above the median score of the whole sample (LL144's scoring rate, 6 RCNY § 5-300)."
)
DEFINITIONS = {
    "selection_rate": "Share of the group that received the positive decision.",
    "base_rate": "Share of the group whose true outcome is positive.",
    "true_positive_rate": f"Of those whose true outcome is positive, the share given {_POS}.",
    "false_positive_rate": f"Of those whose true outcome is negative, the share given {_POS}.",
    "false_negative_rate": f"Of those whose true outcome is positive, the share given {_NEG}.",
    "true_negative_rate": f"Of those whose true outcome is negative, the share given {_NEG}.",
    "precision": f"Of those given {_POS}, the share whose true outcome is positive.",
    "negative_predictive_value": f"Of those given {_NEG}, the share whose outcome is negative.",
    "false_discovery_rate": f"Of those given {_POS}, the share whose true outcome is negative.",
    "false_omission_rate": f"Of those given {_NEG}, the share whose true outcome is positive.",
    "accuracy": "Share of the group whose decision matches their true outcome.",
    "f1": "Harmonic mean of precision and true positive rate.",
    "balanced_accuracy": "Mean of the true positive and true negative rates.",
    "positive_likelihood_ratio": "True positive rate divided by false positive rate (LR+).",
    "negative_likelihood_ratio": "False negative rate divided by true negative rate (LR−).",
    "ppr": "The group's share of all positive decisions in its scope (Aequitas' ppr).",
    "group_size_share": "The group's share of the people in its scope.",
    "count": "The number of people in the group.",
}
#: Who is in each metric's base (its denominator), in words.
BASES = {
    "selection_rate": "everyone in the group",
    "base_rate": "everyone in the group",
    "accuracy": "everyone in the group",
    "true_positive_rate": "people whose true outcome is positive",
    "false_negative_rate": "people whose true outcome is positive",
    "false_positive_rate": "people whose true outcome is negative",
    "true_negative_rate": "people whose true outcome is negative",
    "precision": "people given the positive decision",
    "false_discovery_rate": "people given the positive decision",
    "negative_predictive_value": "people given the negative decision",
    "false_omission_rate": "people given the negative decision",
    "ppr": "everyone given the positive decision in the scope",
    "group_size_share": "everyone in the scope",
}


class ViewContext(Protocol):
    """What the view reads of the report's context (``render.ReportContext`` is one)."""

    @property
    def generated_at(self) -> str: ...
    @property
    def signers(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def medium(self) -> str: ...
    @property
    def companion_pdf(self) -> Mapping[str, Any] | None: ...


def parse_generated_at(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise RenderError(f"report date {value!r} is not an ISO 8601 date-time") from exc
    if moment.tzinfo is None:
        raise RenderError(f"report date {value!r} has no time zone", hint="use UTC, e.g. 2025-01-31T12:00:00Z")
    return moment


def canonical_evidence(document: Mapping[str, Any], *, attached: bool = False) -> dict[str, Any]:
    from audit.report.results import canonical_json

    data = canonical_json(dict(document))
    return {
        "name": "results.json",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "attached": attached,
        "others": [],
    }


# --- the view: everything the templates show, prepared from the document ------------------


def trends_view(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The trend section's view (audit.report.charts.trends), when the audit ran per time window."""
    if not document.get("monitoring"):
        return None
    from audit.report.charts.trends import trends_view as view

    return view(document)


def probe_view(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The probe section's view (audit.report.probe), when the audit probed a served model."""
    if not document.get("probe"):
        return None
    from audit.report.probe import probe_view as view

    return view(document["probe"])


def build_view(
    document: Mapping[str, Any],
    *,
    context: ViewContext,
    evidence: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The mapping the templates are rendered with: one helper per part of the report."""
    _check_schema(document)
    utc = parse_generated_at(context.generated_at).astimezone(dt.UTC)
    groups = {(g["scope"], g["id"]): g for g in document["groups"]}
    # a PDF of many groups summarises their tables (audit.report.many_groups); the HTML copy shows all
    summarised = summarised_scopes(document) if context.medium == "pdf" else set()
    display, notes = summarise(document, summarised) if summarised else (document, {})
    findings = [_finding_view(i, f, display, groups, notes) for i, f in enumerate(document["findings"], 1)]
    metrics = _table_metrics(document)
    signers = [_signer_view(s) for s in context.signers]
    return {
        "doc": document,
        **_verdict_part(document),
        **_policy_part(document["policy"]),
        **_audit_part(document),
        **_findings_part(document, findings),
        **_tables_part(document, findings, metrics, display, summarised),
        **_methods_part(document, metrics),
        **_issue_part(document, context, signers, utc),
        **_provenance_part(document, evidence),
        "trends": trends_view(document),
        "crosswalk": crosswalk_view(document),
        "probe": probe_view(document),
    }


def crosswalk_view(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The crosswalk section's tables: per framework, each provision with the report's parts that answer it."""
    block = document.get("crosswalk") or {}
    return [
        {
            "name": f["name"],
            "instrument": f["instrument"],
            "entries": [e | {"where": [s["title"] for s in e["sections"]]} for e in f["entries"]],
        }
        for f in block.get("frameworks", ())
    ]


def _check_schema(document: Mapping[str, Any]) -> None:
    schema = document.get("schema_version")
    if schema not in SUPPORTED_SCHEMAS:
        raise RenderError(
            f"results schema version {schema!r} is not supported by this report "
            f"(supported: {', '.join(SUPPORTED_SCHEMAS)})"
        )


def _verdict_part(document: Mapping[str, Any]) -> dict[str, Any]:
    """The verdict on the cover, in words."""
    return {
        "verdict": document["verdict"],
        "verdict_words": status_words(document["verdict"]),
        "verdict_meaning": _verdict_meaning(document),
        "summary": document["summary"],
    }


def _policy_part(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The policy as validated, and the settings of it the text refers to."""
    return {
        "policy": policy,
        "policy_yaml": _policy_text(policy["document"]),
        "rule_min_counts": sorted(
            {
                r["min_count"]
                for r in policy["document"].get("rules") or []
                if isinstance(r, Mapping) and r.get("min_count")
            }
        ),
        "exclude_below_share": (policy["document"].get("groups") or {}).get("exclude_below_share"),
        "include_unknown": bool(policy["document"].get("groups", {}).get("include_unknown", False)),
    }


def _audit_part(document: Mapping[str, Any]) -> dict[str, Any]:
    """What was audited and how: the data, the model or its decisions, the counts' limits."""
    audit = document["audit"]
    min_count = audit["min_count"]
    inputs = document["provenance"]["inputs"]
    dataset = next((i for i in inputs if i["role"] == "dataset"), None)
    model = next((i for i in inputs if i["role"] == "model"), None)
    return {
        "audit": audit,
        "level_pct": fmt_pct(audit["confidence_level"], 0),
        "min_count": min_count,
        "dataset": _input_view(dataset),
        "model": _input_view(model),
        "predictions": _predictions_view(audit),
        "scoring": is_scoring(document),
        "unknown_counts": sorted((audit.get("unknown_counts") or {}).items()),
        # rows left out of the audit (no score) whose sensitive value is missing: still the unknown category
        "excluded_unknown": {k: v for k, v in (audit.get("excluded_unknown_counts") or {}).items() if v},
        "has_unknown": any("unknown" in g["features"].values() for g in document["groups"]),
        "small_groups": sum(1 for g in document["groups"] if g["scope"] != "overall" and g["n"] < min_count),
    }


def _findings_part(document: Mapping[str, Any], findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The findings, and the cover's summary of them."""
    return {
        "findings": findings,
        "cover_sections": _cover_sections(document, findings),
        "waived_or_info": [f for f in findings if f["status"] in ("WAIVED", "INFO")],
        "decision_rules": list(
            dict.fromkeys(f.get("decision_rule") or _DECIDE_ON["point"] for f in document["findings"])
        ),
        "has_extreme": any(d.get("extreme") for d in document["disparities"]),
    }


def _tables_part(
    document: Mapping[str, Any],
    findings: list[dict[str, Any]],
    metrics: list[str],
    display: Mapping[str, Any],
    summarised: set[str],
) -> dict[str, Any]:
    """The group-metric tables, the representation charts and the metrics' definitions."""
    return {
        "metric_tables": _metric_tables(document, metrics, display, summarised),
        "representation_charts": _representation_charts(document),
        "metrics": metrics,
        "definitions": [
            _definition(m, scoring=is_scoring(document))
            for m in metrics + [f["rule"]["metric"] for f in findings if f["rule"]["metric"] not in metrics]
        ],
    }


def _methods_part(document: Mapping[str, Any], metrics: list[str]) -> dict[str, Any]:
    """The statistical methods behind the intervals and tests shown, for the methods section."""
    shown_metrics = set(metrics) | {f["metric"] for f in document["findings"]}
    return {
        "ci_methods": sorted(
            {
                str(m.get("ci_method"))
                for g in document["groups"]
                for name, m in g["metrics"].items()
                if name in shown_metrics and m.get("ci") and m.get("ci_method")
            }
        ),
        "contrast_methods": sorted(
            {
                str(o.get("ci_method"))
                for d in document["disparities"]
                for o in d["groups"]
                if o.get("ci") and o.get("ci_method")
            }
        ),
        "test_methods": sorted(
            {str(o["test_method"]) for d in document["disparities"] for o in d["groups"] if o.get("test_method")}
        ),
    }


def _issue_part(
    document: Mapping[str, Any], context: ViewContext, signers: list[dict[str, Any]], utc: dt.datetime
) -> dict[str, Any]:
    """This copy of the report: its date, its signers (or draft marking), its title and medium."""
    return {
        "generated_at": context.generated_at,
        "generated_display": utc.strftime("%Y-%m-%d %H:%M UTC"),
        "generated_w3c": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "signers": signers,
        "signed": bool(signers),
        "development_key": any(s["development_only"] for s in signers),
        "signoff": _signoff(signers, utc.strftime("%Y-%m-%d")),
        "title": _title(document, signed=bool(signers)),
        "medium": context.medium,
        "companion_pdf": dict(context.companion_pdf) if context.companion_pdf else None,
    }


def _provenance_part(document: Mapping[str, Any], evidence: Mapping[str, Any] | None) -> dict[str, Any]:
    """Where the numbers come from: the inputs, versions, command and the evidence file."""
    command = document["provenance"]["command"]
    return {
        "inputs": [_input_view(i) for i in document["provenance"]["inputs"]],
        "versions": sorted(document["provenance"]["versions"].items()),
        "command": shlex.join(str(c) for c in command) if command else "",
        "evidence": dict(evidence) if evidence is not None else canonical_evidence(document),
        "tool": document["tool"],
    }


def _title(document: Mapping[str, Any], *, signed: bool) -> str:
    pol = document["policy"]
    draft = "" if signed else " (unsigned draft)"
    return f"Fairness audit — {pol['title']} ({pol['id']} {pol['version']}): {status_words(document['verdict'])}{draft}"


def _verdict_meaning(document: Mapping[str, Any]) -> str:
    verdict = document["verdict"]
    s = document["summary"]
    if verdict == "FAIL":
        return "The model does not meet this policy: at least one blocking rule failed."
    if verdict == "WARN":
        return (
            "No blocking rule failed, but at least one warning-level rule was not met. "
            "Review the warnings before release."
        )
    if verdict == "INSUFFICIENT_DATA":
        return (
            "The data could not support a judgement on at least one rule. "
            "This is not a pass: those rules were not shown to be met."
        )
    not_judged = sum(f["groups_not_judged"] for f in document["findings"])
    tail = (
        f" {not_judged} group comparison(s) were not judged (unknown values, or excluded by the policy) "
        "and are not covered by this result."
        if not_judged
        else ""
    )
    aside = [f"{s[k]} {k.upper()}" for k in ("waived", "info") if s.get(k)]
    met = f"Every one of the {s['rules']} item(s) checked was met" + (
        f" or set aside ({', '.join(aside)}; see below)." if aside else "."
    )
    return met + tail


#: The cover's executive summary: every judged item, in these groups (every Status is in one: tested).
COVER_GROUPS = (
    ("Not met", ("FAIL", "WARN")),
    ("Could not be judged", ("INSUFFICIENT_DATA",)),
    ("Waived", ("WAIVED",)),
    ("For context only (never gates)", ("INFO",)),
    ("Met", ("PASS",)),
)


def _cover_sections(document: Mapping[str, Any], findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item that drives the verdict (rules, data checks, score rules, drift, comparison), grouped
    by status; a rule links to its finding and lists its groups outside the limit."""
    by_rule = {f["rule"]["rule_id"]: f for f in findings}
    entries = []
    for item in document["items"]:
        finding = by_rule.get(item["id"]) if item["kind"] == "rule" else None
        entries.append(
            {
                "status": item["status"],
                "title": item["title"],
                "id": item["id"],
                "kind": item["kind"],
                "severity": item["severity"],
                "message": finding["message"] if finding else item["message"],
                "anchor": finding["anchor"] if finding else None,
                "outside": finding["outside"] if finding else [],
                "compare": finding["rule"]["compare"] if finding else None,
                "limits": [finding["rule"]["min_value"], finding["rule"]["max_value"]] if finding else [],
            }
        )
    return [
        {"heading": heading, "items": [e for e in entries if e["status"] in statuses]}
        for heading, statuses in COVER_GROUPS
        if any(e["status"] in statuses for e in entries)
    ]


def _input_view(item: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    path = str(item["path"])
    files = item.get("files")
    name = f"{path} ({len(files):,} files)" if files else (PurePath(path).name or path)
    return {**item, "name": name, "short": str(item["sha256"])[:12]}


def _predictions_view(audit: Mapping[str, Any]) -> dict[str, Any]:
    pred = audit["predictions"]
    source = pred.get("source")
    if source == "score_threshold":
        return {
            "kind": "score",
            "column": pred.get("column"),
            "threshold": pred.get("threshold"),
            "median": pred.get("rule") == "score > sample median",
        }
    if source == "prediction_column":
        return {"kind": "column", "column": pred.get("column")}
    return {
        "kind": "model",
        "model_kind": pred.get("kind"),
        "features": pred.get("feature_names") or [],
        "classes": pred.get("classes") or [],
    }


def _signer_view(s: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": str(s.get("name", "")),
        "role": str(s.get("role", "")),
        "development_only": bool(s.get("development_only", False)),
        "fingerprint": str(s.get("fingerprint", "") or ""),
        "tsa": str(s.get("tsa") or ""),  # the RFC 3161 timestamp authority's URL; "" = the signer's clock
    }


#: Sign-off lines that get an empty, visible signature field in a signed report (see audit/report/pdf.py).
COUNTERSIGN_ROLES = ("reviewer", "approver")
#: The HTML id of a reserved signature box is this prefix + the role; the PDF renderer finds it by it.
SIGNATURE_ANCHOR_PREFIX = "fairgate-signature-"


def _signoff(signers: list[dict[str, Any]], date: str) -> list[dict[str, str]]:
    """One line per role; a role signed when the report was issued shows it, with the date.

    In a report that is being signed, the reviewer's and approver's lines are reserved for their
    countersignatures: ``field`` names the anchor the PDF renderer turns into an empty signature field.
    """
    by_role = {s["role"].lower(): s["name"] for s in signers}
    reserved = {role for role in COUNTERSIGN_ROLES if signers and role not in by_role}
    return [
        {
            "role": role.capitalize(),
            "name": by_role.get(role, ""),
            "signature": "digitally signed (fairgate verify)" if role in by_role else "",
            "date": date if role in by_role else "",
            "field": SIGNATURE_ANCHOR_PREFIX + role if role in reserved else "",
        }
        for role in ("author", "reviewer", "approver")
    ]


_POLICY_ORDER = (
    "fairgate",
    "id",
    "version",
    "title",
    "description",
    "citation",
    "columns",
    "groups",
    "confidence_level",
    "rules",
)
_RULE_ORDER = (
    "id",
    "title",
    "metric",
    "compare",
    "against",
    "min_value",
    "max_value",
    "severity",
    "features",
    "explanation",
    "citation",
)


def _ordered(mapping: Mapping[str, Any], order: Sequence[str]) -> dict[str, Any]:
    """Same content, keys in reading order (results.json stores them sorted)."""
    head = {k: mapping[k] for k in order if k in mapping}
    return head | {k: v for k, v in mapping.items() if k not in head}


def _policy_text(policy_document: Mapping[str, Any]) -> str:
    import yaml

    doc = _ordered(policy_document, _POLICY_ORDER)
    if isinstance(doc.get("rules"), list):
        doc["rules"] = [_ordered(r, _RULE_ORDER) if isinstance(r, Mapping) else r for r in doc["rules"]]
    return FullText(
        yaml.safe_dump(
            _shorten_all(_without_unset(doc)), sort_keys=False, allow_unicode=True, width=88, default_flow_style=False
        )
    )


def _without_unset(value: Any) -> Any:
    """The policy as a reader wants it printed: keys left unset (null, empty lists and maps) dropped.

    The complete document, defaults included, is in results.json (``policy.document``).
    """
    if isinstance(value, Mapping):
        kept = {k: _without_unset(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not None and v != [] and v != {}}
    if isinstance(value, list):
        return [_without_unset(v) for v in value]
    return value


def _shorten_all(value: Any) -> Any:
    """Every string in a nested document cut to ``MAX_TEXT`` (the policy as printed)."""
    if isinstance(value, Mapping):
        return {k: _shorten_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten_all(v) for v in value]
    return shorten(value)


def _table_metrics(document: Mapping[str, Any]) -> list[str]:
    """Metrics worth a column: the main ones and every rule's, when applicable to this audit."""
    wanted = list(MAIN_METRICS)
    wanted += [f["metric"] for f in document["findings"] if f["metric"] not in wanted and f["metric"] != "count"]
    out = []
    for name in wanted:
        values = [g["metrics"].get(name) for g in document["groups"]]
        if any(v is None for v in values):
            continue  # not computed by this version
        if all(str(v.get("ci_method") or "").startswith("not applicable") for v in values):
            continue  # e.g. label metrics in a label-less audit
        out.append(name)
    return out


def _definition(name: str, *, scoring: bool = False) -> dict[str, str]:
    from audit.measures.metrics import COMPOSITE, LIKELIHOOD_RATIOS, REGISTRY, SHARES

    others = COMPOSITE | LIKELIHOOD_RATIOS | SHARES
    formula = REGISTRY[name].formula if name in REGISTRY else (others[name][1] if name in others else "")
    return {
        "name": name,
        "label": metric_label(name, scoring=scoring),
        "formula": formula,
        "description": (SCORING_DEFINITION if scoring and name == "selection_rate" else DEFINITIONS.get(name, "")),
        "base": BASES.get(name, ""),
    }


def is_rate(name: str | None) -> bool:
    """Rates print as percentages; regression metrics (errors, means) as plain numbers."""
    from audit.measures.metrics import COMPOSITE, REGISTRY, SHARES, canonical_name

    return name is None or any(canonical_name(name) in names for names in (REGISTRY, COMPOSITE, SHARES))


def _cell(metric: Mapping[str, Any] | None, min_count: int, name: str | None = None) -> dict[str, Any]:
    if metric is None:
        return {
            "value": None,
            "ci": None,
            "num": None,
            "den": None,
            "small": False,
            "rate": is_rate(name),
            "why": "not computed",
        }
    den = metric.get("denominator")
    value = metric.get("value")
    why = ""
    if value is None:
        method = metric.get("ci_method")
        why = str(method) if method else "no one in its base"
    return {
        "value": value,
        "ci": metric.get("ci"),
        "num": metric.get("numerator"),
        "den": den,
        "small": den is not None and value is not None and den < min_count,
        "rate": is_rate(name),
        "why": why,
    }


def _metric_tables(
    document: Mapping[str, Any], metrics: list[str], display: Mapping[str, Any], summarised: set[str]
) -> list[dict[str, Any]]:
    """One table per scope (overall, then each feature or intersection), a row per group; in a
    ``summarised`` scope only the groups its findings show (``display``), with a sentence saying so."""
    min_count = document["audit"]["min_count"]
    share = (document["policy"]["document"].get("groups") or {}).get("exclude_below_share")
    scope_order: list[str] = list(dict.fromkeys(g["scope"] for g in document["groups"]))
    tables = []
    for scope in scope_order:
        members = [g for g in document["groups"] if g["scope"] == scope]
        known = sum(g["n"] for g in members if "unknown" not in g["features"].values())
        floor = share * known if share else None  # groups smaller than this are not judged
        summary = None
        if scope in summarised:
            shown = shown_groups(display, scope)
            total = len(members)
            members = [g for g in members if g["id"] in shown] or sorted(members, key=lambda g: -g["n"])[:SHOWN_ROWS]
            summary = metrics_sentence(total, len(members))
        rows = [_table_row(g, scope, metrics, min_count, floor) for g in members]
        tables.append({"scope": scope, "rows": rows, "summary": summary})
    return tables


def _table_row(
    g: Mapping[str, Any], scope: str, metrics: list[str], min_count: int, floor: float | None
) -> dict[str, Any]:
    unknown = "unknown" in g["features"].values()
    return {
        "label": shorten(group_label(g["label"]), MAX_LABEL),
        "n": g["n"],
        "small": scope != "overall" and g["n"] < min_count,
        # the same test as the judging step (measures/disparities.py): reported, not judged
        "excluded": floor is not None and scope != "overall" and not unknown and g["n"] < floor,
        "unknown": unknown,
        "cells": [_cell(g["metrics"].get(m), min_count, m) for m in metrics],
    }


def _comparator_words(against: str) -> str:
    return {
        "max": "the highest",
        "min": "the lowest",
        "reference": "the reference group's",
        "overall": "the overall population's",
    }.get(against, against)


_DECIDE_ON = {  # fallback when the document predates "decision_rule"
    "point": "a group fails when its estimate is outside the bounds",
}


def _policy_rule(document: Mapping[str, Any], rule_id: str) -> Mapping[str, Any]:
    rules = document["policy"]["document"].get("rules") or []
    return next((r for r in rules if isinstance(r, Mapping) and r.get("id") == rule_id), {})


def _decision_words(
    f: Mapping[str, Any],
    min_count: int,
    references: Mapping[str, str],
    exclude_below_share: float | None,
    *,
    scoring: bool = False,
) -> str:
    metric = metric_label(f["metric"], scoring=scoring)
    against = f["against"]
    if against == "reference":
        refs = ", ".join(f"{k} = {v}" for k, v in references.items()) or "none set"
        comparator = f"the reference group's {metric} (policy reference: {refs})"
    elif against == "overall":
        comparator = (
            f"the overall population's {metric} (every row of the scope with known values; interval and test "
            "from the group against the rest of the population, which is independent of it)"
        )
    else:
        comparator = f"{_comparator_words(against)} {metric} among the judged groups of the same scope"
    bounds = []
    if f["min_value"] is not None:
        bounds.append(f"at least {fmt_limit(f['min_value'], f['compare'])}")
    if f["max_value"] is not None:
        bounds.append(f"at most {fmt_limit(f['max_value'], f['compare'])}")
    need = " and ".join(bounds) or "within no stated bound"
    if f["compare"] == "ratio":
        how = f"Each group's {metric} is divided by {comparator}. The ratio must be {need}."
    elif f["compare"] == "odds_ratio":
        how = (
            f"Each group's odds (its {metric} p as p / (1 − p)) are divided by the odds of {comparator}. "
            f"The odds ratio must be {need}."
        )
    elif f["compare"] == "absolute_difference":
        how = f"Each group's {metric} is compared with {comparator}. The gap, in either direction, must be {need}."
    else:
        how = (
            f"{comparator[0].upper() + comparator[1:]} is subtracted from each group's {metric}. "
            f"The difference (negative: below the comparator) must be {need}."
        )
    rule = f.get("decision_rule") or _DECIDE_ON.get(f.get("decide_on", "point"), "")
    decided = f" Decision rule: {rule}." if rule else ""
    base = BASES.get(f["metric"])
    share = (
        f", it makes up at least {fmt_pct(exclude_below_share, 1)} of the data with known values"
        if exclude_below_share
        else ""
    )
    judged = (
        f" A group is judged when its sensitive values are known{share}. A comparison resting on fewer than "
        f"{min_count} {'person' if min_count == 1 else 'people'} in the metric's base"
        f"{' (' + base + ')' if base else ''} on either side is decided by Fisher's exact test: outside the limit "
        "and significant fails; outside but not significant warns; inside with an interval that crosses the "
        "limit is insufficient data."
    )
    effect = (
        " One failing group makes this blocking rule FAIL."
        if f["severity"] == "block"
        else " One failing group makes this rule WARN (it does not block release)."
    )
    return how + decided + judged + effect


def _direction(d: Mapping[str, Any], o: Mapping[str, Any]) -> str:
    """'below'/'above' the comparator for an absolute difference (which hides the sign)."""
    if d["compare"] != "absolute_difference" or o["value"] is None or o["status"] == "COMPARATOR":
        return ""
    a, b = o.get("metric_value"), d.get("comparator_value")
    if a is None or b is None or a == b:
        return ""
    return "below comparator" if a < b else "above comparator"


def _extreme_view(d: Mapping[str, Any], rows: list[dict[str, Any]], groups: _Groups) -> dict[str, Any] | None:
    """The scope's most extreme ratio or gap, and whether it is a row of the table with the same
    interval (then it is printed once, in that row: one interval per number)."""
    extreme = d.get("extreme")
    if not extreme:
        return None
    pair = extreme.get("groups") or [None, None]
    labels = [
        shorten(group_label(groups[(d["scope"], g)]["label"]), MAX_LABEL) if (d["scope"], g) in groups else g
        for g in pair
    ]
    row = next((r for r, o in zip(rows, d["groups"], strict=True) if o["group"] == pair[0]), None)
    same = [row["value"], *row["ci"]] if row is not None and row["ci"] else None
    in_row = (
        same is not None
        and d["comparator"] == pair[1]
        and extreme["ci"] is not None
        and all(
            math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
            for a, b in zip(same, [extreme["value"], *extreme["ci"]], strict=True)
        )
    )
    return dict(extreme) | {"labels": labels, "in_row": in_row}


def _finding_view(
    index: int,
    f: Mapping[str, Any],
    document: Mapping[str, Any],
    groups: _Groups,
    notes: Mapping[tuple[str, str], Any],
) -> dict[str, Any]:
    from audit.report.charts import finding_charts

    audit = document["audit"]
    rule = _policy_rule(document, f["rule_id"])
    min_count = rule.get("min_count") or audit["min_count"]
    policy_groups = document["policy"]["document"].get("groups", {}) or {}
    # a rule's own reference overrides the policy's, feature by feature
    references = {**(policy_groups.get("reference", {}) or {}), **(rule.get("reference") or {})}
    scopes = [
        _scope_view(d, groups, min_count)
        | {
            "summary": summary_sentence(notes[(f["rule_id"], d["scope"])])
            if (f["rule_id"], d["scope"]) in notes
            else None,
            # failing groups a summarised table leaves out (they are in groups.csv)
            "more_outside": notes[(f["rule_id"], d["scope"])]["outside"]
            - notes[(f["rule_id"], d["scope"])]["outside_shown"]
            if (f["rule_id"], d["scope"]) in notes
            else 0,
        }
        for d in document["disparities"]
        if d["rule_id"] == f["rule_id"]
    ]
    return {
        "index": index,
        "anchor": f"finding-{index}",  # ids from positions, never from data
        "rule": f,
        "message": display_text(f["message"], relabels(document)),
        "status": f["status"],
        "decision": _decision_words(
            f, min_count, references, policy_groups.get("exclude_below_share"), scoring=is_scoring(document)
        ),
        "min_count": min_count,
        "tested": any(sc["tested"] for sc in scopes),
        "charts": finding_charts(document, f["rule_id"]),
        "scopes": scopes,
        "segments": segments_view(document, f["rule_id"]),
        "not_judged": [
            (s["scope"], r) for s in scopes for r in s["rows"] if r["status"] in ("NOT_JUDGED", "INCONCLUSIVE")
        ],
        "outside": [
            {
                "scope": s["scope"],
                "rate": s["rate"],
                "count": s["failing"],
                "rows": [r for r in s["rows"] if r["status"] in ("FAIL", "NOT_SIGNIFICANT")],
                "more": s["more_outside"],
            }
            for s in scopes
            if s["failing"]
        ],
    }


def segments_view(document: Mapping[str, Any], rule_id: str) -> dict[str, Any] | None:
    """The rule within each segment (policy ``segment_by``) and, for a selection-rate rule, each group's
    segmented selection ratio pooled by Mantel–Haenszel; None without segments."""
    segmented = document.get("segments")
    if not segmented:
        return None
    rows = []
    for s in segmented["segments"]:
        f = next((x for x in s["findings"] if x["rule_id"] == rule_id), None)
        if f is not None:
            label = ", ".join(f"{k} = {v}" for k, v in s["segment"].items())
            rows.append(
                {
                    "segment": shorten(label, MAX_LABEL),
                    "rows": s["rows"],
                    "status": f["status"],
                    "observed": f["observed"],
                }
            )
    names = {g["id"]: g["label"] for g in document["groups"]}
    ratios = [
        r
        | {
            "label": shorten(group_label(names.get(r["group"], r["group"])), MAX_LABEL),
            "against": shorten(group_label(names.get(r["comparator"], r["comparator"])), MAX_LABEL),
        }
        for r in segmented["selection_rate"]
        if r["rule_id"] == rule_id
    ]
    return {"columns": ", ".join(segmented["columns"]), "rows": rows, "ratios": ratios}


def _scope_view(d: Mapping[str, Any], groups: _Groups, min_count: int) -> dict[str, Any]:
    """One scope's table in a finding: a row per group compared, against the scope's comparator."""
    comparator = groups.get((d["scope"], d["comparator"])) if d["comparator"] else None
    rows = [_contrast_row(d, o, groups, min_count) for o in d["groups"]]
    label = shorten(group_label(comparator["label"]), MAX_LABEL) if comparator else None
    if d.get("against") == "overall" and d["comparator"]:
        label = "the overall population"
    return {
        "scope": d["scope"],
        "note": d["note"],
        "compare": d["compare"],
        "comparator": label,
        "comparator_value": d["comparator_value"],
        "rate": is_rate(d["metric"]),
        "rows": rows,
        "failing": sum(1 for r in rows if r["status"] in ("FAIL", "NOT_SIGNIFICANT")),
        "extreme": _extreme_view(d, rows, groups),
        "tested": any(r["p_value"] is not None for r in rows),
        "unknowns": _unknowns_view(d, groups),
    }


def _unknowns_view(d: Mapping[str, Any], groups: _Groups) -> dict[str, Any] | None:
    """A scope's rows of unknown value and each judged group's worst, proportional and best case."""
    u = d.get("unknowns")
    if not u:
        return None
    observed = {o["group"]: o["value"] for o in d["groups"]}
    rows = []
    for b in u["groups"]:
        g = groups.get((d["scope"], b["group"]))
        rows.append(
            {
                "label": shorten(group_label(g["label"] if g else b["group"]), MAX_LABEL),
                "observed": observed.get(b["group"]),
                "worst": b["worst"],
                "proportional": b["proportional"],
                "best": b["best"],
            }
        )
    return {"rows": u["rows"], "reason": u["reason"], "groups": rows}


def _contrast_row(d: Mapping[str, Any], o: Mapping[str, Any], groups: _Groups, min_count: int) -> dict[str, Any]:
    """A group's row in a finding: its metric, its ratio or gap to the comparator, its status."""
    g = groups.get((d["scope"], o["group"]))
    metric = g["metrics"].get(d["metric"]) if g else None
    return {
        "label": shorten(group_label(g["label"] if g else o["group"]), MAX_LABEL),
        "n": g["n"] if g else None,
        "cell": _cell(metric, min_count, d["metric"]),
        "value": o["value"],
        "ci": o["ci"],
        "ci_method": o["ci_method"],
        "status": o["status"],
        "reason": o["reason"],
        "direction": _direction(d, o),
        "p_value": o.get("p_value"),
        "p_adjusted": o.get("p_adjusted"),
        "test_method": o.get("test_method"),
        "decision_note": o.get("decision_note"),
        "shortfall": o.get("shortfall"),
        "small": o.get("small", False),
    }


def _representation_charts(document: Mapping[str, Any]) -> list[Any]:
    """One bar chart per representativeness check (``None`` where a check has no groups)."""
    from audit.report.charts import representation_chart

    level = document["audit"]["confidence_level"]
    return [representation_chart(r, level=level) for r in document.get("representativeness") or []]
