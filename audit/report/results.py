"""results.json: the audit's evidence, canonical and deterministic.

The same inputs, policy and seed give byte-identical output: keys are sorted, floats are
written by Python's shortest round-trip repr, no wall-clock time is recorded (the report's date
lives in the PDF and its signature), and NaN/Infinity are refused (undefined values are null).
The layout is documented by ``audit/schemas/results.schema.json``.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

SCHEMA_VERSION = "1.0"


def canonical_json(document: dict[str, Any]) -> bytes:
    """Serialise ``document`` canonically (sorted keys, 2-space indent, UTF-8, final newline)."""
    _check_finite(document, "$")
    # json.dumps(..., indent=2) joins a list of every chunk (millions of small strings for an audit of
    # thousands of groups: hundreds of MB); the same encoder's chunks written to a buffer as they come
    # are the same text in a fraction of the memory.
    encoder = json.JSONEncoder(sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    buffer = io.StringIO()
    for chunk in encoder.iterencode(document):
        buffer.write(chunk)
    buffer.write("\n")
    return buffer.getvalue().encode("utf-8")


def _check_finite(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"non-finite number at {where} in results")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_finite(item, f"{where}[{i}]")
