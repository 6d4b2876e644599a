"""A compact HTML view of an audit for Jupyter: verdict, findings, one small chart.

Everything that comes from the data is made visible (``audit.util.display``) and escaped with
``html.escape``; the chart is an ``<img>``
with a ``data:`` URI, so nothing is fetched.
"""

from __future__ import annotations

import html
from typing import Any

from audit.judge.status import Status
from audit.util.display import visible

#: Every Status has a colour (tested), so a new status cannot break the notebook view.
COLOUR = {
    Status.PASS: "#1b7837",
    Status.WARN: "#b35806",
    Status.FAIL: "#b2182b",
    Status.INSUFFICIENT_DATA: "#555555",
    Status.WAIVED: "#5e3c99",
    Status.INFO: "#2166ac",
}


def escape(text: object, quote: bool = True) -> str:
    return html.escape(visible(str(text)), quote=quote)


def render_notebook_html(document: dict[str, Any]) -> str:
    verdict = document["verdict"]
    policy = document["policy"]
    rows = "".join(  # every item the verdict rests on, not only the group-metric rules
        f"<tr><td>{escape(i['id'])}</td>"
        f"<td style='color:{COLOUR[Status(i['status'])]};font-weight:bold'>{escape(i['status'])}</td>"
        f"<td>{escape(i['message'])}</td></tr>"
        for i in document["items"]
    )
    from audit.report.labels import labels_for

    with labels_for(document):  # group names as the report prints them
        chart = _first_chart(document)
    return (
        "<div class='fairgate-audit'>"
        f"<p><b style='color:{COLOUR[Status(verdict)]};font-size:1.4em'>{escape(verdict)}</b> — policy "
        f"<code>{escape(policy['id'])}</code> {escape(policy['version'])}: {escape(policy['title'])}; "
        f"{document['audit']['rows']:,} rows</p>"
        f"{_driving(document)}"
        f"<table><thead><tr><th>item</th><th>status</th><th>finding</th></tr></thead><tbody>{rows}</tbody></table>"
        f"{chart}</div>"
    )


def _driving(document: dict[str, Any]) -> str:
    """The items the verdict comes from, named before the full table (none when it passes)."""
    verdict = document["verdict"]
    if verdict in (Status.PASS.value, Status.INFO.value):
        return ""
    gating = ("block",) if verdict == Status.FAIL.value else ("block", "warn")
    ids = [i["id"] for i in document["items"] if i["status"] == verdict and i["severity"] in gating]
    if not ids:
        return ""
    return f"<p>{escape(verdict)} because of: " + ", ".join(f"<code>{escape(i)}</code>" for i in ids) + "</p>"


def _first_chart(document: dict[str, Any]) -> str:
    findings = [f for f in document["findings"] if f["status"] in ("FAIL", "WARN")] or document["findings"]
    if not findings:
        return ""
    from audit.report.charts import finding_charts

    charts = finding_charts(document, findings[0]["rule_id"])
    if not charts:
        return ""
    return f"<img alt='{escape(charts[0].alt, quote=True)}' src='{charts[0].data_uri}' style='max-width:640px'>"
