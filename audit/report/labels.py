"""Group names as the report prints them.

A sensitive column coded 0/1 that pandas read as floats (because of a missing value) gives groups
named ``0.0`` and ``1.0``: "Non-White × 0.0" reads as a measurement, not a category. The report
prints integer-like floats as integers ("Non-White × 0"). Only the display changes: results.json
keeps the recorded names, which its group ids and the recompute check rely on.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator, Mapping
from typing import Any

from audit.util.display import visible

SEPARATOR = " × "
_INTEGER_FLOAT = re.compile(r"(-?\d+)\.0+")


#: Recorded values printed as they are because their short form is another recorded value (the
#: data wrote one category as both ``1`` and ``1.0``): set while one document is rendered.
_KEEP: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("fairgate_keep_labels", default=frozenset())


def group_label(label: object) -> str:
    """``"Non-White × 1.0"`` → ``"Non-White × 1"``; other names unchanged."""
    parts = str(label).split(SEPARATOR)
    return visible(SEPARATOR.join(_short(p) for p in parts))


def _short(part: str) -> str:
    match = _INTEGER_FLOAT.fullmatch(part)
    return match.group(1) if match and part not in _KEEP.get() else part


def _values(document: Mapping[str, Any]) -> set[str]:
    return {str(v) for g in document.get("groups") or [] for v in (g.get("features") or {}).values()}


@contextlib.contextmanager
def labels_for(document: Mapping[str, Any]) -> Iterator[None]:
    """Print ``document``'s group names: ``1.0`` stays ``1.0`` when ``1`` is a group of its own."""
    values = _values(document)
    shorts: dict[str, set[str]] = {}
    for v in values:
        match = _INTEGER_FLOAT.fullmatch(v)
        shorts.setdefault(match.group(1) if match else v, set()).add(v)
    # 1.0 stays 1.0 when 1, 1.00 or another spelling of the same number is a group too
    clashes = frozenset(v for same in shorts.values() if len(same) > 1 for v in same)
    token = _KEEP.set(clashes)
    try:
        yield
    finally:
        _KEEP.reset(token)


def relabels(document: Mapping[str, Any]) -> dict[str, str]:
    """Each recorded group name that the report prints differently → how it prints, for every
    marginal value (``"1.0"`` → ``"1"``) of every group in ``document``."""
    out = {}
    for group in document.get("groups") or []:
        for value in (group.get("features") or {}).values():
            shown = _short(str(value))
            if shown != str(value):
                out[str(value)] = shown
    return out


def display_text(text: str, mapping: Mapping[str, str]) -> str:
    """A recorded sentence with its group names printed as the report prints them.

    Only whole names where a sentence names a group are replaced — ``1.0 (minority)``,
    ``Female × 1.0 (sex × minority)``, ``that of 1.0, the highest group`` — never digits inside a
    number (``21.0 (``) or a percentage."""
    for raw in sorted(mapping, key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w.]){re.escape(raw)}(?= \(|, the | ×)")
        text = pattern.sub(mapping[raw], text)
    return text


def is_scoring(document: Mapping[str, Any]) -> bool:
    """Decisions are scores above the sample's median: the selection rate is LL144's *scoring rate*
    (6 RCNY § 5-300), and every printer says so."""
    pred = document["audit"]["predictions"]
    return pred.get("source") == "score_threshold" and pred.get("rule") == "score > sample median"


def metric_label(name: str, *, scoring: bool = False) -> str:
    """A metric's name in words; with ``scoring``, the selection rate is the *scoring rate*."""
    from audit.measures.metrics import canonical_name, label_of

    if scoring and canonical_name(name) == "selection_rate":
        return "scoring rate"
    try:
        return label_of(canonical_name(name))
    except KeyError:
        return name.replace("_", " ")
