"""Is a difference between two groups' rates more than chance?

For each compared pair: Fisher's exact test when any expected cell of the 2×2 table is below 5
(where the normal approximation is poor), else the two-proportion z-test (equivalent to Pearson's
χ² without continuity correction). Across the comparisons one rule makes, p-values are adjusted
with Benjamini–Hochberg so that judging many groups does not manufacture significance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import false_discovery_control, fisher_exact, norm


@dataclass(frozen=True)
class TestResult:
    p_value: float
    method: str  # "fisher-exact" | "two-proportion-z"


def compare_proportions(k1: int, n1: int, k2: int, n2: int, *, exact: bool = False) -> TestResult:
    """Two-sided test of k1/n1 = k2/n2; Fisher's exact test always when ``exact`` (small groups)."""
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]], dtype=float)
    total = table.sum()
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / total
    if exact or (expected < 5).any():
        return TestResult(float(fisher_exact(table.astype(int))[1]), "fisher-exact")
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k1 / n1 - k2 / n2) / se
    return TestResult(float(2 * norm.sf(abs(z))), "two-proportion-z")


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values, in the input order."""
    if not p_values:
        return []
    return [float(p) for p in false_discovery_control(np.asarray(p_values), method="bh")]


def required_per_group(p1: float, p2: float, *, alpha: float, power: float = 0.8) -> int | None:
    """Rough size per group for a two-sided two-proportion z-test to detect p1 vs p2."""
    if p1 == p2 or not (0 <= p1 <= 1 and 0 <= p2 <= 1):
        return None
    z = norm.ppf(1 - alpha / 2) + norm.ppf(power)
    return math.ceil(z * z * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2)


def p_text(p: float) -> str:
    """A p-value in a sentence: ``p = 0.031``, ``p = 0.00042``; below 0.0001 ``p < 0.0001`` (never
    ``p = 0``, which a value that underflowed the floating point would otherwise print)."""
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.2g}"
