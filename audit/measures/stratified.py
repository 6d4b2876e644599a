"""A 2×2 comparison pooled over strata (segments): Mantel–Haenszel estimates, the Cochran–Mantel–Haenszel
test and the Breslow–Day test of homogeneity.

Each stratum k is the table ``[[a, b], [c, d]]``: a group's selected (a) and not selected (b) rows, and
its comparator's (c, d). Formulas (the ones statsmodels' ``StratifiedTable`` uses; checked against it in
tests/measures/test_stratified.py):

* common odds ratio  OR = Σ(a·d/n) / Σ(b·c/n), its log's variance by Robins, Breslow & Greenland (1986);
* common rate ratio  RR = Σ(a·n₂/n) / Σ(c·n₁/n) (the segmented adverse impact ratio: the ratio of
  selection rates standardised over the strata), its log's variance by Greenland & Robins (1985);
* CMH test  χ² = (Σa − ΣE[a])² / ΣVar[a] on 1 df, without continuity correction;
* Breslow–Day  Σ(a − Ã)²/Var(Ã) on K − 1 df, Ã the count that makes the stratum's odds ratio OR
  (with Tarone's correction as well).

A stratum without a group row, a comparator row, a selected or a non-selected row carries no information
about the odds ratio and is left out (``strata`` counts the ones used).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats

Table = tuple[int, int, int, int]  # a, b, c, d


@dataclass(frozen=True)
class Stratified:
    strata: int
    odds_ratio: float | None
    odds_ratio_ci: tuple[float, float] | None
    rate_ratio: float | None
    rate_ratio_ci: tuple[float, float] | None
    cmh_statistic: float | None
    cmh_p_value: float | None
    breslow_day_statistic: float | None
    breslow_day_p_value: float | None
    tarone_p_value: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "strata": self.strata,
            "odds_ratio": self.odds_ratio,
            "odds_ratio_ci": list(self.odds_ratio_ci) if self.odds_ratio_ci else None,
            "rate_ratio": self.rate_ratio,
            "rate_ratio_ci": list(self.rate_ratio_ci) if self.rate_ratio_ci else None,
            "cmh_statistic": self.cmh_statistic,
            "cmh_p_value": self.cmh_p_value,
            "breslow_day_statistic": self.breslow_day_statistic,
            "breslow_day_p_value": self.breslow_day_p_value,
            "tarone_p_value": self.tarone_p_value,
        }


def _informative(t: Table) -> bool:
    a, b, c, d = t
    return min(a + b, c + d, a + c, b + d) > 0


def mantel_haenszel(tables: Sequence[Table], *, level: float = 0.95) -> Stratified:
    """Pooled estimates and tests over ``tables`` (one 2×2 table per stratum)."""
    used = [tuple(float(x) for x in t) for t in tables if _informative(t)]
    z = float(stats.norm.ppf(0.5 + level / 2))
    if not used:
        return Stratified(0, None, None, None, None, None, None, None, None, None)
    r = s = pr = ps_qr = qs = 0.0
    rr_num = rr_den = rr_var = 0.0
    sum_a = sum_e = sum_v = 0.0
    for a, b, c, d in used:
        n = a + b + c + d
        n1, n2, m1 = a + b, c + d, a + c
        p, q, ri, si = (a + d) / n, (b + c) / n, a * d / n, b * c / n
        r, s = r + ri, s + si
        pr, ps_qr, qs = pr + p * ri, ps_qr + p * si + q * ri, qs + q * si
        rr_num, rr_den = rr_num + a * n2 / n, rr_den + c * n1 / n
        rr_var += (n1 * n2 * m1 - a * c * n) / n**2
        sum_a += a
        sum_e += n1 * m1 / n
        sum_v += n1 * n2 * m1 * (b + d) / (n**2 * (n - 1)) if n > 1 else 0.0
    odds = r / s if r > 0 and s > 0 else None
    odds_ci = None
    if odds is not None:
        se = math.sqrt(pr / (2 * r**2) + ps_qr / (2 * r * s) + qs / (2 * s**2))
        odds_ci = (math.exp(math.log(odds) - z * se), math.exp(math.log(odds) + z * se))
    rate = rr_num / rr_den if rr_num > 0 and rr_den > 0 else None
    rate_ci = None
    if rate is not None and rr_var > 0:
        se = math.sqrt(rr_var / (rr_num * rr_den))
        rate_ci = (math.exp(math.log(rate) - z * se), math.exp(math.log(rate) + z * se))
    cmh = (sum_a - sum_e) ** 2 / sum_v if sum_v > 0 else None
    cmh_p = float(stats.chi2.sf(cmh, 1)) if cmh is not None else None
    bd, bd_p, tarone_p = _breslow_day(used, odds)
    return Stratified(len(used), odds, odds_ci, rate, rate_ci, cmh, cmh_p, bd, bd_p, tarone_p)


def _breslow_day(used: list[tuple[float, ...]], odds: float | None) -> tuple[float | None, float | None, float | None]:
    if odds is None or len(used) < 2:
        return None, None, None
    statistic = 0.0
    diff = var_sum = 0.0
    for a, b, c, d in used:
        n1, m1, n = a + b, a + c, a + b + c + d
        expected = _expected_a(n1, m1, n, odds)
        var = 1 / (1 / expected + 1 / (n1 - expected) + 1 / (m1 - expected) + 1 / (n - n1 - m1 + expected))
        statistic += (a - expected) ** 2 / var
        diff += a - expected
        var_sum += var
    df = len(used) - 1
    tarone = statistic - diff**2 / var_sum
    return statistic, float(stats.chi2.sf(statistic, df)), float(stats.chi2.sf(tarone, df))


def _expected_a(n1: float, m1: float, n: float, odds: float) -> float:
    """The a within the table's margins whose odds ratio a(n − n1 − m1 + a) / ((n1 − a)(m1 − a)) is ``odds``."""
    low, high = max(0.0, n1 + m1 - n), min(n1, m1)
    if odds == 1:
        return n1 * m1 / n
    # (1 − OR)·a² + (n − n1 − m1 + OR·(n1 + m1))·a − OR·n1·m1 = 0: the root inside the margins
    qa, qb, qc = 1 - odds, n - n1 - m1 + odds * (n1 + m1), -odds * n1 * m1
    root = math.sqrt(qb * qb - 4 * qa * qc)
    for x in ((-qb + root) / (2 * qa), (-qb - root) / (2 * qa)):
        if low <= x <= high:
            return x
    return min(max((-qb + root) / (2 * qa), low), high)
