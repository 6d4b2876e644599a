"""The intervals and tests evaluated with scipy.special give scipy.stats' figures bit for bit.

Fairgate computes norm.ppf, norm.sf, beta.ppf and Benjamini–Hochberg without importing scipy.stats
(issue 23: its import alone takes longer than the demo's audit); these checks hold the results to
scipy.stats' own, exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from audit.measures.intervals import clopper_pearson, z_value
from audit.measures.significance import benjamini_hochberg, compare_proportions, required_per_group


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99, 0.999])
def test_z_value_is_norm_ppf(level):
    assert z_value(level) == float(stats.norm.ppf(1 - (1 - level) / 2))


def test_clopper_pearson_is_beta_ppf():
    rng = np.random.default_rng(0)
    for _ in range(3000):
        n = int(rng.integers(1, 20_000))
        k = int(rng.integers(0, n + 1))
        for level in (0.9, 0.95, 0.99):
            alpha = 1 - level
            low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
            high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
            assert clopper_pearson(k, n, level=level) == (low, high)


def test_two_proportion_p_value_is_norm_sf():
    rng = np.random.default_rng(1)
    for _ in range(2000):
        n1, n2 = (int(x) for x in rng.integers(50, 50_000, size=2))
        k1, k2 = int(rng.integers(10, n1 - 10)), int(rng.integers(10, n2 - 10))
        result = compare_proportions(k1, n1, k2, n2)
        assert result.method == "two-proportion-z"
        pooled = (k1 + k2) / (n1 + n2)
        z = (k1 / n1 - k2 / n2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        assert result.p_value == float(2 * stats.norm.sf(abs(z)))


def test_required_per_group_matches_norm_ppf():
    z = stats.norm.ppf(1 - 0.05 / 2) + stats.norm.ppf(0.8)
    expected = int(np.ceil(z * z * (0.3 * 0.7 + 0.2 * 0.8) / 0.1**2))
    assert required_per_group(0.3, 0.2, alpha=0.05) == expected


@pytest.mark.parametrize("size", [1, 2, 3, 7, 40, 500])
def test_benjamini_hochberg_is_false_discovery_control(size):
    rng = np.random.default_rng(size)
    ps = rng.random(size) ** 3
    if size > 3:
        ps[1] = ps[2]  # a tie
        ps[0] = 0.0
    expected = [float(p) for p in stats.false_discovery_control(ps, method="bh")]
    assert benjamini_hochberg(list(ps)) == expected
