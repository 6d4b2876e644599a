"""Paired counterfactual measures: the same profile, sent once with each group's signal.

Outcomes of two variants of one profile are paired, so their comparison needs paired tests, not the
two-sample tests of ``significance``: the pairs whose outcome is the same carry no information about a
difference, and the test is on the discordant ones.

- Decisions: the flip share (pairs whose decision differs / pairs), the net change in selection rate
  ((c − b) / n, c = pairs selected only with the group's signal, b = only with the reference's) and
  McNemar's exact test: under no effect each discordant pair is equally likely to go either way, so
  b ~ Binomial(b + c, ½) (``scipy.stats.binomtest``).
- Scores: the mean paired difference (group − reference) with a t interval, and the Wilcoxon
  signed-rank test (``scipy.stats.wilcoxon``; zero differences dropped, "wilcox"), exact for small n.

Across the groups compared with the reference, p-values are adjusted with Benjamini–Hochberg.
Nothing here decides a status.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.stats import binomtest, t, wilcoxon

from audit.measures.significance import benjamini_hochberg


@dataclass(frozen=True)
class PairedDecisions:
    """A group's decisions against the reference's on the same profiles."""

    pairs: int
    reference_selected: int
    group_selected: int
    only_reference: int  # b: selected with the reference's signal only
    only_group: int  # c: selected with the group's signal only
    flip_share: float | None
    rate_difference: float | None  # (c − b) / pairs: the group's selection rate minus the reference's
    p_value: float | None  # McNemar's exact test; None without a discordant pair
    method: str = "mcnemar-exact"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PairedScores:
    """A group's scores against the reference's on the same profiles."""

    pairs: int
    mean_difference: float | None  # mean of (group − reference)
    ci_low: float | None
    ci_high: float | None
    nonzero: int  # pairs whose scores differ (the signed-rank test's sample)
    p_value: float | None  # Wilcoxon signed-rank; None when no pair differs
    method: str = "wilcoxon-signed-rank"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_decisions(reference: np.ndarray, group: np.ndarray) -> PairedDecisions:
    """``reference`` and ``group``: booleans of equal length, one per profile (both outcomes known)."""
    ref = np.asarray(reference, dtype=bool)
    grp = np.asarray(group, dtype=bool)
    if ref.shape != grp.shape:
        raise ValueError("paired outcomes need equal lengths")
    n = int(ref.size)
    b = int((ref & ~grp).sum())
    c = int((~ref & grp).sum())
    p = float(binomtest(b, b + c, 0.5).pvalue) if b + c else None
    return PairedDecisions(
        pairs=n,
        reference_selected=int(ref.sum()),
        group_selected=int(grp.sum()),
        only_reference=b,
        only_group=c,
        flip_share=(b + c) / n if n else None,
        rate_difference=(c - b) / n if n else None,
        p_value=p,
    )


def paired_scores(reference: np.ndarray, group: np.ndarray, *, level: float = 0.95) -> PairedScores:
    """``reference`` and ``group``: finite scores of equal length, one per profile."""
    ref = np.asarray(reference, dtype=float)
    grp = np.asarray(group, dtype=float)
    if ref.shape != grp.shape:
        raise ValueError("paired outcomes need equal lengths")
    diff = grp - ref
    n = int(diff.size)
    nonzero = int(np.count_nonzero(diff))
    if n == 0:
        return PairedScores(0, None, None, None, 0, None)
    mean = float(diff.mean())
    low = high = None
    if n > 1:
        half = float(t.ppf(0.5 + level / 2, n - 1)) * float(diff.std(ddof=1)) / math.sqrt(n)
        low, high = mean - half, mean + half
    p = float(wilcoxon(diff, zero_method="wilcox").pvalue) if nonzero else None
    return PairedScores(n, mean, low, high, nonzero, p)


def adjust(p_values: list[float | None]) -> list[float | None]:
    """Benjamini–Hochberg over the p-values that exist (None stays None), in the input order."""
    present = [p for p in p_values if p is not None]
    adjusted = iter(benjamini_hochberg(present))
    return [None if p is None else next(adjusted) for p in p_values]


def within_prompt(values: np.ndarray) -> dict[str, float | int | None]:
    """The variability of repeated answers to the same prompt: ``values`` is (prompts × repeats) with
    NaN where a repeat gave no usable answer. Mean within-prompt standard deviation (scores, or 0/1
    decisions) and the share of prompts whose repeats all agree."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 2 or arr.shape[1] < 2:
        return {"prompts": int(arr.shape[0]) if arr.ndim else 0, "mean_sd": None, "all_agree_share": None}
    usable = np.isfinite(arr).sum(axis=1) >= 2
    rows = arr[usable]
    if not rows.size:
        return {"prompts": 0, "mean_sd": None, "all_agree_share": None}
    sds = np.array([np.nanstd(r[np.isfinite(r)], ddof=1) for r in rows])
    agree = np.array([np.ptp(r[np.isfinite(r)]) == 0 for r in rows])
    return {"prompts": int(rows.shape[0]), "mean_sd": float(sds.mean()), "all_agree_share": float(agree.mean())}
