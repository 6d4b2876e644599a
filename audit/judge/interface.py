"""The judge stage (numbers → statuses): the only place statuses are decided.

Hands on: ``judge`` (rules → ``Finding``s), ``JudgedItem``/``items_of`` (everything the verdict rests on),
``verdict_of`` and ``exit_code_of`` (the gate), ``Status``, checks (``CheckResult``), waivers
(``WaiverRecord``, ``default_audit_date``, ``uses_audit_date``, ``check_not_expired``), monitoring windows
(``audit_windows``, ``verdict_table``, ``Monitored``), and the baseline comparison
(``compare_documents``, ``comparison_document``, ``comparison_item``, ``comparison_status``,
``check_comparable``, ``scopes_of``).
"""

from __future__ import annotations

from audit.judge.checks import CheckResult
from audit.judge.compare import check_comparable, compare_documents, comparison_document, comparison_status, scopes_of
from audit.judge.core import JudgedItem, comparison_item, exit_code_of, items_of, judge, verdict_of
from audit.judge.finding import Finding
from audit.judge.status import Status
from audit.judge.waivers import WaiverRecord, check_not_expired, default_audit_date, uses_audit_date
from audit.judge.windows import Monitored, audit_windows, verdict_table

__all__ = [
    "CheckResult",
    "Finding",
    "JudgedItem",
    "Monitored",
    "Status",
    "WaiverRecord",
    "audit_windows",
    "check_comparable",
    "check_not_expired",
    "compare_documents",
    "comparison_document",
    "comparison_item",
    "comparison_status",
    "default_audit_date",
    "exit_code_of",
    "items_of",
    "judge",
    "scopes_of",
    "uses_audit_date",
    "verdict_of",
    "verdict_table",
]
