"""The probe section of the report and summary: the paired counterfactual findings in words and cells.

Reads the results' ``probe`` section only (``fairgate probe``); the statistics were computed upstream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from audit.measures.significance import p_text


def probe_view(probe: Mapping[str, Any]) -> dict[str, Any]:
    design, adapter, stats = probe["design"], probe["adapter"], probe["statistics"]
    score = probe["output"] == "score"
    level = float(stats["level"])
    rows = [_row(item, score=score, level=level) for item in stats["paired"]]
    variability = stats.get("variability")
    reported = ", ".join([*adapter.get("reported_models", []), *adapter.get("reported_versions", [])])
    return {
        "why": probe["test_data"]["why"],
        "how": _sentence_case(probe["test_data"].get("how", "")),
        "profiles": design["profiles"],
        "groups": design["groups"],
        "signal": "name" if design.get("mode") == "names" else f"value of {design.get('swapped_column', 'the column')}",
        "repeats": design["repeats"],
        "requests": design["requests"],
        "seed": design["order_seed"],
        "endpoint": adapter["endpoint"],
        "kind": adapter["kind"],
        "model": adapter.get("model"),
        "reported": reported,
        "first": probe["collected"]["first"],
        "last": probe["collected"]["last"],
        "manifest": probe["cache"]["manifest_sha256"],
        "entries": probe["cache"]["entries"],
        "output": probe["output"],
        "effect_heading": "Mean paired score difference" if score else "Flip share; change in selection rate",
        "rows": rows,
        "unreadable": [
            {
                "group": g["group"],
                "count": g["unparsable"],
                "total": g["answers"] + g["unparsable"],
                "problems": ", ".join(f"{k} {v}" for k, v in g["problems"].items()),
            }
            for g in stats["groups"]
        ],
        "refusals": [
            {**r, "p": p_text(r["p_adjusted"]) if r["p_adjusted"] is not None else ""}
            for r in stats["unparsable_paired"]
        ],
        "variability": None
        if not variability or variability.get("mean_sd") is None
        else {
            "repeats": variability["repeats"],
            "prompts": variability["prompts"],
            "sd": f"{variability['mean_sd']:.3g}",
            "agree": f"{variability['all_agree_share']:.0%}",
        },
        "can_show": probe.get("can_show", ""),
        "cannot_show": probe.get("cannot_show", ""),
    }


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:] + ("." if text and not text.endswith(".") else "")


def _row(item: Mapping[str, Any], *, score: bool, level: float) -> dict[str, Any]:
    if score:
        effect = "—" if item["mean_difference"] is None else f"{item['mean_difference']:+.3g}"
        ci = f"{level:.0%} CI {item['ci_low']:+.3g} to {item['ci_high']:+.3g}" if item.get("ci_low") is not None else ""
        method = "Wilcoxon signed-rank"
    else:
        effect = "—" if item["flip_share"] is None else f"{item['flip_share']:.1%}; {item['rate_difference']:+.1%}"
        ci = (
            f"{item['only_group']} selected only as {item['group']}, "
            f"{item['only_reference']} only as {item['reference']}"
        )
        method = "McNemar exact"
    p = "no pair differs" if item["p_adjusted"] is None else p_text(item["p_adjusted"])
    if item["significant"]:
        result = f"{item['direction'].upper()} for {item['group']}: the outcome depends on the signal"
    else:
        result = "no significant paired difference"
    return {
        "group": item["group"],
        "reference": item["reference"],
        "pairs": item["pairs"],
        "effect": effect,
        "ci": ci,
        "p": p,
        "method": method,
        "significant": item["significant"],
        "result": result,
    }


def probe_markdown(probe: Mapping[str, Any], *, escape: Callable[[str], str]) -> list[str]:
    """The summary's lines: that test data was used, and each paired comparison in one sentence
    (``escape``: the summary's escaping of text from the data)."""
    stats = probe["statistics"]
    lines = [
        f"**Paired counterfactual test** (test data, {probe['design']['profiles']} profiles × "
        f"{len(probe['design']['groups'])} groups; cache manifest `{probe['cache']['manifest_sha256'][:16]}…`):",
        "",
    ]
    lines += [f"- {escape(item['sentence'])}" for item in stats["paired"]]
    unreadable = ", ".join(f"{escape(g['group'])} {g['unparsable']}" for g in stats["groups"])
    lines += [f"- Unreadable answers per group: {unreadable}."]
    return lines
