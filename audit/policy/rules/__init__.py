"""Rule kinds: one small module each, with the plain-language explanation the report prints.

| kind | policy section | module |
|---|---|---|
| group_metric | ``rules:`` with ``metric:`` | ``group_metric`` (decided in ``audit.judge.rules``) |
| multi_metric | ``rules:`` with ``metrics: [...]`` | ``multi_metric`` |
| representativeness | ``representativeness:`` | ``representativeness`` |
| data_requirement | ``data_requirements:`` | ``data_requirements`` |
| score_smd | ``score_rules:`` | ``score_smd`` |
"""

from __future__ import annotations

from audit.policy.rules import data_requirements, group_metric, multi_metric, representativeness, score_smd

#: kind → its plain-language explanation (the module's EXPLANATION).
KINDS: dict[str, str] = {
    module.KIND: module.EXPLANATION
    for module in (group_metric, multi_metric, representativeness, data_requirements, score_smd)
}

SEVERITIES = {  # the words for audit.judge.status severities
    "block": "a failure fails the release gate (exit code 1)",
    "warn": "a failure is flagged in the report but does not block the release (unless --fail-on warn)",
    "info": "shown for context only: never changes the verdict or the exit code",
}
