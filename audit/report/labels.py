"""Group names as the report prints them.

A sensitive column coded 0/1 that pandas read as floats (because of a missing value) gives groups
named ``0.0`` and ``1.0``: "Non-White × 0.0" reads as a measurement, not a category. The report
prints integer-like floats as integers ("Non-White × 0"). Only the display changes: results.json
keeps the recorded names, which its group ids and the recompute check rely on.
"""

from __future__ import annotations

import re

SEPARATOR = " × "
_INTEGER_FLOAT = re.compile(r"(-?\d+)\.0+")


def group_label(label: object) -> str:
    """``"Non-White × 1.0"`` → ``"Non-White × 1"``; other names unchanged."""
    parts = str(label).split(SEPARATOR)
    return SEPARATOR.join(_short(p) for p in parts)


def _short(part: str) -> str:
    match = _INTEGER_FLOAT.fullmatch(part)
    return match.group(1) if match else part
