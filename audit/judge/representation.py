"""Judge representativeness: each group's representation ratio and share gap against the policy's limits.

The shares, ratios, intervals and the χ² test are numbers from ``audit.measures.representativeness``;
this module decides which groups are outside the limits and the check's status (an info-severity
check stays INFO, never WARN).
"""

from __future__ import annotations

import dataclasses

from audit.judge.status import Outcome, Status, failing_status
from audit.measures.representativeness import Representation, coverage_text, message


def judge_representation(r: Representation, *, level: float) -> Representation:
    check = r.check
    if not r.groups:
        return dataclasses.replace(r, status=Status.INSUFFICIENT_DATA)
    rows = []
    for g in r.groups:
        fails = (check.min_representation_ratio is not None and g.ratio < check.min_representation_ratio) or (
            check.max_share_gap is not None and abs(g.gap) > check.max_share_gap
        )
        rows.append(dataclasses.replace(g, status=Outcome.FAIL if fails else Outcome.PASS))
    failing = [g for g in rows if g.status is Outcome.FAIL]
    status = failing_status(check.severity) if failing else Status.PASS
    assert r.p_value is not None
    text = message(check, rows, failing, r.n, r.tvd, r.p_value, level) + coverage_text(r)
    return dataclasses.replace(r, groups=tuple(rows), status=status, message=text)
