"""Group-metric threshold: one metric compared across groups, as a ratio or a difference.

The decision itself lives in ``audit.judge.rules`` (``evaluate``); this module is the kind's published
explanation.
"""

KIND = "group_metric"
EXPLANATION = (
    "Each group's metric (for example its selection rate) is compared with a comparator group of the same "
    "scope — the highest, the lowest or a named reference group — as a ratio or a difference. Every group "
    "large enough to judge must fall within the rule's bounds; groups too small to judge are listed, never "
    "passed silently."
)
