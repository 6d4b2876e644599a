"""How good a proxy of group membership is, on the rows that also carry a self-reported value.

A proxy (BISG, BIFSG, or any model) gives each person a probability of belonging to each group. On
the rows whose own answer is recorded the proxy can be checked, per group, the way any probabilistic
classifier is:

* **discrimination** — the one-vs-rest AUC: the chance that a random member of the group gets a
  higher probability of it than a random non-member (Mann–Whitney, ties counted half);
* **accuracy of the probabilities** — the Brier score, mean (p − 1[member])², per group and summed over
  the groups (the multi-class Brier score, 0 is perfect, 2 the worst);
* **calibration** — a table of the rows binned by their probability (ten equal-width bins): the mean
  probability beside the share who are members. A calibrated proxy's expected counts are unbiased,
  which is what a weighted (expected-count) audit relies on;
* the share of the labelled rows whose most likely group is their own, for comparison only.

Self-reported values are matched to the proxy's groups by name, case-insensitively; values that name
no group (and missing ones) are counted and left out. This module only measures: whether the quality
is good enough is for the reader and the policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

BINS = 10


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    n: int
    mean_probability: float
    observed_share: float


@dataclass(frozen=True)
class GroupQuality:
    group: str
    members: int  # labelled rows whose self-reported value is this group
    expected_members: float  # the sum of the proxy's probabilities of this group over the labelled rows
    auc: float | None  # None when every labelled row is a member, or none is
    brier: float
    calibration: tuple[CalibrationBin, ...]


@dataclass(frozen=True)
class ProxyQuality:
    labelled: int  # rows with a self-reported value that names a group, and proxy probabilities
    unmatched: int  # self-reported values that name no group of the proxy
    missing: int  # rows without a self-reported value, or without probabilities
    brier: float | None  # multi-class: summed over the groups, averaged over the rows
    top_group_accuracy: float | None  # share whose most likely group is their own (for comparison only)
    groups: tuple[GroupQuality, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        """The quality as the CLI prints it."""
        if not self.labelled:
            return [f"proxy quality: no labelled rows ({self.missing:,} without a value, {self.unmatched:,} unmatched)"]
        head = (
            f"proxy quality on {self.labelled:,} self-reported rows ({self.unmatched:,} values naming no group, "
            f"{self.missing:,} rows without a value or probabilities left out): multi-class Brier {self.brier:.4f}; "
            f"most likely group right for {self.top_group_accuracy:.1%} (for comparison only)"
        )
        out = [head, f"  {'group':<12} {'members':>9} {'expected':>10} {'AUC':>6} {'Brier':>7}"]
        for g in self.groups:
            auc = "—" if g.auc is None else f"{g.auc:.3f}"
            out.append(f"  {g.group:<12} {g.members:>9,} {g.expected_members:>10,.1f} {auc:>6} {g.brier:>7.4f}")
        return out


def auc_one_vs_rest(scores: np.ndarray, member: np.ndarray) -> float | None:
    """The Mann–Whitney AUC of ``scores`` for ``member`` (ties count half); None with one class only."""
    positives = int(member.sum())
    negatives = len(member) - positives
    if positives == 0 or negatives == 0:
        return None
    from scipy.stats import rankdata  # here, not at the top: a slow import that most audits never need

    ranks = rankdata(scores)  # average ranks: a tie counts half
    return float((ranks[member].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def calibration_table(probability: np.ndarray, member: np.ndarray, bins: int = BINS) -> tuple[CalibrationBin, ...]:
    """Rows binned by probability into ``bins`` equal-width bins over [0, 1], [0, 0.1] then (0.1, 0.2] …
    (scikit-learn's ``calibration_curve`` with ``strategy="uniform"`` bins the same way); empty bins are
    left out."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.searchsorted(edges[1:-1], probability, side="left")
    out = []
    for b in range(bins):
        inside = index == b
        n = int(inside.sum())
        if n:
            out.append(
                CalibrationBin(
                    b / bins, (b + 1) / bins, n, float(probability[inside].mean()), float(member[inside].mean())
                )
            )
    return tuple(out)


def proxy_quality(probabilities: np.ndarray, groups: Sequence[str], self_reported: pd.Series) -> ProxyQuality:
    """Quality of ``probabilities`` (rows × groups, each row summing to 1; NaN rows have no proxy) against
    ``self_reported`` (one value per row, matched to ``groups`` by name case-insensitively; missing: no value)."""
    probabilities = np.asarray(probabilities, dtype=float)
    names = {g.strip().casefold(): i for i, g in enumerate(groups)}
    text = self_reported.astype("string").str.strip().str.casefold()
    has_value = (text.fillna("") != "").to_numpy()
    code = text.map(names).fillna(-1).to_numpy(dtype=np.int64)  # a lookup per value, not a loop over rows
    has_proxy = ~np.isnan(probabilities).any(axis=1)
    unmatched = int((has_value & (code < 0)).sum())
    use = has_proxy & (code >= 0)
    missing = len(code) - int(use.sum()) - unmatched
    p, truth = probabilities[use], code[use]
    n = len(truth)
    if n == 0:
        return ProxyQuality(0, unmatched, missing, None, None, ())
    onehot = np.zeros_like(p)
    onehot[np.arange(n), truth] = 1.0
    per_group = []
    for i, g in enumerate(groups):
        member = truth == i
        per_group.append(
            GroupQuality(
                group=g,
                members=int(member.sum()),
                expected_members=float(p[:, i].sum()),
                auc=auc_one_vs_rest(p[:, i], member),
                brier=float(np.mean((p[:, i] - member) ** 2)),
                calibration=calibration_table(p[:, i], member),
            )
        )
    brier = float(np.mean(((p - onehot) ** 2).sum(axis=1)))
    accuracy = float(np.mean(p.argmax(axis=1) == truth))
    return ProxyQuality(n, unmatched, missing, brier, accuracy, tuple(per_group))
