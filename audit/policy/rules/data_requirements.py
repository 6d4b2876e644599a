"""Data requirements: completeness, group sizes, label balance, duplicates and age of the data.

What each check kind measures and what the tables stage must count for it; the judging is
``audit.judge.data_requirements``.
"""

from __future__ import annotations

from typing import Any

KIND = "data_requirement"
EXPLANATION = (
    "Checks on the audited data itself, before any model is judged: how many sensitive values and labels "
    "are missing, whether every group has enough rows, whether each group holds both outcomes, how many "
    "rows are exact duplicates, and how old the data is relative to the audit date. Metrics computed on "
    "incomplete, tiny, one-sided, duplicated or stale data describe the population poorly."
)

#: Per check kind, what it measures (shown in the report beside each requirement).
CHECK_WORDS = {
    "missing_sensitive": "share of rows whose sensitive value is missing, per feature",
    "missing_label": "share of rows without a true outcome (left out of the audit)",
    "min_group_rows": "rows in every group (each sensitive feature and their intersection)",
    "label_balance": "share of the rarer outcome class in every group",
    "duplicate_rows": "share of rows that exactly repeat an earlier row (every column of the file)",
    "timestamp_age": "age in days of the oldest and the newest row, relative to the audit date",
}


def needs(policy: Any) -> dict[str, Any]:
    """What the tables stage must count for this policy's data requirements."""
    kinds = {r.check for r in policy.data_requirements}
    stamps = [r.column for r in policy.data_requirements if r.check == "timestamp_age"]
    return {"duplicates": "duplicate_rows" in kinds, "timestamp": stamps[0] if stamps else None,
            "drop_unlabeled": "missing_label" in kinds}
