"""The rule kinds a policy can use, in plain words: printed in the report ("Policy terms") and stored
in results.json (``rule_kinds``). One row per kind; the judging of each lives beside this module.

| kind | policy section | judged in |
|---|---|---|
| group_metric | ``rules:`` with ``metric:`` | ``audit.judge.rules`` |
| multi_metric | ``rules:`` with ``metrics: [...]`` | ``audit.judge.rules`` (``combine``) |
| representativeness | ``representativeness:`` | ``audit.judge.representation`` |
| data_requirement | ``data_requirements:`` | ``audit.judge.data_requirements`` |
| score_smd | ``score_rules:`` | ``audit.judge.score_smd`` |
"""

from __future__ import annotations

GROUP_METRIC = "group_metric"
MULTI_METRIC = "multi_metric"
REPRESENTATIVENESS = "representativeness"
DATA_REQUIREMENT = "data_requirement"
SCORE_SMD = "score_smd"

#: kind → its plain-language explanation.
KINDS: dict[str, str] = {
    GROUP_METRIC: (
        "Each group's metric (for example its selection rate) is compared with a comparator group of the same "
        "scope — the highest, the lowest, a named reference group or the whole population of the scope — as a "
        "ratio or a difference, and must fall "
        "within the rule's bounds (a value exactly at a bound meets it unless the rule's bounds are strict; "
        "ratios and differences of counts are compared exactly). Groups smaller than min_count are judged with "
        "Fisher's exact test (UGESP 1607.4(D)): outside the bounds and statistically significant fails; outside "
        "but not significant is a warning; inside with an interval that crosses a bound, or undefined, is "
        "insufficient data — never a silent pass."
    ),
    MULTI_METRIC: (
        "One rule judges several metrics with the same comparison and bounds (for equalized odds: the true "
        "positive rate and the false positive rate). Each metric is judged group by group as a single-metric "
        "rule would be; the rule fails when any of its metrics fails, and it is only a pass when every metric "
        "passes."
    ),
    REPRESENTATIVENESS: (
        "For one sensitive feature, each group's share of the audited rows is compared with its share of a "
        "declared reference population (a census, an applicant pool). The representation ratio is the observed "
        "share divided by the expected share; a group fails when the ratio is below the policy's minimum or "
        "its share differs from the expected by more than the allowed gap. The χ² goodness-of-fit test and the "
        "total variation distance describe the whole distribution."
    ),
    DATA_REQUIREMENT: (
        "Checks on the audited data itself, before any model is judged: how many sensitive values and labels "
        "are missing, whether every group has enough rows, whether each group holds both outcomes, how many "
        "rows are exact duplicates, and how old the data is relative to the audit date. Metrics computed on "
        "incomplete, tiny, one-sided, duplicated or stale data describe the population poorly."
    ),
    SCORE_SMD: (
        "For models that output a score, each group's mean score is compared with the group with the highest "
        "mean score, in units of the pooled standard deviation (the standardized mean difference, SMD). An "
        "|SMD| of 0.2 is conventionally small, 0.5 medium; credit fair-lending practice flags differences "
        "around 0.3 and above for review."
    ),
}

#: Per data-requirement check, what it measures (shown in the report beside each requirement).
CHECK_WORDS = {
    "missing_sensitive": "share of rows whose sensitive value is missing, per feature",
    "missing_label": "share of rows without a true outcome (left out of the audit)",
    "min_group_rows": "rows in every group (each sensitive feature and their intersection)",
    "label_balance": "share of the rarer outcome class in every group",
    "duplicate_rows": "share of rows that exactly repeat an earlier row (every column of the file)",
    "timestamp_age": "age in days of the oldest and the newest row, relative to the audit date",
}

#: The words for each severity.
SEVERITIES = {
    "block": "a failure fails the release gate (exit code 1)",
    "warn": "a failure is flagged in the report but does not block the release (unless --fail-on warn)",
    "info": "shown for context only: never changes the verdict or the exit code",
}
