"""What the tables stage must count for a policy, read off the policy alone (before any data)."""

from __future__ import annotations

from typing import Any

from audit.policy.schema import Policy


def table_needs(policy: Policy) -> dict[str, Any]:
    """Counts the data requirements need beyond the group tables: exact duplicate rows (every column
    of the file is read for them), the timestamp column's range, and whether unlabeled rows are dropped."""
    kinds = {r.check for r in policy.data_requirements}
    stamps = [r.column for r in policy.data_requirements if r.check == "timestamp_age"]
    return {
        "duplicates": "duplicate_rows" in kinds,
        "timestamp": stamps[0] if stamps else None,
        "drop_unlabeled": "missing_label" in kinds,
    }
