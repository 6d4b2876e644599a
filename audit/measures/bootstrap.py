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


def bootstrap_statistic(
    counts: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    level: float,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    stratified: bool = True,
) -> tuple[float, float] | None:
    """Percentile interval of ``statistic`` (vectorised over the replicate axis)."""
    draws = multinomial_bootstrap(counts, replicates=replicates, seed=seed, stratified=stratified)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.asarray(statistic(draws), dtype=float)
    return percentile_interval(values, level=level)
