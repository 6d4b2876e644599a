"""What a CI system shows besides the exit code: GitHub Actions annotations and a status badge.

Annotations (``::error title=…::…`` / ``::warning title=…::…``, one per judged item that needs a look)
appear on the workflow run's summary page and on the pull request. An item that fails the gate
(``audit.judge.status.fails_gate``, the rule the exit code and JUnit follow) is an error; any other
WARN or INSUFFICIENT_DATA item is a warning; PASS, WAIVED and INFO items, and info-only rules (context,
never gating), are not annotated.

The badge is an SVG written locally (``--badge FILE``), no external service: "fairness | VERDICT" in
the verdict's colour, deterministic (the same document gives the same bytes), every text from the
document autoescaped.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from audit.judge.status import Status, fails_gate
from audit.util.display import visible

if TYPE_CHECKING:
    import jinja2

#: GitHub Actions sets this on its runners (docs.github.com/en/actions/reference/variables-reference).
GITHUB_ACTIONS_ENV = "GITHUB_ACTIONS"


def _escape_data(text: str) -> str:
    # the workflow-command escapes (actions/toolkit, command.ts): a newline would end the command
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(document: dict[str, Any], *, fail_on: str = "fail", strict: bool = False) -> list[str]:
    """One workflow command per item that fails the gate (error) or deserves a look (warning)."""
    lines = []
    for item in document["items"]:
        status = Status(item["status"])
        if fails_gate(status, item["severity"], fail_on=fail_on, strict=strict):
            level = "error"
        elif status in (Status.WARN, Status.INSUFFICIENT_DATA) and item["severity"] != "info":
            level = "warning"
        else:
            continue
        title = _escape_property(f"Fairgate {status.value}: {visible(item['id'])}")
        lines.append(f"::{level} title={title}::{_escape_data(visible(item['message']))}")
    return lines


#: The badge's colour per verdict (every Status has one: tested).
BADGE_COLOURS = {
    Status.PASS: "#2e7d32",
    Status.WARN: "#b26a00",
    Status.FAIL: "#c62828",
    Status.INSUFFICIENT_DATA: "#616161",
    Status.WAIVED: "#6a1b9a",
    Status.INFO: "#1565c0",
}
_CHAR_WIDTH = 7  # px per character of 11px Verdana, near enough for a label (the layout must not depend on fonts)
_PAD = 6

_BADGE_TEMPLATE = """\
<svg xmlns="http://www.w3.org/2000/svg" width="{{ width }}" height="20" role="img"
 aria-label="{{ label }}: {{ value }}">
<title>{{ title }}</title>
<rect width="{{ left }}" height="20" fill="#555"/>
<rect x="{{ left }}" width="{{ right }}" height="20" fill="{{ colour }}"/>
<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
<text x="{{ left / 2 }}" y="14">{{ label }}</text>
<text x="{{ left + right / 2 }}" y="14">{{ value }}</text>
</g>
</svg>
"""


@functools.cache
def _badge() -> jinja2.Template:
    """The badge's template, compiled on first use: every run imports this module for its annotations,
    and only a run with --badge needs Jinja2."""
    import jinja2

    return jinja2.Environment(autoescape=True, keep_trailing_newline=True).from_string(_BADGE_TEMPLATE)


def render_badge(document: dict[str, Any], *, label: str = "fairness") -> bytes:
    """An SVG status badge: the verdict, with the policy in its title (a tooltip)."""
    status = Status(document["verdict"])
    value = status.value.replace("_", " ")
    policy = document["policy"]
    left = _CHAR_WIDTH * len(label) + 2 * _PAD
    right = _CHAR_WIDTH * len(value) + 2 * _PAD
    return (
        _badge()
        .render(
            width=left + right,
            left=left,
            right=right,
            label=label,
            value=value,
            colour=BADGE_COLOURS[status],
            title=f"Fairgate: {value} under policy {visible(str(policy['id']))} {visible(str(policy['version']))}",
        )
        .encode("utf-8")
    )
