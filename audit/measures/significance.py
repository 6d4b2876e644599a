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

# scipy.special, not scipy.stats (its import alone takes longer than a whole audit of the demo): ndtr and
# ndtri are what scipy.stats' norm.sf and norm.ppf evaluate, so the p-values are bit-identical; scipy.stats
# is imported only for Fisher's exact test. tests/measures/test_significance.py checks both against scipy.stats.
from scipy.special import ndtr, ndtri


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
        from scipy.stats import fisher_exact

        return TestResult(float(fisher_exact(table.astype(int))[1]), "fisher-exact")
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (k1 / n1 - k2 / n2) / se
    return TestResult(float(2 * ndtr(-abs(z))), "two-proportion-z")  # 2·norm.sf(|z|)


def benjamini_hochberg(p_values: list[float]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values, in the input order.

    The steps of ``scipy.stats.false_discovery_control(ps, method="bh")``, so the same floating-point
    results: sort, scale the i-th smallest by m / i, running minimum from the largest, back to input order.
    """
    if not p_values:
        return []
    ps = np.asarray(p_values, dtype=float)
    if ps.size == 1:
        return [float(ps[0])]
    order = np.argsort(ps)
    adjusted = ps[order] * (ps.size / np.arange(1, ps.size + 1, dtype=float))
    np.minimum.accumulate(adjusted[::-1], out=adjusted[::-1])
    restored = np.empty_like(adjusted)
    restored[order] = adjusted
    return [float(p) for p in np.clip(restored, 0.0, 1.0)]


def required_per_group(p1: float, p2: float, *, alpha: float, power: float = 0.8) -> int | None:
    """Rough size per group for a two-sided two-proportion z-test to detect p1 vs p2."""
    if p1 == p2 or not (0 <= p1 <= 1 and 0 <= p2 <= 1):
        return None
    z = ndtri(1 - alpha / 2) + ndtri(power)  # norm.ppf
    return math.ceil(z * z * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2)


def p_text(p: float) -> str:
    """A p-value in a sentence: ``p = 0.031``, ``p = 0.00042``; below 0.0001 ``p < 0.0001`` (never
    ``p = 0``, which a value that underflowed the floating point would otherwise print)."""
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.2g}"
