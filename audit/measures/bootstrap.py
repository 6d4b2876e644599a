"""Bootstrap on the counts, not the rows.

Resampling n rows with replacement gives cell counts distributed Multinomial(n, observed cell
shares). Drawing B multinomials over the G×4 confusion cells is therefore exactly the row
bootstrap's distribution, at O(cells × B) instead of O(rows × B): the cost does not grow with
the number of rows. *Stratified* keeps every group's size fixed (one multinomial per group, the
usual choice when groups were sampled separately); *unstratified* resamples the whole table at
once, so group sizes vary too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

DEFAULT_REPLICATES = 1000


def multinomial_bootstrap(
    counts: np.ndarray, *, replicates: int = DEFAULT_REPLICATES, seed: int = 0, stratified: bool = True
) -> np.ndarray:
    """Resampled count tables, shape ``(replicates, *counts.shape)``.

    ``counts`` has the groups on its first axis (e.g. ``(G, 2, 2)`` confusion counts).
    """
    counts = np.asarray(counts, dtype=np.int64)
    rng = np.random.default_rng(seed)
    groups = counts.shape[0]
    flat = counts.reshape(groups, -1)
    if not stratified:
        total = int(flat.sum())
        draws = rng.multinomial(total, flat.ravel() / total, size=replicates)
        return draws.reshape(replicates, *counts.shape)
    out = np.zeros((replicates, *flat.shape), dtype=np.int64)
    for g in range(groups):
        n = int(flat[g].sum())
        if n:
            out[:, g, :] = rng.multinomial(n, flat[g] / n, size=replicates)
    return out.reshape(replicates, *counts.shape)


def percentile_interval(samples: np.ndarray, *, level: float) -> tuple[float, float] | None:
    """Percentile interval of the finite ``samples``; None when fewer than 90% are defined."""
    finite = samples[np.isfinite(samples)]
    if finite.size < 0.9 * samples.size or finite.size == 0:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def bias_corrected_interval(samples: np.ndarray, point: float, *, level: float) -> tuple[float, float] | None:
    """Efron's bias-corrected (BC) percentile interval around ``point``; None when it is unreliable.

    The bootstrap distribution of a maximum or minimum over many groups is shifted (the most
    extreme of noisy estimates is more extreme than the truth), and a plain percentile interval can
    then miss its own estimate. BC moves the percentiles by the bootstrap's median bias:
    z0 = Φ⁻¹(share of replicates below the estimate), bounds at Φ(2·z0 ± z). When the bias is so
    large that even the corrected interval cannot contain the estimate (|z0| > z), no interval is
    given: a bound the reader cannot trust is worse than none.
    """
    from scipy.stats import norm

    finite = samples[np.isfinite(samples)]
    if finite.size < 0.9 * samples.size or finite.size == 0:
        return None
    below = (np.count_nonzero(finite < point) + 0.5 * np.count_nonzero(finite == point)) / finite.size
    z = float(norm.ppf(1 - (1 - level) / 2))
    if not 0 < below < 1:
        return None
    z0 = float(norm.ppf(below))
    if abs(z0) > z:
        return None
    low, high = np.percentile(finite, [100 * norm.cdf(2 * z0 - z), 100 * norm.cdf(2 * z0 + z)])
    return float(low), float(high)


def bootstrap_statistic(
    counts: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    level: float,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    stratified: bool = True,
    point: float | None = None,
) -> tuple[float, float] | None:
    """Percentile interval of ``statistic`` (vectorised over the replicate axis); bias-corrected
    around ``point`` when it is given (see ``bias_corrected_interval``)."""
    draws = multinomial_bootstrap(counts, replicates=replicates, seed=seed, stratified=stratified)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.asarray(statistic(draws), dtype=float)
    if point is not None:
        return bias_corrected_interval(values, point, level=level)
    return percentile_interval(values, level=level)
