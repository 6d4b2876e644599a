"""The report's text formatting: the Jinja filters (numbers, percentages, intervals, p-values, statuses)
and their table, and ``shorten``, which every printed string passes through.

Every filter takes a value from the results document and returns plain text; undefined values
print as ``undefined``, never as 0. CSS classes come from a fixed allow-list (``status_class``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jinja2

from audit.report.labels import group_label, metric_label
from audit.util.display import visible

#: Words and CSS classes for every Status and group Outcome (a test checks every member is here).
STATUS_WORDS = {
    "PASS": "PASS",
    "WARN": "WARN",
    "FAIL": "FAIL",
    "INSUFFICIENT_DATA": "INSUFFICIENT DATA",
    "WAIVED": "WAIVED",
    "INFO": "INFO (context only)",
}
STATUS_CLASS = {
    "PASS": "pass",
    "WARN": "warn",
    "FAIL": "fail",
    "INSUFFICIENT_DATA": "insufficient",
    "COMPARATOR": "comparator",
    "NOT_JUDGED": "notjudged",
    "WAIVED": "waived",
    "INFO": "info",
    "NOT_SIGNIFICANT": "notsig",
    "INCONCLUSIVE": "insufficient",
}


UNDEFINED = "undefined"


def _num(x: float, digits: int) -> str:
    text = f"{x:.{digits}f}"
    if text.lstrip("-").strip("0.") == "":  # never print -0.0
        text = text.lstrip("-")
    return text.replace("-", "\u2212")


def fmt_pct(value: float | None, digits: int = 1) -> str:
    """0.4598 → '46.0%'; None → 'undefined' (never 0)."""
    return UNDEFINED if value is None else _num(value * 100, digits) + "%"


def fmt_pct_ci(ci: Sequence[float] | None, digits: int = 1) -> str:
    """[0.448, 0.471] → '44.8–47.1%'; None → ''."""
    if not ci:
        return ""
    return f"{_num(ci[0] * 100, digits)}\u2013{_num(ci[1] * 100, digits)}%"


def fmt_contrast(
    value: float | None, compare: str, digits: int = 1, limits: Sequence[float | None] | None = None
) -> str:
    """A ratio as a percentage of the comparator, an odds ratio as a number, a difference in percentage points;
    with ``limits`` (the rule's bounds), as many more decimals as it takes not to print as a limit it is not
    (a ratio of 0.7996 against 80%: "79.96%", never "80.0%" in a FAIL row)."""
    if value is None:
        return UNDEFINED
    near = [b for b in (limits or ()) if b is not None and not math.isclose(value, b, rel_tol=1e-9, abs_tol=1e-12)]
    while digits < 8 and any(fmt_contrast(value, compare, digits) == fmt_contrast(b, compare, digits) for b in near):
        digits += 1
    if compare == "odds_ratio":
        return _num(value, digits + 1)
    if compare == "ratio":
        return fmt_pct(value, digits)
    text = _num(value * 100, digits)
    if compare == "difference" and value > 0 and text.strip("0.") != "":
        text = "+" + text
    return f"{text} pts"


def fmt_contrast_ci(ci: Sequence[float] | None, compare: str, digits: int = 1) -> str:
    if not ci:
        return ""
    if compare == "odds_ratio":
        return f"{_num(ci[0], digits + 1)}\u2013{_num(ci[1], digits + 1)}"
    if compare == "ratio":
        return fmt_pct_ci(ci, digits)
    return f"{_num(ci[0] * 100, digits)} to {_num(ci[1] * 100, digits)} pts"


def fmt_limit(value: float | None, compare: str) -> str:
    if value is None:
        return ""
    if compare == "odds_ratio":
        return _num(value, 2)
    if compare == "ratio":
        return fmt_pct(value, 0 if round(value * 100, 6).is_integer() else 1)
    return f"{_num(value * 100, 1)} percentage points"


def fmt_int(value: int | float | None) -> str:
    if value is None:
        return UNDEFINED
    return f"{int(value):,}"


def fmt_bytes(value: int | None) -> str:
    if value is None:
        return UNDEFINED
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size:
            return f"{value:,} bytes ({value / size:.1f} {unit})"
    return f"{value:,} bytes"


def fmt_number(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3g}"


def fmt_p(value: float | None) -> str:
    """A p-value for a table: '< 0.0001', '0.0091', '0.63'."""
    if value is None:
        return ""
    if value < 0.0001:
        return "< 0.0001"
    return f"{value:.4f}" if value < 0.01 else f"{value:.2f}"


_METHODS = (
    ("wilson", "Wilson score interval"),
    ("clopper-pearson", "Clopper–Pearson exact interval (used for small bases)"),
    ("bootstrap-percentile", "bootstrap percentile interval, resampling the counts"),
    ("pairwise-extreme", "the extreme of every pair of groups' intervals"),
    ("bootstrap", "bootstrap interval, resampling the counts"),
    ("katz-log", "Katz log interval (ratios)"),
    ("newcombe", "Newcombe hybrid score interval (differences)"),
    ("woolf-logit", "Woolf logit interval (odds ratios)"),
    ("exact-conditional", "exact conditional interval (odds ratios on small cells)"),
    ("delta-log", "delta-method interval on the log ratio (regression metrics)"),
    ("normal-sqrt", "normal interval of the mean squared error, square-rooted"),
    ("normal", "normal interval from exact sums (means and errors)"),
    ("two-proportion-z", "two-proportion z-test"),
    ("fisher-exact", "Fisher's exact test (when an expected count is below 5)"),
)


def method_words(method: str | None) -> str:
    """A statistical method's name in words; unknown names are shown as recorded."""
    text = str(method or "")
    for prefix, words in _METHODS:
        if text.startswith(prefix):
            detail = text[len(prefix) :].strip()
            return f"{words} {detail}".strip()
    return text


def status_words(status: str | None) -> str:
    return STATUS_WORDS.get(str(status), str(status))


def status_class(status: str | None) -> str:
    """A CSS class from a fixed allow-list: document values never reach CSS."""
    return STATUS_CLASS.get(str(status), "unknown")


@jinja2.pass_context
def _metric_label_filter(context: Any, name: str) -> str:
    return metric_label(name, scoring=bool(context.get("scoring", False)))


FILTERS: dict[str, Callable[..., str]] = {
    "pct": fmt_pct,
    "number": fmt_number,
    "pct_ci": fmt_pct_ci,
    "contrast": fmt_contrast,
    "contrast_ci": fmt_contrast_ci,
    "limit": fmt_limit,
    "int": fmt_int,
    "p": fmt_p,
    "method_words": method_words,
    "bytes": fmt_bytes,
    "status_words": status_words,
    "status_class": status_class,
    "metric_label": _metric_label_filter,
    "group_label": group_label,
}


# --- printed text ---------------------------------------------------------------------------


#: Longest text one template expression prints, and longest group name in a table: a 10,000-character
#: value from the data (a group, a policy title) is cut, the evidence keeps it whole.
MAX_TEXT = 1000
MAX_LABEL = 200


class FullText(str):
    """Text printed whole however long (the policy as validated, in its own block)."""


def shorten(value: object, limit: int = MAX_TEXT) -> object:
    """Every printed string, as the report shows it: control and format characters from the data
    made visible (``audit.util.display``), and a long one cut: ``…[10,000 characters; whole in results.json]``."""
    if type(value) is not str or value.startswith("data:image/svg+xml;base64,"):  # Markup, our own charts
        return value
    value = visible(value, multiline=True)
    if len(value) <= limit:
        return value
    return f"{value[:limit]}…[{len(value):,} characters; whole in results.json]"
