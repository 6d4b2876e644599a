"""Multi-metric rule (equalized-odds style): one rule, several metrics, the same bounds.

Each metric is judged exactly as a single-metric rule would judge it (``audit.judge.rules``); the
rule fails when any of its metrics fails, and its finding lists every metric's result.
"""

KIND = "multi_metric"
EXPLANATION = (
    "One rule judges several metrics with the same comparison and bounds (for equalized odds: the true "
    "positive rate and the false positive rate). Each metric is judged group by group as a single-metric "
    "rule would be; the rule fails when any of its metrics fails, and it is only a pass when every metric "
    "passes."
)
