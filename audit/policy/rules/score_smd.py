"""Score rule: the standardized mean difference (SMD) of each group's scores vs the highest-mean group.

Uses the per-group ``smd_vs_highest`` (Hedges–Olkin interval) that ``audit.measures.score_groups``
already computes from the score table; a group whose |SMD| exceeds ``max_abs_value`` fails
(judged in ``audit.judge.score_smd``).
"""

from __future__ import annotations

KIND = "score_smd"
EXPLANATION = (
    "For models that output a score, each group's mean score is compared with the group with the highest "
    "mean score, in units of the pooled standard deviation (the standardized mean difference, SMD). An "
    "|SMD| of 0.2 is conventionally small, 0.5 medium; credit fair-lending practice flags differences "
    "around 0.3 and above for review."
)
