"""Confidence intervals for proportions and their comparisons.

Wilson's score interval is the default for a rate k/n: unlike the Wald interval it stays inside
[0, 1] and keeps close to its nominal coverage for small n and rates near 0 or 1
(Brown, Cai & DasGupta, Statistical Science 16(2), 2001).
"""

from __future__ import annotations

import functools
import math

# scipy.special, not scipy.stats (whose import alone takes longer than a whole audit of the demo): the
# same functions scipy.stats' norm.ppf and beta.ppf evaluate, so the figures are bit-identical
# (tests/measures/test_intervals.py checks them against scipy.stats).
from scipy.special import betaincinv, ndtri


@functools.lru_cache(maxsize=16)
def z_value(level: float) -> float:
    return float(ndtri(1 - (1 - level) / 2))  # norm.ppf


def wilson(successes: int, trials: int, *, level: float) -> tuple[float, float]:
    """Wilson score interval for ``successes / trials`` at confidence ``level``."""
    if trials <= 0:
        raise ValueError("trials must be positive")
    z = z_value(level)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson(successes: int, trials: int, *, level: float) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval: guaranteed coverage, used for tiny samples."""
    if trials <= 0:
        raise ValueError("trials must be positive")
    alpha = 1 - level
    # beta.ppf(q, a, b) is betaincinv(a, b, q)
    low = 0.0 if successes == 0 else float(betaincinv(successes, trials - successes + 1, alpha / 2))
    high = 1.0 if successes == trials else float(betaincinv(successes + 1, trials - successes, 1 - alpha / 2))
    return low, high


def katz_log_ratio(k1: int, n1: int, k2: int, n2: int, *, level: float) -> tuple[float, float] | None:
    """Katz log interval for the ratio (k1/n1) / (k2/n2); None when a count is zero."""
    if min(k1, k2, n1, n2) <= 0:
        return None
    ratio = (k1 / n1) / (k2 / n2)
    se = math.sqrt(1 / k1 - 1 / n1 + 1 / k2 - 1 / n2)
    z = z_value(level)
    return ratio * math.exp(-z * se), ratio * math.exp(z * se)


def newcombe_difference(k1: int, n1: int, k2: int, n2: int, *, level: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 − p2 (method 10, Statistics in Medicine 1998)."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, level=level)
    l2, u2 = wilson(k2, n2, level=level)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


#: every cell at least this large: Woolf's logit interval; otherwise the exact conditional one
WOOLF_MIN_CELL = 5


def odds_ratio_interval(k1: int, n1: int, k2: int, n2: int, *, level: float) -> tuple[tuple[float, float], str]:
    """Interval for the odds ratio (k1/(n1−k1)) / (k2/(n2−k2)) of two independent proportions, and its method.

    Woolf's logit interval, log OR ± z·√(1/a + 1/b + 1/c + 1/d), when each of the four cells holds at
    least ``WOOLF_MIN_CELL`` people; otherwise the exact conditional interval (Cornfield's, from the
    noncentral hypergeometric distribution; ``scipy.stats.contingency.odds_ratio``), which keeps its
    level on small cells and reaches 0 or infinity when a cell is empty.
    """
    a, b, c, d = k1, n1 - k1, k2, n2 - k2
    if min(a, b, c, d) >= WOOLF_MIN_CELL:
        log_or = math.log(a * d / (b * c))
        half = z_value(level) * math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
        return (math.exp(log_or - half), math.exp(log_or + half)), "woolf-logit"
    from scipy.stats.contingency import odds_ratio

    ci = odds_ratio([[a, b], [c, d]], kind="conditional").confidence_interval(confidence_level=level)
    return (float(ci.low), float(ci.high)), "exact-conditional"
