"""The policy's rules on a probabilistic feature within each segment (the policy's ``segment_by``, or the
score band ``score_bands`` derives).

**What is judged.** A segment is a recorded column, so it is one more key of the one GROUP BY that counts
the expected counts (audit.tables.proba); each segment's table is its share of that table
(:func:`audit.tables.proba.split_proba`), and the rules are judged on it exactly as on the whole feature
(audit.judge.proxy.check_rules): weighted estimates with Wilson intervals at the effective size, groups
under ``min_count`` judged as small groups, the comparator chosen within the segment, the bounds placing
each group's mass on the proxy cells of the segment only (the segment is known for everyone, as a
recorded feature is), the intersections with recorded features the policy asks for, and the waivers
(which name a rule and a group, never a segment, so a waiver applies in every segment, as it does to a
recorded feature's segments). As for recorded features, the segments are evidence beside the pooled
verdict, which they do not change: their findings are not judged items.

**The statistics pooled over the segments are not computed for the probabilistic feature.** For a
recorded feature each group's selection rate is also compared with its comparator's within every
segment and pooled by Mantel–Haenszel (the common rate and odds ratios with the Robins–Breslow–Greenland
and Greenland–Robins intervals), tested by Cochran–Mantel–Haenszel, and its homogeneity by Breslow–Day
(audit.measures.stratified). Every one of those intervals and p-values takes each segment's 2×2 table
as integer counts with hypergeometric (or binomial) sampling variation. Expected counts are not that:
a sum of probabilities varies with Σπ², not Σπ, from sample to sample, and the proxy's own error adds
a second uncertainty that no stratified test describes. Feeding fractional counts to those formulas as
if they were integers would print intervals and p-values that look exact and are not; a weighted
version would need a design-based (linearised) variance of the pooled ratio and a test built on it,
which are not established for this setting and are not implemented. So they are shown as not computed,
with :data:`NOT_POOLED` as the reason; each segment's own findings, with their intervals at the effective
size and their bounds, are the per-segment evidence.

**Time windows** take the same path: a window's label is one more key of the count, and each window's
rules on the feature are judged as a segment's are. Unlike segments, they count in their window's verdict
(audit.judge.windows.WindowAudit.verdict; under ``monitoring.verdict_from: worst`` the windows' verdicts
gate), as a recorded feature's findings in that window do; the run's own items ``RULE.FEATURE`` describe
the rows of the window the verdict comes from (the latest, or every window pooled). Drift rules are not
evaluated on the feature (:data:`NO_DRIFT`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from audit.judge.proxy import ProxyFinding, check_rules
from audit.tables.proba import split_proba

if TYPE_CHECKING:
    import numpy as np

    from audit.policy.schema import Policy
    from audit.tables.proba import ProbaTable

#: Why the Mantel–Haenszel ratios, CMH and Breslow–Day are not computed on expected counts.
NOT_POOLED = (
    "not computed for a probabilistic feature: the Mantel–Haenszel intervals, the Cochran–Mantel–Haenszel test "
    "and the Breslow–Day test take each segment's counts as integers with hypergeometric sampling variation; "
    "expected counts (sums of probabilities) vary otherwise and carry the proxy's own error, so those figures "
    "would look exact and not be. Each segment's weighted estimates, intervals and bounds are shown instead."
)


#: Why drift rules are not evaluated on the probabilistic feature (time windows).
NO_DRIFT = (
    "not evaluated on a probabilistic feature: drift rules compare the recorded groups' figures between windows "
    "with tests on their integer counts, which expected counts are not; each window's rules on the feature, with "
    "their weighted estimates, intervals and bounds, are shown instead and count in the window's verdict."
)


@dataclass(frozen=True)
class ProxySegment:
    """The probabilistic feature within one segment: its table and the rules judged on it."""

    segment: dict[str, str]
    table: ProbaTable
    findings: tuple[ProxyFinding, ...]
    known: np.ndarray | None = None  # self-reported people of the segment, per other-features group
    proxy_only: ProbaTable | None = None  # the segment with everyone through the proxy (with --self-reported)

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.segment.items())


def segment_findings(
    policy: Policy,
    table: ProbaTable,
    segment_by: Sequence[str],
    *,
    known: np.ndarray | None = None,
    proxy_only: ProbaTable | None = None,
    audit_date: dt.date | None = None,
    intersections: Sequence[tuple[str, ...]] = (),
) -> tuple[ProxySegment, ...]:
    """Per segment of ``segment_by`` (columns ``table`` was counted with, among its other features): the
    rules judged on the segment's share of ``table`` (see the module docstring). ``known`` and
    ``proxy_only`` are counted with the same keys (audit.tables.labelled) and sliced alike."""
    wide = None if proxy_only is None else split_proba(proxy_only, segment_by)
    out = []
    for i, (segment, sub, members) in enumerate(split_proba(table, segment_by)):
        alone = None
        if wide is not None:
            assert wide[i][0] == segment, "the two tables of the self-reported audit have the same segments"
            alone = wide[i][1]
        seen = None if known is None else known[members]
        findings = check_rules(
            policy, sub, known=seen, proxy_only=alone, audit_date=audit_date, intersections=intersections
        )
        out.append(ProxySegment(segment, sub, findings, seen, alone))
    return tuple(out)
